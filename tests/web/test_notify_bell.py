"""The bell: officers are told a 360 cycle opened, see the count on every page, follow a message to
the thing concerned (which marks it read), and are reminded before the deadline only while they owe."""
import re
from datetime import date, timedelta

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.extensions import db
from app.models import Assignment, Cycle, Job, Notification, ReminderSchedule, Unit, User
from app.notify.reminders import run_reminders, tick
from app.notify.services import notify

from ..factories import make_officer, make_user
from .feedback_helpers import build_world


def told(app, username, kind=None):
    """The notifications of ``username`` (optionally of one kind)."""
    with app.app_context():
        query = (sa.select(Notification).join(User, User.id == Notification.user_id)
                 .where(User.username == username))
        if kind:
            query = query.where(Notification.kind == kind)
        rows = db.session.execute(query).scalars().all()
        return [(n.kind, n.event_key, dict(n.params), n.link) for n in rows]


def bell(html: str) -> int:
    match = re.search(r'id="bell-count"[^>]*>(\d+)<', html)
    return int(match.group(1)) if match else 0


def test_an_opened_cycle_tells_each_rater_once_with_their_count_and_no_names(app):
    world = build_world(app, members=4, open_cycle=False)
    with app.app_context():
        unit = db.session.get(Unit, world.unit_id)
        make_user("newcomer", officer=make_officer(unit, name="新民警"))  # joined after the design: nothing to rate
        transition_cycle(db.session.get(Cycle, world.cycle_id), "open")
        db.session.commit()
        owed = dict(db.session.execute(
            sa.select(User.username, sa.func.count(Assignment.id))
            .join(Assignment, Assignment.rater_id == User.officer_id)
            .where(Assignment.cycle_id == world.cycle_id).group_by(User.username)).all())
    for name in ("m0", "m1", "leader"):
        rows = told(app, name, "cycle_opened")
        assert len(rows) == 1
        kind, key, params, link = rows[0]
        assert key == f"cycle:{world.cycle_id}:opened" and link == "/feedback/"
        assert params["count"] == owed[name]
        # Nobody's name: not whom they rate, not who rates them.
        assert set(params) == {"cycle", "count", "deadline"}
    assert told(app, "newcomer") == []  # no ratings to give in this cycle


def test_the_bell_counts_unread_and_following_a_message_marks_it_read(app, client, auth):
    build_world(app, members=3)
    auth.login("m0")
    page = client.get("/")
    assert bell(page.get_data(as_text=True)) == 1
    assert "通知：1 条未读" in page.get_data(as_text=True)  # the count is in the bell's label
    listing = client.get("/notifications/").get_data(as_text=True)
    assert "已开启" in listing and "份评价待填写" in listing
    with app.app_context():
        item = db.session.execute(sa.select(Notification).join(User).where(User.username == "m0")).scalar_one()
        item_id = item.id
    followed = client.get(f"/notifications/{item_id}/open")
    assert followed.status_code == 302 and followed.headers["Location"].endswith("/feedback/")
    assert bell(client.get("/").get_data(as_text=True)) == 0
    # In English the same message reads in English.
    client.post("/lang/en", data={"next": "/"})
    english = client.get("/notifications/").get_data(as_text=True)
    assert "ratings to give" in english


def test_a_reader_cannot_open_anothers_message_and_an_outside_link_is_not_followed(app, client, auth):
    build_world(app, members=2)
    with app.app_context():
        theirs = db.session.execute(sa.select(Notification.id).join(User).where(User.username == "m1")).scalar_one()
        me = db.session.execute(sa.select(User.id).filter_by(username="m0")).scalar_one()
        # A row written past notify()'s check (an old row, a bug): the redirect still stays on the site.
        db.session.add(Notification(user_id=me, kind="cycle_opened", event_key="odd", params={},
                                    link="//evil.example/"))
        db.session.commit()
        odd = db.session.execute(sa.select(Notification.id).filter_by(event_key="odd")).scalar_one()
    auth.login("m0")
    assert client.get(f"/notifications/{theirs}/open").status_code == 404
    response = client.get(f"/notifications/{odd}/open")
    assert response.headers["Location"].endswith("/notifications/")
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def test_mark_all_read_and_the_list_is_paginated_newest_first(app, client, auth):
    with app.app_context():
        user = make_user("reader")
        db.session.commit()
        for i in range(30):
            notify([user.id], "nomination_approved", f"n:{i}", link="/feedback/nominations",
                   params={"cycle": f"C{i:02d}"})
        db.session.commit()
    auth.login("reader")
    first = client.get("/notifications/").get_data(as_text=True)
    assert "C29" in first and "C00" not in first and "共 30 条" in first
    assert "C00" in client.get("/notifications/?page=2").get_data(as_text=True)
    assert client.get("/notifications/?page=99999999999").status_code == 200
    client.post("/notifications/read-all")
    assert bell(client.get("/").get_data(as_text=True)) == 0


def owing_world(app, days_left):
    world = build_world(app, members=4, deadline=date.today() + timedelta(days=days_left))
    with app.app_context():
        m0 = db.session.execute(sa.select(User.officer_id).filter_by(username="m0")).scalar_one()
        db.session.execute(sa.update(Assignment).where(Assignment.rater_id == m0).values(status="submitted"))
        db.session.commit()
    return world


def test_the_deadline_digest_reaches_only_officers_who_still_owe_once_a_day(app):
    owing_world(app, days_left=3)
    with app.app_context():
        first = run_reminders(date.today())
        again = run_reminders(date.today())
        db.session.commit()
    assert first["ratings_due"] > 0 and again["ratings_due"] == 0
    assert told(app, "m0", "ratings_due") == []  # done: not reminded
    rows = told(app, "m1", "ratings_due")
    assert len(rows) == 1 and rows[0][2]["days"] == 3 and rows[0][2]["count"] > 0
    assert rows[0][1] == f"ratings_due:{date.today().isoformat()}"
    with app.app_context():  # the next configured day reminds again
        run_reminders(date.today() + timedelta(days=2))
        db.session.commit()
    assert len(told(app, "m1", "ratings_due")) == 2


def test_no_digest_on_days_not_in_the_schedule(app):
    owing_world(app, days_left=5)
    with app.app_context():
        assert run_reminders(date.today())["ratings_due"] == 0
        db.session.get(ReminderSchedule, 1).days_before = "5"
        db.session.commit()
        assert run_reminders(date.today())["ratings_due"] > 0


def test_the_schedule_page_saves_refuses_bad_input_and_shows_the_runs(app, client, auth):
    auth.as_role("admin")
    page = client.get("/notifications/schedule").get_data(as_text=True)
    assert "7,3,1" in page and "08:00" in page and "尚未运行" in page
    bad = client.post("/notifications/schedule", data={"days_before": "7, soon", "time_of_day": "25:99"})
    assert bad.status_code == 200 and "例如 7,3,1" in bad.get_data(as_text=True)
    bad = client.post("/notifications/schedule", data={"days_before": "5,2", "time_of_day": "25:99"})
    assert "请按 时:分 填写时间" in bad.get_data(as_text=True)
    client.post("/notifications/schedule", data={"days_before": "2, 5", "time_of_day": "09:30"})
    with app.app_context():
        schedule = db.session.get(ReminderSchedule, 1)
        assert (schedule.days_before, schedule.run_minute) == ("5,2", 570)
    ran = client.post("/notifications/schedule/run")
    assert ran.status_code == 302 and "/jobs/" in ran.headers["Location"]
    page = client.get("/notifications/schedule").get_data(as_text=True)
    assert "尚未运行" not in page and "09:30" in page


def test_the_beat_queues_the_days_run_once_after_its_time(app):
    from datetime import datetime

    with app.app_context():
        before = datetime(2026, 12, 1, 23, 0)  # 07:00 on 2 Dec in Shanghai: before 08:00
        after = datetime(2026, 12, 2, 0, 30)  # 08:30
        assert tick(before) is None
        assert tick(after) is not None
        assert tick(after) is None  # the day's run was queued (and, eager in tests, has run)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.kind == "reminders")) == 1


def test_send_reminders_cli_runs_for_a_given_day(app):
    owing_world(app, days_left=1)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders", "--date", date.today().isoformat()])
    assert result.exit_code == 0, result.output
    assert "ratings_due" in result.output
    assert len(told(app, "m1", "ratings_due")) == 1
    again = runner.invoke(args=["send-reminders", "--date", date.today().isoformat()])
    assert again.exit_code == 0 and len(told(app, "m1", "ratings_due")) == 1
    assert runner.invoke(args=["send-reminders", "--date", "tomorrow"]).exit_code != 0
