"""The organisation: units (bureau → station / police-type unit → squad) and officers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .auth import User

UNIT_KINDS = ("bureau", "station", "police_type", "squad")
STATION_CATEGORIES = (1, 2, 3)  # 一类 / 二类 / 三类


class Unit(Model):
    __tablename__ = "unit"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('bureau', 'station', 'police_type', 'squad')", name="kind"),
        sa.CheckConstraint(
            "(kind = 'station' AND category IS NOT NULL AND category IN (1, 2, 3))"
            " OR (kind <> 'station' AND category IS NULL)",
            name="category",
        ),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        sa.CheckConstraint("population IS NULL OR population > 0", name="population"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[int | None] = mapped_column(sa.SmallInteger)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Residents of a station's area (辖区常住人口), for indicators counted per 10,000 residents.
    population: Mapped[int | None]

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")
    officers: Mapped[list[Officer]] = relationship(back_populates="unit")

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class Officer(Model):
    __tablename__ = "officer"

    id: Mapped[int] = mapped_column(primary_key=True)
    badge_no: Mapped[str] = mapped_column(sa.String(20), unique=True)  # 警号
    name: Mapped[str] = mapped_column(sa.String(50))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    position: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    is_leader: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="officers")
    user: Mapped[User | None] = relationship(back_populates="officer")

    def __repr__(self) -> str:
        return f"<Officer {self.badge_no}>"
