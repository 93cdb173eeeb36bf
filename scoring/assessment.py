"""The main performance assessment (绩效考核): indicators → dimensions → total → consequences.

Pure numpy. The web layer builds an :class:`IndicatorMatrix` for one level (units or
officers) of a cycle, calls :func:`score_assessment` with the cycle's frozen
:class:`AssessmentConfig`, and stores every array of the :class:`AssessmentResult` so that a
result page can show the breakdown raw value → normalised score → weighted contribution →
dimension → total → difficulty-adjusted total → rank and grade.

Units of measure
----------------
* normalised scores and dimension scores: points on a 0–100 scale;
* weights: *points of the total*, i.e. an indicator's weight is its share of the 100-point
  total (dimension weight × weight within the dimension / 100);
* contribution = normalised × weight / 100, so the contributions of a subject add up to its
  total on the 0–100 scale;
* money (bonus) in integer cents.

Missing data
------------
Each indicator has its own policy (``IndicatorSpec.on_missing``), so that withholding a value
never lifts a subject:

* ``"zero"`` (hard indicators from business systems, the default): a missing value counts as 0
  points with its full weight; the web layer blocks publication of such a run until the data are
  supplied or an admin gives an audited reason (:attr:`AssessmentResult.hard_missing`).
* ``"renormalise"`` (soft indicators, e.g. too few resident answers): the indicator's weight is
  spread over the indicators the subject has in the same dimension (in proportion to their
  weights); a dimension without any data has its weight spread over the other dimensions.

``AssessmentConfig.missing`` may override this for every indicator: ``"indicator"`` (default,
each indicator's own policy), ``"zero"`` (all count 0) or ``"exclude"`` (a subject with any
missing indicator gets no total). A subject whose ``coverage`` (share of the nominal weight backed
by data) is below ``min_coverage`` gets no total either (``excluded``); ``missing`` /
:attr:`AssessmentResult.missing_pairs` tell the web layer exactly which values to chase.

Normalisation
-------------
* ``"target"``: higher-better ``100 × v / target`` (lower-better ``100 × target / v``), capped at
  100; with a ``floor`` the score is linear between the floor (0) and the target (100). Targets
  differ by station category (``category_targets``) and per subject (a 目标责任书,
  ``IndicatorMatrix.targets``).
* ``"minmax"``: 0–100 between the worst and best value of the subject's category, but only when
  the category has at least ``min_group`` subjects with data; smaller categories are compared
  with the whole pool, so a station alone in its category is never top by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from scoring.team import _as_int_array, _frozen_array, _preview, largest_remainder, rank_within, rotating_tiebreak

__all__ = [
    "DIMENSION_NAMES",
    "DEFAULT_DIMENSION_WEIGHTS",
    "CATEGORY_NAMES",
    "DEFAULT_DIFFICULTY",
    "GRADES",
    "GRADE_NAMES",
    "IndicatorSpec",
    "GradeRules",
    "BonusSettings",
    "AssessmentConfig",
    "IndicatorMatrix",
    "AssessmentResult",
    "RoundedBreakdown",
    "score_assessment",
    "score_rollup",
    "RollupResult",
    "Consequences",
    "consequences",
    "rounded_breakdown",
    "assign_grades",
    "split_bonus",
    "bonus_split",
    "consecutive_last",
    "rollup",
    "dual_track",
    "weakest",
    "rank_within",
    "largest_remainder",
]

DIMENSION_NAMES: Mapping[str, str] = MappingProxyType({
    "law_enforcement": "执法质量",
    "basic_control": "基础管控",
    "public_service": "群众服务",
    "team_management": "队伍管理",
})
DEFAULT_DIMENSION_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "law_enforcement": 30.0,
    "basic_control": 25.0,
    "public_service": 20.0,
    "team_management": 25.0,
})
CATEGORY_NAMES: Mapping[int, str] = MappingProxyType({1: "一类", 2: "二类", 3: "三类"})
DEFAULT_DIFFICULTY: Mapping[int, float] = MappingProxyType({1: 1.10, 2: 1.05, 3: 1.00})
GRADES: tuple[str, ...] = ("excellent", "good", "pass", "basic_pass", "fail")
GRADE_NAMES: Mapping[str, str] = MappingProxyType({
    "excellent": "优秀", "good": "良好", "pass": "合格", "basic_pass": "基本合格", "fail": "不合格",
})

_TOL = 1e-6  # weights "add to 100" within this tolerance
_LEVELS = ("unit", "officer")


def _check_sum_100(values: Sequence[float], what: str, detail: str = "") -> None:
    total = float(np.sum(values))
    if abs(total - 100.0) > _TOL:
        tail = f" ({detail})" if detail else ""
        raise ValueError(f"{what} add up to {total:g}, not 100{tail}")


def _dim_label(code: str) -> str:
    name = DIMENSION_NAMES.get(code)
    return f"{code} ({name})" if name else code


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def _category_map(value: Any, what: str) -> Mapping[int, float]:
    out = {}
    for k, v in dict(value or {}).items():
        v = float(v)
        if not np.isfinite(v):
            raise ValueError(f"{what}: value of category {k} must be a finite number")
        out[int(k)] = v
    return MappingProxyType(out)


def _floor_fits(direction: str, target: float, floor: float) -> bool:
    """A floor lies on the worse side of its target."""
    return floor < target if direction == "higher" else floor > target


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of the catalogue as frozen into a cycle.

    code : unique code, e.g. "case_compliance_rate" or "案件规范率".
    dimension : a key of ``AssessmentConfig.dimension_weights``.
    weight : weight within its dimension (per level, a dimension's weights add to 100).
    direction : "higher" (more is better) or "lower" (less is better, e.g. case counts).
    method : "target": without a floor, higher-better ``100 × min(value / target, 1)``,
        lower-better ``100 × min(target / value, 1)`` (a value <= 0 scores 100); with a floor,
        ``100 × (value − floor) / (target − floor)`` clipped to 0–100 (0 at or beyond the floor);
        "minmax": 0–100 between the worst and best value among the subjects of the same
        station category if it has at least ``min_group`` subjects with data, otherwise among
        all subjects (all equal → 100).
    target : required (> 0) for method "target" unless every category has one.
    floor : optional, method "target": the value scoring 0 (below the target for higher-better,
        above it for lower-better).
    category_targets, category_floors : station category → target / floor, overriding
        ``target`` / ``floor`` for that category.
    level : "unit" or "officer": which subjects the indicator applies to.
    split_preventable : a case-count indicator given as preventable (可防性) and
        non-preventable counts (see :class:`IndicatorMatrix`); its raw value is
        ``preventable + nonpreventable_weight × non-preventable``.
    nonpreventable_weight : weight of a non-preventable case, in [0, 1] (default 0.5).
    on_missing : "zero" (hard data: a missing value scores 0) or "renormalise" (soft data).
    min_group : method "minmax": the least number of subjects with data in a category for a
        within-category comparison (default 5).
    added_points : a seasonal addition for one cycle (e.g. 反诈宣传): its weight in points of the
        total (the level's other indicators shrink proportionally); ``weight`` is then ignored
        and the indicator does not count in its dimension's sum of 100.
    per_capita : a unit-level count compared like with like: the raw value is
        ``value / population × 10,000`` (per 10,000 residents, ``IndicatorMatrix.population``),
        and its targets and floors are per 10,000 residents too.
    baseline : method "target" only: score a station against its own baseline
        (``IndicatorMatrix.baseline``, e.g. its mean over the three previous published annual
        cycles) instead of its category's target: the target becomes the baseline and a floor
        keeps the category's proportion, ``floor × baseline / category target`` (so a station
        with no more cases than its usual scores 100, and one case more costs the same share of
        its usual level everywhere). A station without a baseline, or with a target of its own
        (目标责任书), is scored as before.
    """

    code: str
    dimension: str
    weight: float
    direction: str = "higher"
    method: str = "target"
    target: float | None = None
    level: str = "unit"
    split_preventable: bool = False
    nonpreventable_weight: float = 0.5
    floor: float | None = None
    category_targets: Mapping[int, float] = field(default_factory=dict, hash=False)
    category_floors: Mapping[int, float] = field(default_factory=dict, hash=False)
    on_missing: str = "zero"
    min_group: int = 5
    added_points: float | None = None
    per_capita: bool = False
    baseline: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code:
            raise ValueError("indicator code must be a non-empty string")
        w = float(self.weight)
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"indicator {self.code}: weight must be >= 0, got {self.weight}")
        object.__setattr__(self, "weight", w)
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"indicator {self.code}: direction must be 'higher' or 'lower'")
        if self.method not in ("target", "minmax"):
            raise ValueError(f"indicator {self.code}: method must be 'target' or 'minmax'")
        if self.level not in _LEVELS:
            raise ValueError(f"indicator {self.code}: level must be 'unit' or 'officer'")
        if self.on_missing not in ("zero", "renormalise"):
            raise ValueError(f"indicator {self.code}: on_missing must be 'zero' or 'renormalise'")
        cat_t = _category_map(self.category_targets, f"indicator {self.code}: category_targets")
        cat_f = _category_map(self.category_floors, f"indicator {self.code}: category_floors")
        object.__setattr__(self, "category_targets", cat_t)
        object.__setattr__(self, "category_floors", cat_f)
        if self.method == "target":
            self._check_targets(cat_t, cat_f)
        npw = float(self.nonpreventable_weight)
        if not 0.0 <= npw <= 1.0:
            raise ValueError(f"indicator {self.code}: nonpreventable_weight must lie in [0, 1]")
        object.__setattr__(self, "nonpreventable_weight", npw)
        object.__setattr__(self, "split_preventable", bool(self.split_preventable))
        if int(self.min_group) != self.min_group or self.min_group < 2:
            raise ValueError(f"indicator {self.code}: min_group must be a whole number >= 2")
        object.__setattr__(self, "min_group", int(self.min_group))
        object.__setattr__(self, "per_capita", bool(self.per_capita))
        object.__setattr__(self, "baseline", bool(self.baseline))
        if self.baseline and self.method != "target":
            raise ValueError(f"indicator {self.code}: a baseline applies to method 'target' only")
        if self.per_capita and self.level != "unit":
            raise ValueError(f"indicator {self.code}: per_capita applies to unit-level indicators only")
        if self.added_points is not None:
            ap = float(self.added_points)
            if not np.isfinite(ap) or not 0 < ap < 100:
                raise ValueError(f"indicator {self.code}: added_points must lie in (0, 100)")
            object.__setattr__(self, "added_points", ap)

    def _check_targets(self, cat_t: Mapping[int, float], cat_f: Mapping[int, float]) -> None:
        if self.target is not None:
            if not np.isfinite(float(self.target)) or float(self.target) <= 0:
                raise ValueError(f"indicator {self.code}: method 'target' needs a target > 0")
            object.__setattr__(self, "target", float(self.target))
        elif not cat_t:
            raise ValueError(f"indicator {self.code}: method 'target' needs a target > 0")
        if any(t <= 0 for t in cat_t.values()):
            raise ValueError(f"indicator {self.code}: category targets must be > 0")
        if self.floor is not None:
            object.__setattr__(self, "floor", float(self.floor))
        for cat in set(cat_t) | set(cat_f) | {None}:
            t = cat_t.get(cat, self.target) if cat is not None else self.target
            f = cat_f.get(cat, self.floor) if cat is not None else self.floor
            if t is not None and f is not None and not _floor_fits(self.direction, t, f):
                side = "below" if self.direction == "higher" else "above"
                raise ValueError(f"indicator {self.code}: the floor {f:g} must lie {side} the target {t:g}")

    def target_for(self, category: int) -> float | None:
        return self.category_targets.get(int(category), self.target)

    def floor_for(self, category: int) -> float | None:
        return self.category_floors.get(int(category), self.floor)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "dimension": self.dimension, "weight": self.weight,
            "direction": self.direction, "method": self.method, "target": self.target,
            "level": self.level, "split_preventable": self.split_preventable,
            "nonpreventable_weight": self.nonpreventable_weight, "floor": self.floor,
            "category_targets": {str(k): v for k, v in self.category_targets.items()},
            "category_floors": {str(k): v for k, v in self.category_floors.items()},
            "on_missing": self.on_missing, "min_group": self.min_group, "added_points": self.added_points,
            "per_capita": self.per_capita, "baseline": self.baseline,
        }


@dataclass(frozen=True)
class GradeRules:
    """How totals become grades (:data:`GRADES`, best first: 优秀 … 不合格).

    mode : "quota" (default, what bureaus do): a score threshold per grade with a cap on the
        share of the best two grades: ``score >= thresholds[0]`` qualifies for 优秀, but at most
        ``caps[0]`` percent of the graded subjects get it (at least one seat when the cap is
        > 0); those who qualify but find no seat, best first, fall to 良好 (threshold
        ``thresholds[1]``, cap ``caps[1]``), then to 合格. Subjects tied at a quota's boundary
        are treated alike: those tied with the last seat all get it (so a better score never
        gets a worse grade), which is the only way a cap is exceeded.
        "threshold": thresholds only; "share": by rank, the best ``shares[0]`` percent get 优秀,
        the next ``shares[1]`` percent 良好, and so on (forced distribution).
    shares : five percentages adding to 100, best grade first (mode "share").
    thresholds : four strictly decreasing minimum scores for the first four grades.
    caps : two percentages in [0, 100]: the most 优秀 and 良好 may get (mode "quota").
    within_category : quotas and shares apply within each station category (default: pooled
        over the whole bureau, so a small category does not lose its 优秀).
    on : the score graded: "total" (0–100, default) or "adjusted" (total × difficulty).
    """

    mode: str = "quota"
    shares: tuple[float, ...] = (15.0, 35.0, 40.0, 7.0, 3.0)
    thresholds: tuple[float, ...] = (90.0, 80.0, 60.0, 50.0)
    within_category: bool = False
    on: str = "total"
    caps: tuple[float, ...] = (15.0, 35.0)

    def __post_init__(self) -> None:
        if self.mode not in ("quota", "share", "threshold"):
            raise ValueError("grade mode must be 'quota', 'share' or 'threshold'")
        if self.on not in ("adjusted", "total"):
            raise ValueError("grades 'on' must be 'adjusted' or 'total'")
        shares = tuple(float(s) for s in self.shares)
        if len(shares) != len(GRADES) or any(not np.isfinite(s) or s < 0 for s in shares):
            raise ValueError(f"grade shares: need {len(GRADES)} percentages >= 0, best grade first")
        _check_sum_100(shares, "grade shares")
        th = tuple(float(t) for t in self.thresholds)
        if len(th) != len(GRADES) - 1 or any(not np.isfinite(t) for t in th):
            raise ValueError(f"grade thresholds: need {len(GRADES) - 1} numbers, best grade first")
        if any(a <= b for a, b in zip(th, th[1:], strict=False)):
            raise ValueError("grade thresholds must be strictly decreasing (优秀 > 良好 > 合格 > 基本合格)")
        caps = tuple(float(c) for c in self.caps)
        if len(caps) != 2 or any(not np.isfinite(c) or not 0 <= c <= 100 for c in caps):
            raise ValueError("grade caps: need two percentages in [0, 100] (优秀, 良好)")
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "caps", caps)
        object.__setattr__(self, "within_category", bool(self.within_category))


@dataclass(frozen=True)
class BonusSettings:
    """The efficiency bonus (效能奖金): see :func:`bonus_split`.

    floor : nobody whose real total is at or below this score is paid; above it, in proportion
        to ``coefficient × (total − floor)`` (× headcount with ``basis`` "headcount").
    on : "adjusted": the difficulty coefficient multiplies the excess over the floor;
        "total": it does not.
    basis : "unit" (one share per subject) or "headcount" (per officer: the share is also
        multiplied by the subject's headcount).
    pool_cents : the pool in cents; None = no bonus computed by :func:`score_assessment`.
    turn : whose turn it is for the cents left over after rounding (the app sets the cycle id):
        when subjects' remainders tie, they take turns in subject order (station code, officer
        badge number), the first extra cent going to the subject at place ``turn mod n`` (n
        subjects), the next to the one after, wrapping round; so across cycles no one is
        always first (see :func:`bonus_split`).
    """

    floor: float = 60.0
    on: str = "adjusted"
    pool_cents: int | None = None
    basis: str = "unit"
    turn: int = 0

    def __post_init__(self) -> None:
        if not np.isfinite(float(self.floor)):
            raise ValueError("bonus floor must be a finite number")
        object.__setattr__(self, "floor", float(self.floor))
        if self.on not in ("adjusted", "total"):
            raise ValueError("bonus 'on' must be 'adjusted' or 'total'")
        if self.basis not in ("unit", "headcount"):
            raise ValueError("bonus basis must be 'unit' or 'headcount'")
        if isinstance(self.turn, bool) or int(self.turn) != self.turn or self.turn < 0:
            raise ValueError("bonus turn must be a whole number >= 0")
        object.__setattr__(self, "turn", int(self.turn))
        if self.pool_cents is not None:
            if int(self.pool_cents) != self.pool_cents or self.pool_cents < 0:
                raise ValueError("bonus pool_cents must be a whole number of cents >= 0")
            object.__setattr__(self, "pool_cents", int(self.pool_cents))


def _checked_indicators(indicators: Any) -> tuple[IndicatorSpec, ...]:
    inds = tuple(indicators)
    if not inds or not all(isinstance(i, IndicatorSpec) for i in inds):
        raise ValueError("indicators: need at least one IndicatorSpec")
    codes = [i.code for i in inds]
    dup = sorted({c for c in codes if codes.count(c) > 1})
    if dup:
        raise ValueError(f"indicators: duplicate codes {dup}")
    return inds


def _checked_dimensions(weights: Any, inds: tuple[IndicatorSpec, ...]) -> dict[str, float]:
    dims = {str(k): float(v) for k, v in dict(weights).items()}
    if not dims or any(not np.isfinite(v) or v < 0 for v in dims.values()):
        raise ValueError("dimension_weights: need weights >= 0")
    _check_sum_100(list(dims.values()), "dimension weights",
                   ", ".join(f"{_dim_label(k)} {v:g}" for k, v in dims.items()))
    for spec in inds:
        if spec.dimension not in dims:
            raise ValueError(f"indicator {spec.code}: unknown dimension {spec.dimension!r} "
                             f"(known: {', '.join(dims)})")
    for level in _LEVELS:
        for dim in dims:
            members = [s for s in inds if s.level == level and s.dimension == dim and s.added_points is None]
            if members:
                _check_sum_100([s.weight for s in members],
                               f"indicator weights in dimension {_dim_label(dim)} at level {level}",
                               ", ".join(f"{s.code} {s.weight:g}" for s in members))
    return dims


def _checked_difficulty(difficulty: Any) -> dict[int, float]:
    diff = {}
    for k, v in dict(difficulty).items():
        v = float(v)
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"difficulty: coefficient of category {k} must be > 0, got {v}")
        diff[int(k)] = v
    if not diff:
        raise ValueError("difficulty: need at least one station category")
    return diff


def _checked_seasonal(seasonal: Any, inds: tuple[IndicatorSpec, ...]) -> dict[str, float]:
    codes = {i.code for i in inds}
    seas = {}
    for k, v in dict(seasonal).items():
        if k not in codes:
            raise ValueError(f"seasonal: unknown indicator {k!r}")
        v = float(v)
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"seasonal: multiplier of {k} must be > 0, got {v}")
        seas[str(k)] = v
    return seas


@dataclass(frozen=True)
class AssessmentConfig:
    """A cycle's assessment rules (frozen into the cycle when it opens).

    indicators : the catalogue for both levels (see :class:`IndicatorSpec`).
    dimension_weights : dimension code → weight; adds to 100. Default 执法质量 30,
        基础管控 25, 群众服务 20, 队伍管理 25. At a level where a dimension has no
        indicators, the other dimensions' weights are scaled up to 100.
    difficulty : station category (1 一类, 2 二类, 3 三类, ...) → difficulty coefficient
        (难度系数, > 0) multiplying the total.
    seasonal : indicator code → multiplier (> 0) of its weight for this cycle (e.g. 1.5 on
        anti-fraud work in a fraud peak): the indicator's weight in the total becomes exactly
        multiplier × its base weight and the level's other indicators shrink proportionally
        (see :meth:`indicator_weights`). A season may also add an indicator
        (``IndicatorSpec.added_points``).
    missing : "indicator" (each indicator's ``on_missing``) | "zero" | "exclude" (see the
        module docstring); "renormalise", the name of an older default, reads as "indicator".
    min_coverage : in [0, 1]; a subject whose data back less than this share of the nominal
        weight gets no total.
    grades, bonus : see :class:`GradeRules`, :class:`BonusSettings`.

    Raises ValueError naming the offending set when a weight set does not add to 100.
    """

    indicators: tuple[IndicatorSpec, ...]
    dimension_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_DIMENSION_WEIGHTS), hash=False)
    difficulty: Mapping[int, float] = field(
        default_factory=lambda: dict(DEFAULT_DIFFICULTY), hash=False)
    seasonal: Mapping[str, float] = field(default_factory=dict, hash=False)
    missing: str = "indicator"
    min_coverage: float = 0.5
    grades: GradeRules = GradeRules()
    bonus: BonusSettings = BonusSettings()

    def __post_init__(self) -> None:
        inds = _checked_indicators(self.indicators)
        object.__setattr__(self, "indicators", inds)
        dims = _checked_dimensions(self.dimension_weights, inds)
        object.__setattr__(self, "dimension_weights", MappingProxyType(dims))
        object.__setattr__(self, "difficulty", MappingProxyType(_checked_difficulty(self.difficulty)))
        object.__setattr__(self, "seasonal", MappingProxyType(_checked_seasonal(self.seasonal, inds)))
        if self.missing == "renormalise":
            object.__setattr__(self, "missing", "indicator")
        if self.missing not in ("indicator", "zero", "exclude"):
            raise ValueError("missing must be 'indicator', 'zero' or 'exclude'")
        mc = float(self.min_coverage)
        if not 0.0 <= mc <= 1.0:
            raise ValueError("min_coverage must lie in [0, 1]")
        object.__setattr__(self, "min_coverage", mc)
        if not isinstance(self.grades, GradeRules) or not isinstance(self.bonus, BonusSettings):
            raise ValueError("grades and bonus must be GradeRules and BonusSettings")
        for level in _LEVELS:
            if self.specs(level):
                self.indicator_weights(level)  # raises when the seasonal weights cannot be met

    # -- derived weights ------------------------------------------------------------------

    def specs(self, level: str) -> tuple[IndicatorSpec, ...]:
        """The indicators of one level, in catalogue order."""
        if level not in _LEVELS:
            raise ValueError(f"level must be 'unit' or 'officer', got {level!r}")
        return tuple(s for s in self.indicators if s.level == level)

    def base_weights(self, level: str) -> dict[str, float]:
        """Indicator code → base weight in points of the total, before the seasonal
        adjustment (dimension weight × weight within the dimension / 100; an added
        indicator: 0)."""
        dw = self.level_dimension_weights(level)
        return {s.code: 0.0 if s.added_points is not None else dw.get(s.dimension, 0.0) * s.weight / 100.0
                for s in self.specs(level)}

    def indicator_weights(self, level: str) -> dict[str, float]:
        """Indicator code → effective weight in points of the 100-point total for this cycle.

        A seasonal multiplier m on an indicator of base weight b makes its weight exactly
        ``m × b``; an added indicator gets its ``added_points``; every other indicator of the
        level keeps its base weight times ``(100 − Σ fixed) / Σ base of the others``, so the
        weights still add to 100. Example: base 7.5 × 1.5 = 11.25 points, the other 92.5 points
        shrink to 88.75.
        Raises ValueError when the fixed weights reach 100 or nothing is left to shrink.
        """
        base = self.base_weights(level)
        fixed = {}
        for spec in self.specs(level):
            if spec.added_points is not None:
                fixed[spec.code] = spec.added_points * self.seasonal.get(spec.code, 1.0)
            elif spec.code in self.seasonal:
                fixed[spec.code] = base[spec.code] * self.seasonal[spec.code]
        if not fixed:
            return base
        rest = sum(v for c, v in base.items() if c not in fixed)
        room = 100.0 - sum(fixed.values())
        if room < -_TOL or (room > _TOL and rest <= 0):
            raise ValueError(f"seasonal weights at level {level}: {', '.join(fixed)} would take "
                             f"{sum(fixed.values()):g} points of 100 and leave nothing to shrink")
        scale = max(room, 0.0) / rest if rest > 0 else 0.0
        return {c: fixed.get(c, v * scale) for c, v in base.items()}

    def effective_dimension_weights(self, level: str) -> dict[str, float]:
        """Dimension code → its effective weight in points of the total (the sum of its
        indicators' effective weights)."""
        eff = self.indicator_weights(level)
        out = dict.fromkeys(self.level_dimension_weights(level), 0.0)
        for spec in self.specs(level):
            out[spec.dimension] = out.get(spec.dimension, 0.0) + eff[spec.code]
        return out

    def weights_within_dimension(self, level: str) -> dict[str, float]:
        """Indicator code → effective weight within its dimension (each dimension's weights add
        to 100), for display."""
        eff = self.indicator_weights(level)
        dims = self.effective_dimension_weights(level)
        return {s.code: (100.0 * eff[s.code] / dims[s.dimension]) if dims[s.dimension] > 0 else 0.0
                for s in self.specs(level)}

    def level_dimension_weights(self, level: str) -> dict[str, float]:
        """Dimension code → base weight at this level (dimensions without indicators dropped,
        the rest scaled to add to 100)."""
        present = {s.dimension for s in self.specs(level) if s.added_points is None}
        w = {d: v for d, v in self.dimension_weights.items() if d in present}
        total = sum(w.values())
        if not w or total <= 0:
            raise ValueError(f"level {level}: no indicator in a dimension with positive weight")
        out = {d: 100.0 * v / total for d, v in w.items()}
        for s in self.specs(level):
            out.setdefault(s.dimension, 0.0)
        return out

    # -- JSON ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (category keys become strings)."""
        return {
            "indicators": [s.to_dict() for s in self.indicators],
            "dimension_weights": dict(self.dimension_weights),
            "difficulty": {str(k): v for k, v in self.difficulty.items()},
            "seasonal": dict(self.seasonal),
            "missing": self.missing,
            "min_coverage": self.min_coverage,
            "grades": {"mode": self.grades.mode, "shares": list(self.grades.shares),
                       "thresholds": list(self.grades.thresholds),
                       "within_category": self.grades.within_category, "on": self.grades.on,
                       "caps": list(self.grades.caps)},
            "bonus": {"floor": self.bonus.floor, "on": self.bonus.on,
                      "pool_cents": self.bonus.pool_cents, "basis": self.bonus.basis,
                      "turn": self.bonus.turn},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssessmentConfig:
        """Inverse of :meth:`to_dict`; ValueError on unknown keys or bad values."""
        known = {"indicators", "dimension_weights", "difficulty", "seasonal", "missing",
                 "min_coverage", "grades", "bonus"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"AssessmentConfig: unknown keys {sorted(unknown)}")
        try:
            kwargs: dict[str, Any] = {
                "indicators": tuple(IndicatorSpec(**d) for d in data["indicators"]),
            }
            if "dimension_weights" in data:
                kwargs["dimension_weights"] = data["dimension_weights"]
            if "difficulty" in data:
                kwargs["difficulty"] = {int(k): v for k, v in data["difficulty"].items()}
            for key in ("seasonal", "missing", "min_coverage"):
                if key in data:
                    kwargs[key] = data[key]
            if "grades" in data:
                g = dict(data["grades"])
                for key in ("shares", "thresholds", "caps"):
                    if key in g:
                        g[key] = tuple(g[key])
                kwargs["grades"] = GradeRules(**g)
            if "bonus" in data:
                kwargs["bonus"] = BonusSettings(**data["bonus"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"AssessmentConfig: malformed data: {exc}") from None
        return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# Input and result
# ---------------------------------------------------------------------------------------------


def _checked_codes(codes: Any) -> tuple[str, ...]:
    """An IndicatorMatrix's column codes as strings; ValueError on a duplicate."""
    out = tuple(str(c) for c in codes)
    if len(set(out)) != len(out):
        raise ValueError("codes: duplicate indicator codes")
    return out


def _checked_values(values: Any, n_codes: int) -> np.ndarray:
    """(n_subjects, n_codes) float raw values, read-only; ValueError on a wrong width or an infinity."""
    out = _frozen_array(values, np.float64, "values", ndim=2)
    if out.shape[1] != n_codes:
        raise ValueError(f"values: {out.shape[1]} columns for {n_codes} codes")
    if np.any(np.isinf(out)):
        raise ValueError("values: infinite values (use NaN for missing)")
    return out


def _checked_own_levels(x: Any, name: str, what: str, shape: tuple[int, ...]) -> np.ndarray:
    """A subject's own targets or baselines, shaped like the values: finite and > 0, NaN = none."""
    out = _frozen_array(x, np.float64, name, ndim=2)
    if out.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {out.shape}")
    if np.any(out[~np.isnan(out)] <= 0) or np.any(np.isinf(out)):
        raise ValueError(f"{name}: a subject's {what} must be a finite number > 0 (NaN = none)")
    return out


def _checked_headcount(x: Any, n: int) -> np.ndarray:
    """(n,) officers per subject, whole numbers >= 0."""
    out = _as_int_array(x, "headcount")
    if out.shape != (n,) or np.any(out < 0):
        raise ValueError(f"headcount: expected ({n},) whole numbers >= 0")
    return out


def _checked_population(x: Any, n: int) -> np.ndarray:
    """(n,) residents per subject, > 0 where known (NaN = unknown)."""
    out = _frozen_array(x, np.float64, "population", ndim=1)
    known = out[~np.isnan(out)]
    if out.shape != (n,) or np.any(known <= 0) or np.any(np.isinf(known)):
        raise ValueError(f"population: expected ({n},) numbers > 0 (NaN = unknown)")
    return out


@dataclass(frozen=True, eq=False)
class IndicatorMatrix:
    """Raw indicator values of one level's subjects (units or officers) for one cycle.

    codes : (n_indicators,) indicator codes naming the columns; exactly the config's
        indicators of one level, in any order.
    values : (n_subjects, n_indicators) float, the raw value in the indicator's own unit;
        NaN = missing. For a ``split_preventable`` indicator: the preventable count.
    category : (n_subjects,) int station category (a key of ``config.difficulty``; for an
        officer, their station's category).
    nonpreventable : (n_subjects, n_indicators) float or None: the non-preventable count for
        ``split_preventable`` indicators (ignored elsewhere). NaN in either count = missing.
    targets : (n_subjects, n_indicators) float or None: a subject's own target (目标责任书)
        for a "target" indicator, overriding the category's; NaN = the category's target.
    headcount : (n_subjects,) int >= 0 or None: officers per subject, needed for a bonus on the
        "headcount" basis.
    population : (n_subjects,) float > 0 or None: residents per subject (units), needed for
        ``per_capita`` indicators; NaN = unknown.
    baseline : (n_subjects, n_indicators) float or None: a subject's own baseline for an
        indicator with ``baseline`` set, in the unit it is scored in (after combining split
        counts, per 10,000 residents for ``per_capita``); NaN = none (the category's target).
    """

    codes: tuple[str, ...]
    values: np.ndarray
    category: np.ndarray
    nonpreventable: np.ndarray | None = None
    targets: np.ndarray | None = None
    headcount: np.ndarray | None = None
    population: np.ndarray | None = None
    baseline: np.ndarray | None = None

    def __post_init__(self) -> None:
        codes = _checked_codes(self.codes)
        values = _checked_values(self.values, len(codes))
        n = values.shape[0]
        category = _as_int_array(self.category, "category")
        if category.shape != (n,):
            raise ValueError(f"category: expected shape ({n},), got {category.shape}")
        nonprev = None
        if self.nonpreventable is not None:
            nonprev = _frozen_array(self.nonpreventable, np.float64, "nonpreventable", ndim=2)
            if nonprev.shape != values.shape:
                raise ValueError(f"nonpreventable: expected shape {values.shape}, got {nonprev.shape}")
        targets = None if self.targets is None else _checked_own_levels(self.targets, "targets", "target",
                                                                         values.shape)
        headcount = None if self.headcount is None else _checked_headcount(self.headcount, n)
        population = None if self.population is None else _checked_population(self.population, n)
        baseline = None if self.baseline is None else _checked_own_levels(self.baseline, "baseline", "baseline",
                                                                          values.shape)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "baseline", baseline)
        object.__setattr__(self, "headcount", headcount)
        object.__setattr__(self, "population", population)
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "nonpreventable", nonprev)

    @property
    def n_subjects(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True, eq=False)
class AssessmentResult:
    """Result of :func:`score_assessment`. n = subjects, m = indicators, k = dimensions.

    codes : (m,) indicator codes, the column order of the (n, m) arrays.
    dimensions : (k,) dimension codes, the column order of the (n, k) arrays.
    indicator_dimension : (m,) int, column of each indicator's dimension.
    level : "unit" or "officer".
    raw : (n, m) raw value used (preventable + weight × non-preventable for split
        indicators); NaN = missing.
    normalised : (n, m) 0–100 score; NaN where missing, except 0 where a missing value
        counts as 0 (hard indicators).
    target, floor : (n, m) the target and floor each "target" score used (NaN: none / minmax).
    from_baseline : (n, m) bool, the target and floor came from the subject's own baseline.
    reference_low, reference_high : (n, m) the worst and best value a "minmax" score was
        placed between (NaN for "target").
    pooled : (n, m) bool, a "minmax" score compared with the whole pool because the category
        was smaller than ``min_group``.
    weight : (n, m) the weight the subject actually got, in points of the total (effective
        weight, or renormalised over what the subject has for a soft indicator); 0 where a
        soft indicator is missing. Sums to 100 per scored subject.
    contribution : (n, m) ``normalised × weight / 100``; 0 where the weight is 0 (NaN
        where missing under "exclude").
    dimension_weight : (n, k) weight of each dimension in points of the total.
    dimension_contribution : (n, k) sum of the dimension's contributions.
    dimension_score : (n, k) 0–100 score of the dimension
        (= contribution / dimension_weight × 100); NaN with no data.
    total : (n,) ``contribution.sum(axis=1)``, 0–100; NaN when excluded.
    coefficient : (n,) difficulty coefficient of the subject's category.
    adjusted_total : (n,) ``total × coefficient``; NaN when excluded.
    rank : (n,) int rank within the category by total (the category shares one coefficient),
        1 = best, ties share the best rank, -1 = not ranked.
    rank_overall : (n,) int rank across categories by adjusted total (-1 = not ranked).
    grade : (n,) int index into :data:`GRADES` (0 = 优秀), -1 = not graded.
    missing : (n, m) bool, no usable value.
    coverage : (n,) share (0–1) of the nominal weight backed by data.
    incomplete : (n,) bool, some indicator missing.
    excluded : (n,) bool, no total (coverage below min_coverage, or any missing under
        "exclude").
    hard_missing : (n, m) bool, missing values counted as 0 (publication needs them supplied
        or excused).
    bonus_cents : (n,) int64 efficiency bonus, or None when the config has no pool.
    bonus_weight : (n,) float the subject's share weight ``coefficient × (total − floor)``
        (× headcount), 0 at or below the floor; None without a pool.
    bonus_undistributed : True when there is a pool but nobody's total clears the floor (the
        pool is then not paid out and every bonus is 0).
    """

    codes: tuple[str, ...]
    dimensions: tuple[str, ...]
    indicator_dimension: np.ndarray
    level: str
    raw: np.ndarray
    normalised: np.ndarray
    weight: np.ndarray
    contribution: np.ndarray
    dimension_weight: np.ndarray
    dimension_contribution: np.ndarray
    dimension_score: np.ndarray
    total: np.ndarray
    coefficient: np.ndarray
    adjusted_total: np.ndarray
    rank: np.ndarray
    rank_overall: np.ndarray
    grade: np.ndarray
    missing: np.ndarray
    coverage: np.ndarray
    incomplete: np.ndarray
    excluded: np.ndarray
    bonus_cents: np.ndarray | None
    target: np.ndarray | None = None
    floor: np.ndarray | None = None
    reference_low: np.ndarray | None = None
    reference_high: np.ndarray | None = None
    pooled: np.ndarray | None = None
    hard_missing: np.ndarray | None = None
    bonus_weight: np.ndarray | None = None
    bonus_undistributed: bool = False
    from_baseline: np.ndarray | None = None

    @property
    def missing_pairs(self) -> np.ndarray:
        """(n_missing, 2) int rows of (subject index, indicator column), the missing report."""
        return np.argwhere(self.missing)

    @property
    def grade_codes(self) -> np.ndarray:
        """(n,) str grade codes from :data:`GRADES`, "" where not graded."""
        names = np.array(GRADES + ("",), dtype=object)
        codes: np.ndarray = names[self.grade]
        return codes


@dataclass(frozen=True, eq=False)
class RoundedBreakdown:
    """A breakdown rounded for display that still adds up exactly (see rounded_breakdown).

    All in integer hundredths of a point (``decimals=2``): ``total`` (n,),
    ``contribution`` (n, m) summing exactly to ``total`` per subject, ``dimension`` (n, k)
    the sums of the contributions of each dimension. Excluded subjects are all zero.
    """

    scale: int
    total: np.ndarray
    contribution: np.ndarray
    dimension: np.ndarray


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Normalised:
    score: np.ndarray
    target: np.ndarray
    floor: np.ndarray
    low: np.ndarray
    high: np.ndarray
    pooled: np.ndarray
    from_baseline: np.ndarray


def _targets(specs: Sequence[IndicatorSpec], cols: np.ndarray, cats: np.ndarray, cat_idx: np.ndarray,
             override: np.ndarray | None,
             baseline: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, len(cols)) target and floor of each subject: its own (override), else its baseline
    for a ``baseline`` indicator (the floor scaled by baseline / category target), else its
    category's, else the indicator's; NaN floor = none. Also (n, len(cols)) bool: from the
    baseline."""
    def per_cat(getter: Callable[[IndicatorSpec, int], float | None]) -> np.ndarray:
        table = np.array([[np.nan if (x := getter(specs[j], c)) is None else x for j in cols] for c in cats])
        per_subject: np.ndarray = table.reshape(cats.size, cols.size)[cat_idx]
        return per_subject

    target = per_cat(IndicatorSpec.target_for)
    floor = per_cat(IndicatorSpec.floor_for)
    from_baseline = np.zeros(target.shape, dtype=bool)
    if baseline is not None:
        wants = np.array([specs[j].baseline for j in cols], dtype=bool)[None, :]
        b = baseline[:, cols]
        from_baseline = wants & ~np.isnan(b) & ~np.isnan(target)
        if override is not None:
            from_baseline &= np.isnan(override[:, cols])
        with np.errstate(invalid="ignore", divide="ignore"):
            floor = np.where(from_baseline, floor * b / target, floor)
        target = np.where(from_baseline, b, target)
    if override is not None:
        own = override[:, cols]
        target = np.where(np.isnan(own), target, own)
    lacking = np.argwhere(np.isnan(target))
    if lacking.size:
        i, j = lacking[0]
        raise ValueError(f"indicator {specs[cols[j]].code}: no target for category {int(cats[cat_idx[i]])}")
    lower = np.array([specs[j].direction == "lower" for j in cols], dtype=bool)
    with np.errstate(invalid="ignore"):
        wrong = ~np.isnan(floor) & np.where(lower, floor <= target, floor >= target)
    if np.any(wrong):
        i, j = np.argwhere(wrong)[0]
        raise ValueError(f"indicator {specs[cols[j]].code}: subject {i}'s target {target[i, j]:g} lies "
                         f"beyond the floor {floor[i, j]:g}")
    return target, floor, from_baseline


def _normalise(raw: np.ndarray, cats: np.ndarray, cat_idx: np.ndarray, specs: Sequence[IndicatorSpec],
               override: np.ndarray | None, baseline: np.ndarray | None = None) -> _Normalised:
    """(n, m) raw values → 0–100 scores (NaN where raw is NaN), with what each score was
    measured against."""
    n, m = raw.shape
    n_cat = cats.size
    out = np.full((n, m), np.nan)
    target = np.full((n, m), np.nan)
    floor = np.full((n, m), np.nan)
    low_ref = np.full((n, m), np.nan)
    high_ref = np.full((n, m), np.nan)
    pooled = np.zeros((n, m), dtype=bool)
    from_baseline = np.zeros((n, m), dtype=bool)
    lower = np.array([s.direction == "lower" for s in specs], dtype=bool)
    is_target = np.array([s.method == "target" for s in specs], dtype=bool)
    present = ~np.isnan(raw)

    t_cols = np.flatnonzero(is_target)
    if t_cols.size:
        v = raw[:, t_cols]
        t, f, fb = _targets(specs, t_cols, cats, cat_idx, override, baseline)
        from_baseline[:, t_cols] = fb
        low = lower[t_cols]
        has_floor = ~np.isnan(f)
        with np.errstate(all="ignore"):  # 0, subnormal values and absent floors are handled below
            ratio = np.where(low, t / v, v / t)
            # Lower-better with a value <= 0 (no incidents at all) meets any target.
            ratio = np.where(low & (v <= 0), 1.0, ratio)
            linear = np.where(low, (f - v) / (f - t), (v - f) / (t - f))
        score = np.where(has_floor, linear, ratio)
        out[:, t_cols] = np.where(np.isnan(v), np.nan, 100.0 * np.clip(score, 0.0, 1.0))
        target[:, t_cols] = t
        floor[:, t_cols] = f

    mm_cols = np.flatnonzero(~is_target)
    if mm_cols.size:
        v = raw[:, mm_cols]
        ok = ~np.isnan(v)
        mins = np.full((n_cat, mm_cols.size), np.inf)
        maxs = np.full((n_cat, mm_cols.size), -np.inf)
        np.minimum.at(mins, cat_idx, np.where(ok, v, np.inf))
        np.maximum.at(maxs, cat_idx, np.where(ok, v, -np.inf))
        count = np.zeros((n_cat, mm_cols.size), dtype=np.int64)
        np.add.at(count, cat_idx, ok.astype(np.int64))
        # Too small a category compares with the whole pool (one case more must cost a
        # proportionate amount, and a lone station is not top by default).
        small = count[cat_idx] < np.array([specs[int(j)].min_group for j in mm_cols])[None, :]
        lo = np.where(small, np.where(ok, v, np.inf).min(axis=0, initial=np.inf), mins[cat_idx])
        hi = np.where(small, np.where(ok, v, -np.inf).max(axis=0, initial=-np.inf), maxs[cat_idx])
        span = hi - lo
        low = lower[mm_cols]
        with np.errstate(all="ignore"):  # span 0 and infinite spans are handled just below
            score = 100.0 * np.where(low, hi - v, v - lo) / span
        # Everyone compared is equal: nobody is worse than anyone → 100.
        score = np.where(span > 0, score, 100.0)
        out[:, mm_cols] = np.where(ok, np.clip(score, 0.0, 100.0), np.nan)
        shown_lo, shown_hi = np.where(low, hi, lo), np.where(low, lo, hi)  # worst, best
        low_ref[:, mm_cols] = np.where(ok, shown_lo, np.nan)
        high_ref[:, mm_cols] = np.where(ok, shown_hi, np.nan)
        pooled[:, mm_cols] = small & ok
    out[~present] = np.nan
    return _Normalised(out, target, floor, low_ref, high_ref, pooled, from_baseline)


def _effective_weights(present: np.ndarray, hard: np.ndarray, nominal: np.ndarray, member: np.ndarray,
                       exclude: bool) -> np.ndarray:
    """(n, m) weight in points of the total each subject gets: the nominal weight, with a
    missing soft indicator's weight spread over what the subject has in its dimension (and a
    dimension without anything over the other dimensions)."""
    n, m = present.shape
    if exclude:
        return np.broadcast_to(nominal, (n, m)).copy()
    kept = present | hard[None, :]
    kept_w = kept * nominal  # (n, m)
    dsum_kept = kept_w @ member  # (n, k)
    dsum_nom = nominal @ member  # (k,)
    dim_eff = (dsum_kept > 0) * dsum_nom
    total = dim_eff.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        dim_eff = np.where(total > 0, 100.0 * dim_eff / total, 0.0)
        scale = np.where(dsum_kept > 0, dim_eff / dsum_kept, 0.0)
    dim_of = member.argmax(axis=1)
    weights: np.ndarray = kept_w * scale[:, dim_of]
    return weights


def _category_index(config: AssessmentConfig, category: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cats = np.array(sorted(config.difficulty), dtype=np.int64)
    cat_idx = np.searchsorted(cats, category)
    bad = (cat_idx >= cats.size) | (cats[np.minimum(cat_idx, cats.size - 1)] != category)
    if np.any(bad):
        raise ValueError(f"subjects with a category that has no difficulty coefficient: "
                         f"{_preview(np.flatnonzero(bad))} (categories: {cats.tolist()})")
    return cats, cat_idx


def _matrix_specs(values: IndicatorMatrix, config: AssessmentConfig) -> tuple[str, list[IndicatorSpec]]:
    cfg_codes = {s.code: s for s in config.indicators}
    unknown = [c for c in values.codes if c not in cfg_codes]
    if unknown:
        raise ValueError(f"indicators not in the config: {', '.join(unknown)}")
    if not values.codes:
        raise ValueError("the matrix has no indicator columns")
    levels = {cfg_codes[c].level for c in values.codes}
    if len(levels) != 1:
        raise ValueError("the matrix mixes unit-level and officer-level indicators")
    level = levels.pop()
    absent = [s.code for s in config.specs(level) if s.code not in values.codes]
    if absent:
        raise ValueError(f"the matrix lacks {level}-level indicators: {', '.join(absent)} "
                         "(pass a column of NaN if nobody has data)")
    return level, [cfg_codes[c] for c in values.codes]


def _raw_values(values: IndicatorMatrix, specs: Sequence[IndicatorSpec]) -> np.ndarray:
    """Raw values, with split preventable / non-preventable case counts combined."""
    raw = values.values.copy()
    split_cols = [j for j, s in enumerate(specs) if s.split_preventable]
    if split_cols:
        if values.nonpreventable is None:
            raise ValueError("nonpreventable counts are needed for split indicators: "
                             + ", ".join(specs[j].code for j in split_cols))
        npw = np.array([specs[j].nonpreventable_weight for j in split_cols])
        raw[:, split_cols] = raw[:, split_cols] + npw * values.nonpreventable[:, split_cols]
    per_capita = [j for j, s in enumerate(specs) if s.per_capita]
    if per_capita:
        pop = values.population
        if pop is None:
            raise ValueError("population is needed for per-capita indicators: "
                             + ", ".join(specs[j].code for j in per_capita))
        unknown = np.isnan(pop) & ~np.isnan(raw[:, per_capita]).all(axis=1)
        if np.any(unknown):
            raise ValueError(f"subjects without a population for per-capita indicators: "
                             f"{_preview(np.flatnonzero(unknown))}")
        raw[:, per_capita] = raw[:, per_capita] / pop[:, None] * 10_000.0
    return raw


@dataclass(frozen=True, eq=False)
class Consequences:
    """Ranks, grades and bonus of scored totals (see :func:`consequences`)."""

    coefficient: np.ndarray
    adjusted_total: np.ndarray
    rank: np.ndarray
    rank_overall: np.ndarray
    grade: np.ndarray
    bonus_cents: np.ndarray | None
    bonus_weight: np.ndarray | None
    bonus_undistributed: bool


def consequences(total: Any, category: Any, config: AssessmentConfig, headcount: Any = None,
                 with_bonus: bool = True) -> Consequences:
    """From (n,) totals (NaN = no total) and (n,) station categories: the difficulty
    coefficient and difficulty-weighted total, the rank within the category (by total: a
    category shares one coefficient), the rank across categories (by weighted total), the
    grade and, when the config has a pool and ``with_bonus``, the bonus (:func:`bonus_split`).
    ValueError for a category without a coefficient."""
    total = np.asarray(total, dtype=np.float64)
    category = _as_int_array(category, "category")
    _cats, cat_idx = _category_index(config, category)
    coefficient = np.array([config.difficulty[int(c)] for c in category], dtype=np.float64)
    adjusted = total * coefficient
    rank = rank_within(total, cat_idx)
    rank_overall = rank_within(adjusted)
    grade = assign_grades(adjusted if config.grades.on == "adjusted" else total, category, config.grades)
    bonus = weight = None
    undistributed = False
    pool_cents = config.bonus.pool_cents
    if with_bonus and pool_cents is not None:
        b = config.bonus
        if b.basis == "headcount" and headcount is None:
            raise ValueError("a bonus on the headcount basis needs each subject's headcount")
        bonus, weight = bonus_split(pool_cents, total, b.floor,
                                    coefficient if b.on == "adjusted" else None,
                                    headcount if b.basis == "headcount" else None, turn=b.turn)
        undistributed = pool_cents > 0 and not np.any(weight > 0)
    return Consequences(coefficient, adjusted, rank, rank_overall, grade, bonus, weight, undistributed)


def score_assessment(values: IndicatorMatrix, config: AssessmentConfig) -> AssessmentResult:
    """Score every subject of one level: normalise, weight, sum, adjust, rank, grade and pay.

    See :class:`AssessmentResult` for the meaning, shape and unit of every output, and the
    module docstring for the missing-data policy. Vectorised over subjects: cost is
    O(n × m) plus sorts for the ranks.

    Raises ValueError if the columns do not match exactly the config's indicators of one
    level, or a subject's category has no difficulty coefficient (or no target).
    When nobody's total clears the bonus floor the result says so
    (``bonus_undistributed``) instead of failing.
    """
    level, specs = _matrix_specs(values, config)
    n, m = values.values.shape
    cats, cat_idx = _category_index(config, values.category)
    raw = _raw_values(values, specs)
    missing = np.isnan(raw)
    present = ~missing
    norm = _normalise(raw, cats, cat_idx, specs, values.targets, values.baseline)

    # Weights: one-hot membership (m, k) lets every per-dimension sum be a matrix product.
    eff = config.indicator_weights(level)
    dims = tuple(d for d in config.level_dimension_weights(level) if any(s.dimension == d for s in specs))
    dim_of = np.array([dims.index(s.dimension) for s in specs], dtype=np.int64)
    member = np.zeros((m, len(dims)))
    member[np.arange(m), dim_of] = 1.0
    nominal = np.array([eff[s.code] for s in specs])  # (m,) points of the total
    coverage = (present * nominal).sum(axis=1) / 100.0
    if config.missing == "zero":
        hard = np.ones(m, dtype=bool)
    else:
        hard = np.array([s.on_missing == "zero" for s in specs], dtype=bool)
    weight = _effective_weights(present, hard, nominal, member, config.missing == "exclude")
    hard_missing = missing & hard[None, :] if config.missing != "exclude" else np.zeros_like(missing)
    normalised = np.where(hard_missing, 0.0, norm.score)
    scored = np.where(present | hard_missing, normalised, 0.0)
    if config.missing == "exclude":
        scored = normalised  # NaN where missing: those subjects are excluded below
    contribution = scored * weight / 100.0
    dimension_weight = weight @ member
    dimension_contribution = contribution @ member
    with np.errstate(divide="ignore", invalid="ignore"):
        dimension_score = np.where(dimension_weight > 0,
                                   100.0 * dimension_contribution / dimension_weight, np.nan)
    # A dimension without any data has no score, even if zeros stand in for its values.
    dimension_score = np.where((present @ member) > 0, dimension_score, np.nan)

    incomplete = missing.any(axis=1)
    excluded = (coverage < config.min_coverage - 1e-12) | (coverage <= 0)
    if config.missing == "exclude":
        excluded |= incomplete
    total = np.where(excluded, np.nan, contribution.sum(axis=1))
    cons = consequences(total, values.category, config, values.headcount)

    return AssessmentResult(
        codes=tuple(values.codes), dimensions=dims, indicator_dimension=dim_of, level=level,
        raw=raw, normalised=normalised, weight=weight, contribution=contribution,
        dimension_weight=dimension_weight, dimension_contribution=dimension_contribution,
        dimension_score=dimension_score, total=total, coefficient=cons.coefficient,
        adjusted_total=cons.adjusted_total, rank=cons.rank, rank_overall=cons.rank_overall, grade=cons.grade,
        missing=missing, coverage=coverage, incomplete=incomplete, excluded=excluded,
        bonus_cents=cons.bonus_cents, target=norm.target, floor=norm.floor, reference_low=norm.low,
        reference_high=norm.high, pooled=norm.pooled, hard_missing=hard_missing,
        from_baseline=norm.from_baseline,
        bonus_weight=cons.bonus_weight, bonus_undistributed=cons.bonus_undistributed,
    )


def rounded_breakdown(result: AssessmentResult, decimals: int = 2) -> RoundedBreakdown:
    """Round totals half up to ``decimals`` and the contributions by largest remainder so
    that, on a result page, the shown contributions add up exactly to the shown total, and
    the shown dimensions to the shown total too."""
    if not 0 <= decimals <= 6:
        raise ValueError("decimals must lie in [0, 6]")
    scale = 10**decimals
    n, m = result.contribution.shape
    ok = ~result.excluded
    total = np.where(ok, np.floor(np.nan_to_num(result.total) * scale + 0.5), 0).astype(np.int64)
    w = np.where(ok[:, None], np.nan_to_num(result.contribution), 0.0)
    contrib = largest_remainder(total, w.ravel(), segments=np.repeat(np.arange(n), m)).reshape(n, m)
    dim = np.zeros((n, len(result.dimensions)), dtype=np.int64)
    # numpy's stubs reject a slice inside the index tuple of ufunc.at, which numpy accepts.
    np.add.at(dim, (slice(None), result.indicator_dimension), contrib)  # type: ignore[arg-type]
    return RoundedBreakdown(scale=scale, total=total, contribution=contrib, dimension=dim)


def assign_grades(scores: Any, category: Any, rules: GradeRules) -> np.ndarray:
    """Grades (index into :data:`GRADES`, 0 = 优秀) from scores by the rules; -1 for NaN.

    scores : (n,) float; category : (n,) int (quotas and shares apply within each category
    when ``rules.within_category``, else over everybody).

    Ties never depend on position: subjects tied at the last seat of a grade all get it (a
    quota or share can be exceeded by a tie, never cut by row order), so only the bonus cents
    need a tie-break rule (:func:`bonus_split`).
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[0]
    grade = np.full(n, -1, dtype=np.int64)
    ok = ~np.isnan(s)
    th = np.array(rules.thresholds)
    by_threshold = (np.round(s, 9)[:, None] < th[None, :]).sum(axis=1)
    if rules.mode == "threshold":
        grade[ok] = by_threshold[ok]
        return grade
    groups = _as_int_array(category, "category") if rules.within_category else np.zeros(n, np.int64)
    if groups.shape != (n,):
        raise ValueError(f"category: expected shape ({n},), got {groups.shape}")
    _, g = np.unique(groups, return_inverse=True)
    g = np.asarray(g).reshape(-1)
    if rules.mode == "quota":
        for gi in np.unique(g[ok]):
            sel = ok & (g == gi)
            grade[sel] = _quota_grades(s[sel], by_threshold[sel], rules.caps)
        return grade
    n_groups = int(g.max(initial=-1)) + 1
    rank = rank_within(s, g)
    size = np.bincount(g[ok], minlength=n_groups)
    n_grades = len(GRADES)
    # Seats per grade in each group: the group's size split by the shares (basis points).
    shares_bp = np.rint(np.array(rules.shares) * 100).astype(np.int64)
    counts = largest_remainder(size, np.tile(shares_bp, n_groups),
                               segments=np.repeat(np.arange(n_groups), n_grades)).reshape(n_groups, n_grades)
    bounds = np.cumsum(counts, axis=1)  # (n_groups, n_grades)
    r0 = rank[ok] - 1
    # Tied subjects share the best rank, hence the better grade.
    grade[ok] = (r0[:, None] >= bounds[g[ok]]).sum(axis=1)
    return np.minimum(grade, n_grades - 1)


def _quota_grades(s: np.ndarray, by_threshold: np.ndarray, caps: Sequence[float]) -> np.ndarray:
    """Threshold grades of one pool with the caps on 优秀 and 良好 (see :class:`GradeRules`)."""
    n = s.size
    grade: np.ndarray = np.maximum(by_threshold, 2)  # the uncapped grades: 合格 and below, by threshold
    key = np.round(s, 9)
    taken = np.zeros(n, dtype=bool)
    for k, cap in enumerate(caps):
        seats = int(np.floor(cap * n / 100.0 + 1e-9))
        if cap > 0:
            seats = max(seats, 1)
        candidates = ~taken & (by_threshold <= k)
        ranked = np.sort(key[candidates])[::-1]
        if ranked.size <= seats:
            take = candidates
        elif seats == 0:
            take = np.zeros(n, dtype=bool)
        else:
            # Those tied with the last seat share it (a better score never gets a worse grade).
            take = candidates & (key >= ranked[seats - 1])
        grade[take] = k
        taken |= take
    out: np.ndarray = grade
    return out


def bonus_split(pool_cents: int, total: Any, floor: float, coefficient: Any = None,
                headcount: Any = None, turn: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split an efficiency-bonus pool where the money is shared.

    total : (n,) float real totals (0–100); NaN, or a total at or below ``floor``, gets nothing.
    coefficient : (n,) difficulty coefficients multiplying the excess, or None.
    headcount : (n,) officers per subject (the per-officer basis), or None.

    turn : int >= 0, whose turn it is for tied remainders (the cycle id, see
        :attr:`BonusSettings.turn`).

    Each subject's weight is ``coefficient × (total − floor) × headcount`` (missing factors = 1);
    returns ((n,) int64 cents adding up exactly to the pool, (n,) float weights). The cents are
    rounded by the largest remainder; among equal remainders the subjects take turns in row
    order starting at place ``turn mod n`` (:func:`~scoring.team.rotating_tiebreak`), so the
    same subject is not favoured cycle after cycle. When nobody clears the floor nothing is
    paid: all zeros (the caller reports it), never an error.
    """
    if int(pool_cents) != pool_cents or pool_cents < 0:
        raise ValueError("pool_cents must be a whole number of cents >= 0")
    t = np.asarray(total, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"total: expected a 1-D array, got shape {t.shape}")
    excess = np.where(np.isnan(t), 0.0, np.maximum(np.nan_to_num(t) - float(floor), 0.0))
    weight = excess
    if coefficient is not None:
        weight = weight * np.asarray(coefficient, dtype=np.float64)
    if headcount is not None:
        weight = weight * np.asarray(headcount, dtype=np.float64)
    micro = np.rint(weight * 1e6).astype(np.int64)
    if pool_cents == 0 or not np.any(micro > 0):
        return np.zeros(t.shape[0], dtype=np.int64), weight
    tiebreak = rotating_tiebreak(np.zeros(t.shape[0], dtype=np.int64), int(turn))
    return largest_remainder(int(pool_cents), micro, tiebreak=tiebreak), weight


def split_bonus(pool_cents: int, scores: Any, floor: float, turn: int = 0) -> np.ndarray:
    """Split an efficiency-bonus pool in proportion to ``max(score − floor, 0)``.

    pool_cents : int >= 0, the pool in cents.
    scores : (n,) float; NaN (no total) gets nothing.
    floor : scores at or below it get nothing.

    turn : int >= 0, whose turn it is for tied remainders (the cycle id): see :func:`bonus_split`.

    Returns (n,) int64 cents adding up exactly to ``pool_cents`` (largest remainder; the
    proportions use the excess rounded to 1e-6 point; equal remainders take turns from place
    ``turn mod n``, so no index is always favoured).
    Raises ValueError if the pool is positive but nobody scores above the floor (see
    :func:`bonus_split` for the form that reports it instead).
    """
    if int(pool_cents) != pool_cents or pool_cents < 0:
        raise ValueError("pool_cents must be a whole number of cents >= 0")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores: expected a 1-D array, got shape {s.shape}")
    floor = float(floor)
    if not np.isfinite(floor):
        raise ValueError("floor must be a finite number")
    if isinstance(turn, bool) or int(turn) != turn or turn < 0:
        raise ValueError("turn must be a whole number >= 0")
    cents, weight = bonus_split(pool_cents, s, floor, turn=int(turn))
    if pool_cents > 0 and not np.any(np.rint(weight * 1e6) > 0):
        raise ValueError(f"nobody scores above the bonus floor {floor:g}: the pool cannot be split")
    return cents


# ---------------------------------------------------------------------------------------------
# Across cycles, and consequences
# ---------------------------------------------------------------------------------------------


def consecutive_last(ranks_by_year: Any, category: Any, years: int = 2) -> np.ndarray:
    """Units last in their category in each of the ``years`` most recent annual cycles (约谈).

    ranks_by_year : (n_years, n_units) ranks within category, oldest year first, one row
        per consecutive annual cycle; NaN or a value < 1 (e.g. -1) = not assessed that year;
        ``+inf`` = assessed but not ranked for lack of data (below the coverage threshold):
        such a unit counts as last, so dropping data never escapes the flag.
    category : (n_units,) int station category, or (n_years, n_units) each year's own
        category (a re-classified station is compared with the stations of its category of
        that year).

    "Last" in a category and year = the units without a rank for lack of data if there are
    any, else the worst (largest) rank, ties included, provided not everybody ties; a
    category with fewer than two assessed units has no last. With fewer than ``years`` cycles
    of data nobody is flagged. Returns (n_units,) bool.
    """
    r = np.asarray(ranks_by_year, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"ranks_by_year: expected (n_years, n_units), got shape {r.shape}")
    n_years, n_units = r.shape
    cat = np.asarray(category)
    if cat.ndim == 2:
        cat = _as_int_array(cat.ravel(), "category").reshape(cat.shape)
    else:
        cat = _as_int_array(cat, "category")
    if cat.shape == (n_units,):
        cat = np.broadcast_to(cat, (n_years, n_units))
    if cat.shape != (n_years, n_units):
        raise ValueError(f"category: expected shape ({n_units},) or ({n_years}, {n_units}), got {cat.shape}")
    if years < 1:
        raise ValueError("years must be >= 1")
    if n_years < years:
        return np.zeros(n_units, dtype=bool)
    recent, rcat = r[-years:], cat[-years:]
    assessed = ~np.isnan(recent) & (recent >= 1)
    unranked = assessed & np.isinf(recent)
    ranked = assessed & ~unranked
    _, ci = np.unique(rcat, return_inverse=True)
    ci = np.asarray(ci).reshape(rcat.shape)
    n_cat = int(ci.max(initial=-1)) + 1
    key = np.arange(years)[:, None] * n_cat + ci  # (years, n_units)
    size = years * n_cat
    worst = np.full(size, -np.inf)
    best = np.full(size, np.inf)
    np.maximum.at(worst, key[ranked], recent[ranked])
    np.minimum.at(best, key[ranked], recent[ranked])
    n_assessed = np.bincount(key[assessed], minlength=size)
    n_unranked = np.bincount(key[unranked], minlength=size)
    enough = n_assessed[key] >= 2
    worst_ranked = ranked & (recent == worst[key]) & (worst[key] > best[key]) & (n_unranked[key] == 0)
    last = enough & (unranked | worst_ranked)
    last_everywhere: np.ndarray = last.all(axis=0)
    return last_everywhere


def rollup(values: Any, method: str = "mean", weights: Any = None,
           min_periods: int = 1, missing: str = "skip") -> np.ndarray:
    """Roll months up into a quarter, or quarters into a year, NaN-aware.

    values : (n_periods, n_subjects) totals, oldest period first; NaN = no result.
    method : "mean" (of the periods counted), "last" (latest period present) or
        "weighted" (``Σ w·v / Σ w`` over the periods counted).
    weights : (n_periods,) >= 0, required for "weighted" (e.g. working days per month).
    min_periods : fewer periods present than this → NaN.
    missing : "skip" (a period without a total is left out) or "zero" (it counts as 0, like
        a hard indicator that was not supplied: a station cannot be ranked on its one good
        month).

    Returns (n_subjects,) float.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values: expected (n_periods, n_subjects), got shape {v.shape}")
    if min_periods < 1:
        raise ValueError("min_periods must be >= 1")
    if missing not in ("skip", "zero"):
        raise ValueError("missing must be 'skip' or 'zero'")
    present = ~np.isnan(v)
    count = present.sum(axis=0)
    counted = present if missing == "skip" else np.ones_like(present)
    filled = np.where(present, v, 0.0)
    if method == "mean":
        n_counted = counted.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = filled.sum(axis=0) / n_counted
    elif method == "last":
        if v.shape[0] == 0:
            out = np.full(v.shape[1], np.nan)
        else:
            last_idx = v.shape[0] - 1 - np.argmax(present[::-1], axis=0)
            out = v[last_idx, np.arange(v.shape[1])]
            if missing == "zero":
                out = filled[-1]
    elif method == "weighted":
        if weights is None:
            raise ValueError("method 'weighted' needs weights (n_periods,)")
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (v.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights: expected ({v.shape[0]},) finite numbers >= 0")
        wp = counted * w[:, None]
        wsum = wp.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(wsum > 0, (wp * filled).sum(axis=0) / wsum, np.nan)
    else:
        raise ValueError("method must be 'mean', 'last' or 'weighted'")
    return np.where(count >= min_periods, out, np.nan)


@dataclass(frozen=True, eq=False)
class RollupResult:
    """Result of :func:`score_rollup` (n subjects, p periods).

    total : (n,) rolled-up total, NaN when excluded; coverage : (n,) share of the periods
    with a total; excluded : (n,) coverage below ``config.min_coverage``; the rest as in
    :class:`Consequences`.
    """

    total: np.ndarray
    coverage: np.ndarray
    excluded: np.ndarray
    consequences: Consequences


def score_rollup(totals: Any, category: Any, config: AssessmentConfig, method: str = "mean",
                 weights: Any = None, headcount: Any = None, with_bonus: bool = True) -> RollupResult:
    """Roll the published totals of the periods inside a quarter or a year into one result.

    totals : (p, n) the periods' totals, oldest first, NaN where a subject has none;
    category : (n,) each subject's category now (ValueError when it has no coefficient).
    A period without a total counts as 0 (hard-data policy: a station is not ranked on its one
    good month); a subject with totals in less than ``config.min_coverage`` of the periods
    gets no total. Then ranks, grades and bonus as for one cycle (:func:`consequences`).
    """
    t = np.asarray(totals, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError(f"totals: expected (n_periods, n_subjects), got shape {t.shape}")
    coverage = (~np.isnan(t)).mean(axis=0) if t.shape[0] else np.zeros(t.shape[1])
    excluded = (coverage < config.min_coverage - 1e-12) | (coverage <= 0)
    total = rollup(t, method=method, weights=weights, missing="zero")
    total = np.where(excluded, np.nan, total)
    cons = consequences(total, category, config, headcount, with_bonus=with_bonus)
    return RollupResult(total=total, coverage=coverage, excluded=excluded, consequences=cons)


def dual_track(total: Any, top_share: float, bottom_share: float,
               groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The "performance + development" groups: top for priority training, bottom for a
    personal improvement plan.

    total : (n,) float scores, NaN = not scored (in neither group).
    top_share, bottom_share : fractions in [0, 1] (0.1 = 10 %), top + bottom <= 1.
    groups : (n,) int, optional: shares apply within each group (e.g. category).

    The top group is the ``ceil(top_share × n)`` best of each group plus anyone tied with the
    last of them; the bottom group likewise from the worst end, never overlapping the top.
    Returns (top, bottom), each (n,) bool.
    """
    s = np.asarray(total, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"total: expected a 1-D array, got shape {s.shape}")
    for name, share in (("top_share", top_share), ("bottom_share", bottom_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1], got {share}")
    if top_share + bottom_share > 1.0 + 1e-12:
        raise ValueError("top_share + bottom_share must not exceed 1")
    n = s.shape[0]
    g = np.zeros(n, dtype=np.int64) if groups is None else _as_int_array(groups, "groups")
    if g.shape != (n,):
        raise ValueError(f"groups: expected shape ({n},), got {g.shape}")
    ok = ~np.isnan(s)
    _, gi = np.unique(g, return_inverse=True)
    gi = np.asarray(gi).reshape(-1)
    size = np.bincount(gi[ok], minlength=int(gi.max(initial=-1)) + 1)[gi]
    best = rank_within(s, gi)
    worst = rank_within(s, gi, higher_is_better=False)
    # The epsilon stops 0.1 × 30 = 3.0000000000000004 from becoming 4 seats.
    k_top = np.ceil(top_share * size - 1e-9)
    k_bottom = np.ceil(bottom_share * size - 1e-9)
    top = ok & (best <= k_top)
    bottom = ok & (worst <= k_bottom) & ~top
    return top, bottom


def weakest(scores: Any, k: int) -> np.ndarray:
    """The k weakest things per subject, for a development plan naming the competencies or
    indicators to work on.

    scores : (n_subjects, n_things) float, higher = stronger; NaN = no evidence (never chosen).
    Returns (n_subjects, k) int column indices, weakest first (ties: lower column first);
    -1 where a subject has fewer than k scored things.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores: expected (n_subjects, n_things), got shape {s.shape}")
    if k < 0:
        raise ValueError("k must be >= 0")
    n, t = s.shape
    # argsort puts NaN last; stable keeps lower columns first among ties.
    order = np.argsort(s, axis=1, kind="stable")[:, :k]
    picked_nan = np.isnan(np.take_along_axis(s, order, axis=1))
    order = np.where(picked_nan, -1, order)
    if k > t:
        order = np.concatenate([order, np.full((n, k - t), -1, dtype=order.dtype)], axis=1)
    return order.astype(np.int64)
