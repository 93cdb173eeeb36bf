"""A leader follows a dissatisfied answer through check and fix; a coordinator approves a claim both
units' leaders confirmed; the admin imports the data, computes, closes and publishes (real browser)."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    ClaimParticipant,
    CollaborationClaim,
    Cycle,
    FollowUp,
    Officer,
    ResidentInvitation,
    ScoreRun,
    ServiceType,
    Unit,
    User,
)

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def _confirm_dialogs(page):
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm="..." asks first


def test_leader_checks_then_fixes_a_dissatisfied_answer(app, demo, page, phone):
    # A resident served by PS01 answers 不满意 on a phone, through a link made for them.
    with app.app_context():
        from app.residents import services

        service = db.session.execute(sa.select(ServiceType).filter_by(is_sensitive=False)).scalars().first()
        unit = db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one()
        _invitation, token = services.create_invitation(service_type=service, unit=unit, badges=[],
                                                        reference="J-FOLLOW-1", created_by=None)
        db.session.commit()
    phone.goto(f"/r/{token}")
    for question in ("overall", "attitude", "efficiency", "fairness"):
        phone.click(f"label[for={question}-3]")  # the worst answer (stored 1): 不满意, 差, 慢, 不公正
    phone.click("label[for=resolved-2]")  # 未解决
    phone.fill("#comment", "窗口排队一上午，没人解释原因")
    phone.click("label[for=contact-yes]")  # agrees to be called back: the queue shows the reference
    phone.click("button[type=submit]")
    phone.wait_for_selector("text=感谢您的评价")

    login(page, "leader", "demo1234")
    page.click("text=回访核查队列")
    page.click("tr:has-text('J-FOLLOW-1') a")
    page.wait_for_selector("text=窗口排队一上午，没人解释原因")
    page.fill("#note", "已电话联系群众，情况属实：当天两个窗口只开一个")
    page.click("button:has-text('记录核查')")
    page.wait_for_selector("text=核查情况已记录")
    page.fill("#note", "高峰时段增开窗口，排队超过二十分钟由值班领导到场解释")
    page.click("button:has-text('记录整改并办结')")
    page.wait_for_selector("text=整改情况已记录，事项已办结")
    assert page.locator("text=已电话联系群众，情况属实").count() == 1
    assert page.locator("text=高峰时段增开窗口").count() == 1
    screenshot(page, "leader-follow-up-fixed")
    with app.app_context():
        item = db.session.execute(sa.select(FollowUp).join(FollowUp.response)
                                  .join(ResidentInvitation).filter(ResidentInvitation.reference == "J-FOLLOW-1")
                                  ).scalar_one()
        assert item.status == "fixed" and item.is_dissatisfied and item.checked_by_id and item.fixed_by_id


def _submitted_two_unit_claim(app):
    """A demo claim waiting for both units' leaders (neither has decided), with no duplicate reference;
    (id, the two leaders' usernames)."""
    with app.app_context():
        claims = db.session.execute(sa.select(CollaborationClaim).filter_by(status="submitted")
                                    .order_by(CollaborationClaim.id)).scalars().all()
        for claim in claims:
            unit_ids = sorted({p.unit_id for p in claim.participants})
            same_ref = db.session.scalar(sa.select(sa.func.count()).select_from(CollaborationClaim)
                                         .filter_by(cycle_id=claim.cycle_id, case_ref=claim.case_ref))
            if len(unit_ids) != 2 or same_ref != 1 or claim.confirmations:
                continue
            leaders = []
            for unit_id in unit_ids:
                user = db.session.execute(
                    sa.select(User).join(Officer, User.officer_id == Officer.id)
                    .where(Officer.unit_id == unit_id, Officer.is_leader, Officer.is_active)
                    .order_by(Officer.badge_no)).scalars().first()
                leaders.append(user.username)
            return claim.id, leaders
    pytest.fail("the demo has no submitted two-unit claim")


def test_coordinator_approves_a_claim_after_both_leaders_confirm(app, demo, page):
    claim_id, leaders = _submitted_two_unit_claim(app)
    for username in leaders:
        page.context.clear_cookies()
        login(page, username, "demo1234")
        page.goto(f"/claims/{claim_id}")
        page.click("form:has(input[name=unit_id]) button[value=confirmed]")
        page.wait_for_selector("text=已确认。")
    page.context.clear_cookies()
    login(page, "coordinator", "demo1234")
    page.goto("/claims/review")
    page.click(f"a[href$='/claims/{claim_id}']")
    _confirm_dialogs(page)
    page.click("#approve-form button[type=submit]")
    page.wait_for_selector("text=申报已批准并锁定。")
    assert page.locator("text=此申报已批准并锁定").count() == 1
    screenshot(page, "coordinator-approved-claim")
    with app.app_context():
        claim = db.session.get(CollaborationClaim, claim_id)
        assert claim.status == "approved"
        shares = db.session.execute(sa.select(ClaimParticipant.final_bp).filter_by(claim_id=claim_id)).scalars()
        assert sum(shares) == 10_000


def test_admin_imports_computes_closes_and_publishes(app, demo, page):
    with app.app_context():
        cycle_id = db.session.execute(sa.select(Cycle.id).filter_by(status="open")).scalar_one()
    login(page, "admin", "demo1234")
    _confirm_dialogs(page)
    page.goto(f"/admin/cycles/{cycle_id}")
    page.click("text=导入指标数据")
    demo_file = page.request.get("/assessment/import/demo.csv").body()
    page.set_input_files("#file", files=[{"name": "indicator-values-demo.csv", "mimeType": "text/csv",
                                          "buffer": demo_file}])
    page.click("#submit")
    page.wait_for_selector("text=导入成功")
    page.goto(f"/admin/cycles/{cycle_id}")
    page.click("button:has-text('计算考评结果')")
    page.wait_for_selector("text=已生成第 1 版计算结果")
    page.goto(f"/admin/cycles/{cycle_id}")
    page.click("a:has-text('关闭周期')")
    page.wait_for_selector(".close-consequences")  # what closing now leaves undone, before the step
    page.click("button:has-text('确认关闭周期')")
    page.wait_for_selector("text=周期状态已更新")
    page.click("#assessment button:has-text('发布')")
    page.wait_for_selector("text=已发布为周期结果")
    screenshot(page, "admin-published-results")
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).status == "published"
        run = db.session.execute(sa.select(ScoreRun).filter_by(cycle_id=cycle_id)).scalar_one()
        assert run.status == "published"
