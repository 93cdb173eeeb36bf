"""Shared column helpers."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC now: every timestamp is stored in UTC without a zone, on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)
