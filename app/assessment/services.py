"""The indicator catalogue and each cycle's assessment settings. Services flush; views commit.

A cycle's settings live in ``cycle.config["assessment"]`` (``AssessmentConfig.to_dict()``) and
``cycle.config["assessment_options"]`` (dual-track shares, roll-up method, the weight of
non-preventable cases, which level gets the bonus). They are editable while the cycle is a draft
and written from the catalogue's defaults when it opens, if nobody set them.
"""
from __future__ import annotations

import copy

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified

from scoring.assessment import AssessmentConfig, BonusSettings, GradeRules, IndicatorSpec

from ..audit import record
from ..dbutil import flush_or_fail
from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, Indicator
from .catalogue import DEFAULT_OPTIONS, DIMENSION_LABELS, SEED_INDICATORS, unit_code

INDICATOR_FIELDS = ("code", "name", "dimension", "weight", "unit_weight", "direction", "unit_of_measure",
                    "method", "target", "level", "is_soft", "source", "splits_preventable", "min_value",
                    "max_value", "description", "is_active")


# ---- catalogue ---------------------------------------------------------------------------------
def seed_catalogue() -> int:
    """Add the seed indicators that are not in the catalogue yet; returns how many were added."""
    have = set(db.session.execute(db.select(Indicator.code)).scalars())
    rows = [row for row in _seed_rows() if row.code not in have]
    db.session.add_all(rows)
    flush_or_fail(_("默认指标已被其他人载入。"))
    if rows:
        record("indicators_seeded", "indicator", "*", after={"codes": [r.code for r in rows]})
    return len(rows)


def indicators(active_only: bool = False) -> list[Indicator]:
    query = db.select(Indicator).order_by(Indicator.level.desc(), Indicator.sort_order, Indicator.id)
    if active_only:
        query = query.where(Indicator.is_active)
    return list(db.session.execute(query).scalars())


def indicator_map() -> dict[str, Indicator]:
    return {i.code: i for i in indicators()}


def catalogue_sums() -> dict[tuple[str, str], float]:
    """(level, dimension) → sum of the active indicators' default weights (should be 100)."""
    sums: dict[tuple[str, str], float] = {}
    for ind in indicators(active_only=True):
        sums[(ind.level, ind.dimension)] = sums.get((ind.level, ind.dimension), 0.0) + ind.weight
        if ind.unit_weight is not None:
            sums[("unit", ind.dimension)] = sums.get(("unit", ind.dimension), 0.0) + ind.unit_weight
    return sums


def _snapshot(ind: Indicator) -> dict:
    return {f: getattr(ind, f) for f in INDICATOR_FIELDS}


def save_indicator(indicator: Indicator | None, data: dict) -> Indicator:
    """Create or update a catalogue indicator. Cycles already open keep their frozen copy."""
    if data.get("method") == "target" and not (data.get("target") or 0) > 0:
        raise DomainError(_("“对标目标值”方法需要大于 0 的目标值。"), field="target")
    if data.get("unit_weight") is not None and data.get("level") != "officer":
        raise DomainError(_("只有民警层级的指标可以设置计入单位的权重。"), field="unit_weight")
    if (data.get("min_value") is not None and data.get("max_value") is not None
            and data["min_value"] > data["max_value"]):
        raise DomainError(_("取值下限不能大于上限。"), field="max_value")
    before = _snapshot(indicator) if indicator else None
    if indicator is None:
        indicator = Indicator(code=data["code"])
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
                              is_soft=extra.pop("is_soft", False), is_active=True, **extra))
    return rows


def specs_from_catalogue(npw: float = 0.5) -> list[IndicatorSpec]:
    """IndicatorSpecs for both levels from the active catalogue (or the seed list while the
    catalogue is empty); ``code@unit`` for officer-level indicators that also count for units."""
    specs = []
    for ind in indicators(active_only=True) or _seed_rows():
        common = dict(dimension=ind.dimension, direction=ind.direction, method=ind.method,
                      target=ind.target if ind.method == "target" else None,
                      split_preventable=ind.splits_preventable, nonpreventable_weight=npw)
        specs.append(IndicatorSpec(code=ind.code, weight=ind.weight, level=ind.level, **common))
        if ind.level == "officer" and ind.unit_weight is not None:
            specs.append(IndicatorSpec(code=unit_code(ind.code), weight=ind.unit_weight, level="unit", **common))
    return specs


def default_config() -> AssessmentConfig:
    """The catalogue's defaults as an AssessmentConfig; DomainError when the catalogue's weights
    do not add up (the message names the dimension)."""
    try:
        return AssessmentConfig(indicators=tuple(specs_from_catalogue(DEFAULT_OPTIONS["nonpreventable_weight"])))
    except ValueError as error:
        raise DomainError(_("指标库的默认权重有误：%(detail)s。请先在指标库中修正。", detail=str(error))) from error


def cycle_config(cycle: Cycle) -> AssessmentConfig:
    """The cycle's AssessmentConfig: the frozen one if set, else the catalogue's defaults."""
    data = (cycle.config or {}).get("assessment")
    if not data:
        return default_config()
    try:
        return AssessmentConfig.from_dict(data)
    except ValueError as error:
        raise DomainError(_("周期的考评设置无效：%(detail)s", detail=str(error))) from error


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
    nonpreventable_weight; seasonal {code: multiplier}; missing; min_coverage; grades
    {mode, shares, thresholds, within_category, on}; bonus {floor, on, pool_cents};
    bonus_level; dual_track {top_share, bottom_share}; rollup {method}.
    """
    if cycle.is_frozen:
        raise DomainError(_("周期已开启，考评设置已冻结，不能再修改。"))
    dims = data["dimension_weights"]
    total = sum(dims.values())
    if abs(total - 100) > 1e-6:
        raise DomainError(_("四个维度的权重之和必须为 100，当前为 %(total)s。", total=f"{total:g}"),
                          field="dimension_weights")
    current = cycle_config(cycle)
    known = {s.code for s in current.indicators}
    for code, multiplier in (data.get("seasonal") or {}).items():
        if code not in known:
            raise DomainError(_("季节性调整中的指标代码“%(code)s”不存在。", code=code), field="seasonal")
        if not multiplier > 0:
            raise DomainError(_("季节性调整的倍数必须大于 0。"), field="seasonal")
    specs = []
    for spec in current.indicators:
        d = spec.to_dict()
        d["weight"] = float(data["indicator_weights"].get(spec.code, spec.weight))
        d["nonpreventable_weight"] = float(data["nonpreventable_weight"])
        specs.append(IndicatorSpec(**d))
    for level in ("unit", "officer"):
        for dim in dims:
            members = [s for s in specs if s.level == level and s.dimension == dim]
            if members and abs(sum(s.weight for s in members) - 100) > 1e-6:
                raise DomainError(
                    _("%(level)s层级“%(dim)s”维度内各指标的权重之和必须为 100，当前为 %(total)s。",
                      level=_("单位") if level == "unit" else _("民警"), dim=DIMENSION_LABELS[dim],
                      total=f"{sum(s.weight for s in members):g}"),
                    field="indicator_weights")
    try:
        config = AssessmentConfig(
            indicators=tuple(specs), dimension_weights=dims, difficulty=data["difficulty"],
            seasonal=data.get("seasonal") or {}, missing=data.get("missing", "renormalise"),
            min_coverage=data.get("min_coverage", 0.5),
            grades=GradeRules(**data["grades"]), bonus=BonusSettings(**data["bonus"]))
    except ValueError as error:
        raise DomainError(_("设置无效：%(detail)s", detail=str(error))) from error
    options = cycle_options(cycle)
    options["dual_track"] = dict(data.get("dual_track") or options["dual_track"])
    options["rollup"] = dict(data.get("rollup") or options["rollup"])
    options["nonpreventable_weight"] = float(data["nonpreventable_weight"])
    options["bonus_level"] = data.get("bonus_level", options.get("bonus_level", "unit"))
    before = (cycle.config or {}).get("assessment")
    _write_config(cycle, config, options)
    db.session.flush()
    record("assessment_settings_saved", "cycle", cycle.id, before=before, after=config.to_dict())
    return config


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
