"""A province on one PostgreSQL (issue 19): organisations of 500 / 5,000 / 50,000 officers in
stations of ~70, built through the project's own code (roster import, 360 design, indicator import,
cycle opening), with ~11 360 ratings and 3 resident answers per officer and a few joint claims
written in bulk SQL; then the operations of the issue's table, timed through the web app (test
client) and the worker code. Prints the table; asserts nothing.

    python benchmarks/bench_province.py [--sizes 500 5000 50000] \
        [--url postgresql://postgres@127.0.0.1:5432/kaoping_province_bench] [--keep] [--score-run-only]
    python benchmarks/bench_province.py --reuse --score-run-only --url postgresql://…/<a built province>

The database named in --url is dropped and created again for each size; with --keep each size has
its own database (the name with the size appended), built once and reused by later runs (drop them
by hand when done); --reuse measures the province in the database at --url as it is (a copy of
one, say: createdb -T). --score-run-only measures the score run alone. The score run is computed
twice: once in a child process (its peak memory, with the time of each step) and once through the
web (the POST only queues the job; the job runs in a thread and the page polls it).
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.config import normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402

PER_STATION = 70
PASSWORD = "bench-password"


def fresh_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    engine = sa.create_engine(normalise_database_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def make_app(url: str, **extra):
    config = {"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
              "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://", "JOBS_BACKEND": "thread"}
    config.update(extra)
    return create_app(config)


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"    {label:<44} {now - started:7.1f} s", flush=True)
    return now


def build(n_officers: int) -> dict:
    """Inside an app context on an empty database."""
    from app.admin.services import import_roster, transition_cycle
    from app.assessment.catalogue import SEED_INDICATORS
    from app.assessment.datapool import import_indicator_values
    from app.assessment.services import seed_catalogue
    from app.feedback.instruments import ensure_default_instruments
    from app.feedback.services import instruments_for, write_design
    from app.models import Cycle, ServiceType, Unit, User
    from app.tabular import MAX_ROWS

    t = time.perf_counter()
    n_stations = max(2, round(n_officers / PER_STATION))
    bureau = Unit(code="BJ", name="市公安局", kind="bureau")
    db.session.add(bureau)
    db.session.flush()
    db.session.add_all([Unit(code=f"S{i:04d}", name=f"第{i}派出所", kind="station", category=1 + i % 3,
                             parent_id=bureau.id) for i in range(n_stations)])
    db.session.flush()
    for first in range(0, n_officers, MAX_ROWS):  # one upload holds at most MAX_ROWS rows
        roster = io.StringIO()
        roster.write("警号,姓名,单位代码,是否领导\n")
        for i in range(first, min(first + MAX_ROWS, n_officers)):
            roster.write(f"{100000 + i},民警{i},S{i % n_stations:04d},{'是' if i < n_stations else '否'}\n")
        report = import_roster("roster.csv", roster.getvalue().encode())
        assert report.ok, report.errors[:3]
    admin = User(username="admin", password_hash="")
    admin.roles = {"admin"}
    admin.set_password(PASSWORD)
    db.session.add(admin)
    db.session.commit()
    t = step(f"{n_stations} stations, roster of {n_officers:,} (import_roster)", t)

    seed_catalogue()
    ensure_default_instruments()
    cycle = Cycle(name="2026年第四季度", kind="quarter", starts_on=date(2026, 10, 1), ends_on=date(2026, 12, 31),
                  status="draft", config={})
    db.session.add(cycle)
    db.session.flush()
    write_design(cycle, seed=1, peers=8)
    transition_cycle(cycle, "open")
    db.session.commit()
    t = step("360 design (write_design) and opening", t)

    officers = db.session.execute(sa.text("SELECT id, badge_no, unit_id FROM officer")).all()
    units = db.session.execute(sa.select(Unit.code).where(Unit.kind == "station")).scalars().all()
    rows = []
    for code, _name, _dim, level, _w, extra in SEED_INDICATORS:
        if extra.get("is_soft") or not extra.get("is_active", True):  # inactive: refused by the import
            continue
        if level == "unit":
            for k, unit_code in enumerate(units):
                row = {"unit_code": unit_code, "indicator": code, "value": 70 + (k * 7) % 29}
                if code == "criminal_cases":
                    row.update(value=5 + k % 20, nonpreventable=k % 4)
                rows.append(row)
        else:
            rows += [{"badge_no": badge, "indicator": code, "value": 60 + (oid * 13) % 39}
                     for oid, badge, _u in officers]
    report = import_indicator_values(cycle, list(enumerate(rows, start=2)), "upload", "values.csv")
    assert report.ok, report.errors[:3]
    db.session.commit()
    t = step(f"{len(rows):,} indicator values (import_indicator_values)", t)

    # 360 answers: 9 in 10 assignments submitted, every item answered (bulk SQL).
    by_group = {group: instrument.id for group, instrument in instruments_for(cycle).items()}
    db.session.execute(sa.text(
        "UPDATE feedback_assignment SET status = 'submitted' WHERE cycle_id = :c AND id % 10 <> 0"), {"c": cycle.id})
    for relation, instrument_id in by_group.items():
        db.session.execute(sa.text(
            "INSERT INTO feedback_response (assignment_id, instrument_id, created_at, updated_at, submitted_at) "
            "SELECT id, :i, now(), now(), now() FROM feedback_assignment "
            "WHERE cycle_id = :c AND status = 'submitted' AND relation = :r"),
            {"i": instrument_id, "c": cycle.id, "r": relation})
    db.session.execute(sa.text(
        "INSERT INTO feedback_answer (response_id, item_id, value) "
        "SELECT r.id, i.id, 1 + (r.id * 7 + i.id * 3) % 5 FROM feedback_response r "
        "JOIN feedback_item i ON i.instrument_id = r.instrument_id"))
    answered = db.session.scalar(sa.text("SELECT count(*) FROM feedback_response"))
    # Resident answers: 3 answered links per officer, and 2 window answers per station.
    service = ServiceType(name="户籍办理")
    db.session.add(service)
    db.session.flush()
    db.session.execute(sa.text(
        "INSERT INTO resident_invitation (token_hash, service_type_id, reference, unit_id, source, created_at, "
        "expires_at, used_at) SELECT md5(o.id || '-' || g) || md5(g || '-' || o.id), :s, o.id || '-' || g, "
        "o.unit_id, 'batch', '2026-10-02', '2026-11-02', '2026-10-05' FROM officer o, generate_series(1, 3) g"),
        {"s": service.id})
    db.session.execute(sa.text(
        "INSERT INTO resident_invitation_officer (invitation_id, officer_id) "
        "SELECT id, split_part(reference, '-', 1)::int FROM resident_invitation"))
    db.session.execute(sa.text(
        "INSERT INTO resident_response (invitation_id, unit_id, service_type_id, channel, answered_on, overall, "
        "attitude, efficiency, fairness, resolved, comment) SELECT id, unit_id, service_type_id, 'link', "
        "date '2026-10-05' + (id % 60), 1 + (id * 7) % 4, 3, 3, 3, 'yes', '' FROM resident_invitation"))
    db.session.execute(sa.text(
        "INSERT INTO resident_response (unit_id, service_type_id, channel, answered_on, overall, attitude, "
        "efficiency, fairness, resolved, comment) SELECT id, :s, 'window', date '2026-10-06', 4, 4, 4, 4, 'yes', '' "
        "FROM unit, generate_series(1, 2) WHERE kind = 'station'"), {"s": service.id})
    # Joint claims: one approved claim per pair of neighbouring stations.
    admin_id = db.session.scalar(sa.text("SELECT id FROM user_account WHERE username = 'admin'"))
    db.session.execute(sa.text(
        "INSERT INTO collaboration_claim (cycle_id, case_ref, case_type, severity, case_date, summary, lead_unit_id, "
        "status, version, filed_by_id, decision_reason, created_at, decided_at) "
        "SELECT :c, 'A' || id, '刑事', '一般', date '2026-10-10', '', id, 'approved', 1, :u, '', now(), now() "
        "FROM unit WHERE kind = 'station' AND id < (SELECT max(id) FROM unit)"), {"c": cycle.id, "u": admin_id})
    db.session.execute(sa.text(
        "INSERT INTO claim_participant (claim_id, unit_id, officer_id, role, proposed_bp, final_bp) "
        "SELECT c.id, u.id, (SELECT min(o.id) FROM officer o WHERE o.unit_id = u.id), "
        "CASE WHEN u.id = c.lead_unit_id THEN 'lead' ELSE 'assist' END, "
        "CASE WHEN u.id = c.lead_unit_id THEN 6000 ELSE 4000 END, "
        "CASE WHEN u.id = c.lead_unit_id THEN 6000 ELSE 4000 END "
        "FROM collaboration_claim c JOIN unit u ON u.id IN (c.lead_unit_id, c.lead_unit_id + 1)"))
    db.session.commit()
    for table in ("officer", "unit", "feedback_assignment", "feedback_response", "feedback_answer",
                  "resident_invitation", "resident_invitation_officer", "resident_response", "indicator_value",
                  "claim_participant"):
        db.session.execute(sa.text(f"ANALYZE {table}"))
    db.session.commit()
    links = db.session.scalar(sa.text("SELECT count(*) FROM resident_response WHERE invitation_id IS NOT NULL"))
    step(f"{answered:,} 360 ratings, {links:,} answered links (bulk SQL)", t)
    officer_id = db.session.scalar(sa.text("SELECT min(id) FROM officer WHERE NOT is_leader"))
    unit_id = db.session.scalar(sa.text("SELECT min(id) FROM unit WHERE kind = 'station'"))
    return {"cycle": cycle.id, "officer": officer_id, "unit": unit_id}


CHILD = """
import json, resource, sys, time
sys.path[:0] = [{root!r}, {root!r} + "/benchmarks"]
import sqlalchemy as sa
from bench_province import make_app
from app.extensions import db
from app.assessment import runs
from app.models import Cycle
import app.bulk, app.claims.points, scoring.feedback, scoring.residents
from app import bulk
keys = ("numpy", "load", "store", "sql", "bulk_read", "bulk_write", "json", "assembly")
timings = dict.fromkeys(keys, 0.0)

def timed(owner, name, key, less=()):
    inner = getattr(owner, name, None)
    if inner is None:  # an older version of the code (a before/after comparison)
        return
    def wrapper(*args, **kwargs):
        before, start = {{k: timings[k] for k in less}}, time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            timings[key] += time.perf_counter() - start - sum(timings[k] - before[k] for k in less)
    setattr(owner, name, wrapper)

# numpy: every call into scoring; load and store: the run's steps less the scoring inside them;
# database: the SQL statements, the bulk reads, and the bulk writes less the JSON and the breakdowns
# (a breakdown written as JSON text while it is put together counts as breakdowns, not JSON)
timed(scoring.feedback, "score_feedback", "numpy")
timed(scoring.residents, "score_residents", "numpy")
timed(app.claims.points, "score_team", "numpy")
timed(runs, "score_assessment", "numpy")
timed(runs, "_load_inputs", "load", less=("numpy",))
timed(runs, "_store_results", "store")
timed(app.bulk, "integer_arrays", "bulk_read")
timed(runs, "insert_rows", "bulk_write", less=("json", "assembly"))
timed(getattr(runs, "_Breakdowns", None), "__call__", "assembly")
timed(getattr(runs, "_Breakdowns", None), "load", "assembly")
app = make_app({url!r})
marks = []
with app.app_context():
    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()
    def finished(conn, cursor, statement, parameters, context, executemany):
        timings["sql"] += time.perf_counter() - conn.info.pop("bench_started")
    sa.event.listen(db.engine, "before_cursor_execute", started)
    sa.event.listen(db.engine, "after_cursor_execute", finished)
    class Serializer:
        dumps = staticmethod(db.engine.dialect._json_serializer or getattr(bulk, "json_text", json.dumps))
    timed(Serializer, "dumps", "json")
    db.engine.dialect._json_serializer = Serializer.dumps
    cycle = db.session.get(Cycle, {cycle})
    start = time.perf_counter()
    run = runs.compute_run(cycle, progress=lambda m: marks.append((m, time.perf_counter() - start)))
    db.session.commit()
    total = time.perf_counter() - start
    print(json.dumps({{"total": total, "marks": marks, "timings": timings,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


class Watch:
    """Queries and the largest number of bound parameters of any statement while it is on."""

    def __init__(self, engine):
        self.engine, self.queries, self.largest = engine, 0, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        self.queries += 1
        for row in (parameters if executemany else [parameters]) or ():
            self.largest = max(self.largest, len(row or ()))


def built_ids(url: str, n_officers: int | None) -> dict | None:
    """The ids that build() returned, when the database already holds a province of this size (None:
    of any size)."""
    base, name = url.rsplit("/", 1)
    engine = sa.create_engine(normalise_database_url(base + "/postgres"))
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    engine.dispose()
    if not exists:
        return None
    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as conn:
            officers = conn.scalar(sa.text("SELECT count(*) FROM officer"))
            links = conn.scalar(sa.text("SELECT count(*) FROM resident_response"))
            if officers != (n_officers if n_officers is not None else officers) or not links:
                return None
            return {"cycle": conn.scalar(sa.text("SELECT min(id) FROM cycle")),
                    "officer": conn.scalar(sa.text("SELECT min(id) FROM officer WHERE NOT is_leader")),
                    "unit": conn.scalar(sa.text("SELECT min(id) FROM unit WHERE kind = 'station'"))}
    except sa.exc.ProgrammingError:  # no tables yet
        return None
    finally:
        engine.dispose()


def score_run_in_child(url: str, cycle_id: int, figures: dict) -> None:
    """The score run in a child process: its time, the time of each step and its peak memory."""
    child = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), url=url, cycle=cycle_id)],
                           capture_output=True, text=True, cwd=ROOT)
    if child.returncode != 0:
        print(child.stderr[-2000:])
        figures["score run, CLI, peak memory"] = "fails"
        return
    out = json.loads(child.stdout.strip().splitlines()[-1])
    marks = out["marks"]
    figures["score run, CLI, peak memory"] = f"{out['total']:.1f} s, {out['peak_mb']:.0f} MB"
    steps = "; ".join(f"{m} {t:.1f}" for m, t in marks)
    print(f"    score run steps (s from start): {steps}", flush=True)
    # loading = until the first level is scored; the rest is scoring and storing per level
    loading = next((t for m, t in marks if m.startswith("计算")), out["total"])
    figures["score run: loading / scoring+storing"] = f"{loading:.1f} s / {out['total'] - loading:.1f} s"
    timings = out.get("timings") or {}
    if timings:
        print("    score run seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()), flush=True)
        numpy_s, load, store = timings["numpy"], timings["load"], timings["store"]
        database = timings["sql"] + timings["bulk_read"] + timings["bulk_write"]
        figures["score run: load / numpy / store / rest"] = \
            f"{load:.1f} / {numpy_s:.1f} / {store:.1f} / {out['total'] - load - numpy_s - store:.1f} s"
        figures["score run: database / JSON / breakdowns"] = \
            f"{database:.1f} / {timings['json']:.1f} / {timings['assembly']:.1f} s"
        if numpy_s > 0:
            figures["score run: (load + store) / numpy"] = f"{(load + store) / numpy_s:.1f}×"
            figures["score run: database / numpy"] = f"{database / numpy_s:.1f}×"


def measure(url: str, n_officers: int | None, keep: bool = False, score_run_only: bool = False) -> dict:
    """The figures of one size; ``n_officers`` None: of the province already in the database at
    ``url`` (never built nor dropped)."""
    if keep and n_officers is not None:
        url = f"{url}_{n_officers}"
    ids = built_ids(url, n_officers) if keep or n_officers is None else None
    if n_officers is None and ids is None:
        raise SystemExit(f"--reuse: no province in {url}")
    print((f"\n{n_officers:,} officers" if n_officers is not None else f"\n{url.rsplit('/', 1)[-1]}")
          + (" (database reused)" if ids else ""), flush=True)
    if ids is None:
        fresh_database(url)
    app = make_app(url)
    with app.app_context():
        if ids is None:
            db.create_all()
            ids = build(n_officers)
        engine = db.engine
    figures: dict[str, str] = {}
    largest = 0

    score_run_in_child(url, ids["cycle"], figures)
    if score_run_only:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return figures

    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302

    # Through the web: the POST queues the job; the job runs in a thread; the page polls it.
    with Watch(engine) as watch:
        t = time.perf_counter()
        response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": "bench"})
        posted = time.perf_counter() - t
    largest = max(largest, watch.largest)
    job_url = response.headers.get("Location", "")
    state = {}
    while "/jobs/" in job_url:
        state = client.get(job_url.rstrip("/") + "/status").get_json()
        if state["finished"]:
            break
        time.sleep(0.5)
    done = time.perf_counter() - t
    if state.get("state") == "succeeded":
        figures["score run (web POST → job done)"] = f"{posted * 1000:.0f} ms → {done:.1f} s"
        run_id = int(state["result_url"].rstrip("/").split("/")[-1])
    else:
        figures["score run (web POST → job done)"] = f"fails: {state.get('error', response.status_code)}"[:60]
        with app.app_context():
            run_id = db.session.scalar(sa.text("SELECT max(id) FROM score_run"))

    def page(label, url, method="get", show_size=True):
        nonlocal largest
        getattr(client, method)(url)  # warm-up: templates compiled, caches filled
        with Watch(engine) as watch:
            t = time.perf_counter()
            response = getattr(client, method)(url)
            seconds = time.perf_counter() - t
        largest = max(largest, watch.largest)
        if response.status_code >= 400:
            figures[label] = f"fails: {response.status_code}"
            return
        size = f", {len(response.data) / 1024:,.0f} KB" if show_size else ""
        figures[label] = f"{seconds:.2f} s{size}, {watch.queries} q"

    page("individual report", f"/reports/officers/{ids['officer']}?cycle={ids['cycle']}")
    page("station dashboard", f"/reports/units/{ids['unit']}")
    page("run ranking page", f"/assessment/runs/{run_id}")
    page("dual-track page", f"/assessment/runs/{run_id}/dual-track")
    page("admin 360 tracking", f"/admin/feedback/cycles/{ids['cycle']}/tracking")
    page("admin home page", "/")
    page("run export (.xlsx)", f"/assessment/runs/{run_id}/export.xlsx")
    page("360 tracking export (.xlsx)", f"/admin/feedback/cycles/{ids['cycle']}/tracking.xlsx")

    # Design generation as a job (on a new draft cycle of the same organisation).
    with app.app_context():
        from app.models import Cycle

        draft = Cycle(name="2027年第一季度", kind="quarter", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31),
                      status="draft", config={})
        db.session.add(draft)
        db.session.commit()
        draft_id = draft.id
    t = time.perf_counter()
    response = client.post(f"/admin/feedback/cycles/{draft_id}/design",
                           data={"design-seed": "3", "design-peers": "6", "design-submit": "1"})
    posted = time.perf_counter() - t
    job_url = response.headers.get("Location", "")
    state = {}
    while "/jobs/" in job_url:
        state = client.get(job_url.rstrip("/") + "/status").get_json()
        if state["finished"]:
            break
        time.sleep(0.5)
    figures["360 design generation (POST → job done)"] = (
        f"{posted * 1000:.0f} ms → {time.perf_counter() - t:.1f} s" if state.get("state") == "succeeded"
        else f"fails: {state.get('error', response.status_code)}"[:60])
    figures["largest bound-parameter list"] = f"{largest:,}"
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 50000])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/kaoping_province_bench")
    parser.add_argument("--keep", action="store_true",
                        help="one database per size, built once and reused (drop them by hand)")
    parser.add_argument("--score-run-only", action="store_true", help="measure the score run alone")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the province already in the database at --url as it is (no --sizes, "
                             "nothing built or dropped; the runs it computes stay in it)")
    args = parser.parse_args()
    columns: dict = {}
    for n in [None] if args.reuse else args.sizes:
        columns[n] = measure(args.url, n, keep=args.keep, score_run_only=args.score_run_only)
    labels = list(dict.fromkeys(label for figures in columns.values() for label in figures))
    width = max(len(label) for label in labels)
    heads = [f"{n:,} officers" if n is not None else args.url.rsplit("/", 1)[-1] for n in columns]
    print("\n| " + " " * width + " | " + " | ".join(heads) + " |")
    print("|" + "-" * (width + 2) + "|" + "|".join("-" * 24 for _ in columns) + "|")
    for label in labels:
        print(f"| {label:<{width}} | " + " | ".join(f"{columns[n].get(label, ''):<22}" for n in columns) + " |")


if __name__ == "__main__":
    main()
