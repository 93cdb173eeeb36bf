"""Resident satisfaction feedback: staff invitations, the public form, single use, follow-ups."""
import io
import re
import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.extensions import db
from app.models import (
    AuditLog,
    FlagKeyword,
    FollowUp,
    ResidentInvitation,
    ResidentResponse,
    ServiceType,
    Unit,
    utcnow,
)
from app.residents import services

from ..factories import make_officer, make_unit

ANSWERS = {"overall": "3", "attitude": "4", "efficiency": "3", "fairness": "3", "resolved": "yes", "comment": ""}


def count(app, model, **filters):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def setup_types(app):
    with app.app_context():
        for name, sensitive in (("110 接处警", False), ("窗口办事", False), ("家庭暴力", True)):
            db.session.add(ServiceType(name=name, is_sensitive=sensitive))
        db.session.commit()
        return {t.name: t.id for t in db.session.execute(sa.select(ServiceType)).scalars()}


def make_invitation(app, unit_code="PS01", days=7, badges=None, type_name="110 接处警"):
    """A fresh invitation and its token, straight through the service."""
    with app.app_context():
        unit = db.session.execute(sa.select(Unit).filter_by(code=unit_code)).scalar_one_or_none()
        unit = unit or make_unit(unit_code)
        service_type = db.session.execute(sa.select(ServiceType).filter_by(name=type_name)).scalar_one_or_none()
        if service_type is None:
            service_type = ServiceType(name=type_name, is_sensitive=False, is_active=True)
            db.session.add(service_type)
        invitation, token = services.create_invitation(service_type=service_type, unit=unit, badges=badges or [],
                                                       reference="J2026-001", created_by=None, days=days)
        db.session.commit()
        return invitation.id, token


def response_count(app):
    return count(app, ResidentResponse)


# ---- staff make an invitation ------------------------------------------------------------------
def test_staff_create_invitation_with_link_qr_and_slip(app, client, auth):
    auth.as_role("officer", username="mj")
    types = setup_types(app)
    with app.app_context():
        unit_id = db.session.execute(sa.select(Unit.id).filter_by(code="PS01")).scalar_one()
        badge = db.session.execute(sa.select(ResidentInvitation)).first()
        badge = db.session.execute(sa.text("SELECT badge_no FROM officer")).scalar_one()
    form = client.get("/residents/invitations/new").get_data(as_text=True)
    assert "家庭暴力" not in form  # sensitive types are not offered
    response = client.post("/residents/invitations/new", data={
        "service_type_id": types["110 接处警"], "unit_id": unit_id, "officers": badge, "reference": "J2026-0001"})
    # The link is shown once, in the response that made it, never cached on the way.
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    link = re.search(r'id="resident-link">([^<]+)<', page).group(1)
    token = link.rsplit("/r/", 1)[1]
    assert len(token) >= 32 and "<svg" in page and "打印评价卡" in page and "评价链接已生成" in page
    # Not in the staff session cookie (signed, but readable by whoever holds it)...
    cookie = client.get_cookie("session").value
    assert token not in str(app.session_interface.get_signing_serializer(app).loads(cookie))
    # ...so opening the invitation again does not show it.
    with app.app_context():
        invitation_id = db.session.execute(sa.select(ResidentInvitation.id)).scalar_one()
    again = client.get(f"/residents/invitations/{invitation_id}").get_data(as_text=True)
    assert token not in again and "resident-link" not in again and "链接只在生成后向生成人显示" in again
    with app.app_context():
        invitation = db.session.execute(sa.select(ResidentInvitation)).scalar_one()
        assert invitation.token_hash == services.hash_token(token) and token not in invitation.token_hash
        assert timedelta(days=6, hours=23) < invitation.expires_at - invitation.created_at <= timedelta(days=7)
        assert [o.badge_no for o in invitation.officers] == [badge]
        audit = db.session.execute(sa.select(AuditLog).filter_by(action="resident_invitation_created")).scalar_one()
        assert token not in str(audit.after)
    # The link opens the resident's form on a phone-sized page without the staff navigation.
    auth.logout()
    form = client.get(f"/r/{token}").get_data(as_text=True)
    assert 'name="viewport"' in form and "navbar" not in form and "很满意" in form and "基本满意" in form


def test_sensitive_type_and_foreign_officer_are_refused_and_nothing_changes(app, client, auth):
    auth.as_role("officer", username="mj")
    types = setup_types(app)
    with app.app_context():
        unit_id = db.session.execute(sa.select(Unit.id).filter_by(code="PS01")).scalar_one()
        other = make_officer(make_unit("PS02"), badge_no="777777")
        db.session.commit()
        assert other.id
    sensitive = client.post("/residents/invitations/new", data={
        "service_type_id": types["家庭暴力"], "unit_id": unit_id, "officers": "", "reference": "x"})
    assert sensitive.status_code == 200
    assert "属于敏感业务，不向群众发送评价邀请" in sensitive.get_data(as_text=True)
    foreign = client.post("/residents/invitations/new", data={
        "service_type_id": types["110 接处警"], "unit_id": unit_id, "officers": "777777, 000000", "reference": "x"})
    assert "警号 777777、000000 不存在，或不属于所选单位" in foreign.get_data(as_text=True)
    no_type = client.post("/residents/invitations/new", data={
        "service_type_id": "0", "unit_id": unit_id, "officers": "", "reference": "x"})
    assert "请选择业务类型" in no_type.get_data(as_text=True)
    other_unit = client.post("/residents/invitations/new", data={
        "service_type_id": types["110 接处警"], "unit_id": 99999, "officers": "", "reference": "x"})
    assert "请选择有效的单位" in other_unit.get_data(as_text=True)
    huge = client.post("/residents/invitations/new", data={
        "service_type_id": "99999999999999999999", "unit_id": unit_id, "officers": "\x00", "reference": "\x00"})
    assert "请选择业务类型" in huge.get_data(as_text=True)
    assert count(app, ResidentInvitation) == 0


def test_revoke_makes_the_link_unavailable_and_an_answered_link_looks_like_any_other(app, client, auth):
    auth.as_role("admin", username="boss")
    invitation_id, token = make_invitation(app)
    response = client.post(f"/residents/invitations/{invitation_id}/revoke")
    assert response.status_code == 302
    again = client.post(f"/residents/invitations/{invitation_id}/revoke", follow_redirects=True)
    assert "该链接已撤销或已过期，不能再撤销" in again.get_data(as_text=True)
    page = client.get(f"/r/{token}")
    assert page.status_code == 404 and "该评价链接无效或已过期" in page.get_data(as_text=True)
    assert client.post(f"/r/{token}", data=ANSWERS).status_code == 404
    assert response_count(app) == 0
    # Staff cannot tell an answered link from an unanswered one: list, filter and page show the same,
    # and revoking either works (an answer already given stands).
    used_id, used_token = make_invitation(app)
    open_id, _open_token = make_invitation(app)
    client.post(f"/r/{used_token}", data=ANSWERS)
    assert response_count(app) == 1

    def shown(invitation_id, html):
        row = html.split(f'/residents/invitations/{invitation_id}"')[1].split("</tr>")[0]
        return row.split("badge")[1]

    listing = client.get("/residents/").get_data(as_text=True)
    assert "已评价" not in listing and shown(used_id, listing) == shown(open_id, listing)
    for state in ("open", "ended", "revoked"):
        filtered = client.get(f"/residents/?state={state}").get_data(as_text=True)
        assert (f'/residents/invitations/{used_id}"' in filtered) == (f'/residents/invitations/{open_id}"' in filtered)
    pages = [client.get(f"/residents/invitations/{i}").get_data(as_text=True) for i in (used_id, open_id)]
    assert all("有效期内" in p and "撤销链接" in p and "已评价" not in p for p in pages)
    revoked = client.post(f"/residents/invitations/{used_id}/revoke", follow_redirects=True)
    assert "链接已撤销" in revoked.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ResidentInvitation, used_id).revoked_at is not None
    assert response_count(app) == 1


def test_officers_see_their_own_invitations_and_leaders_their_units(app, client, auth):
    invitation_id, _token = make_invitation(app, unit_code="PS09")
    colleague_id, _token = make_invitation(app, unit_code="PS01")
    auth.as_role("officer", username="mj", unit_code="PS01")
    assert client.get(f"/residents/invitations/{invitation_id}").status_code == 403
    assert client.post(f"/residents/invitations/{invitation_id}/revoke").status_code == 403
    assert f"/residents/invitations/{colleague_id}\"" not in client.get("/residents/").get_data(as_text=True)
    auth.logout()
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    listing = client.get("/residents/").get_data(as_text=True)
    assert f"/residents/invitations/{colleague_id}\"" in listing
    assert f"/residents/invitations/{invitation_id}\"" not in listing
    assert client.get(f"/residents/invitations/{colleague_id}").status_code == 200


# ---- the public form ---------------------------------------------------------------------------
def test_submit_once_then_already_answered(app, client):
    _id, token = make_invitation(app)
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and 'name="website"' in page.get_data(as_text=True)
    response = client.post(f"/r/{token}", data=ANSWERS)
    assert response.status_code == 302
    assert "感谢您的评价" in client.get(response.headers["Location"]).get_data(as_text=True)
    reopened = client.get(f"/r/{token}")
    assert reopened.status_code == 200 and "您已经提交过评价" in reopened.get_data(as_text=True)
    second = client.post(f"/r/{token}", data={**ANSWERS, "overall": "1"})
    assert "您已经提交过评价" in second.get_data(as_text=True)
    with app.app_context():
        answer = db.session.execute(sa.select(ResidentResponse)).scalar_one()
        assert (answer.overall, answer.attitude, answer.resolved, answer.channel) == (3, 4, "yes", "link")
        assert isinstance(answer.answered_on, date)
        used_at = db.session.execute(sa.select(ResidentInvitation)).scalar_one().used_at
        assert used_at is not None and used_at.time() == datetime.min.time()  # the link keeps the day only
        actions = db.session.execute(sa.select(AuditLog.action)).scalars().all()
        assert actions == ["resident_invitation_created"]  # no audit timestamp dates the answer
    assert count(app, FollowUp) == 0


@pytest.mark.parametrize("path", [
    "/r/" + "A" * 43, "/r/" + "x" * 5000, "/r/评价链接", "/r/a/b/c", "/r/..%2F..%2Fetc", "/r/%00%00",
    "/r/'%20OR%201=1--", "/r/" + "é" * 40, "/r/%F0%9F%98%80" * 10,
])
def test_any_token_string_gives_the_friendly_page(app, client, path):
    for method in (client.get, client.post):
        response = method(path, data=ANSWERS) if method is client.post else method(path)
        assert response.status_code == 404
        assert "该评价链接无效或已过期" in response.get_data(as_text=True)
    assert response_count(app) == 0


def test_expired_and_unknown_links_look_the_same(app, client):
    _id, token = make_invitation(app)
    with app.app_context():
        db.session.execute(sa.update(ResidentInvitation).values(
            created_at=utcnow() - timedelta(days=9), expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    expired = client.get(f"/r/{token}").get_data(as_text=True)
    unknown = client.get("/r/" + "B" * 32).get_data(as_text=True)
    assert expired == unknown and "该评价链接无效或已过期" in expired
    assert client.post(f"/r/{token}", data=ANSWERS).status_code == 404
    assert response_count(app) == 0


@pytest.mark.parametrize("change, message", [
    ({"overall": None}, "请选择一项"),
    ({"overall": "7"}, "请从给出的选项中选择"),
    ({"fairness": "abc"}, "请从给出的选项中选择"),
    ({"resolved": "maybe"}, "请从给出的选项中选择"),
    ({"comment": "很" * 501}, "意见或建议最多 500 字"),
])
def test_bad_answers_show_a_message_and_do_not_spend_the_link(app, client, change, message):
    _id, token = make_invitation(app)
    data = {k: v for k, v in {**ANSWERS, **change}.items() if v is not None}
    response = client.post(f"/r/{token}", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert response_count(app) == 0
    with app.app_context():
        assert db.session.execute(sa.select(ResidentInvitation)).scalar_one().used_at is None
    assert client.post(f"/r/{token}", data=ANSWERS).status_code == 302


def test_honeypot_drops_bots_silently(app, client):
    _id, token = make_invitation(app)
    response = client.post(f"/r/{token}", data={**ANSWERS, "website": "http://spam.example"})
    assert response.status_code == 302
    assert "感谢您的评价" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert response_count(app) == 0
    with app.app_context():
        assert db.session.execute(sa.select(ResidentInvitation)).scalar_one().used_at is None


def test_answers_keep_no_ip_user_agent_phone_or_time_of_day(app):
    with app.app_context():
        columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("resident_response")}
        invitation_columns = {c["name"] for c in sa.inspect(db.engine).get_columns("resident_invitation")}
    assert not [name for name in columns if re.search(r"ip|agent|phone|mobile|addr|created|_at$", name)]
    assert isinstance(columns["answered_on"]["type"], sa.Date)
    assert "token" not in invitation_columns and "phone" not in invitation_columns


def test_comment_is_stored_as_text_and_escaped_on_output(app, client, auth):
    _id, token = make_invitation(app)
    evil = '<script>alert("x")</script> 态度<b>很差</b>'
    client.post(f"/r/{token}", data={**ANSWERS, "overall": "1", "comment": evil})
    with app.app_context():
        assert db.session.execute(sa.select(ResidentResponse.comment)).scalar_one() == evil
        item_id = db.session.execute(sa.select(FollowUp.id)).scalar_one()
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    page = client.get(f"/residents/follow-ups/{item_id}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    listing = client.get("/residents/responses").get_data(as_text=True)
    assert "<b>很差</b>" not in listing and "&lt;b&gt;很差&lt;/b&gt;" in listing


# ---- single use under races --------------------------------------------------------------------
def test_many_simultaneous_submits_store_exactly_one_answer(app):
    _id, token = make_invitation(app)
    n = 12
    barrier = threading.Barrier(n)
    results, errors = [], []

    def submit():
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = client.post(f"/r/{token}", data=ANSWERS)
            results.append((response.status_code, response.get_data(as_text=True)))
        except Exception as error:  # surfaced below: a thread must not die silently
            errors.append(error)

    threads = [threading.Thread(target=submit) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == n
    assert sorted(code for code, _body in results).count(302) == 1
    losers = [body for code, body in results if code != 302]
    assert all("您已经提交过评价" in body for body in losers), {code for code, _b in results}
    assert response_count(app) == 1


# ---- follow-ups --------------------------------------------------------------------------------
def test_dissatisfied_answer_opens_a_follow_up_for_the_units_leader(app, client, auth):
    _id, token = make_invitation(app, unit_code="PS01")
    client.post(f"/r/{token}", data={**ANSWERS, "overall": "1", "comment": "等了很久"})
    with app.app_context():
        item = db.session.execute(sa.select(FollowUp)).scalar_one()
        assert item.is_dissatisfied and item.status == "open"
        # No consent to contact: the item is dated by its week (opens Monday, 5 working days from Sunday).
        assert item.opened_on.weekday() == 0
        assert item.due_on == services.add_working_days(item.opened_on + timedelta(days=6), 5)
        item_id = item.id
    auth.as_role("supervisor", username="other_leader", unit_code="PS02")
    assert "没有需要处理的事项" in client.get("/residents/follow-ups").get_data(as_text=True)
    assert client.get(f"/residents/follow-ups/{item_id}").status_code == 403
    auth.logout()
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    queue = client.get("/residents/follow-ups").get_data(as_text=True)
    assert f"/residents/follow-ups/{item_id}" in queue and "不满意" in queue
    home = client.get("/").get_data(as_text=True)
    assert "群众满意度回访" in home and "待核查 1" in home

    # Bad steps: no note; fix before check. Nothing changes.
    empty = client.post(f"/residents/follow-ups/{item_id}/check", data={"note": "  "})
    assert "请填写说明" in empty.get_data(as_text=True)
    early = client.post(f"/residents/follow-ups/{item_id}/fix", data={"note": "已整改"})
    assert "请先记录核查情况，再记录整改" in early.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(FollowUp, item_id).status == "open"

    assert client.post(f"/residents/follow-ups/{item_id}/check", data={"note": "电话回访，情况属实"}).status_code == 302
    twice = client.post(f"/residents/follow-ups/{item_id}/check", data={"note": "再核查"})
    assert "该事项已被他人处理" in twice.get_data(as_text=True)
    fixed = client.post(f"/residents/follow-ups/{item_id}/fix", data={"note": "已批评教育并向群众致歉"})
    assert fixed.status_code == 302
    page = client.get(f"/residents/follow-ups/{item_id}").get_data(as_text=True)
    assert "电话回访，情况属实" in page and "已批评教育并向群众致歉" in page and "已整改" in page
    with app.app_context():
        item = db.session.get(FollowUp, item_id)
        assert (item.status, item.check_note) == ("fixed", "电话回访，情况属实")
        actions = db.session.execute(sa.select(AuditLog.action).filter_by(
            entity="resident_follow_up", entity_id=str(item_id)).order_by(AuditLog.id)).scalars().all()
        assert actions == ["follow_up_checked", "follow_up_fixed"]


def test_keyword_in_comment_opens_a_follow_up(app, client, auth):
    auth.as_role("admin", username="boss")
    assert client.post("/residents/keywords", data={"word": "推诿"}).status_code == 302
    dup = client.post("/residents/keywords", data={"word": "推 诿"})
    assert "关键词“推诿”已在列表中" in dup.get_data(as_text=True)
    control = client.post("/residents/keywords", data={"word": "\x00\x07"})
    assert "请填写关键词" in control.get_data(as_text=True)
    assert count(app, FlagKeyword) == 1
    auth.logout()
    _id, token = make_invitation(app)
    client.post(f"/r/{token}", data={**ANSWERS, "overall": "3", "comment": "窗口民警互相推诿"})
    _id2, token2 = make_invitation(app)
    client.post(f"/r/{token2}", data={**ANSWERS, "overall": "4", "comment": "很好"})
    with app.app_context():
        item = db.session.execute(sa.select(FollowUp)).scalar_one()
        assert not item.is_dissatisfied and item.flagged_words == "推诿"


def test_overdue_items_stand_out_after_five_working_days(app, client, auth):
    _id, token = make_invitation(app)
    client.post(f"/r/{token}", data={**ANSWERS, "overall": "1"})
    with app.app_context():
        opened = date.today() - timedelta(days=14)
        db.session.execute(sa.update(FollowUp).values(opened_on=opened,
                                                      due_on=services.add_working_days(opened, 5)))
        db.session.commit()
    _id2, token2 = make_invitation(app)
    client.post(f"/r/{token2}", data={**ANSWERS, "overall": "1"})  # fresh: not overdue
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    page = client.get("/residents/follow-ups?status=unfinished&overdue=1").get_data(as_text=True)
    assert "逾期 1" in page and page.count("table-danger") == 1
    assert "逾期 1" in client.get("/").get_data(as_text=True)


# ---- window QR ---------------------------------------------------------------------------------
def test_window_qr_is_multi_use_throttled_and_marked_window(app, client, auth):
    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    page = client.get("/q/PS01")
    assert page.status_code == 200 and "PS01派出所" in page.get_data(as_text=True)
    assert client.post("/q/PS01", data=ANSWERS).status_code == 302
    again = client.get("/q/PS01")  # this browser has the cookie now
    assert "您今天已经评价过本窗口的服务" in again.get_data(as_text=True)
    assert client.post("/q/PS01", data=ANSWERS).status_code == 200
    other_browser = app.test_client()
    assert other_browser.post("/q/PS01", data=ANSWERS).status_code == 302
    with app.app_context():
        rows = db.session.execute(sa.select(ResidentResponse)).scalars().all()
        assert [(r.channel, r.invitation_id) for r in rows] == [("window", None), ("window", None)]
    assert client.get("/q/NOPE").status_code == 404
    assert "找不到该服务窗口" in client.get("/q/%E4%B8%AD/x/y").get_data(as_text=True)


def test_window_qr_rate_limit_per_client(app):
    with app.app_context():
        make_unit("PS01")
        make_unit("PS02")
        db.session.commit()
    app.config["RESIDENT_WINDOW_RATE_LIMIT"] = "2 per hour"
    try:
        codes = [app.test_client().post("/q/PS01", data=ANSWERS).status_code for _ in range(3)]
        limited = app.test_client().post("/q/PS01", data=ANSWERS)
        other_window = app.test_client().post("/q/PS02", data=ANSWERS)
    finally:
        del app.config["RESIDENT_WINDOW_RATE_LIMIT"]
    assert codes == [302, 302, 429]
    assert limited.status_code == 429 and "提交次数过多" in limited.get_data(as_text=True)
    assert "navbar" not in limited.get_data(as_text=True)
    assert other_window.status_code == 302  # the limit is per client and window
    assert response_count(app) == 3


def test_admin_window_page_says_the_channel_is_weaker(app, client, auth):
    auth.as_role("admin", username="boss")
    page = client.get("/residents/windows").get_data(as_text=True)
    assert "窗口二维码是较弱的评价渠道" in page and "/q/PS01" in page
    poster = client.get("/residents/windows/PS01/poster").get_data(as_text=True)
    assert "<svg" in poster and "请为我们的服务评价" in poster
    svg = client.get("/residents/windows/PS01/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


# ---- batch -------------------------------------------------------------------------------------
BATCH_CSV = """业务编号,业务类型,单位代码,手机号,民警警号,办理状态
J001,110 接处警,PS01,13800000001,,已办结
J002,家庭暴力,PS01,13800000002,,已办结
J003,110 接处警,PS01,13800000003,,办理中
J004,110 接处警,PS01,12345,,已办结
J005,110 接处警,ZZ99,13800000005,,已办结
J006,窗口办事,PS01,+86 138-0000-0006,,
J001,110 接处警,PS01,13800000007,,已办结
"""


def test_a_sensitive_or_unfinished_service_is_never_invited_whatever_else_is_wrong(ctx):
    from types import SimpleNamespace

    from app.residents.services import batch_skip_reason

    sensitive = SimpleNamespace(is_sensitive=True, is_active=True)
    ordinary = SimpleNamespace(is_sensitive=False, is_active=True)
    retired = SimpleNamespace(is_sensitive=False, is_active=False)
    unit = SimpleNamespace(id=1)
    assert batch_skip_reason(sensitive, "办理中", "", None, None) == "敏感业务类型，不邀请"
    assert batch_skip_reason(ordinary, "办理中", "", None, None) == "案件仍在办理中"
    assert batch_skip_reason(ordinary, "已办结", "", None, None) == "缺少业务编号"
    assert batch_skip_reason(retired, "已办结", "J1", unit, "13800000001") == "业务类型未登记或已停用"
    assert batch_skip_reason(None, "", "J1", unit, "13800000001") == "业务类型未登记或已停用"
    assert batch_skip_reason(ordinary, "", "J1", None, None) == "单位代码不存在"
    assert batch_skip_reason(ordinary, "", "J1", unit, None) == "手机号无效"
    assert batch_skip_reason(ordinary, "已办结", "J1", unit, "13800000001") is None


def test_batch_preview_then_links_file_with_skipped_rows(app, client, auth):
    auth.as_role("admin", username="boss")
    setup_types(app)

    def upload(button, fmt="xlsx"):
        return client.post("/residents/batch", data={
            "file": (io.BytesIO(BATCH_CSV.encode("utf-8")), "records.csv"), "fmt": fmt, button: "1"},
            content_type="multipart/form-data")

    preview = upload("preview").get_data(as_text=True)
    assert "共 7 行：可邀请 2 行，跳过 5 行" in preview
    for reason in ("敏感业务类型，不邀请", "案件仍在办理中", "手机号无效", "单位代码不存在", "文件中业务编号重复"):
        assert reason in preview
    assert count(app, ResidentInvitation) == 0

    download = upload("submit")
    assert download.status_code == 200 and download.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(download.data))
    links = list(book["links"].iter_rows(values_only=True))[1:]
    assert [(r[0], r[1]) for r in links] == [("J001", "13800000001"), ("J006", "13800000006")]
    assert all("/r/" in r[2] for r in links)
    assert len(list(book["skipped"].iter_rows(values_only=True))) == 6
    assert count(app, ResidentInvitation) == 2
    with app.app_context():  # the phone numbers went into the file only
        dump = " ".join(str(v) for t in db.metadata.sorted_tables
                        for row in db.session.execute(sa.select(t)).all() for v in row)
        assert "13800000001" not in dump
    token = links[0][2].rsplit("/r/", 1)[1]
    assert client.get(f"/r/{token}").status_code == 200
    again = upload("preview").get_data(as_text=True)  # a re-upload does not invite twice
    assert "该业务已发出过邀请" in again and "可邀请 0 行" in again


def test_batch_bad_files_change_nothing(app, client, auth):
    auth.as_role("admin", username="boss")
    setup_types(app)
    wrong_type = client.post("/residents/batch", data={"file": (io.BytesIO(b"x"), "records.txt"), "fmt": "xlsx",
                                                       "submit": "1"}, content_type="multipart/form-data")
    assert "只支持 .csv 和 .xlsx 文件" in wrong_type.get_data(as_text=True)
    missing = client.post("/residents/batch", data={"file": (io.BytesIO("业务编号\nJ1\n".encode()), "r.csv"),
                                                    "fmt": "xlsx", "submit": "1"}, content_type="multipart/form-data")
    assert "缺少列：业务类型、单位代码、手机号" in missing.get_data(as_text=True)
    assert count(app, ResidentInvitation) == 0


def test_cli_invite_residents_writes_links(app, tmp_path):
    setup_types(app)
    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    source = tmp_path / "records.csv"
    source.write_text(BATCH_CSV, encoding="utf-8")
    out = tmp_path / "links.csv"
    result = app.test_cli_runner().invoke(args=["invite-residents", str(source), str(out),
                                                "--base-url", "https://kp.example.cn"])
    assert result.exit_code == 0, result.output
    assert "2 invited, 5 skipped" in result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 3 and lines[1].startswith("J001,13800000001,https://kp.example.cn/r/")
    assert count(app, ResidentInvitation) == 2


# ---- admin lists -------------------------------------------------------------------------------
def test_service_types_admin_with_sensitive_flag(app, client, auth):
    auth.as_role("admin", username="boss")
    assert client.post("/residents/service-types/new", data={"name": "性侵", "is_sensitive": "y",
                                                             "is_active": "y"}).status_code == 302
    dup = client.post("/residents/service-types/new", data={"name": "性侵", "is_active": "y"})
    assert "业务类型“性侵”已存在" in dup.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(ServiceType.is_sensitive)).scalars().all() == [True]
    listing = client.get("/residents/service-types").get_data(as_text=True)
    assert "性侵" in listing and "敏感" in listing
    assert "群众评价业务类型" in client.get("/admin/").get_data(as_text=True)


def test_officers_cannot_reach_the_admin_lists_or_the_queue(app, client, auth):
    auth.as_role("officer", username="mj")
    assert client.get("/residents/").status_code == 200
    for path in ("/residents/service-types", "/residents/keywords", "/residents/follow-ups", "/residents/batch"):
        assert client.get(path).status_code == 403


# ---- soft indicators for the main assessment ---------------------------------------------------
def test_soft_indicator_values_shrink_unit_and_officer_rates(app):
    from ..factories import make_cycle

    with app.app_context():
        bureau = make_unit("BJ", kind="bureau")
        a, b = make_unit("PS01", parent=bureau), make_unit("PS02", parent=bureau)
        officer_a, officer_b = make_officer(a, badge_no="100001"), make_officer(b, badge_no="100002")
        cycle = make_cycle()
        service = ServiceType(name="110 接处警", is_sensitive=False, is_active=True)
        db.session.add(service)
        db.session.flush()
        inside, outside = date(2026, 11, 2), date(2026, 9, 30)
        for unit, officer, levels in ((a, officer_a, [4, 4, 3, 3, 3, 4, 2, 4]), (b, officer_b, [1, 2, 3])):
            for level in levels:
                invitation, _token = services.create_invitation(service_type=service, unit=unit,
                                                                badges=[officer.badge_no], reference="",
                                                                created_by=None)
                db.session.add(ResidentResponse(invitation=invitation, unit_id=unit.id, channel="link",
                                                answered_on=inside, overall=level, attitude=level,
                                                efficiency=level, fairness=level, resolved="yes"))
        db.session.add(ResidentResponse(unit_id=a.id, channel="window", answered_on=inside, overall=4, attitude=4,
                                        efficiency=4, fairness=4, resolved="yes"))
        db.session.add(ResidentResponse(unit_id=b.id, channel="window", answered_on=outside, overall=1, attitude=1,
                                        efficiency=1, fairness=1, resolved="no"))
        db.session.commit()

        values = services.soft_indicator_values(cycle)
        units = values["soft_residents"]
        assert units["level"] == "unit" and set(units["values"]) == {a.id, b.id}
        detail_a, detail_b = units["details"][a.id], units["details"][b.id]
        assert (detail_a["n"], detail_a["n_window"], detail_b["n"], detail_b["n_window"]) == (9, 1, 3, 0)
        assert detail_b["raw_rate"] == pytest.approx(0.5)  # 不满意 0, 基本满意 0.5, 满意 1
        assert detail_a["low"] <= detail_a["rate"] <= detail_a["high"]
        assert units["values"][a.id] > units["values"][b.id]
        assert units["values"][b.id] == pytest.approx(detail_b["rate"] * 100, abs=0.01)
        # Shrinkage pulls the small unit toward the group's rate.
        assert detail_b["raw_rate"] < detail_b["rate"] < detail_b["prior_rate"] + 1e-9
        officers = values["soft_residents_officer"]
        assert officers["level"] == "officer" and set(officers["values"]) == {officer_a.id, officer_b.id}
        assert officers["details"][officer_a.id]["n"] == 8  # window answers name no officer
        # A cycle may count 基本满意 as satisfied: PS02's 不满意, 基本满意, 满意 → 0, 1, 1 = 2 / 3.
        cycle.config = {**(cycle.config or {}), "assessment_options": {"basic_satisfied_credit": 1.0}}
        detail_b = services.soft_indicator_values(cycle)["soft_residents"]["details"][b.id]
        assert detail_b["raw_rate"] == pytest.approx(2 / 3, abs=1e-4) and detail_b["basic_satisfied_credit"] == 1.0

        cycle_id = cycle.id
    with app.test_client() as admin_client:
        with app.app_context():
            from ..factories import make_user

            make_user("boss", roles={"admin"})
            db.session.commit()
        admin_client.post("/login", data={"username": "boss", "password": "password123"})
        page = admin_client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True)
        assert "本周期内收到评价 12 条（一次性链接 11，窗口二维码 1）" in page

    with app.app_context():
        empty = services.soft_indicator_values(make_cycle(name="空", starts_on=date(2027, 1, 1),
                                                          ends_on=date(2027, 3, 31)))
        assert empty["soft_residents"]["values"] == {} and empty["soft_residents_officer"]["values"] == {}


def test_link_form_needs_no_session_and_refuses_cross_site_posts(app, database_url, tmp_path):
    """The link's token protects its form: no cookie, no CSRF token; a cross-site post is refused."""
    from ..conftest import make_test_app

    _id, token = make_invitation(app)
    guarded = make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert "csrf_token" not in page.get_data(as_text=True)

    forged = client.post(f"/r/{token}", data=ANSWERS, headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and "请直接打开评价链接" in forged.get_data(as_text=True)
    assert "navbar" not in forged.get_data(as_text=True)
    assert response_count(app) == 0

    answered = client.post(f"/r/{token}", data=ANSWERS, headers={"Sec-Fetch-Site": "same-origin"})
    assert answered.status_code == 302 and "Set-Cookie" not in answered.headers
    assert response_count(app) == 1
    again = client.get(f"/r/{token}").get_data(as_text=True)
    assert "您已经提交过评价" in again
    with guarded.app_context():
        db.engine.dispose()


def test_window_form_keeps_its_csrf_token(app, database_url, tmp_path):
    """The window QR's address is public: its form is protected by the session's CSRF token."""
    from ..conftest import make_test_app

    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    guarded = make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    forged = client.post("/q/PS01", data=ANSWERS)
    assert forged.status_code == 400 and "页面停留时间过长" in forged.get_data(as_text=True)
    assert response_count(app) == 0
    page = client.get("/q/PS01").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/q/PS01", data={**ANSWERS, "csrf_token": csrf}).status_code == 302
    assert response_count(app) == 1
    with guarded.app_context():
        db.engine.dispose()


def test_link_page_is_kept_per_unit_service_and_officers(app, client):
    """Unanswered pages are rendered once and kept: the same bytes for every link of a unit and
    service, and a renamed unit shows its new name at once (the name is part of the key)."""
    make_invitation(app)  # makes PS01
    with app.app_context():
        unit = db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one()
        officer = make_officer(unit, badge_no="070001", name="李明")
        db.session.commit()
        badge = officer.badge_no
    first, second = make_invitation(app)[1], make_invitation(app)[1]
    with_officer = make_invitation(app, badges=[badge])[1]
    page = client.get(f"/r/{first}").get_data()
    assert page == client.get(f"/r/{second}").get_data()
    assert first.encode() not in page  # nothing of the token in the page: it posts back to its address
    assert "李明".encode() in client.get(f"/r/{with_officer}").get_data()
    with app.app_context():
        db.session.execute(sa.update(Unit).where(Unit.code == "PS01").values(name="新名派出所"))
        db.session.commit()
    assert "新名派出所" in client.get(f"/r/{second}").get_data(as_text=True)
    refused = client.post(f"/r/{first}", data={**ANSWERS, "overall": "9", "comment": "门口太挤"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "请从给出的选项中选择" in text and "门口太挤" in text
    assert response_count(app) == 0
    assert client.get(f"/r/{first}").get_data() == client.get(f"/r/{second}").get_data()


def test_a_locked_database_gives_a_friendly_page_never_a_500(app, client, monkeypatch):
    """SQLite racing writers may see "database is locked": the view retries, then answers kindly."""
    from sqlalchemy.exc import OperationalError

    _id, token = make_invitation(app)
    calls = []

    def locked(*args, **kwargs):
        calls.append(1)
        raise OperationalError("UPDATE resident_invitation", {}, Exception("database is locked"))

    monkeypatch.setattr(services, "submit_link_response", locked)
    busy = client.post(f"/r/{token}", data=ANSWERS)
    assert busy.status_code == 503 and "请稍后再提交一次" in busy.get_data(as_text=True)
    assert len(calls) == 3 and response_count(app) == 0
    with app.app_context():  # someone else's submit got there first: then it is "already answered"
        db.session.execute(sa.update(ResidentInvitation).values(used_at=utcnow()))
        db.session.commit()
    lost = client.post(f"/r/{token}", data=ANSWERS)
    assert lost.status_code == 200 and "您已经提交过评价" in lost.get_data(as_text=True)


def test_window_honeypot_stores_nothing(app, client):
    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    response = client.post("/q/PS01", data={**ANSWERS, "website": "x"})
    assert response.status_code == 302 and response_count(app) == 0


def test_follow_up_and_answer_list_show_the_satisfaction_words(app, client, auth):
    """The levels are shown in each question's own words (overall 不满意, attitude 一般, efficiency 较快,
    fairness 完全公正 for 1, 2, 3, 4), whatever other features call their labels."""
    _id, token = make_invitation(app)
    client.post(f"/r/{token}", data={**ANSWERS, "overall": "1", "attitude": "2", "efficiency": "3",
                                     "fairness": "4"})
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        item_id = db.session.execute(sa.select(FollowUp.id)).scalar_one()
    page = client.get(f"/residents/follow-ups/{item_id}").get_data(as_text=True)
    for word in ("不满意", "一般", "较快", "完全公正"):
        assert f'<dd class="col-7">{word}</dd>' in page, word
    listing = client.get("/residents/responses").get_data(as_text=True)
    assert "<td>不满意</td><td>一般</td><td>较快</td><td>完全公正</td>" in listing


def _question_options(page: str, name: str) -> list[tuple[str, str]]:
    """(stored value, label) of one question's answer buttons, in the order shown."""
    return re.findall(rf'name="{name}" id="{name}-\d+" value="(\d)"[^>]*>\s*<label[^>]*>([^<]+)</label>', page)


def test_each_resident_question_is_answered_in_words_that_fit_it(app, client):
    """"办事是否公正" is answered 完全公正 … 不公正, not 很满意 …, on the link form and the window QR form,
    on the same stored scale 4 (best) … 1 (worst)."""
    _id, token = make_invitation(app)
    link = client.get(f"/r/{token}").get_data(as_text=True)
    window = client.get("/q/PS01").get_data(as_text=True)
    expected = {
        "overall": [("4", "很满意"), ("3", "满意"), ("2", "基本满意"), ("1", "不满意")],
        "attitude": [("4", "很好"), ("3", "较好"), ("2", "一般"), ("1", "差")],
        "efficiency": [("4", "很快"), ("3", "较快"), ("2", "一般"), ("1", "慢")],
        "fairness": [("4", "完全公正"), ("3", "比较公正"), ("2", "基本公正"), ("1", "不公正")],
    }
    for page in (link, window):
        for name, options in expected.items():
            assert _question_options(page, name) == options, name
    # the stored scale is unchanged: 不公正 is stored as 1
    client.post(f"/r/{token}", data={**ANSWERS, "fairness": "1"})
    with app.app_context():
        stored = db.session.execute(sa.select(ResidentResponse)).scalar_one()
        assert stored.fairness == 1
