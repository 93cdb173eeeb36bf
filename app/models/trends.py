"""Incident records (警情) and the seasonal-focus proposals built on their trends."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import utcnow

PROPOSAL_STATUSES = ("proposed", "accepted", "rejected")


class IncidentType(Model):
    """A kind of incident (电信诈骗, 盗窃, …) and the indicators its season should weigh more."""

    __tablename__ = "incident_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30), unique=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    # Indicator codes of the assessment catalogue linked to this type (e.g. fraud → 反诈防范).
    indicators: Mapped[list] = mapped_column(sa.JSON, default=list)


class Incident(Model):
    """One incident record from the dispatch system; ``external_id`` makes a re-send an update."""

    __tablename__ = "incident"
    __table_args__ = (
        sa.CheckConstraint("arrived_at IS NULL OR arrived_at >= received_at", name="arrival_after_receipt"),
        sa.CheckConstraint("closed_at IS NULL OR closed_at >= received_at", name="closed_after_receipt"),
        sa.Index("ix_incident_month_type_unit", "month", "incident_type_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    incident_type_id: Mapped[int] = mapped_column(sa.ForeignKey("incident_type.id"))
    received_at: Mapped[datetime]  # UTC
    # First day of the month the incident was received in, in the bureau's time zone.
    month: Mapped[date]
    dispatched_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    is_preventable: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    incident_type: Mapped[IncidentType] = relationship()


class TrendProposal(Model):
    """A proposed seasonal multiplier for one indicator of a draft cycle, with its reason."""

    __tablename__ = "trend_proposal"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "indicator_code"),
        sa.CheckConstraint("status IN ('proposed', 'accepted', 'rejected')", name="status"),
        sa.CheckConstraint("proposed_multiplier > 0 AND (multiplier IS NULL OR multiplier > 0)", name="multiplier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    incident_type_id: Mapped[int] = mapped_column(sa.ForeignKey("incident_type.id"))
    indicator_code: Mapped[str] = mapped_column(sa.String(40))
    proposed_multiplier: Mapped[float]
    # What the office accepted (its own edit, or the proposed value); None until decided.
    multiplier: Mapped[float | None]
    reason: Mapped[str] = mapped_column(sa.Text)
    # The figures behind the reason, for the chart and the table: expected, interval, index, …
    evidence: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(10), default="proposed", server_default="proposed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    incident_type: Mapped[IncidentType] = relationship()
