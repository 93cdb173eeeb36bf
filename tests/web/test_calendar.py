"""The holiday calendar (节假日日历): the office's days override the installed chinese-calendar and
give a year it does not know its working days; without them a notice refuses to start."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import AuditLog, CalendarDay
from app.results import calendar
from app.results.calendar import is_workday, notice_period, working_days_left

# The installed package stops at 2026 (chinese-calendar 1.11); 2027 stands for any year it does not know.
UNKNOWN = 2027


def test_a_year_nobody_knows_refuses_a_notice_but_shows_days_left(ctx):
    if calendar.package_knows(UNKNOWN):
        pytest.skip("the installed chinese-calendar knows 2027")
    with pytest.raises(DomainError, match="节假日日历"):
        notice_period(date(2026, 12, 30), 5)
    # Display only: counted Monday to Friday rather than failing the page.
    assert working_days_left(date(2027, 1, 4), date(2027, 1, 8)) == 5


def test_entered_days_give_an_unknown_year_its_working_days_and_override_a_known_one(ctx):
    if calendar.package_knows(UNKNOWN):
        pytest.skip("the installed chinese-calendar knows 2027")
    calendar.save_days("2027-01-01 休 元旦\n2027-01-04 休\n\n2027-01-09 班 调休", None)
    db.session.commit()
    # Approved Wed 30 Dec 2026: Thu 31 Dec; Fri 1 Jan off, the weekend, Mon 4 off; Tue 5 to Fri 8 → five.
    assert notice_period(date(2026, 12, 30), 5) == (date(2026, 12, 31), date(2027, 1, 8))
    assert is_workday(date(2027, 1, 9)) and not is_workday(date(2027, 1, 10))
    # An entry overrides the package in a year it knows (a bureau-wide change it has not caught up with).
    assert is_workday(date(2026, 12, 25))
    calendar.save_days("2026-12-25 休 更正", None)
    db.session.commit()
    assert not is_workday(date(2026, 12, 25))
    # Entering a day again replaces it.
    calendar.save_days("2027-01-04 班", None)
    db.session.commit()
    assert is_workday(date(2027, 1, 4))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 4


@pytest.mark.parametrize("text, words", [
    ("2027-13-01 休", "第 1 行"), ("2027-01-01 休\n明天 休", "第 2 行"), ("2027-01-01", "第 1 行"),
    ("   \n ", "至少"), ("2027-01-01 放", "第 1 行"),
])
def test_bad_lines_are_named_and_nothing_is_stored(ctx, text, words):
    with pytest.raises(DomainError, match=words):
        calendar.save_days(text, None)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarDay)) == 0


def test_the_admin_page_enters_lists_and_removes_days(app, client, auth):
    auth.as_role("officer", username="cop")
    assert client.get("/results/calendar").status_code == 403
    auth.logout()
    auth.as_role("admin", username="office")
    page = client.get(f"/results/calendar?year={UNKNOWN}").get_data(as_text=True)
    if not calendar_knows(app):
        assert "无法计算" in page
    bad = client.post(f"/results/calendar?year={UNKNOWN}", data={"days": "2027-01-01 休\n2027-02-30 休"})
    assert "第 2 行" in bad.get_data(as_text=True)
    saved = client.post(f"/results/calendar?year={UNKNOWN}", follow_redirects=True,
                        data={"days": "2027-01-01 休 元旦\n2027-02-06 班 春节调休"}).get_data(as_text=True)
    assert "已保存 2 天" in saved and 'data-day="2027-02-06"' in saved and "春节调休" in saved
    removed = client.post("/results/calendar/2027-01-01/remove", follow_redirects=True).get_data(as_text=True)
    assert "已删除" in removed and 'data-day="2027-01-01"' not in removed
    assert client.post("/results/calendar/not-a-day/remove").status_code == 404
    page = client.get("/results/calendar?year=99999")
    assert page.status_code == 200
    with app.app_context():
        actions = [a for (a,) in db.session.execute(sa.select(AuditLog.action).order_by(AuditLog.id))]
        assert actions[-2:] == ["calendar_days_saved", "calendar_day_deleted"]


def calendar_knows(app) -> bool:
    with app.app_context():
        return calendar.package_knows(UNKNOWN)
