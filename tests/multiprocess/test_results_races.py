"""Races on the results path, served by two processes: approvers deciding at the same moment,
repeated submits and finals. The database's conditional UPDATEs and unique keys decide, once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.extensions import db
from app.models import ApprovalDecision, AuditLog, Cycle, ResultApproval, ScoreRun
from app.results import services

from ..factories import make_officer, make_unit, make_user
from ..web.assessment_setup import build_world, load, unit_rows
from .conftest import Browser

APPROVERS = ("c1", "c2", "c3", "c4", "c5")


def _world(app):
    with app.app_context():
        make_user("office", roles={"admin"}, officer=make_officer(make_unit("BJ")))
        ids = build_world()
        load(ids, unit_rows())
        cycle = db.session.get(Cycle, ids["cycle"])
        ids["run"] = runs.compute_run(cycle).id
        transition_cycle(cycle, "closed")
        for name in APPROVERS:
            services.add_committee_member(make_user(name))
        db.session.commit()
    return ids


def _all_at_once(n, call):
    start = threading.Barrier(n)

    def run(i):
        start.wait(timeout=30)
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def _count(model, **filters):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def test_racing_submits_approvals_and_finals_move_the_round_once(app, gunicorn):
    ids = _world(app)
    office = [Browser(gunicorn).login("office", "password123") for _ in range(4)]
    token = [tab.csrf("/results/") for tab in office]
    statuses = _all_at_once(12, lambda i: office[i % 4].request(
        "POST", f"/results/runs/{ids['run']}/submit", {"csrf_token": token[i % 4], "note": ""})[0])
    assert statuses == [302] * 12, statuses
    with app.app_context():
        assert _count(ResultApproval) == 1  # one round, whichever request won
        approval_id = db.session.scalar(sa.select(ResultApproval.id))

    # Five approvers, each clicking "approve" from four tabs at the same moment (20 requests).
    tabs = [Browser(gunicorn).login(name, "password123") for name in APPROVERS for _ in range(4)]
    tokens = [tab.csrf(f"/results/approvals/{approval_id}") for tab in tabs]
    statuses = _all_at_once(len(tabs), lambda i: tabs[i].request(
        "POST", f"/results/approvals/{approval_id}/decide",
        {"csrf_token": tokens[i], "decision": "approve", "reason": ""})[0])
    assert statuses == [302] * len(tabs), statuses
    with app.app_context():
        approval = db.session.get(ResultApproval, approval_id)
        # Each approver counted once, and the last of them opened the notice.
        assert (approval.status, approval.approvals) == ("notice", 5)
        assert _count(ApprovalDecision, approval_id=approval_id) == 5
        assert _count(AuditLog, action="result_approved") == 5
        assert _count(AuditLog, action="result_notice_opened") == 1
        # The notice has run its course (as if the working days had passed).
        db.session.execute(sa.update(ResultApproval).where(ResultApproval.id == approval_id)
                           .values(notice_starts_on=date(2026, 1, 5), notice_ends_on=date(2026, 1, 9)))
        db.session.commit()

    statuses = _all_at_once(12, lambda i: office[i % 4].request(
        "POST", f"/results/approvals/{approval_id}/final", {"csrf_token": token[i % 4]})[0])
    assert statuses == [302] * 12, statuses
    with app.app_context():
        assert db.session.get(ResultApproval, approval_id).status == "final"
        assert db.session.get(ScoreRun, ids["run"]).status == "published"
        assert _count(AuditLog, action="result_final") == 1
        assert _count(AuditLog, action="score_run_published") == 1


def test_racing_objections_on_one_item_leave_one_open_and_one_answer(app, gunicorn):
    from app.models import Objection, Unit

    ids = _world(app)
    with app.app_context():
        approval = services.submit_run(db.session.get(ScoreRun, ids["run"]))
        approval.status, approval.approvals = "notice", approval.required_approvals
        # A notice window around today, whatever day the test runs.
        approval.notice_starts_on, approval.notice_ends_on = date(2000, 1, 3), date(2099, 12, 31)
        ps02 = db.session.execute(sa.select(Unit).filter_by(code="PS02")).scalar_one()
        make_user("leader02", officer=make_officer(ps02, name="所长二", is_leader=True))
        result_id = db.session.execute(sa.select(sa.text("id")).select_from(sa.table("score_result")).where(
            sa.text("run_id = :r AND unit_id = :u")).params(r=ids["run"], u=ps02.id)).scalar_one()
        db.session.commit()
    leader = [Browser(gunicorn).login("leader02", "password123") for _ in range(4)]
    form = f"/results/results/{result_id}/objections/new"
    tokens = [tab.csrf(form) for tab in leader]
    statuses = _all_at_once(12, lambda i: leader[i % 4].request("POST", form, {
        "csrf_token": tokens[i % 4], "item_kind": "grade", "item_code": "", "reason": "等次应为良好"})[0])
    assert sorted(set(statuses)) in ([200, 302], [302]), statuses
    with app.app_context():
        assert _count(Objection, status="open") == 1
        assert _count(AuditLog, action="objection_filed") == 1
        objection_id = db.session.scalar(sa.select(Objection.id))
    page = f"/results/objections/{objection_id}"
    office = [Browser(gunicorn).login("office", "password123") for _ in range(4)]
    token = [tab.csrf(page) for tab in office]
    statuses = _all_at_once(12, lambda i: office[i % 4].request("POST", page, {
        "csrf_token": token[i % 4], "outcome": "reject" if i % 2 else "accept", "reply": f"答复 {i}",
        "corrected_value": ""})[0])
    assert statuses == [302] * 12 or set(statuses) <= {200, 302}, statuses
    with app.app_context():
        objection = db.session.get(Objection, objection_id)
        assert objection.status in ("accepted", "rejected")
        answered = _count(AuditLog, action="objection_accepted") + _count(AuditLog, action="objection_rejected")
        assert answered == 1  # one answer, whichever came first
