"""The data pool: hard indicator values imported from files and the JSON API.

An import is all-or-nothing: every row is checked first and a row-level report returned; only a
clean batch is stored. Re-importing a subject × indicator supersedes the current value (history
kept: the old row stays, marked superseded by the new batch).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import cast

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from .. import scope
from ..audit import record
from ..bulk import insert_rows, plain_rows
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
STORE_SLICE = 500  # superseded values per UPDATE statement (500 bound ids)
STORE_ROWS = 5_000  # clean rows checked before they are stored together (one COPY on PostgreSQL)


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
    """What the rows of an import are checked against, loaded once. Officers as plain tuples: a
    province has 50,000 of them, and an ORM object each would cost more than the import."""

    indicators: dict[str, Indicator]
    units: dict[str, Unit]
    officers: dict[str, tuple[int, bool, int | None]]  # badge → (id, is_active, unit_id)
    in_station: set[int]  # ids of the units that are, or belong to, a station
    in_cycle: set[str]  # indicator codes frozen into the cycle
    derived: dict[str, str]  # code → why it is refused: derived from the records (monitoring.derived)


def import_indicator_values(cycle: Cycle, rows: Iterable[tuple[int, dict]], source: str, filename: str = "",
                            user_id: int | None = None, api_client_id: int | None = None) -> ImportReport:
    """Check and store indicator values for a cycle.

    rows : (row number, {"unit_code"|"badge_no", "indicator", "value", "nonpreventable"}), any
        iterable, read once: clean rows are stored a slice at a time as they come (memory does not
        grow with the file but for one key per row), and the storing stops at the first bad row.
    Returns the report; on any error nothing stays added (the slices stored before the first bad
    row are undone; the caller rolls back anyway).
    Raises DomainError when the cycle is published (its results are final).
    """
    if cycle.status == "published":
        raise DomainError(_("周期“%(name)s”已发布结果，不能再导入数据。", name=cycle.name), field="file")
    report = ImportReport()
    store = _ValueStore(cycle, report, source=source, filename=filename, user_id=user_id,
                        api_client_id=api_client_id)
    parsed = _validate_rows(_counted(rows, report), _load_reference(cycle), report)
    for part in iter(lambda: list(islice(parsed, STORE_ROWS)), []):
        if not report.errors:  # after the first bad row the rest is only checked, for the report
            store.add(part)
    if not report.rows:
        report.errors.append((1, _("没有数据行。")))
    if report.errors:
        store.discard()
        return report
    batch = store.finish()
    record("indicator_values_imported", "cycle", cycle.id,
           after={"batch": batch.id, "source": source, "file": filename, "stored": report.stored,
                  "superseded": report.superseded})
    return report


def _counted(rows: Iterable[tuple[int, dict]], report: ImportReport) -> Iterator[tuple[int, dict]]:
    for row in rows:
        report.rows += 1
        yield row


def check_indicator_values(cycle: Cycle, rows: list[tuple[int, dict]]) -> ImportReport:
    """The checks of ``import_indicator_values`` without storing anything (e.g. before a job)."""
    report = ImportReport(rows=len(rows))
    for _parsed in _validate_rows(rows, _load_reference(cycle), report):
        pass
    return report


def _load_reference(cycle: Cycle) -> _Reference:
    # A stopped indicator still takes values for a cycle that uses it (e.g. a seasonal addition).
    frozen = ((cycle.config or {}).get("assessment") or {}).get("indicators", [])
    from .services import indicator_map

    indicators = indicator_map(cycle.bureau_id)  # the cycle's bureau's catalogue, and only its units
    units = {u.code: u for u in db.session.execute(db.select(Unit).where(scope.cycle_unit_clause(cycle))).scalars()}
    return _Reference(
        indicators=indicators,
        units=units,
        officers={badge: (officer_id, is_active, unit_id) for badge, officer_id, is_active, unit_id in plain_rows(
            sa.select(Officer.badge_no, Officer.id, Officer.is_active, Officer.unit_id)
            .where(scope.cycle_officer_clause(cycle)))},
        in_station={u.id for u in units.values() if station_of(u) is not None},
        in_cycle={spec.get("code") for spec in frozen},
        derived=derived_refusals(indicators))


def derived_refusals(inds: dict[str, Indicator]) -> dict[str, str]:
    """Hook: indicators the office marked as derived from the records (``monitoring.derived``)."""
    from ..monitoring.derived import RULES, import_refusals

    return import_refusals({c: inds[c].name for c in RULES if c in inds})


def _validate_rows(rows: Iterable[tuple[int, dict]], ref: _Reference, report: ImportReport) -> Iterator[tuple]:
    """Check every row; errors go to the report, clean rows come out parsed as (indicator id,
    unit id, officer id, subject key, value, non-preventable)."""
    seen: dict[tuple[str, str], int] = {}
    for number, raw in rows:
        if not isinstance(raw, dict):
            report.errors.append((number, _("每一行应是一个对象。")))
            continue
        v = {k: ("" if raw.get(k) is None else raw.get(k)) for k in API_FIELDS.values()}
        problems: list[str] = []
        ind = _check_indicator(str(v["indicator"]).strip(), ref, problems)
        subject_key, unit_id, officer_id = _check_subject(str(v["unit_code"]).strip(),
                                                          str(v["badge_no"]).strip(), ind, ref, problems)
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
            assert ind is not None  # no problem reported: the indicator is known
            yield ind.id, unit_id, officer_id, subject_key, value, nonprev


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
            return IndicatorValue.key_for(unit_id=unit.id), unit.id, None
    elif badge:
        officer = ref.officers.get(badge)
        if officer is None:
            problems.append(_("未知的警号“%(badge)s”", badge=badge[:20]))
        else:
            officer_id, is_active, unit_id = officer
            if not is_active or unit_id not in ref.in_station:
                problems.append(_("民警 %(badge)s 不在派出所或已停用，不参加个人考评", badge=badge))
            else:
                return IndicatorValue.key_for(officer_id=officer_id), None, officer_id
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


class _ValueStore:
    """Stores a batch's clean values a slice at a time: supersede the current values they replace,
    then add them. Core statements, not ORM objects (a province's file holds hundreds of thousands
    of values); the new values go in by COPY on PostgreSQL (app.bulk), the superseded ones are
    updated by id in slices of STORE_SLICE. The current values of the cycle are read once, as
    (id, indicator, subject) tuples. ``discard`` undoes the slices already stored when a bad row
    comes later."""

    COLUMNS = ("cycle_id", "unit_id", "officer_id", "subject_key", "indicator_id", "value", "nonpreventable",
               "batch_id", "is_current", "current_slot")

    def __init__(self, cycle: Cycle, report: ImportReport, *, source: str, filename: str, user_id, api_client_id):
        self.cycle, self.report = cycle, report
        self.batch_args = {"cycle_id": cycle.id, "kind": "indicator-values", "source": source,
                           "filename": filename[:200], "created_by_id": user_id, "api_client_id": api_client_id}
        self.batch: ImportBatch | None = None
        self.current: dict[tuple[int, str], int] = {}
        self.now = utcnow()

    def _begin(self) -> ImportBatch:
        self.batch = ImportBatch(**self.batch_args, rows=0)
        db.session.add(self.batch)
        db.session.flush()
        self.current = {(indicator_id, subject_key): value_id for value_id, indicator_id, subject_key in plain_rows(
            sa.select(IndicatorValue.id, IndicatorValue.indicator_id, IndicatorValue.subject_key)
            .where(IndicatorValue.cycle_id == self.cycle.id, IndicatorValue.is_current))}
        return self.batch

    def add(self, parsed: list[tuple]) -> None:
        batch = self.batch or self._begin()
        table = cast(sa.Table, IndicatorValue.__table__)
        replaced = [value_id for value_id in (self.current.pop((ind_id, key), None)
                                              for ind_id, _u, _o, key, _v, _n in parsed) if value_id is not None]
        try:
            for start in range(0, len(replaced), STORE_SLICE):  # free the "current" slots before the new values
                db.session.execute(table.update().where(table.c.id.in_(replaced[start:start + STORE_SLICE]))
                                   .values(is_current=False, current_slot=None, superseded_by_id=batch.id,
                                           superseded_at=self.now))
            insert_rows(table, self.COLUMNS, ((self.cycle.id, unit_id, officer_id, key, ind_id, value, nonprev,
                                               batch.id, True, 1)
                                              for ind_id, unit_id, officer_id, key, value, nonprev in parsed))
        except IntegrityError as error:  # a racing import of the same cycle took a "current" slot first
            db.session.rollback()
            if is_unique_violation(error):
                raise DomainError(_("有人同时导入了同一周期的数据，请重试。"), field="file") from error
            raise DomainError(_("数据不符合规则，未保存。请检查后重试。")) from error
        self.report.superseded += len(replaced)
        self.report.stored += len(parsed)

    def discard(self) -> None:
        """Undo the slices already stored (a bad row came after them): the caller rolls back too,
        but a caller that does not must not be left with half a batch."""
        if self.batch is not None:
            table = cast(sa.Table, IndicatorValue.__table__)
            db.session.execute(table.delete().where(table.c.batch_id == self.batch.id))
            db.session.execute(table.update().where(table.c.superseded_by_id == self.batch.id)
                               .values(is_current=True, current_slot=1, superseded_by_id=None, superseded_at=None))
            db.session.delete(self.batch)
            db.session.flush()
            self.batch = None
        self.report.stored = self.report.superseded = 0

    def finish(self) -> ImportBatch:
        batch = self.batch or self._begin()
        batch.rows = self.report.rows
        batch.report = {"stored": self.report.stored, "superseded": self.report.superseded}
        self.report.batch_id = batch.id
        flush_or_fail(_("有人同时导入了同一周期的数据，请重试。"), field="file")
        return batch


FILE_REQUIRED = ("指标代码", "数值")


def rows_from_table(filename: str, raw: bytes) -> list[tuple[int, dict]]:
    """Read an uploaded .csv/.xlsx into (row number, API-style dict) rows."""
    return list(api_rows(read_table(filename, raw, required=FILE_REQUIRED)))


def api_rows(table: Iterable) -> Iterator[tuple[int, dict]]:
    """The (row number, API-style dict) rows of a file's rows (tabular.Row), one at a time."""
    for i, row in enumerate(table):
        if i == 0 and not any(c in row.values for c in ("单位代码", "警号")):
            raise DomainError(_("缺少列：单位代码 或 警号"), field="file")
        yield row.number, {API_FIELDS[k]: row.values.get(k, "") for k in FILE_COLUMNS}


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
