"""Accounts: loading, authenticating and changing passwords."""
import secrets
from functools import lru_cache

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn  # the package ships no type hints (ignored in pyproject)

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import User, utcnow

MIN_PASSWORD_LENGTH = 10
# zxcvbn's 0–4 scale; 3 = "safely unguessable" (about 10^8 guesses and more).
MIN_PASSWORD_SCORE = 3
# Words any attacker of this site tries first, besides the user's own: the platform, the police and
# their pinyin, the emergency number. zxcvbn finds them inside a password, in any case and leet.
CONTEXT_WORDS = ("kaoping", "考评", "gongan", "公安", "jingcha", "警察", "minjing", "民警", "paichusuo", "派出所",
                 "police", "polis", "110", "fenju", "分局", "jingwu", "警务", "zhongguo", "china")


def load_user(user_id: str) -> User | None:
    """Flask-Login loader, on every request: the id carries the session version it was issued with.

    Logout, a password change and deactivation bump the user's version, so every older session and
    remember cookie of that user stops working; a deactivated account loads for no cookie at all.
    """
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, made like real ones: an unknown username costs the same work."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(username: str, password: str) -> User | None:
    """Return the active user with these credentials, or None.

    The password is checked against a hash whether or not the username exists (a dummy one if not)
    and before the account's state, so the answer's timing does not tell which usernames exist.
    """
    user = db.session.execute(db.select(User).filter_by(username=username.strip())).scalar_one_or_none()
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.is_active:
        return None
    user.last_login_at = utcnow()
    return user


def user_words(user: User | None = None, *extra: str) -> list[str]:
    """What a guesser knows about the account: username, name, badge, unit name and code."""
    words = [w for w in extra if w]
    if user is not None:
        words.append(user.username or "")
        officer = user.officer
        if officer is not None:
            words += [officer.name, officer.badge_no]
            if officer.unit is not None:
                words += [officer.unit.name, officer.unit.code]
    return [w for w in words if w]


def check_password_strength(password: str, words=()) -> None:
    """Refuse a password shorter than MIN_PASSWORD_LENGTH or one that a guesser finds quickly:
    common passwords, keyboard walks, dates, and the account's own words (``words``) with the
    police context words, by zxcvbn's estimate (score below MIN_PASSWORD_SCORE)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD_LENGTH), field="password")
    inputs = [w.lower() for w in (*words, *CONTEXT_WORDS) if w]
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_PASSWORD_SCORE:
        raise DomainError(_("这个密码太容易被猜到（常见密码、简单规律、姓名、警号、单位名称或“公安”“110”等词的组合）。"
                            "请改用几个不相关的词或更长、更少见的组合。"), field="password")


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise DomainError(_("当前密码不正确。"), field="current_password")
    if new == current:
        raise DomainError(_("新密码不能与当前密码相同。"), field="password")
    check_password_strength(new, user_words(user))
    user.set_password(new)
    user.must_change_password = False
    record("password_changed", "user", user.id, user_id=user.id)
    db.session.flush()


def reset_password(user: User, new: str) -> User:
    """An admin sets a new password; the user's sessions end and they choose their own at next login."""
    check_password_strength(new, user_words(user))
    user.set_password(new)
    user.must_change_password = True
    record("password_reset", "user", user.id, after={"username": user.username})
    db.session.flush()
    return user


def log_out(user: User) -> None:
    """End every session of ``user``: this browser's, their others and any remember cookie."""
    user.end_sessions()
    db.session.flush()
