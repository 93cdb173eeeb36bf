"""The notification settings page, the admin's user form and delivery log, and residents' SMS."""
from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AuditLog,
    Delivery,
    NotificationPreference,
    ResidentContact,
    ResidentInvitation,
    ResidentSms,
    ServiceType,
    User,
    utcnow,
)
from app.notify.delivery import send_due
from app.notify.services import notify
from app.residents.sms import send_due_resident_sms

from ..conftest import Auth, make_test_app
from .notify_standins import channel_config, gateway_fixture, mailbox_fixture  # noqa: F401 - fixtures
from .test_residents import ANSWERS


def channel_app(database_url, tmp_path, gateway, mailbox, **overrides):
    return make_test_app(database_url, tmp_path, **channel_config(gateway, mailbox, **overrides))


def test_a_user_sets_their_addresses_and_channels_and_bad_formats_are_explained(app, database_url, tmp_path,
                                                                                gateway, mailbox):
    site = channel_app(database_url, tmp_path, gateway, mailbox)
    client = site.test_client()
    Auth(site, client).as_role("officer", username="wang")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'name="pref-cycle_opened-sms"' in page and "checked" in page

    bad = client.post("/account/notifications", data={"mobile": "12345", "email": "not-an-address"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "手机号格式不正确" in text and "电子邮箱格式不正确" in text

    saved = client.post("/account/notifications", data={
        "mobile": "+86 138-0000-0001", "email": "Wang@Bureau.example", "pref-cycle_opened-email": "on",
        "pref-ratings_due-sms": "on", "pref-ratings_due-email": "on"}, follow_redirects=True)
    assert "通知设置已保存" in saved.get_data(as_text=True)
    with site.app_context():
        user = db.session.execute(sa.select(User).filter_by(username="wang")).scalar_one()
        assert (user.mobile, user.email) == ("13800000001", "wang@bureau.example")
        off = db.session.execute(sa.select(NotificationPreference.kind, NotificationPreference.channel)
                                 .where(NotificationPreference.is_enabled.is_(False))).all()
        off_pairs = {tuple(r) for r in off}  # every box left unticked is off; the ticked ones stay on
        assert ("cycle_opened", "sms") in off_pairs
        assert not off_pairs & {("cycle_opened", "email"), ("ratings_due", "sms"), ("ratings_due", "email")}
        audit = db.session.execute(sa.select(AuditLog).filter_by(action="user_contact_saved")).scalar_one()
        assert "13800000001" not in str(audit.after)  # the log says what changed, not the number
        notify([user.id], "cycle_opened", "cycle:1:opened", params={"cycle": "Q4", "count": 1, "deadline": "x"})
        db.session.commit()
    assert gateway.received == [] and [m["To"] for m in mailbox.messages] == ["wang@bureau.example"]


def test_the_admin_sets_a_users_addresses_and_reads_the_delivery_log_without_secrets(
        app, database_url, tmp_path, gateway, mailbox):
    site = channel_app(database_url, tmp_path, gateway, mailbox, SMS_GATEWAY_TOKEN="s3cret-token",
                       SMTP_PASSWORD="mail-pass", SMTP_USER="")
    client = site.test_client()
    auth = Auth(site, client)
    auth.as_role("officer", username="wang")
    auth.logout()
    auth.as_role("admin", username="boss")
    with site.app_context():
        user_id = db.session.execute(sa.select(User.id).filter_by(username="wang")).scalar_one()
    form = client.get(f"/admin/users/{user_id}/edit").get_data(as_text=True)
    assert 'name="mobile"' in form and 'name="email"' in form
    bad = client.post(f"/admin/users/{user_id}/edit", data={"username": "wang", "badge_no": "", "roles": ["admin"],
                                                            "mobile": "99", "email": ""})
    assert "手机号格式不正确" in bad.get_data(as_text=True)
    with site.app_context():
        badge = db.session.get(User, user_id).officer.badge_no
    client.post(f"/admin/users/{user_id}/edit", data={"username": "wang", "badge_no": badge, "roles": ["officer"],
                                                      "mobile": "13800000009", "email": "wang@bureau.example"})
    gateway.script = [500]
    with site.app_context():
        assert db.session.get(User, user_id).mobile == "13800000009"
        notify([user_id], "cycle_opened", "cycle:1:opened", link="/feedback/",
               params={"cycle": "Q4", "count": 1, "deadline": "2026-12-20"})
        db.session.commit()
    log = client.get("/admin/deliveries").get_data(as_text=True)
    assert "等待重试" in log and "HTTP 500" in log and "已发送" in log and "已配置" in log
    assert "s3cret-token" not in log and "mail-pass" not in log and "13800000009" not in log
    only_failed = client.get("/admin/deliveries?status=retrying&channel=sms").get_data(as_text=True)
    assert "HTTP 500" in only_failed and "已发送" not in only_failed.split('id="delivery-log"')[1]
    assert client.get("/admin/deliveries?status=bogus&page=999999999999").status_code == 200
    assert client.get("/admin/deliveries?since=2026-12-10&until=2026-12-01").status_code == 200
    auth.logout()
    auth.as_role("officer", username="li")
    assert client.get("/admin/deliveries").status_code == 403


BATCH = """业务编号,业务类型,单位代码,手机号,民警警号,办理状态
J001,110 接处警,PS01,13800000001,,已办结
J002,110 接处警,PS01,13800000002,,已办结
J003,110 接处警,PS01,13800000003,,已办结
"""


def test_batch_invitations_go_by_sms_with_one_reminder_only_to_who_has_not_answered(
        app, database_url, tmp_path, gateway, mailbox):
    site = channel_app(database_url, tmp_path, gateway, mailbox, RESIDENT_BASE_URL="https://pj.bureau.example")
    client = site.test_client()
    Auth(site, client).as_role("admin", username="boss")
    with site.app_context():
        db.session.add(ServiceType(name="110 接处警"))
        db.session.commit()
    page = client.post("/residents/batch", data={"file": (io.BytesIO(BATCH.encode()), "records.csv"), "submit": "1"},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "正在通过短信平台发送" in page.get_data(as_text=True)
    assert sorted(m["phone"] for m in gateway.received) == ["13800000001", "13800000002", "13800000003"]
    links = {m["phone"]: m["text"].split("：", 1)[1].strip() for m in gateway.received}
    assert all(link.startswith("https://pj.bureau.example/r/") for link in links.values())

    answer = client.post(links["13800000001"].replace("https://pj.bureau.example", ""), data=ANSWERS)
    assert answer.status_code in (200, 302)
    with site.app_context():
        dump = " ".join(str(v) for t in (ResidentSms.__table__, Delivery.__table__, AuditLog.__table__)
                        for row in db.session.execute(sa.select(t)).all() for v in row)
        assert not any(link.rsplit("/", 1)[1] in dump for link in links.values())  # no token in any log
        later = utcnow() + timedelta(days=3, minutes=1)
        send_due_resident_sms(later)
        send_due_resident_sms(later + timedelta(days=1))  # and never a second reminder
        reminders = [m for m in gateway.received if "还未评价" in m["text"]]
        assert sorted(m["phone"] for m in reminders) == ["13800000002", "13800000003"]
        assert all(m["text"].split("：", 1)[1].strip() == links[m["phone"]] for m in reminders)  # the same link
        contacts = db.session.execute(sa.select(ResidentContact)).scalars().all()
        assert len(contacts) == 3 and all(c.phone is None and c.sealed_token is None for c in contacts)
        statuses = sorted(db.session.execute(sa.select(ResidentSms.purpose, ResidentSms.status)).all())
        assert [tuple(s) for s in statuses] == [("invite", "sent")] * 3 + [("reminder", "cancelled")] + [
            ("reminder", "sent")] * 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentInvitation)) == 3
    assert len(gateway.received) == 5 and not any(m["duplicate"] for m in gateway.received)
    residents_log = client.get("/admin/deliveries?log=residents").get_data(as_text=True)
    assert "评价邀请" in residents_log and "13800000002" not in residents_log
    # Reminders are only counted: a row per invitation would tell which resident answered.
    table = residents_log.split('id="delivery-log"')[1]
    assert table.count("<tr>") == 1 + 3 and "提醒" not in table
    summary = residents_log.split('id="reminder-summary"')[1].split("</div></div>")[0]
    assert "已发送 2" in summary and "已取消 1" in summary and "answered" not in residents_log


def test_without_a_gateway_the_batch_still_gives_the_links_file(app, database_url, tmp_path):
    site = make_test_app(database_url, tmp_path)
    client = site.test_client()
    Auth(site, client).as_role("admin", username="boss")
    with site.app_context():
        db.session.add(ServiceType(name="110 接处警"))
        db.session.commit()
    download = client.post("/residents/batch", data={"file": (io.BytesIO(BATCH.encode()), "records.csv"),
                                                     "fmt": "csv", "submit": "1"}, content_type="multipart/form-data")
    assert download.mimetype == "text/csv" and "13800000001" in download.get_data(as_text=True)
    with site.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResidentSms)) == 0
        assert send_due() == {}
