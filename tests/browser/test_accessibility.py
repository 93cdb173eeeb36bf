"""axe-core (shipped inside the axe-playwright-python package) on every role's main pages and the
resident forms; a serious or critical violation fails the test with axe's own report."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ServiceType, Unit

from .conftest import login

pytestmark = pytest.mark.browser

BLOCKING = {"serious", "critical"}
ALSO_BLOCKING = {"empty-table-header"}  # minor to axe, but a screen reader announces nothing for the column


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _blocking(axe, page) -> list[str]:
    results = axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING or violation["id"] in ALSO_BLOCKING:
            targets = [" ".join(map(str, node["target"])) + ": " + (node.get("failureSummary") or "")[-120:]
                       for node in violation["nodes"][:5]]
            found.append(f"{page.url}: {violation['id']} ({violation['impact']}) {targets}")
    return found


def _main_pages(page) -> list[str]:
    """The home page and every page the navigation bar offers this role."""
    page.emulate_media(reduced_motion="reduce")  # no colour transitions half-way when axe looks
    page.goto("/")
    links = page.eval_on_selector_all("nav .navbar-nav a.nav-link[href^='/']",
                                      "els => els.map(e => e.getAttribute('href'))")
    return ["/"] + [href for href in dict.fromkeys(links) if href != "/"]


@pytest.mark.parametrize("username,extra", [
    ("admin", ["/admin/audit", "/reports/bureau", "/admin/officers", "/admin/feedback/instruments",
               "/results/calendar?year=2027", "/monitoring/self-checks", "/admin/province",
               "/assessment/indicators"]),
    ("coordinator", []),
    ("leader", ["/residents/follow-ups", "/feedback/tracking"]),
    ("officer", ["/feedback/approvals"]),
])
def test_every_roles_main_pages_pass_axe(demo, page, axe, username, extra):
    login(page, username, "demo1234")
    problems = []
    for path in _main_pages(page) + extra:
        page.goto(path)
        problems += _blocking(axe, page)
    assert problems == [], "\n".join(problems)


def test_login_and_resident_forms_pass_axe(app, demo, page, phone, axe):
    page.goto("/login")
    phone.emulate_media(reduced_motion="reduce")
    problems = _blocking(axe, page)
    from app.residents.services import create_invitation

    with app.app_context():
        unit = db.session.execute(sa.select(Unit).where(Unit.kind == "station").order_by(Unit.id)).scalars().first()
        service = db.session.execute(sa.select(ServiceType).order_by(ServiceType.id)).scalars().first()
        _, token = create_invitation(service_type=service, unit=unit, badges=[], reference="AXE-1", created_by=None)
        db.session.commit()
        code = unit.code
    for path in (f"/r/{token}", f"/q/{code}"):
        phone.goto(path)
        phone.click("label[for=overall-0]")  # the chosen state of an answer button must read too
        problems += _blocking(axe, phone)
    assert problems == [], "\n".join(problems)
