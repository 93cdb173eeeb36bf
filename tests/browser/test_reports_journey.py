"""Reports in a real browser: the officer opens their report and sees the chart; the leader's station
dashboard and the admin's bureau overview render with their charts. Screenshots of each."""
import re

import pytest

from .conftest import SCREENSHOTS, login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def test_officer_opens_their_report_and_sees_the_chart(app, demo, page):
    login(page, "officer", "demo1234")
    assert page.locator("#home-report svg").count() == 1
    screenshot(page, "reports-officer-home")
    page.click("text=查看完整报告")
    page.wait_for_selector("#item-table")
    radar = page.locator("#feedback figure svg").first
    assert radar.is_visible()
    box = radar.bounding_box()
    assert box["width"] > 200 and box["height"] > 150
    assert page.locator("#feedback figure table caption").first.inner_text() == "各能力项得分（1–5 分）"
    assert page.locator("[data-print]").is_visible()
    screenshot(page, "reports-officer-report")
    # the print view: navigation and buttons are gone, the chart stays
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("[data-print]").is_visible()
    assert radar.is_visible()
    screenshot(page, "reports-officer-report-print")
    # Chromium's print to PDF, as the help text tells the officer to do: A4 pages
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF")
    sizes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert sizes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in sizes)  # A4 points
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "reports-officer-report.pdf").write_bytes(pdf)


def test_leader_dashboard_and_admin_overview(app, demo, page):
    login(page, "leader", "demo1234")
    assert page.locator("#home-unit svg").count() == 1
    page.click("text=打开单位看板")
    page.wait_for_selector("#unit-total")
    assert page.locator("figure svg").count() >= 1  # the latest result's cycle: its dimension chart
    # one cycle per view: the open cycle (first in the picker) has the 360 completion and no total yet
    page.select_option("#cycle", index=0)
    page.click("form >> text=查看")
    page.wait_for_selector("#unit-rate")
    assert page.locator("#unit-total").count() == 0
    screenshot(page, "reports-station-dashboard")
    page.context.clear_cookies()

    login(page, "admin", "demo1234")
    assert page.locator("#home-bureau svg").count() == 1
    screenshot(page, "reports-admin-home")
    page.goto("/reports/bureau")
    page.wait_for_selector("#ranking-1")
    assert page.locator("#reliability-table tbody tr").count() >= 4
    screenshot(page, "reports-bureau-overview")
