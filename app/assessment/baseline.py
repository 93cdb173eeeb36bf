"""A station's own baseline for indicators scored against it (``IndicatorSpec.baseline``).

The baseline of a station for an indicator is the mean of the values it was scored on in the
published results of the three annual cycles before this one (the newest published version of
each), in the unit the indicator is scored in (split counts combined, per 10,000 residents for a
per-capita indicator). It needs at least two of those years with a value and a mean above 0;
otherwise the station is scored against its category's target, as is a station with a target of
its own (目标责任书). The baselines used are stored with the run's options, so a published run
keeps the figures it was scored against.
"""
from __future__ import annotations

import numpy as np
from sqlalchemy import select

from ..extensions import db
from ..models import Cycle, ScoreResult, ScoreRun

YEARS = 3  # previous published annual cycles averaged
MIN_YEARS = 2  # fewer years with a value: no baseline (the category's target)


def station_baselines(cycle: Cycle, codes: list[str]) -> dict[str, dict[str, dict]]:
    """{code: {str(unit id): {"mean": float, "years": [[cycle name, value], ...]}}} for the
    unit-level ``codes``; {} when there are none or no earlier published annual cycle.
    Two queries, whatever the number of stations."""
    if not codes:
        return {}
    runs = db.session.execute(
        select(ScoreRun.id, ScoreRun.cycle_id, Cycle.name, Cycle.starts_on)
        .join(Cycle, Cycle.id == ScoreRun.cycle_id)
        .where(Cycle.kind == "year", Cycle.ends_on < cycle.starts_on, Cycle.id != cycle.id,
               ScoreRun.status == "published")
        .order_by(Cycle.starts_on.desc(), ScoreRun.published_at.desc(), ScoreRun.id.desc())).all()
    chosen = choose_runs([(run_id, cycle_id, name) for run_id, cycle_id, name, _starts in runs])
    if not chosen:
        return {}
    return baseline_means(_yearly_values(chosen, codes))


def choose_runs(runs: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
    """(run id, cycle name) of the newest published run of each of the latest YEARS cycles, oldest
    year first, from (run id, cycle id, cycle name) newest cycle and newest run first."""
    chosen: dict[int, tuple[int, str]] = {}
    for run_id, cycle_id, name in runs:
        if cycle_id not in chosen and len(chosen) < YEARS:
            chosen[cycle_id] = (run_id, name)
    return list(reversed(list(chosen.values())))


def _yearly_values(chosen: list[tuple[int, str]], codes: list[str]) -> dict[str, dict[int, list[list]]]:
    """{code: {unit id: [[cycle name, value], ...]}}: the values each station was scored on in the
    chosen runs (oldest year first), where it had one."""
    run_name = dict(chosen)
    wanted = set(codes)
    values: dict[str, dict[int, list[list]]] = {code: {} for code in codes}
    rows = db.session.execute(
        select(ScoreResult.run_id, ScoreResult.unit_id, ScoreResult.breakdown)
        .where(ScoreResult.run_id.in_(list(run_name)), ScoreResult.level == "unit",
               ScoreResult.unit_id.is_not(None))
        .order_by(ScoreResult.run_id)).all()
    by_run: dict[int, list] = {run_id: [] for run_id, _name in chosen}
    for row in rows:
        by_run[row.run_id].append(row)
    for run_id, name in chosen:
        for row in by_run[run_id]:
            for entry in (row.breakdown or {}).get("indicators") or []:
                code, raw = entry.get("code"), entry.get("raw")
                if code in wanted and raw is not None and not entry.get("missing"):
                    values[code].setdefault(row.unit_id, []).append([name, float(raw)])
    return values


def baseline_means(values: dict[str, dict[int, list[list]]]) -> dict[str, dict[str, dict]]:
    """The baselines from the yearly values: the mean where at least MIN_YEARS years have a value
    and the mean is above 0 (else none: the station is scored against its category's target)."""
    out: dict[str, dict[str, dict]] = {}
    for code, per_unit in values.items():
        for unit_id, years in per_unit.items():
            mean = sum(v for _n, v in years) / len(years)
            if len(years) >= MIN_YEARS and mean > 0 and np.isfinite(mean):
                out.setdefault(code, {})[str(unit_id)] = {"mean": mean, "years": years}
    return out


def baseline_matrix(specs, ids: list[int], baselines: dict, own_targets: np.ndarray | None,
                    details: dict) -> np.ndarray | None:
    """(n, m) baselines for the matrix (NaN = none), and each one used written into the cell's
    ``details`` (shown on the result page); a station's own target (目标责任书) comes first."""
    if not baselines or not any(s.baseline for s in specs):
        return None
    out = np.full((len(ids), len(specs)), np.nan)
    for j, spec in enumerate(specs):
        if not spec.baseline:
            continue
        per_unit = baselines.get(spec.code) or {}
        for i, unit_id in enumerate(ids):
            found = per_unit.get(str(unit_id))
            if found is None or (own_targets is not None and not np.isnan(own_targets[i, j])):
                continue
            out[i, j] = found["mean"]
            details.setdefault((i, j), {})["baseline"] = {"mean": found["mean"], "years": found["years"]}
    return out
