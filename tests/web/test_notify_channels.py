"""Notifications by SMS and e-mail against a real SMTP server and an SMS gateway stand-in started by
the test: each message arrives once, failures are retried, given up and said so, nothing is doubled."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.localtime import bureau_zone
from app.models import Delivery, NotificationPreference, User, utcnow
from app.notify.delivery import claim, send_delivery, send_due
from app.notify.services import notify

from ..conftest import make_test_app
from ..factories import make_user
from .notify_standins import channel_config, free_port, gateway_fixture, mailbox_fixture  # noqa: F401 - fixtures

PARAMS = {"cycle": "2026年第四季度", "count": 3, "deadline": "2026-12-20"}


@pytest.fixture
def make_app(app, database_url, tmp_path, gateway, mailbox):
    """An app whose channels point at this test's stand-ins (``app`` empties the tables afterwards)."""
    def build(**overrides):
        return make_test_app(database_url, tmp_path, **channel_config(gateway, mailbox, **overrides))
    return build


def add_user(name, mobile=None, email=None, language="zh") -> int:
    user = make_user(name)
    user.mobile, user.email, user.language = mobile, email, language
    db.session.commit()
    return user.id


def deliveries() -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Delivery).order_by(Delivery.id)).scalars())


def test_each_user_gets_one_sms_and_one_email_in_their_language_with_a_plain_link(make_app, gateway, mailbox):
    app = make_app()
    with app.app_context():
        zh = add_user("wang", mobile="13800000001", email="wang@bureau.example")
        en = add_user("lee", mobile="13800000002", email="lee@bureau.example", language="en")
        nobody = add_user("zhao")  # no address: the bell only
        for _ in range(2):  # the same event raised twice (a retried request, a second worker)
            notify([zh, en, nobody], "cycle_opened", "cycle:1:opened", link="/feedback/", params=PARAMS)
            db.session.commit()  # the send job runs as the request commits (JOBS_BACKEND eager in tests)
        assert sorted(m["phone"] for m in gateway.received) == ["13800000001", "13800000002"]
        assert sorted(m["To"] for m in mailbox.messages) == ["lee@bureau.example", "wang@bureau.example"]
        texts = {m["phone"]: m["text"] for m in gateway.received}
        assert texts["13800000001"].startswith("评价周期「2026年第四季度」已开启")
        assert "评价" not in texts["13800000002"] and "2026年第四季度" in texts["13800000002"]
        for text in [*texts.values(), *(m.get_content() for m in mailbox.messages)]:
            assert text.rstrip().endswith("https://kaoping.bureau.example/feedback/")  # a path, no token
        assert {d.status for d in deliveries()} == {"sent"} and len(deliveries()) == 4
        assert all(d.attempts == 1 and d.sent_at for d in deliveries())


def test_a_user_who_turned_a_channel_off_is_not_sent_it(make_app, gateway, mailbox):
    app = make_app()
    with app.app_context():
        user = add_user("wang", mobile="13800000001", email="wang@bureau.example")
        db.session.add(NotificationPreference(user_id=user, kind="cycle_opened", channel="sms", is_enabled=False))
        db.session.commit()
        notify([user], "cycle_opened", "cycle:1:opened", link="/feedback/", params=PARAMS)
        db.session.commit()
        assert gateway.received == [] and len(mailbox.messages) == 1


def test_an_unconfigured_channel_sends_nothing_and_records_nothing(app, database_url, tmp_path):
    bare = make_test_app(database_url, tmp_path)  # no gateway, no SMTP: the bell alone
    with bare.app_context():
        user = add_user("wang", mobile="13800000001", email="wang@bureau.example")
        assert notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        assert deliveries() == []


def test_refused_connection_is_retried_and_then_sent_once(make_app, gateway, mailbox):
    app = make_app(SMS_GATEWAY_URL=f"http://127.0.0.1:{free_port()}/sms", SMTP_PORT=free_port())  # nobody there
    with app.app_context():
        user = add_user("wang", mobile="13800000001", email="wang@bureau.example")
        notify([user], "cycle_opened", "cycle:1:opened", link="/feedback/", params=PARAMS)
        db.session.commit()
        assert [(d.status, d.attempts) for d in deliveries()] == [("retrying", 1), ("retrying", 1)]
        assert all("connection" in d.last_error for d in deliveries())
        app.config.update(SMS_GATEWAY_URL=gateway.url, SMTP_PORT=mailbox.port)  # the gateway is back
        send_due()
        send_due()  # a second sweep finds nothing more to send
        assert [(d.status, d.attempts) for d in deliveries()] == [("sent", 2), ("sent", 2)]
        assert len(gateway.received) == 1 and len(mailbox.messages) == 1


def test_a_gateway_error_is_retried_with_the_providers_answer_kept(make_app, gateway):
    app = make_app(SMTP_HOST="")
    gateway.script = [500, 503]
    with app.app_context():
        user = add_user("wang", mobile="13800000001")
        notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        (first,) = deliveries()
        assert first.status == "retrying" and first.last_error == "HTTP 500" and "500" in first.provider_response
        send_due()
        send_due()
        (done,) = deliveries()
        assert (done.status, done.attempts) == ("sent", 3) and '"id"' in done.provider_response
        assert [m["client_msg_id"] for m in gateway.received] == [f"kaoping-d{done.id}"]


def test_a_timeout_is_retried_and_the_repeat_is_recognised_by_its_message_id(make_app, gateway):
    app = make_app(SMTP_HOST="", SMS_GATEWAY_TIMEOUT=0.3)
    gateway.script, gateway.hang_seconds = ["hang"], 1.0  # answers too late, after it took the message
    with app.app_context():
        user = add_user("wang", mobile="13800000001")
        notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        (first,) = deliveries()
        assert first.status == "retrying" and "timeout" in first.last_error
        threading.Event().wait(1.0)  # the stand-in finishes the late answer
        send_due()
        (done,) = deliveries()
        assert done.status == "sent"
        ids = [m["client_msg_id"] for m in gateway.received]
        assert set(ids) == {f"kaoping-d{done.id}"}  # one message; any repeat carried the same id
        assert [m["duplicate"] for m in gateway.received] == [False, True][:len(ids)]


def test_a_lasting_failure_is_given_up_after_the_configured_attempts_and_says_so(make_app, gateway):
    app = make_app(SMTP_HOST="", NOTIFY_MAX_ATTEMPTS=3)
    gateway.script = [500, 500, 500, 500]
    with app.app_context():
        user = add_user("wang", mobile="13800000001")
        notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        for _ in range(4):
            send_due()
        (done,) = deliveries()
        assert (done.status, done.attempts) == ("given_up", 3) and "gave up after 3 attempts" in done.last_error
        assert gateway.script == [500] and gateway.received == []


def test_a_refused_request_or_address_fails_at_once(make_app, gateway, mailbox):
    app = make_app()
    gateway.script = [400]
    with app.app_context():
        user = add_user("wang", mobile="13800000001", email="wang@refuse.example")
        notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        send_due()
        assert [(d.channel, d.status, d.attempts) for d in deliveries()] == [("sms", "failed", 1),
                                                                             ("email", "failed", 1)]
        assert "550" in deliveries()[1].provider_response and mailbox.messages == []


def test_quiet_hours_hold_an_sms_until_the_morning_but_not_the_email(make_app, gateway, mailbox):
    app = make_app()
    with app.app_context():
        local = datetime.now(UTC).astimezone(bureau_zone())
        start, end = local - timedelta(hours=1), local + timedelta(hours=1)
        app.config["SMS_QUIET_HOURS"] = f"{start:%H}:00-{end:%H}:00"
        user = add_user("wang", mobile="13800000001", email="wang@bureau.example")
        notify([user], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        sms, email = deliveries()
        assert email.status == "sent" and sms.status == "queued" and gateway.received == []
        morning = end.replace(minute=0, second=0, microsecond=0).astimezone(UTC).replace(tzinfo=None)
        assert sms.next_attempt_at == morning
        send_due(now=morning - timedelta(minutes=1))
        assert gateway.received == []
        send_due(now=morning)
        assert deliveries()[0].status == "sent" and len(gateway.received) == 1


def queue_by_hand(app, user_ids) -> list[int]:
    """Notifications with SMS deliveries queued but not sent (as if the job had not run yet)."""
    url, app.config["SMS_GATEWAY_URL"] = app.config["SMS_GATEWAY_URL"], ""
    ids = notify(user_ids, "ratings_due", "cycle:1:due", params={"cycle": "Q4", "days": 1, "count": 2})
    db.session.add_all(Delivery(notification_id=i, channel="sms") for i in ids)
    db.session.commit()
    app.config["SMS_GATEWAY_URL"] = url
    return [d.id for d in deliveries()]


def test_two_workers_claiming_the_same_delivery_send_it_once(make_app, gateway):
    app = make_app(SMTP_HOST="")
    with app.app_context():
        (delivery_id,) = queue_by_hand(app, [add_user("wang", mobile="13800000001")])
        now = utcnow()
        assert claim(Delivery, delivery_id, 0, now) is True
        assert claim(Delivery, delivery_id, 0, now) is False  # the other worker read the same row: it loses
        assert send_delivery(delivery_id, now) == "taken" and gateway.received == []


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgres"),
                    reason="concurrent writers need PostgreSQL")
def test_concurrent_sends_on_two_connections_send_each_message_once(make_app, gateway):
    app = make_app(SMTP_HOST="")
    with app.app_context():
        delivery_ids = queue_by_hand(app, [add_user(f"u{i}", mobile=f"1380000{i:04d}") for i in range(20)])
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                for delivery_id in delivery_ids:
                    send_delivery(delivery_id)
        except BaseException as error:  # noqa: B036 - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert [d.status for d in deliveries()] == ["sent"] * 20
    assert len(gateway.received) == 20 and not any(m["duplicate"] for m in gateway.received)


def test_deactivated_users_and_removed_addresses_are_not_sent_to(make_app, gateway):
    app = make_app(SMTP_HOST="", SMS_QUIET_HOURS="")
    with app.app_context():
        user_id = add_user("wang", mobile="13800000001")
        gateway.script = [500]
        notify([user_id], "cycle_opened", "cycle:1:opened", params=PARAMS)
        db.session.commit()
        user = db.session.get(User, user_id)
        user.mobile = None
        db.session.commit()
        send_due()
        (row,) = deliveries()
        assert row.status == "failed" and row.last_error == "no address" and gateway.received == []


def test_the_send_notifications_command_sends_what_is_due(make_app, gateway):
    app = make_app(SMTP_HOST="")
    with app.app_context():
        queue_by_hand(app, [add_user("wang", mobile="13800000001")])
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0 and "sent: 1" in result.output
    assert len(gateway.received) == 1
    assert "nothing due" in app.test_cli_runner().invoke(args=["send-notifications"]).output


def test_quiet_hours_are_checked_when_the_app_starts(app, database_url, tmp_path):
    from app.config import ConfigError
    from app.notify.quiet import parse_quiet_hours

    assert parse_quiet_hours("21:00-08:00") is not None and parse_quiet_hours("") is None
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        make_test_app(database_url, tmp_path, SMS_QUIET_HOURS="9pm to 8am")
