"""Working days in mainland China (public holidays and the adjusted working days 调休) for the
public notice (公示), from the maintained ``chinese-calendar`` package."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import current_app
from flask_babel import gettext as _

from ..errors import DomainError


def bureau_today() -> date:
    """Today in the bureau's time zone."""
    return datetime.now(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")).date()


def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError as error:  # a year the installed calendar does not know yet
        raise DomainError(_("节假日日历没有 %(y)d 年的数据，请更新 chinese-calendar 后重试。", y=day.year)) from error


def notice_period(approved_on: date, days: int) -> tuple[date, date]:
    """(first day, last day) of a notice of ``days`` working days starting the working day after
    ``approved_on``."""
    day = approved_on + timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    first, counted = day, 1
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return first, day


def working_days_left(today: date, last: date) -> int:
    """Working days of the notice from ``today`` (counted if it is a working day) to ``last``."""
    left, day = 0, today
    while day <= last:
        if is_workday(day):
            left += 1
        day += timedelta(days=1)
    return left
