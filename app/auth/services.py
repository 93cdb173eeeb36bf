"""Accounts: loading, authenticating and changing passwords."""
from flask_babel import gettext as _

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import User, utcnow

MIN_PASSWORD_LENGTH = 8


def load_user(user_id: str) -> User | None:
    """Flask-Login loader; the id carries the session version so a password change logs out others."""
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version:
        return None
    return user


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = db.session.execute(db.select(User).filter_by(username=username.strip())).scalar_one_or_none()
    if user is None or not user.is_active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    return user


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD_LENGTH), field="password")


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise DomainError(_("当前密码不正确。"), field="current_password")
    check_password_strength(new)
    user.set_password(new)
    record("password_changed", "user", user.id, user_id=user.id)
    db.session.flush()


def reset_password(user: User, new: str) -> User:
    """An admin sets a new password; the user's other sessions end."""
    check_password_strength(new)
    user.set_password(new)
    record("password_reset", "user", user.id, after={"username": user.username})
    db.session.flush()
    return user
