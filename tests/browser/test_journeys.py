"""What people do, in a real browser."""
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


def test_admin_creates_and_opens_a_cycle(app, demo, page):
    login(page, "admin", "demo1234")
    page.click("text=系统管理")
    page.click("text=考评周期")
    page.click("text=新建周期")
    page.fill("#name", "2027年1月自查")
    page.select_option("#kind", "month")
    page.fill("#starts_on", "2027-01-01")
    page.fill("#ends_on", "2027-01-31")
    page.click("#submit")
    page.wait_for_selector("text=周期已保存")
    page.once("dialog", lambda dialog: dialog.accept())  # "settings freeze when opened" confirmation
    page.click("button:has-text('开启周期')")
    page.wait_for_selector("text=周期状态已更新")
    assert page.locator(".badge", has_text="进行中").count() >= 1
    screenshot(page, "admin-opened-cycle")
    with app.app_context():
        cycle = db.session.execute(sa.select(Cycle).filter_by(name="2027年1月自查")).scalar_one()
        assert cycle.status == "open"


def test_language_switch_in_the_browser(demo, page):
    login(page, "officer", "demo1234")
    page.click("button:has-text('English')")
    page.wait_for_selector("text=Current assessment cycle")
    screenshot(page, "officer-home-english")
