"""Stored report figures: the 360 reliability of a cycle, computed once from its answers so that the
bureau overview never has to load every answer."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow


class ReliabilityReport(Model):
    """ICC(1), ICC(1,k) and Cronbach's alpha per competency × rater group of one cycle's 360 answers.

    ``answers`` is the number of submitted answers the figures were computed from: when the cycle
    has more (or fewer) now, the page says the figures are out of date.
    """

    __tablename__ = "reliability_report"
    __table_args__ = (sa.CheckConstraint("answers >= 0", name="answers"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("cycle.id"), unique=True)
    answers: Mapped[int]
    # {"rows": [{"code", "name", "group", "icc1", "icc1k", "alpha", "n_targets", "n_forms"}]}
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
