"""Cross-unit collaboration claims: filing, the confirm/review flow, guards, points, case records."""
import csv
import io
import threading
from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.claims import services
from app.errors import DomainError
from app.extensions import db
from app.models import (
    AuditLog,
    CaseRecord,
    ClaimConfirmation,
    ClaimEvent,
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    Officer,
    Unit,
    User,
)

from ..factories import make_cycle, make_officer, make_unit, make_user


def count(app, model, **filters):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


@pytest.fixture
def world(app):
    """Bureau BJ with stations PS01, PS02, PS03; a filer, leaders, coordinators; an open cycle."""
    with app.app_context():
        bj = make_unit("BJ", "示范县公安局", kind="bureau")
        units = {"BJ": bj}
        for code, name in (("PS01", "城关派出所"), ("PS02", "城东派出所"), ("PS03", "城西派出所")):
            units[code] = make_unit(code, name, parent=bj)
        people = {}

        def person(key, unit, leader=False, roles=("officer",)):
            officer = make_officer(units[unit], name=f"{key}民警", badge_no=f"B{len(people) + 1:04d}",
                                   is_leader=leader)
            make_user(key, roles=roles, officer=officer)
            people[key] = officer

        person("filer", "PS01")
        person("mate1", "PS01")
        person("mate2", "PS02")
        person("mate3", "PS03")
        person("lead1", "PS01", leader=True, roles=("officer", "supervisor"))
        person("lead2", "PS02", leader=True, roles=("officer", "supervisor"))
        person("lead3", "PS03", leader=True, roles=("officer", "supervisor"))
        person("coord", "BJ", roles=("officer", "coordinator"))
        person("coord2", "BJ", roles=("officer", "coordinator"))
        person("coord_ps01", "PS01", roles=("officer", "coordinator"))
        person("outsider", "PS03")
        make_user("admin", roles=("admin",))
        cycle = make_cycle(status="open")
        cycle.config = {"points_rules": services.DEFAULT_POINTS_RULES.to_dict()}
        db.session.commit()
        return {"units": {k: u.id for k, u in units.items()},
                "badges": {k: o.badge_no for k, o in people.items()},
                "officers": {k: o.id for k, o in people.items()}, "cycle": cycle.id}


def claim_form(world, participants, case_ref="A2026100001", case_date="2026-10-15", lead="PS01", **extra):
    data = {"case_ref": case_ref, "case_type": "刑事", "severity": "重大", "case_date": case_date,
            "summary": "联合抓获嫌疑人", "lead_unit_id": str(world["units"][lead])}
    for i, (unit, who, role, share) in enumerate(participants):
        data[f"participants-{i}-unit_id"] = str(world["units"][unit])
        data[f"participants-{i}-badge_no"] = world["badges"][who]
        data[f"participants-{i}-role"] = role
        data[f"participants-{i}-share"] = share
    data.update(extra)
    return data


TWO_UNITS = [("PS01", "filer", "lead", "60"), ("PS02", "mate2", "assist", "40")]


def as_user(auth, username):
    """Log out whoever is logged in, then log in as ``username``."""
    auth.logout()
    response = auth.login(username)
    assert response.status_code == 302, "login failed"


def user(username):
    return db.session.execute(sa.select(User).filter_by(username=username)).scalar_one()


def file_claim(app, world, participants=TWO_UNITS, case_ref="A2026100001", submit=True, filer="filer",
               confirm=(), case_type="刑事", severity="重大"):
    """File (and optionally submit and confirm) a claim through the services; returns its id."""
    with app.app_context():
        rows = [{"unit_id": world["units"][u], "badge_no": world["badges"][w], "role": r, "share": s}
                for u, w, r, s in participants]
        claim = services.save_claim(None, {
            "case_ref": case_ref, "case_type": case_type, "severity": severity, "case_date": date(2026, 10, 15),
            "summary": "", "lead_unit_id": world["units"][participants[0][0]], "participants": rows,
        }, user(filer), db.session.get(Cycle, world["cycle"]))
        if submit:
            services.submit_claim(claim, user(filer))
        for leader in confirm:
            officer = user(leader).officer
            services.decide_for_unit(claim, officer.unit_id, user(leader), "confirmed")
        db.session.commit()
        return claim.id


def status_of(app, claim_id):
    with app.app_context():
        return db.session.get(CollaborationClaim, claim_id).status


# ---- the whole flow, as a new user would try it -----------------------------------------------
def test_officer_files_leaders_confirm_coordinator_adjusts_and_points_appear(app, client, auth, world):
    as_user(auth, "filer")
    form = client.get("/claims/new")
    assert form.status_code == 200 and "新建协作申报" in form.get_data(as_text=True)
    response = client.post("/claims/new", data=claim_form(world, TWO_UNITS))
    assert response.status_code == 302, response.get_data(as_text=True)
    claim_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert status_of(app, claim_id) == "draft"
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "A2026100001" in page and "草稿" in page
    assert client.post(f"/claims/{claim_id}/submit").status_code == 302
    assert status_of(app, claim_id) == "submitted"

    as_user(auth, "lead1")
    assert "A2026100001" in client.get("/claims/confirm").get_data(as_text=True)
    client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS01"], "decision": "confirmed"})
    assert status_of(app, claim_id) == "submitted"  # PS02 has not confirmed yet
    as_user(auth, "lead2")
    client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS02"], "decision": "confirmed"})
    assert status_of(app, claim_id) == "confirmed"

    as_user(auth, "coord")
    queue = client.get("/claims/review").get_data(as_text=True)
    assert "A2026100001" in queue
    with app.app_context():
        parts = {p.officer_id: p.id for p in db.session.get(CollaborationClaim, claim_id).participants}
    f, m = parts[world["officers"]["filer"]], parts[world["officers"]["mate2"]]
    # adjusting without a reason is refused and changes nothing
    refused = client.post(f"/claims/{claim_id}/approve", data={f"final_{f}": "50", f"final_{m}": "50"},
                          follow_redirects=True)
    assert "调整分配比例时请说明理由" in refused.get_data(as_text=True)
    assert status_of(app, claim_id) == "confirmed"
    ok = client.post(f"/claims/{claim_id}/approve",
                     data={f"final_{f}": "50", f"final_{m}": "50", "reason": "二人贡献相当"}, follow_redirects=True)
    assert "申报已批准并锁定" in ok.get_data(as_text=True)
    assert status_of(app, claim_id) == "approved"
    with app.app_context():
        claim = db.session.get(CollaborationClaim, claim_id)
        assert sorted(p.final_bp for p in claim.participants) == [5000, 5000]
        actions = [e.action for e in claim.events]
        assert actions == ["create", "submit", "confirm", "confirm", "approve"]
        audit = db.session.execute(sa.select(AuditLog.action).filter_by(entity="claim", entity_id=str(claim_id))
                                   ).scalars().all()
        assert {"claim_create", "claim_submit", "claim_confirm", "claim_approve", "claim_shares_adjusted"} <= set(audit)

    # 刑事/重大 = 25 points × (1 + 0.25) for two units = 31.25, split 50/50 → 15.63 + 15.62 (largest remainder)
    award = client.get("/claims/award").get_data(as_text=True)
    assert "城关派出所" in award and "城东派出所" in award and "31.25" in award
    assert "filer民警" in award and "15.63" in award  # the personal list too
    with app.app_context():
        values = services.soft_indicator_values(db.session.get(Cycle, world["cycle"]))
    officer_points = values["team_points"]["values"]
    assert sorted(officer_points.values()) == [15.62, 15.63]
    assert round(sum(values["team_points_unit"]["values"].values()), 2) == 31.25
    detail = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "二人贡献相当" in detail and "批准" in detail
    home = client.get("/").get_data(as_text=True)
    assert "团队贡献奖" in home


# ---- bad input: clear message, nothing changed -------------------------------------------------
@pytest.mark.parametrize("participants, kwargs, message", [
    ([("PS01", "filer", "lead", "60"), ("PS02", "mate2", "assist", "30")], {}, "比例之和应为 100%，现为 90%"),
    ([("PS01", "filer", "lead", "50"), ("PS01", "mate1", "assist", "50")], {}, "至少需要两个不同单位"),
    (TWO_UNITS, {"case_date": "2026-09-30"}, "案发日期应在本周期内"),
    ([("PS01", "filer", "lead", "33.333"), ("PS02", "mate2", "assist", "66.667")], {}, "最多两位小数"),
    ([("PS01", "filer", "lead", "50"), ("PS01", "mate2", "assist", "50")], {}, "不属于城关派出所"),
    (TWO_UNITS, {"lead": "PS03"}, "主办单位必须是参与单位之一"),
])
def test_bad_claims_are_refused_with_a_clear_message(app, client, auth, world, participants, kwargs, message):
    as_user(auth, "filer")
    response = client.post("/claims/new", data=claim_form(world, participants, **kwargs))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(app, CollaborationClaim) == 0
    assert count(app, ClaimParticipant) == 0
    assert count(app, AuditLog) == 0


def test_same_officer_twice_is_refused(app, client, auth, world):
    as_user(auth, "filer")
    parts = [("PS01", "filer", "lead", "50"), ("PS01", "filer", "assist", "20"), ("PS02", "mate2", "assist", "30")]
    response = client.post("/claims/new", data=claim_form(world, parts))
    assert "出现了两次" in response.get_data(as_text=True)
    assert count(app, CollaborationClaim) == 0


def test_confirming_for_a_unit_you_do_not_lead_changes_nothing(app, client, auth, world):
    claim_id = file_claim(app, world)
    for who, unit in (("filer", "PS01"), ("lead2", "PS01")):  # a participant who leads nothing; another unit's leader
        as_user(auth, who)
        response = client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"][unit],
                                                                  "decision": "confirmed"}, follow_redirects=True)
        assert "只有该单位的领导才能代表其确认或提出异议" in response.get_data(as_text=True)
    as_user(auth, "lead3")  # the leader of a unit outside the claim does not even see it
    assert client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS03"],
                                                          "decision": "confirmed"}).status_code == 403
    assert count(app, ClaimConfirmation) == 0
    assert status_of(app, claim_id) == "submitted"
    as_user(auth, "lead1")  # and a leader cannot speak twice for their unit
    client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS01"], "decision": "confirmed"})
    again = client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS01"],
                                                           "decision": "disputed", "reason": "x"},
                        follow_redirects=True)
    assert "本单位已经对此申报作出过决定" in again.get_data(as_text=True)
    assert count(app, ClaimConfirmation) == 1 and status_of(app, claim_id) == "submitted"


def test_second_approval_of_a_locked_claim_is_refused(app, client, auth, world):
    claim_id = file_claim(app, world, confirm=("lead1", "lead2"))
    as_user(auth, "coord")
    client.post(f"/claims/{claim_id}/approve", data={})
    assert status_of(app, claim_id) == "approved"
    events = count(app, ClaimEvent)
    audits = count(app, AuditLog)
    for path in ("approve", "reject", "return"):
        response = client.post(f"/claims/{claim_id}/{path}", data={"reason": "再来一次"}, follow_redirects=True)
        assert "该申报已批准并锁定，不能再更改" in response.get_data(as_text=True)
    as_user(auth, "filer")
    edit = client.get(f"/claims/{claim_id}/edit", follow_redirects=True)
    assert "只有草稿或已退回的申报可以修改" in edit.get_data(as_text=True)
    assert count(app, ClaimEvent) == events and count(app, AuditLog) == audits
    assert status_of(app, claim_id) == "approved"


def test_racing_coordinators_approve_exactly_once(app, world):
    claim_id = file_claim(app, world, confirm=("lead1", "lead2"))
    with app.app_context():
        reviewers = [u.id for u in db.session.execute(
            sa.select(User).where(User.username.in_(("coord", "coord2")))).scalars()]
    n = 20
    outcomes, barrier = [], threading.Barrier(n)

    def approve(i):
        with app.app_context():
            try:
                claim = db.session.get(CollaborationClaim, claim_id)
                reviewer = db.session.get(User, reviewers[i % 2])
                reviewer.roles  # noqa: B018  (load before the race starts)
                db.session.commit()  # ... and give the connection back: the pool has fewer than 20
                barrier.wait(timeout=60)
                services.approve_claim(claim, reviewer, {}, "")
                db.session.commit()
                outcomes.append("ok")
            except DomainError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * (n - 1)
    assert status_of(app, claim_id) == "approved"
    assert count(app, ClaimEvent, claim_id=claim_id, action="approve") == 1
    assert count(app, AuditLog, action="claim_approve") == 1


def test_racing_leaders_of_both_units_end_confirmed(app, world):
    """Two units confirming at the same moment: the claim still reaches 'confirmed'."""
    claim_id = file_claim(app, world)
    barrier, outcomes = threading.Barrier(2), []

    def confirm(name):
        with app.app_context():
            try:
                claim = db.session.get(CollaborationClaim, claim_id)
                leader = user(name)
                unit_id = leader.officer.unit_id
                leader.officer  # noqa: B018
                db.session.commit()
                barrier.wait(timeout=60)
                services.decide_for_unit(claim, unit_id, leader, "confirmed")
                db.session.commit()
                outcomes.append(name)
            except DomainError:
                db.session.rollback()
                outcomes.append("retry")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=confirm, args=(n,)) for n in ("lead1", "lead2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A loser on SQLite is told to retry; whoever got through, the status matches the decisions.
    with app.app_context():
        claim = db.session.get(CollaborationClaim, claim_id)
        decided = {c.unit_id for c in claim.confirmations}
        assert claim.status == ("confirmed" if len(decided) == 2 else "submitted")
    assert "lead1" in outcomes or "lead2" in outcomes


# ---- review rules ------------------------------------------------------------------------------
def test_coordinator_from_a_participating_unit_cannot_review(app, client, auth, world):
    claim_id = file_claim(app, world, confirm=("lead1", "lead2"))
    as_user(auth, "coord_ps01")
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "您所在单位参与了此申报，不能审核" in page
    response = client.post(f"/claims/{claim_id}/approve", data={}, follow_redirects=True)
    assert "您所在单位参与了此申报，不能审核" in response.get_data(as_text=True)
    assert status_of(app, claim_id) == "confirmed"


def test_dispute_needs_a_reason_and_approval_of_a_disputed_claim_needs_one_too(app, client, auth, world):
    claim_id = file_claim(app, world, confirm=("lead1",))
    as_user(auth, "lead2")
    no_reason = client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS02"],
                                                               "decision": "disputed"}, follow_redirects=True)
    assert "提出异议时请说明理由" in no_reason.get_data(as_text=True)
    assert status_of(app, claim_id) == "submitted"
    client.post(f"/claims/{claim_id}/decide", data={"unit_id": world["units"]["PS02"], "decision": "disputed",
                                                   "reason": "我所出力更多"})
    assert status_of(app, claim_id) == "disputed"
    as_user(auth, "coord")
    refused = client.post(f"/claims/{claim_id}/approve", data={}, follow_redirects=True)
    assert "批准时请说明理由" in refused.get_data(as_text=True)
    assert status_of(app, claim_id) == "disputed"
    with app.app_context():
        parts = {p.officer_id: p.id for p in db.session.get(CollaborationClaim, claim_id).participants}
    bad = client.post(f"/claims/{claim_id}/approve", data={
        f"final_{parts[world['officers']['filer']]}": "40", f"final_{parts[world['officers']['mate2']]}": "50",
        "reason": "调整"}, follow_redirects=True)
    assert "最终比例之和应为 100%，现为 90%" in bad.get_data(as_text=True)
    assert status_of(app, claim_id) == "disputed"
    client.post(f"/claims/{claim_id}/approve", data={
        f"final_{parts[world['officers']['filer']]}": "40", f"final_{parts[world['officers']['mate2']]}": "60",
        "reason": "按异议调整"})
    assert status_of(app, claim_id) == "approved"


def test_return_edit_resubmit_and_reject(app, client, auth, world):
    claim_id = file_claim(app, world, confirm=("lead1",))
    as_user(auth, "coord")
    no_reason = client.post(f"/claims/{claim_id}/return", data={}, follow_redirects=True)
    assert "退回时请说明需要修改什么" in no_reason.get_data(as_text=True)
    client.post(f"/claims/{claim_id}/return", data={"reason": "请补充支援民警"})
    assert status_of(app, claim_id) == "returned"
    assert count(app, ClaimConfirmation) == 0  # the units confirm again after the change
    as_user(auth, "filer")
    parts = TWO_UNITS[:1] + [("PS02", "mate2", "assist", "30"), ("PS03", "mate3", "support", "10")]
    parts[0] = ("PS01", "filer", "lead", "60")
    response = client.post(f"/claims/{claim_id}/edit", data=claim_form(world, parts))
    assert response.status_code == 302
    with app.app_context():
        assert len(db.session.get(CollaborationClaim, claim_id).participants) == 3
    client.post(f"/claims/{claim_id}/submit")
    assert status_of(app, claim_id) == "submitted"
    as_user(auth, "coord")
    client.post(f"/claims/{claim_id}/reject", data={"reason": "证据不足"})
    assert status_of(app, claim_id) == "rejected"
    page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
    assert "证据不足" in page and "请补充支援民警" in page


# ---- permissions -------------------------------------------------------------------------------
def test_permissions(app, client, auth, world):
    claim_id = file_claim(app, world)
    as_user(auth, "outsider")  # PS03 officer, not in the claim
    assert client.get(f"/claims/{claim_id}").status_code == 403
    assert client.get("/claims/review").status_code == 403
    assert client.get("/claims/confirm").status_code == 403  # not a leader
    assert client.post(f"/claims/{claim_id}/approve", data={}).status_code == 403
    assert client.get("/claims/cases").status_code == 403
    assert client.get(f"/claims/rules/{world['cycle']}").status_code == 403
    assert client.get(f"/claims/{claim_id}/edit").status_code == 403
    assert client.post(f"/claims/{claim_id}/submit").status_code == 403
    as_user(auth, "mate2")  # a participant sees it, but cannot edit or submit it
    assert client.get(f"/claims/{claim_id}").status_code == 200
    assert client.get(f"/claims/{claim_id}/edit").status_code == 403
    as_user(auth, "lead3")  # leader of an uninvolved unit
    assert client.get(f"/claims/{claim_id}").status_code == 403
    client.post("/logout")
    assert client.get("/claims/").status_code == 302  # to the login page


# ---- lists and counts --------------------------------------------------------------------------
def test_lists_show_counts_and_filters(app, client, auth, world):
    file_claim(app, world, case_ref="R1")
    file_claim(app, world, case_ref="R2", submit=False)
    file_claim(app, world, case_ref="R3", participants=[("PS02", "mate2", "lead", "50"), ("PS03", "mate3",
                                                                                          "assist", "50")],
               filer="mate2", confirm=("lead2", "lead3"))
    as_user(auth, "filer")
    mine = client.get("/claims/").get_data(as_text=True)
    assert ">R1<" in mine and ">R2<" in mine and ">R3<" not in mine and "共 2 条" in mine
    as_user(auth, "lead1")
    to_confirm = client.get("/claims/confirm").get_data(as_text=True)
    assert ">R1<" in to_confirm and ">R2<" not in to_confirm and ">R3<" not in to_confirm and "共 1 条" in to_confirm
    as_user(auth, "coord")
    queue = client.get("/claims/review").get_data(as_text=True)
    assert ">R1<" in queue and ">R3<" in queue and ">R2<" not in queue and "符合条件：2 条" in queue
    only_confirmed = client.get("/claims/review?status=confirmed").get_data(as_text=True)
    assert ">R3<" in only_confirmed and ">R1<" not in only_confirmed
    by_unit = client.get(f"/claims/review?unit={world['units']['PS01']}").get_data(as_text=True)
    assert ">R1<" in by_unit and ">R3<" not in by_unit
    home = client.get("/").get_data(as_text=True)
    assert "待审核" in home


def test_review_queue_pages_with_its_filters(app, client, auth, world, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(5):
        file_claim(app, world, case_ref=f"PAGE-{n}")
    as_user(auth, "coord")
    first = client.get("/claims/review").get_data(as_text=True)
    assert "符合条件：5 条" in first and ">PAGE-0<" in first and ">PAGE-1<" in first and ">PAGE-2<" not in first
    assert "status=pending" in first and "page=3" in first  # the pager keeps the filter
    last = client.get("/claims/review?status=pending&page=3").get_data(as_text=True)
    assert ">PAGE-4<" in last and ">PAGE-0<" not in last
    beyond = client.get("/claims/review?page=99999999999").get_data(as_text=True)
    assert ">PAGE-4<" in beyond  # a page past the end shows the last one


# ---- guards ------------------------------------------------------------------------------------
def test_duplicate_reference_is_flagged_on_both_and_must_be_merged_first(app, client, auth, world):
    first = file_claim(app, world, case_ref="DUP-1", confirm=("lead1", "lead2"))
    second = file_claim(app, world, case_ref="dup-1 ", filer="mate2", confirm=("lead1", "lead2"),
                        participants=[("PS02", "mate2", "lead", "70"), ("PS01", "mate1", "assist", "30")])
    as_user(auth, "coord")
    for claim_id in (first, second):
        page = client.get(f"/claims/{claim_id}").get_data(as_text=True)
        assert "本周期还有案件编号相同的申报" in page
    flagged = client.get("/claims/review?flag=duplicate").get_data(as_text=True)
    assert "符合条件：2 条" in flagged
    refused = client.post(f"/claims/{first}/approve", data={}, follow_redirects=True)
    assert "请先合并或驳回其中一条" in refused.get_data(as_text=True)
    assert status_of(app, first) == "confirmed"
    client.post(f"/claims/{second}/merge", data={"target": str(first), "reason": "同一案件"})
    assert status_of(app, second) == "merged"
    client.post(f"/claims/{first}/approve", data={})
    assert status_of(app, first) == "approved"
    with app.app_context():
        assert db.session.get(CollaborationClaim, second).merged_into_id == first
        assert [e.action for e in db.session.get(CollaborationClaim, first).events][-2:] == ["merge_in", "approve"]


def test_reciprocal_unit_pair_is_flagged_on_the_review_list(app, client, auth, world):
    with app.app_context():
        extra = []
        for code in ("PS04", "PS05", "PS06", "PS07"):
            unit = make_unit(code, f"{code}所")
            officer = make_officer(unit, badge_no=f"X{code}")
            extra.append((code, officer.badge_no))
        db.session.commit()
        world["units"].update({c: db.session.execute(sa.select(Unit.id).filter_by(code=c)).scalar_one()
                               for c, _b in extra})
        world["badges"].update({c: b for c, b in extra})
    for i in range(6):  # PS01 and PS02 together again and again
        file_claim(app, world, case_ref=f"P{i}")
    ring = ["PS03", "PS04", "PS05", "PS06", "PS07"]
    for i, a in enumerate(ring):  # everyone else once
        b = ring[(i + 1) % len(ring)]
        who_a = "mate3" if a == "PS03" else a
        who_b = "mate3" if b == "PS03" else b
        file_claim(app, world, case_ref=f"Q{i}", participants=[(a, who_a, "lead", "50"), (b, who_b, "assist", "50")])
    as_user(auth, "coord")
    page = client.get("/claims/review").get_data(as_text=True)
    assert "互报频繁的单位组合" in page and "城关派出所 — 城东派出所" in page
    assert "z =（共同申报 − 预期）÷ √预期" in page  # the z column is explained where it is shown
    flagged = client.get("/claims/review?flag=reciprocal").get_data(as_text=True)
    assert "符合条件：6 条" in flagged


# ---- points rules ------------------------------------------------------------------------------
def test_admin_edits_points_rules_while_draft_and_they_freeze_on_open(app, client, auth, world):
    with app.app_context():
        draft = make_cycle(name="2027年第一季度", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31))
        plain = make_cycle(name="2027年第二季度", starts_on=date(2027, 4, 1), ends_on=date(2027, 6, 30))
        db.session.commit()
        draft_id, plain_id = draft.id, plain.id
    as_user(auth, "admin")
    page = client.get(f"/claims/rules/{draft_id}").get_data(as_text=True)
    assert "刑事 重大 25" in page
    bad = client.post(f"/claims/rules/{draft_id}", data={"base_points": "刑事 重大 abc", "multiplier_step": "0.5",
                                                         "multiplier_cap": "3", "min_unit_share": "10"})
    assert "第 1 行的分值不是数字" in bad.get_data(as_text=True)
    with app.app_context():
        assert "points_rules" not in db.session.get(Cycle, draft_id).config
    ok = client.post(f"/claims/rules/{draft_id}", data={"base_points": "刑事 重大 30\n治安 一般 6",
                                                        "multiplier_step": "0.5", "multiplier_cap": "3",
                                                        "officer_cap": "", "min_unit_share": "10"})
    assert ok.status_code == 302
    with app.app_context():
        rules = services.points_rules(db.session.get(Cycle, draft_id))
        assert rules.base_points[("刑事", "重大")] == 30 and rules.multiplier_step == 0.5 and rules.officer_cap is None
    assert client.post(f"/admin/cycles/{draft_id}/open").status_code == 302
    frozen = client.post(f"/claims/rules/{draft_id}", data={"base_points": "刑事 重大 99", "multiplier_step": "0.5",
                                                            "multiplier_cap": "3"}, follow_redirects=True)
    assert "积分规则已冻结" in frozen.get_data(as_text=True)
    with app.app_context():
        assert services.points_rules(db.session.get(Cycle, draft_id)).base_points[("刑事", "重大")] == 30
    client.post(f"/admin/cycles/{plain_id}/open")  # opened without rules: the defaults are written
    with app.app_context():
        stored = db.session.get(Cycle, plain_id).config["points_rules"]
        assert stored == services.DEFAULT_POINTS_RULES.to_dict()
    assert "协作申报与团队贡献奖" in client.get(f"/admin/cycles/{plain_id}").get_data(as_text=True)


def test_officer_cap_cuts_only_the_capped_officer(app, world):
    with app.app_context():
        cycle = db.session.get(Cycle, world["cycle"])
        rules = services.DEFAULT_POINTS_RULES.to_dict()
        rules["officer_cap"] = 40.0
        cycle.config = {"points_rules": rules}
        db.session.commit()
    for i in range(3):  # filer 60% of 31.25 = 18.75 each time → 56.25, capped at 40
        file_claim(app, world, case_ref=f"C{i}", confirm=("lead1", "lead2"))
    with app.app_context():
        coord = user("coord")
        for claim in db.session.execute(sa.select(CollaborationClaim)).scalars().all():
            services.approve_claim(claim, coord, {}, "")
        db.session.commit()
        values = services.soft_indicator_values(db.session.get(Cycle, world["cycle"]))
    officers = values["team_points"]
    assert officers["values"][world["officers"]["filer"]] == 40.0
    assert officers["details"][world["officers"]["filer"]]["capped"] is True
    assert officers["details"][world["officers"]["filer"]]["uncapped"] == 56.25
    assert officers["values"][world["officers"]["mate2"]] == 37.5
    assert len(officers["details"][world["officers"]["filer"]]["claims"]) == 3
    units = values["team_points_unit"]["values"]
    assert units[world["units"]["PS01"]] == 40.0 and units[world["units"]["PS02"]] == 37.5


# ---- case records ------------------------------------------------------------------------------
def _csv(rows, header=("案件编号", "案发日期", "案件类别", "单位代码", "可防性", "案件状态")):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_case_record_import_is_all_or_nothing_with_a_row_report(app, client, auth, world):
    as_user(auth, "admin")
    bad = _csv([["A1", "2026-10-05", "刑事", "PS01", "是", "在办"],
                ["A2", "2026-13-40", "刑事", "PS01", "是", "在办"],
                ["A3", "2026-10-06", "治安", "NOPE", "否", "已结"],
                ["a1", "2026-10-07", "刑事", "PS02", "是", "在办"]])
    response = client.post("/claims/cases", data={"file": (io.BytesIO(bad), "cases.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "发现 3 行有问题，没有导入任何数据" in page
    assert "无法识别" in page and "未知的单位代码“NOPE”" in page and "与第 2 行重复" in page
    assert count(app, CaseRecord) == 0
    good = _csv([["A1", "2026-10-05", "刑事", "PS01", "是", "在办"],
                 ["A2", "2026/11/01", "治安", "PS02", "否", "已结"]])
    ok = client.post("/claims/cases", data={"file": (io.BytesIO(good), "cases.csv")},
                     content_type="multipart/form-data", follow_redirects=True)
    assert "新增 2 条，更新 0 条" in ok.get_data(as_text=True)
    again = _csv([["A2", "2026-11-02", "治安", "PS02", "否", "已结"]])
    client.post("/claims/cases", data={"file": (io.BytesIO(again), "cases.csv")}, content_type="multipart/form-data")
    with app.app_context():
        rec = db.session.execute(sa.select(CaseRecord).filter_by(case_ref="A2")).scalar_one()
        assert rec.case_date == date(2026, 11, 2) and rec.status == "closed" and rec.is_preventable is False
    assert count(app, CaseRecord) == 2
    assert client.get("/claims/cases/template.xlsx").status_code == 200


def test_import_case_records_service_takes_json_rows(app, world):
    with app.app_context():
        report = services.import_case_records([
            {"case_ref": "J1", "case_date": "2026-10-01", "case_type": "刑事", "unit_code": "PS01",
             "is_preventable": False, "status": "closed"},
            {"case_ref": "J2", "case_date": "bad", "case_type": "", "unit_code": "PS01"},
        ])
        assert not report.ok and report.errors[0][0] == 2
        assert report.as_dict()["errors"][0]["row"] == 2
        db.session.rollback()
        report = services.import_case_records([{"case_ref": "J1", "case_date": "2026-10-01", "case_type": "刑事",
                                                "unit_code": "PS01"}])
        assert report.ok and report.created == 1
        db.session.commit()


def test_claims_are_verified_against_case_records(app, client, auth, world):
    inside = file_claim(app, world, case_ref="V-IN")
    outside = file_claim(app, world, case_ref="V-OUT")
    missing = file_claim(app, world, case_ref="V-MISSING")
    as_user(auth, "coord")
    page = client.get(f"/claims/{missing}").get_data(as_text=True)
    assert "尚未导入案件数据" in page  # no data pool yet: nothing to verify against
    with app.app_context():
        services.import_case_records([
            {"case_ref": "V-IN", "case_date": "2026-10-15", "case_type": "刑事", "unit_code": "PS01"},
            {"case_ref": "V-OUT", "case_date": "2026-07-01", "case_type": "刑事", "unit_code": "PS01"},
        ])
        db.session.commit()
    assert "已核实" in client.get(f"/claims/{inside}").get_data(as_text=True)
    for claim_id in (outside, missing):
        assert "未核实" in client.get(f"/claims/{claim_id}").get_data(as_text=True)
    flagged = client.get("/claims/review?flag=unverified").get_data(as_text=True)
    assert "V-OUT" in flagged and "V-MISSING" in flagged and "V-IN" not in flagged


# ---- the database keeps the invariants too -----------------------------------------------------
def test_database_refuses_bad_shares_states_and_repeated_officers(app, world):
    claim_id = file_claim(app, world)
    with app.app_context():
        officer = world["officers"]["filer"]
        for statement in (
            f"UPDATE claim_participant SET proposed_bp = 10001 WHERE claim_id = {claim_id}",
            f"UPDATE claim_participant SET final_bp = -1 WHERE claim_id = {claim_id}",
            f"UPDATE collaboration_claim SET status = 'bogus' WHERE id = {claim_id}",
            f"INSERT INTO claim_participant (claim_id, unit_id, officer_id, role, proposed_bp) "
            f"VALUES ({claim_id}, {world['units']['PS01']}, {officer}, 'lead', 0)",
        ):
            with pytest.raises(sa.exc.IntegrityError):
                db.session.execute(sa.text(statement))
            db.session.rollback()


def test_no_open_cycle_means_no_filing(app, client, auth, world):
    with app.app_context():
        db.session.get(Cycle, world["cycle"]).status = "closed"
        db.session.commit()
    as_user(auth, "filer")
    response = client.get("/claims/new", follow_redirects=True)
    assert "当前没有进行中的考评周期" in response.get_data(as_text=True)


def test_officer_outside_the_roster_is_refused(app, client, auth, world):
    with app.app_context():
        o = db.session.get(Officer, world["officers"]["mate2"])
        o.is_active = False
        db.session.commit()
    as_user(auth, "filer")
    response = client.post("/claims/new", data=claim_form(world, TWO_UNITS))
    assert "找不到警号为" in response.get_data(as_text=True)
    assert count(app, CollaborationClaim) == 0


# ---- demo data ---------------------------------------------------------------------------------
def test_demo_holds_claims_in_every_state_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        states = set(db.session.execute(sa.select(CollaborationClaim.status)).scalars())
        assert {"draft", "submitted", "confirmed", "disputed", "returned", "rejected", "approved"} <= states
        n = db.session.scalar(sa.select(sa.func.count(CollaborationClaim.id)))
        assert 30 <= n <= 60
        partly = db.session.execute(sa.select(CollaborationClaim).filter_by(status="submitted")).scalars().all()
        assert any(c.confirmations for c in partly)  # some units confirmed, others not yet
        cycle = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
        assert cycle.config["points_rules"] == services.DEFAULT_POINTS_RULES.to_dict()
        flags = services.cycle_flags(cycle)
        assert len(flags.duplicates) == 2
        assert len(flags.splits) == 2  # one case filed as A…-1 and A…-2
        points = services.claim_points(cycle, db.session.execute(sa.select(CollaborationClaim)).scalars().all())
        assert any(p.units_counted < len(p.units) for p in points.values())  # the token third unit
        assert [(p["units"][0].code, p["units"][1].code) for p in flags.reciprocal_pairs] == [("PS03", "XZ-1")]
        assert 0 < sum(not v for v in flags.verified.values()) < n / 4
        assert services.team_standing(cycle).units
    second = runner.invoke(args=["seed-demo"])
    assert "claims: already there" in second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CollaborationClaim.id))) == n


# ---- properties through the services -----------------------------------------------------------
POOL = ["filer", "mate1", "lead1", "mate2", "lead2", "mate3", "lead3"]
UNIT_OF = {"filer": "PS01", "mate1": "PS01", "lead1": "PS01", "mate2": "PS02", "lead2": "PS02",
           "mate3": "PS03", "lead3": "PS03"}


@st.composite
def team_and_shares(draw):
    people = draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=len(POOL), unique=True)
                  .filter(lambda ps: len({UNIT_OF[p] for p in ps}) >= 2))

    def split():
        cuts = sorted(draw(st.lists(st.integers(1, 9_999), min_size=len(people) - 1, max_size=len(people) - 1,
                                    unique=True)))
        return [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]

    return people, split(), split()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=team_and_shares())
def test_approved_points_are_conserved_whatever_the_shares(app, world, case):
    """Proposed and final shares with two decimals: officers' points add up exactly to the claim's,
    units' points to their officers', and each officer is within 0.01 of their exact share."""
    people, proposed, final = case
    with app.app_context():
        cycle = db.session.get(Cycle, world["cycle"])
        rows = [{"unit_id": world["units"][UNIT_OF[p]], "badge_no": world["badges"][p],
                 "role": "lead" if i == 0 else "assist", "share": services.format_bp(bp)}
                for i, (p, bp) in enumerate(zip(people, proposed, strict=True))]
        claim = services.save_claim(None, {"case_ref": "PROP-1", "case_type": "刑事", "severity": "较大",
                                           "case_date": date(2026, 11, 1), "lead_unit_id": rows[0]["unit_id"],
                                           "participants": rows}, user("filer"), cycle)
        services.submit_claim(claim, user("filer"))
        for unit_id in claim.unit_ids:
            leader = {"PS01": "lead1", "PS02": "lead2", "PS03": "lead3"}[
                next(k for k, v in world["units"].items() if v == unit_id)]
            services.decide_for_unit(claim, unit_id, user(leader), "confirmed")
        by_officer = {p.officer_id: p.id for p in claim.participants}
        shares = {by_officer[world["officers"][p]]: services.format_bp(bp)
                  for p, bp in zip(people, final, strict=True)}
        services.approve_claim(claim, user("coord"), shares, "按实际贡献调整")
        db.session.commit()
        values = services.soft_indicator_values(cycle)
        officer_cents = {o: round(v * 100) for o, v in values["team_points"]["values"].items()}
        unit_cents = {u: round(v * 100) for u, v in values["team_points_unit"]["values"].items()}
        unit_bp: dict[str, int] = {}
        for p, bp in zip(people, final, strict=True):
            unit_bp[UNIT_OF[p]] = unit_bp.get(UNIT_OF[p], 0) + bp
        n_units = max(sum(bp >= 1000 for bp in unit_bp.values()), 1)  # units with at least 10 % count
        claim_cents = round(1500 * min(1 + 0.25 * (n_units - 1), 2.0))
        assert sum(officer_cents.values()) == claim_cents == sum(unit_cents.values())
        for p, bp in zip(people, final, strict=True):
            exact = claim_cents * bp / 10_000
            assert abs(officer_cents.get(world["officers"][p], 0) - exact) < 1
        for unit_code in {UNIT_OF[p] for p in people}:
            members = [world["officers"][p] for p in people if UNIT_OF[p] == unit_code]
            assert unit_cents.get(world["units"][unit_code], 0) == sum(officer_cents.get(o, 0) for o in members)
        for model in (ClaimEvent, ClaimConfirmation, ClaimParticipant, CollaborationClaim, AuditLog):
            db.session.execute(sa.delete(model))
        db.session.commit()


def test_case_records_from_an_xlsx_file(app, client, auth, world):
    from app.tabular import xlsx_bytes

    as_user(auth, "admin")
    data = xlsx_bytes(list(services.CASE_COLUMNS), [["X1", "2026-10-05", "刑事", "PS01", "否", "已结"]])
    response = client.post("/claims/cases", data={"file": (io.BytesIO(data), "cases.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "新增 1 条" in response.get_data(as_text=True)
    with app.app_context():
        rec = db.session.execute(sa.select(CaseRecord)).scalar_one()
        assert (rec.case_ref, rec.case_date, rec.is_preventable, rec.status) == ("X1", date(2026, 10, 5), False,
                                                                               "closed")
        assert rec.import_batch and rec.imported_at


def test_an_unverified_claim_is_approved_only_when_the_coordinator_acknowledges_it(app, client, auth, world):
    verified = file_claim(app, world, case_ref="V-IN", confirm=("lead1", "lead2"))
    unverified = file_claim(app, world, case_ref="V-MISSING", confirm=("lead1", "lead2"))
    with app.app_context():
        services.import_case_records([
            {"case_ref": "V-IN", "case_date": "2026-10-15", "case_type": "刑事", "unit_code": "PS01"}])
        db.session.commit()
    as_user(auth, "coord")
    page = client.get(f"/claims/{unverified}").get_data(as_text=True)
    assert 'name="unverified_acknowledged"' in page and "我已核实此案件" in page
    assert 'name="unverified_acknowledged"' not in client.get(f"/claims/{verified}").get_data(as_text=True)
    events = count(app, ClaimEvent)
    refused = client.post(f"/claims/{unverified}/approve", data={}, follow_redirects=True)
    assert "在案件记录中找不到" in refused.get_data(as_text=True)
    assert status_of(app, unverified) == "confirmed" and count(app, ClaimEvent) == events
    approved = client.post(f"/claims/{unverified}/approve", data={"unverified_acknowledged": "1"},
                           follow_redirects=True).get_data(as_text=True)
    assert status_of(app, unverified) == "approved"
    assert approved.count("已批准并锁定") == 1  # said once, by the page, not again by a flash
    client.post(f"/claims/{verified}/approve", data={})
    assert status_of(app, verified) == "approved"  # a verified claim needs no acknowledgement
