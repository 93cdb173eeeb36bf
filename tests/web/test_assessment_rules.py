"""The assessment rules a station chief can check by hand, as the pages show them: missing hard
data and its audited publication, seasonal weights and targets on the pages, squads, 约谈 with
each year's category and the heads named, the bonus when nobody clears the floor."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.extensions import db
from app.models import AuditLog, Cycle, ScoreResult, ScoreRun, Unit

from ..factories import make_officer, make_unit
from .assessment_setup import build_world, load, officer_rows, unit_rows
from .test_assessment import settings_form


def test_publishing_with_missing_hard_data_needs_an_audited_reason(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows(skip={("PS04", "case_compliance")}))
        cycle = db.session.get(Cycle, ids["cycle"])
        transition_cycle(cycle, "closed")
        run_id = runs.compute_run(cycle).id
        db.session.commit()
    page = client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    assert "此版本有 1 项业务系统（硬指标）数据缺失" in page and "说明原因并发布" in page
    page = client.post(f"/assessment/runs/{run_id}/publish", data={"note": "  "}, follow_redirects=True)
    assert "请先补齐数据并重新计算，或填写发布原因" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ScoreRun, run_id).status == "done"
    note = "执法办案系统故障，PS04 数据无法导出，经考评委员会同意按 0 分计"
    client.post(f"/assessment/runs/{run_id}/publish", data={"note": note})
    with app.app_context():
        run = db.session.get(ScoreRun, run_id)
        assert run.status == "published" and run.publish_note == note
        audit = db.session.execute(sa.select(AuditLog).filter_by(action="score_run_published")).scalar_one()
        assert audit.note == note and audit.after["missing_hard"] == 1
    assert note in client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)


def test_officers_of_a_squad_are_scored_with_their_station(app, ctx):
    ids = build_world()
    station = db.session.execute(sa.select(Unit).filter_by(code="PS03")).scalar_one()
    squad = make_unit("PS03-1", name="城西派出所社区中队", kind="squad", parent=station)
    officer = make_officer(squad, name="中队民警", badge_no="SQ01")
    db.session.commit()
    ids["officers"]["SQ01"] = officer.id
    load(ids, unit_rows() + officer_rows(ids))
    run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
    mine = next(r for r in run.results if r.officer_id == officer.id)
    assert mine.category == 3 and mine.total is not None and mine.rank is not None
    # The squad's officer counts in the station's headcount (for a per-officer bonus): 2 + 1.
    ps03 = next(r for r in run.results if r.unit_id == station.id)
    assert ps03.breakdown["bonus"] is None  # no pool configured
    assert len([r for r in run.results if r.level == "officer" and r.category == 3]) == 5


def test_seasonal_weights_station_targets_and_formulas_on_the_pages(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], seasonal="fraud_prevention=1.5\nfraud_publicity=+5",
                         station_targets="case_compliance@PS01=97", basic_satisfied_credit="1.0")
    response = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/admin/cycles/{ids['cycle']}").get_data(as_text=True)
    # 电诈案件防范率: 25 × 15 / 100 = 3.75 points × 1.5 = 5.625; 反诈宣传 added with 5 points; the other
    # 96.25 base points share the 100 − 10.625 = 89.375 left: 案件规范率 30 × 35 / 100 = 10.5 → 9.75.
    assert 'data-code="fraud_prevention">5.625<' in page
    assert 'data-code="fraud_publicity">5.000<' in page
    assert 'data-code="case_compliance">9.750<' in page
    assert "按满意计（1）" in page
    client.post(f"/admin/cycles/{ids['cycle']}/open")
    with app.app_context():
        rows = unit_rows() + [{"unit_code": code, "indicator": "fraud_publicity", "value": 75.0}
                              for code in ("PS01", "PS02", "PS03", "PS04")]
        load(ids, rows)  # 反诈宣传 is stopped in the catalogue but this cycle uses it
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        by_code = {r.unit.code: r for r in run.results if r.level == "unit"}
        entry = {i["code"]: i for i in by_code["PS01"].breakdown["indicators"]}
        assert entry["case_compliance"]["target"] == 97  # its 目标责任书
        assert {i["code"]: i for i in by_code["PS02"].breakdown["indicators"]}["case_compliance"]["target"] == 95
        assert entry["fraud_publicity"]["weight"] == pytest.approx(5)
        # 75 between the floor 50 and the target 100: 100 × (75 − 50) / (100 − 50) = 50.
        assert entry["fraud_publicity"]["normalised"] == pytest.approx(50)
        result_id = by_code["PS02"].id
    page = client.get(f"/assessment/results/{result_id}").get_data(as_text=True)
    # PS02 (strength 0.6): 案件规范率 80 + 19 × 0.6 = 91.4 against 95, floor 60.
    assert "100 × (91.4 − 60) / (95 − 60)" in page
    assert "难度加权分" in page


@pytest.mark.parametrize("line, message", [
    ("case_compliance@PS99=97", "不是派出所"),
    ("criminal_cases@PS01=50", "优于起点 40"),
    ("anti_fraud@PS01=90", "不是本周期按目标值计分的单位指标"),
])
def test_bad_station_targets_are_refused(app, client, auth, line, message):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], station_targets=line)
    page = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).get_data(as_text=True)
    assert message in page
    with app.app_context():
        assert "assessment" not in (db.session.get(Cycle, ids["cycle"]).config or {})


def _year(name, year, strength, skip=(), note=""):
    cycle = Cycle(name=name, kind="year", starts_on=date(year, 1, 1), ends_on=date(year, 12, 31), config={})
    db.session.add(cycle)
    db.session.flush()
    transition_cycle(cycle, "open")
    load({"cycle": cycle.id}, unit_rows(strength=strength, skip=skip))
    transition_cycle(cycle, "closed")
    runs.publish_run(runs.compute_run(cycle), note=note)
    db.session.commit()


def test_talk_flag_uses_each_years_category_and_names_the_heads(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        build_world(stations=True, open_it=False)
        units = {u.code: u for u in db.session.execute(sa.select(Unit)).scalars()}
        make_officer(units["PS04"], name="张所长", badge_no="L04", is_leader=True)
        # 2024: 一类 PS01, PS02; 三类 PS03, PS04. PS02 and PS04 last.
        _year("2024年度", 2024, {"PS01": 0.9, "PS02": 0.6, "PS03": 0.8, "PS04": 0.1})
        units["PS02"].category, units["PS03"].category = 3, 1  # re-classified for 2025
        db.session.commit()
        # 2025: 一类 PS01, PS03; 三类 PS02, PS04. PS03 and PS04 last.
        _year("2025年度", 2025, {"PS01": 0.9, "PS02": 0.3, "PS03": 0.5, "PS04": 0.1})
    page = client.get("/assessment/flags").get_data(as_text=True)
    # PS04 was last of 三类 both years. PS03 was last of 一类 in 2025 only: in 2024 it was first of
    # 三类 (judged in today's 一类 it would have been last both years).
    assert "PS04派出所" in page and "PS03派出所" not in page and "PS02派出所" not in page
    assert page.count("张所长") == 2


def test_nobody_above_the_bonus_floor_is_said_on_the_run(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], bonus_pool="10000", bonus_floor="99.5")
    assert client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).status_code == 302
    client.post(f"/admin/cycles/{ids['cycle']}/open")
    with app.app_context():
        load(ids, unit_rows())
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        assert {r.bonus_cents for r in run.results if r.level == "unit"} == {0}
        run_id = run.id
        result_id = db.session.scalars(sa.select(ScoreResult.id).filter_by(run_id=run_id, level="unit")).first()
    assert "奖金池未分配" in client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    assert "未高于起点分 99.5，不发奖金" in client.get(f"/assessment/results/{result_id}").get_data(as_text=True)


def test_tied_bonus_cents_take_turns_by_cycle_id_and_the_page_says_so(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], bonus_pool="10000", bonus_floor="0")
    assert client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).status_code == 302
    client.post(f"/admin/cycles/{ids['cycle']}/open")
    with app.app_context():
        load(ids, unit_rows())
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        # The turn for tied cents is the cycle's id, frozen in the run's settings.
        assert run.config["bonus"]["turn"] == ids["cycle"]
        assert sum(r.bonus_cents for r in run.results if r.level == "unit") == 1_000_000
        result_id = db.session.scalars(sa.select(ScoreResult.id).filter_by(run_id=run.id, level="unit")).first()
    page = client.get(f"/assessment/results/{result_id}").get_data(as_text=True)
    assert f"本周期从第（周期编号 {ids['cycle']} 除以参与分配的对象数所得余数 + 1）位开始" in page


def test_default_catalogue_follows_the_bureaus_four_dimensions(app, ctx):
    from app.assessment.services import default_config, seed_catalogue

    seed_catalogue()
    config = default_config()
    spec = {s.code: s for s in config.indicators}
    # 群众回访满意度 and the usage rates belong to 执法质量; 群众服务 measures satisfaction once.
    assert spec["callback_satisfaction"].dimension == "law_enforcement"
    assert spec["bodycam_usage"].dimension == spec["case_venue_usage"].dimension == "law_enforcement"
    public = [s.code for s in config.specs("unit") if s.dimension == "public_service"]
    assert public == ["window_efficiency", "dispute_mediation", "soft_residents"]
    # Soft data renormalise when missing; hard data count as 0.
    assert spec["soft_residents"].on_missing == "renormalise" and spec["case_compliance"].on_missing == "zero"
    # Case counts against per-category targets between a floor and the target.
    cases = spec["criminal_cases"]
    assert (cases.target_for(1), cases.floor_for(1), cases.target_for(3), cases.floor_for(3)) == (15, 40, 6, 16)
    # The seasonal 反诈宣传 is in the catalogue but not in a cycle unless a season adds it.
    assert "fraud_publicity" not in spec
    assert sum(config.indicator_weights("unit").values()) == pytest.approx(100)


def test_indicator_floor_and_category_targets_are_edited_in_the_catalogue(app, client, auth):
    from app.assessment import services

    auth.as_role("admin")
    with app.app_context():
        services.seed_catalogue()
        db.session.commit()
        ind_id = services.indicator_map()["criminal_cases"].id
    page = client.get(f"/assessment/indicators/{ind_id}/edit").get_data(as_text=True)
    assert 'value="1=15, 2=10, 3=6"' in page
    base = {"code": "criminal_cases", "name": "刑事案件发案数", "dimension": "basic_control", "level": "unit",
            "weight": "15", "direction": "lower", "unit_of_measure": "件", "method": "target", "target": "6",
            "floor": "16", "splits_preventable": "y", "is_active": "y", "min_value": "0", "max_value": "100000"}
    response = client.post(f"/assessment/indicators/{ind_id}/edit",
                           data={**base, "category_targets": "1=20，2=12", "category_floors": "1=50, 2=30"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        ind = services.indicator_map()["criminal_cases"]
        assert ind.category_targets == {"1": 20.0, "2": 12.0} and ind.category_floors == {"1": 50.0, "2": 30.0}
    # A floor on the wrong side of its target (lower is better: the floor must be above it) is refused.
    bad = client.post(f"/assessment/indicators/{ind_id}/edit", data={**base, "category_floors": "1=5"})
    assert "起点分对应的值必须在目标值的“差”的一侧" in bad.get_data(as_text=True)
    bad = client.post(f"/assessment/indicators/{ind_id}/edit", data={**base, "category_targets": "4=10"})
    assert "无法理解“4=10”" in bad.get_data(as_text=True)
    with app.app_context():
        assert services.indicator_map()["criminal_cases"].category_floors == {"1": 50.0, "2": 30.0}


def test_dropping_below_the_coverage_threshold_does_not_escape_the_talk(app, client, auth):
    from .assessment_setup import HARD_UNIT

    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        build_world(stations=True, open_it=False)
        _year("2024年度", 2024, {"PS01": 0.9, "PS02": 0.6, "PS03": 0.8, "PS04": 0.1})
        # 2025: PS04 supplies only two hard indicators: below the 50 % coverage rule, no total, no rank.
        withheld = {("PS04", code) for code in HARD_UNIT[2:]}
        _year("2025年度", 2025, {"PS01": 0.9, "PS02": 0.6, "PS03": 0.8, "PS04": 0.1}, skip=withheld,
              note="PS04 未报送数据")
        ps04 = db.session.execute(sa.select(ScoreResult).join(Unit, ScoreResult.unit_id == Unit.id)
                                  .join(ScoreRun).join(Cycle)
                                  .where(Unit.code == "PS04", Cycle.name == "2025年度")).scalar_one()
        assert ps04.excluded and ps04.rank is None
    page = client.get("/assessment/flags").get_data(as_text=True)
    assert "PS04派出所" in page and "按末位计" in page


def test_case_counts_per_10000_residents_need_each_stations_population(app, ctx):
    from app.assessment import services
    from app.errors import DomainError

    ids = build_world(open_it=False)
    ind = services.indicator_map()["criminal_cases"]
    services.save_indicator(ind, {"code": ind.code, "level": "unit", "direction": "lower", "method": "target",
                                  "dimension": ind.dimension, "per_capita": True, "target": 2.5, "floor": 7.0,
                                  "category_targets": None, "category_floors": None})
    cycle = db.session.get(Cycle, ids["cycle"])
    transition_cycle(cycle, "open")
    db.session.commit()
    load(ids, unit_rows())
    with pytest.raises(DomainError, match="没有登记辖区常住人口.*PS01派出所"):
        runs.compute_run(cycle)
    db.session.rollback()
    for code in ("PS01", "PS02", "PS03", "PS04"):
        db.session.execute(sa.select(Unit).filter_by(code=code)).scalar_one().population = 40_000
    db.session.commit()
    run = runs.compute_run(cycle)
    ps04 = next(r for r in run.results if r.unit_id == ids["units"]["PS04"])
    entry = next(i for i in ps04.breakdown["indicators"] if i["code"] == "criminal_cases")
    # PS04 (strength 0.1): round(20 × 1.1) = 22 preventable + 0.5 × 3 non-preventable = 23.5 cases;
    # per 10,000 of 40,000 residents: 5.875; (7 − 5.875) / (7 − 2.5) = 25.
    assert entry["raw"] == pytest.approx(5.875) and entry["normalised"] == pytest.approx(25)
    assert entry["details"]["population"] == 40_000


def test_a_stations_population_is_kept_and_absurd_values_are_refused(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
        bureau_id = db.session.execute(sa.select(Unit).filter_by(code="BJ")).scalar_one().id
    unit_id = ids["units"]["PS01"]
    form = {"code": "PS01", "name": "PS01派出所", "kind": "station", "category": "1", "parent_id": str(bureau_id)}
    page = client.post(f"/admin/units/{unit_id}/edit", data={**form, "population": "99999999999"})
    assert page.status_code == 200
    response = client.post(f"/admin/units/{unit_id}/edit", data={**form, "population": "52000"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Unit, unit_id).population == 52000


def test_baseline_takes_the_newest_published_run_of_the_last_three_years_oldest_first():
    from app.assessment.baseline import choose_runs

    # (run id, cycle id, cycle name), newest cycle first and, within it, the newest run first
    runs_found = [(9, 4, "2025年度"), (8, 4, "2025年度"), (7, 3, "2024年度"), (5, 2, "2023年度"), (3, 1, "2022年度")]
    assert choose_runs(runs_found) == [(5, "2023年度"), (7, "2024年度"), (9, "2025年度")]
    assert choose_runs([]) == []


def test_a_baseline_needs_two_years_and_a_mean_above_zero():
    from app.assessment.baseline import baseline_means

    values = {"cases": {1: [["2024", 6.0], ["2025", 4.0]], 2: [["2025", 13.0]], 3: [["2024", 0.0], ["2025", 0.0]]},
              "other": {}}
    assert baseline_means(values) == {"cases": {"1": {"mean": 5.0, "years": [["2024", 6.0], ["2025", 4.0]]}}}


def test_counts_scored_against_the_stations_own_baseline(app, client, auth):
    """刑事案件 (一类: target 15, floor 40; split counts, non-preventable × 0.5). PS01 was scored on
    6 and 4 in the published 2024 and 2025 years (a 2023 run never published, 100, is ignored):
    baseline (6 + 4) / 2 = 5, floor 40 × 5 / 15 = 13.33. This year 6 + 0.5 × 3 = 7.5 cases:
    (13.33 − 7.5) / (13.33 − 5) = 70 (against the category target it would be 100). PS02 has
    one published year only: no baseline, the category's target 15 and floor 40 (13.5 → 100)."""
    from datetime import datetime

    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(open_it=False)
        ps01, ps02 = ids["units"]["PS01"], ids["units"]["PS02"]
        for year, status, figures in ((2023, "done", {ps01: 100.0}), (2024, "published", {ps01: 6.0}),
                                      (2025, "published", {ps01: 4.0, ps02: 13.0})):
            past = Cycle(name=f"{year}年度考评", kind="year", starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                         status="closed", config={})
            db.session.add(past)
            db.session.flush()
            run = ScoreRun(cycle_id=past.id, version=1, status=status, config={}, options={},
                           published_at=datetime(year + 1, 1, 10) if status == "published" else None)
            db.session.add(run)
            db.session.flush()
            for unit_id, raw in figures.items():
                db.session.add(ScoreResult(run_id=run.id, level="unit", unit_id=unit_id, category=1, total=80.0,
                                           adjusted_total=88.0, coefficient=1.1, rank=1, coverage=1.0,
                                           breakdown={"indicators": [{"code": "criminal_cases", "raw": raw,
                                                                      "missing": False}]}))
        db.session.commit()
    bad = settings_form(client, ids["cycle"], baseline_codes="zz")
    page = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=bad).get_data(as_text=True)
    assert "“zz”不能按本所基线计分" in page
    data = settings_form(client, ids["cycle"], baseline_codes="criminal_cases")
    assert client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).status_code == 302
    client.post(f"/admin/cycles/{ids['cycle']}/open")
    with app.app_context():
        load(ids, unit_rows())
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        assert run.options["baselines"]["criminal_cases"] == {
            str(ps01): {"mean": 5.0, "years": [["2024年度考评", 6.0], ["2025年度考评", 4.0]]}}
        by_unit = {r.unit_id: r for r in run.results if r.level == "unit"}
        cases = {u: next(i for i in by_unit[u].breakdown["indicators"] if i["code"] == "criminal_cases")
                 for u in (ps01, ps02)}
        assert cases[ps01]["raw"] == 7.5 and cases[ps01]["target"] == 5.0
        assert cases[ps01]["floor"] == pytest.approx(40 / 3)
        assert cases[ps01]["normalised"] == pytest.approx(70.0)
        assert cases[ps02]["target"] == 15.0 and cases[ps02]["floor"] == 40.0 and cases[ps02]["normalised"] == 100.0
        assert "baseline" not in cases[ps02]["details"]
        result_id = by_unit[ps01].id
    page = client.get(f"/assessment/results/{result_id}").get_data(as_text=True)
    assert "目标为本所基线 =（2024年度考评 6 + 2025年度考评 4）÷ 2 = 5" in page
