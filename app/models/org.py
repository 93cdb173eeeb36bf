"""The organisation: units (bureau → station / police-type unit → squad) and officers."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import get_history, set_committed_value

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
        # A bureau is its own bureau (NULL only for the instant between its INSERT and the UPDATE
        # that sets its id, see _bureau_after_insert).
        sa.CheckConstraint("kind <> 'bureau' OR bureau_id IS NULL OR bureau_id = id", name="bureau_own"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[int | None] = mapped_column(sa.SmallInteger)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    # The bureau (root of the tree) this unit belongs to, kept by the events below on insert and move:
    # what scopes rankings, catalogues and who may see the unit (app.scope). A bureau points at itself;
    # NULL only for a unit with no bureau above it (an installation that never made one).
    bureau_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Residents of a station's area (辖区常住人口), for indicators counted per 10,000 residents.
    population: Mapped[int | None]

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children",
                                               foreign_keys=[parent_id])
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code",
                                                foreign_keys=[parent_id])
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


_SUBTREE = sa.text(
    "WITH RECURSIVE sub(id) AS (SELECT id FROM unit WHERE parent_id = :root AND kind <> 'bureau'"
    " UNION SELECT u.id FROM unit u JOIN sub ON u.parent_id = sub.id WHERE u.kind <> 'bureau')"
    " UPDATE unit SET bureau_id = :bureau WHERE id IN (SELECT id FROM sub)")


def _bureau_above(connection, parent_id: int | None) -> int | None:
    if parent_id is None:
        return None
    row = connection.execute(sa.select(Unit.bureau_id).where(Unit.id == parent_id)).first()
    return row[0] if row else None


@event.listens_for(Unit, "before_insert")
def _bureau_before_insert(mapper, connection, unit: Unit) -> None:
    """Every unit but a bureau takes its parent's bureau (the parent is flushed first)."""
    if unit.kind != "bureau":
        unit.bureau_id = _bureau_above(connection, unit.parent_id)


@event.listens_for(Unit, "after_insert")
def _bureau_after_insert(mapper, connection, unit: Unit) -> None:
    if unit.kind == "bureau" and unit.bureau_id != unit.id:
        connection.execute(sa.update(Unit).where(Unit.id == unit.id).values(bureau_id=unit.id))
        set_committed_value(unit, "bureau_id", unit.id)


@event.listens_for(Unit, "before_update")
def _bureau_before_update(mapper, connection, unit: Unit) -> None:
    """A unit moved under another bureau (or made a bureau) takes its whole subtree along."""
    if not (get_history(unit, "parent_id").has_changes() or get_history(unit, "kind").has_changes()):
        return
    bureau = unit.id if unit.kind == "bureau" else _bureau_above(connection, unit.parent_id)
    if bureau != unit.bureau_id:
        unit.bureau_id = bureau
        connection.execute(_SUBTREE, {"root": unit.id, "bureau": bureau})
