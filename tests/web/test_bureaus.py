"""Several bureaus on one installation: a bureau's admin sees and changes only their bureau (another
bureau's objects answer 404 wherever their id is given), a cycle's score run ranks only its bureau's
stations, each bureau may keep its own catalogue, and the province role reads every bureau and
changes nothing."""
import io
from datetime import date

import pytest
import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.assessment.datapool import import_indicator_values
from app.assessment.services import indicators
from app.extensions import db
from app.models import Cycle, Indicator, Officer, ScoreResult, Unit, User

from ..factories import make_cycle, make_officer, make_unit, make_user
from .assessment_setup import HARD_OFFICER, HARD_UNIT, build_world, load, officer_rows, unit_rows

B_STATIONS = (("QS01", 1), ("QS02", 3))


def _b_rows(b_officers) -> list[dict]:
    rows = []
    for k, (code, _cat) in enumerate(B_STATIONS):
        for ind in HARD_UNIT:
            value = round(20 * (0.5 + k)) if ind == "criminal_cases" else 85.0 + 5 * k
            rows.append({"unit_code": code, "indicator": ind, "value": value,
                         **({"nonpreventable": 1} if ind == "criminal_cases" else {})})
    for k, badge in enumerate(sorted(b_officers)):
        rows += [{"badge_no": badge, "indicator": ind, "value": 80.0 + k} for ind in HARD_OFFICER]
    return rows


@pytest.fixture
def two_bureaus(app):
    """Bureau A (BJ: PS01–PS04, the assessment world) and bureau B (SZ: QS01, QS02), each with its own
    open quarter, an admin of its own; a province account; committed."""
    with app.app_context():
        ids = build_world(name="甲局2026年第四季度")
        a = db.session.execute(sa.select(Unit).filter_by(code="BJ")).scalar_one()
        db.session.get(Cycle, ids["cycle"]).bureau_id = a.id
        b = make_unit("SZ", "乙市公安局", kind="bureau")
        b_units, b_officers = {}, {}
        for code, category in B_STATIONS:
            unit = make_unit(code, category=category, parent=b)
            b_units[code] = unit.id
            for j in range(2):
                officer = make_officer(unit, name=f"乙局民警{code}{j}", badge_no=f"Q{code[-1]}{j}")
                b_officers[officer.badge_no] = officer.id
        cycle_b = make_cycle(name="乙局2026年第四季度", bureau=b)
        transition_cycle(cycle_b, "open")
        admin_a = make_user("admin_a", roles=("admin",), bureau=a)
        admin_b = make_user("admin_b", roles=("admin",), bureau=b)
        make_user("province", roles=("province",))
        db.session.commit()
        return {**ids, "a": a.id, "b": b.id, "b_units": b_units, "b_officers": b_officers,
                "cycle_b": cycle_b.id, "admin_a": admin_a.id, "admin_b": admin_b.id}


def _load_b(ids):
    cycle_b = db.session.get(Cycle, ids["cycle_b"])
    report = import_indicator_values(cycle_b, list(enumerate(_b_rows(ids["b_officers"]), start=2)), "upload", "b.csv")
    assert report.ok, report.errors
    db.session.commit()


def _compute(cycle_id):
    cycle = db.session.get(Cycle, cycle_id)
    run = runs.compute_run(cycle)
    db.session.commit()
    return run


def test_a_units_bureau_follows_it_on_insert_and_move(app, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        qs01 = db.session.get(Unit, ids["b_units"]["QS01"])
        squad = make_unit("QS01-1", kind="squad", parent=qs01)
        db.session.commit()
        assert squad.bureau_id == ids["b"] and db.session.get(Unit, ids["b"]).bureau_id == ids["b"]
        qs01.parent_id = ids["a"]  # the station moves to bureau A and takes its squad along
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Unit, qs01.id).bureau_id == ids["a"]
        assert db.session.get(Unit, squad.id).bureau_id == ids["a"]


def test_a_bureaus_admin_lists_only_their_bureau(app, client, auth, two_bureaus):
    auth.login("admin_a")
    units = client.get("/admin/units").get_data(as_text=True)
    assert "PS01" in units and "QS01" not in units and "SZ" not in units
    officers = client.get("/admin/officers?q=民警").get_data(as_text=True)
    assert "民警PS010" in officers and "乙局民警" not in officers
    users = client.get("/admin/users").get_data(as_text=True)
    assert "admin_a" in users and "admin_b" not in users and "province" not in users
    cycles = client.get("/admin/cycles").get_data(as_text=True)
    assert "甲局2026年第四季度" in cycles and "乙局2026年第四季度" not in cycles
    choices = client.get("/admin/officers/new").get_data(as_text=True)
    assert "PS01" in choices and "QS01" not in choices


def test_another_bureaus_objects_answer_404_by_url(app, client, auth, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        _load_b(ids)
        run_b = _compute(ids["cycle_b"]).id
        q_officer = ids["b_officers"]["Q10"]
    auth.login("admin_a")
    for url in (f"/admin/units/{ids['b_units']['QS01']}/edit", f"/admin/units/{ids['b']}/edit",
                f"/admin/officers/{q_officer}/edit", f"/admin/users/{ids['admin_b']}/edit",
                f"/admin/users/{ids['admin_b']}/password", f"/admin/cycles/{ids['cycle_b']}",
                f"/admin/cycles/{ids['cycle_b']}/settings.json", f"/assessment/runs/{run_b}",
                f"/assessment/runs/{run_b}/export.xlsx", f"/assessment/cycles/{ids['cycle_b']}/import",
                f"/admin/feedback/cycles/{ids['cycle_b']}/design", f"/reports/units/{ids['b_units']['QS01']}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/admin/officers/{q_officer}/deactivate", f"/admin/users/{ids['admin_b']}/deactivate",
                f"/admin/cycles/{ids['cycle_b']}/closed", f"/assessment/runs/{run_b}/publish"):
        assert client.post(url, data={}).status_code == 404, url
    with app.app_context():
        assert db.session.get(Officer, q_officer).is_active
        assert db.session.get(User, ids["admin_b"]).is_active_account
        assert db.session.get(Cycle, ids["cycle_b"]).status == "open"
    # bureau B's admin is kept out of A the same way, and B's jobs are B's
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/admin/cycles/{ids['cycle']}").status_code == 404
    assert client.get(f"/admin/units/{ids['units']['PS01']}/edit").status_code == 404
    started = client.post(f"/assessment/cycles/{ids['cycle_b']}/compute", data={"reason": "again"})
    assert started.status_code == 302 and "/jobs/" in started.headers["Location"]
    job_url = started.headers["Location"].split("?")[0]
    auth.logout()
    auth.login("admin_a")
    assert client.get(job_url).status_code == 404
    assert client.get(job_url + "/status").status_code == 404


def test_another_bureaus_ids_in_forms_are_refused(app, client, auth, two_bureaus):
    ids = two_bureaus
    auth.login("admin_a")
    page = client.post("/admin/officers/new",
                       data={"badge_no": "X001", "name": "越界", "unit_id": ids["b_units"]["QS01"]})
    assert page.status_code == 200
    page = client.post("/admin/units/new", data={"code": "PSX", "name": "越界所", "kind": "station", "category": "1",
                                                 "parent_id": ids["b_units"]["QS01"]})
    assert page.status_code == 200  # not among the choices: refused, nothing made
    page = client.post("/admin/units/new", data={"code": "NEWB", "name": "新局", "kind": "bureau", "category": "",
                                                 "parent_id": 0})
    assert "只能在本局之下新建或调整单位" in page.get_data(as_text=True)
    page = client.post("/admin/users/new", data={"username": "spy", "badge_no": "Q10", "roles": ["officer"],
                                                 "password": "Xk7!long-enough-pass"})
    assert "找不到警号为“Q10”的民警" in page.get_data(as_text=True)
    # a forged bureau on a new cycle is ignored: a bureau's admin makes cycles of their bureau only
    made = client.post("/admin/cycles/new", data={"name": "甲局2027年一月", "kind": "month", "starts_on": "2027-01-01",
                                                  "ends_on": "2027-01-31", "bureau_id": ids["b"]})
    assert made.status_code == 302
    with app.app_context():
        assert db.session.execute(sa.select(Officer).filter_by(badge_no="X001")).scalar_one_or_none() is None
        assert db.session.execute(sa.select(Unit).filter_by(code="PSX")).scalar_one_or_none() is None
        assert db.session.execute(sa.select(User).filter_by(username="spy")).scalar_one_or_none() is None
        cycle = db.session.execute(sa.select(Cycle).filter_by(name="甲局2027年一月")).scalar_one()
        assert cycle.bureau_id == ids["a"]


def test_a_cycles_score_run_ranks_only_its_bureau(app, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        cycle_a = db.session.get(Cycle, ids["cycle"])
        # B's station is no unit of A's cycle: its values are refused, nothing stored
        report = import_indicator_values(cycle_a, [(2, {"unit_code": "QS01", "indicator": HARD_UNIT[0], "value": 90})],
                                         "upload", "x.csv")
        assert not report.ok
        db.session.rollback()
        load(ids, unit_rows() + officer_rows(ids))
        _load_b(ids)
        run_a, run_b = _compute(ids["cycle"]), _compute(ids["cycle_b"])
        a_units, b_units = set(ids["units"].values()), set(ids["b_units"].values())
        a_results = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run_a.id)).scalars().all()
        b_results = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run_b.id)).scalars().all()
        assert {r.unit_id for r in a_results if r.level == "unit"} == a_units
        assert {r.officer_id for r in a_results if r.level == "officer"} == set(ids["officers"].values())
        assert {r.unit_id for r in b_results if r.level == "unit"} == b_units
        assert {r.officer_id for r in b_results if r.level == "officer"} == set(ids["b_officers"].values())
        # ranks within a category count only the bureau's own stations: A has two per category, B one
        assert sorted(r.rank for r in a_results if r.level == "unit" and r.category == 1) == [1, 2]
        assert [r.rank for r in b_results if r.level == "unit" and r.category == 1] == [1]


def test_each_bureau_keeps_its_own_catalogue(app, client, auth, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        shared = db.session.execute(sa.select(Indicator).filter_by(code=HARD_UNIT[0], bureau_id=None)).scalar_one()
        shared_id, weight = shared.id, shared.weight
    auth.login("admin_a")
    form = client.get(f"/assessment/indicators/{shared_id}/edit")
    assert form.status_code == 200
    page = client.post(f"/assessment/indicators/{shared_id}/edit",
                       data=_indicator_form(shared_id, app, name="甲局改名"))
    assert page.status_code == 302, page.get_data(as_text=True)[:2000]
    with app.app_context():
        own = db.session.execute(sa.select(Indicator).filter_by(code=HARD_UNIT[0], bureau_id=ids["a"])).scalar_one()
        assert own.name == "甲局改名" and own.weight == weight
        assert db.session.get(Indicator, shared_id).name != "甲局改名"  # the other bureaus keep the shared row
        assert {i.code: i.name for i in indicators(bureau_id=ids["a"])}[HARD_UNIT[0]] == "甲局改名"
        assert {i.code: i.name for i in indicators(bureau_id=ids["b"])}[HARD_UNIT[0]] != "甲局改名"
        own_id = own.id
    assert "甲局改名" in client.get("/assessment/indicators").get_data(as_text=True)
    auth.logout()
    auth.login("admin_b")
    assert client.get(f"/assessment/indicators/{own_id}/edit").status_code == 404
    assert "甲局改名" not in client.get("/assessment/indicators").get_data(as_text=True)
    assert "甲局改名" not in client.get(f"/assessment/indicators?bureau={ids['a']}").get_data(as_text=True)
    auth.logout()
    auth.login("province")  # sees each bureau's catalogue
    assert "甲局改名" not in client.get("/assessment/indicators").get_data(as_text=True)
    assert "甲局改名" in client.get(f"/assessment/indicators?bureau={ids['a']}").get_data(as_text=True)


def _indicator_form(indicator_id, app, **changes) -> dict:
    with app.app_context():
        ind = db.session.get(Indicator, indicator_id)
        data = {"code": ind.code, "name": ind.name, "dimension": ind.dimension, "weight": ind.weight,
                "direction": ind.direction, "unit_of_measure": ind.unit_of_measure, "method": ind.method,
                "target": "" if ind.target is None else ind.target, "floor": "" if ind.floor is None else ind.floor,
                "level": ind.level, "source": ind.source, "description": ind.description}
        if ind.is_active:
            data["is_active"] = "y"
    data.update(changes)
    return data


def test_the_province_reads_every_bureau_and_changes_nothing(app, client, auth, two_bureaus):
    ids = two_bureaus
    auth.login("province")
    units = client.get("/admin/units").get_data(as_text=True)
    assert "PS01" in units and "QS01" in units
    cycles = client.get("/admin/cycles").get_data(as_text=True)
    assert "甲局2026年第四季度" in cycles and "乙局2026年第四季度" in cycles
    assert client.get(f"/admin/cycles/{ids['cycle_b']}").status_code == 200
    overview = client.get("/admin/province").get_data(as_text=True)
    assert "示范县公安局" in overview and "乙市公安局" in overview
    assert client.get(f"/reports/units/{ids['b_units']['QS01']}").status_code == 200
    assert "QS01" in client.get("/reports/").get_data(as_text=True)
    for url in (f"/admin/officers/{ids['b_officers']['Q10']}/deactivate", "/admin/cycles/new",
                f"/admin/cycles/{ids['cycle_b']}/closed", "/assessment/indicators/seed", "/claims/new"):
        refused = client.post(url, data={"name": "x"})
        assert refused.status_code == 403, url
        assert "省厅账号只能查看各局数据，不能修改" in refused.get_data(as_text=True)
    api = client.post("/admin/cycles/new", json={}, headers={"Accept": "application/json"})
    assert api.status_code == 403
    with app.app_context():
        assert db.session.get(Officer, ids["b_officers"]["Q10"]).is_active
        assert db.session.get(Cycle, ids["cycle_b"]).status == "open"
    assert client.post("/logout").status_code == 302  # signing out is no change


def test_a_bureaus_admin_has_no_province_overview(app, client, auth, two_bureaus):
    auth.login("admin_a")
    assert client.get("/admin/province").status_code == 403


def _bureau(code: str, stations: int):
    bureau = make_unit(code, f"{code}公安局", kind="bureau")
    for i in range(stations):
        unit = make_unit(f"{code}S{i}", category=1 + i % 3 if i % 3 != 1 else 2, parent=bureau)
        for j in range(3):
            make_officer(unit, badge_no=f"{code}{i}{j}")
    cycle = make_cycle(name=f"{code}季考评", bureau=bureau, status="open")
    return cycle


def test_the_province_pages_queries_do_not_grow_with_bureaus(app, client, auth, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        load(ids, unit_rows() + officer_rows(ids))
        run = _compute(ids["cycle"])
        transition_cycle(db.session.get(Cycle, ids["cycle"]), "closed")
        runs.publish_run(run, note="test")
        db.session.commit()
    auth.login("province")

    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        assert client.get("/admin/province").status_code == 200  # warm
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get("/admin/province")
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(seen)

    small = statements()
    with app.app_context():
        for code in ("GZ", "HZ", "WH"):
            _bureau(code, stations=6)
        db.session.commit()
    large = statements()
    assert large == small, (small, large)
    page = client.get("/admin/province").get_data(as_text=True)
    assert "WH公安局" in page and "甲局2026年第四季度" in page


def test_two_bureaus_may_each_have_a_cycle_starting_the_same_day(app, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        cycles = db.session.execute(sa.select(Cycle).filter_by(kind="quarter", starts_on=date(2026, 10, 1))).scalars()
        assert {c.bureau_id for c in cycles} == {ids["a"], ids["b"]}
        with pytest.raises(sa.exc.IntegrityError):  # but one bureau only one
            make_cycle(name="又一个", bureau=db.session.get(Unit, ids["b"]))
        db.session.rollback()


def test_an_officers_account_follows_their_unit_and_an_installation_admin_stays_so(app, client, auth, two_bureaus):
    ids = two_bureaus
    with app.app_context():
        officer = db.session.get(Officer, ids["officers"]["B00"])
        make_user("cop", roles=("officer",), officer=officer, bureau=db.session.get(Unit, ids["a"]))
        db.session.commit()
    auth.as_role("admin", username="root", unit_code="PS02")  # an installation admin linked to an officer
    moved = client.post(f"/admin/officers/{ids['officers']['B00']}/edit",
                        data={"badge_no": "B00", "name": "调动民警", "unit_id": ids["b_units"]["QS01"]})
    assert moved.status_code == 302
    with app.app_context():
        root = db.session.execute(sa.select(User).filter_by(username="root")).scalar_one()
        root_id, root_officer = root.id, root.officer.badge_no
    saved = client.post(f"/admin/users/{root_id}/edit", data={"username": "root", "badge_no": root_officer,
                                                              "roles": ["admin"], "bureau_id": 0})
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.execute(sa.select(User).filter_by(username="cop")).scalar_one().bureau_id == ids["b"]
        assert db.session.get(User, root_id).bureau_id is None  # still sees every bureau
    cycles = client.get("/admin/cycles").get_data(as_text=True)
    assert "乙市公安局" in cycles and "示范县公安局" in cycles  # the bureau column, with several bureaus
    # the installation admin's officer is in bureau A, but A's admin cannot touch the account
    auth.logout()
    auth.login("admin_a")
    assert "root" not in client.get("/admin/users").get_data(as_text=True)
    assert client.get(f"/admin/users/{root_id}/password").status_code == 404
    assert client.post(f"/admin/users/{root_id}/password", data={"password": "Xk7!long-enough-pass"}).status_code == 404


def test_settings_every_bureau_shares_are_changed_only_installation_wide(app, client, auth, two_bureaus):
    auth.login("admin_a")
    assert client.get("/assessment/api-clients").status_code == 200
    refused = client.post("/assessment/api-clients", data={"name": "甲局系统"})
    assert refused.status_code == 403
    assert "只有全系统管理员可以修改" in refused.get_data(as_text=True)
    assert client.post("/residents/keywords", data={"word": "x"}).status_code == 403


def test_a_bureaus_roster_import_touches_only_its_bureau(app, client, auth, two_bureaus):
    ids = two_bureaus
    auth.login("admin_a")
    body = ("警号,姓名,单位代码,职务,是否领导\nQ10,抢来的民警,PS01,,否\nN001,新民警,QS01,,否\nN002,甲局新人,PS02,,否\n"
            .encode("utf-8-sig"))
    page = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), "roster.csv")},
                       content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "警号 Q10 属于其他局的民警" in page and "未知的单位代码“QS01”" in page
    with app.app_context():
        assert db.session.get(Officer, ids["b_officers"]["Q10"]).unit_id == ids["b_units"]["QS01"]
        assert db.session.execute(sa.select(Officer).filter_by(badge_no="N002")).scalar_one_or_none() is None


def test_a_job_works_within_the_bureau_of_whoever_started_it(app, two_bureaus):
    from app import scope

    ids = two_bureaus
    with app.app_context():
        assert scope.bureau_ids() is None  # the command line sees everything
        with scope.acting_as(ids["admin_a"]):
            assert scope.bureau_ids() == {ids["a"]}
            assert not scope.can_see(db.session.get(Unit, ids["b_units"]["QS01"]))
        assert scope.bureau_ids() is None
