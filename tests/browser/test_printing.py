"""Printed reports: no part that may not break across pages is taller than a page (Chromium would
push it whole to the next page and leave a blank one, as the bureau overview's first page was)."""
import pytest

from .conftest import SCREENSHOTS, login

pytestmark = pytest.mark.browser

# A4 less the 12 mm side and 14 mm top/bottom margins of reports.css, in CSS pixels (96 per inch).
PAGE_WIDTH_PX = round((210 - 24) / 25.4 * 96)
PAGE_HEIGHT_PX = round((297 - 28) / 25.4 * 96)

UNBREAKABLE_TALLER_THAN_A_PAGE = """(limit) => {
  const found = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    const avoid = style.breakInside === 'avoid' || style.breakInside === 'avoid-page'
      || style.pageBreakInside === 'avoid';
    if (avoid && style.display !== 'none' && el.getBoundingClientRect().height > limit) {
      found.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className) + ' '
                 + Math.round(el.getBoundingClientRect().height) + 'px');
    }
  }
  return found;
}"""


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("username,path", [
    ("admin", "/reports/bureau"),
    ("leader", None),  # the leader's station dashboard, reached from the landing page
])
def test_printable_pages_have_no_unbreakable_part_taller_than_a_page(demo, page, username, path):
    login(page, username, "demo1234")
    if path is None:
        page.click("text=打开单位看板")
        page.wait_for_selector("#unit-total")
    else:
        page.goto(path)
    page.set_viewport_size({"width": PAGE_WIDTH_PX, "height": PAGE_HEIGHT_PX})
    page.emulate_media(media="print")
    assert page.evaluate(UNBREAKABLE_TALLER_THAN_A_PAGE, PAGE_HEIGHT_PX) == []
    assert page.locator("main > .alert").count() == 0 or not page.locator("main > .alert").first.is_visible()
    pdf = page.pdf(format="A4", print_background=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"print-{username}.pdf").write_bytes(pdf)


NARROW_CELLS = """() => {
  // Text wrapped letter by letter: the first two characters of a word sit on different lines.
  const found = [];
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest('td, th')) continue;
    const start = node.data.search(/\\S\\S/);
    if (start < 0) continue;
    const range = document.createRange();
    range.setStart(node, start);
    range.setEnd(node, start + 2);
    const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
    if (tops.size > 1) found.push(node.data.trim().slice(0, 12));
  }
  return found;
}"""


@pytest.mark.parametrize("username,path", [
    ("officer", "/feedback/"),
    ("leader", "/residents/follow-ups"),
    ("leader", "/claims/confirm"),
])
def test_staff_tables_work_at_phone_width(demo, phone, username, path):
    """No table cell narrower than two characters (text wrapping letter by letter) at 390 px."""
    login(phone, username, "demo1234")
    phone.goto(path)
    assert phone.evaluate(NARROW_CELLS) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # tables scroll in their wrapper
