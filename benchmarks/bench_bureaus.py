"""Several bureaus: what the province's overview and a bureau admin's pages cost as bureaus are added.

Builds a fresh database with B bureaus of S stations and O officers each (through the models and the
unit bureau events), one open quarter per bureau, and then, through the app's test client, opens as
the province ``/admin/province`` and ``/admin/cycles``, and as the first bureau's admin ``/admin/units``,
``/admin/officers`` and ``/admin/cycles``. Prints, per size, statements, HTML size and time of each page.
Target: statements the same at every size (the overview is grouped queries, a bureau admin's pages do
not grow with the other bureaus).

    python benchmarks/bench_bureaus.py [--bureaus 2 10 40] [--stations 20] [--officers 10] [--pg]

SQLite in a temporary directory by default; ``--pg`` uses PostgreSQL at 127.0.0.1:5432 (database
kaoping_bench_bureaus, dropped and made again for each size).
"""
import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_NAME = "kaoping_bench_bureaus"
PAGES = (("province", "/admin/province"), ("province", "/admin/cycles"), ("admin_b0", "/admin/units"),
         ("admin_b0", "/admin/officers"), ("admin_b0", "/admin/cycles"))


def _database(pg: bool, tmp: Path, size: int) -> str:
    if not pg:
        return f"sqlite:///{tmp / f'bureaus-{size}.db'}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {PG_NAME}"))
    admin.dispose()
    return f"postgresql://postgres@127.0.0.1:5432/{PG_NAME}"


def build(n_bureaus: int, stations: int, officers: int) -> None:
    from werkzeug.security import generate_password_hash

    from app.extensions import db
    from app.models import Cycle, Officer, Unit, User

    password = generate_password_hash("password123", method="pbkdf2:sha256:1000")
    for b in range(n_bureaus):
        bureau = Unit(code=f"B{b}", name=f"第{b}公安局", kind="bureau")
        db.session.add(bureau)
        db.session.flush()
        for s in range(stations):
            unit = Unit(code=f"B{b}S{s}", name=f"第{b}局第{s}派出所", kind="station", category=1 + s % 3,
                        parent=bureau)
            db.session.add(unit)
            db.session.add_all(Officer(badge_no=f"{b:03d}{s:03d}{o:02d}", name=f"民警{b}-{s}-{o}", unit=unit)
                               for o in range(officers))
        db.session.add(Cycle(name=f"第{b}局2026年第四季度", kind="quarter", starts_on=date(2026, 10, 1),
                             ends_on=date(2026, 12, 31), status="open", config={}, bureau_id=bureau.id))
        admin = User(username=f"admin_b{b}", password_hash=password, bureau_id=bureau.id)
        admin.roles = {"admin"}
        db.session.add(admin)
        db.session.commit()
    province = User(username="province", password_hash=password)
    province.roles = {"province"}
    db.session.add(province)
    db.session.commit()


def measure(app) -> dict:
    from app.extensions import db

    client = app.test_client()
    out = {}
    for user, url in PAGES:
        client.post("/logout")
        client.post("/login", data={"username": user, "password": "password123"})
        assert client.get(url).status_code == 200, url  # warm
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        out[(user, url)] = (len(seen), len(response.get_data()), elapsed)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bureaus", type=int, nargs="+", default=[2, 10, 40])
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--officers", type=int, default=10)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()
    from flask_migrate import upgrade

    from app import create_app

    print(f"{'bureaus':>7} {'officers':>8}  {'page':<32} {'statements':>10} {'KB':>7} {'ms':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.bureaus:
            url = _database(args.pg, Path(tmp), size)
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                              "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True})
            with app.app_context():
                upgrade()
                build(size, args.stations, args.officers)
            for (user, page), (statements, size_b, elapsed) in measure(app).items():
                print(f"{size:>7} {size * args.stations * args.officers:>8}  {user + ' ' + page:<32} "
                      f"{statements:>10} {size_b / 1024:>7.1f} {1000 * elapsed:>7.1f}")
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()


if __name__ == "__main__":
    main()
