"""Settings of the resident feedback, read from the app config, else the environment, else defaults."""
import os
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app

DEFAULTS: dict[str, int | str] = {
    "RESIDENT_LINK_DAYS": 7,  # a link expires after this many days
    "RESIDENT_FOLLOW_UP_DAYS": 5,  # working days to check and fix a follow-up before it is overdue
    "RESIDENT_COMMENT_MAX": 500,  # characters
    # Window QR answers per hashed client address; a shared station Wi-Fi needs some headroom.
    "RESIDENT_WINDOW_RATE_LIMIT": "10 per hour;30 per day",
    # ...and across all windows together, so that 25 windows do not make 25 times the limit.
    "RESIDENT_WINDOW_ADDRESS_RATE_LIMIT": "20 per hour;60 per day",
    "RESIDENT_WINDOW_COOKIE_HOURS": 12,  # a browser that answered waits this long (mild deterrent)
    "RESIDENT_BASE_URL": "",
    # An officer's resident figures are shown (and scored) only from this many answers: fewer could
    # be told apart, and the resident was promised that no single answer is put to a person.
    "RESIDENT_OFFICER_MIN_ANSWERS": 3,  # e.g. https://kaoping.example.gov.cn when links leave through a proxy
}


def setting(name: str) -> Any:
    """The value of ``name``: app config first, then an environment variable, then the default."""
    default = DEFAULTS[name]
    if name in current_app.config:
        return current_app.config[name]
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return type(default)(raw.strip())


def local_today() -> date:
    """Today in the bureau's time zone: answers and follow-ups are dated by the local calendar."""
    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    try:
        zone: tzinfo = ZoneInfo(name)
    except ZoneInfoNotFoundError:  # no tz database on the host: China has no daylight saving
        zone = timezone(timedelta(hours=8))
    return datetime.now(zone).date()
