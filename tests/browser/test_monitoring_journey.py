"""A leader opens the live page, sees an overdue case, runs last month's self-check with an evidence file
and rectification items and submits; the office returns it once, the leader resubmits, the office
accepts (real browser)."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Officer, SelfCheck

from ..factories import PASSWORD, make_user
from ..web.test_monitoring import PDF, _world
from .conftest import login, screenshot

pytestmark = pytest.mark.browser


def _as(browser, live_server, username):
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    login(page, username, PASSWORD)
    return context, page


def test_leader_runs_the_self_check_and_the_office_returns_then_accepts(app, browser, live_server):
    ids = _world(app)
    with app.app_context():
        leader = db.session.execute(sa.select(Officer).filter_by(badge_no="020002")).scalar_one()
        leader.is_leader = True
        make_user("suozhang", roles=("supervisor",), officer=leader, password=PASSWORD)
        make_user("kaopingban", roles=("coordinator",), password=PASSWORD)
        db.session.commit()
    check_url = f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11"

    context, page = _as(browser, live_server, "suozhang")
    page.goto("/monitoring/")
    page.wait_for_url(f"**/monitoring/stations/{ids['ps01']}")
    warnings = page.locator("#deadline-warnings")
    assert "A1" in warnings.inner_text() and "李四" in warnings.inner_text() and "已超期" in warnings.inner_text()
    assert page.locator("svg").count() >= 1
    screenshot(page, "monitoring-station")

    page.goto(check_url)
    page.click("text=开始本月自查")
    page.wait_for_selector("#self-check-form")
    row = page.locator("tr[data-code=response_on_time]")
    row.locator("input[name^=score_]").fill("80")
    row.locator("input[name^=comment_]").fill("夜间警力不足")
    page.click("text=保存自评")
    page.wait_for_selector("text=已保存。")
    below = page.locator("#rectification-form option[data-below]")
    values = [below.nth(i).get_attribute("value") for i in range(below.count())]
    assert len(values) >= 2
    for value in values:
        form = page.locator("#rectification-form")
        form.locator("select[name=item_id]").select_option(value)
        form.locator("input[name=what]").fill("增加夜间巡逻警力")
        form.locator("input[name=owner]").fill("李四")
        form.locator("input[name=due_on]").fill("2026-12-20")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("text=已添加整改项。")
    page.set_input_files("#evidence-form input[type=file]",
                         files=[{"name": "接处警台账.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#evidence-form button[type=submit]")
    page.wait_for_selector("#evidence-list >> text=接处警台账.pdf")
    page.click("text=提交自查")
    page.wait_for_selector("#self-check-status >> text=已提交待审核")
    context.close()

    context, office = _as(browser, live_server, "kaopingban")
    office.goto(check_url)
    office.fill("#return-form input[name=reason]", "整改措施不具体，请写明巡逻时段")
    office.click("#return-form button[type=submit]")
    office.wait_for_selector("#self-check-status >> text=已退回")
    context.close()

    context, page = _as(browser, live_server, "suozhang")
    page.goto(check_url)
    assert "整改措施不具体" in page.inner_text("body")
    page.click("text=提交自查")
    page.wait_for_selector("#self-check-status >> text=已提交待审核")
    context.close()

    context, office = _as(browser, live_server, "kaopingban")
    office.goto(check_url)
    office.locator("tr[data-code=response_on_time] input[name^=verified_]").fill("60")
    office.click("text=验收（按核定分）")
    office.wait_for_selector("#self-check-status >> text=已验收")
    assert "差异大" in office.inner_text("body")
    screenshot(office, "monitoring-self-check-accepted")
    context.close()
    with app.app_context():
        check = db.session.execute(sa.select(SelfCheck)).scalar_one()
        assert (check.status, check.times_returned) == ("accepted", 1)
