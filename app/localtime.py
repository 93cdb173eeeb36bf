"""The bureau's clock: times are stored as naive UTC and shown in the bureau's time zone.

One place decides the zone (config ``BUREAU_TIMEZONE``, default Asia/Shanghai); the ``datetime``
template filter, spreadsheet exports and "today" for deadlines all go through it.
"""
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates
from flask import current_app

DEFAULT_ZONE = "Asia/Shanghai"


def bureau_zone() -> tzinfo:
    """The bureau's time zone from the config (``BUREAU_TIMEZONE``)."""
    name = current_app.config.get("BUREAU_TIMEZONE") or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == DEFAULT_ZONE:  # no tz database on the host: China has no daylight saving
            return timezone(timedelta(hours=8))
        raise


def to_local(value: datetime) -> datetime:
    """``value`` (naive UTC, or aware) as an aware datetime in the bureau's zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(bureau_zone())


def local_naive(value: datetime | None) -> datetime | None:
    """``value`` as a naive bureau-local datetime (for spreadsheet cells, which carry no zone)."""
    if value is None:
        return None
    return to_local(value).replace(tzinfo=None)


def format_local(value: datetime | date | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """``value`` shown in the bureau's zone with a CLDR pattern (``yyyy-MM-dd HH:mm``); a plain date
    is shown as it is. Numeric patterns read the same in every language."""
    if value is None:
        return ""
    if not isinstance(value, datetime):
        return dates.format_date(value, fmt, locale="zh")
    return dates.format_datetime(to_local(value), fmt, locale="zh")


def local_today() -> date:
    """Today in the bureau's zone: deadlines, answers and follow-ups follow the local calendar."""
    return datetime.now(bureau_zone()).date()


def local_day_start_utc(day: date) -> datetime:
    """The naive UTC moment the bureau-local ``day`` begins (for comparing stored UTC times with days)."""
    return datetime.combine(day, time(), tzinfo=bureau_zone()).astimezone(UTC).replace(tzinfo=None)
