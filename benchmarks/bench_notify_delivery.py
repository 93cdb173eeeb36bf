"""How fast notifications leave through the SMS gateway, and what one claim costs. Prints figures.

    python benchmarks/bench_notify_delivery.py [n_users] [database_url]

Creates ``n_users`` users with a mobile number in a throw-away SQLite database (or the given
PostgreSQL URL, whose tables are recreated), raises one event for all of them (notify() → one
Delivery each), then times ``send_due`` sending them to the local gateway stand-in (app.notify.cli),
sequentially from one worker: per message one SELECT, one claim UPDATE + COMMIT, the HTTP POST, one
record UPDATE + COMMIT.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def main() -> None:
    from app.models import Delivery, User
    from app.notify.cli import StandinGateway
    from app.notify.delivery import send_due
    from app.notify.services import notify

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    gateway = StandinGateway()
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tmp}/bench.db"
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                          "JOBS_BACKEND": "eager", "SMS_GATEWAY_URL": "", "SMS_QUIET_HOURS": ""})
        with app.app_context():
            db.drop_all()
            db.create_all()
            db.session.execute(sa.insert(User), [{"username": f"u{i}", "password_hash": "x", "mobile": f"1380{i:07d}"}
                                                 for i in range(n)])
            db.session.commit()
            ids = db.session.execute(sa.select(User.id)).scalars().all()
            app.config["SMS_GATEWAY_URL"] = gateway.url
            app.config["JOBS_BACKEND"] = "rq-none"  # queue only: the timing below sends
            t = time.perf_counter()
            notify(ids, "cycle_opened", "cycle:1:opened", link="/feedback/",
                   params={"cycle": "2026年第四季度", "count": 3, "deadline": "2026-12-20"})
            db.session.info.pop("kaoping.jobs.pending", None)
            db.session.commit()
            queued = time.perf_counter() - t
            t = time.perf_counter()
            counts = send_due(limit=n)
            sent = time.perf_counter() - t
            statuses = dict(tuple(row) for row in db.session.execute(sa.select(Delivery.status, sa.func.count())
                                               .group_by(Delivery.status)).all())
            db.session.remove()  # else PostgreSQL's DROP waits for this session's locks
            db.drop_all()
    print(f"database: {url.split('@')[-1] if '@' in url else 'sqlite'}; users: {n}")
    print(f"notify() + deliveries queued for {n} users: {queued:.2f} s")
    print(f"send_due: {counts} in {sent:.2f} s = {n / sent:.0f} messages/s ({1000 * sent / n:.2f} ms each)")
    print(f"gateway received {len(gateway.received)} (repeats: {sum(m['duplicate'] for m in gateway.received)}); "
          f"statuses {statuses}")
    gateway.shutdown()


if __name__ == "__main__":
    main()
