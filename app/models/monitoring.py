"""Live monitoring: response-time targets per station category, and the monthly self-check (月自查)
with its items, evidence files (台账) and rectification items (整改项)."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .org import Unit

# Minutes from receipt to arrival a station of each category should meet, until the office sets its own.
DEFAULT_RESPONSE_MINUTES = {1: 10, 2: 15, 3: 20}


class ResponseTarget(Model):
    """Target minutes from receipt to arrival for the stations of one category (一类/二类/三类)."""

    __tablename__ = "response_target"
    __table_args__ = (
        sa.CheckConstraint("category IN (1, 2, 3)", name="category"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 240", name="minutes"),
    )

    category: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    minutes: Mapped[int]


SELF_CHECK_STATUSES = ("draft", "submitted", "returned", "accepted")
RECTIFICATION_STATUSES = ("open", "closed")
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


class SelfCheck(Model):
    """A station's monthly self-check (月自查): draft → submitted → returned → submitted … → accepted."""

    __tablename__ = "self_check"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "month"),
        sa.CheckConstraint("status IN ('draft', 'submitted', 'returned', 'accepted')", name="status"),
        sa.CheckConstraint("status <> 'returned' OR return_reason <> ''", name="returned_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    month: Mapped[date]  # first day of the bureau-local month
    status: Mapped[str] = mapped_column(sa.String(10), default="draft", server_default="draft")
    # Bumped by every state move; conditional UPDATEs on (id, status) make the moves atomic.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    summary: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    return_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    times_returned: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    # The first submission (kept through returns): whether the station met the due day. NULL for
    # checks submitted, returned and resubmitted before it was kept (their first time is not known).
    first_submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    unit: Mapped["Unit"] = relationship()  # noqa: F821
    items: Mapped[list[SelfCheckItem]] = relationship(back_populates="check", cascade="all, delete-orphan",
                                                      order_by="SelfCheckItem.id")

    @property
    def is_editable(self) -> bool:
        return self.status in ("draft", "returned")


class SelfCheckItem(Model):
    """One indicator of a self-check: the live value and target when taken, the leader's score and
    comment, and the office's verified score."""

    __tablename__ = "self_check_item"
    __table_args__ = (
        sa.UniqueConstraint("self_check_id", "code"),
        sa.CheckConstraint("light IN ('green', 'amber', 'red', 'none')", name="light"),
        sa.CheckConstraint("self_score IS NULL OR (self_score >= 0 AND self_score <= 100)", name="self_score"),
        sa.CheckConstraint("verified_score IS NULL OR (verified_score >= 0 AND verified_score <= 100)",
                           name="verified_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    self_check_id: Mapped[int] = mapped_column(sa.ForeignKey("self_check.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(100))
    unit_of_measure: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    direction: Mapped[str] = mapped_column(sa.String(8), default="higher", server_default="higher")
    live_value: Mapped[float | None]
    target: Mapped[float | None]
    light: Mapped[str] = mapped_column(sa.String(5), default="none", server_default="none")
    source: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    self_score: Mapped[float | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    verified_score: Mapped[float | None]

    check: Mapped[SelfCheck] = relationship(back_populates="items")

    @property
    def gap(self) -> float | None:
        if self.self_score is None or self.verified_score is None:
            return None
        return self.self_score - self.verified_score


class Evidence(Model):
    """A 台账 file attached to a self-check (or one of its items or rectifications), kept in the database."""

    __tablename__ = "evidence"
    __table_args__ = (
        sa.CheckConstraint(f"size > 0 AND size <= {EVIDENCE_MAX_BYTES}", name="size"),
        sa.CheckConstraint("content_type IN ('application/pdf', 'image/jpeg', 'image/png', "
                           "'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')",
                           name="content_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    self_check_id: Mapped[int] = mapped_column(sa.ForeignKey("self_check.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("self_check_item.id", ondelete="CASCADE"))
    rectification_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rectification.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Model):
    """A rectification item (整改项) for an indicator below target: what, who, by when; closed with a note."""

    __tablename__ = "rectification"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.CheckConstraint("status = 'open' OR (closed_at IS NOT NULL AND close_note <> '')", name="closed_has_note"),
        sa.Index("ix_rectification_unit_status_due", "unit_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    self_check_id: Mapped[int] = mapped_column(sa.ForeignKey("self_check.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("self_check_item.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    what: Mapped[str] = mapped_column(sa.Text)
    owner: Mapped[str] = mapped_column(sa.String(50))
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(6), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    close_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    item: Mapped[SelfCheckItem] = relationship()
    unit: Mapped["Unit"] = relationship()  # noqa: F821


class DerivedIndicator(Model):
    """An indicator code the office has marked as derived from the records (``monitoring.derived``):
    the data pool refuses imports of it, naming the records it comes from."""

    __tablename__ = "derived_indicator"

    code: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class Connector(Model):
    """A pull connector: fetches new and changed records of one kind from a business system since its
    watermark. The watermark moves only after a pull whose every row was stored."""

    __tablename__ = "connector"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('incidents', 'cases')", name="kind"),
        sa.CheckConstraint("interval_minutes >= 1 AND interval_minutes <= 1440", name="interval"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    url: Mapped[str] = mapped_column(sa.String(500))
    # The bearer token for the business system, sealed (app.sealing); None when there is none.
    sealed_token: Mapped[str | None] = mapped_column(sa.Text)
    interval_minutes: Mapped[int] = mapped_column(default=15, server_default="15")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    watermark: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    last_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    last_created: Mapped[int] = mapped_column(default=0, server_default="0")
    last_updated: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
