"""A gunicorn worker killed (SIGKILL) in the middle of a resident's submission: the transaction dies
with it, nothing half-written stays, the link is still unused, and the resident can submit again.

The gunicorn started here has KAOPING_FAULT_INJECT=1: app.faults.fault_point then pauses a request
that reaches an armed point, inside the transaction after the UPDATE and the INSERT and before the
COMMIT, and says which worker it is in. Other processes (and production) never set it, and then
the point does nothing."""
import os
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import FollowUp, ResidentInvitation, ResidentResponse, ServiceType
from app.residents import services

from ..factories import make_unit
from .conftest import Browser, start_gunicorn, stop_gunicorn

ANSWERS = {"overall": "1", "attitude": "2", "efficiency": "2", "fairness": "2", "resolved": "no"}


@pytest.fixture
def faulty_gunicorn(app, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("multi-process tests run on PostgreSQL (set TEST_DATABASE_URL)")
    faults = tmp_path / "faults"
    faults.mkdir()
    process, base = start_gunicorn(database_url, tmp_path / "gunicorn.log", KAOPING_FAULT_INJECT="1",
                                   KAOPING_FAULT_DIR=str(faults))
    yield base, faults
    stop_gunicorn(process)


def _wait_for(predicate, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_worker_killed_inside_the_submit_leaves_nothing_and_the_resident_can_submit_again(
        app, faulty_gunicorn):
    base, faults = faulty_gunicorn
    with app.app_context():
        service = ServiceType(name="110 接处警", is_sensitive=False, is_active=True)
        db.session.add(service)
        invitation, token = services.create_invitation(service_type=service, unit=make_unit("PS01"), badges=[],
                                                       reference="FAULT-1", created_by=None)
        db.session.commit()
        invitation_id = invitation.id
    path = f"/r/{token}"
    resident = Browser(base)
    status, page = resident.get(path)
    assert status == 200 and 'name="overall"' in page
    (faults / "resident_submit.arm").touch()

    outcome = {}

    def submit():
        try:
            outcome["result"] = resident.request("POST", path, ANSWERS)
        except OSError as error:  # the connection dies with the worker
            outcome["error"] = error

    first = threading.Thread(target=submit)
    first.start()
    marker = faults / "resident_submit.paused"
    worker = int(_wait_for(lambda: marker.exists() and marker.read_text(), "the submit to reach the fault point"))

    # The worker's transaction is open: link claimed, answer and its follow-up inserted, not committed.
    with app.app_context():
        in_flight = db.session.execute(sa.text(
            "SELECT query FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()"
        )).scalars().all()
        assert any(q.startswith("INSERT INTO resident_follow_up") for q in in_flight), in_flight
        db.session.rollback()

    os.kill(worker, signal.SIGKILL)
    first.join(timeout=30)
    assert "result" not in outcome or outcome["result"][0] != 302  # no "thank you" for a lost answer
    # PostgreSQL notices the closed connection and rolls the transaction back.
    with app.app_context():
        def rolled_back():
            gone = not db.session.execute(sa.text(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()"
            )).first()
            db.session.rollback()
            return gone
        _wait_for(rolled_back, "PostgreSQL to roll the dead worker's transaction back")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentResponse)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0
        assert db.session.get(ResidentInvitation, invitation_id).used_at is None
        db.session.rollback()

    # The resident tries again (same page, same session) and it goes through, once.
    status, _page = resident.request("POST", path, ANSWERS)
    assert status == 302
    assert "您已经提交过评价" in Browser(base).get(path)[1]
    with app.app_context():
        answers = db.session.execute(sa.select(ResidentResponse)).scalars().all()
        assert len(answers) == 1 and answers[0].invitation_id == invitation_id and answers[0].overall == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
        assert db.session.get(ResidentInvitation, invitation_id).used_at is not None
