"""Who changed what, when: one row per change to assessment data."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .auth import User


class AuditLog(Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(sa.String(50))
    entity: Mapped[str] = mapped_column(sa.String(50))
    entity_id: Mapped[str] = mapped_column(sa.String(50))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    user: Mapped["User | None"] = relationship()
