"""The main assessment: indicator catalogue, the data pool of imported values, API clients and
score runs with their (immutable) results."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .auth import User
    from .cycle import Cycle
    from .org import Officer, Unit

DIMENSIONS = ("law_enforcement", "basic_control", "public_service", "team_management")
LEVELS = ("unit", "officer")
RUN_STATUSES = ("computing", "done", "failed", "published")

_SUBJECT_ONE = "(unit_id IS NULL) <> (officer_id IS NULL)"


class Indicator(Model):
    """One indicator of the catalogue. ``weight`` is its default weight within its dimension at its
    own level; an officer-level indicator with a ``unit_weight`` also counts for units (as the mean
    of the unit's officers) with that weight within the dimension at unit level."""

    __tablename__ = "indicator"
    __table_args__ = (
        sa.CheckConstraint(
            "dimension IN ('law_enforcement', 'basic_control', 'public_service', 'team_management')",
            name="dimension"),
        sa.CheckConstraint("direction IN ('higher', 'lower')", name="direction"),
        sa.CheckConstraint("method IN ('target', 'minmax')", name="method"),
        sa.CheckConstraint("level IN ('unit', 'officer')", name="level"),
        sa.CheckConstraint("method <> 'target' OR (target IS NOT NULL AND target > 0)", name="target"),
        sa.CheckConstraint("weight >= 0 AND weight <= 100", name="weight"),
        sa.CheckConstraint("unit_weight IS NULL OR (level = 'officer' AND unit_weight >= 0 AND unit_weight <= 100)",
                           name="unit_weight"),
        sa.CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="range"),
        sa.CheckConstraint("floor IS NULL OR method <> 'target' OR (direction = 'higher' AND floor < target)"
                           " OR (direction = 'lower' AND floor > target)", name="floor_side"),
        sa.CheckConstraint("NOT per_capita OR level = 'unit'", name="per_capita_unit"),
        sa.UniqueConstraint("bureau_id", "code"),
        sa.Index("uq_indicator_shared_code", "code", unique=True,
                 sqlite_where=sa.text("bureau_id IS NULL"), postgresql_where=sa.text("bureau_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The bureau whose catalogue this is; NULL = the shared catalogue every bureau uses for the codes it
    # has no row of its own for (app.assessment.services.indicators).
    bureau_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(100))
    dimension: Mapped[str] = mapped_column(sa.String(32))
    weight: Mapped[float]
    unit_weight: Mapped[float | None]
    direction: Mapped[str] = mapped_column(sa.String(8), default="higher", server_default="higher")
    unit_of_measure: Mapped[str] = mapped_column(sa.String(20), default="%", server_default="%")
    method: Mapped[str] = mapped_column(sa.String(8), default="target", server_default="target")
    target: Mapped[float | None]
    # The value scoring 0 (method "target"): linear between floor and target.
    floor: Mapped[float | None]
    # Station category → target / floor, e.g. {"1": 30, "3": 12} for a case count.
    category_targets: Mapped[dict | None] = mapped_column(sa.JSON)
    category_floors: Mapped[dict | None] = mapped_column(sa.JSON)
    level: Mapped[str] = mapped_column(sa.String(8), default="unit", server_default="unit")
    is_soft: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    source: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    splits_preventable: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    # A unit-level count scored per 10,000 residents of the station's area.
    per_capita: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    # The range an imported value must lie in (e.g. 0–100 for a rate); NULL = unbounded.
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    sort_order: Mapped[int] = mapped_column(default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Indicator {self.code}>"


class ApiClient(Model):
    """A business system allowed to call /api/v1; only the SHA-256 of its token is kept."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ImportBatch(Model):
    """One accepted import (a file upload or an API call). Rejected imports store nothing."""

    __tablename__ = "import_batch"
    __table_args__ = (
        sa.CheckConstraint("source IN ('upload', 'api')", name="source"),
        sa.CheckConstraint("status IN ('applied')", name="status"),
        sa.CheckConstraint("source <> 'api' OR api_client_id IS NOT NULL", name="api_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32), default="indicator-values", server_default="indicator-values")
    source: Mapped[str] = mapped_column(sa.String(8))
    filename: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_client.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(sa.String(10), default="applied", server_default="applied")
    report: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    created_by: Mapped["User | None"] = relationship()
    api_client: Mapped[ApiClient | None] = relationship()


class IndicatorValue(Model):
    """A value of the data pool for one subject (a unit XOR an officer), indicator and cycle.

    History is kept: a re-import marks the previous value superseded. ``current_slot`` is 1 for
    the current value and NULL otherwise, so the unique key (cycle, indicator, subject,
    current_slot) allows one current value per subject without a partial index (NULLs never
    collide), on SQLite and PostgreSQL alike.
    """

    __tablename__ = "indicator_value"
    __table_args__ = (
        sa.CheckConstraint(_SUBJECT_ONE, name="one_subject"),
        sa.CheckConstraint(
            "(unit_id IS NOT NULL AND subject_key = 'u' || CAST(unit_id AS VARCHAR(20)))"
            " OR (officer_id IS NOT NULL AND subject_key = 'o' || CAST(officer_id AS VARCHAR(20)))",
            name="subject_key"),
        sa.CheckConstraint("(is_current AND current_slot = 1) OR (NOT is_current AND current_slot IS NULL)",
                           name="current_slot"),
        sa.CheckConstraint("is_current OR superseded_by_id IS NOT NULL", name="superseded"),
        sa.CheckConstraint("nonpreventable IS NULL OR nonpreventable >= 0", name="nonpreventable"),
        sa.UniqueConstraint("cycle_id", "indicator_id", "subject_key", "batch_id"),
        sa.UniqueConstraint("cycle_id", "indicator_id", "subject_key", "current_slot"),
        sa.Index("ix_indicator_value_cycle_current", "cycle_id", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"))
    subject_key: Mapped[str] = mapped_column(sa.String(24))
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator.id"))
    value: Mapped[float]
    # Non-preventable case count for an indicator that splits cases by 可防性 (``value`` is then
    # the preventable count).
    nonpreventable: Mapped[float | None]
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("import_batch.id"), index=True)
    is_current: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    current_slot: Mapped[int | None] = mapped_column(sa.SmallInteger, default=1)
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id"))
    superseded_at: Mapped[datetime | None]

    indicator: Mapped[Indicator] = relationship()
    unit: Mapped["Unit | None"] = relationship()
    officer: Mapped["Officer | None"] = relationship()
    batch: Mapped[ImportBatch] = relationship(foreign_keys=[batch_id])

    @staticmethod
    def key_for(unit_id: int | None = None, officer_id: int | None = None) -> str:
        return f"u{unit_id}" if unit_id is not None else f"o{officer_id}"


class ScoreRun(Model):
    """One computation of a cycle's results. Once published it is never changed; a recompute
    makes a new run (with a reason once the cycle has a published result)."""

    __tablename__ = "score_run"
    __table_args__ = (
        sa.CheckConstraint("status IN ('computing', 'done', 'failed', 'published')", name="status"),
        sa.CheckConstraint("(status = 'published') = (published_at IS NOT NULL)", name="published"),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.UniqueConstraint("cycle_id", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    version: Mapped[int]
    inputs_hash: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(10), default="computing", server_default="computing")
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Why the run was published although hard data were missing (audited too).
    publish_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The AssessmentConfig used, the options (roll-up), the missing-data report and progress steps.
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    missing: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    steps: Mapped[list] = mapped_column(sa.JSON, default=list)

    cycle: Mapped["Cycle"] = relationship()
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])
    results: Mapped[list[ScoreResult]] = relationship(back_populates="run", order_by="ScoreResult.id")


class ScoreResult(Model):
    """A subject's result in a run: written once, never updated."""

    __tablename__ = "score_result"
    __table_args__ = (
        sa.CheckConstraint(_SUBJECT_ONE, name="one_subject"),
        sa.CheckConstraint("level IN ('unit', 'officer')", name="level"),
        sa.CheckConstraint("(level = 'unit') = (unit_id IS NOT NULL)", name="level_subject"),
        sa.CheckConstraint("grade IS NULL OR grade IN ('excellent', 'good', 'pass', 'basic_pass', 'fail')",
                           name="grade"),
        sa.CheckConstraint("bonus_cents IS NULL OR bonus_cents >= 0", name="bonus"),
        sa.UniqueConstraint("run_id", "unit_id"),
        sa.UniqueConstraint("run_id", "officer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("score_run.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(8))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"), index=True)
    category: Mapped[int] = mapped_column(sa.SmallInteger)
    total: Mapped[float | None]
    adjusted_total: Mapped[float | None]
    coefficient: Mapped[float]
    rank: Mapped[int | None]
    rank_overall: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(sa.String(12))
    bonus_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    coverage: Mapped[float]
    excluded: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    # {"indicators": [{code, name, dimension, raw, normalised, weight, contribution, shown, details}],
    #  "dimensions": [...], "total_shown": ...}
    breakdown: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    run: Mapped[ScoreRun] = relationship(back_populates="results")
    unit: Mapped["Unit | None"] = relationship()
    officer: Mapped["Officer | None"] = relationship()


class ImmutableResultError(RuntimeError):
    """Raised when code tries to change a published run or any stored result."""


@event.listens_for(ScoreResult, "before_update")
@event.listens_for(ScoreResult, "before_delete")
def _results_are_immutable(mapper, connection, target):
    raise ImmutableResultError("score results are written once and never changed")


@event.listens_for(ScoreRun, "before_update")
@event.listens_for(ScoreRun, "before_delete")
def _published_run_is_immutable(mapper, connection, target):
    state = sa.inspect(target)
    history = state.attrs.status.history
    old = history.deleted[0] if history.deleted else target.status
    if old == "published":
        raise ImmutableResultError("a published score run is never changed")
