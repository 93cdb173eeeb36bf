"""A resident answers on a phone; the leader finds the complaint in the queue (real browser)."""
import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def test_invitation_phone_answer_already_answered_and_leader_queue(demo, page, phone, live_server):
    login(page, "officer", "demo1234")
    page.click("text=群众评价")
    page.click("text=生成邀请")
    page.select_option("#service_type_id", label="110 接处警")
    page.fill("#reference", "J-BROWSER-1")
    page.click("#submit")
    page.wait_for_selector("text=评价链接已生成")
    assert page.locator(".slip svg").count() == 1
    link = page.inner_text("#resident-link").strip()
    screenshot(page, "residents-invitation-slip")

    path = link[link.index("/r/"):]
    phone.goto(path)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    box = phone.locator("label[for=overall-3]").bounding_box()
    assert box["height"] >= 44  # a thumb-sized target
    for question in ("overall", "attitude", "efficiency", "fairness"):
        phone.click(f"label[for={question}-3]")  # the worst answer (stored 1): 不满意, 差, 慢, 不公正
    phone.click("label[for=resolved-2]")  # 未解决
    phone.fill("#comment", "等了两个小时没人管")
    phone.click("label[for=contact-yes]")  # agrees to be called back: the leader may see the reference
    screenshot(phone, "residents-phone-form")
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=感谢您的评价")
    phone.goto(path)
    phone.wait_for_selector("text=您已经提交过评价")
    screenshot(phone, "residents-phone-already-answered")

    page.context.clear_cookies()
    login(page, "leader", "demo1234")
    page.click("text=回访核查队列")  # from the landing page's panel
    page.click("tr:has-text('J-BROWSER-1') a")
    assert page.locator("text=J-BROWSER-1").count() == 1
    assert page.locator("text=等了两个小时没人管").count() == 1
    page.fill("#note", "已电话联系群众，核实属实")
    page.click("text=记录核查")
    page.wait_for_selector("text=核查情况已记录")
    screenshot(page, "residents-leader-follow-up")
