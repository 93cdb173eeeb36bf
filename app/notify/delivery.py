"""Sending notifications outside the app, so that nothing is lost and nothing is sent twice.

notify() → ``queue_deliveries``: one Delivery row per new notification and channel the user wants
(and the bureau configured, and the user has an address for) → a background job runs ``send_due``.

Each send first *claims* its row with one compare-and-set UPDATE (status still queued/retrying,
``attempts`` still what this worker read, due now); the claim adds one attempt and moves
``next_attempt_at`` a lease ahead, and commits before the provider is called. Two workers that pick
the same row race on that UPDATE and only one wins. The outcome is recorded with the same condition
(the attempt is still ours): sent, retried later with exponential backoff (refused connection,
timeout, HTTP 5xx, SMTP 4xx), failed for good (HTTP 4xx, address refused), or given up after
NOTIFY_MAX_ATTEMPTS. A worker that dies between the provider's answer and the record leaves the row
to be tried again when its lease runs out; the message id (``kaoping-d<delivery id>``) is the same
on every attempt so the gateway or mail system can drop the repeat.

``send_due`` is what a periodic job or ``flask send-notifications`` runs: retries whose time has come,
SMS held back by the quiet hours, and the SMS to residents (app.residents.sms).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult

from ..extensions import db
from ..models import Delivery, Notification, NotificationPreference, User, utcnow
from .channels import Outcome, configured_channels, send_email, send_sms
from .kinds import KINDS, render
from .quiet import sms_allowed_from

SEND_LEASE = timedelta(minutes=10)  # a claimed row is left alone this long (longer than any provider timeout)
MAX_BACKOFF = timedelta(hours=6)
_CHUNK = 1000  # ids per statement
_OPEN = ("queued", "retrying")


# ---- creating deliveries -----------------------------------------------------------------------
def queue_deliveries(notification_ids: Sequence[int]) -> int:
    """Create the deliveries of new notifications and start a job that sends them; returns how many.

    Runs in the caller's transaction; the job starts when it commits. A channel goes to a user when
    the kind allows it, the bureau configured it, the user has an address for it and did not turn it
    off (NotificationPreference). An SMS due in the quiet hours waits for the morning.
    """
    ready = configured_channels()
    ids = sorted(set(notification_ids))
    if not ids or not ready:
        return 0
    now = utcnow()
    sms_at = sms_allowed_from(now)
    created = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        rows = db.session.execute(
            sa.select(Notification.id, Notification.user_id, Notification.kind, User.mobile, User.email)
            .join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(chunk), User.is_active_account)).all()
        users = {row.user_id for row in rows}
        off = {(user_id, kind, channel) for user_id, kind, channel in db.session.execute(
            sa.select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.channel)
            .where(NotificationPreference.user_id.in_(users), NotificationPreference.is_enabled.is_(False)))
        } if users else set()
        values = []
        for row in rows:
            kind = KINDS.get(row.kind)
            for channel in (kind.channels if kind else ()):
                address = row.mobile if channel == "sms" else row.email
                if channel in ready and address and (row.user_id, row.kind, channel) not in off:
                    values.append({"notification_id": row.id, "channel": channel, "status": "queued", "attempts": 0,
                                   "next_attempt_at": sms_at if channel == "sms" else now, "created_at": now})
        if values:
            db.session.execute(sa.insert(Delivery), values)
            created += len(values)
    if created:
        from ..jobs import enqueue

        enqueue("notify_send", f"notify:{ids[0]}")  # the smallest new id: a key no other batch has
    return created


# ---- sending -----------------------------------------------------------------------------------
def backoff(attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: NOTIFY_RETRY_SECONDS, doubling, at most six hours."""
    base = float(current_app.config.get("NOTIFY_RETRY_SECONDS") or 0)
    return min(MAX_BACKOFF, timedelta(seconds=base * 2 ** max(0, attempts - 1)))


def claim(table, row_id: int, seen_attempts: int, now: datetime) -> bool:
    """Take row ``row_id`` of ``table`` (Delivery or ResidentSms) for one attempt, committed; False
    when another worker took it first or it is not due."""
    result = cast(CursorResult[Any], db.session.execute(
        sa.update(table).where(table.id == row_id, table.status.in_(_OPEN), table.attempts == seen_attempts,
                               sa.or_(table.next_attempt_at.is_(None), table.next_attempt_at <= now))
        .values(attempts=seen_attempts + 1, next_attempt_at=now + SEND_LEASE)))
    won = result.rowcount == 1
    if won:
        db.session.commit()
    else:
        db.session.rollback()
    return won


def record(table, row_id: int, attempt: int, outcome: Outcome) -> str:
    """Store what attempt number ``attempt`` came to (if the row is still that attempt's); the new status."""
    now = utcnow()
    limit = max(1, int(current_app.config.get("NOTIFY_MAX_ATTEMPTS") or 1))
    values: dict[str, Any] = {"provider_response": outcome.provider_response, "last_error": outcome.error}
    if outcome.sent:
        values.update(status="sent", sent_at=now, next_attempt_at=None, last_error="")
    elif outcome.retryable and attempt < limit:
        values.update(status="retrying", next_attempt_at=now + backoff(attempt))
    elif outcome.retryable:
        values.update(status="given_up", next_attempt_at=None,
                      last_error=f"{outcome.error} — gave up after {attempt} attempts")
    else:
        values.update(status="failed", next_attempt_at=None)
    db.session.execute(sa.update(table).where(table.id == row_id, table.attempts == attempt,
                                              table.status.in_(_OPEN)).values(**values))
    db.session.commit()
    return str(values["status"])


def not_due(row, now: datetime) -> str:
    """Why a message read as ``row`` (with its status and next_attempt_at) is not to be sent now:
    "missing" (no row), "taken" (settled, or another sweep holds it, or its time has not come),
    else ""."""
    if row is None:
        return "missing"
    if row.status not in _OPEN or (row.next_attempt_at is not None and row.next_attempt_at > now):
        return "taken"
    return ""


def postpone(table, row_id: int, seen_attempts: int, until: datetime) -> None:
    """Hold an SMS until the quiet hours end (no attempt is counted)."""
    db.session.execute(sa.update(table).where(table.id == row_id, table.status.in_(_OPEN),
                                              table.attempts == seen_attempts).values(next_attempt_at=until))
    db.session.commit()


def close(table, row_id: int, seen_attempts: int, status: str, reason: str) -> None:
    """End a message that cannot or need not go (no address any more, resident answered)."""
    db.session.execute(sa.update(table).where(table.id == row_id, table.status.in_(_OPEN),
                                              table.attempts == seen_attempts)
                       .values(status=status, last_error=reason, next_attempt_at=None))
    db.session.commit()


def message_text(kind: str, params: dict, link: str, language: str) -> tuple[str, str]:
    """(subject, text) of one notification in ``language``: the kind's sentence and the page's
    address on the site, nothing else (no token: the reader logs in as usual)."""
    base = (current_app.config.get("SITE_BASE_URL") or "").rstrip("/")
    with force_locale(language or "zh"):
        text = render(kind, params or {})
        subject = _("考评平台通知")
        if link:
            text = f"{text} {base}{link}"
    return subject, text


def send_delivery(delivery_id: int, now: datetime | None = None) -> str:
    """Attempt one delivery if it is due and nobody else has it; returns what became of it
    ("sent", "retrying", "failed", "given_up", "postponed", "taken", "missing")."""
    now = now or utcnow()
    row = db.session.execute(
        sa.select(Delivery.channel, Delivery.status, Delivery.attempts, Delivery.next_attempt_at,
                  Notification.kind, Notification.params, Notification.link,
                  User.mobile, User.email, User.language, User.is_active_account)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(User, User.id == Notification.user_id)
        .where(Delivery.id == delivery_id)).one_or_none()
    db.session.rollback()  # read only: no transaction held while the provider answers
    if unready := not_due(row, now):
        return unready
    assert row is not None  # not_due said "missing" otherwise
    if row.channel not in configured_channels():  # switched off since it was queued: keep it for later
        return "unconfigured"
    address = row.mobile if row.channel == "sms" else row.email
    if not address or not row.is_active_account:
        close(Delivery, delivery_id, row.attempts, "failed", "account deactivated" if address else "no address")
        return "failed"
    if row.channel == "sms":
        allowed = sms_allowed_from(now)
        if allowed > now:
            postpone(Delivery, delivery_id, row.attempts, allowed)
            return "postponed"
    if not claim(Delivery, delivery_id, row.attempts, now):
        return "taken"
    subject, text = message_text(row.kind, row.params, row.link, row.language)
    message_id = f"kaoping-d{delivery_id}"
    if row.channel == "sms":
        outcome = send_sms(address, text, message_id)
    else:
        outcome = send_email(address, subject, text, message_id)
    return record(Delivery, delivery_id, row.attempts + 1, outcome)


def send_due(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send what is due: new deliveries, retries whose wait is over, SMS held for the quiet hours,
    and residents' SMS. Each row is tried at most once per call. Returns counts by outcome.

    This is the function a periodic job calls (and ``flask send-notifications``)."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    if configured_channels():
        ids = db.session.execute(
            sa.select(Delivery.id).where(Delivery.status.in_(_OPEN),
                                         sa.or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit)).scalars().all()
        db.session.rollback()
        for delivery_id in ids:
            outcome = send_guarded(send_delivery, delivery_id, now)
            counts[outcome] = counts.get(outcome, 0) + 1
    from ..residents.sms import send_due_resident_sms

    for outcome, n in send_due_resident_sms(now, limit).items():
        counts[outcome] = counts.get(outcome, 0) + n
    return counts


def send_guarded(send, row_id: int, now: datetime) -> str:
    """One row's send, where a busy database (SQLite's single writer, a dropped connection) skips
    the row rather than the rest of the sweep: it is taken up again by a later one."""
    try:
        return send(row_id, now)
    except sa.exc.OperationalError:
        db.session.rollback()
        current_app.logger.warning("message %s not sent now: database busy", row_id, exc_info=True)
        return "busy"


def send_job(job, **_args) -> dict:
    """The background job that notify() starts (app.jobs kind ``notify_send``)."""
    return {"counts": send_due()}
