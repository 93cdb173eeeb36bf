"""Issue 19: roster and indicator files of a province imported by background jobs, on PostgreSQL.

For N officers in stations of ~70: the roster file (N rows), the indicator file (every station's
unit-level indicators and every officer's officer-level ones, ~3 N rows) and the same indicator file
sent again (every value superseded, history kept). Each file is posted to its import page as an
admin would; the job runs in the request (eager backend) so that its time is the time measured.
Prints rows, file size, seconds and the process's peak memory; asserts nothing.

    python benchmarks/bench_imports.py [--sizes 5000 50000] \
        [--url postgresql://postgres@127.0.0.1:5432/kaoping_import_bench]
"""
from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import sqlalchemy as sa  # noqa: E402
from bench_province import PASSWORD, PER_STATION, fresh_database, make_app  # noqa: E402

from app.extensions import db  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def world(n_officers: int) -> tuple[int, list[str]]:
    from app.admin.services import transition_cycle
    from app.assessment.services import seed_catalogue
    from app.models import Cycle, Unit, User

    n_stations = max(2, round(n_officers / PER_STATION))
    bureau = Unit(code="BJ", name="市公安局", kind="bureau")
    db.session.add(bureau)
    db.session.flush()
    codes = [f"S{i:04d}" for i in range(n_stations)]
    db.session.add_all([Unit(code=code, name=f"第{i}派出所", kind="station", category=1 + i % 3,
                             parent_id=bureau.id) for i, code in enumerate(codes)])
    admin = User(username="admin", password_hash="")
    admin.roles = {"admin"}
    admin.set_password(PASSWORD)
    db.session.add(admin)
    seed_catalogue()
    cycle = Cycle(name="2026年第四季度", kind="quarter", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31),
                  status="draft", config={})
    db.session.add(cycle)
    db.session.flush()
    transition_cycle(cycle, "open")
    db.session.commit()
    return cycle.id, codes


def roster_file(n_officers: int, codes: list[str]) -> bytes:
    out = io.StringIO()
    out.write("警号,姓名,单位代码,职务,是否领导\n")
    for i in range(n_officers):
        out.write(f"{100000 + i},民警{i},{codes[i % len(codes)]},社区民警,{'是' if i < len(codes) else '否'}\n")
    return out.getvalue().encode()


def indicator_file(n_officers: int, codes: list[str], shift: int = 0) -> bytes:
    from app.assessment.catalogue import SEED_INDICATORS

    out = io.StringIO()
    out.write("单位代码,警号,指标代码,数值,不可防数\n")
    for code, _name, _dim, level, _w, extra in SEED_INDICATORS:
        if extra.get("is_soft") or extra.get("is_active") is False:
            continue
        if level == "unit":
            for k, unit_code in enumerate(codes):
                if code == "criminal_cases":
                    out.write(f"{unit_code},,{code},{5 + (k + shift) % 20},{k % 4}\n")
                else:
                    out.write(f"{unit_code},,{code},{70 + (k * 7 + shift) % 29},\n")
        else:
            for i in range(n_officers):
                out.write(f",{100000 + i},{code},{60 + (i * 13 + shift) % 39},\n")
    return out.getvalue().encode()


def post(client, url: str, body: bytes, name: str) -> tuple[float, dict]:
    from app.models import Job

    started = time.perf_counter()
    response = client.post(url, data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")
    seconds = time.perf_counter() - started
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"], response.get_data(as_text=True)
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    job = db.session.get(Job, job_id)
    assert job is not None and job.state == "succeeded", (job.state, job.error) if job else None
    assert job.result.get("ok"), job.result.get("errors", [])[:3]
    return seconds, job.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/kaoping_import_bench")
    args = parser.parse_args()
    print(f"{'officers':>9} {'file':<22} {'rows':>8} {'MB':>6} {'seconds':>8} {'peak MB':>8}  result")
    for n in args.sizes:
        fresh_database(args.url)
        app = make_app(args.url, JOBS_BACKEND="eager")
        with app.app_context():
            db.create_all()
            cycle_id, codes = world(n)
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        files = [("roster", "/admin/import/roster", roster_file(n, codes)),
                 ("indicator values", f"/assessment/cycles/{cycle_id}/import", indicator_file(n, codes)),
                 ("indicator values again", f"/assessment/cycles/{cycle_id}/import", indicator_file(n, codes, 1))]
        for label, url, body in files:
            with app.app_context():
                seconds, result = post(client, url, body, f"{label}.csv")
                counts = {k: result[k] for k in ("created", "updated", "stored", "superseded") if k in result}
            print(f"{n:>9,} {label:<22} {result['rows']:>8,} {len(body) / 1e6:>6.1f} {seconds:>8.1f} "
                  f"{peak_mb():>8.0f}  {counts}", flush=True)
        with app.app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
