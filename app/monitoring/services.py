"""What the live monitoring pages show: a station's day and month from its records, and the bureau's
stations side by side. Every figure is one grouped query over all the stations shown, so a page's
query count does not grow with the organisation."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import scope
from ..extensions import db
from ..models import FINAL_STAGES, CaseRecord, Incident, Officer, Unit, User
from ..reports import charts
from ..reports.services import led_unit_ids
from . import derived
from .stages import NEAR_DAYS, STAGE_LABELS, deadline_state

RESPONSE_BINS: list[float] = [0, 5, 10, 15, 20, 30, 45, 60, 24 * 60]
PAGE_SIZE = 20
WARNING_LIMIT = 100  # cases listed under 超期预警 (the count shows them all)


def today() -> date:
    """Today in the bureau's time zone."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.now(UTC).astimezone(zone).date()


def month_period(day: date) -> derived.Period:
    first = day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return derived.Period(first, last, day)


def visible_stations(user: User) -> list[Unit]:
    """Stations whose monitoring ``user`` may open: all for admins, else those they lead."""
    query = sa.select(Unit).where(Unit.kind == "station", Unit.is_active, scope.clause(Unit.bureau_id, user))\
        .order_by(Unit.code)
    if not user.has_role("admin"):
        ids = led_unit_ids(user)
        if not ids:
            return []
        query = query.where(Unit.id.in_(ids[:500]))
    return list(db.session.execute(query).scalars())


def can_monitor(user: User, unit: Unit) -> bool:
    return unit.kind == "station" and (user.has_role("admin") or unit.id in led_unit_ids(user))


def incident_counts(day: date, units: list[Unit]) -> dict[int, tuple[int, int]]:
    """unit id → (incidents received today, this month), bureau-local."""
    month = month_period(day)
    low, high = month.utc_bounds()
    today_low, _high = derived.Period(day, day, day).utc_bounds()
    query = (sa.select(Incident.unit_id,
                       sa.func.sum(sa.case((Incident.received_at >= today_low, 1), else_=0)), sa.func.count())
             .where(Incident.received_at >= low, Incident.received_at < high).group_by(Incident.unit_id))
    if len(units) == 1:
        query = query.where(Incident.unit_id == units[0].id)
    return {u: (int(t or 0), n) for u, t, n in db.session.execute(query)}


@dataclass
class IndicatorLine:
    rule: derived.Rule
    value: derived.Value
    light: str


@dataclass
class StationView:
    unit: Unit
    day: date
    today_count: int
    month_count: int
    target_minutes: int
    response_chart: charts.Chart
    stages: list[tuple[str, int]]
    warnings: list[dict]
    warning_total: int
    indicators: list[IndicatorLine] = field(default_factory=list)

    def stamp(self) -> str:
        """Changes whenever a figure on the page would (the live page reloads on a change)."""
        values = [self.today_count, self.month_count, self.warning_total, *[n for _s, n in self.stages],
                  *[line.value.value for line in self.indicators]]
        return "|".join(str(v) for v in values)


def response_chart(minutes: np.ndarray | None, target: int) -> charts.Chart:
    values = [] if minutes is None else [float(m) for m in minutes]
    chart = charts.histogram(_("本月到场用时分布（目标 %(n)d 分钟内）", n=target), values, RESPONSE_BINS,
                             _("警情数"), first_header=_("到场用时（分钟）"))
    within = 0 if minutes is None else int((minutes <= target).sum())
    chart.rows.append([_("目标内（≤ %(n)d 分钟）", n=target), within])
    return chart


def case_stages(unit: Unit, period: derived.Period) -> list[tuple[str, int]]:
    """Open cases by stage, and the cases done this month by their final stage."""
    low = period.start
    query = (sa.select(CaseRecord.stage, sa.func.count())
             .where(CaseRecord.unit_id == unit.id,
                    sa.or_(CaseRecord.stage.not_in(FINAL_STAGES),
                           sa.func.coalesce(CaseRecord.transferred_on, CaseRecord.solved_on) >= low))
             .group_by(CaseRecord.stage))
    found = dict(db.session.execute(query).all())
    return [(stage, found.get(stage, 0)) for stage in STAGE_LABELS]


def deadline_warnings(unit: Unit, day: date) -> tuple[list[dict], int]:
    """Open cases past or within NEAR_DAYS of their stage deadline, soonest first, with the officer."""
    horizon = day + timedelta(days=NEAR_DAYS)
    where = (CaseRecord.unit_id == unit.id, CaseRecord.stage.not_in(FINAL_STAGES),
             CaseRecord.stage_deadline <= horizon)
    total = db.session.scalar(sa.select(sa.func.count(CaseRecord.id)).where(*where))
    rows = db.session.execute(
        sa.select(CaseRecord, Officer.name).outerjoin(Officer, Officer.id == CaseRecord.officer_id).where(*where)
        .order_by(CaseRecord.stage_deadline, CaseRecord.case_ref).limit(WARNING_LIMIT)).all()
    return [{"case": case, "officer": name or "", "state": deadline_state(case.stage_deadline, day),
             "days": (case.stage_deadline - day).days if case.stage_deadline else None}
            for case, name in rows], total or 0


def station_view(unit: Unit, day: date) -> StationView:
    period = month_period(day)
    counts = incident_counts(day, [unit]).get(unit.id, (0, 0))
    target = derived.response_targets()[unit.category or 2]
    minutes = derived.response_minutes(period, [unit]).get(unit.id)
    values = derived.compute_all(period, [unit])
    warnings, total = deadline_warnings(unit, day)
    view = StationView(unit, day, counts[0], counts[1], target, response_chart(minutes, target),
                       case_stages(unit, period), warnings, total)
    for code, rule in derived.RULES.items():
        value = values[code][unit.id]
        view.indicators.append(IndicatorLine(rule, value, derived.light(rule, value)))
    return view


@dataclass
class BureauRow:
    unit: Unit
    today_count: int
    month_count: int
    values: dict[str, derived.Value]
    lights: dict[str, str]

    @property
    def behind(self) -> tuple[int, int]:
        """(red lights, amber lights): the larger, the further behind."""
        lights = list(self.lights.values())
        return lights.count("red"), lights.count("amber")


SORTS = ("behind", "code", "month", *derived.RULES)


def bureau_rows(day: date, units: list[Unit], sort: str = "behind") -> list[BureauRow]:
    """Every station's month, sorted: 'behind' (most red, then amber lights first), 'code', 'month'
    (most incidents first), or a derived code (worst value first, stations without a value last)."""
    period = month_period(day)
    counts = incident_counts(day, units)
    values = derived.compute_all(period, units)
    rows = []
    for unit in units:
        mine = {code: values[code][unit.id] for code in derived.RULES}
        rows.append(BureauRow(unit, *counts.get(unit.id, (0, 0)), mine,
                              {code: derived.light(derived.RULES[code], v) for code, v in mine.items()}))
    if sort == "code":
        rows.sort(key=lambda r: r.unit.code)
    elif sort == "month":
        rows.sort(key=lambda r: (-r.month_count, r.unit.code))
    elif sort in derived.RULES:
        sign = -1 if derived.RULES[sort].direction == "lower" else 1

        def key(r: BureauRow):
            v = r.values[sort].value
            return (v is None, 0 if v is None else sign * v, r.unit.code)

        rows.sort(key=key)
    else:
        rows.sort(key=lambda r: (-r.behind[0], -r.behind[1], r.unit.code))
    return rows


def home_panel(user: User) -> dict | None:
    """Landing page: overdue cases and overdue rectification items of the stations the user monitors
    (admins: the bureau), and last month's self-check of a leader's station."""
    from ..trends.services import add_months
    from .selfcheck import find, overdue_rectifications

    stations = visible_stations(user)
    if not stations:
        return None
    day = today()
    bureau = user.has_role("admin")
    ids = None if bureau else [s.id for s in stations]
    query = sa.select(sa.func.count(CaseRecord.id)).where(CaseRecord.stage.not_in(FINAL_STAGES),
                                                          CaseRecord.stage_deadline < day)
    if ids is not None:
        query = query.where(CaseRecord.unit_id.in_(ids[:500]))
    overdue, overdue_total = overdue_rectifications(day, ids, limit=10)
    last_month = add_months(day.replace(day=1), -1)
    checks = [] if bureau else [(s, find(s, last_month)) for s in stations[:3]]
    return {"stations": [] if bureau else stations[:5], "bureau": bureau,
            "overdue_cases": db.session.scalar(query) or 0, "overdue": overdue, "overdue_total": overdue_total,
            "checks": checks, "last_month": last_month}
