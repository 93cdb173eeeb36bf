"""Cross-unit collaboration claims (协作申报), their confirmations and timeline, and case records.

Shares are stored as integer basis points (hundredths of a percent, 10,000 = 100%) so that sums are
exact; the points arithmetic lives in ``scoring.team``.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .auth import User
    from .cycle import Cycle
    from .org import Officer, Unit

# draft → submitted → (confirmed | disputed) → approved | returned | rejected; returned → submitted;
# merged = closed as a duplicate of another claim of the cycle.
CLAIM_STATUSES = ("draft", "submitted", "confirmed", "disputed", "returned", "approved", "rejected", "merged")
CLAIM_ROLES = ("lead", "assist", "support")  # 主办 / 协办 / 支援
CONFIRMATION_DECISIONS = ("confirmed", "disputed")
CASE_STATUSES = ("open", "closed")  # 在办 / 已结
# 受理 accepted → 立案 filed → 破案/结案 solved → 移送 transferred (to the procuratorate); a case is
# 办结 (done at the station) once solved or transferred.
CASE_STAGES = ("accepted", "filed", "solved", "transferred")
FINAL_STAGES = ("solved", "transferred")
FULL_SHARE_BP = 10_000  # 100% in basis points


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CollaborationClaim(Model):
    __tablename__ = "collaboration_claim"
    __table_args__ = (
        sa.CheckConstraint(_in("status", CLAIM_STATUSES), name="status"),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_self"),
        sa.CheckConstraint("status <> 'merged' OR merged_into_id IS NOT NULL", name="merged_has_target"),
        sa.Index("ix_collaboration_claim_cycle_case_ref", "cycle_id", "case_ref"),
        sa.Index("ix_collaboration_claim_cycle_status", "cycle_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"))
    case_ref: Mapped[str] = mapped_column(sa.String(50))  # 案件编号, stripped and upper-cased
    case_type: Mapped[str] = mapped_column(sa.String(20))
    severity: Mapped[str] = mapped_column(sa.String(20))
    case_date: Mapped[date]
    summary: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    lead_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", server_default="draft")
    # Bumped by every change; conditional UPDATEs on (id, status) make state moves atomic.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collaboration_claim.id"))
    decision_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    cycle: Mapped["Cycle"] = relationship()
    lead_unit: Mapped["Unit"] = relationship()
    filed_by: Mapped["User"] = relationship()
    participants: Mapped[list[ClaimParticipant]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimParticipant.id"
    )
    confirmations: Mapped[list[ClaimConfirmation]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimConfirmation.id"
    )
    events: Mapped[list[ClaimEvent]] = relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimEvent.id"
    )

    @property
    def unit_ids(self) -> list[int]:
        """Participating units in order of first appearance."""
        return list(dict.fromkeys(p.unit_id for p in self.participants))

    @property
    def is_locked(self) -> bool:
        return self.status in ("approved", "rejected", "merged")

    @property
    def is_editable(self) -> bool:
        return self.status in ("draft", "returned")

    def __repr__(self) -> str:
        return f"<CollaborationClaim {self.id} {self.case_ref} {self.status}>"


class ClaimParticipant(Model):
    __tablename__ = "claim_participant"
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "officer_id"),
        sa.CheckConstraint(_in("role", CLAIM_ROLES), name="role"),
        sa.CheckConstraint(f"proposed_bp >= 0 AND proposed_bp <= {FULL_SHARE_BP}", name="proposed_share"),
        sa.CheckConstraint(f"final_bp IS NULL OR (final_bp >= 0 AND final_bp <= {FULL_SHARE_BP})",
                           name="final_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("collaboration_claim.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(10))
    proposed_bp: Mapped[int]  # basis points: 2550 = 25.50%
    final_bp: Mapped[int | None]  # set when the claim is approved

    claim: Mapped[CollaborationClaim] = relationship(back_populates="participants")
    unit: Mapped["Unit"] = relationship()
    officer: Mapped["Officer"] = relationship()

    @property
    def proposed_share(self) -> float:
        return self.proposed_bp / 100

    @property
    def final_share(self) -> float | None:
        return None if self.final_bp is None else self.final_bp / 100


class ClaimConfirmation(Model):
    """A participating unit's leader confirmed or disputed the claim (one decision per unit)."""

    __tablename__ = "claim_confirmation"
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "unit_id"),
        sa.CheckConstraint(_in("decision", CONFIRMATION_DECISIONS), name="decision"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("collaboration_claim.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"))
    decision: Mapped[str] = mapped_column(sa.String(10))
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    claim: Mapped[CollaborationClaim] = relationship(back_populates="confirmations")
    unit: Mapped["Unit"] = relationship()
    user: Mapped["User | None"] = relationship()


class ClaimEvent(Model):
    """One entry of a claim's timeline: who moved it from which status to which, and why."""

    __tablename__ = "claim_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("collaboration_claim.id", ondelete="CASCADE"),
                                          index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str | None] = mapped_column(sa.String(12))
    to_status: Mapped[str] = mapped_column(sa.String(12))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))  # the unit a leader spoke for
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    claim: Mapped[CollaborationClaim] = relationship(back_populates="events")
    user: Mapped["User | None"] = relationship()
    unit: Mapped["Unit | None"] = relationship()


class CaseRecord(Model):
    """A case from the business systems (the data pool); claims are verified against these."""

    __tablename__ = "case_record"
    __table_args__ = (
        sa.CheckConstraint(_in("status", CASE_STATUSES), name="status"),
        sa.CheckConstraint(_in("stage", CASE_STAGES), name="stage"),
        sa.CheckConstraint("(stage IN ('solved', 'transferred')) = (status = 'closed')", name="stage_status"),
        sa.CheckConstraint("filed_on IS NULL OR filed_on >= accepted_on", name="filed_after_accepted"),
        sa.CheckConstraint("solved_on IS NULL OR solved_on >= accepted_on", name="solved_after_accepted"),
        sa.CheckConstraint("transferred_on IS NULL OR transferred_on >= accepted_on",
                           name="transferred_after_accepted"),
        sa.Index("ix_case_record_unit_stage", "unit_id", "stage"),
        sa.Index("ix_case_record_unit_accepted", "unit_id", "accepted_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_ref: Mapped[str] = mapped_column(sa.String(50), unique=True)  # stripped and upper-cased
    case_date: Mapped[date]
    case_type: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    is_preventable: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))  # 可防性
    status: Mapped[str] = mapped_column(sa.String(10), default="open", server_default="open")
    import_batch: Mapped[str] = mapped_column(sa.String(32))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Progress (案件办理进度): the current stage, the date each stage was reached, the statutory
    # deadline of the current stage (None once the case is done) and the officer in charge.
    stage: Mapped[str] = mapped_column(sa.String(12), default="accepted", server_default="accepted")
    accepted_on: Mapped[date]
    filed_on: Mapped[date | None]
    solved_on: Mapped[date | None]
    transferred_on: Mapped[date | None]
    stage_deadline: Mapped[date | None] = mapped_column(index=True)
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"), index=True)

    unit: Mapped["Unit"] = relationship()
    officer: Mapped["Officer | None"] = relationship()

    @property
    def is_done(self) -> bool:
        return self.stage in FINAL_STAGES
