"""The results path in a real browser: the office submits a computed annual run, two approvers
approve, the notice (公示) opens, a station leader objects with a PDF, the office accepts and the
corrected value makes a new version with a shorter notice, which becomes final; then the bonus and
the 约谈 flag (last of its category two final years running) appear on the pages."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.assessment import services as assessment_services
from app.extensions import db
from app.models import Cycle, IndicatorValue, Objection, ResultApproval, ScoreResult, ScoreRun, Unit
from app.results import objections
from app.results import services as results_services

from ..factories import PASSWORD, make_officer, make_user
from ..web.assessment_setup import HARD_UNIT, build_world, load, officer_rows, unit_rows
from .conftest import login, screenshot

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
RATE = next(code for code in HARD_UNIT if code != "criminal_cases")
APPROVED_ON = date(2025, 9, 26)  # a Friday before National Day: notice 28 Sep – 10 Oct (5 working days)


@pytest.fixture
def on_day(monkeypatch):
    """The bureau's calendar day as the app sees it (the same hook tests/web/test_results_*.py use)."""
    def set_day(day):
        monkeypatch.setattr(results_services, "bureau_today", lambda: day)
        monkeypatch.setattr(objections, "bureau_today", lambda: day)
    return set_day


def annual_world(app) -> dict:
    """2023 annual final (PS04 last of 三类); 2024 annual closed with a computed run and a bonus pool of
    10 000 元; a two-member committee; the office, and PS04's leader."""
    with app.app_context():
        ids = build_world(open_it=False)
        ps04 = db.session.execute(sa.select(Unit).filter_by(code="PS04")).scalar_one()
        head = make_officer(ps04, name="张所长", badge_no="L04", is_leader=True)
        make_user("leader04", officer=head)
        ids["officers"]["L04"] = head.id
        bureau = db.session.execute(sa.select(Unit).filter_by(code="BJ")).scalar_one()
        make_user("office", roles={"admin"}, officer=make_officer(bureau, name="考评办", badge_no="A01"))
        ids["ps04"] = ps04.id
        for year in (2023, 2024):
            cycle = Cycle(name=f"{year}年度", kind="year", starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                          config={})
            db.session.add(cycle)
            db.session.flush()
            if year == 2024:
                config = assessment_services.cycle_config(cycle)
                options = assessment_services.cycle_options(cycle)
                assessment_services.save_settings(cycle, {
                    "dimension_weights": dict(config.dimension_weights),
                    "indicator_weights": {s.code: s.weight for s in config.indicators},
                    "difficulty": dict(config.difficulty), "nonpreventable_weight": 0.5, "seasonal": {},
                    "grades": {"mode": "share", "shares": (25, 25, 25, 25, 0), "thresholds": (90, 80, 60, 50),
                               "within_category": False, "on": "adjusted"},
                    "bonus": {"floor": 50.0, "on": "adjusted", "pool_cents": 1_000_000},
                    "dual_track": options["dual_track"], "rollup": options["rollup"]})
            transition_cycle(cycle, "open")
            load({"cycle": cycle.id}, unit_rows() + officer_rows(ids, base=90))
            transition_cycle(cycle, "closed")
            run = runs.compute_run(cycle)
            if year == 2023:
                runs.publish_run(run)  # before the committee existed: one click made it final
            ids[year], ids[f"run{year}"] = cycle.id, run.id
        for name in ("chief", "deputy"):
            results_services.add_committee_member(make_user(name))
        db.session.commit()
        ids["result"] = db.session.execute(sa.select(ScoreResult.id).filter_by(
            run_id=ids["run2024"], unit_id=ps04.id)).scalar_one()
    return ids


def test_objection_correction_then_final_shows_bonus_and_talk_flag(app, page, on_day, tmp_path):
    ids = annual_world(app)
    on_day(date(2025, 9, 25))
    login(page, "office", PASSWORD)
    page.goto("/results/")
    page.click("#cycles tr:has-text('2024年度') button:has-text('提交第 1 版审定')")
    page.wait_for_selector("text=第 1 版已提交考评委员会审定")
    approval_url = page.url

    on_day(APPROVED_ON)
    for approver in ("chief", "deputy"):
        page.context.clear_cookies()
        login(page, approver, PASSWORD)
        page.goto(approval_url)
        page.select_option("#decision", "approve")
        page.click("#decide button[type=submit]")
        page.wait_for_selector("text=已同意。")
    assert page.locator("text=暂定结果（公示中）：2025-09-28 至 2025-10-10").count() == 1

    # A working day before the end (9 Oct): PS04's leader sees the provisional result and objects.
    on_day(date(2025, 10, 9))
    page.context.clear_cookies()
    login(page, "leader04", PASSWORD)
    page.goto(f"/assessment/results/{ids['result']}")
    page.wait_for_selector("text=还剩 2 个工作日")
    page.click("a:has-text('提出申诉')")
    page.select_option("#item_kind", "indicator")
    page.select_option("#item_code", RATE)
    page.fill("#reason", "案件规范率少统计了 3 起已结案件")
    evidence = tmp_path / "台账.pdf"
    evidence.write_bytes(PDF)
    page.set_input_files("#evidence", str(evidence))
    page.click("#objection-form button[type=submit]")
    page.wait_for_selector("text=申诉已提交，考评办将按期答复。")
    assert page.locator("text=台账.pdf").count() >= 1
    screenshot(page, "results-objection-filed")

    # The office accepts it with the corrected value: a new version with a two-working-day notice.
    page.context.clear_cookies()
    login(page, "office", PASSWORD)
    page.goto("/results/objections/")
    page.click("a[href^='/results/objections/']:not([href$='/objections/'])")
    page.select_option("#outcome", "accept")
    page.fill("#reply", "经核对，采纳，更正为 99。")
    page.fill("#corrected_value", "99")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("text=已答复申诉。")
    with app.app_context():
        new = db.session.execute(sa.select(ResultApproval).filter_by(status="notice")).scalar_one()
        new_id, new_run_id = new.id, new.run_id
        assert new.run.version == 2
        # Fri 10 Oct and Sat 11 Oct 2025 (an adjusted working day).
        assert (new.notice_starts_on, new.notice_ends_on) == (date(2025, 10, 10), date(2025, 10, 11))
        oid = db.session.scalar(sa.select(Objection.id))
        assert db.session.get(Objection, oid).correction_run_id == new_run_id
        value = db.session.execute(sa.select(IndicatorValue.value).filter_by(unit_id=ids["ps04"], cycle_id=ids[2024],
                                                                            current_slot=1)
                                   .join_from(IndicatorValue, IndicatorValue.indicator)
                                   .where(sa.text("indicator.code = :c")).params(c=RATE)).scalar_one()
        assert value == 99.0
    page.goto("/results/")
    assert page.locator("#cycles tr:has-text('2024年度') >> text=暂定结果（公示中）").count() == 1

    # The notice of the corrected version ends on 11 Oct; on 12 Oct the office makes it final.
    on_day(date(2025, 10, 12))
    page.goto(f"/results/approvals/{new_id}")
    page.click("#finalize button[type=submit]")
    page.wait_for_selector("text=结果已成为最终结果并发布。")
    page.goto("/results/")
    assert page.locator("#cycles tr:has-text('2024年度') >> text=最终结果：第 2 版").count() == 1
    with app.app_context():
        assert db.session.get(ScoreRun, new_run_id).status == "published"
        assert db.session.get(ScoreRun, ids["run2024"]).status == "done"
        units = db.session.execute(sa.select(ScoreResult).filter_by(run_id=new_run_id, level="unit")).scalars().all()
        bonus = {r.unit.code: r.bonus_cents for r in units}
        ps04_result = next(r.id for r in units if r.unit.code == "PS04")
        before = db.session.execute(sa.select(ScoreResult.bonus_cents).filter_by(
            run_id=ids["run2024"], unit_id=ids["ps04"])).scalar_one()
    assert sum(bonus.values()) == 1_000_000  # the whole pool of 10 000 元, split to the cent
    assert bonus["PS04"] > before  # the accepted correction raised PS04's share

    # The bonus appears on the final result, with its formula.
    page.goto(f"/assessment/results/{ps04_result}")
    assert page.locator("text=暂定结果（公示中）").count() == 0
    shown = "%.2f" % (bonus["PS04"] / 100)
    assert page.locator("#bonus-formula").count() == 1
    assert page.locator(f".card:has-text('效能奖金（元）') >> text={shown}").count() >= 1
    screenshot(page, "results-final-bonus")

    # PS04 was last of its category in 2023 and (corrected) 2024, both final: the 约谈 flag shows.
    page.goto("/assessment/flags")
    row = page.locator("#flags tr:has-text('PS04')")
    assert row.count() == 1
    assert "2023年度" in row.inner_text() and "2024年度" in row.inner_text()
    assert row.locator(f"a[href='/results/talks/{ids['ps04']}/{ids[2024]}']").count() == 1
    screenshot(page, "results-talk-flag")
