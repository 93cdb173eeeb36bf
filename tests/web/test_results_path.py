"""A cycle's result from computed to final: the office submits, the committee approves or
returns, the public notice (公示) counts Chinese working days, then final publishes the run."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.errors import DomainError
from app.extensions import db
from app.models import ApprovalDecision, AuditLog, Cycle, ResultApproval, ScoreRun, User
from app.results import services
from app.results.calendar import notice_period, working_days_left

from ..factories import make_user
from .assessment_setup import build_world, load, unit_rows

APPROVED_ON = date(2025, 9, 26)  # a Friday before the 2025 National Day holiday (Oct 1–8)


def test_notice_counts_chinese_working_days(ctx):
    # Sat 27 Sep is off, Sun 28 Sep is an adjusted working day (调休), Oct 1–8 are holidays,
    # so five working days are 28, 29, 30 Sep, 9 and 10 Oct.
    assert notice_period(APPROVED_ON, 5) == (date(2025, 9, 28), date(2025, 10, 10))
    assert working_days_left(date(2025, 10, 1), date(2025, 10, 10)) == 2
    assert working_days_left(date(2025, 10, 11), date(2025, 10, 10)) == 0


def world(app, approvers=("chief", "deputy")):
    """A closed cycle with a computed run and a two-member committee; returns ids."""
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        cycle = db.session.get(Cycle, ids["cycle"])
        ids["run"] = runs.compute_run(cycle).id
        transition_cycle(cycle, "closed")
        for name in approvers:
            services.add_committee_member(make_user(name))
        db.session.commit()
    return ids


@pytest.fixture
def on_day(monkeypatch):
    def set_day(day):
        monkeypatch.setattr(services, "bureau_today", lambda: day)
    return set_day


def status(app, approval_id):
    with app.app_context():
        return db.session.get(ResultApproval, approval_id).status


def test_submit_two_approvals_notice_then_final_publishes(app, client, auth, on_day):
    auth.as_role("admin", unit_code="BJ")
    ids = world(app)
    # With a committee configured, one click can no longer make the result final.
    response = client.post(f"/assessment/runs/{ids['run']}/publish", follow_redirects=True)
    assert "须经考评委员会审定并公示期满" in response.get_data(as_text=True)
    response = client.post(f"/results/runs/{ids['run']}/submit", follow_redirects=True)
    assert "已提交考评委员会审定" in response.get_data(as_text=True)
    with app.app_context():
        approval_id = db.session.scalar(sa.select(ResultApproval.id))
    on_day(APPROVED_ON)
    auth.logout()
    auth.login("chief")
    client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "approve"})
    assert status(app, approval_id) == "submitted"
    # A second approval by the same approver counts once.
    response = client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "approve"},
                           follow_redirects=True)
    assert "您已经对该结果作出过决定" in response.get_data(as_text=True)
    auth.logout()
    auth.login("deputy")
    client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "approve"})
    with app.app_context():
        approval = db.session.get(ResultApproval, approval_id)
        assert (approval.status, approval.approvals) == ("notice", 2)
        assert (approval.notice_starts_on, approval.notice_ends_on) == (date(2025, 9, 28), date(2025, 10, 10))
        assert db.session.get(ScoreRun, ids["run"]).status == "done"  # provisional: not yet the result
    on_day(date(2025, 10, 9))
    auth.logout()
    auth.login("admin_user")
    page = client.get(f"/results/approvals/{approval_id}").get_data(as_text=True)
    assert "暂定结果（公示中）" in page and "还剩 2 个工作日" in page
    assert "还剩 2 个工作日" in client.get("/results/").get_data(as_text=True)
    response = client.post(f"/results/approvals/{approval_id}/final", follow_redirects=True)
    assert "公示期尚未结束（至 2025-10-10）" in response.get_data(as_text=True)
    assert status(app, approval_id) == "notice"
    on_day(date(2025, 10, 11))
    response = client.post(f"/results/approvals/{approval_id}/final", follow_redirects=True)
    assert "结果已成为最终结果并发布" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ScoreRun, ids["run"]).status == "published"
        assert db.session.get(Cycle, ids["cycle"]).status == "published"
        assert runs.published_run(db.session.get(Cycle, ids["cycle"])).id == ids["run"]
        actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert status(app, approval_id) == "final"
    assert {"result_submitted", "result_approved", "result_notice_opened", "result_final",
            "score_run_published"} <= actions
    # Final once: a second click changes nothing.
    response = client.post(f"/results/approvals/{approval_id}/final", follow_redirects=True)
    assert "该结果不在公示中" in response.get_data(as_text=True)


def test_a_return_needs_a_reason_and_sends_the_run_back(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = world(app)
    client.post(f"/results/runs/{ids['run']}/submit")
    with app.app_context():
        approval_id = db.session.scalar(sa.select(ResultApproval.id))
    auth.logout()
    auth.login("chief")
    response = client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "return", "reason": " "},
                           follow_redirects=True)
    assert "退回时请写明原因" in response.get_data(as_text=True)
    assert status(app, approval_id) == "submitted"
    client.post(f"/results/approvals/{approval_id}/decide",
                data={"decision": "return", "reason": "PS02 的案件规范率与法制科台账不符"})
    assert status(app, approval_id) == "returned"
    auth.logout()
    auth.login("deputy")
    response = client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "approve"},
                           follow_redirects=True)
    assert "该结果不在待审定状态" in response.get_data(as_text=True)
    auth.logout()
    auth.login("admin_user")
    page = client.get(f"/results/approvals/{approval_id}").get_data(as_text=True)
    assert "已退回考评办：PS02 的案件规范率与法制科台账不符" in page
    # The office may resubmit (e.g. after a recompute): a new round.
    response = client.post(f"/results/runs/{ids['run']}/submit", follow_redirects=True)
    assert "已提交考评委员会审定" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResultApproval)) == 2


def test_only_named_approvers_decide_and_one_round_per_cycle(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = world(app)
    client.post(f"/results/runs/{ids['run']}/submit")
    response = client.post(f"/results/runs/{ids['run']}/submit", follow_redirects=True)
    assert "此周期已有一个版本在审定或公示中" in response.get_data(as_text=True)
    with app.app_context():
        approval_id = db.session.scalar(sa.select(ResultApproval.id))
        make_user("outsider")
        db.session.commit()
    auth.logout()
    auth.login("outsider")
    assert client.get(f"/results/approvals/{approval_id}").status_code == 404
    assert client.post(f"/results/approvals/{approval_id}/decide", data={"decision": "approve"}).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApprovalDecision)) == 0


def test_submit_needs_a_committee_and_a_closed_cycle(app, ctx):
    ids = build_world()
    load(ids, unit_rows())
    cycle = db.session.get(Cycle, ids["cycle"])
    run = runs.compute_run(cycle)
    with pytest.raises(DomainError, match="请先关闭周期"):
        services.submit_run(run)
    transition_cycle(cycle, "closed")
    with pytest.raises(DomainError, match="尚未配置考评委员会审定人"):
        services.submit_run(run)
    # Without a committee the old single-step publication stays (installations that have none).
    runs.publish_run(run)
    assert run.status == "published"


def test_a_cycle_committee_replaces_the_installation_one(app, ctx):
    chief, deputy = make_user("chief"), make_user("deputy")
    ids = build_world()
    cycle = db.session.get(Cycle, ids["cycle"])
    services.add_committee_member(chief)
    services.add_committee_member(deputy)
    assert [u.username for u in services.committee(cycle)] == ["chief", "deputy"]
    services.add_committee_member(deputy, cycle)
    assert [u.username for u in services.committee(cycle)] == ["deputy"]
    with pytest.raises(DomainError, match="该用户已经是审定人"):
        services.add_committee_member(db.session.get(User, chief.id))
