"""The notification core: each user is told about an event once, in their own language."""
import pytest
from flask_babel import force_locale

from app.extensions import db
from app.models import Notification
from app.notify import services
from app.notify.kinds import render
from app.notify.services import Notice, notify, notify_many, unread_count
from tests.factories import make_user


def test_an_event_tells_each_user_once_however_often_it_is_raised(app):
    with app.app_context():
        users = [make_user(f"n{i}") for i in range(3)]
        db.session.commit()
        ids = [u.id for u in users]
        params = {"cycle": "2026年第四季度", "count": 4, "deadline": "2026-12-20"}
        first = notify(ids[:2], "cycle_opened", "cycle:1:opened", link="/feedback/", params=params)
        again = notify(ids, "cycle_opened", "cycle:1:opened", link="/feedback/", params=params)
        db.session.commit()
        assert len(first) == 2 and len(again) == 1  # only the third user was new
        assert db.session.query(Notification).count() == 3
        assert [unread_count(i) for i in ids] == [1, 1, 1]


def test_many_events_go_in_together_in_chunks_and_still_tell_each_user_once(app, monkeypatch):
    monkeypatch.setattr(services, "_CHUNK", 2)  # rows of different events share a statement
    with app.app_context():
        ids = [make_user(f"m{i}").id for i in range(3)]
        db.session.commit()
        notices = [Notice(ids, "follow_up_due_soon", f"follow_up:{item}:due_soon", link=f"/residents/follow-ups/{item}",
                          params={"unit": "城关派出所", "due": "2026-12-01"}) for item in (1, 2, 3)]
        assert len(notify_many(notices)) == 9
        assert notify_many(notices) == [] and notify_many([]) == []
        db.session.commit()
        assert [unread_count(i) for i in ids] == [3, 3, 3]


def test_the_message_is_rendered_in_the_readers_language(app):
    params = {"cycle": "Q4", "count": 2, "deadline": "2026-12-20"}
    with app.test_request_context():
        with force_locale("zh"):
            assert render("cycle_opened", params) == "评价周期「Q4」已开启，您有 2 份评价待填写，截止 2026-12-20。"
        with force_locale("en"):
            assert "Q4" in render("cycle_opened", params) and "2026-12-20" in render("cycle_opened", params)
            assert "评价" not in render("cycle_opened", params)
        assert render("no_such_kind", {}) == "您有一条新通知。"


def test_unknown_kinds_and_outside_links_are_refused(app):
    with app.app_context():
        user = make_user("n9")
        db.session.commit()
        with pytest.raises(ValueError):
            notify([user.id], "no_such_kind", "x")
        with pytest.raises(ValueError):
            notify([user.id], "cycle_opened", "x", link="https://example.org/")
