"""What officers are told about their 360 ratings: the cycle is open, and ratings are still owed
before the deadline. Messages carry counts and the cycle's name, never whom the officer rates for
anyone else, and never who rates the officer."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..localtime import local_today
from ..models import Assignment, Cycle, Officer, User
from ..notify.services import Notice, notify_many
from .services import OPEN_STATUSES

INBOX = "/feedback/"


def _owed_by_user(cycle_ids: list[int]):
    """(user id, cycle id, ratings still owed) of every active account with open ratings, streamed."""
    return db.session.execute(
        select(User.id, Assignment.cycle_id, func.count(Assignment.id))
        .join(Officer, Officer.id == User.officer_id).join(Assignment, Assignment.rater_id == Officer.id)
        .where(Assignment.cycle_id.in_(cycle_ids), Assignment.status.in_(OPEN_STATUSES),
               User.is_active_account.is_(True))
        .group_by(User.id, Assignment.cycle_id).execution_options(yield_per=2000))


def notify_cycle_opened(cycle: Cycle) -> int:
    """AFTER_TRANSITION["open"]: tell every officer with ratings to give in ``cycle``; how many were told.
    Officers owing the same number share one statement (a handful of counts, however many officers).
    A cycle opened after its deadline (entering a past quarter) asks nobody for anything."""
    if cycle.effective_deadline < local_today():
        return 0
    by_count: dict[int, list[int]] = defaultdict(list)
    for user_id, _cycle_id, owed in _owed_by_user([cycle.id]):
        by_count[owed].append(user_id)
    return len(notify_many(
        Notice(users, "cycle_opened", f"cycle:{cycle.id}:opened", link=INBOX,
               params={"cycle": cycle.name, "count": owed, "deadline": cycle.effective_deadline.isoformat()})
        for owed, users in by_count.items()))


def remind_owing(today: date, days_before: list[int]) -> int:
    """The deadline digest: officers who still owe ratings in an open cycle whose deadline is one of
    ``days_before`` days away get one message for ``today`` (the key holds the day, so a second run
    the same day tells nobody again). Several cycles at once make one message: the nearest deadline,
    the ratings owed in all of them. Returns how many were told."""
    cycles = {c.id: c for c in db.session.execute(select(Cycle).where(Cycle.status == "open")).scalars()}
    due = {cid: (c.effective_deadline - today).days for cid, c in cycles.items()}
    due = {cid: days for cid, days in due.items() if days in days_before}
    if not due:
        return 0
    owed: dict[int, list[tuple[int, int]]] = defaultdict(list)  # user -> [(cycle id, owed)]
    for user_id, cycle_id, n in _owed_by_user(sorted(due)):
        owed[user_id].append((cycle_id, n))
    groups: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for user_id, rows in owed.items():
        rows.sort(key=lambda row: (due[row[0]], row[0]))
        names = "、".join(cycles[cid].name for cid, _n in rows)
        groups[(names, due[rows[0][0]], sum(n for _cid, n in rows))].append(user_id)
    return len(notify_many(
        Notice(users, "ratings_due", f"ratings_due:{today.isoformat()}", link=INBOX,
               params={"cycle": names, "days": days, "count": count})
        for (names, days, count), users in groups.items()))
