"""Twenty approvals of one claim from coordinators' tabs at the same moment, served by two
processes: the database's conditional UPDATE lets exactly one through; one event, one audit row."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, ClaimEvent, ClaimParticipant, CollaborationClaim

from ..web.test_claims import file_claim, world  # noqa: F401  (world is a fixture)
from .conftest import Browser


def test_twenty_simultaneous_approvals_of_one_claim_approve_it_once(app, gunicorn, world):  # noqa: F811
    claim_id = file_claim(app, world, confirm=("lead1", "lead2"))
    with app.app_context():
        version_before = db.session.get(CollaborationClaim, claim_id).version
    tabs = [Browser(gunicorn).login(name, "password123") for name in ("coord", "coord2") for _ in range(2)]
    tokens = [tab.csrf(f"/claims/{claim_id}") for tab in tabs]
    n = 20
    start = threading.Barrier(n)

    def approve(i):
        start.wait(timeout=30)
        status, _ = tabs[i % len(tabs)].request("POST", f"/claims/{claim_id}/approve",
                                                {"csrf_token": tokens[i % len(tabs)], "reason": ""})
        return status

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(approve, range(n)))
    assert statuses == [302] * n, statuses  # each goes back to the claim, with a message
    assert all("此申报已批准并锁定" in tab.get(f"/claims/{claim_id}")[1] for tab in tabs)
    with app.app_context():
        claim = db.session.get(CollaborationClaim, claim_id)
        assert claim.status == "approved" and claim.version == version_before + 1  # one move
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClaimEvent)
                                 .filter_by(claim_id=claim_id, action="approve")) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                 .filter_by(action="claim_approve")) == 1
        shares = db.session.execute(sa.select(ClaimParticipant.final_bp).filter_by(claim_id=claim_id)).scalars().all()
        assert sum(shares) == 10_000
