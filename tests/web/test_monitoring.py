"""Monitoring: case stages and deadlines, incident and case records through the API, derived indicators,
the live pages."""
from datetime import date

import sqlalchemy as sa

from app.api.services import create_client
from app.claims.services import import_case_records
from app.extensions import db
from app.models import CaseRecord, Incident
from app.trends.services import seed_incident_types

from ..factories import make_officer, make_unit


def _token(app):
    with app.app_context():
        _client, token = create_client("警综平台")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _case(ref="A1", **extra):
    return {"case_ref": ref, "case_date": "2026-11-02", "case_type": "刑事", "unit_code": "PS01", **extra}


def test_case_stage_dates_give_the_statutory_deadline_and_a_resend_updates(app, ctx):
    unit = make_unit("PS01")
    make_officer(unit, name="张三", badge_no="010001")
    db.session.commit()
    report = import_case_records([
        _case("A1", accepted_on="2026-11-02"),                                    # 刑事 受理: 7 days
        _case("A2", filed_on="2026-11-05", officer_badge="010001"),               # 刑事 立案: 60 days
        _case("B1", case_type="治安", stage="立案", filed_on="2026-11-04"),        # 治安: 30 days from 受理
        _case("A3", stage="移送", solved_on="2026-11-10", transferred_on="2026-11-20"),
        _case("A4", filed_on="2026-11-03", deadline="2027-03-01"),                # an approved extension
    ])
    assert report.ok, report.errors
    db.session.commit()
    rows = {r.case_ref: r for r in db.session.execute(sa.select(CaseRecord)).scalars()}
    assert (rows["A1"].stage, rows["A1"].stage_deadline, rows["A1"].status) == ("accepted", date(2026, 11, 9), "open")
    assert (rows["A2"].stage, rows["A2"].stage_deadline) == ("filed", date(2027, 1, 4))
    assert rows["A2"].officer.name == "张三"
    assert (rows["B1"].stage, rows["B1"].stage_deadline) == ("filed", date(2026, 12, 2))
    assert (rows["A3"].stage, rows["A3"].status, rows["A3"].stage_deadline) == ("transferred", "closed", None)
    assert rows["A4"].stage_deadline == date(2027, 3, 1)
    # The same case sent again, now solved: updated in place, no deadline any more.
    again = import_case_records([_case("A1", solved_on="2026-11-08")])
    assert again.ok and (again.created, again.updated) == (0, 1)
    db.session.commit()
    a1 = db.session.execute(sa.select(CaseRecord).filter_by(case_ref="A1")).scalar_one()
    assert (a1.stage, a1.status, a1.stage_deadline, a1.solved_on) == ("solved", "closed", None, date(2026, 11, 8))


def test_bad_case_progress_is_reported_per_row_and_nothing_is_stored(app, ctx):
    make_unit("PS01")
    db.session.commit()
    report = import_case_records([
        _case("A1"),
        _case("A2", stage="侦查"),
        _case("A3", stage="立案"),                                    # no 立案 date
        _case("A4", filed_on="2026-10-01"),                           # before 受理
        _case("A5", officer_badge="999999"),
        _case("A6", stage="受理", status="已结"),
    ])
    assert [n for n, _m in report.errors] == [2, 3, 4, 5, 6]
    assert "办理阶段" in report.errors[0][1] and "受理日期" in report.errors[2][1]
    assert "999999" in report.errors[3][1] and "不一致" in report.errors[4][1]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CaseRecord.id))) == 0


def test_a_case_without_a_stage_is_at_its_latest_dated_stage_and_closed_means_solved():
    from app.claims.cases import infer_stage

    none = {"accepted_on": date(2026, 11, 2), "filed_on": None, "solved_on": None, "transferred_on": None}
    assert infer_stage(none, "open") == "accepted"
    assert infer_stage(none, None) == "accepted"
    assert infer_stage(none, "closed") == "solved"  # a legacy 已结 row without dates
    filed = {**none, "filed_on": date(2026, 11, 4)}
    assert infer_stage(filed, "open") == "filed" and infer_stage(filed, "closed") == "solved"
    moved = {**filed, "transferred_on": date(2026, 11, 20)}
    assert infer_stage(moved, "open") == "transferred" and infer_stage(moved, "closed") == "transferred"


def test_stage_dates_may_not_run_backwards(ctx):
    from app.claims.cases import stage_date_problems

    ok = {"accepted_on": date(2026, 11, 2), "filed_on": date(2026, 11, 4), "solved_on": date(2026, 11, 10),
          "transferred_on": date(2026, 11, 20)}
    assert stage_date_problems(ok) == []
    assert stage_date_problems({**ok, "accepted_on": None}) == []
    early = stage_date_problems({**ok, "filed_on": date(2026, 11, 1)})
    assert len(early) == 1 and "受理日期" in early[0]
    late = stage_date_problems({**ok, "transferred_on": date(2026, 11, 9)})
    assert len(late) == 1 and "移送日期" in late[0]


def test_incidents_arrive_through_the_api_and_a_resend_updates(app, client):
    with app.app_context():
        make_unit("PS01")
        seed_incident_types()
        db.session.commit()
    headers = _token(app)
    row = {"external_id": "J1", "unit_code": "PS01", "incident_type": "fraud",
           "received_at": "2026-11-03T08:15:00+08:00", "arrived_at": "2026-11-03 08:27"}
    bad = client.post("/api/v1/imports/incidents", headers=headers, json={"rows": [
        row, {**row, "external_id": "J2", "arrived_at": "2026-11-03 08:00"}]})
    assert bad.status_code == 422 and [e["row"] for e in bad.json["report"]["errors"]] == [2]
    ok = client.post("/api/v1/imports/incidents", headers=headers, json={"rows": [row]})
    assert ok.status_code == 201 and ok.json["created"] == 1
    again = client.post("/api/v1/imports/incidents", headers=headers, json={"rows": [
        {**row, "arrived_at": "2026-11-03 08:20", "is_preventable": False}]})
    assert again.status_code == 201 and (again.json["created"], again.json["updated"]) == (0, 1)
    with app.app_context():
        incident = db.session.execute(sa.select(Incident)).scalar_one()
        # 08:15 and 08:20 Beijing time are 00:15 and 00:20 UTC
        assert (incident.received_at.hour, incident.received_at.minute) == (0, 15)
        assert incident.arrived_at.minute == 20 and incident.is_preventable is False
    doc = client.get("/api/v1/openapi.json").json["paths"]["/api/v1/imports/incidents"]["post"]
    assert doc["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]["items"][
        "required"] == ["external_id", "unit_code", "incident_type", "received_at"]
    assert "updated" in doc["responses"]["201"]["content"]["application/json"]["schema"]["properties"]


# ---- derived indicators and the live pages -----------------------------------------------------------
def _world(app):
    """PS01 (一类, target 10 min) with 5 incidents on 2026-11-10 local time and 4 cases; PS02 (三类) quiet."""
    from datetime import datetime

    from app.models import Indicator

    with app.app_context():
        ps01 = make_unit("PS01", name="城关派出所", category=1)
        ps02 = make_unit("PS02", name="山区派出所", category=3)
        officer = make_officer(ps01, name="李四", badge_no="020002")
        seed_incident_types()
        db.session.flush()
        fraud = db.session.execute(sa.text("SELECT id FROM incident_type WHERE code = 'fraud'")).scalar()
        # received 2026-11-10 09:00 Beijing = 01:00 UTC; arrivals after 4, 8, 10, 12, 30 minutes
        for k, minutes in enumerate((4, 8, 10, 12, 30)):
            received = datetime(2026, 11, 10, 1, 0)
            db.session.add(Incident(external_id=f"J{k}", unit_id=ps01.id, incident_type_id=fraud,
                                    received_at=received, month=date(2026, 11, 1),
                                    arrived_at=datetime(2026, 11, 10, 1, minutes)))
        # one the night before, 23:30 local on 10-31 (15:30 UTC): October, not November
        db.session.add(Incident(external_id="J9", unit_id=ps01.id, incident_type_id=fraud,
                                received_at=datetime(2026, 10, 31, 15, 30), month=date(2026, 10, 1),
                                arrived_at=datetime(2026, 10, 31, 15, 35)))
        db.session.add(Indicator(code="criminal_cases", name="刑事案件发案数", dimension="law_enforcement",
                                 level="unit", weight=35, unit_of_measure="件", direction="lower", method="minmax",
                                 splits_preventable=True))
        db.session.commit()
        report = import_case_records([
            _case("A1", case_date="2026-11-01", filed_on="2026-11-02", officer_badge="020002",
                  deadline="2026-11-08", is_preventable="是"),  # overdue on 11-10
            _case("A2", case_date="2026-11-03", is_preventable=False),                  # 受理, due 11-10 (near)
            _case("A3", case_date="2026-11-04", solved_on="2026-11-06", is_preventable=True),  # done
            _case("B1", case_type="治安", case_date="2026-11-05"),                     # due 12-05
        ])
        assert report.ok, report.errors
        db.session.commit()
        return {"ps01": ps01.id, "ps02": ps02.id, "officer": officer.id}


def test_derived_indicators_from_records_by_hand(app, ctx):
    from app.models import Unit
    from app.monitoring import derived

    ids = _world(app)
    units = [db.session.get(Unit, ids["ps01"]), db.session.get(Unit, ids["ps02"])]
    values = derived.compute_all(derived.Period(date(2026, 11, 1), date(2026, 11, 30), date(2026, 11, 10)), units)
    ps01, ps02 = ids["ps01"], ids["ps02"]
    # minutes 4, 8, 10, 12, 30: median 10; within 10 min: 3 of 5 = 60 %
    assert values["response_median"][ps01].value == 10.0 and values["response_median"][ps01].target == 10.0
    assert values["response_on_time"][ps01].value == 60.0
    assert values["response_on_time"][ps01].detail == {"n": 5, "within": 3, "minutes": 10}
    assert values["response_median"][ps02].value is None and values["response_median"][ps02].target == 20.0
    # 刑事 cases of November: A1, A3 preventable, A2 not
    assert values["criminal_cases"][ps01].value == 2.0 and values["criminal_cases"][ps01].detail["nonpreventable"] == 1
    # accepted in November: 4 cases, A3 solved → 25 %
    assert values["case_closure_rate"][ps01].value == 25.0
    # on 11-10: A1 (deadline 11-08) overdue; A2 due 11-10 is not yet past
    assert values["overdue_cases"][ps01].value == 1.0
    assert derived.light(derived.RULES["response_on_time"], values["response_on_time"][ps01]) == "red"
    assert derived.light(derived.RULES["response_median"], values["response_median"][ps01]) == "green"


def test_import_of_a_derived_indicator_is_refused_naming_its_source(app, ctx):
    from app.assessment.datapool import import_indicator_values
    from app.monitoring import derived

    from ..factories import make_cycle

    _world(app)
    cycle = make_cycle(name="2026年11月", kind="month", starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30))
    db.session.commit()
    row = [(1, {"unit_code": "PS01", "indicator": "criminal_cases", "value": 3, "nonpreventable": 1})]
    # Until the office marks it as derived (a bureau without the feed), the number is typed.
    assert import_indicator_values(cycle, row, "upload").ok
    db.session.rollback()
    derived.set_marked({"criminal_cases", "no_such_code"}, None)
    db.session.commit()
    assert derived.marked_codes() == {"criminal_cases"}
    report = import_indicator_values(cycle, [(1, {"unit_code": "PS01", "indicator": "criminal_cases", "value": 3,
                                                  "nonpreventable": 1})], "upload")
    assert not report.ok and "案件记录" in report.errors[0][1] and "不能导入" in report.errors[0][1]


def _at(day):
    from app.monitoring import services as monitoring_services

    original = monitoring_services.today
    monitoring_services.today = lambda: day
    return original


def test_station_page_shows_the_overdue_case_with_its_officer_and_only_to_its_leader(app, client, auth):
    from app.monitoring import services as monitoring_services

    ids = _world(app)
    original = _at(date(2026, 11, 10))
    try:
        auth.as_role("officer", username="leader1", unit_code="PS01", is_leader=True)
        page = client.get(f"/monitoring/stations/{ids['ps01']}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "A1" in html and "李四" in html and "已超期 2 天" in html and "剩 0 天" in html
        assert "B1" not in html.split('id="deadline-warnings"')[1].split("</table>")[0]
        assert "js/live." in html and "<svg" in html
        live = client.get(f"/monitoring/stations/{ids['ps01']}/live.json").json
        assert live["today"] == 5 and live["warnings"] == 2
        assert client.get(f"/monitoring/stations/{ids['ps02']}").status_code == 403
        assert client.get("/monitoring/bureau").status_code == 403
        # A new record changes the stamp the page polls for.
        with app.app_context():
            import_case_records([_case("A5", case_date="2026-11-01", deadline="2026-11-09")])
            db.session.commit()
        assert client.get(f"/monitoring/stations/{ids['ps01']}/live.json").json["stamp"] != live["stamp"]
    finally:
        monitoring_services.today = original


def test_bureau_page_puts_the_station_furthest_behind_first_and_sorts(app, client, auth):
    from app.monitoring import services as monitoring_services

    _world(app)
    original = _at(date(2026, 11, 10))
    try:
        auth.as_role("admin", username="office")
        html = client.get("/monitoring/bureau").get_data(as_text=True)
        # PS01 has red lights (on-time share, overdue); PS02 has no records, so no lights at all
        assert html.index('data-unit="PS01"') < html.index('data-unit="PS02"')
        by_code = client.get("/monitoring/bureau?sort=code&page=9").get_data(as_text=True)
        assert "第 1 / 1 页" in by_code
        assert client.get("/monitoring/bureau?sort=nonsense").status_code == 200
    finally:
        monitoring_services.today = original


def test_records_page_imports_an_incident_file_all_or_nothing(app, client, auth):
    _world(app)
    auth.as_role("admin", username="office")
    from io import BytesIO

    good = "警情编号,单位代码,警情类别,接警时间,到场时间\nK1,PS01,fraud,2026-11-11 08:00,2026-11-11 08:09\n"
    bad = good + "K2,PS01,fraud,2026-11-11 08:00,2026-11-11 07:00\n"
    page = client.post("/monitoring/records", data={"kind": "incidents", "file": (BytesIO(bad.encode()), "j.csv")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "没有导入任何数据" in page.get_data(as_text=True)
    client.post("/monitoring/records", data={"kind": "incidents", "file": (BytesIO(good.encode()), "j.csv")},
                content_type="multipart/form-data")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Incident.id))) == 7


# ---- the monthly self-check ----------------------------------------------------------------------------
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _post(client, ids, action, month="2026-11", **data):
    from io import BytesIO

    files = {k: (BytesIO(v[1]), v[0]) for k, v in data.items() if isinstance(v, tuple)}
    fields = {k: v for k, v in data.items() if not isinstance(v, tuple)}
    return client.post(f"/monitoring/stations/{ids['ps01']}/self-checks/{month}/{action}",
                       data={**fields, **files}, content_type="multipart/form-data", follow_redirects=True)


def test_self_check_journey_submit_return_resubmit_accept_with_gaps(app, client, auth):
    from app.models import Evidence, Rectification, SelfCheck, SelfCheckItem
    from app.monitoring import services as monitoring_services

    ids = _world(app)
    original = _at(date(2026, 11, 10))
    try:
        auth.as_role("officer", username="leader1", unit_code="PS01", is_leader=True)
        page = client.get(f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11").get_data(as_text=True)
        assert "开始本月自查" in page
        assert "还没到这个月" in _post(client, ids, "open", month="2026-12").get_data(as_text=True)
        html = _post(client, ids, "open").get_data(as_text=True)
        with app.app_context():
            check = db.session.execute(sa.select(SelfCheck)).scalar_one()
            items = {i.code: i for i in check.items}
            # the derived items carry their live values: on-time 60 % (red against 90), closure 25 % (red)
            assert items["response_on_time"].live_value == 60.0 and items["response_on_time"].light == "red"
            assert items["criminal_cases"].live_value == 2.0
            red = [i.id for i in check.items if i.light == "red"]
            on_time, closure = items["response_on_time"].id, items["case_closure_rate"].id
        assert len(red) >= 2 and "按时到场率" in html
        # Scores: the leader rates on-time 80, closure 70.
        _post(client, ids, "save", **{f"score_{on_time}": "80", f"comment_{on_time}": "夜间警力不足",
                                      f"score_{closure}": "70", "summary": "本月总体平稳"})
        refused = _post(client, ids, "submit").get_data(as_text=True)
        assert "还没有整改项" in refused
        for item_id in red:
            _post(client, ids, "rectification", item_id=str(item_id), what="增加夜间巡逻", owner="李四",
                  due_on="2026-11-20")
        # Evidence: wrong type, content not matching its name, then a real PDF.
        assert "只支持" in _post(client, ids, "evidence", file=("x.exe", b"MZ")).get_data(as_text=True)
        assert "不符" in _post(client, ids, "evidence", file=("fake.pdf", b"not a pdf")).get_data(as_text=True)
        _post(client, ids, "evidence", file=("台账.pdf", PDF))
        done = _post(client, ids, "submit").get_data(as_text=True)
        assert "已提交待审核" in done
        # Locked: saving is refused and changes nothing.
        assert "不能再修改" in _post(client, ids, "save", **{f"score_{on_time}": "10"}).get_data(as_text=True)
        with app.app_context():
            assert db.session.get(SelfCheck, check.id).status == "submitted"
            assert db.session.get(SelfCheckItem, on_time).self_score == 80.0
            evidence_id = db.session.execute(sa.select(Evidence.id)).scalar_one()
        download = client.get(f"/monitoring/evidence/{evidence_id}")
        assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"

        auth.logout()
        auth.as_role("coordinator", username="office")
        assert "需要写明理由" in _post(client, ids, "return", reason=" ").get_data(as_text=True)
        assert "已退回" in _post(client, ids, "return", reason="整改措施不具体").get_data(as_text=True)

        auth.logout()
        auth.login("leader1")
        page = client.get(f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11").get_data(as_text=True)
        assert "整改措施不具体" in page
        _post(client, ids, "submit")

        auth.logout()
        auth.login("office")
        _post(client, ids, "accept", **{f"verified_{on_time}": "60", f"verified_{closure}": "68"})
        page = client.get(f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11").get_data(as_text=True)
        assert "已验收" in page and "差异大" in page  # 80 vs 60 is a 20-point gap; 70 vs 68 is not
        assert page.count("差异大") == 1
        with app.app_context():
            check = db.session.get(SelfCheck, check.id)
            assert (check.status, check.times_returned) == ("accepted", 1)
            assert db.session.scalar(sa.select(sa.func.count(Rectification.id))) == len(red)
    finally:
        monitoring_services.today = original


def test_evidence_is_served_only_to_the_station_and_the_office(app, client, auth):
    from app.models import Unit
    from app.monitoring import selfcheck

    ids = _world(app)
    with app.app_context():
        unit = db.session.get(Unit, ids["ps01"])
        check = selfcheck.open_self_check(unit, date(2026, 11, 1))
        user = make_user_for_test()
        evidence = selfcheck.add_evidence(check, "a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 10, user)
        db.session.commit()
        evidence_id = evidence.id
    auth.as_role("officer", username="other", unit_code="PS02", is_leader=True)
    assert client.get(f"/monitoring/evidence/{evidence_id}").status_code == 403
    assert client.get(f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11").status_code == 403
    assert _post(client, ids, "submit").status_code == 403


def make_user_for_test():
    from ..factories import make_user

    return make_user("uploader", roles=("admin",))


def test_too_large_evidence_is_refused(app, ctx):
    from app.errors import DomainError
    from app.models import EVIDENCE_MAX_BYTES
    from app.monitoring.selfcheck import check_evidence

    assert check_evidence("a.PDF", PDF) == ("a.PDF", "application/pdf")
    try:
        check_evidence("big.pdf", b"%PDF" + b"0" * EVIDENCE_MAX_BYTES)
    except DomainError as error:
        assert "5 MB" in error.message
    else:
        raise AssertionError("a file over the limit was accepted")


def test_overdue_rectification_shows_on_the_landing_page_and_closing_needs_a_note(app, client, auth):
    from app.models import Rectification, Unit
    from app.monitoring import selfcheck
    from app.monitoring import services as monitoring_services

    ids = _world(app)
    with app.app_context():
        check = selfcheck.open_self_check(db.session.get(Unit, ids["ps01"]), date(2026, 10, 1))
        selfcheck.add_rectification(check, check.items[0], "补齐接处警台账", "王五", date(2026, 11, 5))
        db.session.commit()
        rect_id = db.session.execute(sa.select(Rectification.id)).scalar_one()
    original = _at(date(2026, 11, 10))
    try:
        auth.as_role("officer", username="leader1", unit_code="PS01", is_leader=True)
        home = client.get("/").get_data(as_text=True)
        assert "补齐接处警台账" in home and "逾期未完成的整改项（1 项）" in home
        refused = client.post(f"/monitoring/rectifications/{rect_id}/close", data={"note": ""},
                              follow_redirects=True).get_data(as_text=True)
        assert "需要填写整改情况说明" in refused
        client.post(f"/monitoring/rectifications/{rect_id}/close", data={"note": "台账已补齐"})
        assert "补齐接处警台账" not in client.get("/").get_data(as_text=True)
        with app.app_context():
            rect = db.session.get(Rectification, rect_id)
            assert (rect.status, rect.close_note) == ("closed", "台账已补齐")
    finally:
        monitoring_services.today = original


def test_demo_has_overdue_cases_and_last_months_self_checks_in_every_state(app, client):
    from app.models import CaseRecord, Rectification, SelfCheck
    from app.monitoring.services import today

    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        day = today()
        states = set(db.session.execute(sa.select(SelfCheck.status)).scalars())
        assert states == {"draft", "submitted", "returned", "accepted"}
        overdue = db.session.scalar(sa.select(sa.func.count(CaseRecord.id)).where(
            CaseRecord.status == "open", CaseRecord.stage_deadline < day))
        assert 1 <= overdue <= 20
        assert db.session.scalar(sa.select(sa.func.count(Rectification.id))) > 0
    client.post("/login", data={"username": "admin", "password": "demo1234"})
    bureau = client.get("/monitoring/bureau")
    assert bureau.status_code == 200 and "data-unit=" in bureau.get_data(as_text=True)
    assert client.get("/monitoring/self-checks").status_code == 200


def test_office_marks_derived_indicators_and_sets_targets(app, client, auth):
    from app.monitoring import derived

    auth.as_role("admin", username="office")
    page = client.post("/monitoring/targets", data={"category_1": "8", "category_2": "15", "category_3": "25",
                                                    "derived": ["criminal_cases"]}, follow_redirects=True)
    assert "已保存" in page.get_data(as_text=True)
    bad = client.post("/monitoring/targets", data={"category_1": "0", "category_2": "15", "category_3": "25"})
    assert "1 到 240" in bad.get_data(as_text=True)
    with app.app_context():
        assert derived.response_targets() == {1: 8, 2: 15, 3: 25}
        assert derived.marked_codes() == {"criminal_cases"}


def test_bad_months_and_pages_get_404_or_a_page_never_a_500(app, client, auth):
    ids = _world(app)
    auth.as_role("admin", username="office")
    for month in ("0001-01", "2026-13", "abc", "2026-1-1", "99999-01"):
        assert client.get(f"/monitoring/stations/{ids['ps01']}/self-checks/{month}").status_code == 404
        assert client.get(f"/monitoring/self-checks?month={month}").status_code == 404
    assert client.get("/monitoring/bureau?page=-4&sort=x").status_code == 200
    assert client.get("/monitoring/stations/999999").status_code == 404
    assert client.post(f"/monitoring/stations/{ids['ps01']}/self-checks/2026-11/submit").status_code == 404
    assert client.get("/monitoring/evidence/12345").status_code == 404


def test_quarterly_page_shows_the_three_self_checks_and_their_rectifications(app, client, auth):
    from app.models import Unit
    from app.monitoring import selfcheck

    from ..factories import make_cycle

    ids = _world(app)
    with app.app_context():
        make_cycle(name="2026年第四季度考评", kind="quarter", status="open")
        check = selfcheck.open_self_check(db.session.get(Unit, ids["ps01"]), date(2026, 11, 1))
        selfcheck.add_rectification(check, check.items[0], "补齐接处警台账", "王五", date(2026, 12, 5))
        db.session.commit()
    auth.as_role("admin", username="office")
    html = client.get(f"/reports/units/{ids['ps01']}").get_data(as_text=True)
    section = html.split('id="quarter-self-checks"')[1].split("</section>")[0]
    assert "2026-10" in section and "2026-11" in section and "2026-12" in section
    assert "补齐接处警台账" in section and section.count("未开始") == 2


def test_a_marked_derived_indicator_is_scored_from_the_records_not_typed(app, ctx):
    """The office marks 刑事案件发案数 as derived: its imports are refused, and the score run counts
    the cycle's 刑事 cases per station (PS01: 3 preventable + 1 not; PS02: 1; PS03, PS04: none)."""
    from app.assessment import runs
    from app.models import Cycle, ScoreResult
    from app.monitoring import derived

    from .assessment_setup import build_world, load, officer_rows, unit_rows

    ids = build_world()
    derived.set_marked({"criminal_cases"}, None)
    db.session.commit()
    load(ids, [r for r in unit_rows() if r["indicator"] != "criminal_cases"] + officer_rows(ids))
    cases = [_case(f"X{k}", unit_code="PS01", case_date="2026-11-0%d" % (k + 1), is_preventable=k < 3)
             for k in range(4)]
    cases += [_case("Y1", unit_code="PS02", case_date="2026-10-20", is_preventable=True),
              _case("Z1", unit_code="PS02", case_date="2026-09-30", is_preventable=True)]  # before the cycle
    assert import_case_records(cases).ok
    db.session.commit()
    run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
    db.session.commit()
    raw = {}
    for result in db.session.execute(sa.select(ScoreResult).filter_by(run_id=run.id, level="unit")).scalars():
        entry = next(i for i in result.breakdown["indicators"] if i["code"] == "criminal_cases")
        raw[result.unit.code] = entry["raw"]
    # non-preventable cases weigh 0.5 (the cycle's setting): PS01 3 + 0.5 × 1
    assert raw["PS01"] == 3.5 and raw["PS02"] == 1 and raw["PS03"] == 0 and raw["PS04"] == 0


def test_self_checks_are_due_on_the_fifth_working_day_and_late_or_overdue_ones_are_marked(app, client, auth):
    from datetime import datetime

    from app.models import SelfCheck
    from app.monitoring import services as monitoring_services
    from app.monitoring.selfcheck import due_on, timeliness

    with app.app_context():
        assert due_on(date(2026, 11, 1)) == date(2026, 12, 7)   # Dec 1–4 and 7 are the first five working days
        assert due_on(date(2026, 9, 1)) == date(2026, 10, 13)   # the National Day week and 调休 push it back
        assert due_on(date(2026, 12, 1)) == date(2027, 1, 7)    # a year the calendar does not know: Mon–Fri
        app.config["SELF_CHECK_DUE_WORKDAY"] = 1
        assert due_on(date(2026, 11, 1)) == date(2026, 12, 1)
        app.config["SELF_CHECK_DUE_WORKDAY"] = 5
    ids = _world(app)
    with app.app_context():
        ps03 = make_unit("PS03", name="城西派出所", category=2)
        db.session.flush()
        # PS01 first submitted on Dec 7 23:30 Beijing time (on time; resubmitted after a return later);
        # PS03 on Dec 8 00:30 Beijing time (late); PS02 never opened one (overdue after Dec 7).
        db.session.add_all([
            SelfCheck(unit_id=ids["ps01"], month=date(2026, 11, 1), status="submitted", times_returned=1,
                      first_submitted_at=datetime(2026, 12, 7, 15, 30), submitted_at=datetime(2026, 12, 10, 2)),
            SelfCheck(unit_id=ps03.id, month=date(2026, 11, 1), status="submitted",
                      first_submitted_at=datetime(2026, 12, 7, 16, 30), submitted_at=datetime(2026, 12, 7, 16, 30))])
        db.session.commit()
        checks = {c.unit_id: c for c in db.session.execute(sa.select(SelfCheck)).scalars()}
        assert timeliness(checks[ids["ps01"]], date(2026, 11, 1), date(2026, 12, 20)) == "on_time"
        assert timeliness(checks[ps03.id], date(2026, 11, 1), date(2026, 12, 20)) == "late"
        assert timeliness(None, date(2026, 11, 1), date(2026, 12, 7)) is None       # due today: not yet late
        assert timeliness(None, date(2026, 11, 1), date(2026, 12, 8)) == "overdue"
    auth.as_role("admin", username="office")
    original = _at(date(2026, 12, 7))
    try:
        page = client.get("/monitoring/self-checks?month=2026-11").get_data(as_text=True)
        assert "2026-12-07" in page and "逾期未报 " not in page and "逾期提交 1 个" in page
        monitoring_services.today = lambda: date(2026, 12, 8)
        page = client.get("/monitoring/self-checks?month=2026-11").get_data(as_text=True)
        assert "逾期未报 1 个" in page and "逾期提交 1 个" in page
        rows = {row.split('"')[0]: row for row in page.split('data-unit="')[1:]}
        assert "逾期未报" in rows["PS02"] and "逾期提交" in rows["PS03"] and "逾期" not in rows["PS01"]
        station = client.get(f"/monitoring/stations/{ps03.id}/self-checks/2026-11").get_data(as_text=True)
        assert "应于 2026-12-07 前提交" in station and "逾期提交" in station
    finally:
        monitoring_services.today = original
