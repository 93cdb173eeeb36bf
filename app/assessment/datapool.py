"""The data pool: hard indicator values imported from files and the JSON API.

An import is all-or-nothing: every row is checked first and a row-level report returned; only a
clean batch is stored. Re-importing a subject × indicator supersedes the current value (history
kept: the old row stays, marked superseded by the new batch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import cast

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail, is_unique_violation
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, ImportBatch, Indicator, IndicatorValue, Officer, Unit, utcnow
from ..tabular import read_table

# File columns (Chinese headers as the bureau's spreadsheets have them) and their API names.
FILE_COLUMNS = ("单位代码", "警号", "指标代码", "数值", "不可防数")
API_FIELDS = {"单位代码": "unit_code", "警号": "badge_no", "指标代码": "indicator", "数值": "value",
              "不可防数": "nonpreventable"}
MAX_API_ROWS = 20_000
STORE_SLICE = 500  # values per INSERT or UPDATE statement (10 columns: 5,000 bound parameters)


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, message)
    stored: int = 0
    superseded: int = 0
    batch_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"ok": self.ok, "rows": self.rows, "stored": self.stored, "superseded": self.superseded,
                "batch_id": self.batch_id, "errors": [{"row": n, "message": m} for n, m in self.errors]}


def station_of(unit: Unit | None) -> Unit | None:
    """The station a unit belongs to (itself, or the nearest station above it), else None."""
    while unit is not None:
        if unit.kind == "station":
            return unit
        unit = unit.parent
    return None


BAD = object()  # a value that was given but is not a number (already reported)


def _number(text, what: str, problems: list[str]):
    """None when empty, BAD (reported in ``problems``) when not a finite number, else the float."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool):
        problems.append(_("%(what)s不是数字", what=what))
        return BAD
    try:
        value = float(str(text).strip().rstrip("%")) if isinstance(text, str) else float(text)
    except (TypeError, ValueError):
        problems.append(_("%(what)s“%(text)s”不是数字", what=what, text=str(text)[:20]))
        return BAD
    if not math.isfinite(value):
        problems.append(_("%(what)s不是有限的数字", what=what))
        return BAD
    return value


def _in_range(value: float, ind: Indicator, what: str, problems: list[str]) -> None:
    low, high = ind.min_value, ind.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        problems.append(_("%(what)s %(value)s 超出指标“%(name)s”的取值范围 %(low)s–%(high)s",
                          what=what, value=f"{value:g}", name=ind.name,
                          low="" if low is None else f"{low:g}", high="" if high is None else f"{high:g}"))


@dataclass
class _Reference:
    """What the rows of an import are checked against, loaded once."""

    indicators: dict[str, Indicator]
    units: dict[str, Unit]
    officers: dict[str, Officer]
    in_cycle: set[str]  # indicator codes frozen into the cycle
    derived: dict[str, str]  # code → why it is refused: derived from the records (monitoring.derived)


def import_indicator_values(cycle: Cycle, rows: list[tuple[int, dict]], source: str, filename: str = "",
                            user_id: int | None = None, api_client_id: int | None = None) -> ImportReport:
    """Check and store indicator values for a cycle.

    rows : (row number, {"unit_code"|"badge_no", "indicator", "value", "nonpreventable"}).
    Returns the report; on any error nothing is added (the caller rolls back anyway).
    Raises DomainError when the cycle is published (its results are final).
    """
    if cycle.status == "published":
        raise DomainError(_("周期“%(name)s”已发布结果，不能再导入数据。", name=cycle.name), field="file")
    report = ImportReport(rows=len(rows))
    if not rows:
        report.errors.append((1, _("没有数据行。")))
        return report
    parsed = _validate_rows(rows, _load_reference(cycle), report)
    if report.errors:
        return report
    batch = _store_values(cycle, parsed, report, source=source, filename=filename, user_id=user_id,
                          api_client_id=api_client_id, n_rows=len(rows))
    record("indicator_values_imported", "cycle", cycle.id,
           after={"batch": batch.id, "source": source, "file": filename, "stored": report.stored,
                  "superseded": report.superseded})
    return report


def check_indicator_values(cycle: Cycle, rows: list[tuple[int, dict]]) -> ImportReport:
    """The checks of ``import_indicator_values`` without storing anything (e.g. before a job)."""
    report = ImportReport(rows=len(rows))
    _validate_rows(rows, _load_reference(cycle), report)
    return report


def _load_reference(cycle: Cycle) -> _Reference:
    # A stopped indicator still takes values for a cycle that uses it (e.g. a seasonal addition).
    frozen = ((cycle.config or {}).get("assessment") or {}).get("indicators", [])
    from .services import indicator_map

    indicators = indicator_map(cycle.bureau_id)  # the cycle's bureau's catalogue, and only its units
    return _Reference(
        indicators=indicators,
        units={u.code: u for u in db.session.execute(db.select(Unit).where(scope.cycle_unit_clause(cycle))).scalars()},
        officers={o.badge_no: o for o in db.session.execute(
            db.select(Officer).where(scope.cycle_officer_clause(cycle))).scalars()},
        in_cycle={spec.get("code") for spec in frozen},
        derived=derived_refusals(indicators))


def derived_refusals(inds: dict[str, Indicator]) -> dict[str, str]:
    """Hook: indicators the office marked as derived from the records (``monitoring.derived``)."""
    from ..monitoring.derived import RULES, import_refusals

    return import_refusals({c: inds[c].name for c in RULES if c in inds})


def _validate_rows(rows, ref: _Reference, report: ImportReport) -> list[tuple]:
    """Check every row; errors go to the report, clean rows come back parsed."""
    seen: dict[tuple[str, str], int] = {}
    parsed = []
    for number, raw in rows:
        if not isinstance(raw, dict):
            report.errors.append((number, _("每一行应是一个对象。")))
            continue
        v = {k: ("" if raw.get(k) is None else raw.get(k)) for k in API_FIELDS.values()}
        problems: list[str] = []
        ind = _check_indicator(str(v["indicator"]).strip(), ref, problems)
        subject_key, unit, officer = _check_subject(str(v["unit_code"]).strip(), str(v["badge_no"]).strip(),
                                                    ind, ref, problems)
        value, nonprev = _check_numbers(v, ind, problems)
        if subject_key and ind is not None:
            key = (subject_key, ind.code)
            if key in seen:
                problems.append(_("与第 %(row)d 行重复（同一对象、同一指标）", row=seen[key]))
            else:
                seen[key] = number
        if problems:
            report.errors.append((number, "；".join(problems)))
        else:
            parsed.append((ind, unit, officer, subject_key, value, nonprev))
    return parsed


def _check_indicator(code: str, ref: _Reference, problems: list[str]) -> Indicator | None:
    ind = ref.indicators.get(code)
    if not code:
        problems.append(_("缺少指标代码"))
    elif ind is None:
        problems.append(_("未知的指标代码“%(code)s”", code=code[:64]))
    elif not ind.is_active and code not in ref.in_cycle:
        problems.append(_("指标“%(name)s”已停用", name=ind.name))
    elif ind.is_soft:
        problems.append(_("指标“%(name)s”由本平台计算，不能导入", name=ind.name))
    elif code in ref.derived:
        problems.append(ref.derived[code])
    return ind


def _check_subject(unit_code: str, badge: str, ind: Indicator | None, ref: _Reference, problems: list[str]):
    """(subject key, unit, officer) of a row; the key is None when the subject is not valid."""
    if unit_code and badge:
        problems.append(_("单位代码和警号只能填一个"))
    elif ind is not None and ind.level == "unit" and not unit_code:
        problems.append(_("单位层级的指标需要填写单位代码"))
    elif ind is not None and ind.level == "officer" and not badge:
        problems.append(_("民警层级的指标需要填写警号"))
    elif unit_code:
        unit = ref.units.get(unit_code)
        if unit is None:
            problems.append(_("未知的单位代码“%(code)s”", code=unit_code[:32]))
        elif unit.kind != "station" or not unit.is_active:
            problems.append(_("单位“%(name)s”不是在用的派出所，不参加单位考评", name=unit.name))
        else:
            return IndicatorValue.key_for(unit_id=unit.id), unit, None
    elif badge:
        officer = ref.officers.get(badge)
        if officer is None:
            problems.append(_("未知的警号“%(badge)s”", badge=badge[:20]))
        elif not officer.is_active or station_of(officer.unit) is None:
            problems.append(_("民警 %(badge)s 不在派出所或已停用，不参加个人考评", badge=badge))
        else:
            return IndicatorValue.key_for(officer_id=officer.id), None, officer
    return None, None, None


_VALUE, _NONPREVENTABLE = _l("数值"), _l("不可防数")


def _check_numbers(v: dict, ind: Indicator | None, problems: list[str]):
    # Labels translated only when a row is wrong (lazy): a province's file has 160,000 rows.
    value = _number(v["value"], _VALUE, problems)
    nonprev = _number(v["nonpreventable"], _NONPREVENTABLE, problems)
    if value is None:
        problems.append(_("缺少数值"))
    if ind is None:
        return value, nonprev
    if value is not None and value is not BAD:
        _in_range(value, ind, _VALUE, problems)
    if ind.splits_preventable:
        if nonprev is None:
            problems.append(_("指标“%(name)s”按可防性拆分，需要填写不可防数", name=ind.name))
        elif nonprev is not BAD:
            _in_range(nonprev, ind, _NONPREVENTABLE, problems)
    elif nonprev is not None:
        problems.append(_("指标“%(name)s”不按可防性拆分，不可防数应留空", name=ind.name))
    return value, nonprev


def _store_values(cycle: Cycle, parsed: list[tuple], report: ImportReport, *, source: str, filename: str,
                  user_id, api_client_id, n_rows: int) -> ImportBatch:
    """Store a clean batch: supersede the current values it replaces, then add the new ones.

    Core statements, not ORM objects: a province's file holds some 160,000 values. The current
    values are read as (id, indicator, subject) tuples; the superseded ones are updated by id and
    the new ones inserted in slices of STORE_SLICE rows (a few thousand bound parameters each)."""
    batch = ImportBatch(cycle_id=cycle.id, kind="indicator-values", source=source, filename=filename[:200],
                        created_by_id=user_id, api_client_id=api_client_id, rows=n_rows)
    db.session.add(batch)
    db.session.flush()
    now = utcnow()
    table = cast(sa.Table, IndicatorValue.__table__)
    current = {(indicator_id, subject_key): value_id for value_id, indicator_id, subject_key in db.session.execute(
        db.select(IndicatorValue.id, IndicatorValue.indicator_id, IndicatorValue.subject_key)
        .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.is_current))}
    replaced = [current[key] for key in ((ind.id, subject_key) for ind, _u, _o, subject_key, _v, _n in parsed)
                if key in current]
    values = [{"cycle_id": cycle.id, "unit_id": unit.id if unit else None,
               "officer_id": officer.id if officer else None, "subject_key": subject_key, "indicator_id": ind.id,
               "value": value, "nonpreventable": nonprev, "batch_id": batch.id, "is_current": True,
               "current_slot": 1} for ind, unit, officer, subject_key, value, nonprev in parsed]
    try:
        for start in range(0, len(replaced), STORE_SLICE):  # free the "current" slots before the new values
            db.session.execute(table.update().where(table.c.id.in_(replaced[start:start + STORE_SLICE]))
                               .values(is_current=False, current_slot=None, superseded_by_id=batch.id,
                                       superseded_at=now))
        for start in range(0, len(values), STORE_SLICE):
            db.session.execute(table.insert(), values[start:start + STORE_SLICE])
    except IntegrityError as error:  # a racing import of the same cycle took a "current" slot first
        db.session.rollback()
        if is_unique_violation(error):
            raise DomainError(_("有人同时导入了同一周期的数据，请重试。"), field="file") from error
        raise DomainError(_("数据不符合规则，未保存。请检查后重试。")) from error
    report.superseded = len(replaced)
    report.stored = len(parsed)
    report.batch_id = batch.id
    batch.report = {"stored": report.stored, "superseded": report.superseded}
    flush_or_fail(_("有人同时导入了同一周期的数据，请重试。"), field="file")
    return batch


FILE_REQUIRED = ("指标代码", "数值")


def rows_from_table(filename: str, raw: bytes) -> list[tuple[int, dict]]:
    """Read an uploaded .csv/.xlsx into (row number, API-style dict) rows."""
    return api_rows(read_table(filename, raw, required=FILE_REQUIRED))


def api_rows(table: list) -> list[tuple[int, dict]]:
    """The (row number, API-style dict) rows of a file already read (tabular.Row)."""
    if table and not any(c in table[0].values for c in ("单位代码", "警号")):
        raise DomainError(_("缺少列：单位代码 或 警号"), field="file")
    return [(row.number, {API_FIELDS[k]: row.values.get(k, "") for k in FILE_COLUMNS}) for row in table]


def import_indicator_file(cycle: Cycle, filename: str, raw: bytes, user_id: int | None = None) -> ImportReport:
    return import_indicator_values(cycle, rows_from_table(filename, raw), "upload", filename, user_id=user_id)


def pool_summary(cycle: Cycle) -> dict:
    """Counts of current values per indicator, and the batches, for the cycle's page."""
    counts = dict(db.session.execute(
        db.select(IndicatorValue.indicator_id, func.count(IndicatorValue.id))
        .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.is_current)
        .group_by(IndicatorValue.indicator_id)).all())
    batches = db.session.execute(
        db.select(ImportBatch).where(ImportBatch.cycle_id == cycle.id).order_by(ImportBatch.id.desc())
    ).scalars().all()
    return {"counts": counts, "batches": batches, "values": sum(counts.values())}
