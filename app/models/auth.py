"""Login accounts and their roles."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import Model, db  # noqa: F401 - db.Model is Model at run time; either may be subclassed
from .base import utcnow

if TYPE_CHECKING:  # the classes string annotations name; imported for the type checker only
    from .org import Officer

# "province": the province's office, sees every bureau side by side and changes nothing.
ROLES = ("admin", "coordinator", "supervisor", "officer", "province")


class UserRole(Model):
    __tablename__ = "user_role"
    __table_args__ = (
        sa.CheckConstraint("role IN ('admin', 'coordinator', 'supervisor', 'officer', 'province')", name="role"),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(16), primary_key=True)


class User(UserMixin, Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("officer.id"), unique=True)
    # The bureau an admin or coordinator works for: they see and change only it (app.scope).
    # NULL = the whole installation (an installation admin); an officer's account follows its unit.
    bureau_id: Mapped[int | None] = mapped_column(sa.ForeignKey("unit.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(
        "is_active", default=True, server_default=sa.text("true")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped on logout, password change and deactivation: every session and remember cookie of
    # this user carries the version it was issued with (get_id) and stops working once it differs.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # Set when someone else chose the password (create-admin, an admin): the user must choose their own.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.text("false"))
    # The language messages sent outside a request (SMS, e-mail) are written in: the last one the user chose.
    language: Mapped[str] = mapped_column(sa.String(8), default="zh", server_default="zh")
    # Where messages outside the app go (app.notify.channels); the user and an admin may edit them,
    # nobody else sees them.
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254))

    officer: Mapped["Officer | None"] = relationship(back_populates="user")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=UserRole.role
    )

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    @roles.setter
    def roles(self, roles) -> None:
        wanted = set(roles)
        unknown = wanted - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            UserRole(role=r) for r in sorted(wanted - self.roles)
        ]

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_account

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Every session and remember cookie issued before this call stops working."""
        self.session_version = (self.session_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def display_name(self) -> str:
        return self.officer.name if self.officer else self.username

    def __repr__(self) -> str:
        return f"<User {self.username}>"
