"""Figures for each role's landing page."""
from typing import Any

from sqlalchemy import func

from .. import scope
from ..extensions import db
from ..models import Cycle, Officer, Unit, User


def current_cycle() -> Cycle | None:
    """The open cycle, else the most recent one."""
    cycle = db.session.execute(
        db.select(Cycle).filter_by(status="open").where(scope.cycle_clause()).order_by(Cycle.starts_on.desc())
    ).scalars().first()
    return cycle or db.session.execute(db.select(Cycle).where(scope.cycle_clause())
                                       .order_by(Cycle.starts_on.desc())).scalars().first()


# Panels that features add to the landing page: (template, function(user) -> data or None).
HOME_PANELS: list = []


def home_figures(user: User) -> dict:
    figures: dict[str, Any] = {"cycle": current_cycle(), "officer": user.officer}
    figures["panels"] = [(template, data) for template, build in HOME_PANELS
                         if (data := build(user)) is not None]
    if user.has_role("admin"):
        from ..admin.services import user_clause

        mine = scope.clause(Unit.bureau_id)
        figures["admin"] = {
            "units": db.session.scalar(db.select(func.count(Unit.id)).where(Unit.is_active, mine)),
            "stations": db.session.scalar(
                db.select(func.count(Unit.id)).where(Unit.kind == "station", Unit.is_active, mine)
            ),
            "officers": db.session.scalar(db.select(func.count(Officer.id))
                                          .where(Officer.is_active, scope.unit_clause(Officer.unit_id))),
            "users": db.session.scalar(db.select(func.count(User.id)).outerjoin(User.officer).where(user_clause())),
            "cycles": db.session.execute(
                db.select(Cycle.status, func.count(Cycle.id)).where(scope.cycle_clause()).group_by(Cycle.status)
            ).all(),
        }
    if user.officer is not None:
        unit = user.officer.unit
        figures["unit"] = unit
        figures["unit_size"] = db.session.scalar(
            db.select(func.count(Officer.id)).where(Officer.unit_id == unit.id, Officer.is_active)
        )
        figures["leaders"] = db.session.execute(
            db.select(Officer).where(Officer.unit_id == unit.id, Officer.is_leader, Officer.is_active)
            .order_by(Officer.badge_no)
        ).scalars().all()
    return figures
