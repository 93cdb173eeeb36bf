"""Database helpers shared by the services."""
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .errors import DomainError
from .extensions import db


def is_unique_violation(error: IntegrityError) -> bool:
    """SQLite says "UNIQUE constraint failed", PostgreSQL "violates unique constraint"."""
    return "unique" in str(error.orig).lower()


def flush_or_fail(message: str, field: str | None = None) -> None:
    """Flush; turn a broken unique key (also from a racing request) into a DomainError with
    ``message``, and any other broken constraint into a generic one.

    The whole session is rolled back: services change one thing per request, and the view commits
    once at the end, so nothing else is lost.
    """
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if is_unique_violation(error):
            raise DomainError(message, field) from error
        raise DomainError(_("数据不符合规则，未保存。请检查后重试。")) from error
