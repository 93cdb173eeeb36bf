"""Indicators derived from the business records, never typed twice: each code maps to one rule.

A rule reads the incident (警情) or case records of a period for every station at once (one
grouped query, bounded parameters) and returns each station's running value with the figures behind
it. Periods are bureau-local dates [start, end]; incident times are stored in UTC and converted here.
Once the office marks a code as derived (a bureau without the feed still types the number), the data
pool refuses imports of it, naming its source (``import_refusals``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import scope
from ..extensions import db
from ..models import (
    DEFAULT_RESPONSE_MINUTES,
    FINAL_STAGES,
    CaseRecord,
    DerivedIndicator,
    Incident,
    ResponseTarget,
    Unit,
)


@dataclass(frozen=True)
class Period:
    """Bureau-local dates, both ends included; ``as_of`` is the day the running values are taken on."""

    start: date
    end: date
    as_of: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[from, to) in naive UTC for the local days start … end."""
        zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
        last = min(self.end, self.as_of)

        def utc(day: date) -> datetime:
            return datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)

        return utc(self.start), utc(last + timedelta(days=1))


@dataclass
class Value:
    """One station's running value of a derived indicator: ``value`` (None: nothing to measure yet),
    ``target`` in the same unit, and ``detail`` (the counts behind the value, for the formula)."""

    value: float | None
    target: float | None
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    records: str         # "incidents" | "cases": the records it comes from
    unit_of_measure: str
    direction: str       # higher | lower (is better)
    formula: str
    compute: Callable[[Period, list[Unit]], dict[int, Value]]
    default_target: float | None = None

    @property
    def source(self) -> str:
        """The records' name, as refusals and the catalogue show it."""
        return str(SOURCES[self.records])


def response_targets() -> dict[int, int]:
    """Target minutes from receipt to arrival per station category (the office's, else the defaults)."""
    targets = dict(DEFAULT_RESPONSE_MINUTES)
    targets.update(db.session.execute(sa.select(ResponseTarget.category, ResponseTarget.minutes)).all())
    return targets


def response_minutes(period: Period, units: list[Unit]) -> dict[int, np.ndarray]:
    """Minutes from receipt to arrival of the incidents received in the period, per unit id
    (incidents without an arrival are left out: nobody went)."""
    low, high = period.utc_bounds()
    query = (sa.select(Incident.unit_id, Incident.received_at, Incident.arrived_at)
             .where(Incident.received_at >= low, Incident.received_at < high, Incident.arrived_at.is_not(None)))
    if len(units) == 1:
        query = query.where(Incident.unit_id == units[0].id)
    rows = db.session.execute(query).all()
    if not rows:
        return {}
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    received = np.array([r[1] for r in rows], dtype="datetime64[s]")
    arrived = np.array([r[2] for r in rows], dtype="datetime64[s]")
    minutes = (arrived - received).astype(np.int64) / 60.0
    order = np.argsort(ids, kind="stable")
    ids, minutes = ids[order], minutes[order]
    keys, starts = np.unique(ids, return_index=True)
    return {int(k): part for k, part in zip(keys, np.split(minutes, starts[1:]), strict=True)}


def _response_median(period: Period, units: list[Unit]) -> dict[int, Value]:
    targets = response_targets()
    minutes = response_minutes(period, units)
    out = {}
    for unit in units:
        m = minutes.get(unit.id)
        out[unit.id] = Value(None if m is None else round(float(np.median(m)), 1), float(targets[unit.category or 2]),
                             {"n": 0 if m is None else int(m.size)})
    return out


def _response_share(period: Period, units: list[Unit]) -> dict[int, Value]:
    targets = response_targets()
    minutes = response_minutes(period, units)
    out = {}
    for unit in units:
        m = minutes.get(unit.id)
        target = targets[unit.category or 2]
        within = 0 if m is None else int((m <= target).sum())
        out[unit.id] = Value(None if m is None else round(100.0 * within / m.size, 1), 90.0,
                             {"n": 0 if m is None else int(m.size), "within": within, "minutes": target})
    return out


def _unit_filter(query, column, units):
    return query.where(column == units[0].id) if len(units) == 1 else query


def _criminal_cases(period: Period, units: list[Unit]) -> dict[int, Value]:
    query = (sa.select(CaseRecord.unit_id, CaseRecord.is_preventable, sa.func.count())
             .where(CaseRecord.case_type.like("刑事%"), CaseRecord.case_date >= period.start,
                    CaseRecord.case_date <= min(period.end, period.as_of))
             .group_by(CaseRecord.unit_id, CaseRecord.is_preventable))
    counts: dict[int, dict[bool, int]] = {}
    for unit_id, preventable, n in db.session.execute(_unit_filter(query, CaseRecord.unit_id, units)):
        counts.setdefault(unit_id, {})[bool(preventable)] = n
    return {u.id: Value(float(counts.get(u.id, {}).get(True, 0)), None,
                        {"preventable": counts.get(u.id, {}).get(True, 0),
                         "nonpreventable": counts.get(u.id, {}).get(False, 0)}) for u in units}


def _case_closure(period: Period, units: list[Unit]) -> dict[int, Value]:
    done = sa.func.sum(sa.case((CaseRecord.stage.in_(FINAL_STAGES), 1), else_=0))
    query = (sa.select(CaseRecord.unit_id, sa.func.count(), done)
             .where(CaseRecord.accepted_on >= period.start, CaseRecord.accepted_on <= min(period.end, period.as_of))
             .group_by(CaseRecord.unit_id))
    found = {u: (n, int(d or 0)) for u, n, d in db.session.execute(_unit_filter(query, CaseRecord.unit_id, units))}
    out = {}
    for unit in units:
        n, d = found.get(unit.id, (0, 0))
        out[unit.id] = Value(round(100.0 * d / n, 1) if n else None, 80.0, {"n": n, "done": d})
    return out


def _overdue(period: Period, units: list[Unit]) -> dict[int, Value]:
    day = min(period.end, period.as_of)
    query = (sa.select(CaseRecord.unit_id, sa.func.count())
             .where(CaseRecord.stage.not_in(FINAL_STAGES), CaseRecord.stage_deadline < day)
             .group_by(CaseRecord.unit_id))
    found = dict(db.session.execute(_unit_filter(query, CaseRecord.unit_id, units)).all())
    return {u.id: Value(float(found.get(u.id, 0)), 0.0, {"day": day.isoformat()}) for u in units}


SOURCES = {"incidents": _l("警情记录（数据池）"), "cases": _l("案件记录（数据池）")}
INCIDENTS, CASES = "incidents", "cases"

RULES: dict[str, Rule] = {rule.code: rule for rule in (
    Rule("response_on_time", _l("警情处置时效（按时到场率）"), INCIDENTS, "%", "higher",
         _l("本期接警并已到场的警情中，接警到到场用时不超过本类别目标分钟数的比例"), _response_share, 90.0),
    Rule("response_median", _l("警情处置时效（到场用时中位数）"), INCIDENTS, _l("分钟"), "lower",
         _l("本期接警并已到场的警情，接警到到场用时（分钟）的中位数；目标为本类别目标分钟数"), _response_median),
    Rule("criminal_cases", _l("刑事案件发案数"), CASES, _l("件"), "lower",
         _l("本期案发的刑事案件数（可防），不可防案件另计"), _criminal_cases),
    Rule("case_closure_rate", _l("案件办结率"), CASES, "%", "higher",
         _l("本期受理的案件中已破案/结案或移送的比例"), _case_closure, 80.0),
    Rule("overdue_cases", _l("超期案件数"), CASES, _l("件"), "lower",
         _l("未办结且当前阶段的法定期限已过的案件数"), _overdue, 0.0),
)}


def compute_all(period: Period, units: list[Unit]) -> dict[str, dict[int, Value]]:
    """Every rule's value for every unit: code → unit id → Value (one query per rule, whatever the size)."""
    return {code: rule.compute(period, units) for code, rule in RULES.items()}


def light(rule: Rule, value: Value) -> str:
    return traffic_light(rule.direction, value.value, value.target, is_count=str(rule.unit_of_measure) == "件")


def traffic_light(direction: str, value: float | None, target: float | None, is_count: bool = False) -> str:
    """'green' on or better than target, 'amber' within 10 % of it (within one for counts), 'red'
    beyond; 'none' without a value or a target."""
    if value is None or target is None:
        return "none"
    gap = value - target if direction == "higher" else target - value
    if gap >= 0:
        return "green"
    tolerance = max(abs(target) * 0.1, 1.0 if is_count else 0.0)
    return "amber" if -gap <= tolerance else "red"


def marked_codes() -> set[str]:
    """Codes the office has marked as derived (their imports are refused)."""
    return set(db.session.execute(sa.select(DerivedIndicator.code)).scalars())


def import_refusals(codes: dict[str, str]) -> dict[str, str]:
    """Messages refusing imports of the indicators among ``codes`` ({code: name}) that the office
    has marked as derived from the records: their numbers come from the records, never typed twice."""
    marked = marked_codes() & set(RULES)
    return {code: _("指标“%(name)s”由%(source)s自动计算，不能导入", name=name, source=RULES[code].source)
            for code, name in codes.items() if code in marked}


def set_marked(codes: set[str], user_id: int | None) -> None:
    """Mark exactly ``codes`` (derived codes only) as derived."""
    codes = codes & set(RULES)
    have = marked_codes()
    if have - codes:
        db.session.execute(sa.delete(DerivedIndicator).where(DerivedIndicator.code.in_(sorted(have - codes))))
    for code in sorted(codes - have):
        db.session.add(DerivedIndicator(code=code, marked_by_id=user_id))
    db.session.flush()


def values_for_cycle(cycle, codes: set[str]) -> dict[str, dict[int, tuple[float, float | None]]]:
    """The score run's values of the marked derived indicators among ``codes`` over the cycle's
    dates, for every station: code → unit id → (value, non-preventable count or None). A station
    with nothing to measure (no arrivals, no cases accepted) is left out: missing, under the
    indicator's missing-data rule. Never typed twice: these replace imports, which are refused."""
    marked = marked_codes() & set(codes) & set(RULES)
    if not marked:
        return {}
    stations = list(db.session.execute(sa.select(Unit).where(Unit.kind == "station",
                                                             scope.cycle_unit_clause(cycle))).scalars())
    period = Period(cycle.starts_on, cycle.ends_on, cycle.ends_on)
    out: dict[str, dict[int, tuple[float, float | None]]] = {}
    for code in sorted(marked):
        found = RULES[code].compute(period, stations)
        out[code] = {uid: (v.value, float(v.detail["nonpreventable"]) if "nonpreventable" in v.detail else None)
                     for uid, v in found.items() if v.value is not None}
    return out
