"""Objections (申诉) during the public notice and their review (复核), as a station leader, an
officer and the office meet them."""
import io
from datetime import date

import pytest
import sqlalchemy as sa

from app.errors import DomainError
from app.extensions import db
from app.models import (
    AuditLog,
    IndicatorValue,
    Job,
    Objection,
    ResultApproval,
    ScoreResult,
    ScoreRun,
    Unit,
    User,
)
from app.results import objections, services

from ..factories import make_officer, make_user
from .assessment_setup import HARD_UNIT
from .test_results_path import APPROVED_ON, world

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
RATE = next(code for code in HARD_UNIT if code != "criminal_cases")


@pytest.fixture
def on_day(monkeypatch):
    def set_day(day):
        monkeypatch.setattr(services, "bureau_today", lambda: day)
        monkeypatch.setattr(objections, "bureau_today", lambda: day)
    return set_day


def notice_world(app, on_day):
    """world() with the notice opened on APPROVED_ON (28 Sep – 10 Oct 2025), a leader of PS02 and
    an ordinary officer of PS02; returns ids with the PS02 unit result."""
    ids = world(app)
    with app.app_context():
        run = db.session.get(ScoreRun, ids["run"])
        approval = services.submit_run(run)
        for name in ("chief", "deputy"):
            user = db.session.execute(sa.select(User).filter_by(username=name)).scalar_one()
            services.decide(approval, user, "approve", today=APPROVED_ON)
        ps02 = db.session.execute(sa.select(Unit).filter_by(code="PS02")).scalar_one()
        make_user("leader02", officer=make_officer(ps02, name="所长二", is_leader=True))
        make_user("plain02", officer=make_officer(ps02, name="民警乙"))
        db.session.commit()
        ids["approval"] = approval.id
        ids["ps02"] = ps02.id
        ids["result"] = db.session.execute(sa.select(ScoreResult.id).filter_by(run_id=run.id, unit_id=ps02.id)
                                           ).scalar_one()
    return ids


def file(client, result_id, reason="案件规范率少统计了 3 起已结案件", files=(("台账.pdf", PDF),), item="indicator",
         code=RATE):
    data = {"item_kind": item, "item_code": code, "reason": reason,
            "evidence": [(io.BytesIO(raw), name) for name, raw in files]}
    return client.post(f"/results/results/{result_id}/objections/new", data=data,
                       content_type="multipart/form-data", follow_redirects=True)


def test_leader_objects_office_rejects_then_final(app, client, auth, on_day):
    auth.as_role("admin", unit_code="BJ")
    auth.logout()
    ids = notice_world(app, on_day)
    on_day(date(2025, 10, 9))
    auth.login("plain02")
    # During the notice the provisional result is shown, marked as such; an ordinary officer may
    # not object for the station.
    page = client.get(f"/assessment/results/{ids['result']}").get_data(as_text=True)
    assert "暂定结果（公示中）" in page and "还剩 2 个工作日" in page and "提出申诉" not in page
    assert client.get(f"/results/results/{ids['result']}/objections/new").status_code == 404
    auth.logout()
    auth.login("leader02")
    assert "提出申诉" in client.get(f"/assessment/results/{ids['result']}").get_data(as_text=True)
    # A renamed file and a forbidden type are refused; nothing is stored.
    renamed = file(client, ids["result"], files=(("x.pdf", b"MZ\x90\x00"),))
    assert "文件内容与扩展名不符" in renamed.get_data(as_text=True)
    assert "证明材料只能是 PDF、JPG、PNG 或 XLSX 文件" in file(
        client, ids["result"], files=(("x.exe", b"MZ"),)).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Objection)) == 0
    page = file(client, ids["result"]).get_data(as_text=True)
    assert "申诉已提交" in page and "台账.pdf" in page
    assert "该项目已有一个未答复的申诉" in file(client, ids["result"]).get_data(as_text=True)
    with app.app_context():
        objection = db.session.execute(sa.select(Objection)).scalar_one()
        oid, eid = objection.id, objection.evidence[0].id
        # Answered within three working days after filing: 10, 11 (an adjusted working Saturday), 13 Oct.
        assert objection.due_on == date(2025, 10, 13)
    assert client.get(f"/results/objections/{oid}/evidence/{eid}").data == PDF
    auth.logout()
    auth.login("plain02")
    assert client.get(f"/results/objections/{oid}").status_code == 404
    assert client.get(f"/results/objections/{oid}/evidence/{eid}").status_code == 404
    auth.logout()
    auth.login("admin_user")
    assert "台账.pdf" not in client.get("/results/objections/").get_data(as_text=True)
    assert f"/results/objections/{oid}" in client.get("/results/objections/").get_data(as_text=True)
    on_day(date(2025, 10, 11))
    with app.app_context():  # the window has closed, although the round is not final yet
        with pytest.raises(DomainError, match="只能在公示期内提出申诉"):
            objections.file_objection(db.session.get(ResultApproval, ids["approval"]),
                                      db.session.execute(sa.select(User).filter_by(username="leader02")).scalar_one(),
                                      unit=db.session.get(Unit, ids["ps02"]), item_kind="grade", reason="迟交")
    response = client.post(f"/results/approvals/{ids['approval']}/final", follow_redirects=True)
    assert "还有未答复的申诉" in response.get_data(as_text=True)
    response = client.post(f"/results/objections/{oid}", data={"outcome": "reject", "reply": ""},
                           follow_redirects=True)
    with app.app_context():
        assert db.session.get(Objection, oid).status == "open"
    client.post(f"/results/objections/{oid}", data={"outcome": "reject", "reply": "经核对法制科台账，原统计无误。"})
    client.post(f"/results/approvals/{ids['approval']}/final")
    with app.app_context():
        assert db.session.get(ScoreRun, ids["run"]).status == "published"
        actions = list(db.session.scalars(sa.select(AuditLog.action)))
    assert "objection_filed" in actions and "objection_rejected" in actions
    auth.logout()
    auth.login("leader02")
    page = client.get(f"/results/objections/{oid}").get_data(as_text=True)
    assert "已驳回" in page and "经核对法制科台账，原统计无误。" in page
    # After final there is nothing to object to.
    assert file(client, ids["result"], item="grade", code="").status_code == 404


def test_accepted_correction_makes_a_new_version_with_a_shorter_notice(app, client, auth, on_day):
    auth.as_role("admin", unit_code="BJ")
    auth.logout()
    ids = notice_world(app, on_day)
    on_day(date(2025, 10, 9))
    auth.login("leader02")
    file(client, ids["result"])
    auth.logout()
    auth.login("admin_user")
    with app.app_context():
        oid = db.session.scalar(sa.select(Objection.id))
        old_total = db.session.get(ScoreResult, ids["result"]).total
    # A value the import would refuse is refused on the form; nothing is queued or answered.
    response = client.post(f"/results/objections/{oid}", data={
        "outcome": "accept", "reply": "经核对，采纳。", "corrected_value": "很多"})
    assert response.status_code == 200 and "数值“很多”不是数字" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Objection, oid).status == "open"
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0
    # The import and the recompute run as a background job; its page leads back to the objection.
    response = client.post(f"/results/objections/{oid}", data={
        "outcome": "accept", "reply": "经核对，采纳，更正为 99。", "corrected_value": "99"})
    assert response.headers["Location"].startswith("/jobs/")
    page = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "已答复申诉。更正后的第 2 版已进入公示。" in page and "经核对，采纳，更正为 99。" in page
    with app.app_context():
        assert db.session.get(ResultApproval, ids["approval"]).status == "superseded"
        new = db.session.execute(sa.select(ResultApproval).filter_by(status="notice")).scalar_one()
        # Two working days from the next one: Fri 10 Oct and Sat 11 Oct 2025 (an adjusted working day).
        assert (new.notice_starts_on, new.notice_ends_on) == (date(2025, 10, 10), date(2025, 10, 11))
        assert db.session.get(Objection, oid).correction_run_id == new.run_id
        run = new.run
        assert run.version == 2 and f"申诉 #{oid}" in run.reason
        value = db.session.execute(sa.select(IndicatorValue.value).filter_by(
            unit_id=ids["ps02"], current_slot=1).join_from(IndicatorValue, IndicatorValue.indicator)
            .where(sa.text("indicator.code = :c")).params(c=RATE)).scalar_one()
        assert value == 99.0
        new_total = db.session.execute(sa.select(ScoreResult.total).filter_by(
            run_id=run.id, unit_id=ids["ps02"])).scalar_one()
        assert new_total > old_total
        new_id = new.id
    assert "已被采纳申诉后的更正版本取代" in client.get(f"/results/approvals/{ids['approval']}").get_data(as_text=True)
    on_day(date(2025, 10, 12))
    client.post(f"/results/approvals/{new_id}/final")
    with app.app_context():
        assert db.session.get(ScoreRun, run.id).status == "published"
        assert db.session.get(ScoreRun, ids["run"]).status == "done"
    auth.logout()
    auth.login("leader02")
    page = client.get(f"/results/objections/{oid}").get_data(as_text=True)
    assert "已采纳" in page and "经核对，采纳，更正为 99。" in page
