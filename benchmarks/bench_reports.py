"""Province scale for the reports: a synthetic province in a fresh PostgreSQL database (~2,000
stations, 50,000 officers, a published run with every station's and officer's result, a year of
360 assignments and resident answers), then times the bureau overview page, its export, a station
dashboard and an officer's report. Prints figures, asserts nothing.

    python benchmarks/bench_reports.py [--stations 2000] [--officers 50000] \
        [--url postgresql://postgres@127.0.0.1:5432/kaoping_reports_bench]

The database named in --url is dropped and created again.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.config import normalise_database_url  # noqa: E402
from app.extensions import db  # noqa: E402

DIMENSIONS = ("law_enforcement", "basic_control", "public_service", "team_management")
GRADES = ("excellent", "good", "pass", "basic_pass", "fail")


def fresh_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    engine = sa.create_engine(normalise_database_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def insert(table, rows, chunk=5000):
    for start in range(0, len(rows), chunk):
        db.session.execute(sa.insert(table), rows[start:start + chunk])


def build_province(n_stations: int, n_officers: int, rng: random.Random) -> dict:
    from app.models import Assignment, Cycle, Officer, ResidentResponse, ScoreResult, ScoreRun, Unit, User

    now = datetime(2026, 11, 1)
    t = time.perf_counter()
    db.session.add(Unit(id=1, code="PROV", name="省厅", kind="bureau"))
    db.session.flush()
    insert(Unit.__table__, [{"id": 1 + i, "code": f"S{i:05d}", "name": f"第{i}派出所", "kind": "station",
                             "category": 1 + i % 3, "parent_id": 1, "is_active": True, "created_at": now}
                            for i in range(1, n_stations + 1)])
    insert(Officer.__table__, [{"id": i, "badge_no": f"{i:07d}", "name": f"民警{i}",
                                "unit_id": 2 + (i - 1) % n_stations, "position": "", "is_leader": i <= n_stations,
                                "is_active": True, "created_at": now} for i in range(1, n_officers + 1)])
    admin = User(username="admin", password_hash="")
    admin.roles = {"admin"}
    admin.set_password("bench-password")
    db.session.add(admin)
    db.session.add(Cycle(id=1, name="2026年度考评", kind="year", starts_on=date(2026, 1, 1),
                         ends_on=date(2026, 12, 31), status="published", config={}, published_at=now))
    db.session.flush()
    db.session.add(ScoreRun(id=1, cycle_id=1, version=1, status="published", published_at=now, finished_at=now,
                            options={"dual_track": {"top_share": 10.0, "bottom_share": 10.0}}))
    db.session.flush()
    print(f"  units, officers, cycle, run: {time.perf_counter() - t:6.2f} s")

    t = time.perf_counter()
    coefficient = {1: 1.1, 2: 1.05, 3: 1.0}
    results = []
    unit_totals = [(uid, 1 + (uid - 2) % 3, rng.uniform(60, 99)) for uid in range(2, n_stations + 2)]
    ranks = {}
    for cat in (1, 2, 3):
        ordered = sorted((u for u in unit_totals if u[1] == cat), key=lambda u: -u[2])
        for r, (uid, _c, _t) in enumerate(ordered, start=1):
            ranks[uid] = r
    overall = {uid: r for r, (uid, _c, _t) in enumerate(sorted(unit_totals, key=lambda u: -u[2] * coefficient[u[1]]),
                                                         start=1)}
    for uid, cat, total in unit_totals:
        dims = [{"code": d, "weight": 25.0, "score": rng.uniform(50, 100), "contribution": total / 4,
                 "shown": round(total / 4, 2)} for d in DIMENSIONS]
        results.append({"run_id": 1, "level": "unit", "unit_id": uid, "officer_id": None, "category": cat,
                        "total": total, "adjusted_total": total * coefficient[cat], "coefficient": coefficient[cat],
                        "rank": ranks[uid], "rank_overall": overall[uid], "grade": GRADES[min(4, ranks[uid] // 150)],
                        "bonus_cents": None, "coverage": rng.choice((1.0, 1.0, 1.0, 0.9)), "excluded": False,
                        "breakdown": {"dimensions": dims, "indicators": [], "total_shown": round(total, 2)}})
    for oid in range(1, n_officers + 1):
        uid = 2 + (oid - 1) % n_stations
        cat = 1 + (uid - 2) % 3
        total = rng.uniform(50, 99)
        results.append({"run_id": 1, "level": "officer", "unit_id": None, "officer_id": oid, "category": cat,
                        "total": total, "adjusted_total": total * coefficient[cat], "coefficient": coefficient[cat],
                        "rank": None, "rank_overall": None, "grade": None, "bonus_cents": None, "coverage": 1.0,
                        "excluded": False, "breakdown": {"indicators": [
                            {"code": "officer_case_compliance", "name": "个人执法规范率",
                             "dimension": "law_enforcement", "raw": total, "normalised": total, "weight": 100.0,
                             "contribution": total, "shown": total, "missing": False, "details": {}}],
                            "dimensions": []}})
    insert(ScoreResult.__table__, results)
    print(f"  {len(results):,} score results:     {time.perf_counter() - t:6.2f} s")

    t = time.perf_counter()
    assignments = []
    for oid in range(1, n_officers + 1):
        uid = 2 + (oid - 1) % n_stations
        peers = [p for p in (oid + n_stations, oid - n_stations) if 1 <= p <= n_officers]
        for p in peers:
            status = rng.choice(("submitted", "submitted", "submitted", "pending", "declined"))
            assignments.append({"cycle_id": 1, "rater_id": p, "ratee_id": oid, "relation": "peer", "status": status,
                                "source": "design", "created_at": now, "updated_at": now, "revision": 0,
                                "decline_reason": ""})
        assignments.append({"cycle_id": 1, "rater_id": oid, "ratee_id": oid, "relation": "self",
                            "status": "submitted", "source": "design", "created_at": now, "updated_at": now,
                            "revision": 0, "decline_reason": ""})
        del uid
    insert(Assignment.__table__, assignments)
    answers = [{"unit_id": 2 + rng.randrange(n_stations), "channel": "window", "answered_on": date(2026, 6, 1),
                "overall": rng.choice((4, 4, 3, 3, 2, 1)), "attitude": 4, "efficiency": 4, "fairness": 4,
                "resolved": "yes", "comment": ""} for _ in range(n_stations * 10)]
    insert(ResidentResponse.__table__, answers)
    db.session.commit()
    print(f"  {len(assignments):,} assignments, {len(answers):,} resident answers: {time.perf_counter() - t:6.2f} s")
    for table in ("unit", "officer", "score_result", "feedback_assignment", "resident_response"):
        db.session.execute(sa.text(f"ANALYZE {table}"))
    for seq_table in ("unit", "officer", "cycle", "score_run"):
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{seq_table}', 'id'), (SELECT max(id) FROM {seq_table}))"))
    db.session.commit()
    return {"officer_id": 1, "unit_id": 2}


def timed(client, url: str, repeat: int = 3) -> tuple[float, int, int]:
    client.get(url)  # the first request compiles templates
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        best = min(best, time.perf_counter() - t)
    return best, response.status_code, len(response.data)


def count_queries(app, client, url: str) -> int:
    counter = {"n": 0}

    def before(*_args, **_kw):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    return counter["n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=2000)
    parser.add_argument("--officers", type=int, default=50000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/kaoping_reports_bench")
    args = parser.parse_args()
    fresh_database(args.url)
    app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                      "SQLALCHEMY_DATABASE_URI": normalise_database_url(args.url),
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    print(f"province: {args.stations:,} stations, {args.officers:,} officers (PostgreSQL)")
    with app.app_context():
        db.create_all()
        ids = build_province(args.stations, args.officers, random.Random(8))
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": "bench-password"}).status_code == 302
    print("timings (best of 3, after a warm-up request):")
    for label, url in (("bureau overview page", "/reports/bureau"),
                       ("bureau export (.xlsx)", "/reports/bureau.xlsx"),
                       ("station dashboard", f"/reports/units/{ids['unit_id']}"),
                       ("station export (.xlsx)", f"/reports/units/{ids['unit_id']}.xlsx"),
                       ("officer report", f"/reports/officers/{ids['officer_id']}"),
                       ("admin landing page", "/")):
        seconds, status, size = timed(client, url)
        queries = count_queries(app, client, url)
        print(f"  {label:<24} {seconds * 1000:8.0f} ms  status {status}  {size / 1024:8.0f} KiB  {queries:4d} queries")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
