"""Quiet hours: no SMS at night in the bureau's time zone; a message due then waits for the morning."""
from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from flask import current_app

from ..localtime import bureau_zone

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"21:00-08:00"`` → (21:00, 08:00); empty → None (no quiet hours). ValueError when malformed."""
    if not text or not text.strip():
        return None
    match = _SPAN.match(text)
    if not match:
        raise ValueError("expected HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError("hours 0-23, minutes 0-59")
    start, end = time(h1, m1), time(h2, m2)
    return None if start == end else (start, end)


def sms_allowed_from(now: datetime) -> datetime:
    """The first moment at or after ``now`` (naive UTC) when an SMS may go: ``now`` itself outside
    the quiet hours, else the end of them (naive UTC)."""
    span = parse_quiet_hours(current_app.config.get("SMS_QUIET_HOURS") or "")
    if span is None:
        return now
    start, end = span
    local = now.replace(tzinfo=UTC).astimezone(bureau_zone())
    clock = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00 within one day
        quiet = start <= clock < end
    else:  # across midnight, e.g. 21:00-08:00
        quiet = clock >= start or clock < end
    if not quiet:
        return now
    morning = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(UTC).replace(tzinfo=None)
