"""Resident links and the window QR across two gunicorn processes (PostgreSQL + Redis)."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.extensions import db
from app.models import ResidentInvitation, ResidentResponse, ServiceType
from app.residents import services

from ..factories import make_unit
from .conftest import Browser

ANSWERS = {"overall": "4", "attitude": "4", "efficiency": "3", "fairness": "4", "resolved": "yes"}


def test_fifty_simultaneous_submits_of_one_link_store_one_answer(app, gunicorn):
    with app.app_context():
        service = ServiceType(name="110 接处警", is_sensitive=False, is_active=True)
        db.session.add(service)
        invitation, token = services.create_invitation(service_type=service, unit=make_unit("PS01"), badges=[],
                                                       reference="MP-1", created_by=None)
        db.session.commit()
        invitation_id = invitation.id
    path = f"/r/{token}"
    n = 50
    browsers = [Browser(gunicorn) for _ in range(n)]
    pages = [b.get(path) for b in browsers]  # each resident opens the link first
    assert all(status == 200 and 'name="overall"' in html for status, html in pages)
    start = threading.Barrier(n)

    def submit(i):
        start.wait(timeout=30)  # all fifty leave together
        return browsers[i].request("POST", path, ANSWERS)

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(submit, range(n)))
    statuses = sorted(status for status, _body in results)
    assert statuses.count(302) == 1, statuses
    assert all("您已经提交过评价" in body for status, body in results if status != 302)
    assert "您已经提交过评价" in Browser(gunicorn).get(path)[1]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentResponse)) == 1
        assert db.session.get(ResidentInvitation, invitation_id).used_at is not None


def test_window_qr_limit_is_shared_by_the_processes(app, gunicorn):
    # Counters live in Redis for an hour: a unit code of this run's own keeps earlier runs out.
    code = "W" + gunicorn.rsplit(":", 1)[1]
    with app.app_context():
        make_unit(code)
        db.session.commit()
    # Default limit: 10 per hour per hashed client address and window; each browser is new (no cookie).
    statuses = []
    for _ in range(11):
        browser = Browser(gunicorn)
        statuses.append(browser.post(f"/q/{code}", ANSWERS)[0])
    assert statuses[:10] == [302] * 10 and statuses[10] == 429, statuses
    with app.app_context():
        rows = db.session.execute(sa.select(ResidentResponse.channel)).scalars().all()
        assert rows == ["window"] * 10
