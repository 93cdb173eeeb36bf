"""Telling users about events: one row per user and event, whoever raises it and however often."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Notification, utcnow
from .delivery import queue_deliveries
from .kinds import KINDS

_CHUNK = 1000  # users per statement: bounded parameters however large the audience


class Notice(NamedTuple):
    """One event to tell some users about (see ``notify``)."""

    user_ids: Iterable[int]
    kind: str
    event_key: str
    link: str = ""
    params: dict | None = None


def notify(user_ids: Iterable[int], kind: str, event_key: str, *, link: str = "",
           params: dict | None = None) -> list[int]:
    """Tell each user about one event, once; return the ids of the notifications that are new.

    ``event_key`` names the event (``claim:12:confirm``). A user already told about it is skipped in
    the database (unique user and key, ON CONFLICT DO NOTHING), so a retried job, two workers or a
    reminder run twice tell nobody twice. Runs in the caller's transaction.
    """
    return notify_many([Notice(user_ids, kind, event_key, link, params)])


def notify_many(notices: Iterable[Notice]) -> list[int]:
    """``notify`` for many events at once (a reminder run's items, each with its users): their rows
    go in together, _CHUNK rows per INSERT … ON CONFLICT DO NOTHING, however the users are spread
    over the events. Returns the ids of the notifications that are new."""
    now = utcnow()
    rows = (row for notice in notices for row in _rows(notice, now))
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    created: list[int] = []
    for chunk in iter(lambda: list(islice(rows, _CHUNK)), []):
        statement = (insert(Notification).values(chunk)
                     .on_conflict_do_nothing(index_elements=["user_id", "event_key"])
                     .returning(Notification.id))
        created.extend(db.session.execute(statement).scalars())
    queue_deliveries(created)  # SMS and e-mail for those who want them (app.notify.delivery)
    return created


def _rows(notice: Notice, now) -> Iterator[dict]:
    if notice.kind not in KINDS:
        raise ValueError(f"unknown notification kind: {notice.kind}")
    if notice.link and not notice.link.startswith("/"):
        raise ValueError("a notification links inside the app")
    for user_id in sorted(set(notice.user_ids)):
        yield {"user_id": user_id, "kind": notice.kind, "event_key": notice.event_key,
               "params": notice.params or {}, "link": notice.link, "created_at": now}


def unread_count(user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
