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
from dataclasses import replace

import numpy as np
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from scoring.assessment import (
    GRADES,
    AssessmentConfig,
    BonusSettings,
    IndicatorMatrix,
    assign_grades,
    consecutive_last,
    dual_track,
    rank_within,
    rollup,
    rounded_breakdown,
    score_assessment,
    split_bonus,
    weakest,
)

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Indicator, IndicatorValue, Officer, ScoreResult, ScoreRun, Unit, utcnow
from ..paging import ListPage
from . import soft
from .catalogue import base_code
from .services import cycle_config, cycle_options, indicator_map

ROLLUP_CHILD = {"quarter": "month", "year": "quarter"}


def _f(x) -> float | None:
    """numpy scalar → JSON-safe float (NaN → None)."""
    x = float(x)
    return None if math.isnan(x) else x


# ---- subjects ----------------------------------------------------------------------------------
def scored_subjects() -> tuple[list[Unit], list[Officer], dict[int, int], dict[int, int]]:
    """Active stations and the active officers of stations, with station → category and
    officer → station. Officers outside stations (squads, bureau) have no station category and
    are not ranked in the main assessment."""
    units = db.session.execute(
        db.select(Unit).where(Unit.kind == "station", Unit.is_active).order_by(Unit.code)).scalars().all()
    unit_category = {u.id: int(u.category) for u in units}
    officers = db.session.execute(
        db.select(Officer).where(Officer.is_active, Officer.unit_id.in_(list(unit_category)))
        .order_by(Officer.badge_no)).scalars().all()
    officer_unit = {o.id: o.unit_id for o in officers}
    return units, officers, unit_category, officer_unit


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


def _load_values(cycle: Cycle, inds_by_id: dict[int, Indicator]):
    """{(level, code): {subject id: (value, nonpreventable)}} of the cycle's current values."""
    out: dict[tuple[str, str], dict[int, tuple[float, float | None]]] = defaultdict(dict)
    rows = db.session.execute(
        db.select(IndicatorValue.indicator_id, IndicatorValue.unit_id, IndicatorValue.officer_id,
                  IndicatorValue.value, IndicatorValue.nonpreventable)
        .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.is_current)).all()
    for ind_id, unit_id, officer_id, value, nonprev in rows:
        ind = inds_by_id.get(ind_id)
        if ind is None:
            continue
        if unit_id is not None:
            out[("unit", ind.code)][unit_id] = (value, nonprev)
        else:
            out[("officer", ind.code)][officer_id] = (value, nonprev)
    return out


def compute_run(cycle: Cycle, user_id: int | None = None, reason: str = "", rollup_method: str = "",
                progress: Callable[[str], None] | None = None) -> ScoreRun:
    """Compute the cycle's results into a new ScoreRun (status "done").

    rollup_method : "" to score this cycle's own data; "mean" | "last" | "weighted" to roll up the
        results of the months (quarter) or quarters (year) inside it instead.
    progress : called with a short message at each step (the CLI prints them).
    Raises DomainError (nothing stored) for a draft cycle, a recompute of a published cycle
    without a reason, or a cycle without any data.
    """
    def step(message: str) -> None:
        steps.append({"at": utcnow().isoformat(timespec="seconds"), "step": message})
        if progress:
            progress(message)

    steps: list[dict] = []
    reason = (reason or "").strip()
    if cycle.status == "draft":
        raise DomainError(_("周期尚未开启，考评设置还没有冻结，不能计算。"))
    if published_run(cycle) is not None and not reason:
        raise DomainError(_("此周期已发布结果；重新计算会生成新的版本，必须填写原因。"), field="reason")
    config = cycle_config(cycle)
    options = cycle_options(cycle)
    if rollup_method:
        return _compute_rollup(cycle, config, options, rollup_method, user_id, reason, step, steps)

    step(_("读取数据池"))
    catalogue = indicator_map()
    inds_by_id = {i.id: i for i in catalogue.values()}
    values = _load_values(cycle, inds_by_id)
    units, officers, unit_category, officer_unit = scored_subjects()
    step(_("读取柔性指标（%(n)d 个来源）", n=len(soft.SOFT_PROVIDERS)))
    provided = soft.collect(cycle)
    soft_values = soft.soft_indicator_values(provided, unit_category, officer_unit)

    subjects = {"unit": [(u.id, int(u.category)) for u in units],
                "officer": [(o.id, unit_category[o.unit_id]) for o in officers]}
    matrices, details, missing_report = {}, {}, {"levels": {}, "soft_without_provider": []}
    for level in ("unit", "officer"):
        specs = config.specs(level)
        ids = [sid for sid, _cat in subjects[level]]
        if not specs or not ids:
            continue
        index = {sid: i for i, sid in enumerate(ids)}
        vals = np.full((len(ids), len(specs)), np.nan)
        nonprev = np.full((len(ids), len(specs)), np.nan)
        det: dict[tuple[int, int], dict] = {}
        for j, spec in enumerate(specs):
            code = spec.code
            ind = catalogue.get(base_code(code))
            if ind is not None and ind.is_soft:
                block = soft_values.get((level, code))
                if block is None:
                    missing_report["soft_without_provider"].append(code)
                    continue
                for sid, v in block["values"].items():
                    if sid in index:
                        vals[index[sid], j] = v
                        det[(index[sid], j)] = block["details"].get(sid) or {}
                continue
            if code != base_code(code):  # an officer-level hard indicator averaged for units
                by_unit: dict[int, list[float]] = defaultdict(list)
                for oid, (v, _np) in values.get(("officer", base_code(code)), {}).items():
                    if oid in officer_unit:
                        by_unit[officer_unit[oid]].append(v)
                for uid, vs in by_unit.items():
                    if uid in index:
                        vals[index[uid], j] = sum(vs) / len(vs)
                        det[(index[uid], j)] = {"officers": len(vs), "rule": "mean"}
                continue
            for sid, (v, npv) in values.get((level, code), {}).items():
                if sid in index:
                    vals[index[sid], j] = v
                    if npv is not None:
                        nonprev[index[sid], j] = npv
                        if spec.split_preventable:
                            det[(index[sid], j)] = {"preventable": v, "nonpreventable": npv,
                                                    "nonpreventable_weight": spec.nonpreventable_weight}
            if spec.split_preventable:
                # A preventable count without its non-preventable part is incomplete: missing.
                vals[:, j] = np.where(np.isnan(nonprev[:, j]), np.nan, vals[:, j])
        if np.isnan(vals).all():
            missing_report["levels"][level] = {"no_data": True}
            continue
        category = np.array([cat for _sid, cat in subjects[level]], dtype=np.int64)
        matrices[level] = (ids, IndicatorMatrix(codes=tuple(s.code for s in specs), values=vals,
                                                category=category, nonpreventable=nonprev))
        details[level] = det
    if not matrices:
        raise DomainError(_("此周期还没有任何指标数据（单位和民警层级都没有），无法计算。请先导入数据。"))

    run = ScoreRun(cycle_id=cycle.id, version=_next_version(cycle), created_by_id=user_id, reason=reason,
                   status="computing", config=config.to_dict(), options={**options, "rollup_method": ""},
                   steps=steps)
    db.session.add(run)
    flush_or_fail(_("有人正在同时计算此周期，请稍后刷新查看。"))
    hash_input = {"config": config.to_dict(), "options": options,
                  "values": sorted([lvl, code, sid, v, npv] for (lvl, code), d in values.items()
                                   for sid, (v, npv) in d.items()),
                  "soft": sorted([lvl, code, sid, v] for (lvl, code), b in soft_values.items()
                                 for sid, v in b["values"].items())}
    names = {"unit": {u.id: u.name for u in units}, "officer": {o.id: f"{o.name}（{o.badge_no}）" for o in officers}}
    for level, (ids, matrix) in matrices.items():
        step(_("计算%(level)s层级（%(n)d 个对象）", level=_("单位") if level == "unit" else _("民警"), n=len(ids)))
        level_config = config
        if options.get("bonus_level", "unit") != level:
            level_config = replace(config, bonus=BonusSettings(floor=config.bonus.floor, on=config.bonus.on))
        try:
            result = score_assessment(matrix, level_config)
        except ValueError as error:
            raise DomainError(_("计算失败：%(detail)s", detail=str(error))) from error
        _store_results(run, level, ids, matrix.category, result, details[level], catalogue)
        pairs = result.missing_pairs
        missing_report["levels"][level] = {
            "subjects": len(ids),
            "incomplete": int(result.incomplete.sum()),
            "excluded": int(result.excluded.sum()),
            "pairs": len(pairs),
            "examples": [[names[level].get(ids[i], str(ids[i])), result.codes[j]] for i, j in pairs[:200].tolist()],
            "by_indicator": {result.codes[j]: int(c) for j, c in
                             zip(*np.unique(pairs[:, 1], return_counts=True), strict=True)} if len(pairs) else {},
        }
    missing_report["names"] = {s.code: _display_name(s.code, catalogue) for s in config.indicators}
    run.missing = missing_report
    run.inputs_hash = _inputs_hash(hash_input)
    step(_("完成"))
    run.steps = list(steps)
    run.status = "done"
    run.finished_at = utcnow()
    db.session.flush()
    record("score_run_computed", "cycle", cycle.id, after={"run": run.id, "version": run.version,
                                                           "inputs_hash": run.inputs_hash},
           note=reason)
    return run


def _display_name(code: str, catalogue: dict) -> str:
    ind = catalogue.get(base_code(code))
    name = ind.name if ind else code
    return name + _("（单位均值）") if code != base_code(code) else name


def _store_results(run: ScoreRun, level: str, ids: list[int], category, result, details: dict,
                   catalogue: dict) -> None:
    shown = rounded_breakdown(result)
    grade_codes = result.grade_codes
    rows = []
    for i, sid in enumerate(ids):
        indicators = []
        for j, code in enumerate(result.codes):
            ind = catalogue.get(base_code(code))
            indicators.append({
                "code": code, "name": ind.name if ind else code, "unit_of_measure": ind.unit_of_measure if ind else "",
                "dimension": result.dimensions[int(result.indicator_dimension[j])],
                "aggregated": code != base_code(code), "soft": bool(ind and ind.is_soft),
                "raw": _f(result.raw[i, j]), "normalised": _f(result.normalised[i, j]),
                "weight": _f(result.weight[i, j]), "contribution": _f(result.contribution[i, j]),
                "shown": int(shown.contribution[i, j]) / shown.scale, "missing": bool(result.missing[i, j]),
                "details": details.get((i, j)) or {},
            })
        dims = [{"code": d, "weight": _f(result.dimension_weight[i, k]), "score": _f(result.dimension_score[i, k]),
                 "contribution": _f(result.dimension_contribution[i, k]),
                 "shown": int(shown.dimension[i, k]) / shown.scale} for k, d in enumerate(result.dimensions)]
        excluded = bool(result.excluded[i])
        rows.append(ScoreResult(
            run_id=run.id, level=level, unit_id=sid if level == "unit" else None,
            officer_id=sid if level == "officer" else None, category=int(category[i]),
            total=_f(result.total[i]), adjusted_total=_f(result.adjusted_total[i]),
            coefficient=float(result.coefficient[i]),
            rank=int(result.rank[i]) if result.rank[i] > 0 else None,
            rank_overall=int(result.rank_overall[i]) if result.rank_overall[i] > 0 else None,
            grade=grade_codes[i] or None,
            bonus_cents=int(result.bonus_cents[i]) if result.bonus_cents is not None and not excluded else None,
            coverage=float(result.coverage[i]), excluded=excluded,
            breakdown={"indicators": indicators, "dimensions": dims,
                       "total_shown": int(shown.total[i]) / shown.scale, "incomplete": bool(result.incomplete[i])},
        ))
    db.session.add_all(rows)
    db.session.flush()


def _compute_rollup(cycle, config: AssessmentConfig, options, method, user_id, reason, step, steps) -> ScoreRun:
    """Roll up the results of the periods inside a quarter (months) or a year (quarters)."""
    child_kind = ROLLUP_CHILD.get(cycle.kind)
    if child_kind is None:
        raise DomainError(_("只有季度和年度周期可以汇总下级周期的结果。"), field="rollup")
    if method not in ("mean", "last", "weighted"):
        raise DomainError(_("未知的汇总方法。"), field="rollup")
    step(_("读取下级周期的结果"))
    children = db.session.execute(
        db.select(Cycle).where(Cycle.kind == child_kind, Cycle.starts_on >= cycle.starts_on,
                               Cycle.ends_on <= cycle.ends_on).order_by(Cycle.starts_on)).scalars().all()
    runs = [(c, published_run(c) or latest_run(c)) for c in children]
    runs = [(c, r) for c, r in runs if r is not None]
    if not runs:
        raise DomainError(_("此周期内没有已计算的下级周期（%(kind)s），无法汇总。",
                            kind=_("月") if child_kind == "month" else _("季度")), field="rollup")
    units, officers, unit_category, officer_unit = scored_subjects()
    run = ScoreRun(cycle_id=cycle.id, version=_next_version(cycle), created_by_id=user_id, reason=reason,
                   status="computing", config=config.to_dict(),
                   options={**options, "rollup_method": method, "rollup_runs": [r.id for _c, r in runs]}, steps=steps)
    db.session.add(run)
    flush_or_fail(_("有人正在同时计算此周期，请稍后刷新查看。"))
    days = np.array([(c.ends_on - c.starts_on).days + 1 for c, _r in runs], dtype=np.float64)
    missing = {"levels": {}, "periods": [c.name for c, _r in runs]}
    hash_rows = []
    for level, ids, cats in (("unit", [u.id for u in units], [u.category for u in units]),
                             ("officer", [o.id for o in officers], [unit_category[o.unit_id] for o in officers])):
        if not ids:
            continue
        step(_("汇总%(level)s层级", level=_("单位") if level == "unit" else _("民警")))
        index = {sid: i for i, sid in enumerate(ids)}
        totals = np.full((len(runs), len(ids)), np.nan)
        for p, (_c, r) in enumerate(runs):
            for res in db.session.execute(db.select(ScoreResult).where(ScoreResult.run_id == r.id,
                                                                       ScoreResult.level == level)).scalars():
                sid = res.unit_id if level == "unit" else res.officer_id
                if sid in index and res.total is not None:
                    totals[p, index[sid]] = res.total
        if np.isnan(totals).all():
            missing["levels"][level] = {"no_data": True}
            continue
        hash_rows.append([level, ids, np.nan_to_num(totals, nan=-1).round(6).tolist()])
        total = rollup(totals, method=method, weights=days if method == "weighted" else None)
        category = np.array(cats, dtype=np.int64)
        coefficient = np.array([config.difficulty.get(int(c), 1.0) for c in cats])
        adjusted = total * coefficient
        cat_idx = np.asarray(np.unique(category, return_inverse=True)[1]).reshape(-1)
        rank = rank_within(adjusted, cat_idx)
        rank_overall = rank_within(adjusted)
        graded = adjusted if config.grades.on == "adjusted" else total
        grade = assign_grades(graded, category, config.grades)
        bonus = None
        if config.bonus.pool_cents is not None and options.get("bonus_level", "unit") == level:
            on = adjusted if config.bonus.on == "adjusted" else total
            try:
                bonus = split_bonus(config.bonus.pool_cents, on, config.bonus.floor)
            except ValueError as error:
                raise DomainError(_("计算失败：%(detail)s", detail=str(error))) from error
        names = [c.name for c, _r in runs]
        rows = []
        for i, sid in enumerate(ids):
            ok = not math.isnan(total[i])
            rows.append(ScoreResult(
                run_id=run.id, level=level, unit_id=sid if level == "unit" else None,
                officer_id=sid if level == "officer" else None, category=int(category[i]),
                total=_f(total[i]), adjusted_total=_f(adjusted[i]), coefficient=float(coefficient[i]),
                rank=int(rank[i]) if rank[i] > 0 else None,
                rank_overall=int(rank_overall[i]) if rank_overall[i] > 0 else None,
                grade=GRADES[grade[i]] if grade[i] >= 0 else None,
                bonus_cents=int(bonus[i]) if bonus is not None and ok else None,
                coverage=float((~np.isnan(totals[:, i])).mean()), excluded=not ok,
                breakdown={"rollup": {"method": method, "periods": [
                    {"cycle": names[p], "total": _f(totals[p, i]), "days": int(days[p])} for p in range(len(runs))]},
                    "total_shown": round(float(total[i]), 2) if ok else None}))
        db.session.add_all(rows)
        db.session.flush()
    run.missing = missing
    run.inputs_hash = _inputs_hash({"config": config.to_dict(), "method": method, "rows": hash_rows})
    step(_("完成"))
    run.steps = list(steps)
    run.status = "done"
    run.finished_at = utcnow()
    db.session.flush()
    record("score_run_computed", "cycle", cycle.id,
           after={"run": run.id, "version": run.version, "rollup": method, "inputs_hash": run.inputs_hash},
           note=reason)
    return run


# ---- publish -----------------------------------------------------------------------------------
def publish_run(run: ScoreRun, user_id: int | None = None) -> ScoreRun:
    """Make a run the cycle's result. The cycle must be closed (it then becomes published) or
    already published (a recomputed run replaces the shown result; the old run stays as it was)."""
    from ..admin.services import transition_cycle

    cycle = run.cycle
    if run.status == "published":
        raise DomainError(_("该版本已经发布。"))
    if run.status != "done":
        raise DomainError(_("只能发布计算完成的版本。"))
    if cycle.status not in ("closed", "published"):
        raise DomainError(_("请先关闭周期，再发布结果。"))
    previous = published_run(cycle)
    if previous is not None and not (run.reason or "").strip():
        raise DomainError(_("此周期已有发布的结果；只有填写了原因的重新计算版本才能替换它。"))
    result = db.session.execute(
        db.update(ScoreRun).where(ScoreRun.id == run.id, ScoreRun.status == "done")
        .values(status="published", published_at=utcnow(), published_by_id=user_id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(_("该版本的状态已被其他人修改，请刷新后重试。"))
    db.session.refresh(run)
    if cycle.status == "closed":
        transition_cycle(cycle, "published")
    record("score_run_published", "cycle", cycle.id,
           before={"run": previous.id, "version": previous.version} if previous else None,
           after={"run": run.id, "version": run.version, "inputs_hash": run.inputs_hash}, note=run.reason)
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


def can_view_result(user, result: ScoreResult) -> bool:
    if user.has_role("admin"):
        return True
    if result.run.status != "published":
        return False
    if result.level == "unit":
        return True
    officer = user.officer
    if officer is None:
        return False
    if result.officer_id == officer.id:
        return True
    return user.has_role("supervisor") and officer.is_leader and result.officer.unit_id == officer.unit_id


def consecutive_last_flags() -> list[dict]:
    """Units last in their category in two consecutive annual cycles (约谈), from the published
    results of annual cycles, newest pair first."""
    years = db.session.execute(
        db.select(Cycle).where(Cycle.kind == "year").order_by(Cycle.starts_on)).scalars().all()
    runs = [(c, published_run(c)) for c in years]
    runs = [(c, r) for c, r in runs if r is not None]
    if len(runs) < 2:
        return []
    units = db.session.execute(db.select(Unit).where(Unit.kind == "station").order_by(Unit.code)).scalars().all()
    index = {u.id: i for i, u in enumerate(units)}
    ranks = np.full((len(runs), len(units)), np.nan)
    category = np.array([u.category or 0 for u in units], dtype=np.int64)
    for p, (_c, r) in enumerate(runs):
        for res in db.session.execute(db.select(ScoreResult).where(ScoreResult.run_id == r.id,
                                                                   ScoreResult.level == "unit")).scalars():
            if res.unit_id in index and res.rank is not None:
                ranks[p, index[res.unit_id]] = res.rank
    flags = []
    for p in range(len(runs) - 1, 0, -1):
        (c0, _r0), (c1, _r1) = runs[p - 1], runs[p]
        if c1.starts_on.year - c0.starts_on.year != 1:
            continue
        last = consecutive_last(ranks[p - 1:p + 1], category, years=2)
        for i in np.flatnonzero(last):
            flags.append({"unit": units[i], "cycles": [c0, c1],
                          "ranks": [int(ranks[p - 1, i]), int(ranks[p, i])]})
    return flags


def dual_track_groups(run: ScoreRun, level: str = "officer", k: int = 3, page: int = 1, top_page: int = 1,
                      per_page: int | None = None) -> dict:
    """The top group (priority training) and the bottom group with a development plan each:
    the weakest competencies (from the soft_360 details when present) and indicators, with the
    evidence (raw value and normalised score).

    The groups are found from the totals alone; only the shown results are loaded whole (with their
    officer and unit, in the same query). ``per_page`` pages both lists (``top_page`` the top group,
    ``page`` the plans); None shows them whole.
    """
    options = run.options or {}
    shares = options.get("dual_track") or {"top_share": 10.0, "bottom_share": 10.0}
    light = db.session.execute(
        db.select(ScoreResult.id, ScoreResult.adjusted_total, ScoreResult.category, ScoreResult.rank)
        .where(ScoreResult.run_id == run.id, ScoreResult.level == level).order_by(ScoreResult.id)).all()
    if not light:
        return {"top": [], "bottom": [], "shares": shares, "top_page": None, "page": None}
    scores = np.array([np.nan if r.adjusted_total is None else r.adjusted_total for r in light])
    cats = np.array([r.category for r in light], dtype=np.int64)
    top, bottom = dual_track(scores, float(shares["top_share"]) / 100, float(shares["bottom_share"]) / 100,
                             groups=cats)
    top_ids = [light[i].id for i in sorted(np.flatnonzero(top), key=lambda i: (light[i].category, light[i].rank or 0))]
    bottom_ids = [light[i].id for i in np.flatnonzero(bottom)]
    top_list = ListPage(top_ids, top_page, per_page or max(1, len(top_ids)))
    plan_list = ListPage(bottom_ids, page, per_page or max(1, len(bottom_ids)))
    query = (db.select(ScoreResult)
             .options(joinedload(ScoreResult.unit), joinedload(ScoreResult.officer).joinedload(Officer.unit)))
    if per_page:  # at most two pages of ids
        query = query.where(ScoreResult.id.in_(top_list.ids + plan_list.ids))
    else:
        query = query.where(ScoreResult.run_id == run.id, ScoreResult.level == level)
    loaded = {r.id: r for r in db.session.execute(query).unique().scalars()}
    plans = []
    for result_id in plan_list.ids:
        r = loaded[result_id]
        inds = [x for x in (r.breakdown or {}).get("indicators", [])]
        normalised = np.array([[np.nan if x["normalised"] is None else x["normalised"] for x in inds]])
        weak_inds = [inds[j] for j in weakest(normalised, k)[0] if j >= 0] if inds else []
        competencies = []
        for x in inds:
            if base_code(x["code"]) == "soft_360" and isinstance(x["details"].get("competencies"), dict):
                comp = x["details"]["competencies"]
                names = list(comp)
                vals = np.array([[np.nan if comp[n] is None else float(comp[n]) for n in names]])
                competencies = [(names[j], comp[names[j]]) for j in weakest(vals, 2)[0] if j >= 0]
        plans.append({"result": r, "indicators": weak_inds, "competencies": competencies})
    return {"top": [loaded[i] for i in top_list.ids], "bottom": plans, "shares": shares,
            "top_page": top_list, "page": plan_list}


def export_rows(run: ScoreRun) -> tuple[list[str], Iterator[list]]:
    """The run's results as a table (both levels) for an .xlsx export. The rows are read lazily, in
    batches, with their unit and officer in the same query: stream them into the file."""
    header = [_("层级"), _("类别"), _("单位代码"), _("警号"), _("名称"), _("总分"), _("难度系数"), _("调整后总分"),
              _("类别内排名"), _("等次"), _("奖金（元）"), _("数据覆盖率")]
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
    cycles = db.session.execute(db.select(Cycle).order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars().all()
    return [(c, published_run(c), latest_run(c, ("computing", "done", "failed", "published"))) for c in cycles]

