"""Races between requests served by different processes: the database decides, exactly once."""
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Cycle

from ..factories import make_cycle, make_officer, make_unit, make_user
from .conftest import Browser


def test_twenty_simultaneous_cycle_openings_open_it_once(app, gunicorn):
    with app.app_context():
        make_user("racer", roles={"admin"}, officer=make_officer(make_unit("PS01")))
        cycle_id = make_cycle().id
        db.session.commit()
    clients = [Browser(gunicorn).login("racer", "password123") for _ in range(4)]
    tokens = [c.csrf(f"/admin/cycles/{cycle_id}") for c in clients]

    def open_it(i):
        client = clients[i % len(clients)]
        return client.request("POST", f"/admin/cycles/{cycle_id}/open", {"csrf_token": tokens[i % len(clients)]})

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = [status for status, _ in pool.map(open_it, range(20))]
    assert all(status in (302, 303) for status in statuses), statuses
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).status == "open"
        opened = db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).filter_by(action="cycle_open"))
        assert opened == 1


def test_login_throttle_is_shared_by_the_processes(gunicorn):
    """Failed logins counted by one worker count for the other too (Redis holds the counters)."""
    import uuid

    username = f"nobody-{uuid.uuid4().hex[:8]}"
    statuses = [Browser(gunicorn).post("/login", {"username": username, "password": "wrong-password"}, "/login")[0]
                for _ in range(7)]
    # Five failures are allowed per address and username within 15 minutes, whichever worker served them.
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429, 429]
