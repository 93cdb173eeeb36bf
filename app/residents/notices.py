"""What unit leaders are told about resident follow-ups, by the daily reminder run.

The message names the unit and the item's due day, nothing of the resident or the answer. It is
sent by the daily run, not at the moment of the answer: a message timed to the second would date
the answer, which the follow-up itself is careful not to do. An item without the resident's consent
(dated by its week) is announced only once its week is over, so the message says no more than the
item's week.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select

from ..extensions import db
from ..models import FollowUp, ResidentResponse, Unit
from ..notify.audience import leaders_by_unit
from ..notify.services import Notice, notify_many

LOOK_BACK_DAYS = 21  # items opened longer ago were announced by an earlier run (or predate the bell)


def _link(item_id: int) -> str:
    return f"/residents/follow-ups/{item_id}"


def announce_follow_ups(today: date, leaders: dict[int, list[int]] | None = None) -> int:
    """Tell the leaders of each unit about its new follow-up items; how many messages were new."""
    rows = db.session.execute(
        select(FollowUp.id, FollowUp.unit_id, FollowUp.due_on, Unit.name)
        .join(Unit, Unit.id == FollowUp.unit_id).join(ResidentResponse, ResidentResponse.id == FollowUp.response_id)
        .where(FollowUp.status == "open", FollowUp.opened_on >= today - timedelta(days=LOOK_BACK_DAYS),
               or_(ResidentResponse.may_contact.is_(True), FollowUp.opened_on < today - timedelta(days=6)))
        .order_by(FollowUp.id)).all()
    return _tell_leaders(rows, leaders, "follow_up_opened", "opened")


def remind_follow_ups_due(today: date, leaders: dict[int, list[int]] | None = None) -> int:
    """Tell the leaders of items not yet fixed that fall due today or tomorrow; once per item."""
    rows = db.session.execute(
        select(FollowUp.id, FollowUp.unit_id, FollowUp.due_on, Unit.name).join(Unit, Unit.id == FollowUp.unit_id)
        .where(FollowUp.status != "fixed", FollowUp.due_on >= today, FollowUp.due_on <= today + timedelta(days=1))
        .order_by(FollowUp.id)).all()
    return _tell_leaders(rows, leaders, "follow_up_due_soon", "due_soon")


def _tell_leaders(rows, leaders: dict[int, list[int]] | None, kind: str, event: str) -> int:
    """One ``kind`` message per (item id, unit id, due day, unit name) row to its unit's leaders, all
    in one go; how many were new."""
    leaders = leaders_by_unit() if leaders is None else leaders
    return len(notify_many(
        Notice(leaders[unit_id], kind, f"follow_up:{item_id}:{event}", link=_link(item_id),
               params={"unit": unit_name, "due": due_on.isoformat()})
        for item_id, unit_id, due_on, unit_name in rows if leaders.get(unit_id)))
