"""The path of a cycle's result from computed to final: the approving committee, each round of
approval of a run (submitted → returned | 公示 → final) and the approvers' decisions."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:
    from .assessment import ScoreRun
    from .auth import User
    from .cycle import Cycle
    from .org import Officer, Unit

APPROVAL_STATUSES = ("submitted", "returned", "notice", "final", "superseded")
ACTIVE_APPROVAL = "status IN ('submitted', 'notice')"
DECISIONS = ("approve", "return")


class CalendarDay(Model):
    """A day the office entered into the holiday calendar (节假日日历): a holiday (休) or an adjusted
    working day (调休上班, 班). It overrides the installed chinese-calendar, and is how a year that
    package does not know yet gets its working days."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CommitteeMember(Model):
    """A named approver of results (考评委员会): for one cycle, or for the installation when
    ``cycle_id`` is NULL. A cycle with members of its own uses only those."""

    __tablename__ = "committee_member"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "user_id"),
        # NULLs never collide in the unique key above: one installation-wide row per user.
        sa.Index("uq_committee_member_installation", "user_id", unique=True,
                 sqlite_where=sa.text("cycle_id IS NULL"), postgresql_where=sa.text("cycle_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped["User"] = relationship()


class ResultApproval(Model):
    """One round of a run on the path to final. Submitting makes a round ("submitted"); every
    approver's approval opens the public notice ("notice", 公示, ``notice_days`` working days from
    ``notice_starts_on`` to ``notice_ends_on``); one return ends the round ("returned"); after the
    notice, final publishes the run. At most one active round per cycle (partial unique index)."""

    __tablename__ = "result_approval"
    __table_args__ = (
        sa.CheckConstraint("status IN ('submitted', 'returned', 'notice', 'final', 'superseded')", name="status"),
        sa.CheckConstraint("notice_days >= 1 AND notice_days <= 30", name="notice_days"),
        sa.CheckConstraint("required_approvals >= 1", name="required"),
        sa.CheckConstraint("approvals >= 0 AND approvals <= required_approvals", name="approvals"),
        sa.CheckConstraint("status NOT IN ('notice', 'final') OR (approvals = required_approvals"
                           " AND notice_starts_on IS NOT NULL AND notice_ends_on >= notice_starts_on)",
                           name="notice_dates"),
        sa.CheckConstraint("status <> 'final' OR finalized_at IS NOT NULL", name="finalized"),
        sa.Index("uq_result_approval_active_cycle", "cycle_id", unique=True,
                 sqlite_where=sa.text(ACTIVE_APPROVAL), postgresql_where=sa.text(ACTIVE_APPROVAL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("score_run.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="submitted", server_default="submitted")
    # The committee when submitted (user ids): later changes to the committee do not move a round.
    approver_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    required_approvals: Mapped[int]
    approvals: Mapped[int] = mapped_column(default=0, server_default="0")
    notice_days: Mapped[int] = mapped_column(default=5, server_default="5")
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    return_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    notice_starts_on: Mapped[date | None]
    notice_ends_on: Mapped[date | None]
    finalized_at: Mapped[datetime | None]

    run: Mapped["ScoreRun"] = relationship()
    cycle: Mapped["Cycle"] = relationship()
    submitted_by: Mapped["User | None"] = relationship()
    decisions: Mapped[list["ApprovalDecision"]] = relationship(
        back_populates="approval", order_by="ApprovalDecision.decided_at")


class ApprovalDecision(Model):
    """An approver's decision in a round: once per approver and round (unique key)."""

    __tablename__ = "approval_decision"
    __table_args__ = (
        sa.UniqueConstraint("approval_id", "approver_id"),
        sa.CheckConstraint("decision IN ('approve', 'return')", name="decision"),
        sa.CheckConstraint("decision <> 'return' OR length(reason) > 0", name="return_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(sa.ForeignKey("result_approval.id"), index=True)
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    decision: Mapped[str] = mapped_column(sa.String(8))
    reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    approval: Mapped[ResultApproval] = relationship(back_populates="decisions")
    approver: Mapped["User"] = relationship()


OBJECTION_ITEMS = ("indicator", "soft", "grade", "rank")
OBJECTION_STATUSES = ("open", "accepted", "rejected")
OPEN_OBJECTION = "status = 'open'"
EVIDENCE_TYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class Objection(Model):
    """An objection (申诉) filed during the notice against one item of one subject's result: a
    station (filed by its leader) or an officer (filed by themself). One open objection per cycle,
    subject and item (partial unique index). The office answers it (复核) by a deadline."""

    __tablename__ = "objection"
    __table_args__ = (
        sa.CheckConstraint("(unit_id IS NULL) <> (officer_id IS NULL)", name="one_subject"),
        sa.CheckConstraint("item_kind IN ('indicator', 'soft', 'grade', 'rank')", name="item_kind"),
        sa.CheckConstraint("status IN ('open', 'accepted', 'rejected')", name="status"),
        sa.CheckConstraint("length(reason) > 0", name="reason"),
        sa.CheckConstraint("status = 'open' OR (length(reply) > 0 AND answered_at IS NOT NULL)", name="answered"),
        sa.Index("uq_objection_open_item", "cycle_id", "subject_key", "item_kind", "item_code", unique=True,
                 sqlite_where=sa.text(OPEN_OBJECTION), postgresql_where=sa.text(OPEN_OBJECTION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    approval_id: Mapped[int] = mapped_column(sa.ForeignKey("result_approval.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"))
    subject_key: Mapped[str] = mapped_column(sa.String(24))  # "u<id>" | "o<id>"
    item_kind: Mapped[str] = mapped_column(sa.String(10))
    item_code: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="open", server_default="open")
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    reply: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None]
    # The run version an accepted correction made (its reason names this objection).
    correction_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("score_run.id"))

    approval: Mapped[ResultApproval] = relationship(foreign_keys=[approval_id])
    cycle: Mapped["Cycle"] = relationship()
    unit: Mapped["Unit | None"] = relationship()
    officer: Mapped["Officer | None"] = relationship()
    filed_by: Mapped["User"] = relationship(foreign_keys=[filed_by_id])
    evidence: Mapped[list["ObjectionEvidence"]] = relationship(back_populates="objection",
                                                               order_by="ObjectionEvidence.id")


class ObjectionEvidence(Model):
    """An evidence file of an objection, kept in the database (served only to those who may see
    the objection)."""

    __tablename__ = "objection_evidence"
    __table_args__ = (
        sa.CheckConstraint("size > 0 AND size <= 5242880", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(sa.ForeignKey("objection.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    objection: Mapped[Objection] = relationship(back_populates="evidence")


class TalkRecord(Model):
    """A talk (约谈) with a flagged unit's head after a final annual result, and any position
    change (岗位调整), with a follow-up date; open follow-ups show on the unit's dashboard."""

    __tablename__ = "talk_record"
    __table_args__ = (
        sa.CheckConstraint("length(held_by) > 0 AND length(with_whom) > 0", name="people"),
        sa.CheckConstraint("follow_up_on IS NULL OR follow_up_on >= held_on", name="follow_up"),
        sa.CheckConstraint("follow_up_done_at IS NULL OR follow_up_on IS NOT NULL", name="done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)  # the later flagged year
    held_on: Mapped[date]
    held_by: Mapped[str] = mapped_column(sa.String(200))
    with_whom: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    position_change: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    follow_up_on: Mapped[date | None]
    follow_up_done_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped["Unit"] = relationship()
    cycle: Mapped["Cycle"] = relationship()


class AwardNomination(Model):
    """A confirmed award nomination (评优) of a cycle from its final result: a unit or an officer
    graded 优秀, within the cycle's award quota. Confirmed once per cycle and subject."""

    __tablename__ = "award_nomination"
    __table_args__ = (
        sa.CheckConstraint("(unit_id IS NULL) <> (officer_id IS NULL)", name="one_subject"),
        sa.UniqueConstraint("cycle_id", "subject_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("score_run.id"))
    result_id: Mapped[int] = mapped_column(sa.ForeignKey("score_result.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"))
    subject_key: Mapped[str] = mapped_column(sa.String(24))
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped["Unit | None"] = relationship()
    officer: Mapped["Officer | None"] = relationship()


DEVELOPMENT_TRACKS = ("training", "improvement")
REVIEW_STATUSES = ("open", "on_track", "achieved", "not_achieved")


class DevelopmentRecord(Model):
    """The dual track (绩效+发展) as records from a final result: priority training for the best,
    an improvement plan for the weakest, each with an owner, goals, a deadline and a review status
    followed over the next cycle. One per cycle, officer and track."""

    __tablename__ = "development_record"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "officer_id", "track"),
        sa.CheckConstraint("track IN ('training', 'improvement')", name="track"),
        sa.CheckConstraint("review_status IN ('open', 'on_track', 'achieved', 'not_achieved')", name="review_status"),
        sa.CheckConstraint("length(owner) > 0 AND length(goals) > 0", name="owner_goals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), index=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("score_run.id"))
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"), index=True)
    track: Mapped[str] = mapped_column(sa.String(12))
    owner: Mapped[str] = mapped_column(sa.String(200))
    goals: Mapped[str] = mapped_column(sa.Text)
    deadline_on: Mapped[date]
    review_status: Mapped[str] = mapped_column(sa.String(12), default="open", server_default="open")
    review_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    reviewed_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    officer: Mapped["Officer"] = relationship()
