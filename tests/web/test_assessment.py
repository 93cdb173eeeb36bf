"""The main assessment as an administrator and an officer meet it: catalogue, cycle settings,
imports, compute, breakdowns, publication and who may see what."""
import io
from datetime import date

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs, services
from app.errors import DomainError
from app.extensions import db
from app.models import AuditLog, Cycle, ImportBatch, Indicator, IndicatorValue, ScoreResult, ScoreRun
from app.models.assessment import ImmutableResultError

from .assessment_setup import HARD_UNIT, build_world, csv_bytes, load, officer_rows, unit_rows, value_count


def count(app, model, **filters):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def upload(client, cycle_id, rows, filename="values.csv"):
    """Post the file; a job imports it (at once in tests) and its page leads back to the import page."""
    return client.post(f"/assessment/cycles/{cycle_id}/import", data={"file": (io.BytesIO(csv_bytes(rows)), filename)},
                       content_type="multipart/form-data", follow_redirects=True)


# ---- catalogue ---------------------------------------------------------------------------------
def test_seed_catalogue_has_the_issue_indicators_and_soft_codes(app, ctx):
    services.seed_catalogue()
    catalogue = services.indicator_map()
    names = {i.name for i in catalogue.values()}
    for name in ("案件规范率", "群众回访满意度", "重点人员动态管控率", "风险隐患排查整改率", "窗口办结效率",
                 "矛盾纠纷调解成功率", "纪律作风", "培训参与率", "内务规范化", "电诈案件防范率"):
        assert name in names
    assert catalogue["soft_residents"].dimension == "public_service" and catalogue["soft_residents"].level == "unit"
    assert catalogue["soft_360"].level == "officer" and catalogue["soft_360"].unit_weight is not None
    assert catalogue["soft_teamwork"].dimension == "team_management" and catalogue["soft_teamwork"].is_soft
    assert any(i.splits_preventable for i in catalogue.values())
    assert all(abs(total - 100) < 1e-9 for total in services.catalogue_sums().values())
    assert services.seed_catalogue() == 0  # idempotent


def test_catalogue_pages_are_for_admins(app, client, auth):
    auth.as_role("officer")
    assert client.get("/assessment/indicators").status_code == 403
    auth.logout()
    auth.as_role("admin", username="boss")
    with app.app_context():
        services.seed_catalogue()
        db.session.commit()
    page = client.get("/assessment/indicators").get_data(as_text=True)
    assert "案件规范率" in page and "soft_360" in page


def test_edit_indicator_and_warn_when_weights_stop_adding_up(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        services.seed_catalogue()
        db.session.commit()
        ind_id = services.indicator_map()["discipline"].id
    form = client.get(f"/assessment/indicators/{ind_id}/edit")
    assert form.status_code == 200
    response = client.post(f"/assessment/indicators/{ind_id}/edit", data={
        "code": "discipline", "name": "纪律作风", "dimension": "team_management", "level": "unit", "weight": "30",
        "direction": "higher", "unit_of_measure": "分", "method": "target", "target": "100", "min_value": "0",
        "max_value": "100", "is_active": "y"})
    assert response.status_code == 302
    page = client.get("/assessment/indicators").get_data(as_text=True)
    assert "权重之和为 105" in page
    # A target method without a target is refused next to the field.
    bad = client.post(f"/assessment/indicators/{ind_id}/edit", data={
        "code": "discipline", "name": "纪律作风", "dimension": "team_management", "level": "unit", "weight": "25",
        "direction": "higher", "method": "target", "target": "", "is_active": "y"})
    assert "需要大于 0 的目标值" in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Indicator, ind_id).weight == 30


# ---- settings ----------------------------------------------------------------------------------
def settings_form(client, cycle_id, **changes):
    from html.parser import HTMLParser

    page = client.get(f"/assessment/cycles/{cycle_id}/settings").get_data(as_text=True)
    data = {}

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") not in ("submit",):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        data[a["name"]] = "y"
                else:
                    data[a["name"]] = a.get("value", "")
            if tag == "select":
                self.select = a["name"]
            if tag == "option" and "selected" in a:
                data[self.select] = a["value"]

        def handle_data(self, text):
            if getattr(self, "in_textarea", None):
                data[self.in_textarea] = text

    parser = P()
    parser.feed(page)
    data.setdefault("seasonal", "")
    data.update(changes)
    return data


def test_settings_weights_must_add_to_100_and_nothing_changes(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], dim_law_enforcement="40")
    response = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "四个维度的权重之和必须为 100，当前为 110" in page
    with app.app_context():
        assert "assessment" not in (db.session.get(Cycle, ids["cycle"]).config or {})
    # Indicator weights within a dimension too.
    data = settings_form(client, ids["cycle"], w_0="50")
    page = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).get_data(as_text=True)
    assert "维度内各指标的权重之和必须为 100" in page
    with app.app_context():
        assert "assessment" not in (db.session.get(Cycle, ids["cycle"]).config or {})


def test_unknown_seasonal_indicator_is_named_and_nothing_changes(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], seasonal="anti_fraud=1.5")
    page = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).get_data(as_text=True)
    assert "季节性调整中的指标代码“anti_fraud”不存在" in page
    data = settings_form(client, ids["cycle"], seasonal="fraud_prevention 1.5")
    assert "无法理解" in client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data).get_data(as_text=True)
    with app.app_context():
        assert "assessment" not in (db.session.get(Cycle, ids["cycle"]).config or {})


def test_settings_saved_while_draft_then_frozen_on_open(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        ids = build_world(open_it=False)
    data = settings_form(client, ids["cycle"], dim_law_enforcement="35", dim_team_management="20",
                         seasonal="fraud_prevention=1.5", bonus_pool="10000")
    response = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        config = services.cycle_config(db.session.get(Cycle, ids["cycle"]))
        assert config.dimension_weights["law_enforcement"] == 35
        assert config.seasonal == {"fraud_prevention": 1.5}
        assert config.bonus.pool_cents == 1_000_000
    page = client.get(f"/admin/cycles/{ids['cycle']}").get_data(as_text=True)
    assert "执法质量 35" in page and "× 1.5" in page
    client.post(f"/admin/cycles/{ids['cycle']}/open")
    assert client.get(f"/assessment/cycles/{ids['cycle']}/settings").status_code == 302
    before = count(app, AuditLog, action="assessment_settings_saved")
    response = client.post(f"/assessment/cycles/{ids['cycle']}/settings", data=data)
    assert response.status_code == 302
    assert count(app, AuditLog, action="assessment_settings_saved") == before
    with app.app_context():
        cycle = db.session.get(Cycle, ids["cycle"])
        with pytest.raises(DomainError):
            services.save_settings(cycle, {})


def test_opening_a_cycle_freezes_the_default_settings(app, ctx):
    ids = build_world(open_it=True)
    config = db.session.get(Cycle, ids["cycle"]).config["assessment"]
    assert config["dimension_weights"] == {"law_enforcement": 30.0, "basic_control": 25.0,
                                           "public_service": 20.0, "team_management": 25.0}
    assert {"soft_360", "soft_360@unit", "soft_teamwork@unit", "soft_residents"} <= {
        s["code"] for s in config["indicators"]}


# ---- import ------------------------------------------------------------------------------------
def test_upload_imports_and_reimport_supersedes_with_history(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
    response = upload(client, ids["cycle"], unit_rows())
    assert "导入成功" in response.get_data(as_text=True)
    n = len(unit_rows())
    assert value_count(app, is_current=True) == n
    rows = [{"unit_code": "PS01", "indicator": "case_compliance", "value": 99.5}]
    assert "导入成功" in upload(client, ids["cycle"], rows).get_data(as_text=True)
    assert value_count(app) == n + 1 and value_count(app, is_current=True) == n
    with app.app_context():
        history = db.session.execute(sa.select(IndicatorValue).filter_by(
            unit_id=ids["units"]["PS01"], indicator_id=services.indicator_map()["case_compliance"].id)
            .order_by(IndicatorValue.id)).scalars().all()
        assert [h.is_current for h in history] == [False, True]
        assert history[0].superseded_by_id == history[1].batch_id and history[0].superseded_at is not None
        assert history[1].value == 99.5


@pytest.mark.parametrize("row, message", [
    ({"unit_code": "PS99", "indicator": "case_compliance", "value": 90}, "未知的单位代码“PS99”"),
    ({"badge_no": "X404", "indicator": "officer_training", "value": 90}, "未知的警号“X404”"),
    ({"unit_code": "PS01", "indicator": "no_such", "value": 90}, "未知的指标代码“no_such”"),
    ({"unit_code": "PS01", "indicator": "case_compliance", "value": 120}, "超出指标“案件规范率”的取值范围 0–100"),
    ({"unit_code": "PS01", "indicator": "case_compliance", "value": "abc"}, "不是数字"),
    ({"unit_code": "PS01", "indicator": "criminal_cases", "value": 5}, "需要填写不可防数"),
    ({"unit_code": "PS01", "indicator": "soft_residents", "value": 90}, "由本平台计算，不能导入"),
    ({"unit_code": "BJ", "indicator": "case_compliance", "value": 90}, "不是在用的派出所"),
])
def test_bad_rows_store_nothing(app, client, auth, row, message):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
    good = {"unit_code": "PS02", "indicator": "case_compliance", "value": 90}
    response = upload(client, ids["cycle"], [good, row])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "没有导入任何数据" in page and message in page
    assert "<td>3</td>" in page  # the row number a spreadsheet shows
    assert value_count(app) == 0 and count(app, ImportBatch) == 0


def test_duplicates_in_the_file_are_reported_with_both_rows(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
    row = {"unit_code": "PS02", "indicator": "case_compliance", "value": 90}
    page = upload(client, ids["cycle"], [row, dict(row, value=91)]).get_data(as_text=True)
    assert "与第 2 行重复" in page
    assert value_count(app) == 0


def test_import_into_a_published_cycle_is_refused(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        cycle = db.session.get(Cycle, ids["cycle"])
        transition_cycle(cycle, "closed")
        runs.publish_run(runs.compute_run(cycle))
        db.session.commit()
    before = value_count(app)
    page = upload(client, ids["cycle"], unit_rows()).get_data(as_text=True)
    assert "已发布结果，不能再导入数据" in page
    assert value_count(app) == before and count(app, ImportBatch) == 1


def test_demo_and_template_files_download(app, client, auth):
    auth.as_role("admin")
    assert client.get("/assessment/import/demo.csv").status_code == 200
    assert client.get("/assessment/import/template.xlsx").status_code == 200


# ---- compute, breakdown, publish ---------------------------------------------------------------
def test_compute_without_any_data_reports_it_and_stores_nothing(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""}, follow_redirects=True)
    assert "还没有任何指标数据" in response.get_data(as_text=True)
    assert count(app, ScoreRun) == 0


def test_compute_on_a_draft_cycle_is_refused(app, ctx):
    ids = build_world(open_it=False)
    with pytest.raises(DomainError, match="尚未开启"):
        runs.compute_run(db.session.get(Cycle, ids["cycle"]))


def test_compute_reports_missing_data_instead_of_zeros(app, client, auth, monkeypatch):
    from app.assessment import soft

    monkeypatch.setattr(soft, "SOFT_PROVIDERS", [])  # as before the features that feed them are set up
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows(skip={("PS02", "window_efficiency")}))
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)  # job → run
    assert "窗口办结效率：1 个对象缺失" in page and "业务系统硬指标 1 项按 0 分计" in page
    assert "没有数据来源" in page  # no soft providers registered in this test
    with app.app_context():
        run = db.session.execute(sa.select(ScoreRun)).scalar_one()
        assert run.missing["levels"]["unit"]["by_indicator"]["window_efficiency"] == 1
        assert run.missing["levels"]["officer"] == {"no_data": True}
        ps02 = db.session.execute(sa.select(ScoreResult).filter_by(unit_id=ids["units"]["PS02"])).scalar_one()
        entry = next(i for i in ps02.breakdown["indicators"] if i["code"] == "window_efficiency")
        # A hard indicator withheld counts as 0 with its full weight. 群众服务 (20 points): 窗口办结效率 40,
        # 矛盾纠纷 35, 群众口碑 25 within; the soft 群众口碑 has no source here and is renormalised away,
        # so 窗口办结效率 keeps 20 × 40 / 75 = 10.67 points, scored 0.
        assert entry["missing"] and entry["hard_missing"] and entry["raw"] is None
        assert entry["normalised"] == 0 and entry["weight"] == pytest.approx(20 * 40 / 75)
        assert ps02.breakdown["incomplete"] and ps02.coverage < 1
    result_page = client.get(f"/assessment/results/{ps02.id}").get_data(as_text=True)
    assert "缺少业务系统数据，按 0 分计" in result_page


def test_breakdown_adds_up_and_ranks_within_category(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows() + officer_rows(ids))
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        run_id = run.id
        results = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run_id)).scalars().all()
        assert {r.level for r in results} == {"unit", "officer"}
        for r in results:
            b = r.breakdown
            shown = sum(round(i["shown"] * 100) for i in b["indicators"])
            assert shown == round(b["total_shown"] * 100) == round(r.total * 100)
            assert sum(round(d["shown"] * 100) for d in b["dimensions"]) == shown
            for i in b["indicators"]:
                if not i["missing"]:
                    assert i["contribution"] == pytest.approx(i["normalised"] * i["weight"] / 100)
            assert r.adjusted_total == pytest.approx(r.total * r.coefficient)
        units = {r.unit_id: r for r in results if r.level == "unit"}
        # PS04 is the weakest of category 3, PS01 the best of category 1.
        assert units[ids["units"]["PS04"]].rank == 2 and units[ids["units"]["PS03"]].rank == 1
        assert units[ids["units"]["PS01"]].rank == 1
        ps01 = units[ids["units"]["PS01"]]
    page = client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    assert f"/assessment/results/{ps01.id}" in page and "一类" in page and "三类" in page
    detail = client.get(f"/assessment/results/{ps01.id}").get_data(as_text=True)
    assert "案件规范率" in detail and f"{ps01.total:.2f}" in detail and "执法质量" in detail
    assert "可防案件数：" in detail and "不可防案件权重：0.50" in detail
    assert client.get(f"/assessment/runs/{run_id}/export.xlsx").status_code == 200
    assert "个人提升计划" in client.get(f"/assessment/runs/{run_id}/dual-track").get_data(as_text=True)


def test_publish_needs_a_closed_cycle_then_the_run_is_immutable(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        run_id = runs.compute_run(db.session.get(Cycle, ids["cycle"])).id
        db.session.commit()
    response = client.post(f"/assessment/runs/{run_id}/publish", follow_redirects=True)
    assert "请先关闭周期" in response.get_data(as_text=True)
    assert count(app, ScoreRun, status="published") == 0
    client.post(f"/admin/cycles/{ids['cycle']}/closed")
    assert f"/assessment/runs/{run_id}/publish" in client.get(f"/admin/cycles/{ids['cycle']}").get_data(as_text=True)
    # The cycle cannot be published by hand without a published run.
    response = client.post(f"/admin/cycles/{ids['cycle']}/published", follow_redirects=True)
    assert "选择一个计算版本发布" in response.get_data(as_text=True)
    response = client.post(f"/assessment/runs/{run_id}/publish", follow_redirects=True)
    assert "已发布为周期结果" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Cycle, ids["cycle"]).status == "published"
        run = db.session.get(ScoreRun, run_id)
        run.reason = "tampered"
        with pytest.raises(ImmutableResultError):
            db.session.flush()
        db.session.rollback()
        result = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run_id)).scalars().first()
        result.total = 100.0
        with pytest.raises(ImmutableResultError):
            db.session.flush()
        db.session.rollback()
    # Recompute after publication: a reason is required; it makes a new run, the old one stays.
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": ""}, follow_redirects=True)
    assert "必须填写原因" in response.get_data(as_text=True)
    assert count(app, ScoreRun) == 1
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": "更正 PS02 的数据"})
    assert response.status_code == 302
    with app.app_context():
        new = db.session.execute(sa.select(ScoreRun).filter_by(version=2)).scalar_one()
        assert new.reason == "更正 PS02 的数据" and new.status == "done"
        new_id = new.id
    client.post(f"/assessment/runs/{new_id}/publish")
    with app.app_context():
        old, new = db.session.get(ScoreRun, run_id), db.session.get(ScoreRun, new_id)
        assert old.status == new.status == "published"
        assert runs.published_run(db.session.get(Cycle, ids["cycle"])).id == new_id
        published = db.session.execute(sa.select(AuditLog).filter_by(action="score_run_published")
                                       .order_by(AuditLog.id)).scalars().all()
        assert [a.after["run"] for a in published] == [run_id, new_id]
        assert published[1].before["run"] == run_id
        assert count(app, AuditLog, action="score_run_computed") == 2


def test_bonus_is_split_to_the_cent(app, ctx):
    ids = build_world(open_it=False)
    cycle = db.session.get(Cycle, ids["cycle"])
    config = services.cycle_config(cycle)
    options = services.cycle_options(cycle)
    services.save_settings(cycle, {
        "dimension_weights": dict(config.dimension_weights),
        "indicator_weights": {s.code: s.weight for s in config.indicators},
        "difficulty": dict(config.difficulty), "nonpreventable_weight": 0.5, "seasonal": {},
        "grades": {"mode": "share", "shares": (25, 25, 25, 25, 0), "thresholds": (90, 80, 60, 50),
                   "within_category": False, "on": "adjusted"},
        "bonus": {"floor": 50.0, "on": "adjusted", "pool_cents": 1_000_001},
        "dual_track": options["dual_track"], "rollup": options["rollup"]})
    transition_cycle(cycle, "open")
    db.session.commit()
    load(ids, unit_rows())
    run = runs.compute_run(cycle)
    units = [r for r in run.results if r.level == "unit"]
    assert sum(r.bonus_cents for r in units) == 1_000_001
    assert {r.grade for r in units} == {"excellent", "good", "pass", "basic_pass"}


def test_rollup_of_months_into_a_quarter(app, ctx):
    ids = build_world(kind="quarter")
    months = []
    for m, strength in ((10, 0.2), (11, 0.5), (12, 0.8)):
        end = date(2026, m + 1, 1) if m < 12 else date(2027, 1, 1)
        month = Cycle(name=f"2026年{m}月", kind="month", starts_on=date(2026, m, 1),
                      ends_on=date.fromordinal(end.toordinal() - 1), config={})
        db.session.add(month)
        db.session.flush()
        transition_cycle(month, "open")
        load({"cycle": month.id}, unit_rows(strength={"PS01": strength, "PS02": 0.5, "PS03": 0.5, "PS04": 0.5}))
        months.append(runs.compute_run(month))
        if m == 12:
            # Only published results are rolled up.
            with pytest.raises(DomainError, match="只能汇总已发布的结果；以下下级周期尚未发布：2026年12月"):
                runs.compute_run(db.session.get(Cycle, ids["cycle"]), rollup_method="mean")
        transition_cycle(month, "closed")
        runs.publish_run(months[-1])
    db.session.commit()
    run = runs.compute_run(db.session.get(Cycle, ids["cycle"]), rollup_method="mean")
    ps01 = next(r for r in run.results if r.unit_id == ids["units"]["PS01"])
    monthly = [next(r.total for r in m.results if r.unit_id == ids["units"]["PS01"]) for m in months]
    assert ps01.total == pytest.approx(sum(monthly) / 3)
    assert [p["total"] for p in ps01.breakdown["rollup"]["periods"]] == pytest.approx(monthly)
    assert run.options["rollup_method"] == "mean"
    with pytest.raises(DomainError):
        runs.compute_run(db.session.get(Cycle, months[0].cycle_id), rollup_method="mean")


# ---- who sees what -----------------------------------------------------------------------------
def test_officers_see_published_unit_results_and_only_their_own_breakdown(app, client, auth):
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows() + officer_rows(ids))
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        run_id = run.id
        other = db.session.execute(sa.select(ScoreResult).filter_by(
            run_id=run_id, officer_id=ids["officers"]["B00"])).scalar_one().id
        unit_result = db.session.execute(sa.select(ScoreResult).filter_by(
            run_id=run_id, unit_id=ids["units"]["PS01"])).scalar_one().id
    auth.as_role("officer", username="cop", unit_code="PS01")
    assert client.get(f"/assessment/runs/{run_id}").status_code == 404  # not published yet
    assert client.get(f"/assessment/results/{unit_result}").status_code == 403
    assert client.post(f"/assessment/cycles/{ids['cycle']}/compute").status_code == 403
    assert client.post(f"/assessment/runs/{run_id}/publish").status_code == 403
    assert client.get("/assessment/api-clients").status_code == 403
    with app.app_context():
        cycle = db.session.get(Cycle, ids["cycle"])
        transition_cycle(cycle, "closed")
        runs.publish_run(db.session.get(ScoreRun, run_id))
        db.session.commit()
    page = client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    assert "PS01派出所" in page and "民警排名" not in page
    assert client.get(f"/assessment/results/{unit_result}").status_code == 200
    assert client.get(f"/assessment/results/{other}").status_code == 403
    assert "考评结果" in client.get("/").get_data(as_text=True)


def test_results_and_flags_pages_render_for_admin(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    assert client.get("/assessment/").status_code == 200
    assert "没有需要约谈的单位" in client.get("/assessment/flags").get_data(as_text=True)


def test_no_stray_rows_after_a_refused_compute(app, ctx):
    ids = build_world()
    load(ids, [r for r in unit_rows() if r["indicator"] in HARD_UNIT[:2]])
    cycle = db.session.get(Cycle, ids["cycle"])
    transition_cycle(cycle, "closed")
    runs.publish_run(runs.compute_run(cycle), note="其余数据由业务系统延期提供，经考评委员会同意先行发布")
    db.session.commit()
    with pytest.raises(DomainError):
        runs.compute_run(cycle, reason="  ")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(ScoreRun.id))) == 1


def test_replacing_a_published_result_needs_a_reasoned_run(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        cycle = db.session.get(Cycle, ids["cycle"])
        first, second = runs.compute_run(cycle).id, runs.compute_run(cycle).id
        transition_cycle(cycle, "closed")
        db.session.commit()
    client.post(f"/assessment/runs/{first}/publish")
    response = client.post(f"/assessment/runs/{second}/publish", follow_redirects=True)
    assert "只有填写了原因的重新计算版本才能替换它" in response.get_data(as_text=True)
    assert count(app, ScoreRun, status="published") == 1


def test_load_the_default_indicators_into_an_empty_catalogue(app, client, auth):
    auth.as_role("admin")
    assert "指标库是空的" in client.get("/assessment/indicators").get_data(as_text=True)
    response = client.post("/assessment/indicators/seed", follow_redirects=True)
    assert "已载入 21 个默认指标" in response.get_data(as_text=True)
    client.post("/assessment/indicators/seed")
    assert count(app, Indicator) == 21


def test_rollup_from_the_cycle_page(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world(kind="year", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), name="2026年度")
        for q, start, end in ((1, date(2026, 1, 1), date(2026, 3, 31)), (2, date(2026, 4, 1), date(2026, 6, 30))):
            quarter = Cycle(name=f"2026年第{q}季度", kind="quarter", starts_on=start, ends_on=end, config={})
            db.session.add(quarter)
            db.session.flush()
            transition_cycle(quarter, "open")
            load({"cycle": quarter.id}, unit_rows())
            run = runs.compute_run(quarter)
            transition_cycle(quarter, "closed")
            runs.publish_run(run)
        db.session.commit()
    page = client.get(f"/admin/cycles/{ids['cycle']}").get_data(as_text=True)
    assert 'name="rollup"' in page
    response = client.post(f"/assessment/cycles/{ids['cycle']}/compute", data={"reason": "", "rollup": "weighted"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)  # job → run
    assert "按天数加权" in page
    with app.app_context():
        run = db.session.execute(sa.select(ScoreRun).filter_by(cycle_id=ids["cycle"])).scalar_one()
        result = next(r for r in run.results if r.level == "unit")
        assert [p["days"] for p in result.breakdown["rollup"]["periods"]] == [90, 91]
        result_id = result.id
    assert "2026年第2季度" in client.get(f"/assessment/results/{result_id}").get_data(as_text=True)
