"""A user's channels for each kind of message, and the addresses messages go to."""
from __future__ import annotations

import sqlalchemy as sa

from ..audit import record
from ..extensions import db
from ..models import NotificationPreference, User
from .kinds import KINDS


def choices(user: User) -> dict[tuple[str, str], bool]:
    """(kind, channel) → whether the user gets it, for every channel each kind allows."""
    stored = {(p.kind, p.channel): p.is_enabled for p in db.session.execute(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == user.id)).scalars()}
    return {(kind, channel): stored.get((kind, channel), True)
            for kind, entry in KINDS.items() for channel in entry.channels}


def save_preferences(user: User, mobile: str, email: str, enabled: set[tuple[str, str]]) -> None:
    """Store the user's addresses and, for each (kind, channel) the kinds allow, whether it is on."""
    set_contact(user, mobile, email)
    db.session.execute(sa.delete(NotificationPreference).where(NotificationPreference.user_id == user.id))
    db.session.add_all(NotificationPreference(user_id=user.id, kind=kind, channel=channel,
                                              is_enabled=(kind, channel) in enabled)
                       for kind, entry in KINDS.items() for channel in entry.channels)
    db.session.flush()


def set_contact(user: User, mobile: str, email: str) -> None:
    """Change the user's mobile and e-mail (already checked); the audit log says that, not the values."""
    changed = {name: bool(new) for name, old, new in (("mobile", user.mobile, mobile), ("email", user.email, email))
               if (old or "") != (new or "")}
    user.mobile, user.email = mobile or None, email or None
    if changed:
        record("user_contact_saved", "user", user.id, after=changed)
