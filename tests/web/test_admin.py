"""The assessment office's administration: units, officers, users, cycles, roster import."""
import csv
import io
import threading
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditLog, Cycle, Officer, Unit, User
from app.tabular import xlsx_bytes

from ..factories import make_cycle, make_officer, make_unit, make_user


def count(app, model, **filters):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def test_units_tree_and_create(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        bureau_id = make_unit("BJ", "示范县公安局", kind="bureau").id
        db.session.commit()
    response = client.post("/admin/units/new", data={"code": "PS02", "name": "城东派出所", "kind": "station",
                                                     "category": "2", "parent_id": str(bureau_id)})
    assert response.status_code == 302
    page = client.get("/admin/units").get_data(as_text=True)
    assert "城东派出所" in page and "二类" in page
    with app.app_context():
        unit = db.session.execute(sa.select(Unit).filter_by(code="PS02")).scalar_one()
        assert unit.parent_id == bureau_id and unit.category == 2


def test_unit_duplicate_code_and_bad_category_change_nothing(app, client, auth):
    auth.as_role("admin")  # creates PS01
    dup = client.post("/admin/units/new", data={"code": "PS01", "name": "又一个", "kind": "station", "category": "1",
                                                "parent_id": "0"})
    assert dup.status_code == 200
    assert "单位代码“PS01”已存在" in dup.get_data(as_text=True)
    no_category = client.post("/admin/units/new", data={"code": "PS03", "name": "三所", "kind": "station",
                                                        "category": "", "parent_id": "0"})
    assert "派出所必须选择类别" in no_category.get_data(as_text=True)
    squad_category = client.post("/admin/units/new", data={"code": "SQ", "name": "中队", "kind": "squad",
                                                          "category": "1", "parent_id": "0"})
    assert "只有派出所有类别" in squad_category.get_data(as_text=True)
    assert count(app, Unit) == 1


def test_unit_cannot_become_its_own_ancestor(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        top = make_unit("TOP", kind="bureau")
        child = make_unit("CH", kind="police_type", parent=top)
        db.session.commit()
        top_id, child_id = top.id, child.id
    response = client.post(f"/admin/units/{top_id}/edit", data={"code": "TOP", "name": "局", "kind": "bureau",
                                                               "category": "", "parent_id": str(child_id)})
    assert "上级单位不能是本单位或其下级单位" in response.get_data(as_text=True)


def test_database_refuses_a_station_without_category(app):
    import pytest

    with app.app_context():
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("INSERT INTO unit (code, name, kind, is_active, created_at) "
                                       "VALUES ('X', 'x', 'station', true, '2026-01-01')"))
        db.session.rollback()


def test_officer_create_search_page_and_duplicate_badge(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        unit_id = db.session.execute(sa.select(Unit.id).filter_by(code="PS01")).scalar_one()
        for i in range(30):
            make_officer(db.session.get(Unit, unit_id), name=f"民警{i:02d}", badge_no=f"0{i:05d}")
        db.session.commit()
    ok = client.post("/admin/officers/new", data={"badge_no": "123456", "name": "李明", "unit_id": str(unit_id),
                                                  "position": "社区民警"})
    assert ok.status_code == 302
    dup = client.post("/admin/officers/new", data={"badge_no": "123456", "name": "李四", "unit_id": str(unit_id)})
    assert "警号“123456”已存在" in dup.get_data(as_text=True)
    assert "李明" in client.get("/admin/officers?q=李明").get_data(as_text=True)
    first = client.get("/admin/officers").get_data(as_text=True)
    assert "共 32 条" in first  # 30 + the admin's own officer + 李明
    second = client.get("/admin/officers?page=2").get_data(as_text=True)
    assert "民警29" in second


def test_officer_deactivate_keeps_the_row_and_locks_the_account(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        officer = make_officer(db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one(), name="王五")
        make_user("wangwu", officer=officer)
        db.session.commit()
        officer_id = officer.id
    done = client.post(f"/admin/officers/{officer_id}/deactivate", follow_redirects=True)
    assert "已停用 王五，其历史数据保留" in done.get_data(as_text=True)
    with app.app_context():
        officer = db.session.get(Officer, officer_id)
        assert officer is not None and not officer.is_active
        assert not officer.user.is_active
        assert db.session.execute(sa.select(AuditLog).filter_by(action="officer_deactivated")).scalar_one()
    assert "王五" not in client.get("/admin/officers").get_data(as_text=True)
    assert "王五" in client.get("/admin/officers?inactive=1").get_data(as_text=True)


def test_user_create_needs_officer_for_officer_role_and_rejects_duplicates(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        make_officer(db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one(),
                               badge_no="555555")
        db.session.commit()
    no_officer = client.post("/admin/users/new", data={"username": "newbie", "roles": ["officer"],
                                                       "password": "password123"})
    assert "必须关联一名民警" in no_officer.get_data(as_text=True)
    ok = client.post("/admin/users/new", data={"username": "newbie", "roles": ["officer"], "badge_no": "555555",
                                               "password": "copper-kettle-drift"})
    assert ok.status_code == 302
    dup = client.post("/admin/users/new", data={"username": "newbie", "roles": ["coordinator"],
                                                "password": "copper-kettle-drift"})
    assert "用户名已存在" in dup.get_data(as_text=True)
    assert count(app, User, username="newbie") == 1


def test_admin_cannot_deactivate_self(app, client, auth):
    auth.as_role("admin", username="me")
    with app.app_context():
        me = db.session.execute(sa.select(User).filter_by(username="me")).scalar_one().id
    client.post(f"/admin/users/{me}/deactivate")
    assert client.get("/admin/").status_code == 200


def test_cycle_create_open_close_and_frozen(app, client, auth):
    auth.as_role("admin")
    bad = client.post("/admin/cycles/new", data={"name": "Q", "kind": "quarter", "starts_on": "2026-10-01",
                                                 "ends_on": "2026-09-01"})
    assert "结束日期不能早于开始日期" in bad.get_data(as_text=True)
    ok = client.post("/admin/cycles/new", data={"name": "2026Q4", "kind": "quarter", "starts_on": "2026-10-01",
                                                "ends_on": "2026-12-31"})
    assert ok.status_code == 302
    dup = client.post("/admin/cycles/new", data={"name": "again", "kind": "quarter", "starts_on": "2026-10-01",
                                                 "ends_on": "2026-12-31"})
    assert "已存在" in dup.get_data(as_text=True)
    with app.app_context():
        cycle_id = db.session.execute(sa.select(Cycle.id)).scalar_one()
    # Skipping a step is refused.
    client.post(f"/admin/cycles/{cycle_id}/closed")
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).status == "draft"
    client.post(f"/admin/cycles/{cycle_id}/open")
    with app.app_context():
        cycle = db.session.get(Cycle, cycle_id)
        assert cycle.status == "open" and cycle.opened_at is not None
    # Frozen: editing is refused.
    edit = client.post(f"/admin/cycles/{cycle_id}/edit", data={"name": "x", "kind": "quarter",
                                                              "starts_on": "2026-10-01", "ends_on": "2026-12-31"})
    assert edit.status_code == 302
    with app.app_context():
        assert db.session.get(Cycle, cycle_id).name == "2026Q4"
    client.post(f"/admin/cycles/{cycle_id}/closed")
    page = client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True)
    assert "已关闭" in page and "开启周期" in page and "关闭周期" in page


def test_cycle_status_is_checked_by_the_database(app):
    import pytest

    with app.app_context():
        cycle = make_cycle()
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE cycle SET status = 'finished' WHERE id = :i"), {"i": cycle.id})
        db.session.rollback()


def test_racing_cycle_openings_open_it_once(app):
    from app.admin.services import transition_cycle
    from app.errors import DomainError

    with app.app_context():
        cycle_id = make_cycle(starts_on=date(2025, 1, 1), ends_on=date(2025, 3, 31)).id
        db.session.commit()
    outcomes, barrier = [], threading.Barrier(2)

    def open_it():
        with app.app_context():
            cycle = db.session.get(Cycle, cycle_id)
            barrier.wait()
            try:
                transition_cycle(cycle, "open")
                db.session.commit()
                outcomes.append("ok")
            except DomainError:
                outcomes.append("refused")
            except sa.exc.OperationalError:  # SQLite: the loser may find the database locked
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert count(app, AuditLog, action="cycle_open") == 1


def _csv(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["警号", "姓名", "单位代码", "职务", "是否领导"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_roster_import_all_or_nothing_with_row_report(app, client, auth):
    auth.as_role("admin")
    data = _csv([["100001", "张三", "PS01", "社区民警", "否"], ["100001", "李四", "PS01", "", ""],
                 ["100003", "", "PS99", "", "也许"]])
    response = client.post("/admin/import/roster", data={"file": (io.BytesIO(data), "roster.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "没有导入任何数据" in page
    assert "与第 2 行重复" in page and "缺少姓名" in page and "未知的单位代码“PS99”" in page
    assert "应填“是”或“否”" in page
    assert count(app, Officer) == 1  # only the admin's own officer


def test_roster_import_xlsx_creates_and_updates(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        make_officer(db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one(), badge_no="200002",
                     name="旧名")
        db.session.commit()
    data = xlsx_bytes(["警号", "姓名", "单位代码", "职务", "是否领导"],
                      [["200001", "赵六", "PS01", "所长", "是"], ["200002", "新名", "PS01", "", "否"]])
    response = client.post("/admin/import/roster", data={"file": (io.BytesIO(data), "roster.xlsx")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    assert "新增 1 人，更新 1 人" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(sa.select(Officer).filter_by(badge_no="200001")).scalar_one().is_leader
        assert db.session.execute(sa.select(Officer.name).filter_by(badge_no="200002")).scalar_one() == "新名"


def test_roster_import_rejects_bad_files(app, client, auth):
    auth.as_role("admin")
    for name, body, message in [("roster.txt", b"x", "只支持 .csv 和 .xlsx 文件"),
                                ("roster.xlsx", b"not a zip", "无法读取该 Excel 文件"),
                                ("roster.csv", "姓名\n张三\n".encode(), "缺少列")]:
        response = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 200
        assert message in response.get_data(as_text=True), name


def test_roster_template_downloads(app, client, auth):
    from openpyxl import load_workbook

    auth.as_role("admin")
    response = client.get("/admin/import/roster/template.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    assert [c.value for c in book.active[1]] == ["警号", "姓名", "单位代码", "职务", "是否领导"]


def test_non_admin_pages_are_refused(app, client, auth):
    auth.as_role("supervisor")
    for path in ("/admin/", "/admin/units", "/admin/officers", "/admin/users", "/admin/cycles",
                 "/admin/import/roster", "/admin/audit"):
        assert client.get(path).status_code == 403, path


def test_audit_page_lists_changes(app, client, auth):
    auth.as_role("admin")
    client.post("/admin/cycles/new", data={"name": "2026Q4", "kind": "quarter", "starts_on": "2026-10-01",
                                           "ends_on": "2026-12-31"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "保存周期" in page and "2026Q4" in page and "cycle_saved" not in page  # labelled, not a code
