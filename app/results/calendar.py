"""Working days in mainland China (public holidays and the adjusted working days 调休) for the
public notice (公示) and the self-check due day: the maintained ``chinese-calendar`` package, with
the days the office entered in the holiday calendar (节假日日历, ``CalendarDay``) on top.

The package ships each year's schedule once the State Council announces it; until an update is
installed, the office enters the year's holidays and 调休 days itself. A year neither knows cannot
count working days: a notice then refuses to start (``strict``) rather than guess a period that may
be shorter than the rules allow; a self-check due day, only a reminder, falls back to Monday–Friday.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import sqlalchemy as sa
from flask import current_app, g
from flask_babel import gettext as _

from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import CalendarDay


def bureau_today() -> date:
    """Today in the bureau's time zone."""
    return datetime.now(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")).date()


def _entered(year: int) -> dict[date, bool]:
    """The office's days of ``year`` (one query per year and app context)."""
    cache = g.setdefault("calendar_days", {})
    if year not in cache:
        cache[year] = dict(db.session.execute(
            sa.select(CalendarDay.day, CalendarDay.is_workday)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))).all())
    return cache[year]


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def is_workday(day: date, strict: bool = True) -> bool:
    """Whether ``day`` is a working day: the office's entry, else the package; for a year neither
    knows, DomainError when ``strict``, else Monday to Friday."""
    entered = _entered(day.year)
    if day in entered:
        return entered[day]
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if entered:  # the office entered this year's holidays and 调休: the rest follow the week
            return day.weekday() < 5
        if strict:
            raise DomainError(_("节假日日历没有 %(y)d 年的数据：请管理员在「节假日日历」中录入该年的放假和调休安排"
                                "（或更新 chinese-calendar）后重试。", y=day.year)) from None
        return day.weekday() < 5


# ---- the office's entries ----------------------------------------------------------------------
_LINE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*(休|班|holiday|workday)\s*(.*)$", re.IGNORECASE)


def parse_days(text: str) -> list[tuple[date, bool, str]]:
    """Lines "2027-01-01 休 元旦" / "2027-02-06 班 春节调休" → (day, is_workday, note); DomainError
    naming every bad line (nothing is stored then)."""
    days: dict[date, tuple[date, bool, str]] = {}
    bad: list[str] = []
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > 400:
        raise DomainError(_("一次最多录入 400 天。"), field="days")
    for number, line in enumerate(lines, 1):
        match = _LINE.match(line)
        try:
            day = date.fromisoformat("-".join(f"{int(p):02d}" for p in match.group(1).split("-"))) if match else None
        except ValueError:
            day = None
        if match is None or day is None or not 2000 <= day.year <= 2100:
            bad.append(str(number))
            continue
        days[day] = (day, match.group(2).lower() in ("班", "workday"), match.group(3).strip()[:100])
    if bad:
        raise DomainError(_("第 %(lines)s 行无法识别：每行写一个日期和“休”或“班”，例如 2027-01-01 休 元旦。",
                            lines="、".join(bad)), field="days")
    if not days:
        raise DomainError(_("请至少填写一天。"), field="days")
    return sorted(days.values())


def save_days(text: str, user_id: int | None) -> int:
    """Store the parsed days (a day entered again is replaced); how many."""
    days = parse_days(text)
    found = {d for (d,) in db.session.execute(sa.select(CalendarDay.day).where(
        CalendarDay.day.in_([d for d, _w, _n in days])))}
    for day, workday, note in days:
        if day in found:
            db.session.execute(sa.update(CalendarDay).where(CalendarDay.day == day)
                               .values(is_workday=workday, note=note, created_by_id=user_id))
        else:
            db.session.add(CalendarDay(day=day, is_workday=workday, note=note, created_by_id=user_id))
    db.session.flush()
    g.pop("calendar_days", None)
    record("calendar_days_saved", "calendar_day", days[0][0].isoformat(),
           after={"days": [[d.isoformat(), "班" if w else "休", n] for d, w, n in days]})
    return len(days)


def delete_day(day: date) -> None:
    row = db.session.get(CalendarDay, day)
    if row is None:
        raise DomainError(_("这一天不在节假日日历中。"))
    before = {"day": day.isoformat(), "is_workday": row.is_workday, "note": row.note}
    db.session.delete(row)
    db.session.flush()
    g.pop("calendar_days", None)
    record("calendar_day_deleted", "calendar_day", day.isoformat(), before=before)


def year_days(year: int) -> list[CalendarDay]:
    return list(db.session.execute(
        sa.select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)).scalars())


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
    """Working days of the notice from ``today`` (counted if it is a working day) to ``last``; shown,
    not decided, so a year nobody knows counts Monday to Friday rather than failing the page."""
    left, day = 0, today
    while day <= last:
        if is_workday(day, strict=False):
            left += 1
        day += timedelta(days=1)
    return left
