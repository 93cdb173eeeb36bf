"""Residents cannot be traced (issue 13, item 2): without their consent staff see an answer only with
its unit, service type and week; officer figures only from 3 answers; the page says what is kept."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import FollowUp, Officer, ResidentResponse, ServiceType, Unit
from app.residents import services

from ..factories import make_cycle, make_officer, make_unit
from .test_residents import ANSWERS

REFERENCE = "JQ-2026-0777"
OFFICER_NAME = "李服务"


def _invite(app, reference=REFERENCE):
    with app.app_context():
        unit = db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one_or_none() or make_unit("PS01")
        officer = db.session.execute(sa.select(Officer).filter_by(name=OFFICER_NAME)).scalar_one_or_none()
        officer = officer or make_officer(unit, name=OFFICER_NAME, badge_no="077077")
        service = db.session.execute(sa.select(ServiceType)).scalar_one_or_none()
        if service is None:
            service = ServiceType(name="矛盾调解", is_sensitive=False, is_active=True)
            db.session.add(service)
        _invitation, token = services.create_invitation(service_type=service, unit=unit, badges=[officer.badge_no],
                                                        reference=reference, created_by=None)
        db.session.commit()
        return token


def _answer(app, client, token, **extra):
    response = client.post(f"/r/{token}", data={**ANSWERS, "overall": "1", "comment": "等了很久没人管", **extra})
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.execute(sa.select(ResidentResponse).order_by(ResidentResponse.id.desc())).scalars().first()
        item = db.session.execute(sa.select(FollowUp).filter_by(response_id=stored.id)).scalar_one()
        return stored.may_contact, stored.answered_on, item.id


def _staff_pages(client, item_id):
    return {path: client.get(path).get_data(as_text=True)
            for path in (f"/residents/follow-ups/{item_id}", "/residents/follow-ups",
                         "/residents/follow-ups?status=all", "/residents/responses", "/")}


def test_resident_page_asks_consent_default_no_and_says_what_is_kept(app, client):
    page = client.get(f"/r/{_invite(app)}").get_data(as_text=True)
    assert "是否同意本单位就这次评价的事情联系您" in page
    assert 'id="contact-no" value="no" autocomplete="off" checked' in page
    assert 'id="contact-yes" value="yes" autocomplete="off">' in page
    assert "我们保存什么，谁能看到" in page and "不保存您的手机号、IP 地址、设备信息和提交的具体时间" in page
    assert "看不到业务编号、服务民警和具体日期" in page and "至少 3 条评价的汇总" in page


@pytest.mark.parametrize("posted", [{}, {"contact": "no"}, {"contact": "YES"}, {"contact": "1"}])
def test_without_consent_staff_never_see_reference_officers_or_day(app, client, auth, posted):
    may_contact, answered_on, item_id = _answer(app, client, _invite(app), **posted)
    assert may_contact is False
    for role in ("admin", "supervisor"):
        auth.as_role(role, username=f"{role}_ps01", unit_code="PS01")
        for path, page in _staff_pages(client, item_id).items():
            assert REFERENCE not in page, path
            assert OFFICER_NAME not in page and "077077" not in page, path
            if path != "/" and answered_on not in services.week_of(answered_on):  # "/" may show today's date
                assert answered_on.isoformat() not in page, path
        detail = client.get(f"/residents/follow-ups/{item_id}").get_data(as_text=True)
        monday, sunday = services.week_of(answered_on)
        assert f"{monday.isoformat()} 至 {sunday.isoformat()} 当周" in detail
        assert "矛盾调解" in detail and "PS01派出所" in detail and "等了很久没人管" in detail
        assert "群众未同意联系" in detail
        auth.logout()


def test_with_consent_the_leader_sees_what_to_follow_up(app, client, auth):
    may_contact, answered_on, item_id = _answer(app, client, _invite(app), contact="yes")
    assert may_contact is True
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    detail = client.get(f"/residents/follow-ups/{item_id}").get_data(as_text=True)
    assert REFERENCE in detail and OFFICER_NAME in detail and answered_on.isoformat() in detail
    assert REFERENCE in client.get("/residents/follow-ups").get_data(as_text=True)
    with app.app_context():
        item = db.session.get(FollowUp, item_id)
        assert item.opened_on == answered_on  # dated by the day itself


def test_window_answers_never_carry_consent(app, client):
    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    page = client.get("/q/PS01").get_data(as_text=True)
    assert "是否同意本单位" not in page and "窗口评价不记录业务编号和民警" in page


def _officer_answers(app, officer, unit, service, n, day):
    for _ in range(n):
        invitation, _token = services.create_invitation(service_type=service, unit=unit, badges=[officer.badge_no],
                                                        reference="", created_by=None)
        db.session.add(ResidentResponse(invitation=invitation, unit_id=unit.id, channel="link", answered_on=day,
                                        overall=1, attitude=1, efficiency=1, fairness=1, resolved="no"))


def test_officer_figures_only_from_three_answers(app):
    from app.reports.services import officer_residents

    with app.app_context():
        unit = make_unit("PS01")
        two, three = make_officer(unit, badge_no="200002"), make_officer(unit, badge_no="200003")
        service = ServiceType(name="110 接处警", is_sensitive=False, is_active=True)
        db.session.add(service)
        db.session.flush()
        cycle = make_cycle()
        _officer_answers(app, two, unit, service, 2, date(2026, 11, 2))
        _officer_answers(app, three, unit, service, 3, date(2026, 11, 2))
        db.session.commit()
        officers = services.soft_indicator_values(cycle)["soft_residents_officer"]
        assert set(officers["values"]) == {three.id}
        assert officers["details"][three.id]["n"] == 3
        assert officer_residents(two, cycle) is None  # the officer report shows nothing from 2 answers
        assert officer_residents(three, cycle)["n"] == 3
        # The unit's figure still counts all five answers.
        assert services.soft_indicator_values(cycle)["soft_residents"]["details"][unit.id]["n"] == 5
