"""360 feedback in a real browser: an officer completes a self and a peer rating, their leader sees
the response rate rise, and the admin looks at the design and the tracking of the demo cycle."""
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def _rate(page):
    text = page.locator("#overall-rate").inner_text()
    return float(re.sub(r"[^0-9.]", "", text))


def _fill_and_submit(page, value="4"):
    names = sorted(set(page.eval_on_selector_all("input[type=radio]", "els => els.map(e => e.name)")))
    for name in names:
        page.check(f"input[name='{name}'][value='{value}']")
    page.click("button[value='submit']")
    page.wait_for_selector("text=已提交对")


def test_officer_rates_self_and_a_peer_and_the_leader_sees_it(app, demo, page):
    login(page, "leader", "demo1234")
    page.goto("/feedback/tracking")
    before = _rate(page)
    page.context.clear_cookies()

    login(page, "officer", "demo1234")
    assert page.locator("text=待完成的 360 评价").count() == 1
    page.click("text=去评价")
    page.wait_for_selector("text=我的 360 评价")
    screenshot(page, "feedback-inbox")
    page.locator("tr", has_text="自评").first.locator("a").click()  # the open cycle comes first
    page.wait_for_selector("text=自我评价问卷")
    _fill_and_submit(page, "4")
    page.locator("tr", has_text="评价同事").filter(has_text="开始评价").first.locator("a").click()
    page.wait_for_selector("text=同事互评问卷")
    page.fill("textarea[name='comment_teamwork']", "联合行动中配合默契。")
    screenshot(page, "feedback-peer-form")
    _fill_and_submit(page, "5")
    assert page.locator("text=已完成 2 /").count() == 1
    page.context.clear_cookies()

    login(page, "leader", "demo1234")
    page.goto("/feedback/tracking")
    assert _rate(page) > before
    screenshot(page, "feedback-leader-tracking")
    page.context.clear_cookies()

    login(page, "admin", "demo1234")
    with app.app_context():
        cycle_id = db.session.execute(sa.select(Cycle.id).filter_by(status="open")).scalar_one()
    page.goto(f"/admin/cycles/{cycle_id}")
    page.click("a:has-text('评价安排')")
    page.wait_for_selector("text=各单位概况")
    assert page.locator("text=评价安排和问卷版本已冻结").count() == 1
    page.goto(f"/admin/feedback/cycles/{cycle_id}/tracking")
    page.wait_for_selector("text=尚未完成评价的民警")
    screenshot(page, "feedback-admin-tracking")
