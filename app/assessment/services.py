"""The indicator catalogue and each cycle's assessment settings. Services flush; views commit.

A cycle's settings live in ``cycle.config["assessment"]`` (``AssessmentConfig.to_dict()``) and
``cycle.config["assessment_options"]`` (dual-track shares, roll-up method, the weight of
non-preventable cases, which level gets the bonus). They are editable while the cycle is a draft
and written from the catalogue's defaults when it opens, if nobody set them.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified

from scoring.assessment import AssessmentConfig, BonusSettings, GradeRules, IndicatorSpec

from .. import scope
from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Indicator
from .catalogue import DEFAULT_OPTIONS, DIMENSION_LABELS, SEED_INDICATORS, unit_code

INDICATOR_FIELDS = ("code", "name", "dimension", "weight", "unit_weight", "direction", "unit_of_measure",
                    "method", "target", "floor", "category_targets", "category_floors", "level", "is_soft", "source",
                    "splits_preventable", "per_capita", "min_value", "max_value", "description", "is_active")


# ---- catalogue ---------------------------------------------------------------------------------
# The catalogue a call works on when it names none: the logged-in user's bureau's (see catalogue_bureau).
CURRENT: Any = object()


def catalogue_bureau() -> int | None:
    """The bureau whose catalogue the logged-in user edits: their own; the shared one (None) for
    someone who sees every bureau, and outside a request."""
    ids = scope.bureau_ids()
    return None if ids is None else min(ids)


def seed_catalogue(bureau_id: Any = CURRENT) -> int:
    """Add the seed indicators that are not in the (bureau's) catalogue yet; returns how many were added."""
    bureau_id = catalogue_bureau() if bureau_id is CURRENT else bureau_id
    have = {i.code for i in indicators(bureau_id=bureau_id)}
    rows = [row for row in _seed_rows() if row.code not in have]
    for row in rows:
        row.bureau_id = bureau_id
    db.session.add_all(rows)
    flush_or_fail(_("默认指标已被其他人载入。"))
    if rows:
        record("indicators_seeded", "indicator", "*", after={"codes": [r.code for r in rows]})
    return len(rows)


def indicators(active_only: bool = False, bureau_id: Any = CURRENT) -> list[Indicator]:
    """A bureau's catalogue: its own indicators and the shared ones (bureau NULL) of codes it has no
    row of its own for; ``bureau_id`` None: the shared catalogue alone (installation-wide cycles)."""
    bureau_id = catalogue_bureau() if bureau_id is CURRENT else bureau_id
    mine = Indicator.bureau_id.is_(None) if bureau_id is None else \
        sa.or_(Indicator.bureau_id == bureau_id, Indicator.bureau_id.is_(None))
    rows = db.session.execute(db.select(Indicator).where(mine)
                              .order_by(Indicator.level.desc(), Indicator.sort_order, Indicator.id)).scalars().all()
    own = {i.code for i in rows if i.bureau_id is not None}
    return [i for i in rows if (i.bureau_id is not None or i.code not in own) and (i.is_active or not active_only)]


def indicator_map(bureau_id: Any = CURRENT) -> dict[str, Indicator]:
    return {i.code: i for i in indicators(bureau_id=bureau_id)}


def catalogue_sums(bureau_id: Any = CURRENT) -> dict[tuple[str, str], float]:
    """(level, dimension) → sum of the active indicators' default weights (should be 100)."""
    sums: dict[tuple[str, str], float] = {}
    for ind in indicators(active_only=True, bureau_id=bureau_id):
        sums[(ind.level, ind.dimension)] = sums.get((ind.level, ind.dimension), 0.0) + ind.weight
        if ind.unit_weight is not None:
            sums[("unit", ind.dimension)] = sums.get(("unit", ind.dimension), 0.0) + ind.unit_weight
    return sums


def _snapshot(ind: Indicator) -> dict:
    return {f: getattr(ind, f) for f in INDICATOR_FIELDS}


def save_indicator(indicator: Indicator | None, data: dict) -> Indicator:
    """Create or update a catalogue indicator. Cycles already open keep their frozen copy."""
    _check_indicator_data(data)
    before = _snapshot(indicator) if indicator else None
    bureau_id = catalogue_bureau()
    if indicator is None or (indicator.bureau_id is None and bureau_id is not None):
        # A bureau that edits a shared indicator gets its own copy; the other bureaus keep the shared one.
        shared = indicator
        indicator = Indicator(code=shared.code if shared else data["code"], bureau_id=bureau_id)
        if shared is not None:
            for key in INDICATOR_FIELDS:
                setattr(indicator, key, getattr(shared, key))
            indicator.sort_order = shared.sort_order
        db.session.add(indicator)
    for key in INDICATOR_FIELDS:
        if key == "code" or key not in data:
            continue
        value = data[key]
        if key in ("source", "description", "unit_of_measure") and value is None:
            value = ""
        setattr(indicator, key, value)
    flush_or_fail(_("指标代码“%(code)s”已存在。", code=data.get("code")), field="code")
    record("indicator_saved", "indicator", indicator.id, before=before, after=_snapshot(indicator))
    return indicator


def _check_indicator_data(data: dict) -> None:
    """DomainError, naming the field, for a catalogue indicator that cannot be scored."""
    if data.get("method") == "target" and not (data.get("target") or 0) > 0:
        raise DomainError(_("“对标目标值”方法需要大于 0 的目标值。"), field="target")
    if data.get("per_capita") and data.get("level") != "unit":
        raise DomainError(_("只有单位层级的指标可以按每万人口计。"), field="per_capita")
    if data.get("unit_weight") is not None and data.get("level") != "officer":
        raise DomainError(_("只有民警层级的指标可以设置计入单位的权重。"), field="unit_weight")
    if (data.get("min_value") is not None and data.get("max_value") is not None
            and data["min_value"] > data["max_value"]):
        raise DomainError(_("取值下限不能大于上限。"), field="max_value")
    if data.get("method") == "target":
        try:
            IndicatorSpec(code=data.get("code") or "x", dimension=data.get("dimension") or "", weight=0,
                          direction=data.get("direction") or "higher", target=data.get("target"),
                          floor=data.get("floor"), category_targets=data.get("category_targets") or {},
                          category_floors=data.get("category_floors") or {})
        except ValueError:
            raise DomainError(_("起点分对应的值必须在目标值的“差”的一侧：越高越好的指标起点低于目标值，"
                                "越低越好的指标起点高于目标值（各类别也是如此）。"), field="floor") from None


# ---- per-cycle settings ------------------------------------------------------------------------
def default_options() -> dict:
    return copy.deepcopy(DEFAULT_OPTIONS)


def _seed_rows() -> list[Indicator]:
    """The seed indicators as unsaved rows (the defaults while the catalogue is empty)."""
    rows = []
    for order, (code, name, dimension, level, weight, extra) in enumerate(SEED_INDICATORS):
        extra = dict(extra)
        rows.append(Indicator(code=code, name=name, dimension=dimension, level=level, weight=float(weight),
                              sort_order=order, direction=extra.pop("direction", "higher"),
                              method=extra.pop("method", "target"), unit_weight=extra.pop("unit_weight", None),
                              splits_preventable=extra.pop("splits_preventable", False),
                              is_soft=extra.pop("is_soft", False), is_active=extra.pop("is_active", True), **extra))
    return rows


def _spec_fields(ind: Indicator, npw: float) -> dict:
    """What an IndicatorSpec takes from a catalogue row: a soft indicator's missing value is
    renormalised, a hard one (from business systems) counts as 0."""
    target_method = ind.method == "target"
    return dict(dimension=ind.dimension, direction=ind.direction, method=ind.method,
                target=ind.target if target_method else None, floor=ind.floor if target_method else None,
                category_targets=(ind.category_targets or {}) if target_method else {},
                category_floors=(ind.category_floors or {}) if target_method else {},
                split_preventable=ind.splits_preventable, nonpreventable_weight=npw,
                on_missing="renormalise" if ind.is_soft else "zero",
                per_capita=bool(ind.per_capita) and ind.level == "unit")


def specs_from_catalogue(npw: float = 0.5, bureau_id: Any = CURRENT) -> list[IndicatorSpec]:
    """IndicatorSpecs for both levels from the active catalogue (or the seed list while the
    catalogue is empty); ``code@unit`` for officer-level indicators that also count for units."""
    specs = []
    rows = indicators(active_only=True, bureau_id=bureau_id) or [r for r in _seed_rows() if r.is_active]
    for ind in rows:
        common = _spec_fields(ind, npw)
        specs.append(IndicatorSpec(code=ind.code, weight=ind.weight, level=ind.level, **common))
        if ind.level == "officer" and ind.unit_weight is not None:
            specs.append(IndicatorSpec(code=unit_code(ind.code), weight=ind.unit_weight, level="unit", **common))
    return specs


def seasonal_addition(code: str, points: float, npw: float, bureau_id: Any = CURRENT) -> IndicatorSpec:
    """A catalogue indicator added to one cycle by the season, with ``points`` of the total."""
    ind = indicator_map(bureau_id).get(code) or next((r for r in _seed_rows() if r.code == code), None)
    if ind is None:
        raise DomainError(_("季节性调整中的指标代码“%(code)s”不存在。", code=code), field="seasonal")
    try:
        return IndicatorSpec(code=ind.code, weight=0.0, level=ind.level, added_points=points,
                             **_spec_fields(ind, npw))
    except ValueError as error:
        raise DomainError(_("季节性加入的指标“%(code)s”无效：%(detail)s", code=code, detail=str(error)),
                          field="seasonal") from error


def default_config(bureau_id: Any = CURRENT) -> AssessmentConfig:
    """The catalogue's defaults as an AssessmentConfig; DomainError when the catalogue's weights
    do not add up (the message names the dimension)."""
    try:
        weight = cast(float, DEFAULT_OPTIONS["nonpreventable_weight"])
        return AssessmentConfig(indicators=tuple(specs_from_catalogue(weight, bureau_id)))
    except ValueError as error:
        raise DomainError(_("指标库的默认权重有误：%(detail)s。请先在指标库中修正。", detail=str(error))) from error


def cycle_config(cycle: Cycle) -> AssessmentConfig:
    """The cycle's AssessmentConfig: the frozen one if set, else the catalogue's defaults.

    The bonus's turn for tied cents is the cycle id (fixed with the cycle): subjects with equal
    remainders take turns from place ``cycle id mod n`` instead of the first always winning."""
    data = (cycle.config or {}).get("assessment")
    if not data:
        config = default_config(cycle.bureau_id)
    else:
        if any("on_missing" not in spec for spec in data.get("indicators", [])):
            data = _with_missing_policy(data, cycle.bureau_id)
        try:
            config = AssessmentConfig.from_dict(data)
        except ValueError as error:
            raise DomainError(_("周期的考评设置无效：%(detail)s", detail=str(error))) from error
    if cycle.id is None:
        return config
    return replace(config, bonus=replace(config.bonus, turn=int(cycle.id)))


def _with_missing_policy(data: dict, bureau_id: int | None) -> dict:
    """Settings frozen before indicators had their own missing-data policy: soft indicators
    renormalise, hard ones count as 0 (as the catalogue says now)."""
    from .catalogue import base_code

    soft = {i.code for i in indicators(bureau_id=bureau_id) if i.is_soft}
    specs = [{**spec, "on_missing": spec.get("on_missing") or
              ("renormalise" if base_code(spec.get("code", "")) in soft else "zero")}
             for spec in data.get("indicators", [])]
    return {**data, "indicators": specs}


def cycle_options(cycle: Cycle) -> dict:
    options = default_options()
    for key, value in ((cycle.config or {}).get("assessment_options") or {}).items():
        if isinstance(value, dict) and isinstance(options.get(key), dict):
            options[key].update(value)
        else:
            options[key] = value
    return options


def _write_config(cycle: Cycle, config: AssessmentConfig, options: dict) -> None:
    data = dict(cycle.config or {})
    data["assessment"] = config.to_dict()
    data["assessment_options"] = options
    cycle.config = data
    flag_modified(cycle, "config")


def freeze_on_open(cycle: Cycle) -> None:
    """BEFORE_TRANSITION["open"]: write the defaults into the cycle if nobody set them."""
    if (cycle.config or {}).get("assessment"):
        return
    _write_config(cycle, default_config(), default_options())
    db.session.flush()


def save_settings(cycle: Cycle, data: dict) -> AssessmentConfig:
    """Replace a draft cycle's settings. ``data`` as the settings form gives it:

    dimension_weights {dim: w}; indicator_weights {spec code: w}; difficulty {cat: c};
    nonpreventable_weight; seasonal {code: multiplier}; seasonal_added {code: points of the
    total}; station_targets {spec code: {station code: target}}; missing; min_coverage; grades
    {mode, shares, thresholds, caps, within_category, on}; bonus {floor, on, pool_cents, basis};
    bonus_level; dual_track {top_share, bottom_share}; rollup {method}; basic_satisfied_credit.
    """
    if cycle.is_frozen:
        raise DomainError(_("周期已开启，考评设置已冻结，不能再修改。"))
    dims = data["dimension_weights"]
    check_dimension_weights(dims)
    npw = float(data["nonpreventable_weight"])
    current = cycle_config(cycle)
    baseline = _baseline_codes(current, data.get("baseline_codes"))
    specs = _settings_specs(current, data, npw, baseline, cycle.bureau_id)
    _check_dimension_sums(specs, dims)
    config = _settings_config(specs, dims, data)
    station_targets = check_station_targets(config, data.get("station_targets") or {})
    options = _settings_options(cycle_options(cycle), data, npw, station_targets)
    before = (cycle.config or {}).get("assessment")
    _write_config(cycle, config, options)
    db.session.flush()
    record("assessment_settings_saved", "cycle", cycle.id, before=before,
           after={**config.to_dict(), "station_targets": station_targets,
                  "basic_satisfied_credit": options["basic_satisfied_credit"]})
    return config


def check_dimension_weights(dims: dict) -> None:
    """The four dimension weights add up to 100."""
    total = sum(dims.values())
    if abs(total - 100) > 1e-6:
        raise DomainError(_("四个维度的权重之和必须为 100，当前为 %(total)s。", total=f"{total:g}"),
                          field="dimension_weights")


def _baseline_codes(current: AssessmentConfig, codes: list[str] | None) -> set[str]:
    """The codes scored against the station's own baseline (unchanged when the form gives none):
    unit-level indicators scored against a target only."""
    baseline = set(codes if codes is not None else [s.code for s in current.indicators if s.baseline])
    eligible = {s.code for s in current.indicators if s.level == "unit" and s.method == "target"
                and s.added_points is None}
    wrong = sorted(baseline - eligible)
    if wrong:
        raise DomainError(_("“%(code)s”不能按本所基线计分：只适用于单位层级、按目标计分的指标。", code=wrong[0]),
                          field="baseline_codes")
    return baseline


def _settings_specs(current: AssessmentConfig, data: dict, npw: float, baseline: set[str],
                    bureau_id: int | None) -> list[IndicatorSpec]:
    """The cycle's indicators with the form's weights, plus the season's added indicators; the
    seasonal multipliers must name one of them and be positive."""
    specs = _weighted_specs(current, data["indicator_weights"], npw, baseline)
    known = {s.code for s in specs}
    for code, points in (data.get("seasonal_added") or {}).items():
        if code in known:
            raise DomainError(_("季节性加入的指标“%(code)s”已在本周期的指标中；请改用倍数。", code=code),
                              field="seasonal")
        specs.append(seasonal_addition(code, points, npw, bureau_id))
    known = {s.code for s in specs}
    for code, multiplier in (data.get("seasonal") or {}).items():
        if code not in known:
            raise DomainError(_("季节性调整中的指标代码“%(code)s”不存在。", code=code), field="seasonal")
        if not multiplier > 0:
            raise DomainError(_("季节性调整的倍数必须大于 0。"), field="seasonal")
    return specs


def _settings_config(specs: list[IndicatorSpec], dims: dict, data: dict) -> AssessmentConfig:
    """The AssessmentConfig of the settings; what ``scoring`` refuses becomes a readable error."""
    try:
        return AssessmentConfig(
            indicators=tuple(specs), dimension_weights=dims, difficulty=data["difficulty"],
            seasonal=data.get("seasonal") or {}, missing=data.get("missing", "indicator"),
            min_coverage=data.get("min_coverage", 0.5),
            grades=GradeRules(**data["grades"]), bonus=BonusSettings(**data["bonus"]))
    except ValueError as error:
        raise DomainError(_("设置无效：%(detail)s", detail=str(error))) from error


def _settings_options(options: dict, data: dict, npw: float, station_targets: dict) -> dict:
    """The cycle's options (beside the AssessmentConfig) with the form's values; what the form
    leaves out keeps its current value."""
    options["dual_track"] = dict(data.get("dual_track") or options["dual_track"])
    options["rollup"] = dict(data.get("rollup") or options["rollup"])
    options["nonpreventable_weight"] = npw
    options["bonus_level"] = data.get("bonus_level", options.get("bonus_level", "unit"))
    options["station_targets"] = station_targets
    options["basic_satisfied_credit"] = float(data.get("basic_satisfied_credit",
                                                       options.get("basic_satisfied_credit", 0.5)))
    return options


def _weighted_specs(current: AssessmentConfig, weights: dict, npw: float,
                    baseline: set[str] | None = None) -> list[IndicatorSpec]:
    """The cycle's indicators (without last time's seasonal additions) with the form's weights
    (and, when given, the codes scored against the station's own baseline)."""
    specs = []
    for spec in current.indicators:
        if spec.added_points is not None:
            continue
        d = spec.to_dict()
        d["weight"] = float(weights.get(spec.code, spec.weight))
        d["nonpreventable_weight"] = npw
        if baseline is not None:
            d["baseline"] = spec.code in baseline
        specs.append(IndicatorSpec(**d))
    return specs


def _check_dimension_sums(specs: list[IndicatorSpec], dims: dict) -> None:
    for level in ("unit", "officer"):
        for dim in dims:
            members = [s for s in specs if s.level == level and s.dimension == dim and s.added_points is None]
            if members and abs(sum(s.weight for s in members) - 100) > 1e-6:
                raise DomainError(
                    _("%(level)s层级“%(dim)s”维度内各指标的权重之和必须为 100，当前为 %(total)s。",
                      level=_("单位") if level == "unit" else _("民警"), dim=DIMENSION_LABELS[dim],
                      total=f"{sum(s.weight for s in members):g}"),
                    field="indicator_weights")


def check_station_targets(config: AssessmentConfig, targets: dict) -> dict:
    """Validate 目标责任书 targets {spec code: {station code: target}} against the cycle's
    unit-level "target" indicators and the stations; returns them cleaned."""
    from ..models import Unit

    specs = {s.code: s for s in config.specs("unit") if s.method == "target"}
    codes = {code for per in targets.values() for code in per}
    stations = {}
    if codes:
        stations = {u.code: u for u in db.session.execute(
            db.select(Unit).where(Unit.kind == "station")).scalars() if u.code in codes}
    out: dict[str, dict[str, float]] = {}
    for spec_code, per in targets.items():
        spec = specs.get(spec_code)
        if spec is None:
            raise DomainError(_("目标责任书中的指标“%(code)s”不是本周期按目标值计分的单位指标。", code=spec_code),
                              field="station_targets")
        for unit_code_, target in per.items():
            station = stations.get(unit_code_)
            if station is None:
                raise DomainError(_("目标责任书中的单位代码“%(code)s”不是派出所。", code=unit_code_),
                                  field="station_targets")
            floor = spec.floor_for(station.category)
            wrong_side = floor is not None and (target <= floor if spec.direction == "higher" else target >= floor)
            if not target > 0 or wrong_side:
                raise DomainError(_("%(station)s 的“%(code)s”目标值 %(t)s 无效：须大于 0，且优于起点 %(f)s。",
                                    station=station.name, code=spec_code, t=f"{target:g}",
                                    f="—" if floor is None else f"{floor:g}"), field="station_targets")
            out.setdefault(spec_code, {})[unit_code_] = float(target)
    return out


def set_seasonal_multipliers(cycle: Cycle, changes: dict[str, float | None]) -> AssessmentConfig:
    """Set (or, with None, remove) seasonal multipliers of a draft cycle, e.g. from a trend proposal."""
    if cycle.is_frozen:
        raise DomainError(_("周期已开启，考评设置已冻结，不能再修改。"))
    current = cycle_config(cycle)
    known = {s.code for s in current.indicators}
    seasonal = dict(current.seasonal)
    for code, multiplier in changes.items():
        if code not in known:
            raise DomainError(_("季节性调整中的指标代码“%(code)s”不存在。", code=code), field="seasonal")
        if multiplier is None:
            seasonal.pop(code, None)
        elif not multiplier > 0:
            raise DomainError(_("季节性调整的倍数必须大于 0。"), field="seasonal")
        else:
            seasonal[code] = float(multiplier)
    try:
        config = AssessmentConfig.from_dict({**current.to_dict(), "seasonal": seasonal})
    except ValueError as error:
        raise DomainError(_("设置无效：%(detail)s", detail=str(error))) from error
    before = (cycle.config or {}).get("assessment")
    _write_config(cycle, config, cycle_options(cycle))
    db.session.flush()
    record("assessment_settings_saved", "cycle", cycle.id, before=before, after=config.to_dict())
    return config
