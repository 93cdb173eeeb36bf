"""End-to-end speed of the main assessment on the demo bureau (12 stations, ~190 station officers):
import the demo indicator file, compute a run, render the ranking. Prints figures, asserts nothing.

    python benchmarks/bench_compute_run.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def main() -> None:
    tmp = tempfile.mkdtemp()
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        db.create_all()
    t = time.perf_counter()
    app.test_cli_runner().invoke(args=["seed-demo"])
    print(f"seed-demo (all steps):      {time.perf_counter() - t:6.2f} s")
    from app.assessment.datapool import import_indicator_file
    from app.assessment.demo import DATA_FILE
    from app.assessment.runs import compute_run
    from app.models import Cycle

    with app.app_context():
        cycle = db.session.execute(db.select(Cycle).filter_by(status="open")).scalar_one()
        t = time.perf_counter()
        report = import_indicator_file(cycle, DATA_FILE.name, DATA_FILE.read_bytes())
        db.session.commit()
        print(f"re-import demo file:        {time.perf_counter() - t:6.2f} s ({report.stored} rows)")
        t = time.perf_counter()
        run = compute_run(cycle)
        db.session.commit()
        print(f"compute run:                {time.perf_counter() - t:6.2f} s ({len(run.results)} results)")
        run_id = run.id
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": "demo1234"})
    client.get(f"/assessment/runs/{run_id}")  # first request compiles the templates
    t = time.perf_counter()
    client.get(f"/assessment/runs/{run_id}")
    print(f"render ranking page:        {time.perf_counter() - t:6.2f} s")


if __name__ == "__main__":
    main()
