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
