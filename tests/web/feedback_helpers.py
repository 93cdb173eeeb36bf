"""Shared set-up for the 360 feedback web tests: one station with a leader and members, a cycle."""
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.extensions import db
from app.feedback import services
from app.feedback.instruments import ensure_default_instruments
from app.models import Answer, Assignment, Instrument, Response

from ..factories import make_cycle, make_officer, make_unit, make_user


@dataclass
class World:
    cycle_id: int
    unit_id: int
    leader_id: int
    member_ids: list
    other_unit_id: int
    outsider_id: int


def build_world(app, members=5, open_cycle=True, deadline=None, peers=3) -> World:
    """PS01 with leader ``leader`` and members ``m0..``; PS02 with ``outsider``; a designed cycle."""
    with app.app_context():
        unit = make_unit("PS01")
        other = make_unit("PS02")
        leader = make_officer(unit, name="王所长", is_leader=True)
        make_user("leader", roles={"officer", "supervisor"}, officer=leader)
        member_ids = []
        for i in range(members):
            officer = make_officer(unit, name=f"民警{i}")
            make_user(f"m{i}", officer=officer)
            member_ids.append(officer.id)
        outsider = make_officer(other, name="外所民警")
        make_user("outsider", officer=outsider)
        today = date.today()
        cycle = make_cycle(starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30),
                           deadline_on=deadline or today + timedelta(days=10))
        ensure_default_instruments()
        services.generate_design(cycle, seed=7, peers=peers)
        if open_cycle:
            transition_cycle(cycle, "open")
        db.session.commit()
        return World(cycle.id, unit.id, leader.id, member_ids, other.id, outsider.id)


def assignment_id(app, rater_id, ratee_id, relation):
    with app.app_context():
        return db.session.execute(sa.select(Assignment.id).filter_by(
            rater_id=rater_id, ratee_id=ratee_id, relation=relation)).scalar_one()


def items_of(app, group):
    """[(item id, allow_na)] of the frozen questionnaire for ``group``."""
    with app.app_context():
        instrument = db.session.execute(sa.select(Instrument).filter_by(code=f"std-{group}")
                                        .order_by(Instrument.version.desc())).scalars().first()
        return [(i.id, i.allow_na) for i in instrument.items]


def full_answers(items, value="4"):
    return {f"item_{item_id}": value for item_id, _ in items}


def counts(app, assignment):
    """(responses, answers) stored for an assignment id."""
    with app.app_context():
        responses = db.session.scalar(sa.select(sa.func.count(Response.id)).filter_by(assignment_id=assignment))
        answers = db.session.scalar(sa.select(sa.func.count(Answer.id)).join(Response)
                                    .where(Response.assignment_id == assignment))
        return responses, answers


def state(app, assignment):
    with app.app_context():
        a = db.session.get(Assignment, assignment)
        values = sorted(db.session.execute(
            sa.select(Answer.item_id, Answer.value).join(Response).where(Response.assignment_id == assignment)
        ).all())
        return a.status, a.revision, values
