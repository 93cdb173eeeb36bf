"""Live monitoring settings: the response-time target (警情处置时效) per station category."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# Minutes from receipt to arrival a station of each category should meet, until the office sets its own.
DEFAULT_RESPONSE_MINUTES = {1: 10, 2: 15, 3: 20}


class ResponseTarget(db.Model):
    """Target minutes from receipt to arrival for the stations of one category (一类/二类/三类)."""

    __tablename__ = "response_target"
    __table_args__ = (
        sa.CheckConstraint("category IN (1, 2, 3)", name="category"),
        sa.CheckConstraint("minutes > 0 AND minutes <= 240", name="minutes"),
    )

    category: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    minutes: Mapped[int]
