"""Telling users about events: one row per user and event, whoever raises it and however often."""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Notification, utcnow
from .delivery import queue_deliveries
from .kinds import KINDS

_CHUNK = 1000  # users per statement: bounded parameters however large the audience


def notify(user_ids: Iterable[int], kind: str, event_key: str, *, link: str = "",
           params: dict | None = None) -> list[int]:
    """Tell each user about one event, once; return the ids of the notifications that are new.

    ``event_key`` names the event (``claim:12:confirm``). A user already told about it is skipped in
    the database (unique user and key, ON CONFLICT DO NOTHING), so a retried job, two workers or a
    reminder run twice tell nobody twice. Runs in the caller's transaction.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind: {kind}")
    if link and not link.startswith("/"):
        raise ValueError("a notification links inside the app")
    users = sorted(set(user_ids))
    now = utcnow()
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created: list[int] = []
    for start in range(0, len(users), _CHUNK):
        rows = [{"user_id": user_id, "kind": kind, "event_key": event_key, "params": params or {},
                 "link": link, "created_at": now} for user_id in users[start:start + _CHUNK]]
        statement = (insert(Notification).values(rows)
                     .on_conflict_do_nothing(index_elements=["user_id", "event_key"])
                     .returning(Notification.id))
        created.extend(db.session.execute(statement).scalars())
    queue_deliveries(created)  # SMS and e-mail for those who want them (app.notify.delivery)
    return created


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
