"""Resident satisfaction feedback: service types, single-use invitations, answers, follow-ups.

Privacy by construction: an answer has no IP address, user agent, phone number or time of day;
``answered_on`` is a date. An invitation keeps only the SHA-256 hash of its token.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .auth import User
    from .org import Officer, Unit

RESIDENT_CHANNELS = ("link", "window")
RESOLVED_CHOICES = ("yes", "partly", "no")
FOLLOW_UP_STATUSES = ("open", "checked", "fixed")

invitation_officer = sa.Table(
    "resident_invitation_officer",
    db.metadata,
    sa.Column("invitation_id", sa.ForeignKey("resident_invitation.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("officer_id", sa.ForeignKey("officer.id"), primary_key=True, index=True),
)


class ServiceType(Model):
    """A kind of contact with residents (110 接处警, 窗口办事, ...); sensitive ones are never invited."""

    __tablename__ = "service_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    is_sensitive: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ServiceType {self.name}>"


class ResidentInvitation(Model):
    """One single-use link sent to a resident after a contact."""

    __tablename__ = "resident_invitation"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expiry"),
        sa.CheckConstraint("source IN ('staff', 'batch')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 hex of the token; the token itself exists only in the link the resident holds.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    service_type_id: Mapped[int] = mapped_column(sa.ForeignKey("service_type.id"), index=True)
    reference: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    source: Mapped[str] = mapped_column(sa.String(10), default="staff", server_default="staff")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    service_type: Mapped[ServiceType] = relationship()
    unit: Mapped["Unit"] = relationship()
    officers: Mapped[list["Officer"]] = relationship(
        secondary=invitation_officer, order_by="Officer.badge_no")
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])

    def state(self, now: datetime) -> str:
        """'used', 'revoked', 'expired' or 'pending' at ``now`` (naive UTC)."""
        return invitation_state(self.used_at, self.revoked_at, self.expires_at, now)

    def staff_state(self, now: datetime) -> str:
        """What staff see: 'revoked', 'open' (within its validity) or 'ended' (expired), never whether
        it was answered: that would tie an answer to the resident the invitation was made for."""
        if self.revoked_at is not None:
            return "revoked"
        return "open" if now < self.expires_at else "ended"

    def __repr__(self) -> str:
        return f"<ResidentInvitation {self.id}>"


def invitation_state(used_at: datetime | None, revoked_at: datetime | None, expires_at: datetime,
                     now: datetime) -> str:
    """'used', 'revoked', 'expired' or 'pending' at ``now`` (naive UTC), from the columns alone
    (the resident page reads them without loading the ORM object)."""
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    if expires_at <= now:
        return "expired"
    return "pending"


class ResidentResponse(Model):
    """A resident's answer. Link answers point at their invitation (one answer per invitation)."""

    __tablename__ = "resident_response"
    __table_args__ = (
        sa.CheckConstraint("channel IN ('link', 'window')", name="channel"),
        sa.CheckConstraint(
            "(channel = 'link' AND invitation_id IS NOT NULL) OR (channel = 'window' AND invitation_id IS NULL)",
            name="channel_invitation",
        ),
        sa.CheckConstraint("overall BETWEEN 1 AND 4", name="overall"),
        sa.CheckConstraint("attitude BETWEEN 1 AND 4", name="attitude"),
        sa.CheckConstraint("efficiency BETWEEN 1 AND 4", name="efficiency"),
        sa.CheckConstraint("fairness BETWEEN 1 AND 4", name="fairness"),
        sa.CheckConstraint("resolved IN ('yes', 'partly', 'no')", name="resolved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # UNIQUE: the database itself refuses a second answer to one link, whatever races above it.
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resident_invitation.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    service_type_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_type.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    answered_on: Mapped[date] = mapped_column(index=True)  # day precision on purpose
    overall: Mapped[int] = mapped_column(sa.SmallInteger)  # 4 很满意 … 1 不满意
    attitude: Mapped[int] = mapped_column(sa.SmallInteger)
    efficiency: Mapped[int] = mapped_column(sa.SmallInteger)
    fairness: Mapped[int] = mapped_column(sa.SmallInteger)
    resolved: Mapped[str] = mapped_column(sa.String(10))
    comment: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The resident's own choice on the form (default no): only then may staff see which business
    # (reference, officers served, day) the answer is about and contact them about it.
    may_contact: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))

    invitation: Mapped[ResidentInvitation | None] = relationship()
    unit: Mapped["Unit"] = relationship()
    service_type: Mapped[ServiceType | None] = relationship()


class FollowUp(Model):
    """A dissatisfied or flagged answer that the served unit's leader checks (核查) and fixes (整改)."""

    __tablename__ = "resident_follow_up"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'checked', 'fixed')", name="status"),
        sa.CheckConstraint("due_on >= opened_on", name="due"),
        sa.CheckConstraint("is_dissatisfied OR flagged_words <> ''", name="reason"),
        sa.CheckConstraint("status = 'open' OR check_note <> ''", name="checked_has_note"),
        sa.CheckConstraint("status <> 'fixed' OR fix_note <> ''", name="fixed_has_note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("resident_response.id"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    is_dissatisfied: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    flagged_words: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(sa.String(10), default="open", server_default="open", index=True)
    opened_on: Mapped[date]
    # The last working day for the fix, fixed when the item opens (working days from the config then).
    due_on: Mapped[date] = mapped_column(index=True)
    check_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    checked_at: Mapped[datetime | None]
    checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    fix_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    fixed_at: Mapped[datetime | None]
    fixed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    response: Mapped[ResidentResponse] = relationship()
    unit: Mapped["Unit"] = relationship()
    checked_by: Mapped["User | None"] = relationship(foreign_keys=[checked_by_id])
    fixed_by: Mapped["User | None"] = relationship(foreign_keys=[fixed_by_id])

    def is_overdue(self, today: date) -> bool:
        return self.status != "fixed" and today > self.due_on

    @property
    def was_fixed_late(self) -> bool:
        """Fixed after its due day (by the bureau's calendar): the 逾期 mark is kept as 逾期办结."""
        from ..localtime import to_local

        return self.status == "fixed" and self.fixed_at is not None and to_local(self.fixed_at).date() > self.due_on


class FlagKeyword(Model):
    """A word that, found in a comment, opens a follow-up (态度差, 推诿, 吃拿卡要, ...)."""

    __tablename__ = "resident_flag_keyword"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(sa.String(30), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
