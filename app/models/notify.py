"""Notifications: what a user is told, and its delivery outside the app (SMS, e-mail)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .base import OutgoingMessage, outgoing_message_rules, utcnow

DELIVERY_CHANNELS = ("sms", "email")
DELIVERY_STATUSES = ("queued", "sent", "retrying", "failed", "given_up")


class Notification(Model):
    """One thing one user is told, shown under the bell until they read it.

    ``event_key`` names the event (``claim:12:confirm``, ``cycle:7:due:2026-12-01``); it is unique per
    user, so an event repeated by a retry, a second worker or a re-run reminder tells nobody twice.
    ``kind`` picks the message (app.notify.kinds) and ``params`` fills it, so the text is rendered in
    the reader's language when it is shown or sent; ``link`` is a path inside the app, never a token.
    """

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "event_key"),
        sa.Index("ix_notification_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    event_key: Mapped[str] = mapped_column(sa.String(200))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} user={self.user_id}>"


class Delivery(OutgoingMessage, Model):
    """One notification sent through one channel outside the app, with what the provider answered.

    One row per notification and channel: a retry updates the row, so the message cannot go out
    twice through the same channel however many workers pick it up.
    """

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel"),
        sa.CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        *outgoing_message_rules("notification_delivery", DELIVERY_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notification.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(10))


class ReminderSchedule(Model):
    """When the reminders run (one row, id 1): the days before a 360 deadline on which officers who
    still owe ratings are reminded, the bureau-local time of day of the daily run, and its last run."""

    __tablename__ = "reminder_schedule"
    __table_args__ = (
        sa.CheckConstraint("id = 1", name="single"),
        sa.CheckConstraint("run_minute >= 0 AND run_minute < 1440", name="run_minute"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    days_before: Mapped[str] = mapped_column(sa.String(100), default="7,3,1", server_default="7,3,1")
    run_minute: Mapped[int] = mapped_column(default=480, server_default="480")  # minutes after local midnight
    last_run_on: Mapped[date | None]  # the bureau-local day the last run was for
    last_run_at: Mapped[datetime | None]
    last_summary: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    @property
    def days(self) -> list[int]:
        return sorted({int(d) for d in self.days_before.split(",") if d.strip().isdigit()}, reverse=True)
