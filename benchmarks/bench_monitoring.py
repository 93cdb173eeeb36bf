"""Live monitoring at a bureau's size: a year of records (about 200,000 incidents and 20,000 cases for
60 stations) imported through the data pool's own import functions (the API's path, in batches of
the API's 20,000-row limit), then the monitoring pages' work timed and their queries counted.

    python benchmarks/bench_monitoring.py --database postgresql://postgres@127.0.0.1:5432/kaoping_bench_monitoring

The database is emptied (tables dropped and created). Prints import times, the station page, the
live JSON poll, the bureau page (60 stations) and opening a self-check, each with its query count.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STATIONS = 60
INCIDENTS = 200_000
CASES = 20_000
TODAY = date(2026, 12, 15)
API_ROWS = 20_000


def incident_rows(rng, codes, types):
    first = datetime(2025, 12, 16)
    span = int((datetime.combine(TODAY, datetime.min.time()) - first).total_seconds() // 60)
    rows = []
    for n in range(INCIDENTS):
        received = first + timedelta(minutes=rng.randrange(span))
        arrived = received + timedelta(minutes=max(2, int(rng.gauss(13, 6))))
        rows.append({"external_id": f"J{n:07d}", "unit_code": rng.choice(codes), "incident_type": rng.choice(types),
                     "received_at": received.strftime("%Y-%m-%d %H:%M"),
                     "arrived_at": arrived.strftime("%Y-%m-%d %H:%M"), "is_preventable": rng.random() < 0.8})
    return rows


def case_rows(rng, codes, badges):
    rows = []
    for n in range(CASES):
        accepted = TODAY - timedelta(days=rng.randrange(365))
        age = (TODAY - accepted).days
        code = rng.choice(codes)
        row = {"case_ref": f"C{n:07d}", "case_date": accepted.isoformat(), "case_type": rng.choice(("刑事", "治安")),
               "unit_code": code, "is_preventable": rng.random() < 0.8, "officer_badge": rng.choice(badges[code])}
        if age > 2:
            row["filed_on"] = (accepted + timedelta(days=1)).isoformat()
        if age > 20 and rng.random() < 0.85:
            row["solved_on"] = (accepted + timedelta(days=rng.randint(2, 20))).isoformat()
        rows.append(row)
    return rows


class QueryCounter:
    def __init__(self, engine):
        import sqlalchemy as sa

        self.n = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.n += 1


def timed(counter, fn, repeat=3):
    best, queries = None, 0
    for _ in range(repeat):
        counter.n = 0
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
        queries = counter.n
    return best, queries


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database URL; it is emptied")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    from app import create_app
    from app.claims.services import import_case_records
    from app.extensions import db
    from app.models import Officer, Unit
    from app.monitoring import selfcheck, services
    from app.trends.services import import_incident_rows, seed_incident_types

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database, "SECRET_KEY": "bench", "TESTING": True})
    services.today = lambda: TODAY
    with app.app_context(), app.test_request_context():
        db.drop_all()
        db.create_all()
        bureau = Unit(code="BJ", name="bureau", kind="bureau")
        stations = [Unit(code=f"PS{i:02d}", name=f"station {i}", kind="station", category=1 + i % 3, parent=bureau)
                    for i in range(STATIONS)]
        db.session.add_all([bureau, *stations])
        db.session.flush()
        badges = {}
        for s in stations:
            for k in range(5):
                db.session.add(Officer(badge_no=f"{s.code}{k:03d}", name=f"officer {k}", unit_id=s.id))
                badges.setdefault(s.code, []).append(f"{s.code}{k:03d}")
        seed_incident_types()
        db.session.commit()
        codes = [s.code for s in stations]
        types = ["fraud", "theft", "burglary", "dispute", "fight", "traffic", "fire", "help"]
        incidents = incident_rows(rng, codes, types)
        cases = case_rows(rng, codes, badges)

        start = time.perf_counter()
        for chunk in range(0, len(incidents), API_ROWS):
            part = incidents[chunk:chunk + API_ROWS]
            report = import_incident_rows(list(enumerate(part, start=1)))
            assert report.ok, report.errors[:3]
            db.session.commit()
        incident_s = time.perf_counter() - start
        start = time.perf_counter()
        for chunk in range(0, len(cases), API_ROWS):
            report = import_case_records(cases[chunk:chunk + API_ROWS], source="bench")
            assert report.ok, report.errors[:3]
            db.session.commit()
        case_s = time.perf_counter() - start
        start = time.perf_counter()
        report = import_incident_rows(list(enumerate(incidents[:API_ROWS], start=1)))  # a re-send: all updates
        db.session.commit()
        resend_s = time.perf_counter() - start
        assert report.updated == API_ROWS

        counter = QueryCounter(db.engine)
        station = stations[7]
        station_s, station_q = timed(counter, lambda: services.station_view(station, TODAY))
        live_s, live_q = timed(counter, lambda: services.station_view(station, TODAY).stamp())
        bureau_s, bureau_q = timed(counter, lambda: services.bureau_rows(TODAY, stations, "behind"))
        small_s, small_q = timed(counter, lambda: services.bureau_rows(TODAY, stations[:10], "behind"))
        open_s, open_q = timed(counter, lambda: selfcheck.live_items(station, date(2026, 11, 1)))
        print(f"Database: {db.engine.dialect.name}; {STATIONS} stations, {len(incidents):,} incidents, "
              f"{len(cases):,} cases (a bureau-year)")
        print(f"Import incidents (API path, {API_ROWS:,}-row batches): {incident_s:.1f} s "
              f"({len(incidents) / incident_s:,.0f} rows/s)")
        print(f"Import cases (stages and deadlines): {case_s:.1f} s; re-send of {API_ROWS:,} incidents "
              f"(all updates): {resend_s:.1f} s")
        print(f"Station page: {station_s * 1000:.0f} ms, {station_q} queries; live poll: {live_s * 1000:.0f} ms, "
              f"{live_q} queries")
        print(f"Bureau page, 60 stations: {bureau_s * 1000:.0f} ms, {bureau_q} queries "
              f"(10 stations: {small_s * 1000:.0f} ms, {small_q} queries)")
        print(f"Self-check live values of one station-month: {open_s * 1000:.0f} ms, {open_q} queries")
        db.session.remove()
        db.drop_all()


if __name__ == "__main__":
    main()
