"""The 360 form counts answers as one answers and marks every unanswered item on submit."""
import pytest

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def test_live_count_and_every_missing_item_marked(demo, page):
    from playwright.sync_api import expect

    login(page, "officer", "demo1234")
    page.goto("/feedback/")
    page.click("a:has-text('开始评价')")
    page.wait_for_selector("#rating-form")
    items = page.locator(".rating-item").count()
    assert page.inner_text(".answered-count") == "0"
    page.locator(".rating-item").nth(0).locator("input[type=radio]").first.check()
    page.locator(".rating-item").nth(1).locator("input[type=radio]").last.check()
    assert page.inner_text(".answered-count") == "2"
    page.click("button[value=submit]")
    assert page.locator(".rating-item.is-missing").count() == items - 2
    assert page.locator(".rating-item").nth(2).is_visible()
    # scrolled (smoothly) to the first unanswered item
    expect(page.locator(".rating-item.is-missing").first).to_be_in_viewport()
    screenshot(page, "feedback-missing-items-marked")
    page.locator(".rating-item").nth(2).locator("input[type=radio]").first.check()
    assert page.locator(".rating-item.is-missing").count() == items - 3  # the mark goes as one answers
