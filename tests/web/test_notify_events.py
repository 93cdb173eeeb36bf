"""Each event tells whoever must act, once, and nobody else; no message names a rater or a resident."""
from datetime import date, timedelta

import sqlalchemy as sa

from app.claims import services as claims
from app.extensions import db
from app.feedback import services as feedback
from app.models import (
    CollaborationClaim,
    Connector,
    FollowUp,
    Job,
    Nomination,
    Notification,
    Officer,
    Rectification,
    ResidentResponse,
    SelfCheck,
    SelfCheckItem,
    ServiceType,
    Unit,
    User,
)
from app.monitoring import connectors, selfcheck
from app.notify.kinds import render
from app.notify.reminders import run_reminders

from ..factories import make_officer, make_unit, make_user
from .feedback_helpers import build_world
from .test_claims import file_claim
from .test_claims import world as claims_world  # noqa: F401 - a fixture


def told(username, kind=None):
    query = sa.select(Notification).join(User, User.id == Notification.user_id).where(User.username == username)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.execute(query).scalars().all()


def uid(username):
    return db.session.execute(sa.select(User).filter_by(username=username)).scalar_one()


def test_a_decided_nomination_tells_the_nominating_officer_without_naming_the_nominee(app):
    world = build_world(app, members=2)
    with app.app_context():
        outsider = db.session.get(Officer, world.outsider_id)
        me, leader = uid("m0"), uid("leader")
        cycle = db.session.get(feedback.Cycle, world.cycle_id)
        first = feedback.nominate(cycle, me.officer, outsider.badge_no, "联合处置")
        db.session.commit()
        feedback.decide_nomination(first, leader.officer, approve=False)
        db.session.commit()
        rows = told("m0", "nomination_rejected")
        assert len(rows) == 1 and rows[0].link == "/feedback/nominations"
        assert "外所民警" not in render(rows[0].kind, rows[0].params) and set(rows[0].params) == {"cycle"}
        assert told("outsider", "nomination_rejected") == [] and told("leader", "nomination_rejected") == []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Nomination)) == 1


def test_a_submitted_claim_asks_each_units_leaders_then_the_coordinators(app, claims_world):  # noqa: F811
    claim_id = file_claim(app, claims_world, submit=True)
    with app.app_context():
        for leader in ("lead1", "lead2"):
            rows = told(leader, "claim_to_confirm")
            assert len(rows) == 1 and rows[0].link == f"/claims/{claim_id}"
            assert rows[0].params == {"case": "A2026100001"}
        assert told("lead3", "claim_to_confirm") == [] and told("coord", "claim_to_review") == []
        claim = db.session.get(CollaborationClaim, claim_id)
        for leader in ("lead1", "lead2"):
            claims.decide_for_unit(claim, uid(leader).officer.unit_id, uid(leader), "confirmed")
        db.session.commit()
        assert [len(told(c, "claim_to_review")) for c in ("coord", "coord2")] == [1, 1]
        assert told("filer", "claim_to_review") == [] and told("lead1", "claim_to_review") == []
        assert len(told("lead1", "claim_to_confirm")) == 1  # still once


def _station_with_leaders():
    unit, other = make_unit("PS01", "城关派出所"), make_unit("PS02", "城东派出所")
    make_user("chief", roles={"officer", "supervisor"}, officer=make_officer(unit, name="所长", is_leader=True))
    make_user("cop", officer=make_officer(unit, name="民警"))
    make_user("chief2", roles={"officer", "supervisor"}, officer=make_officer(other, name="所长二", is_leader=True))
    make_user("office", roles={"admin"})
    db.session.flush()
    return unit, other


def test_returned_self_check_and_overdue_rectification_tell_the_stations_leaders(app, ctx):
    unit, _other = _station_with_leaders()
    check = SelfCheck(unit_id=unit.id, month=date(2026, 11, 1), status="submitted")
    db.session.add(check)
    db.session.flush()
    item = SelfCheckItem(self_check_id=check.id, code="x", name="按时到场率")
    db.session.add(item)
    db.session.flush()
    db.session.add(Rectification(self_check_id=check.id, item_id=item.id, unit_id=unit.id, what="增加夜间巡逻",
                                 owner="李四", due_on=date(2026, 11, 20)))
    db.session.commit()
    selfcheck.return_check(check, "台账不全", uid("office"))
    db.session.commit()
    rows = told("chief", "self_check_returned")
    assert len(rows) == 1 and rows[0].link == f"/monitoring/stations/{unit.id}/self-checks/2026-11"
    assert told("cop") == [] and told("chief2") == []
    run_reminders(date(2026, 11, 25))
    run_reminders(date(2026, 11, 26))
    db.session.commit()
    assert len(told("chief", "rectification_overdue")) == 1 and told("chief2", "rectification_overdue") == []
    # In December the November check (returned, not resubmitted) is due; PS02 never opened one.
    run_reminders(date(2026, 12, 2))
    run_reminders(date(2026, 12, 3))
    db.session.commit()
    november = [[n.params for n in told(who, "self_check_due") if n.params["month"] == "2026-11"]
                for who in ("chief", "chief2")]
    due = {"month": "2026-11", "due": "2026-12-07"}  # the 5th working day of December
    assert november == [[{"unit": "城关派出所", **due}], [{"unit": "城东派出所", **due}]]
    def overdue(who):
        return [n for n in told(who, "self_check_overdue") if n.params["month"] == "2026-11"]

    assert overdue("chief") == [] and overdue("chief2") == []
    # After the due day PS02, which never opened one, is told it is overdue, once; PS01's returned
    # check had been submitted on time, so it is not.
    run_reminders(date(2026, 12, 7))
    run_reminders(date(2026, 12, 8))
    run_reminders(date(2026, 12, 9))
    db.session.commit()
    assert overdue("chief") == [] and len(overdue("chief2")) == 1
    assert "2026-12-07" in render("self_check_overdue", overdue("chief2")[0].params)
    # A message stored before self-checks had a due day still reads whole.
    assert "2026-12-07" in render("self_check_due", {"unit": "城关派出所", "month": "2026-11"})


def test_a_failing_connector_tells_the_admins_once_a_day(app, ctx):
    _station_with_leaders()
    connector = Connector(name="警综平台", kind="incidents", url="http://127.0.0.1:9/feed")
    db.session.add(connector)
    db.session.commit()
    assert not connectors.pull(connector)
    assert not connectors.pull(connector)
    db.session.commit()
    rows = told("office", "connector_failing")
    assert len(rows) == 1 and rows[0].params == {"name": "警综平台"}
    assert told("chief") == []


def test_follow_ups_are_announced_by_the_daily_run_by_their_week_without_resident_data(app, ctx):
    unit, other = _station_with_leaders()
    service = ServiceType(name="户籍办理")
    db.session.add(service)
    db.session.flush()
    monday = date(2026, 11, 2)

    def answer(may_contact, comment):
        response = ResidentResponse(unit_id=unit.id, service_type_id=service.id, channel="window",
                                    answered_on=monday + timedelta(days=2), overall=1, attitude=1, efficiency=1,
                                    fairness=1, resolved="no", comment=comment,
                                    may_contact=may_contact)
        db.session.add(response)
        db.session.flush()
        item = FollowUp(response_id=response.id, unit_id=unit.id, is_dissatisfied=True, status="open",
                        opened_on=monday + timedelta(days=2) if may_contact else monday,
                        due_on=monday + timedelta(days=9))
        db.session.add(item)
        db.session.flush()
        return item.id

    consented, anonymous = answer(True, "窗口人员态度差，电话13800000000"), answer(False, "排队太久")
    db.session.commit()
    run_reminders(monday + timedelta(days=3))  # Thursday: only the item the resident consented to be dated
    db.session.commit()
    assert [n.event_key for n in told("chief", "follow_up_opened")] == [f"follow_up:{consented}:opened"]
    run_reminders(monday + timedelta(days=7))  # the next Monday: the week is over
    db.session.commit()
    rows = told("chief", "follow_up_opened")
    assert {n.event_key for n in rows} == {f"follow_up:{consented}:opened", f"follow_up:{anonymous}:opened"}
    for row in rows:
        text = render(row.kind, row.params)
        assert "13800000000" not in text and "排队" not in text and set(row.params) == {"unit", "due"}
    assert told("chief2", "follow_up_opened") == [] and told("cop") == []
    run_reminders(monday + timedelta(days=8))  # the day before the due day
    db.session.commit()
    assert len(told("chief", "follow_up_due_soon")) == 2


def test_a_background_job_tells_whoever_started_it(app, ctx, monkeypatch):
    from app.jobs import registry
    from app.jobs.services import enqueue

    make_user("starter", roles={"admin"})
    db.session.commit()
    monkeypatch.setitem(registry.KINDS, "boom", "tests.web.test_notify_events:_boom")
    enqueue("boom", "x", user_id=uid("starter").id)
    db.session.commit()
    job = db.session.execute(sa.select(Job).filter_by(kind="boom")).scalar_one()
    assert job.state == "failed"
    rows = told("starter", "job_failed")
    assert len(rows) == 1 and rows[0].link == f"/jobs/{job.id}"
    enqueue("reminders", "reminders:test", user_id=uid("starter").id, day="2026-12-02")
    db.session.commit()
    rows = told("starter", "job_succeeded")
    assert len(rows) == 1 and "发送提醒" in render(rows[0].kind, rows[0].params)


def _boom(job):
    raise RuntimeError("broken")


def test_unit_and_officer_lookups_skip_inactive_accounts(app, ctx):
    unit, _ = _station_with_leaders()
    chief = uid("chief")
    chief.is_active_account = False
    db.session.commit()
    from app.notify.audience import unit_leader_users

    assert unit_leader_users(unit.id) == []
    assert db.session.get(Unit, unit.id) is not None
