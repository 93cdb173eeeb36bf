"""Shared column helpers."""
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> datetime:
    """Naive UTC now: every timestamp is stored in UTC without a zone, on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class OutgoingMessage:
    """The columns of a message sent outside the app through a provider, one row per message and
    channel (a notification's Delivery, a resident's SMS): where it stands, how many attempts it
    took, when the next one is due, and what the provider answered. Rows are claimed and settled
    by compare-and-swap on (status, attempts) in app.notify.delivery (``claim``, ``record``,
    ``postpone``, ``close``), so that a message goes out at most once however many workers sweep."""

    status: Mapped[str] = mapped_column(sa.String(10), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    provider_response: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    last_error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


def outgoing_message_rules(table: str, statuses: tuple[str, ...]) -> tuple:
    """The table arguments of an OutgoingMessage table: its statuses and attempts checked, and the
    index the sweep reads due rows by."""
    listed = ", ".join(f"'{status}'" for status in statuses)
    return (sa.CheckConstraint(f"status IN ({listed})", name="status"),
            sa.CheckConstraint("attempts >= 0", name="attempts"),
            sa.Index(f"ix_{table}_status_next_attempt_at", "status", "next_attempt_at"))
