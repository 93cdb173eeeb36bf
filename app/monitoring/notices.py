"""What stations' leaders and the office are told about monitoring: a monthly self-check due or
returned, a rectification item overdue, a pull connector failing."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Connector, Rectification, SelfCheck, Unit
from ..notify.audience import leaders_by_unit, role_users, unit_leader_users
from ..notify.services import Notice, notify, notify_many


def _check_link(unit_id: int, month: date) -> str:
    return f"/monitoring/stations/{unit_id}/self-checks/{month:%Y-%m}"


def self_check_returned(check: SelfCheck) -> None:
    """The office returned a self-check: its station's leaders are asked to amend it (each return once)."""
    unit = db.session.get(Unit, check.unit_id)
    notify(unit_leader_users(check.unit_id), "self_check_returned",
           f"self_check:{check.id}:returned:{check.times_returned}", link=_check_link(check.unit_id, check.month),
           params={"unit": unit.name if unit else "", "month": f"{check.month:%Y-%m}"})


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def remind_self_checks(today: date, leaders: dict[int, list[int]] | None = None) -> int:
    """The leaders of active stations whose self-check of last month is not yet submitted (missing,
    draft or returned) are reminded once a month with its due day, and once more the day after the
    due day if it is still not submitted (missing or draft: a returned one was on time)."""
    from .selfcheck import due_on

    leaders = leaders_by_unit() if leaders is None else leaders
    month = previous_month(today)
    due = due_on(month)
    rows = db.session.execute(
        sa.select(Unit.id, Unit.name, SelfCheck.status).outerjoin(SelfCheck, sa.and_(SelfCheck.unit_id == Unit.id,
                                                                                     SelfCheck.month == month))
        .where(Unit.kind == "station", Unit.is_active,
               sa.or_(SelfCheck.id.is_(None), SelfCheck.status.in_(("draft", "returned"))))
        .order_by(Unit.code)).all()
    notices = []
    for unit_id, name, status in rows:
        if not leaders.get(unit_id):
            continue
        link, key = _check_link(unit_id, month), f"self_check:{unit_id}:{month:%Y-%m}"
        params = {"unit": name, "month": f"{month:%Y-%m}", "due": due.isoformat()}
        notices.append(Notice(leaders[unit_id], "self_check_due", f"{key}:due", link=link, params=params))
        if today > due and status != "returned":
            notices.append(Notice(leaders[unit_id], "self_check_overdue", f"{key}:overdue", link=link, params=params))
    return len(notify_many(notices))


def remind_rectifications(today: date, leaders: dict[int, list[int]] | None = None) -> int:
    """The leaders of a station with an open rectification item past its due day are told once per item."""
    leaders = leaders_by_unit() if leaders is None else leaders
    rows = db.session.execute(
        sa.select(Rectification.id, Rectification.unit_id, Rectification.what, Rectification.due_on,
                  SelfCheck.month, Unit.name)
        .join(SelfCheck, SelfCheck.id == Rectification.self_check_id).join(Unit, Unit.id == Rectification.unit_id)
        .where(Rectification.status == "open", Rectification.due_on < today)
        .order_by(Rectification.id)).all()
    return len(notify_many(
        Notice(leaders[unit_id], "rectification_overdue", f"rectification:{rect_id}:overdue",
               link=_check_link(unit_id, month), params={"unit": name, "what": what[:60], "due": due_on.isoformat()})
        for rect_id, unit_id, what, due_on, month, name in rows if leaders.get(unit_id)))


def connector_failed(connector: Connector, today: date) -> None:
    """A pull failed: the office's admins are told, at most once a day per connector."""
    notify(role_users("admin"), "connector_failing", f"connector:{connector.id}:failing:{today.isoformat()}",
           link=f"/monitoring/connectors/{connector.id}", params={"name": connector.name})
