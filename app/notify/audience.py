"""Who is told: the active accounts behind officers, unit leaders and roles, each one bounded query."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..extensions import db
from ..models import Officer, User, UserRole


def _active_users():
    return sa.select(User.id).where(User.is_active_account.is_(True))


def unit_leader_users(unit_id: int) -> list[int]:
    """The accounts of the active leaders of one unit (所队领导)."""
    return list(db.session.execute(
        _active_users().join(Officer, Officer.id == User.officer_id)
        .where(Officer.unit_id == unit_id, Officer.is_leader.is_(True), Officer.is_active.is_(True))
    ).scalars())


def leaders_by_unit() -> dict[int, list[int]]:
    """unit id -> the accounts of its active leaders, for a periodic run over many units (one query;
    leaders are a few per unit, so this grows with the units, not the officers)."""
    out: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        sa.select(Officer.unit_id, User.id).join(User, User.officer_id == Officer.id)
        .where(User.is_active_account.is_(True), Officer.is_leader.is_(True), Officer.is_active.is_(True)))
    for unit_id, user_id in rows:
        out[unit_id].append(user_id)
    return out


def role_users(*roles: str, bureau_id: int | None = None) -> list[int]:
    """The active accounts holding any of ``roles`` (coordinators, the office's admins); with ``bureau_id``,
    only that bureau's and the installation-wide ones (another bureau's office is not told)."""
    query = _active_users().join(UserRole, UserRole.user_id == User.id).where(UserRole.role.in_(roles))
    if bureau_id is not None:
        query = query.where(sa.or_(User.bureau_id == bureau_id, User.bureau_id.is_(None)))
    return list(db.session.execute(query.distinct()).scalars())


def officer_user(officer_id: int) -> int | None:
    """The active account of one officer, if any."""
    return db.session.scalar(_active_users().where(User.officer_id == officer_id))
