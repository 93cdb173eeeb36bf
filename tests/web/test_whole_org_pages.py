"""Pages about the whole organisation come a page at a time, with search and filters, and their
exports are written row by row with every row."""
import io

import sqlalchemy as sa
from openpyxl import load_workbook

from app.assessment import runs
from app.extensions import db
from app.models import Cycle, Officer

from .assessment_setup import build_world, load, officer_rows, unit_rows
from .feedback_helpers import build_world as build_feedback_world


def _computed(app):
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        load(ids, officer_rows(ids))
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        return ids, run.id


def test_the_officer_ranking_is_paged_searched_and_filtered(app, client, auth, monkeypatch):
    auth.as_role("admin", unit_code="BJ")
    ids, run_id = _computed(app)
    monkeypatch.setitem(app.config, "PER_PAGE", 3)
    page = client.get(f"/assessment/runs/{run_id}").get_data(as_text=True)
    shown = [b for b in sorted(ids["officers"]) if f">{b} · " in page]
    assert len(shown) == 3 and "共 8 条" in page  # 8 officers, 3 a page
    third = client.get(f"/assessment/runs/{run_id}?page=3").get_data(as_text=True)
    assert len([b for b in ids["officers"] if f">{b} · " in third]) == 2
    # Every station keeps its place in the unit ranking on every page.
    assert all(f"{code}派出所" in third for code in ("PS01", "PS02", "PS03", "PS04"))
    found = client.get(f"/assessment/runs/{run_id}?q=民警PS031").get_data(as_text=True)
    assert ">B21 · " in found and "共 1 条" in found
    by_badge = client.get(f"/assessment/runs/{run_id}?q=B30").get_data(as_text=True)
    assert ">B30 · " in by_badge and "共 1 条" in by_badge
    station = client.get(f"/assessment/runs/{run_id}?unit={ids['units']['PS02']}").get_data(as_text=True)
    assert ">B10 · " in station and ">B11 · " in station and "共 2 条" in station
    category = client.get(f"/assessment/runs/{run_id}?category=3").get_data(as_text=True)
    assert "共 4 条" in category and ">B00 · " not in category  # PS03 and PS04 are 三类
    nobody = client.get(f"/assessment/runs/{run_id}?q=%25").get_data(as_text=True)
    assert "没有符合条件的民警" in nobody  # a LIKE wildcard is searched for literally


def test_the_run_export_has_every_result_with_its_unit(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids, run_id = _computed(app)
    with app.app_context():  # a name a spreadsheet would run as a formula
        db.session.execute(sa.update(Officer).where(Officer.badge_no == "B00").values(name="=HYPERLINK(1)"))
        db.session.commit()
    response = client.get(f"/assessment/runs/{run_id}/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:5] == ("层级", "类别", "单位代码", "警号", "名称")
    units = [r for r in rows[1:] if r[0] == "单位"]
    officers = {r[3]: r for r in rows[1:] if r[0] == "民警"}
    assert sorted(r[2] for r in units) == ["PS01", "PS02", "PS03", "PS04"]
    assert sorted(officers) == sorted(ids["officers"]) and officers["B21"][2] == "PS03"
    assert officers["B00"][4] == "'=HYPERLINK(1)"
    with app.app_context():
        results = runs.run_results(db.session.get(runs.ScoreRun, run_id), "unit")
        first = next(r for rs in results.values() for r in rs if r.rank == 1 and r.category == 1)
        row = next(r for r in units if r[2] == first.unit.code)
        assert row[8] == 1 and row[5] == round(first.total, 2)


def test_the_admin_tracking_list_is_paged_searched_and_exported_whole(app, client, auth, monkeypatch):
    world = build_feedback_world(app, members=6)
    auth.as_role("admin", username="boss", unit_code="BJ")
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    url = f"/admin/feedback/cycles/{world.cycle_id}/tracking"
    with app.app_context():
        owing = len(db.session.execute(sa.select(Officer.id)).all()) - 1  # everyone but the admin owes
    page = client.get(url).get_data(as_text=True)
    assert f"尚未完成评价的民警（{owing} 人）" in page and page.count('<td class="text-end">') >= 2
    assert f"{url}?page=2" in page
    found = client.get(url + "?q=民警3").get_data(as_text=True)
    assert "尚未完成评价的民警（1 人）" in found and "民警3" in found
    other = client.get(url + f"?unit={world.unit_id}").get_data(as_text=True)
    assert "外所民警" not in other
    export = client.get(url + ".xlsx")
    rows = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("单位", "警号", "姓名", "待完成评价数") and len(rows) - 1 == owing
