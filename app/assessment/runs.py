"""Score runs: compute a cycle's results from the data pool and the soft indicators, publish a
run, and read results, 约谈 flags and the dual track back. Services flush; views commit.

A run stores, per unit and per officer, every indicator's raw value → normalised score → weight
→ contribution (and a soft indicator's provider details), the dimensions, the total, the
difficulty-adjusted total, the rank within the category, the grade and the bonus. Published runs
and all results are never changed (see the mapper events in app/models/assessment.py); a
recompute makes a new run, with a required reason once the cycle has a published result.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np
from flask_babel import gettext as _
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from scoring.assessment import (
    GRADES,
    AssessmentConfig,
    BonusSettings,
    IndicatorMatrix,
    consecutive_last,
    dual_track,
    rounded_breakdown,
    score_assessment,
    score_rollup,
    weakest,
)

from .. import scope
from ..audit import record
from ..bulk import JsonText, cycle_collector_paused, insert_rows, json_text, plain_rows
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Indicator, IndicatorValue, Officer, ScoreResult, ScoreRun, Unit, utcnow
from ..paging import ListPage
from . import soft
from .baseline import baseline_matrix, station_baselines
from .catalogue import base_code
from .services import cycle_config, cycle_options, indicator_map

ROLLUP_CHILD = {"quarter": "month", "year": "quarter"}
LEVELS = ("unit", "officer")


def _f(x) -> float | None:
    """numpy scalar → JSON-safe float (NaN → None)."""
    x = float(x)
    return None if math.isnan(x) else x


# ---- subjects ----------------------------------------------------------------------------------
@dataclass
class Subjects:
    """Who is scored: active stations, and the active officers of stations and of the squads
    under them (an officer in a squad is scored with the squad's station)."""

    units: list[Unit]
    officers: list[Any]  # rows with id, unit_id, name, badge_no, is_leader (not ORM objects: a province has 50,000)
    unit_category: dict[int, int]  # station id → category
    officer_unit: dict[int, int]  # officer id → station id
    heads: dict[int, str]  # station id → its head (负责人) "name（badge）", when one is marked leader

    @property
    def headcount(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for station_id in self.officer_unit.values():
            counts[station_id] += 1
        return counts

    def level(self, level: str) -> list[tuple[int, int]]:
        """(subject id, category) of a level, in a stable order."""
        if level == "unit":
            return [(u.id, int(cast(int, u.category))) for u in self.units]
        return [(o.id, self.unit_category[self.officer_unit[o.id]]) for o in self.officers]

    def names(self, level: str) -> dict[int, str]:
        if level == "unit":
            return {u.id: u.name for u in self.units}
        return {o.id: f"{o.name}（{o.badge_no}）" for o in self.officers}


def scored_subjects(cycle: Cycle | None = None) -> Subjects:
    """Active stations and the officers scored with them (see :class:`Subjects`): of the cycle's
    bureau only, so rankings, grades and bonuses are computed within it."""
    all_units = {u.id: u for u in db.session.execute(db.select(Unit).where(scope.cycle_unit_clause(cycle))).scalars()}
    station_of: dict[int, int | None] = {}

    def station(unit_id: int | None) -> int | None:
        seen = []
        while unit_id is not None and unit_id not in station_of:
            unit = all_units.get(unit_id)
            if unit is None:
                break
            seen.append(unit_id)
            if unit.kind == "station":
                station_of[unit_id] = unit_id
                break
            unit_id = unit.parent_id
        found = station_of.get(unit_id) if unit_id is not None else None
        for uid in seen:
            station_of[uid] = found
        return found

    units = sorted((u for u in all_units.values() if u.kind == "station" and u.is_active), key=lambda u: u.code)
    unit_category = {u.id: int(u.category) for u in units}
    officers: list[Any] = []
    officer_unit: dict[int, int] = {}
    heads: dict[int, str] = {}
    columns = (Officer.id, Officer.unit_id, Officer.name, Officer.badge_no, Officer.is_leader)
    for o in db.session.execute(db.select(*columns).where(Officer.is_active, scope.cycle_officer_clause(cycle))
                                .order_by(Officer.badge_no)):
        sid = station(o.unit_id)
        if sid is not None and sid in unit_category:
            officers.append(o)
            officer_unit[o.id] = sid
            if o.is_leader and o.unit_id == sid and sid not in heads:
                heads[sid] = f"{o.name}（{o.badge_no}）"
    return Subjects(units, officers, unit_category, officer_unit, heads)


# ---- compute -----------------------------------------------------------------------------------
def _inputs_hash(payload: dict) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _next_version(cycle: Cycle) -> int:
    top = db.session.scalar(db.select(db.func.max(ScoreRun.version)).where(ScoreRun.cycle_id == cycle.id))
    return (top or 0) + 1


def published_run(cycle: Cycle) -> ScoreRun | None:
    """The cycle's result: its most recently published run."""
    return db.session.execute(
        db.select(ScoreRun).where(ScoreRun.cycle_id == cycle.id, ScoreRun.status == "published")
        .order_by(ScoreRun.published_at.desc(), ScoreRun.id.desc())).scalars().first()


def latest_run(cycle: Cycle, statuses=("done", "published")) -> ScoreRun | None:
    return db.session.execute(
        db.select(ScoreRun).where(ScoreRun.cycle_id == cycle.id, ScoreRun.status.in_(statuses))
        .order_by(ScoreRun.version.desc())).scalars().first()


class StepLog:
    """The progress steps of a run (stored with it; the CLI prints them as they come)."""

    def __init__(self, progress: Callable[[str], None] | None = None):
        self.steps: list[dict] = []
        self.progress = progress

    def __call__(self, message: str) -> None:
        self.steps.append({"at": utcnow().isoformat(timespec="seconds"), "step": message})
        if self.progress:
            self.progress(message)


@dataclass
class Inputs:
    """Everything a cycle's computation reads, loaded once."""

    config: AssessmentConfig
    options: dict
    catalogue: dict[str, Indicator]
    values: dict  # {(level, code): {subject id: (value, nonpreventable)}}
    subjects: Subjects
    soft_values: dict


@dataclass
class LevelInput:
    ids: list[int]
    matrix: IndicatorMatrix
    details: dict = field(default_factory=dict)  # {(row, column): provider details}


def compute_run(cycle: Cycle, user_id: int | None = None, reason: str = "", rollup_method: str = "",
                progress: Callable[[str], None] | None = None) -> ScoreRun:
    """Compute the cycle's results into a new ScoreRun (status "done").

    rollup_method : "" to score this cycle's own data; "mean" | "last" | "weighted" to roll up the
        published results of the months (quarter) or quarters (year) inside it instead.
    progress : called with a short message at each step (the CLI prints them).
    Raises DomainError (nothing stored) for a draft cycle, a recompute of a published cycle
    without a reason, or a cycle without any data. A plain function: a background job may call it.
    """
    log = StepLog(progress)
    reason = _check_can_compute(cycle, reason)
    if rollup_method:
        return _compute_rollup(cycle, rollup_method, user_id, reason, log)
    with cycle_collector_paused():
        inputs = _load_inputs(cycle, log)
        levels = _validate_levels(inputs)
        run = _start_run(cycle, inputs.config, {**inputs.options, "rollup_method": ""}, user_id, reason, log)
        report = _score_levels(run, levels, inputs, log)
        _finish_run(run, report, _inputs_hash(_hash_payload(inputs)), log)
    record("score_run_computed", "cycle", cycle.id,
           after={"run": run.id, "version": run.version, "inputs_hash": run.inputs_hash}, note=reason)
    return run


def _check_can_compute(cycle: Cycle, reason: str) -> str:
    reason = (reason or "").strip()
    if cycle.status == "draft":
        raise DomainError(_("周期尚未开启，考评设置还没有冻结，不能计算。"))
    if published_run(cycle) is not None and not reason:
        raise DomainError(_("此周期已发布结果；重新计算会生成新的版本，必须填写原因。"), field="reason")
    return reason


def _load_values(cycle: Cycle, inds_by_id: dict[int, Indicator]):
    """{(level, code): {subject id: (value, nonpreventable)}} of the cycle's current values."""
    out: dict[tuple[str, str], dict[int, tuple[float, float | None]]] = defaultdict(dict)
    rows = plain_rows(
        db.select(IndicatorValue.indicator_id, IndicatorValue.unit_id, IndicatorValue.officer_id,
                  IndicatorValue.value, IndicatorValue.nonpreventable)
        .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.is_current))
    for ind_id, unit_id, officer_id, value, nonprev in rows:
        ind = inds_by_id.get(ind_id)
        if ind is None:
            continue
        if unit_id is not None:
            out[("unit", ind.code)][unit_id] = (value, nonprev)
        else:
            out[("officer", ind.code)][officer_id] = (value, nonprev)
    return out


def _load_inputs(cycle: Cycle, log: StepLog) -> Inputs:
    """Load: the frozen settings, the data pool, who is scored and the soft indicators."""
    config, options = cycle_config(cycle), cycle_options(cycle)
    log(_("读取数据池"))
    catalogue = indicator_map(cycle.bureau_id)
    values = _load_values(cycle, {i.id: i for i in catalogue.values()})
    from ..monitoring.derived import values_for_cycle  # indicators the office marked as derived

    for code, by_unit in values_for_cycle(cycle, {s.code for s in config.specs("unit")}).items():
        values[("unit", code)] = by_unit
    subjects = scored_subjects(cycle)
    log(_("读取柔性指标（%(n)d 个来源）", n=len(soft.SOFT_PROVIDERS)))
    soft_values = soft.soft_indicator_values(soft.collect(cycle), subjects.unit_category, subjects.officer_unit)
    baselines = station_baselines(cycle, [s.code for s in config.specs("unit") if s.baseline])
    if baselines:  # kept with the run: the figures its stations were scored against
        options = {**options, "baselines": baselines}
    return Inputs(config, options, catalogue, values, subjects, soft_values)


def _validate_levels(inputs: Inputs) -> dict:
    """Validate: one IndicatorMatrix per level with data; DomainError when there is none."""
    levels: dict[str, Any] = {}
    missing: dict[str, Any] = {"levels": {}, "soft_without_provider": []}
    for level in LEVELS:
        specs = inputs.config.specs(level)
        subjects = inputs.subjects.level(level)
        if not specs or not subjects:
            continue
        built = _level_matrix(level, specs, subjects, inputs, missing["soft_without_provider"])
        if built is None:
            missing["levels"][level] = {"no_data": True}
            continue
        levels[level] = built
    if not levels:
        raise DomainError(_("此周期还没有任何指标数据（单位和民警层级都没有），无法计算。请先导入数据。"))
    return {"levels": levels, "missing": missing}


def _level_matrix(level: str, specs, subjects: list[tuple[int, int]], inputs: Inputs,
                  soft_without_provider: list[str]) -> LevelInput | None:
    ids = [sid for sid, _cat in subjects]
    index = {sid: i for i, sid in enumerate(ids)}
    vals = np.full((len(ids), len(specs)), np.nan)
    nonprev = np.full((len(ids), len(specs)), np.nan)
    det: dict[tuple[int, int], dict] = {}
    for j, spec in enumerate(specs):
        ind = inputs.catalogue.get(base_code(spec.code))
        if ind is not None and ind.is_soft:
            _fill_soft(level, spec.code, j, index, vals, det, inputs.soft_values, soft_without_provider)
        elif spec.code != base_code(spec.code):
            _fill_unit_mean(spec.code, j, index, vals, det, inputs)
        else:
            _fill_hard(level, spec, j, index, vals, nonprev, det, inputs.values)
    if np.isnan(vals).all():
        return None
    category = np.array([cat for _sid, cat in subjects], dtype=np.int64)
    targets = _station_targets(specs, ids, inputs) if level == "unit" else None
    headcount = population = None
    if level == "unit":
        counts = inputs.subjects.headcount
        headcount = np.array([counts.get(sid, 0) for sid in ids], dtype=np.int64)
        population = _population(specs, ids, vals, inputs, det)
    baseline = (baseline_matrix(specs, ids, inputs.options.get("baselines") or {}, targets, det)
                if level == "unit" else None)
    matrix = IndicatorMatrix(codes=tuple(s.code for s in specs), values=vals, category=category,
                             nonpreventable=nonprev, targets=targets, headcount=headcount, population=population,
                             baseline=baseline)
    return LevelInput(ids, matrix, det)


def _fill_soft(level, code, j, index, vals, det, soft_values, soft_without_provider) -> None:
    block = soft_values.get((level, code))
    if block is None:
        soft_without_provider.append(code)
        return
    for sid, v in block["values"].items():
        if sid in index:
            vals[index[sid], j] = v
            det[(index[sid], j)] = block["details"].get(sid) or {}


def _fill_unit_mean(code, j, index, vals, det, inputs: Inputs) -> None:
    """An officer-level hard indicator counted for units as the mean of their officers."""
    by_unit: dict[int, list[float]] = defaultdict(list)
    for oid, (v, _np) in inputs.values.get(("officer", base_code(code)), {}).items():
        if oid in inputs.subjects.officer_unit:
            by_unit[inputs.subjects.officer_unit[oid]].append(v)
    for uid, vs in by_unit.items():
        if uid in index:
            vals[index[uid], j] = sum(vs) / len(vs)
            det[(index[uid], j)] = {"officers": len(vs), "rule": "mean"}


def _fill_hard(level, spec, j, index, vals, nonprev, det, values) -> None:
    for sid, (v, npv) in values.get((level, spec.code), {}).items():
        if sid not in index:
            continue
        vals[index[sid], j] = v
        if npv is not None:
            nonprev[index[sid], j] = npv
            if spec.split_preventable:
                det[(index[sid], j)] = {"preventable": v, "nonpreventable": npv,
                                        "nonpreventable_weight": spec.nonpreventable_weight}
    if spec.split_preventable:
        # A preventable count without its non-preventable part is incomplete: missing.
        vals[:, j] = np.where(np.isnan(nonprev[:, j]), np.nan, vals[:, j])


def _population(specs, ids: list[int], vals: np.ndarray, inputs: Inputs, det: dict) -> np.ndarray | None:
    """Residents per station for per-capita indicators; DomainError naming the stations that
    have such values but no population on record."""
    cols = [j for j, s in enumerate(specs) if s.per_capita]
    if not cols:
        return None
    units = {u.id: u for u in inputs.subjects.units}
    population = np.array([units[sid].population or np.nan for sid in ids], dtype=np.float64)
    lacking = [units[sid].name for i, sid in enumerate(ids)
               if np.isnan(population[i]) and not np.isnan(vals[i, cols]).all()]
    if lacking:
        raise DomainError(_("以下派出所没有登记辖区常住人口，无法计算按每万人口计的指标：%(names)s。"
                            "请在单位管理中补充。", names="、".join(lacking[:20])))
    for i in range(len(ids)):
        for j in cols:
            if not np.isnan(vals[i, j]):
                det.setdefault((i, j), {}).update({"count": float(vals[i, j]), "population": int(population[i])})
    return population


def _station_targets(specs, ids: list[int], inputs: Inputs) -> np.ndarray | None:
    """(n, m) 目标责任书 targets of the stations (NaN = the category's target)."""
    wanted = inputs.options.get("station_targets") or {}
    if not wanted:
        return None
    code_to_id = {u.code: u.id for u in inputs.subjects.units}
    row = {sid: i for i, sid in enumerate(ids)}
    targets = np.full((len(ids), len(specs)), np.nan)
    for j, spec in enumerate(specs):
        for unit_code_, target in (wanted.get(spec.code) or {}).items():
            if code_to_id.get(unit_code_) in row:
                targets[row[code_to_id[unit_code_]], j] = float(target)
    return targets


def _start_run(cycle: Cycle, config: AssessmentConfig, options: dict, user_id, reason: str, log: StepLog) -> ScoreRun:
    run = ScoreRun(cycle_id=cycle.id, version=_next_version(cycle), created_by_id=user_id, reason=reason,
                   status="computing", config=config.to_dict(), options=options, steps=log.steps)
    db.session.add(run)
    flush_or_fail(_("有人正在同时计算此周期，请稍后刷新查看。"))
    return run


def _score_levels(run: ScoreRun, levels: dict, inputs: Inputs, log: StepLog) -> dict:
    """Score each level with one call into scoring, and store its results; returns the
    missing-data report."""
    report = levels["missing"]
    config = inputs.config
    for level, li in levels["levels"].items():
        log(_("计算%(level)s层级（%(n)d 个对象）", level=_("单位") if level == "unit" else _("民警"), n=len(li.ids)))
        level_config = config
        if inputs.options.get("bonus_level", "unit") != level:
            level_config = replace(config, bonus=BonusSettings(floor=config.bonus.floor, on=config.bonus.on))
        try:
            result = score_assessment(li.matrix, level_config)
        except ValueError as error:
            raise DomainError(_("计算失败：%(detail)s", detail=str(error))) from error
        heads = inputs.subjects.heads if level == "unit" else {}
        _store_results(run, level, li, result, inputs.catalogue, heads)
        report["levels"][level] = _level_report(result, li.ids, inputs.subjects.names(level))
    report["names"] = {s.code: _display_name(s.code, inputs.catalogue) for s in config.indicators}
    return report


def _level_report(result, ids: list[int], names: dict[int, str]) -> dict:
    pairs = result.missing_pairs
    hard = np.argwhere(result.hard_missing)
    report = {
        "subjects": len(ids),
        "incomplete": int(result.incomplete.sum()),
        "excluded": int(result.excluded.sum()),
        "pairs": len(pairs),
        "examples": [[names.get(ids[i], str(ids[i])), result.codes[j]] for i, j in pairs[:200].tolist()],
        "by_indicator": {result.codes[j]: int(c) for j, c in
                         zip(*np.unique(pairs[:, 1], return_counts=True), strict=True)} if len(pairs) else {},
        "hard_pairs": len(hard),
        "hard_examples": [[names.get(ids[i], str(ids[i])), result.codes[j]] for i, j in hard[:200].tolist()],
    }
    if result.bonus_weight is not None:
        report["bonus"] = {"weight_sum": float(np.sum(result.bonus_weight)),
                           "undistributed": bool(result.bonus_undistributed)}
    return report


def _hash_payload(inputs: Inputs) -> dict:
    return {"config": inputs.config.to_dict(), "options": inputs.options,
            "values": sorted([lvl, code, sid, v, npv] for (lvl, code), d in inputs.values.items()
                             for sid, (v, npv) in d.items()),
            "soft": sorted([lvl, code, sid, v] for (lvl, code), b in inputs.soft_values.items()
                           for sid, v in b["values"].items())}


def _finish_run(run: ScoreRun, report: dict, inputs_hash: str, log: StepLog) -> None:
    run.missing = report
    run.inputs_hash = inputs_hash
    log(_("完成"))
    run.steps = list(log.steps)
    run.status = "done"
    run.finished_at = utcnow()
    db.session.flush()


def _display_name(code: str, catalogue: dict) -> str:
    ind = catalogue.get(base_code(code))
    name = ind.name if ind else code
    return name + _("（单位均值）") if code != base_code(code) else name


RESULT_COLUMNS = ("run_id", "level", "unit_id", "officer_id", "category", "total", "adjusted_total", "coefficient",
                  "rank", "rank_overall", "grade", "bonus_cents", "coverage", "excluded", "breakdown")


def _floats(values) -> list:
    """A (n,) or (n, m) array as (nested) lists of Python floats, None where NaN (as :func:`_f` one
    by one): numpy makes the floats, Python visits only the NaNs."""
    values = np.asarray(values, dtype=np.float64)
    out = values.tolist()
    missing = np.argwhere(np.isnan(values)).tolist()
    if values.ndim == 1:
        for (i,) in missing:
            out[i] = None
    else:
        for i, j in missing:
            out[i][j] = None
    return out


def _bools(values) -> list:
    return np.asarray(values, dtype=bool).tolist()


BREAKDOWN_CHUNK = 2_000  # subjects whose columns are Python lists at a time (a province's would take hundreds of MB)


def _json_items(values: list) -> list[str]:
    """The JSON text of each number, bool or None of a list, in one call (their texts hold no comma)."""
    return json_text(values)[1:-1].split(",") if values else []


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


class _Breakdowns:
    """Each subject's breakdown (every indicator's raw value → normalised score → weight →
    contribution, the dimensions, the total as shown, the bonus) as JSON text, built a chunk of
    subjects at a time (:meth:`load`): a province has hundreds of thousands of indicator entries.
    Whole columns are written as JSON at once and each entry is put together from their texts and
    the indicator's constant fields, written once: no dict per entry, no encoder walking it. The
    text is the JSON that ``json.dumps`` would write of the same dict, keys in the same order."""

    def __init__(self, result, shown, specs: dict, catalogue: dict, details: dict, bonus_settings, headcount):
        self.result, self.shown, self.details, self.headcount = result, shown, details, headcount
        # (m,) the entry's fields that do not depend on the subject: (text before "raw", text between
        # "hard_missing" and "target")
        self.constant: list[tuple[str, str]] = []
        for j, code in enumerate(result.codes):
            spec, ind = specs[code], catalogue.get(base_code(code))
            head = {"code": code, "name": ind.name if ind else code,
                    "unit_of_measure": ind.unit_of_measure if ind else "",
                    "dimension": result.dimensions[int(result.indicator_dimension[j])],
                    "aggregated": code != base_code(code), "soft": bool(ind and ind.is_soft)}
            middle = {"method": spec.method, "direction": spec.direction, "per_capita": spec.per_capita}
            self.constant.append((json_text(head)[:-1] + ',"raw":', json_text(middle)[1:-1] + ","))
        self.dimension_heads = ['{"code":' + json_text(d) + ',"weight":' for d in result.dimensions]
        self.scale = shown.scale
        self.bonus_settings = bonus_settings
        self.first = 0
        self.load(slice(0, 0))

    def load(self, rows: slice) -> None:
        """Make the subjects ``rows`` (a slice from ``rows.start``) the ones that ``self(i)`` builds,
        ``i`` counted from ``rows.start``."""
        result, shown, scale = self.result, self.shown, self.scale
        self.first = rows.start
        self.entries = [self._entries(rows, j) for j in range(len(self.constant))]  # (m, chunk) texts
        self.hard_missing = [_json_bool(x) for x in _bools(np.asarray(result.hard_missing[rows]).any(axis=1))]
        self.dimensions = [
            [f'{head}{w},"score":{s},"contribution":{c},"shown":{sh}}}' for w, s, c, sh in zip(
                _json_items(_floats(result.dimension_weight[rows, k])),
                _json_items(_floats(result.dimension_score[rows, k])),
                _json_items(_floats(result.dimension_contribution[rows, k])),
                _json_items([x / scale for x in shown.dimension[rows, k].tolist()]), strict=True)]
            for k, head in enumerate(self.dimension_heads)]  # (k, chunk)
        self.shown_total = _json_items([x / scale for x in shown.total[rows].tolist()])
        self.incomplete = [_json_bool(x) for x in _bools(result.incomplete[rows])]
        self.bonus = None
        if result.bonus_weight is not None:
            headcount = self.headcount
            self.bonus = {"weight": np.asarray(result.bonus_weight, dtype=np.float64)[rows].tolist(),
                          "weight_sum": float(np.sum(result.bonus_weight)),
                          "headcount": headcount[rows].tolist() if headcount is not None else None}

    def _entries(self, rows: slice, j: int) -> list[str]:
        """Indicator ``j`` of the subjects ``rows``: one entry each, with what its score was
        measured against."""
        result, scale, details, first = self.result, self.scale, self.details, rows.start
        before_raw, middle = self.constant[j]
        texts = [_json_items(column) for column in (
            _floats(result.raw[rows, j]), _floats(result.normalised[rows, j]), _floats(result.weight[rows, j]),
            _floats(result.contribution[rows, j]), [x / scale for x in self.shown.contribution[rows, j].tolist()],
            _bools(result.missing[rows, j]), _bools(result.hard_missing[rows, j]), _floats(result.target[rows, j]),
            _floats(result.floor[rows, j]), _floats(result.reference_low[rows, j]),
            _floats(result.reference_high[rows, j]), _bools(result.pooled[rows, j]))]
        # most entries (hard indicators) have no details: their text without a call to write it
        subjects = range(first, first + len(texts[0]))
        texts.append([json_text(d) if (d := details.get((i, j))) else "{}" for i in subjects])
        return [f'{before_raw}{raw},"normalised":{normalised},"weight":{weight},"contribution":{contribution},'
                f'"shown":{shown},"missing":{missing},"hard_missing":{hard_missing},{middle}"target":{target},'
                f'"floor":{floor},"worst":{worst},"best":{best},"pooled":{pooled},"details":{entry_details}}}'
                for raw, normalised, weight, contribution, shown, missing, hard_missing, target, floor, worst, best,
                pooled, entry_details in zip(*texts, strict=True)]

    def bonus_entry(self, i: int) -> dict | None:
        if self.bonus is None:
            return None
        settings, headcount = self.bonus_settings, self.bonus["headcount"]
        return {"weight": self.bonus["weight"][i], "floor": settings.floor, "on": settings.on,
                "basis": settings.basis, "pool_cents": settings.pool_cents, "weight_sum": self.bonus["weight_sum"],
                "headcount": headcount[i] if headcount is not None else None,
                "undistributed": bool(self.result.bonus_undistributed)}

    def __call__(self, i: int, head: str | None = None) -> JsonText:
        """Subject ``i``'s breakdown; ``head``: its station head (负责人), kept with a unit's result."""
        text = (f'{{"indicators":[{",".join(entries[i] for entries in self.entries)}],'
                f'"dimensions":[{",".join(dimension[i] for dimension in self.dimensions)}],'
                f'"total_shown":{self.shown_total[i]},"incomplete":{self.incomplete[i]},'
                f'"hard_missing":{self.hard_missing[i]},"bonus":{json_text(self.bonus_entry(i))}')
        if head is not None:
            text += ',"head":' + json_text(head)
        return JsonText(text + "}")


def _store_results(run: ScoreRun, level: str, li: LevelInput, result, catalogue: dict, heads: dict) -> None:
    """Store: one ScoreResult per subject with its whole breakdown, in one bulk insert (results are
    written once and have no ORM events on insert)."""
    config = AssessmentConfig.from_dict(run.config)
    breakdowns = _Breakdowns(result, rounded_breakdown(result), {s.code: s for s in config.indicators}, catalogue,
                             li.details, config.bonus, li.matrix.headcount)
    grade_codes = result.grade_codes
    total, adjusted = _floats(result.total), _floats(result.adjusted_total)
    coefficient = np.asarray(result.coefficient, dtype=np.float64).tolist()
    coverage = np.asarray(result.coverage, dtype=np.float64).tolist()
    rank, rank_overall = result.rank.tolist(), result.rank_overall.tolist()
    excluded, category = _bools(result.excluded), li.matrix.category.tolist()
    bonus = result.bonus_cents.tolist() if result.bonus_cents is not None else None

    def rows():
        for i, sid in enumerate(li.ids):
            if i % BREAKDOWN_CHUNK == 0:
                breakdowns.load(slice(i, i + BREAKDOWN_CHUNK))
            breakdown = breakdowns(i % BREAKDOWN_CHUNK, heads.get(sid))
            yield (run.id, level, sid if level == "unit" else None, sid if level == "officer" else None,
                   int(category[i]), total[i], adjusted[i], coefficient[i],
                   int(rank[i]) if rank[i] > 0 else None, int(rank_overall[i]) if rank_overall[i] > 0 else None,
                   grade_codes[i] or None, int(bonus[i]) if bonus is not None and not excluded[i] else None,
                   coverage[i], excluded[i], breakdown)

    insert_rows(cast(Any, ScoreResult.__table__), RESULT_COLUMNS, rows())
    db.session.expire(run, ["results"])  # written past the ORM: read them afresh


# ---- roll-ups ----------------------------------------------------------------------------------
def _compute_rollup(cycle: Cycle, method: str, user_id, reason: str, log: StepLog) -> ScoreRun:
    """Roll up the published results of the periods inside a quarter (months) or a year (quarters)."""
    config, options = cycle_config(cycle), cycle_options(cycle)
    children = _published_children(cycle, method)
    log(_("读取下级周期的已发布结果"))
    subjects = scored_subjects(cycle)
    run = _start_run(cycle, config, {**options, "rollup_method": method,
                                     "rollup_runs": [r.id for _c, r in children]}, user_id, reason, log)
    days = np.array([(c.ends_on - c.starts_on).days + 1 for c, _r in children], dtype=np.float64)
    report: dict[str, Any] = {"levels": {}, "periods": [c.name for c, _r in children]}
    hash_rows = []
    for level in LEVELS:
        subjects_level = subjects.level(level)
        if not subjects_level:
            continue
        log(_("汇总%(level)s层级", level=_("单位") if level == "unit" else _("民警")))
        ids = [sid for sid, _cat in subjects_level]
        totals = _child_totals(children, level, ids)
        if np.isnan(totals).all():
            report["levels"][level] = {"no_data": True}
            continue
        hash_rows.append([level, ids, np.nan_to_num(totals, nan=-1).round(6).tolist()])
        category = np.array([cat for _sid, cat in subjects_level], dtype=np.int64)
        counts = subjects.headcount
        headcount = np.array([counts.get(sid, 0) for sid in ids]) if level == "unit" else None
        try:
            rolled = score_rollup(totals, category, config, method=method,
                                  weights=days if method == "weighted" else None, headcount=headcount,
                                  with_bonus=options.get("bonus_level", "unit") == level)
        except ValueError as error:
            raise DomainError(_("计算失败：%(detail)s", detail=str(error))) from error
        _store_rollup(run, level, ids, category, rolled, totals, children, days, method, config,
                      subjects.heads if level == "unit" else {}, headcount)
        report["levels"][level] = {"subjects": len(ids), "excluded": int(rolled.excluded.sum()),
                                   "periods_missing": int(np.isnan(totals).sum())}
    _finish_run(run, report, _inputs_hash({"config": config.to_dict(), "method": method, "rows": hash_rows}), log)
    record("score_run_computed", "cycle", cycle.id,
           after={"run": run.id, "version": run.version, "rollup": method, "inputs_hash": run.inputs_hash},
           note=reason)
    return run


def _published_children(cycle: Cycle, method: str) -> list[tuple[Cycle, ScoreRun]]:
    """The child periods and their published runs; DomainError when one has none."""
    child_kind = ROLLUP_CHILD.get(cycle.kind)
    if child_kind is None:
        raise DomainError(_("只有季度和年度周期可以汇总下级周期的结果。"), field="rollup")
    if method not in ("mean", "last", "weighted"):
        raise DomainError(_("未知的汇总方法。"), field="rollup")
    kind_name = _("月") if child_kind == "month" else _("季度")
    children = db.session.execute(
        db.select(Cycle).where(Cycle.kind == child_kind, Cycle.starts_on >= cycle.starts_on,
                               Cycle.ends_on <= cycle.ends_on, scope.same_bureau(Cycle.bureau_id, cycle.bureau_id))
        .order_by(Cycle.starts_on)).scalars().all()
    if not children:
        raise DomainError(_("此周期内没有下级周期（%(kind)s），无法汇总。", kind=kind_name), field="rollup")
    runs = [(c, published_run(c)) for c in children]
    unpublished = [c.name for c, r in runs if r is None]
    if unpublished:
        raise DomainError(_("只能汇总已发布的结果；以下下级周期尚未发布：%(names)s。",
                            names="、".join(unpublished)), field="rollup")
    return cast(list[tuple[Cycle, ScoreRun]], runs)  # none unpublished


def _child_totals(children, level: str, ids: list[int]) -> np.ndarray:
    index = {sid: i for i, sid in enumerate(ids)}
    totals = np.full((len(children), len(ids)), np.nan)
    for p, (_c, r) in enumerate(children):
        rows = db.session.execute(db.select(ScoreResult.unit_id, ScoreResult.officer_id, ScoreResult.total)
                                  .where(ScoreResult.run_id == r.id, ScoreResult.level == level)).all()
        for unit_id, officer_id, total in rows:
            sid = unit_id if level == "unit" else officer_id
            if sid in index and total is not None:
                totals[p, index[sid]] = total
    return totals


def _store_rollup(run, level, ids, category, rolled, totals, children, days, method, config, heads,
                  headcount) -> None:
    cons = rolled.consequences
    names = [c.name for c, _r in children]
    rows = []
    for i, sid in enumerate(ids):
        ok = not rolled.excluded[i]
        breakdown = {"rollup": {"method": method, "missing_counts_zero": True, "periods": [
            {"cycle": names[p], "total": _f(totals[p, i]), "days": int(days[p])} for p in range(len(children))]},
            "total_shown": round(float(rolled.total[i]), 2) if ok else None}
        if cons.bonus_weight is not None:
            breakdown["bonus"] = {"weight": float(cons.bonus_weight[i]), "floor": config.bonus.floor,
                                  "on": config.bonus.on, "basis": config.bonus.basis,
                                  "pool_cents": config.bonus.pool_cents,
                                  "weight_sum": float(np.sum(cons.bonus_weight)),
                                  "headcount": int(headcount[i]) if headcount is not None else None,
                                  "undistributed": bool(cons.bonus_undistributed)}
        if sid in heads:
            breakdown["head"] = heads[sid]
        rows.append(ScoreResult(
            run_id=run.id, level=level, unit_id=sid if level == "unit" else None,
            officer_id=sid if level == "officer" else None, category=int(category[i]),
            total=_f(rolled.total[i]), adjusted_total=_f(cons.adjusted_total[i]),
            coefficient=float(cons.coefficient[i]),
            rank=int(cons.rank[i]) if cons.rank[i] > 0 else None,
            rank_overall=int(cons.rank_overall[i]) if cons.rank_overall[i] > 0 else None,
            grade=GRADES[cons.grade[i]] if cons.grade[i] >= 0 else None,
            bonus_cents=int(cons.bonus_cents[i]) if cons.bonus_cents is not None and ok else None,
            coverage=float(rolled.coverage[i]), excluded=not ok, breakdown=breakdown))
    db.session.add_all(rows)
    db.session.flush()


# ---- publish -----------------------------------------------------------------------------------
def hard_missing_count(run: ScoreRun) -> int:
    """How many subject × hard-indicator values the run counted as 0 for lack of data."""
    levels = (run.missing or {}).get("levels") or {}
    return sum(int(info.get("hard_pairs") or 0) for info in levels.values())


# Checks run before a run is published; features append callables taking (run) that raise
# DomainError to refuse (e.g. the results path: only after committee approval and 公示).
BEFORE_PUBLISH: list[Callable[[ScoreRun], None]] = []


def publish_run(run: ScoreRun, user_id: int | None = None, note: str = "") -> ScoreRun:
    """Make a run the cycle's result. The cycle must be closed (it then becomes published) or
    already published (a recomputed run replaces the shown result; the old run stays as it was).
    A run that counted missing hard data as 0 is published only with a ``note`` saying why
    (stored with the run and audited)."""
    from ..admin.services import transition_cycle

    cycle = run.cycle
    note = (note or "").strip()
    if run.status == "published":
        raise DomainError(_("该版本已经发布。"))
    if run.status != "done":
        raise DomainError(_("只能发布计算完成的版本。"))
    if cycle.status not in ("closed", "published"):
        raise DomainError(_("请先关闭周期，再发布结果。"))
    previous = published_run(cycle)
    if previous is not None and not (run.reason or "").strip():
        raise DomainError(_("此周期已有发布的结果；只有填写了原因的重新计算版本才能替换它。"))
    missing_hard = hard_missing_count(run)
    if missing_hard and not note:
        raise DomainError(_("此版本有 %(n)d 项业务系统数据缺失，已按 0 分计算。请先补齐数据并重新计算，"
                            "或填写发布原因（将记入审计日志）。", n=missing_hard), field="note")
    for check in BEFORE_PUBLISH:
        check(run)
    result = cast(CursorResult[Any], db.session.execute(  # an UPDATE's result
        db.update(ScoreRun).where(ScoreRun.id == run.id, ScoreRun.status == "done")
        .values(status="published", published_at=utcnow(), published_by_id=user_id, publish_note=note)
        .execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_("该版本的状态已被其他人修改，请刷新后重试。"))
    db.session.refresh(run)
    if cycle.status == "closed":
        transition_cycle(cycle, "published")
    record("score_run_published", "cycle", cycle.id,
           before={"run": previous.id, "version": previous.version} if previous else None,
           after={"run": run.id, "version": run.version, "inputs_hash": run.inputs_hash,
                  "missing_hard": missing_hard, "publish_note": note},
           note=note or run.reason)
    db.session.flush()
    return run


def require_published_run(cycle: Cycle) -> None:
    """BEFORE_TRANSITION["published"]: a cycle is published only with a published run."""
    if published_run(cycle) is None:
        raise DomainError(_("请在考评结果中选择一个计算版本发布，周期会随之发布。"))


# ---- reading results ---------------------------------------------------------------------------
def run_results(run: ScoreRun, level: str) -> dict[int, list[ScoreResult]]:
    """Category → results ordered by rank (unranked last)."""
    rows = db.session.execute(
        db.select(ScoreResult).where(ScoreResult.run_id == run.id, ScoreResult.level == level)
        .options(joinedload(ScoreResult.unit), joinedload(ScoreResult.officer).joinedload(Officer.unit))
        .order_by(ScoreResult.category, ScoreResult.rank.is_(None), ScoreResult.rank, ScoreResult.id)
    ).scalars().all()
    out: dict[int, list[ScoreResult]] = defaultdict(list)
    for row in rows:
        out[row.category].append(row)
    return dict(out)


def officer_ranking(run: ScoreRun, page: int = 1, per_page: int = 25, search: str = "", category: int | None = None,
                    unit_id: int | None = None):
    """One page of the run's officer results (by category, then rank; unranked last), filtered by a
    name or badge number, a category and a station: a province's ranking is never sent whole."""
    query = (db.select(ScoreResult).join(Officer, Officer.id == ScoreResult.officer_id)
             .options(contains_eager(ScoreResult.officer).joinedload(Officer.unit))
             .where(ScoreResult.run_id == run.id, ScoreResult.level == "officer")
             .order_by(ScoreResult.category, ScoreResult.rank.is_(None), ScoreResult.rank, ScoreResult.id))
    search = (search or "").strip()
    if search:
        query = query.where(Officer.name.contains(search, autoescape=True) | (Officer.badge_no == search))
    if category is not None:
        query = query.where(ScoreResult.category == category)
    if unit_id is not None:
        query = query.where(Officer.unit_id == unit_id)
    return db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)


def by_category(results) -> dict[int, list[ScoreResult]]:
    """Category → results, keeping their order (for the ranking tables)."""
    out: dict[int, list[ScoreResult]] = defaultdict(list)
    for row in results:
        out[row.category].append(row)
    return dict(out)
# Predicates that open an unpublished run to the people who may see a published one (e.g. the
# results path: a run on public notice, 公示).
SHOWN_BEFORE_PUBLISHED: list[Callable[[ScoreRun], bool]] = []


def is_shown(run: ScoreRun) -> bool:
    """A published run, or one a feature opens before (a provisional result on notice)."""
    return run.status == "published" or any(shown(run) for shown in SHOWN_BEFORE_PUBLISHED)


def can_view_result(user, result: ScoreResult) -> bool:
    if user.has_role("admin"):
        return True
    if not is_shown(result.run):
        return False
    if result.level == "unit":
        return True
    officer = user.officer
    if officer is None:
        return False
    if result.officer_id == officer.id:
        return True
    return (user.has_role("supervisor") and officer.is_leader
            and cast(Officer, result.officer).unit_id == officer.unit_id)  # an officer-level result


def consecutive_last_flags() -> list[dict]:
    """Units last in their category in two consecutive annual cycles (约谈), from the published
    results of annual cycles, newest pair first. Each year is judged in the unit's category of
    that year (as stored with its result); a unit without a total for lack of data counts as
    last. Each flag names the unit's head (负责人) in both years, as stored with the results."""
    years = db.session.execute(  # per bureau: a pair of years is always of one bureau
        db.select(Cycle).where(Cycle.kind == "year", scope.cycle_clause())
        .order_by(Cycle.bureau_id, Cycle.starts_on)).scalars().all()
    runs = [(c, r) for c in years if (r := published_run(c)) is not None]
    if len(runs) < 2:
        return []
    rows = db.session.execute(
        db.select(ScoreResult).where(ScoreResult.run_id.in_([r.id for _c, r in runs]),
                                     ScoreResult.level == "unit")
        .options(selectinload(ScoreResult.unit))).scalars().all()
    by_run: dict[int, dict[int, ScoreResult]] = defaultdict(dict)
    for res in rows:
        by_run[res.run_id][res.unit_id] = res
    flags = []
    for p in range(len(runs) - 1, 0, -1):
        (c0, r0), (c1, r1) = runs[p - 1], runs[p]
        if c1.starts_on.year - c0.starts_on.year != 1 or c1.bureau_id != c0.bureau_id:
            continue
        flags.extend(_flags_of_pair((c0, c1), (by_run[r0.id], by_run[r1.id])))
    return flags


def _flags_of_pair(cycles, results) -> list[dict]:
    unit_ids = sorted(set(results[0]) | set(results[1]))
    ranks = np.full((2, len(unit_ids)), np.nan)
    category = np.zeros((2, len(unit_ids)), dtype=np.int64)
    for y in (0, 1):
        for i, uid in enumerate(unit_ids):
            res = results[y].get(uid)
            if res is None:
                continue
            category[y, i] = res.category
            ranks[y, i] = np.inf if res.excluded or res.rank is None else res.rank
    flags = []
    for i in np.flatnonzero(consecutive_last(ranks, category, years=2)).tolist():
        years = [results[y][unit_ids[i]] for y in (0, 1)]
        flags.append({"unit": years[1].unit, "cycles": list(cycles),
                      "categories": [r.category for r in years],
                      "ranks": [r.rank for r in years],
                      "no_total": [bool(r.excluded or r.rank is None) for r in years],
                      "coverage": [r.coverage for r in years],
                      "heads": [(r.breakdown or {}).get("head") or "" for r in years]})
    return flags


def dual_track_groups(run: ScoreRun, level: str = "officer", k: int = 3, page: int = 1, top_page: int = 1,
                      per_page: int | None = None) -> dict:
    """The top group (priority training) and the bottom group with a development plan each:
    the weakest competencies (from the soft_360 details when present) and indicators, with the
    evidence (raw value and normalised score).

    The groups are found from the totals alone; only the shown results are loaded whole (with their
    officer and unit, in the same query): three queries whatever the size of the run. ``per_page``
    pages both lists (``top_page`` the top group, ``page`` the plans); None shows them whole.
    """
    options = run.options or {}
    shares = options.get("dual_track") or {"top_share": 10.0, "bottom_share": 10.0}
    top_ids, bottom_ids = _dual_track_ids(run, level, shares)
    if top_ids is None:
        return {"top": [], "bottom": [], "shares": shares, "top_page": None, "page": None}
    top_list = ListPage(top_ids, top_page, per_page or max(1, len(top_ids)))
    plan_list = ListPage(bottom_ids, page, per_page or max(1, len(bottom_ids)))
    loaded = _shown_results(run, level, top_list.ids + plan_list.ids if per_page else None)
    return {"top": [loaded[i] for i in top_list.ids],
            "bottom": [_development_plan(loaded[i], k) for i in plan_list.ids], "shares": shares,
            "top_page": top_list, "page": plan_list}


def _dual_track_ids(run: ScoreRun, level: str, shares: dict) -> tuple[list[int] | None, list[int]]:
    """Result ids of the top group (by category, then rank) and of the bottom group, from the
    totals alone; (None, []) when the run has no results at this level."""
    light = db.session.execute(
        db.select(ScoreResult.id, ScoreResult.adjusted_total, ScoreResult.category, ScoreResult.rank)
        .where(ScoreResult.run_id == run.id, ScoreResult.level == level).order_by(ScoreResult.id)).all()
    if not light:
        return None, []
    scores = np.array([np.nan if r.adjusted_total is None else r.adjusted_total for r in light])
    cats = np.array([r.category for r in light], dtype=np.int64)
    top, bottom = dual_track(scores, float(shares["top_share"]) / 100, float(shares["bottom_share"]) / 100,
                             groups=cats)
    top_ids = [light[i].id for i in sorted(np.flatnonzero(top).tolist(),
                                           key=lambda i: (light[i].category, light[i].rank or 0))]
    return top_ids, [light[i].id for i in np.flatnonzero(bottom).tolist()]


def _shown_results(run: ScoreRun, level: str, ids: list[int] | None) -> dict[int, ScoreResult]:
    """The results to show (at most two pages of ids; None: the whole level), with their unit,
    officer and officer's unit, in one query."""
    query = (db.select(ScoreResult)
             .options(joinedload(ScoreResult.unit), joinedload(ScoreResult.officer).joinedload(Officer.unit)))
    if ids is not None:
        query = query.where(ScoreResult.id.in_(ids))
    else:
        query = query.where(ScoreResult.run_id == run.id, ScoreResult.level == level)
    return {r.id: r for r in db.session.execute(query).unique().scalars()}


def _development_plan(result: ScoreResult, k: int) -> dict:
    """A bottom-group subject's plan: its ``k`` weakest indicators and its two weakest 360
    competencies, from the breakdown stored with the result."""
    inds = list((result.breakdown or {}).get("indicators", []))
    return {"result": result, "indicators": _weakest_indicators(inds, k), "competencies": _weakest_competencies(inds)}


def _weakest_indicators(inds: list[dict], k: int) -> list[dict]:
    if not inds:
        return []
    normalised = np.array([[np.nan if x["normalised"] is None else x["normalised"] for x in inds]])
    return [inds[j] for j in weakest(normalised, k)[0] if j >= 0]


def _weakest_competencies(inds: list[dict]) -> list[tuple[str, Any]]:
    """The two weakest competencies (name, score 1–5) of the soft_360 indicator's details."""
    competencies: list[tuple[str, Any]] = []
    for x in inds:
        comp = x["details"].get("competencies")
        if base_code(x["code"]) == "soft_360" and isinstance(comp, dict):
            names = list(comp)
            vals = np.array([[np.nan if comp[n] is None else float(comp[n]) for n in names]])
            competencies = [(names[j], comp[names[j]]) for j in weakest(vals, 2)[0] if j >= 0]
    return competencies


def export_rows(run: ScoreRun) -> tuple[list[str], Iterator[list]]:
    """The run's results as a table (both levels) for an .xlsx export. The rows are read lazily, in
    batches, with their unit and officer in the same query: stream them into the file."""
    header = [_("层级"), _("类别"), _("单位代码"), _("警号"), _("名称"), _("总分"), _("难度系数"),
              _("难度加权分（可超过 100）"), _("类别内排名"), _("等次"), _("奖金（元）"), _("数据覆盖率")]
    from .catalogue import GRADE_LABELS, LEVEL_LABELS

    def rows():
        for level in ("unit", "officer"):
            label = str(LEVEL_LABELS[level])
            query = (db.select(ScoreResult.category, Unit.code, Officer.badge_no, Unit.name, Officer.name,
                               ScoreResult.total, ScoreResult.coefficient, ScoreResult.adjusted_total,
                               ScoreResult.rank, ScoreResult.grade, ScoreResult.bonus_cents, ScoreResult.coverage)
                     .outerjoin(Officer, Officer.id == ScoreResult.officer_id)
                     .join(Unit, Unit.id == db.func.coalesce(ScoreResult.unit_id, Officer.unit_id))
                     .where(ScoreResult.run_id == run.id, ScoreResult.level == level)
                     .order_by(ScoreResult.category, ScoreResult.rank.is_(None), ScoreResult.rank, ScoreResult.id))
            for (category, code, badge, unit_name, officer_name, total, coefficient, adjusted, rank, grade, bonus,
                 coverage) in db.session.execute(query.execution_options(yield_per=2000)):
                yield [label, category, code, badge if level == "officer" else "",
                       unit_name if level == "unit" else officer_name,
                       None if total is None else round(total, 2), coefficient,
                       None if adjusted is None else round(adjusted, 2), rank,
                       str(GRADE_LABELS[grade]) if grade else "",
                       None if bonus is None else bonus / 100, round(coverage, 4)]

    return header, rows()


def cycles_with_runs() -> list[tuple[Cycle, ScoreRun | None, ScoreRun | None]]:
    cycles = db.session.execute(db.select(Cycle).where(scope.cycle_clause())
                                .order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars().all()
    return [(c, published_run(c), latest_run(c, ("computing", "done", "failed", "published"))) for c in cycles]

