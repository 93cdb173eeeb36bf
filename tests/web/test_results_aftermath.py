"""What final results set in motion: talk (约谈) records with follow-ups on the unit's landing
page, and promotion eligibility from the last three final annual grades."""
from datetime import date

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.assessment import runs
from app.extensions import db
from app.models import AuditLog, Cycle, TalkRecord, Unit

from ..factories import make_officer, make_user
from .assessment_setup import build_world, load, officer_rows, unit_rows


def three_final_years(app):
    """2023–2025 annual cycles published; PS04 is last of 三类 every year. Officers' grades:
    B00 良好/合格/优秀, B01 良好/合格/良好, B10 合格/基本合格/良好, the others lower."""
    with app.app_context():
        ids = build_world(open_it=False)
        ps04 = db.session.execute(sa.select(Unit).filter_by(code="PS04")).scalar_one()
        head = make_officer(ps04, name="张所长", badge_no="L04", is_leader=True)
        make_user("leader04", officer=head)
        ids["ps04"], ids["officers"]["L04"] = ps04.id, head.id
        for year, base in ((2023, 90), (2024, 80), (2025, 95)):
            cycle = Cycle(name=f"{year}年度", kind="year", starts_on=date(year, 1, 1), ends_on=date(year, 12, 31),
                          config={})
            db.session.add(cycle)
            db.session.flush()
            transition_cycle(cycle, "open")
            load({"cycle": cycle.id}, unit_rows() + officer_rows(ids, base=base))
            transition_cycle(cycle, "closed")
            runs.publish_run(runs.compute_run(cycle))
            ids[year] = cycle.id
        db.session.commit()
    return ids


def test_promotion_eligibility_follows_the_rule_with_the_grades_as_evidence(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    three_final_years(app)
    page = client.get("/results/promotion").get_data(as_text=True)
    rows = {line.split("（")[1].split("）")[0]: line for line in page.split("<tr") if "（B" in line}
    # At least two 优秀/良好 and no 基本合格/不合格 in 2023–2025.
    assert "具备资格" in rows["B00"] and "优秀" in rows["B00"] and "良好" in rows["B00"]
    assert "具备资格" in rows["B01"]
    assert "不具备 · 有不符合条件的等次" in rows["B10"]  # 良好 once and a 基本合格
    assert "不具备" in rows["B31"]
    assert sum("具备资格" in line for line in rows.values()) == 2


def test_talk_with_the_flagged_units_head_and_its_follow_up(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    ids = three_final_years(app)
    flags_page = client.get("/assessment/flags").get_data(as_text=True)
    talk_url = f"/results/talks/{ids['ps04']}/{ids[2025]}"
    assert talk_url in flags_page
    form = client.get(talk_url).get_data(as_text=True)
    assert "张所长（L04）" in form  # the unit's head that year, filled in
    # A unit that is not flagged has no talk page.
    ps01 = None
    with app.app_context():
        ps01 = db.session.execute(sa.select(Unit.id).filter_by(code="PS01")).scalar_one()
    assert client.get(f"/results/talks/{ps01}/{ids[2025]}").status_code == 404
    data = {"held_on": "2026-03-02", "held_by": "局长 王某", "with_whom": "张所长（L04）",
            "notes": "连续两年末位，分析原因并制定整改计划", "position_change": "", "follow_up_on": "2026-02-01"}
    assert "回访日期不能早于约谈日期" in client.post(talk_url, data=data).get_data(as_text=True)
    data["follow_up_on"] = "2026-06-30"
    client.post(talk_url, data=data)
    with app.app_context():
        talk = db.session.execute(sa.select(TalkRecord)).scalar_one()
        assert (talk.held_on, talk.follow_up_on) == (date(2026, 3, 2), date(2026, 6, 30))
        assert talk.with_whom == "张所长（L04）"
        talk_id = talk.id
    auth.logout()
    auth.login("leader04")
    home = client.get("/").get_data(as_text=True)
    assert "待回访的约谈" in home and "2026-06-30" in home
    auth.logout()
    auth.login("admin_user")
    client.post(f"/results/talks/records/{talk_id}/follow-up-done")
    response = client.post(f"/results/talks/records/{talk_id}/follow-up-done", follow_redirects=True)
    assert "该回访已经完成" in response.get_data(as_text=True)
    auth.logout()
    auth.login("leader04")
    assert "待回访的约谈" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog)
                                 .filter_by(action="talk_follow_up_done")) == 1


def test_award_nominations_from_the_final_result_confirmed_once_and_exported(app, client, auth):
    import io

    from openpyxl import load_workbook

    auth.as_role("admin", unit_code="BJ")
    ids = three_final_years(app)
    with app.app_context():  # no unit nominated in 2025 (quota 0); officers: every 优秀
        cycle = db.session.get(Cycle, ids[2025])
        cycle.config = {**cycle.config, "award_quotas": {"unit": 0}}
        db.session.commit()
    page = client.get(f"/results/awards/{ids[2025]}").get_data(as_text=True)
    assert "名额 0" in page and "民警PS010（B00）" in page and "（B01）" not in page
    assert "已确认评优名单（1 个）" in client.post(f"/results/awards/{ids[2025]}", follow_redirects=True).get_data(
        as_text=True)
    assert "此周期的评优名单已经确认" in client.post(f"/results/awards/{ids[2025]}", follow_redirects=True).get_data(
        as_text=True)
    sheet = load_workbook(io.BytesIO(client.get(f"/results/awards/{ids[2025]}/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][:4] == ("2025年度", "民警", "民警PS010", "B00")


def test_dual_track_becomes_records_with_owner_goals_deadline_and_review(app, client, auth):
    from app.models import DevelopmentRecord

    auth.as_role("admin", unit_code="BJ")
    ids = three_final_years(app)
    assert "已生成" in client.post(f"/results/development/{ids[2025]}", follow_redirects=True).get_data(as_text=True)
    assert "已经生成" in client.post(f"/results/development/{ids[2025]}", follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(sa.select(DevelopmentRecord)).scalars().all()
        got = {(r.officer.badge_no, r.track) for r in rows}
        # 10 % of each category: 一类 B00 best, B11 weakest; 三类 B20 best, the head L04 weakest (no
        # other leader in PS04 to own his plan, so the office does).
        assert got == {("B00", "training"), ("B11", "improvement"), ("B20", "training"), ("L04", "improvement")}
        assert {r.owner for r in rows} == {"考评办"}
        assert all(r.deadline_on == date(2026, 12, 31) for r in rows)  # the end of the next year
        plan = next(r for r in rows if r.track == "improvement")
        assert plan.goals.startswith("改进：个人执法规范率")
        plan_id = plan.id
    response = client.post(f"/results/development/records/{plan_id}/review", data={"status": "achieved", "note": ""},
                           follow_redirects=True)
    assert "请填写复查意见" in response.get_data(as_text=True)
    client.post(f"/results/development/records/{plan_id}/review",
                data={"status": "achieved", "note": "案件规范率已达目标"})
    with app.app_context():
        assert db.session.get(DevelopmentRecord, plan_id).review_status == "achieved"
