"""Incident trends and the seasonal focus they propose. Services flush; views commit.

Monthly counts per incident type come from the incident records (one GROUP BY, bounded
parameters), go through ``scoring.trends.forecast_focus`` and come back as an ``Analysis``. Before a
cycle opens the office asks for a proposal: each incident type with a supported seasonal peak in
the cycle's months, or a significant rise, proposes a multiplier for the indicators linked to it in
the catalogue. Accepted items go into the draft cycle's seasonal settings and freeze with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult

from scoring.trends import IncidentSeries, TrendForecast, forecast_focus

from .. import scope
from ..assessment.services import cycle_config, set_seasonal_multipliers
from ..audit import record
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Incident, IncidentType, TrendProposal, Unit, utcnow

MAX_HISTORY = 60         # months of history the model reads (5 years)
MIN_HISTORY = 12         # fewer months than this: no forecast
MULTIPLIER_CAP = 2.0
RISE_THRESHOLD = 1.1     # a rise counts from +10 % a year (and must be significant)

# code, name, linked indicator codes (those not in a cycle's catalogue are skipped there).
DEFAULT_TYPES = [
    ("fraud", "电信网络诈骗", ["fraud_prevention", "fraud_publicity"]),
    ("theft", "盗窃", ["criminal_cases"]),
    ("burglary", "入室盗窃", ["risk_rectification"]),
    ("dispute", "矛盾纠纷", ["dispute_mediation"]),
    ("fight", "打架斗殴", ["dispute_mediation", "key_person_control"]),
    ("traffic", "交通事故", []),
    ("fire", "火灾隐患", ["risk_rectification"]),
    ("help", "群众求助", ["window_efficiency"]),
]


def seed_incident_types() -> int:
    """Add the default incident types that are missing; returns how many were added."""
    have = set(db.session.execute(sa.select(IncidentType.code)).scalars())
    added = 0
    for code, name, indicators in DEFAULT_TYPES:
        if code not in have:
            db.session.add(IncidentType(code=code, name=name, indicators=list(indicators)))
            added += 1
    db.session.flush()
    return added


def local_month(moment: datetime) -> date:
    """First day of the bureau-local month of a naive-UTC ``moment``."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    return date(local.year, local.month, 1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """Number of months from ``first`` to ``last`` inclusive."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


@dataclass
class Analysis:
    """Monthly history and forecast of every incident type, for the bureau or one unit."""

    types: list[IncidentType]
    months: list[date]                     # history months, oldest first
    counts: np.ndarray                     # (n_types, n_months)
    forecast_months: list[date] = field(default_factory=list)
    forecast: TrendForecast | None = None

    @property
    def has_forecast(self) -> bool:
        return self.forecast is not None

    def rows(self) -> list[dict]:
        """One row per type for the overview table."""
        out = []
        for i, kind in enumerate(self.types):
            row = {"type": kind, "total_last_year": int(self.counts[i, -12:].sum()) if self.months else 0}
            if self.forecast is not None:
                f = self.forecast
                row.update(trend=float(f.trend[i]), rising=bool(f.rising[i]),
                           peaks=[m for m, p in zip(self.forecast_months, f.peak[i], strict=True) if p],
                           peak_months=[m + 1 for m in range(12) if f.peak_months[i, m]],
                           expected=[float(v) for v in f.expected[i]], low=[float(v) for v in f.low[i]],
                           high=[float(v) for v in f.high[i]])
            out.append(row)
        return out


def _history_window(unit_id: int | None, today: date) -> tuple[date, date] | None:
    """(first, last) month with data, at most MAX_HISTORY months, ending before ``today``'s month."""
    query = sa.select(sa.func.min(Incident.month), sa.func.max(Incident.month))
    if unit_id is not None:
        query = query.where(Incident.unit_id == unit_id)
    first, last = db.session.execute(query).one()
    if first is None:
        return None
    current = date(today.year, today.month, 1)
    last = min(last, add_months(current, -1))
    if last < first:
        return None
    first = max(first, add_months(last, -(MAX_HISTORY - 1)))
    return first, last


def monthly_counts(types: list[IncidentType], first: date, last: date, unit_id: int | None = None) -> np.ndarray:
    """(n_types, n_months) incidents per type and month from ``first`` to ``last``."""
    n_months = months_between(first, last)
    counts = np.zeros((len(types), n_months))
    position = {t.id: i for i, t in enumerate(types)}
    query = (sa.select(Incident.incident_type_id, Incident.month, sa.func.count())
             .where(Incident.month >= first, Incident.month <= last, scope.unit_clause(Incident.unit_id))
             .group_by(Incident.incident_type_id, Incident.month))
    if unit_id is not None:
        query = query.where(Incident.unit_id == unit_id)
    for type_id, month, n in db.session.execute(query):
        if type_id in position:
            counts[position[type_id], months_between(first, month) - 1] = n
    return counts


def analyse(today: date, until: date | None = None, unit_id: int | None = None, horizon: int = 3,
            prior: Analysis | None = None) -> Analysis:
    """History and forecast up to ``until`` (or ``horizon`` months ahead) for the bureau or a unit.

    ``prior``: the bureau's analysis, whose seasonal shapes a unit's thin record is shrunk toward.
    """
    types = list(db.session.execute(sa.select(IncidentType).order_by(IncidentType.id)).scalars())
    window = _history_window(unit_id, today)
    if window is None or not types:
        return Analysis(types=types, months=[], counts=np.zeros((len(types), 0)))
    first, last = window
    counts = monthly_counts(types, first, last, unit_id)
    months = [add_months(first, k) for k in range(counts.shape[1])]
    analysis = Analysis(types=types, months=months, counts=counts)
    if counts.shape[1] < MIN_HISTORY:
        return analysis
    if until is not None:
        horizon = max(months_between(add_months(last, 1), until), 1)
    prior_index = None
    if prior is not None and prior.forecast is not None and [t.id for t in prior.types] == [t.id for t in types]:
        prior_index = prior.forecast.seasonal_index
    analysis.forecast = forecast_focus(IncidentSeries(counts, first.month), horizon, prior_index=prior_index)
    analysis.forecast_months = [add_months(last, k + 1) for k in range(horizon)]
    return analysis


# ---- proposals -------------------------------------------------------------------------------------
def cycle_months(cycle: Cycle) -> list[date]:
    first = date(cycle.starts_on.year, cycle.starts_on.month, 1)
    return [add_months(first, k) for k in range(months_between(first, cycle.ends_on))]


def _month_label(months: list[date]) -> str:
    if not months:
        return ""
    if len(months) == 1:
        return _("%(m)d月", m=months[0].month)
    return _("%(a)d月–%(b)d月", a=months[0].month, b=months[-1].month)


def _item_for_type(analysis: Analysis, i: int, in_cycle: list[int]) -> tuple[float, str, dict] | None:
    """(multiplier, reason, evidence) for type ``i`` over the forecast columns ``in_cycle``, or None."""
    f = analysis.forecast
    assert f is not None
    peak_cols = [c for c in in_cycle if f.peak[i, c]]
    rising = bool(f.rising[i] and f.trend[i] >= RISE_THRESHOLD)
    if not peak_cols and not rising:
        return None
    reasons, multiplier = [], 1.0
    if peak_cols:
        peak_reasons, ratio = _peak_reasons(analysis, i, peak_cols)
        reasons += peak_reasons
        multiplier = max(multiplier, ratio)
    if rising:
        reasons.append(_("全年呈上升趋势（每年约 ×%(trend)s）", trend=f"{f.trend[i]:.2f}"))
        multiplier = max(multiplier, float(f.trend[i]))
    multiplier = float(min(MULTIPLIER_CAP, max(1.1, round(multiplier, 1))))
    return multiplier, "；".join(reasons) + "。", _evidence(analysis, i, in_cycle, rising)


def _peak_reasons(analysis: Analysis, i: int, peak_cols: list[int]) -> tuple[list[str], float]:
    """The reasons for type ``i``'s peak in the forecast columns ``peak_cols`` (expected counts,
    last year's counts in the same months) and its mean seasonal index over them."""
    f = analysis.forecast
    assert f is not None
    peak_months = [analysis.forecast_months[c] for c in peak_cols]
    ratio = float(np.mean([f.seasonal_index[i, m.month - 1] for m in peak_months]))
    expected = float(np.mean(f.expected[i, peak_cols]))
    last_year = [int(analysis.counts[i, analysis.months.index(add_months(m, -12))])
                 for m in peak_months if add_months(m, -12) in analysis.months]
    reasons = [_("%(type)s 预计在%(months)s达到月均的 %(ratio)s 倍"
                 "（预计每月约 %(n)s 起，80%% 区间 %(low)s–%(high)s 起）",
                 type=analysis.types[i].name, months=_month_label(peak_months), ratio=f"{ratio:.1f}",
                 n=f"{expected:.0f}", low=f"{f.low[i, peak_cols].min():.0f}",
                 high=f"{f.high[i, peak_cols].max():.0f}")]
    if last_year:
        reasons.append(_("去年同期 %(n)s 起", n="、".join(str(v) for v in last_year)))
    return reasons, ratio


def _evidence(analysis: Analysis, i: int, in_cycle: list[int], rising: bool) -> dict:
    """What the proposal page charts for type ``i``: two years of history and the forecast."""
    f = analysis.forecast
    assert f is not None
    return {
        "history_months": [m.isoformat() for m in analysis.months[-24:]],
        "history": [int(v) for v in analysis.counts[i, -24:]],
        "forecast_months": [m.isoformat() for m in analysis.forecast_months],
        "expected": [round(float(v), 1) for v in f.expected[i]],
        "low": [float(v) for v in f.low[i]], "high": [float(v) for v in f.high[i]],
        "peak": [bool(v) for v in f.peak[i]], "in_cycle": in_cycle,
        "seasonal_index": [round(float(v), 3) for v in f.seasonal_index[i]],
        "trend": round(float(f.trend[i]), 3), "rising": rising,
    }


def propose(cycle: Cycle, today: date, user_id: int | None = None) -> list[TrendProposal]:
    """(Re)compute the proposal for a draft cycle; decided items are kept as they are."""
    if cycle.is_frozen:
        raise DomainError(_("只能为尚未开启的周期生成季节性建议。"))
    months = cycle_months(cycle)
    analysis = analyse(today, until=months[-1])
    if analysis.forecast is None:
        raise DomainError(_("警情数据不足一年，无法分析趋势。"))
    in_cycle = [k for k, m in enumerate(analysis.forecast_months) if m in months]
    if not in_cycle:
        raise DomainError(_("该周期早于已有的警情数据，无法预测。"))
    known = {s.code for s in cycle_config(cycle).indicators}
    best = _best_items(analysis, in_cycle, known)
    _store_proposals(cycle, best, user_id)
    db.session.flush()
    record("trend_proposal_made", "cycle", cycle.id, after={c: v[0] for c, v in best.items()}, user_id=user_id)
    return proposals(cycle)


def _best_items(analysis: Analysis, in_cycle: list[int], known: set[str]
                ) -> dict[str, tuple[float, str, dict, IncidentType]]:
    """Per indicator of the cycle, the item of the incident type linked to it with the highest
    multiplier."""
    best: dict[str, tuple[float, str, dict, IncidentType]] = {}
    for i, kind in enumerate(analysis.types):
        item = _item_for_type(analysis, i, in_cycle)
        if item is None:
            continue
        for code in kind.indicators or []:
            if code in known and (code not in best or item[0] > best[code][0]):
                best[code] = (*item, kind)
    return best


def _store_proposals(cycle: Cycle, best: dict[str, tuple[float, str, dict, IncidentType]],
                     user_id: int | None) -> None:
    """Replace the cycle's undecided items with ``best``; decided items stay as they are."""
    existing = {p.indicator_code: p for p in db.session.execute(
        sa.select(TrendProposal).where(TrendProposal.cycle_id == cycle.id)).scalars()}
    proposal: TrendProposal | None
    for code, proposal in existing.items():
        if proposal.status == "proposed" and code not in best:
            db.session.delete(proposal)
    for code, (multiplier, reason, evidence, kind) in best.items():
        proposal = existing.get(code)
        if proposal is None:
            proposal = TrendProposal(cycle_id=cycle.id, indicator_code=code, created_by_id=user_id)
            db.session.add(proposal)
        elif proposal.status != "proposed":
            continue
        proposal.incident_type_id = kind.id
        proposal.proposed_multiplier = multiplier
        proposal.reason = reason
        proposal.evidence = evidence
        proposal.created_at = utcnow()


def proposals(cycle: Cycle) -> list[TrendProposal]:
    return list(db.session.execute(
        sa.select(TrendProposal).where(TrendProposal.cycle_id == cycle.id)
        .order_by(TrendProposal.proposed_multiplier.desc(), TrendProposal.indicator_code)).scalars())


def decide(proposal: TrendProposal, accept: bool, multiplier: float | None, user_id: int | None) -> TrendProposal:
    """Accept (with the proposed or an edited multiplier) or reject an item of a draft cycle.

    A conditional update claims the item, so two clicks decide it once; an accepted multiplier
    goes into the cycle's seasonal settings in the same transaction.
    """
    cycle = db.session.get(Cycle, proposal.cycle_id)
    if cycle is None or cycle.is_frozen:
        raise DomainError(_("周期已开启，考评设置已冻结，不能再修改。"))
    if accept:
        value = float(multiplier if multiplier is not None else proposal.proposed_multiplier)
        if not 0.5 <= value <= 3.0:
            raise DomainError(_("倍数须在 0.5 到 3 之间。"), field="multiplier")
    else:
        value = None
    status = "accepted" if accept else "rejected"
    claimed = cast(CursorResult[Any], db.session.execute(
        sa.update(TrendProposal)
        .where(TrendProposal.id == proposal.id, TrendProposal.status == "proposed")
        .values(status=status, multiplier=value, decided_at=utcnow(), decided_by_id=user_id)
        .execution_options(synchronize_session=False))).rowcount
    if claimed != 1:
        raise DomainError(_("这条建议已经处理过了。"))
    db.session.refresh(proposal)
    if accept:
        set_seasonal_multipliers(cycle, {proposal.indicator_code: value})
    record("trend_proposal_" + status, "trend_proposal", proposal.id,
           after={"indicator": proposal.indicator_code, "multiplier": value}, user_id=user_id)
    return proposal


def reopen(proposal: TrendProposal, user_id: int | None) -> TrendProposal:
    """Undo a decision while the cycle is a draft; an accepted multiplier leaves the settings."""
    cycle = db.session.get(Cycle, proposal.cycle_id)
    if cycle is None or cycle.is_frozen:
        raise DomainError(_("周期已开启，考评设置已冻结，不能再修改。"))
    was = proposal.status
    claimed = cast(CursorResult[Any], db.session.execute(
        sa.update(TrendProposal)
        .where(TrendProposal.id == proposal.id, TrendProposal.status == was, TrendProposal.status != "proposed")
        .values(status="proposed", multiplier=None, decided_at=None, decided_by_id=None)
        .execution_options(synchronize_session=False))).rowcount
    if claimed != 1:
        raise DomainError(_("这条建议尚未处理。"))
    db.session.refresh(proposal)
    if was == "accepted":
        set_seasonal_multipliers(cycle, {proposal.indicator_code: None})
    record("trend_proposal_reopened", "trend_proposal", proposal.id, user_id=user_id)
    return proposal


# ---- records in ------------------------------------------------------------------------------------
def upsert_incidents(rows: list[dict]) -> tuple[int, int]:
    """Insert or update incidents by ``external_id``; rows are already validated dicts with
    external_id, unit_id, incident_type_id, received_at and the optional fields. (created, updated)"""
    created = updated = 0
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        ids = [r["external_id"] for r in chunk]
        have = {e: i for e, i in db.session.execute(
            sa.select(Incident.external_id, Incident.id).where(Incident.external_id.in_(ids)))}
        new, changed = [], []
        for row in chunk:
            values = dict(row, month=local_month(row["received_at"]))
            if row["external_id"] in have:
                changed.append({"id": have[row["external_id"]], **values})
            else:
                new.append(values)
        if new:
            db.session.execute(sa.insert(Incident), new)
        if changed:
            db.session.execute(sa.update(Incident), changed)
        created += len(new)
        updated += len(changed)
    db.session.flush()
    return created, updated


# Columns of an incident file (CSV or xlsx), as the dispatch system (警综平台) exports them.
INCIDENT_COLUMNS = ("警情编号", "单位代码", "警情类别", "接警时间")
OPTIONAL_COLUMNS = ("派警时间", "到场时间", "结束时间", "处置结果", "可防性")
PREVENTABLE = {"": True, "是": True, "可防": True, "1": True, "否": False, "不可防": False, "0": False}


def _parse_time(text: str) -> datetime | None:
    """A bureau-local time as the file writes it ('2026-11-03 08:15[:00]') → naive UTC."""
    if not text:
        return None
    if "T" in text:  # ISO 8601 from the API; with an offset it need not be the bureau's time
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(text) from None
        if moment.tzinfo is not None:
            return moment.astimezone(UTC).replace(tzinfo=None)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            local = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise ValueError(text)
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


@dataclass
class _Row:
    number: int
    values: dict


@dataclass
class IncidentReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "created": self.created, "updated": self.updated,
                "errors": [{"row": n, "message": m} for n, m in self.errors]}


def import_incidents(filename: str, raw: bytes) -> IncidentReport:
    """Import incident records from a file: all rows or none; a known 警情编号 updates its row."""
    from ..tabular import read_table

    table = read_table(filename, raw, INCIDENT_COLUMNS)
    return import_incident_rows([(row.number, row.values) for row in table])


# The API's names for the file's columns.
INCIDENT_API_FIELDS = {"external_id": "警情编号", "unit_code": "单位代码", "incident_type": "警情类别",
                       "received_at": "接警时间", "dispatched_at": "派警时间", "arrived_at": "到场时间",
                       "closed_at": "结束时间", "outcome": "处置结果", "is_preventable": "可防性"}


def import_incident_rows(rows: list[tuple[int, dict]]) -> IncidentReport:
    """Check and store (row number, row) pairs keyed by the file's column names or INCIDENT_API_FIELDS:
    all rows or none; a known 警情编号 updates its row."""
    table = [_Row(number, incident_values(raw)) for number, raw in rows]
    if not table:
        return IncidentReport(errors=[(1, _("没有数据行。"))])
    units = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    types = {}
    for kind in db.session.execute(sa.select(IncidentType)).scalars():
        types[kind.code] = types[kind.name] = kind.id
    report, parsed = IncidentReport(rows=len(table)), []
    seen: set[str] = set()
    for row in table:
        incident, problems = _check_incident_row(row.values, units, types, seen)
        if problems:
            report.errors.append((row.number, "；".join(problems)))
        elif incident is not None:
            parsed.append(incident)
    if report.ok:
        report.created, report.updated = upsert_incidents(parsed)
    return report


def incident_values(raw: dict) -> dict[str, str]:
    """A row by the file's column names (the API's names translated), every value stripped text
    (None → ""), a boolean 可防性 as 是/否."""
    values = {INCIDENT_API_FIELDS.get(k, k): v for k, v in raw.items()}
    if isinstance(values.get("可防性"), bool):
        values["可防性"] = "是" if values["可防性"] else "否"
    return {k: "" if v is None else str(v).strip() for k, v in values.items()}


def _check_incident_row(v: dict[str, str], units: dict[str, int], types: dict[str, int], seen: set[str]
                        ) -> tuple[dict | None, list[str]]:
    """The incident of one row for ``upsert_incidents``, or what is wrong with it. ``seen`` collects
    the 警情编号 so far (a repeat in the file is an error)."""
    problems = []
    external = v.get("警情编号", "")
    if not external or len(external) > 64:
        problems.append(_("警情编号为空或过长"))
    elif external in seen:
        problems.append(_("警情编号 %(id)s 在文件中重复", id=external))
    seen.add(external)
    if v.get("单位代码", "") not in units:
        problems.append(_("单位代码 %(code)s 不存在", code=v.get("单位代码", "")[:32]))
    if v.get("警情类别", "") not in types:
        problems.append(_("警情类别 %(type)s 不存在", type=v.get("警情类别", "")[:30]))
    times = _incident_times(v, problems)
    preventable = PREVENTABLE.get(v.get("可防性", ""))
    if preventable is None:
        problems.append(_("可防性只能填 是/否"))
    if problems:
        return None, problems
    return {"external_id": external, "unit_id": units[v["单位代码"]], "incident_type_id": types[v["警情类别"]],
            **times, "outcome": v.get("处置结果", "")[:50], "is_preventable": preventable}, []


def _incident_times(v: dict[str, str], problems: list[str]) -> dict[str, datetime | None]:
    """Receipt, dispatch, arrival and end times (UTC); receipt required, arrival and end not before it."""
    times = {}
    for column, key in (("接警时间", "received_at"), ("派警时间", "dispatched_at"),
                        ("到场时间", "arrived_at"), ("结束时间", "closed_at")):
        try:
            times[key] = _parse_time(v.get(column, ""))
        except ValueError:
            problems.append(_("%(col)s“%(value)s”不是有效时间（例：2026-11-03 08:15）", col=column,
                              value=v.get(column, "")[:30]))
    if "received_at" in times and times["received_at"] is None:
        problems.append(_("接警时间不能为空"))
    received = times.get("received_at")
    for key in ("arrived_at", "closed_at"):
        moment = times.get(key)
        if received and moment and moment < received:
            problems.append(_("到场或结束时间早于接警时间"))
            break
    return times
