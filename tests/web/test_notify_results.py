"""Along a result's path: officers are told of 公示 and of the final result, the office of each
objection filed, and whoever filed it of the answer; each once, nobody else."""
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Notification, Objection, Officer, ResultApproval, ScoreResult, ScoreRun, Unit, User
from app.results import objections, services

from ..factories import make_officer, make_user
from .assessment_setup import build_world, load, officer_rows, unit_rows
from .test_results_objections import on_day  # noqa: F401 - a fixture
from .test_results_path import APPROVED_ON


def world(app):
    """test_results_path.world with officer results too."""
    from app.admin.services import transition_cycle
    from app.assessment import runs
    from app.models import Cycle

    with app.app_context():
        ids = build_world()
        load(ids, unit_rows() + officer_rows(ids))
        cycle = db.session.get(Cycle, ids["cycle"])
        ids["run"] = runs.compute_run(cycle).id
        transition_cycle(cycle, "closed")
        for name in ("chief", "deputy"):
            services.add_committee_member(make_user(name))
        db.session.commit()
    return ids


def told(username, kind):
    return db.session.execute(sa.select(Notification).join(User, User.id == Notification.user_id)
                              .where(User.username == username, Notification.kind == kind)).scalars().all()


def user(username):
    return db.session.execute(sa.select(User).filter_by(username=username)).scalar_one()


def test_notice_objection_answer_and_final_reach_the_right_people_once(app, on_day):  # noqa: F811
    ids = world(app)
    with app.app_context():
        ranked = db.session.execute(sa.select(ScoreResult.officer_id).filter_by(run_id=ids["run"], level="officer")
                                    .limit(1)).scalar_one()
        make_user("ranked", officer=db.session.get(Officer, ranked))
        make_user("office", roles={"admin"})
        ps02 = db.session.execute(sa.select(Unit).filter_by(code="PS02")).scalar_one()
        make_user("leader02", officer=make_officer(ps02, name="所长二", is_leader=True))
        db.session.commit()
        approval = services.submit_run(db.session.get(ScoreRun, ids["run"]))
        for name in ("chief", "deputy"):
            services.decide(approval, user(name), "approve", today=APPROVED_ON)
        db.session.commit()
        rows = told("ranked", "result_notice")
        assert len(rows) == 1 and rows[0].link == f"/notifications/my-result/{approval.cycle_id}"
        assert rows[0].params["ends"] == approval.notice_ends_on.isoformat()
        assert told("leader02", "result_notice") == []  # no result of their own in this run
        on_day(date(2025, 10, 9))
        objection = objections.file_objection(approval, user("leader02"), unit=ps02, item_kind="grade",
                                               reason="等次有误")
        db.session.commit()
        assert len(told("office", "objection_filed")) == 1 and told("leader02", "objection_filed") == []
        objections.reject_objection(objection, user("office"), "经核对无误。")
        db.session.commit()
        rows = told("leader02", "objection_rejected")
        assert len(rows) == 1 and rows[0].link == f"/results/objections/{objection.id}"
        assert told("office", "objection_rejected") == []
        on_day(date(2025, 10, 11))
        services.finalize(db.session.get(ResultApproval, approval.id), today=date(2025, 10, 11))
        db.session.commit()
        assert len(told("ranked", "result_final")) == 1
        assert db.session.get(Objection, objection.id).status == "rejected"


def test_the_result_link_opens_the_readers_own_report(app, client, auth):
    auth.as_role("officer", username="someone")
    with app.app_context():
        officer_id = user("someone").officer_id
    response = client.get("/notifications/my-result/7")
    assert response.status_code == 302 and f"/reports/officers/{officer_id}?cycle=7" in response.headers["Location"]
