"""Assessment cycles and their status machine."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

CYCLE_KINDS = ("month", "quarter", "year")
CYCLE_STATUSES = ("draft", "open", "closed", "published")
# The only moves a cycle's status may make.
CYCLE_TRANSITIONS = {"draft": "open", "open": "closed", "closed": "published"}


class Cycle(Model):
    __tablename__ = "cycle"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('month', 'quarter', 'year')", name="kind"),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed', 'published')", name="status"),
        sa.CheckConstraint("ends_on >= starts_on", name="dates"),
        sa.UniqueConstraint("bureau_id", "kind", "starts_on"),
        # NULL bureau = an installation-wide cycle (all units); at most one per kind and start too.
        sa.Index("uq_cycle_installation_kind_starts_on", "kind", "starts_on", unique=True,
                 sqlite_where=sa.text("bureau_id IS NULL"), postgresql_where=sa.text("bureau_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The bureau whose units and officers the cycle assesses (rankings, grades, bonuses and 约谈 are
    # per bureau); NULL = every unit of the installation, as before bureaus were separated.
    bureau_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # Last day on which officers may submit ratings; defaults to the cycle's end.
    deadline_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(10), default="draft", server_default="draft")
    # Weights, thresholds and points rules; frozen once the cycle opens.
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]

    @property
    def is_frozen(self) -> bool:
        return self.status != "draft"

    @property
    def next_status(self) -> str | None:
        return CYCLE_TRANSITIONS.get(self.status)

    @property
    def effective_deadline(self) -> date:
        return self.deadline_on or self.ends_on

    def __repr__(self) -> str:
        return f"<Cycle {self.name} {self.status}>"
