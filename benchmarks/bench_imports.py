"""Issue 19: roster and indicator files of a province imported by background jobs, on PostgreSQL.

For N officers in stations of ~70: the roster file (N rows), the indicator file (every station's
unit-level indicators and every officer's officer-level ones, ~3.2 N rows), then the indicator file
sent again through each other way in (every value superseded, history kept): the command line
(`import-indicators`, the job run in-process) and the API (a multipart file, 202, then polled).
Uploads are posted to the import page as an admin would; the job runs in the request (eager
backend) so that its time is the time measured. Each import runs in a forked process of its own:
its peak memory (and the memory it started from, the world already built) is its own. Prints rows,
file size, seconds and memory; asserts nothing.

    python benchmarks/bench_imports.py [--sizes 5000 50000 | --indicator-rows 300000] \
        [--url postgresql://postgres@127.0.0.1:5432/kaoping_import_bench]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
from datetime import date
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import sqlalchemy as sa  # noqa: E402
from bench_province import PASSWORD, PER_STATION, fresh_database, make_app  # noqa: E402

from app.extensions import db  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def forked(app, work):
    """``work()`` (JSON-safe result) in a forked child on connections of its own; returns
    (result, MB resident when it started, its peak MB)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            with app.app_context():
                db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
            start = rss_mb()
            payload = {"result": work(), "start": start, "peak": peak_mb()}
        except BaseException as error:  # reported by the parent
            payload = {"error": f"{type(error).__name__}: {error}"}
        with os.fdopen(write, "w") as out:
            out.write(json.dumps(payload))
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as incoming:
        payload = json.loads(incoming.read() or '{"error": "child died"}')
    os.waitpid(pid, 0)
    if "error" in payload:
        raise RuntimeError(payload["error"])
    return payload["result"], payload["start"], payload["peak"]


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


def post(client, url: str, body: bytes, name: str) -> dict:
    from app.models import Job

    response = client.post(url, data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"], response.get_data(as_text=True)
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    job = db.session.get(Job, job_id)
    assert job is not None and job.state == "succeeded", (job.state, job.error) if job else None
    assert job.result.get("ok"), job.result.get("errors", [])[:3]
    return job.result


def cli(app, cycle_id: int, body: bytes) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".csv") as file:
        file.write(body)
        file.flush()
        result = app.test_cli_runner().invoke(args=["import-indicators", file.name, "--cycle", str(cycle_id)])
    assert result.exit_code == 0, result.output[-2000:]
    rows, stored, superseded = (int(word.replace(",", "")) for word in result.output.splitlines()[-1].split()[0:5:2])
    return {"rows": rows, "stored": stored, "superseded": superseded}


def api(app, cycle_id: int, body: bytes) -> dict:
    from app.api.services import create_client

    with app.app_context():
        _client, token = create_client(f"bench {time.time()}")
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post(f"/api/v1/cycles/{cycle_id}/indicator-values", headers=headers,
                           data={"file": (io.BytesIO(body), "values.csv")}, content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    polled = client.get(response.headers["Location"], headers=headers).json
    assert polled["state"] == "succeeded" and polled["report"]["ok"], polled
    return polled["report"]


def upload(app, client, url: str, name: str, body: bytes) -> dict:
    with app.app_context():
        return post(client, url, body, name)


def measure(app, client, cycle_id: int, n: int, codes: list[str]) -> None:
    values = f"/assessment/cycles/{cycle_id}/import"
    files = [("roster (upload)", roster_file(n, codes), partial(upload, app, client, "/admin/import/roster", "r.csv")),
             ("indicators (upload)", indicator_file(n, codes), partial(upload, app, client, values, "v.csv")),
             ("indicators again (CLI)", indicator_file(n, codes, 1), partial(cli, app, cycle_id)),
             ("indicators again (API)", indicator_file(n, codes, 2), partial(api, app, cycle_id))]
    for label, body, work in files:
        started = time.perf_counter()
        result, start, peak = forked(app, partial(work, body))
        seconds = time.perf_counter() - started
        counts = {k: result[k] for k in ("created", "updated", "stored", "superseded") if k in result}
        print(f"{n:>9,} {label:<28} {result['rows']:>8,} {len(body) / 1e6:>6.1f} {seconds:>8.1f} "
              f"{start:>9.0f} {peak:>8.0f}  {counts}", flush=True)


def officers_for(indicator_rows: int) -> int:
    """Officers whose indicator file has about ``indicator_rows`` rows."""
    from app.assessment.catalogue import SEED_INDICATORS

    kept = [level for _c, _n, _d, level, _w, extra in SEED_INDICATORS
            if not extra.get("is_soft") and extra.get("is_active") is not False]
    per_officer = kept.count("officer") + kept.count("unit") / PER_STATION
    return round(indicator_rows / per_officer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000], help="Officers")
    parser.add_argument("--indicator-rows", type=int, nargs="+", default=[],
                        help="Instead of --sizes: officers enough for indicator files of about these rows")
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/kaoping_import_bench")
    args = parser.parse_args()
    sizes = [officers_for(rows) for rows in args.indicator_rows] or args.sizes
    print(f"{'officers':>9} {'file':<28} {'rows':>8} {'MB':>6} {'seconds':>8} {'start MB':>9} {'peak MB':>8}  result")
    for n in sizes:
        fresh_database(args.url)
        app = make_app(args.url, JOBS_BACKEND="eager")
        with app.app_context():
            db.create_all()
            cycle_id, codes = world(n)
            db.session.remove()
            db.engine.dispose()
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        measure(app, client, cycle_id, n, codes)
        with app.app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
