"""The results path in the demo: the newest annual cycle (2025) in 公示 with one open and one
answered objection; the previous one (2024) final with a 约谈 record and a promotion list."""
import sqlalchemy as sa

from app.extensions import db
from app.models import AwardNomination, Cycle, Objection, ResultApproval, ScoreResult, ScoreRun, TalkRecord, Unit, User


def _login(client, username):
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": "demo1234"}).status_code == 302


def test_demo_has_one_cycle_on_notice_and_the_previous_one_final(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "1 open and 1 answered objection" in result.output
    with app.app_context():
        from app.results.aftermath import promotion_list
        from app.results.calendar import bureau_today

        def cycle(name):
            return db.session.execute(sa.select(Cycle).filter_by(name=name)).scalar_one()

        newest, previous = cycle("2025年度考评"), cycle("2024年度考评")
        # 2025: approved by the committee, its notice running today, nothing published yet.
        approval = db.session.execute(sa.select(ResultApproval).filter_by(cycle_id=newest.id)).scalar_one()
        assert approval.status == "notice" and approval.approvals == approval.required_approvals == 2
        assert approval.notice_starts_on <= bureau_today() <= approval.notice_ends_on
        assert newest.status == "closed"
        assert db.session.scalar(sa.select(ScoreRun.id).filter_by(cycle_id=newest.id, status="published")) is None
        objections = db.session.execute(sa.select(Objection).filter_by(cycle_id=newest.id)
                                        .order_by(Objection.id)).scalars().all()
        assert [o.status for o in objections] == ["open", "rejected"]
        open_, answered = objections
        assert db.session.get(User, open_.filed_by_id).username == "leader" and open_.unit.code == "PS01"
        assert [e.content_type for e in open_.evidence] == ["application/pdf"]
        assert answered.reply and db.session.get(User, answered.answered_by_id).username == "admin"
        # 2024: final through the same path, the 约谈 of PS12 recorded, awards confirmed.
        final = db.session.execute(sa.select(ResultApproval).filter_by(cycle_id=previous.id)).scalar_one()
        assert final.status == "final" and previous.status == "published"
        ps12 = db.session.execute(sa.select(Unit).filter_by(code="PS12")).scalar_one()
        talk = db.session.execute(sa.select(TalkRecord).filter_by(cycle_id=previous.id)).scalar_one()
        assert talk.unit_id == ps12.id and talk.follow_up_on and talk.follow_up_done_at is None
        assert db.session.scalar(sa.select(sa.func.count(AwardNomination.id)).filter_by(cycle_id=previous.id)) > 0
        years, rows, total = promotion_list()
        assert [c.name for c in years] == ["2024年度考评", "2023年度考评"]
        assert total > 0 and any(r.eligible for r in rows)
        ps01_2025 = db.session.execute(
            sa.select(ScoreResult.id).filter_by(run_id=approval.run_id, level="unit")
            .where(ScoreResult.unit_id == open_.unit_id)).scalar_one()
        ps01_2024 = db.session.execute(
            sa.select(ScoreResult.id).filter_by(run_id=final.run_id, level="unit")
            .where(ScoreResult.unit_id == open_.unit_id)).scalar_one()
        answered_id, open_id, ps12_id, previous_id = answered.id, open_.id, ps12.id, previous.id

    # The station's leader sees the provisional 2025 result with the banner and the way to object,
    # and the final 2024 result without it.
    _login(client, "leader")
    page = client.get(f"/assessment/results/{ps01_2025}").get_data(as_text=True)
    assert "暂定结果（公示中）" in page and "提出申诉" in page
    assert "暂定结果（公示中）" not in client.get(f"/assessment/results/{ps01_2024}").get_data(as_text=True)
    assert "回访台账摘录.pdf" in client.get(f"/results/objections/{open_id}").get_data(as_text=True)
    # The officer reads the office's reply to their objection.
    _login(client, "officer")
    assert "维持原等次" in client.get(f"/results/objections/{answered_id}").get_data(as_text=True)
    # The office: the queue, the 约谈 flag from the two final years with its record, the promotion view.
    _login(client, "admin")
    queue = client.get("/results/objections/").get_data(as_text=True)
    assert f"/results/objections/{open_id}" in queue and f"/results/objections/{answered_id}" in queue
    flags = client.get("/assessment/flags").get_data(as_text=True)
    assert "石桥派出所" in flags and "2023年度考评" in flags and "2024年度考评" in flags
    assert "连续两年" in client.get(f"/results/talks/{ps12_id}/{previous_id}").get_data(as_text=True)
    promotion = client.get("/results/promotion").get_data(as_text=True)
    assert "2024年度考评" in promotion and "2023年度考评" in promotion
    # Bureau-wide figures come from final results only: the 2024 run, not the 2025 one on notice.
    bureau = client.get("/reports/bureau").get_data(as_text=True)
    assert "2024年度考评 · 第 1 版（已发布）" in bureau and "2025年度考评 · 第" not in bureau
