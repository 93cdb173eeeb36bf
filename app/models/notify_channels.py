"""Messages outside the app: each user's choice of channels, and the SMS sent to residents."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .base import OutgoingMessage, outgoing_message_rules, utcnow

RESIDENT_SMS_PURPOSES = ("invite", "reminder")
RESIDENT_SMS_STATUSES = ("queued", "sent", "retrying", "failed", "given_up", "cancelled")


class NotificationPreference(Model):
    """A user's choice for one kind of message and one channel; no row means "send" (the default)."""

    __tablename__ = "notification_preference"
    __table_args__ = (sa.CheckConstraint("channel IN ('sms', 'email')", name="channel"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    is_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))


class ResidentContact(Model):
    """How to reach the resident of one batch invitation, kept only while a message may still go.

    ``phone`` and ``sealed_token`` (the link's token encrypted with the app's secret key,
    app.residents.sms) are erased once the invitation is answered, revoked or expired, or its last
    message is done; ``erased_at`` says when.
    """

    __tablename__ = "resident_contact"

    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("resident_invitation.id", ondelete="CASCADE"),
                                               primary_key=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    sealed_token: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]


class ResidentSms(OutgoingMessage, Model):
    """One SMS to a resident: the invitation, or the one reminder. Never the link's token in here."""

    __tablename__ = "resident_sms"
    __table_args__ = (
        sa.UniqueConstraint("invitation_id", "purpose"),
        sa.CheckConstraint("purpose IN ('invite', 'reminder')", name="purpose"),
        *outgoing_message_rules("resident_sms", RESIDENT_SMS_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("resident_invitation.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(sa.String(10))
