"""360-degree feedback: versioned instruments, rater assignments, responses, answers, nominations.

Who gave which answer is stored (the scoring service needs it); reports never show it.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .org import Officer

RATER_GROUPS = ("self", "peer", "supervisor", "subordinate")
# Relations of an assignment: the four rater groups plus cross-unit collaborators nominated by the
# ratee (they answer the peer questionnaire).
RELATIONS = (*RATER_GROUPS, "collaborator")
ASSIGNMENT_STATUSES = ("pending", "draft", "submitted", "declined")
NOMINATION_STATUSES = ("pending", "approved", "rejected")


class Instrument(Model):
    """One version of a questionnaire for one rater group; frozen once a cycle uses it."""

    __tablename__ = "feedback_instrument"
    __table_args__ = (
        sa.UniqueConstraint("code", "version"),
        sa.CheckConstraint("rater_group IN ('self', 'peer', 'supervisor', 'subordinate')", name="rater_group"),
        sa.CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    version: Mapped[int] = mapped_column(default=1)
    rater_group: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    intro: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # [{"code": "dispute", "name": "矛盾化解", "comment": true}, ...] in display order.
    competencies: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None]

    items: Mapped[list[InstrumentItem]] = relationship(
        back_populates="instrument", order_by="InstrumentItem.position", cascade="all, delete-orphan"
    )

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    def __repr__(self) -> str:
        return f"<Instrument {self.code} v{self.version}>"


class InstrumentItem(Model):
    __tablename__ = "feedback_item"
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "position"),
        sa.CheckConstraint("position >= 1", name="position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_instrument.id", ondelete="CASCADE"),
                                               index=True)
    position: Mapped[int]
    competency: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)
    # Five labels, for the points 1..5.
    scale_labels: Mapped[list] = mapped_column(sa.JSON, default=list)
    allow_na: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))

    instrument: Mapped[Instrument] = relationship(back_populates="items")


class Assignment(Model):
    """``rater`` rates ``ratee`` in ``cycle`` as ``relation``."""

    __tablename__ = "feedback_assignment"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "rater_id", "ratee_id", "relation"),
        sa.CheckConstraint("relation IN ('self', 'peer', 'supervisor', 'subordinate', 'collaborator')",
                           name="relation"),
        sa.CheckConstraint("status IN ('pending', 'draft', 'submitted', 'declined')", name="status"),
        sa.CheckConstraint("(relation = 'self') = (rater_id = ratee_id)", name="self_is_self"),
        sa.CheckConstraint("status <> 'declined' OR relation <> 'self'", name="self_not_declined"),
        sa.Index("ix_feedback_assignment_cycle_rater", "cycle_id", "rater_id"),
        sa.Index("ix_feedback_assignment_cycle_ratee", "cycle_id", "ratee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"))
    ratee_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"))
    relation: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", server_default="pending")
    decline_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    # How it came about: the generated design, an admin's manual addition, or an approved nomination.
    source: Mapped[str] = mapped_column(sa.String(12), default="design", server_default="design")
    # Bumped by every save: a form posted with an older revision (another tab saved first) is refused.
    revision: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    rater: Mapped["Officer"] = relationship(foreign_keys=[rater_id])
    ratee: Mapped["Officer"] = relationship(foreign_keys=[ratee_id])
    response: Mapped[Response | None] = relationship(back_populates="assignment", uselist=False)

    @property
    def rater_group(self) -> str:
        return "peer" if self.relation == "collaborator" else self.relation


class Response(Model):
    """The one response of an assignment (unique), with its answers and comments."""

    __tablename__ = "feedback_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback_assignment.id", ondelete="CASCADE"), unique=True
    )
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_instrument.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]

    assignment: Mapped[Assignment] = relationship(back_populates="response")
    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(cascade="all, delete-orphan")


class Answer(Model):
    __tablename__ = "feedback_answer"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "item_id"),
        sa.CheckConstraint("value IS NULL OR (value >= 1 AND value <= 5)", name="value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_response.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_item.id"), index=True)
    value: Mapped[int | None] = mapped_column(sa.SmallInteger)  # NULL = not applicable


class Comment(Model):
    __tablename__ = "feedback_comment"
    __table_args__ = (sa.UniqueConstraint("response_id", "competency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_response.id", ondelete="CASCADE"))
    competency: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)


class Nomination(Model):
    """An officer asks a colleague from another unit to rate them; their leader decides."""

    __tablename__ = "feedback_nomination"
    __table_args__ = (
        sa.UniqueConstraint("cycle_id", "officer_id", "nominee_id"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        sa.CheckConstraint("officer_id <> nominee_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id", ondelete="CASCADE"), index=True)
    officer_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"), index=True)
    nominee_id: Mapped[int] = mapped_column(sa.ForeignKey("officer.id"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", server_default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    officer: Mapped["Officer"] = relationship(foreign_keys=[officer_id])
    nominee: Mapped["Officer"] = relationship(foreign_keys=[nominee_id])
