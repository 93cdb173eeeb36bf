"""The bell in a real browser: an admin opens a 360 cycle, the officer sees the bell count rise and
follows the message to the rating form; the day-before reminder reaches only officers who still owe."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Assignment, User
from app.notify.reminders import run_reminders

from ..factories import make_user
from ..web.feedback_helpers import build_world
from .conftest import login, screenshot
from .test_accessibility import (
    _blocking,
    axe,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.browser
PASSWORD = "password123"


def _count(page) -> int:
    bell = page.locator("#bell-count")
    return int(bell.inner_text()) if bell.count() else 0


def test_a_cycle_opens_the_bell_rises_and_the_day_before_reminder_reaches_only_who_owes(
        app, page, browser, live_server, axe):  # noqa: F811
    world = build_world(app, members=3, open_cycle=False, deadline=date.today() + timedelta(days=1))
    with app.app_context():
        make_user("office", roles={"admin"})
        db.session.commit()
    login(page, "m0", PASSWORD)
    assert _count(page) == 0
    assert page.get_attribute("#bell", "aria-label") == "通知：没有未读"

    admin = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    login(admin, "office", PASSWORD)
    admin.goto(f"/admin/cycles/{world.cycle_id}")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click("button:has-text('开启周期')")
    admin.wait_for_selector("text=此周期进行中")
    admin.goto("/notifications/schedule")  # the reminder schedule, with its last and next run
    admin.emulate_media(reduced_motion="reduce")
    assert admin.locator("#next-run").inner_text().strip() != ""
    assert _blocking(axe, admin) == []
    admin.context.close()

    page.reload()
    assert _count(page) == 1
    assert page.get_attribute("#bell", "aria-label") == "通知：1 条未读"
    page.emulate_media(reduced_motion="reduce")
    assert _blocking(axe, page) == []
    page.click("#bell")
    page.wait_for_url("**/notifications/")
    assert _blocking(axe, page) == []
    screenshot(page, "notify-list")
    page.click("#notifications a:has-text('已开启')")
    page.wait_for_url("**/feedback/")
    assert _count(page) == 0
    page.locator("tr", has_text="自评").first.locator("a").click()
    page.wait_for_selector("text=自我评价问卷")
    screenshot(page, "notify-followed-to-form")

    # m0 finishes every rating; m1 still owes. The day before the deadline only m1 is reminded.
    with app.app_context():
        m0 = db.session.execute(sa.select(User.officer_id).filter_by(username="m0")).scalar_one()
        db.session.execute(sa.update(Assignment).where(Assignment.rater_id == m0).values(status="submitted"))
        run_reminders(date.today())
        db.session.commit()
    page.reload()
    assert _count(page) == 0
    page.context.clear_cookies()
    login(page, "m1", PASSWORD)
    assert _count(page) == 2  # the cycle opened, and the reminder
    page.click("#bell")
    page.wait_for_selector("text=截止还有 1 天")
    screenshot(page, "notify-reminder")
