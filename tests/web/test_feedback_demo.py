"""The demo's 360 data: a designed open cycle about 70% answered (the demo officer's still due) and a
closed past quarter answered in full; a second run changes nothing."""
import sqlalchemy as sa

from app.extensions import db
from app.feedback import services
from app.models import Assignment, Comment, Cycle, Instrument, User


def test_demo_feedback_data(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "feedback:" in first.output and "2026年第三季度考评" in first.output
    with app.app_context():
        current = db.session.execute(sa.select(Cycle).filter_by(status="open")).scalar_one()
        past = db.session.execute(sa.select(Cycle).filter_by(name="2026年第三季度考评")).scalar_one()
        assert past.status == "closed" and str(past.starts_on) == "2026-07-01"
        for cycle in (current, past):
            assert set(cycle.config["feedback"]["instruments"]) == {"self", "peer", "supervisor", "subordinate"}
        assert all(i.is_frozen for i in db.session.execute(sa.select(Instrument)).scalars())

        def statuses(cycle):
            return dict(db.session.execute(sa.select(Assignment.status, sa.func.count())
                                           .filter_by(cycle_id=cycle.id).group_by(Assignment.status)).all())

        now, then = statuses(current), statuses(past)
        assert set(then) == {"submitted"}
        share = now["submitted"] / sum(now.values())
        assert 0.6 < share < 0.8 and now.get("draft") and now.get("declined")
        officer = db.session.execute(sa.select(User).filter_by(username="officer")).scalar_one().officer
        due = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment).where(
            Assignment.cycle_id == current.id, Assignment.rater_id == officer.id, Assignment.status == "pending"))
        assert due >= 5
        assert db.session.scalar(sa.select(sa.func.count(Comment.id))) > 10
        report = services.feedback_report(officer, past)
        assert report.has_content and report.comments
        soft = services.soft_indicator_values(past)["soft_360"]
        assert len(soft["values"]) > 250
        careless = sum(d["rated_carelessly"] for d in soft["details"].values())
        assert careless >= 1  # the demo has a few straight-liners
    second = runner.invoke(args=["seed-demo"])
    assert "feedback: already there" in second.output
