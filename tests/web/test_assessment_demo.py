"""The issue's "done when", tried as a new admin would on the demo data, and the CLI commands."""
import io

import sqlalchemy as sa
from openpyxl import load_workbook

from app.assessment.demo import DATA_FILE
from app.extensions import db
from app.models import Cycle, ResultApproval, ScoreResult, ScoreRun, Unit


def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one().id


def test_admin_imports_the_demo_file_computes_and_publishes(app, client):
    cycle_id = demo(app)
    assert client.post("/login", data={"username": "admin", "password": "demo1234"}).status_code == 302
    # The 约谈 flag from the two final annual cycles (2025 is still on public notice).
    flags = client.get("/assessment/flags").get_data(as_text=True)
    assert "石桥派出所" in flags and "2023年度考评" in flags and "2024年度考评" in flags
    page = client.get(f"/assessment/cycles/{cycle_id}/import").get_data(as_text=True)
    assert "/assessment/import/demo.csv" in page
    demo_file = client.get("/assessment/import/demo.csv").data
    response = client.post(f"/assessment/cycles/{cycle_id}/import",
                           data={"file": (io.BytesIO(demo_file), "indicator-values-demo.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "导入成功" in response.get_data(as_text=True)
    response = client.post(f"/assessment/cycles/{cycle_id}/compute", data={"reason": ""})
    assert response.status_code == 302
    run_page = client.get(response.headers["Location"])  # the finished job's page leads to the run
    run_id = int(run_page.headers["Location"].rstrip("/").split("/")[-1])
    client.post(f"/admin/cycles/{cycle_id}/closed")
    response = client.post(f"/assessment/runs/{run_id}/publish", follow_redirects=True)
    assert "已发布为周期结果" in response.get_data(as_text=True)
    with app.app_context():
        stations = db.session.scalar(sa.select(sa.func.count(Unit.id)).filter_by(kind="station"))
        results = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run_id, level="unit")).scalars().all()
        assert len(results) == stations == 12
        for r in results:
            assert r.total is not None and r.rank is not None and r.grade
            shown = sum(round(i["shown"] * 100) for i in r.breakdown["indicators"])
            assert shown == round(r.total * 100)
        ids = [r.id for r in results]
        assert db.session.get(Cycle, cycle_id).status == "published"
    ranking = client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    for result_id in ids:
        assert f"/assessment/results/{result_id}" in ranking
        assert client.get(f"/assessment/results/{result_id}").status_code == 200
    assert client.get(f"/admin/cycles/{cycle_id}").status_code == 200
    assert "最新考评结果" in client.get("/").get_data(as_text=True)


def test_demo_past_years_have_runs_and_the_seasonal_example(app):
    demo(app)
    with app.app_context():
        for name, status in (("2023年度考评", "published"), ("2024年度考评", "published"),
                             ("2025年度考评", "closed")):  # 2025: on public notice (公示)
            cycle = db.session.execute(sa.select(Cycle).filter_by(name=name)).scalar_one()
            assert cycle.status == status
            run = db.session.execute(sa.select(ScoreRun).filter_by(cycle_id=cycle.id)).scalar_one()
            last = db.session.execute(sa.select(ScoreResult).join(Unit, ScoreResult.unit_id == Unit.id)
                                      .where(ScoreResult.run_id == run.id, Unit.code == "PS12")).scalar_one()
            assert last.rank == 4  # last of the four 三类 stations
        cycle_2025 = db.session.execute(sa.select(Cycle).filter_by(name="2025年度考评")).scalar_one()
        assert cycle_2025.config["assessment"]["seasonal"] == {"fraud_prevention": 1.5}
    assert DATA_FILE.exists()


def test_demo_shows_the_rules_at_work(app, client):
    from app.assessment.demo import WITHHELD_NOTE
    from app.models import AuditLog

    demo(app)
    with app.app_context():
        def result(year, code):
            return db.session.execute(
                sa.select(ScoreResult).join(ScoreRun).join(Cycle).join(Unit, ScoreResult.unit_id == Unit.id)
                .where(Cycle.name == f"{year}年度考评", Unit.code == code)).scalar_one()

        # Re-classified: PS02 was 二类 in 2024 and is 一类 now; PS01 was alone in 一类 in 2024.
        assert result(2024, "PS02").category == 2 and result(2025, "PS02").category == 1
        assert db.session.execute(sa.select(Unit).filter_by(code="PS02")).scalar_one().category == 1
        lone = result(2024, "PS01")
        assert lone.category == 1 and lone.rank == 1
        assert db.session.scalar(sa.select(sa.func.count(ScoreResult.id))
                                 .where(ScoreResult.run_id == lone.run_id, ScoreResult.level == "unit",
                                        ScoreResult.category == 1)) == 1
        # Withheld: PS10's 风险隐患排查整改率 counts as 0 and the run went to the committee with an
        # audited reason.
        withheld = result(2025, "PS10")
        entry = next(i for i in withheld.breakdown["indicators"] if i["code"] == "risk_rectification")
        assert entry["hard_missing"] and entry["normalised"] == 0 and entry["weight"] > 0
        approval = db.session.execute(sa.select(ResultApproval).filter_by(run_id=withheld.run_id)).scalar_one()
        assert approval.note == WITHHELD_NOTE
        audit = db.session.execute(sa.select(AuditLog).filter_by(action="result_submitted")
                                   .where(AuditLog.note == WITHHELD_NOTE)).scalar_one()
        assert audit.after["run"] == withheld.run_id
        approval_id, result_id = approval.id, withheld.id
    assert client.post("/login", data={"username": "admin", "password": "demo1234"}).status_code == 302
    assert WITHHELD_NOTE in client.get(f"/results/approvals/{approval_id}").get_data(as_text=True)
    page = client.get(f"/assessment/results/{result_id}").get_data(as_text=True)
    assert "缺少业务系统数据，按 0 分计" in page and "效能奖金的计算" in page
    assert "每万人口：" in page  # 刑事案件发案数 per 10,000 residents in the demo
    flags = client.get("/assessment/flags").get_data(as_text=True)
    assert "石桥派出所" in flags and "负责人" in flags


def test_cli_import_compute_publish_export(app, tmp_path):
    cycle_id = demo(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-indicators", str(DATA_FILE), "--cycle", str(cycle_id)])
    assert result.exit_code == 0 and "superseded" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("单位代码,警号,指标代码,数值,不可防数\nPS01,,case_compliance,150,\n", encoding="utf-8")
    result = runner.invoke(args=["import-indicators", str(bad), "--cycle", str(cycle_id)])
    assert result.exit_code == 1 and "row 2" in result.output
    result = runner.invoke(args=["compute", "--cycle", str(cycle_id)])
    assert result.exit_code == 0, result.output
    assert "计算单位层级" in result.output and "done" in result.output
    with app.app_context():
        run_id = db.session.execute(sa.select(ScoreRun.id).filter_by(cycle_id=cycle_id)).scalar_one()
    refused = runner.invoke(args=["publish", "--cycle", str(cycle_id), "--run", str(run_id)])
    assert refused.exit_code != 0 and "关闭周期" in refused.output
    with app.app_context():
        from app.admin.services import transition_cycle

        transition_cycle(db.session.get(Cycle, cycle_id), "closed")
        db.session.commit()
    result = runner.invoke(args=["publish", "--cycle", str(cycle_id), "--run", str(run_id)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "results.xlsx"
    result = runner.invoke(args=["export", "--cycle", str(cycle_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "层级" and len(rows) > 12
