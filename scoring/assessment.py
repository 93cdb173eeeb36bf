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
Nothing is ever filled with an invented zero unless the config asks for it
(``AssessmentConfig.missing``):

* ``"renormalise"`` (default): a subject lacking an indicator has that indicator's weight
  spread over the indicators it *has* in the same dimension (in proportion to their weights);
  a subject lacking a whole dimension has that dimension's weight spread over its other
  dimensions. The subject is flagged ``incomplete`` and its ``coverage`` (share of the
  nominal weight that was backed by data) is reported.
* ``"zero"``: a missing indicator scores 0 (an explicit penalty the bureau may choose).
* ``"exclude"``: a subject with any missing indicator gets no total, rank, grade or bonus.

In every policy a subject whose ``coverage`` is below ``min_coverage`` (default 0.5) gets no
total either (``excluded``); ``missing`` / :attr:`AssessmentResult.missing_pairs` tell the
web layer exactly which subject × indicator values to chase.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from scoring.team import _as_int_array, _frozen_array, _preview, largest_remainder, rank_within

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
    "rounded_breakdown",
    "assign_grades",
    "split_bonus",
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


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of the catalogue as frozen into a cycle.

    code : unique code, e.g. "case_compliance_rate" or "案件规范率".
    dimension : a key of ``AssessmentConfig.dimension_weights``.
    weight : weight within its dimension (per level, a dimension's weights add to 100).
    direction : "higher" (more is better) or "lower" (less is better, e.g. case counts).
    method : "target": higher-better ``100 × min(value / target, 1)``, lower-better
        ``100 × min(target / value, 1)`` (a value <= 0 scores 100), negative → 0;
        "minmax": 0–100 between the worst and best value among the subjects of the same
        station category (all equal → 100).
    target : required (> 0) for method "target".
    level : "unit" or "officer": which subjects the indicator applies to.
    split_preventable : a case-count indicator given as preventable (可防性) and
        non-preventable counts (see :class:`IndicatorMatrix`); its raw value is
        ``preventable + nonpreventable_weight × non-preventable``.
    nonpreventable_weight : weight of a non-preventable case, in [0, 1] (default 0.5).
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
        if self.method == "target":
            if self.target is None or not np.isfinite(float(self.target)) or float(self.target) <= 0:
                raise ValueError(f"indicator {self.code}: method 'target' needs a target > 0")
            object.__setattr__(self, "target", float(self.target))
        npw = float(self.nonpreventable_weight)
        if not 0.0 <= npw <= 1.0:
            raise ValueError(f"indicator {self.code}: nonpreventable_weight must lie in [0, 1]")
        object.__setattr__(self, "nonpreventable_weight", npw)
        object.__setattr__(self, "split_preventable", bool(self.split_preventable))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "dimension": self.dimension, "weight": self.weight,
            "direction": self.direction, "method": self.method, "target": self.target,
            "level": self.level, "split_preventable": self.split_preventable,
            "nonpreventable_weight": self.nonpreventable_weight,
        }


@dataclass(frozen=True)
class GradeRules:
    """How totals become grades (:data:`GRADES`, best first: 优秀 … 不合格).

    mode : "share": by rank, the best ``shares[0]`` percent get 优秀, the next ``shares[1]``
        percent 良好, and so on (counts per grade by the largest-remainder method so they add
        up to the number of subjects; tied subjects get the better grade);
        "threshold": ``score >= thresholds[0]`` → 优秀, ``>= thresholds[1]`` → 良好, ...,
        below ``thresholds[3]`` → 不合格.
    shares : five percentages adding to 100, best grade first.
    thresholds : four strictly decreasing minimum scores for the first four grades.
    within_category : share mode only: quotas apply within each station category.
    on : the score graded: "adjusted" (difficulty-adjusted total) or "total".
    """

    mode: str = "share"
    shares: tuple[float, ...] = (15.0, 35.0, 40.0, 7.0, 3.0)
    thresholds: tuple[float, ...] = (90.0, 80.0, 60.0, 50.0)
    within_category: bool = True
    on: str = "adjusted"

    def __post_init__(self) -> None:
        if self.mode not in ("share", "threshold"):
            raise ValueError("grade mode must be 'share' or 'threshold'")
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
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "within_category", bool(self.within_category))


@dataclass(frozen=True)
class BonusSettings:
    """The efficiency bonus (效能奖金): see :func:`split_bonus`.

    floor : no bonus at or below this score; above it, in proportion to ``score − floor``.
    on : the score used, "adjusted" or "total".
    pool_cents : the pool in cents; None = no bonus computed by :func:`score_assessment`.
    """

    floor: float = 60.0
    on: str = "adjusted"
    pool_cents: int | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(float(self.floor)):
            raise ValueError("bonus floor must be a finite number")
        object.__setattr__(self, "floor", float(self.floor))
        if self.on not in ("adjusted", "total"):
            raise ValueError("bonus 'on' must be 'adjusted' or 'total'")
        if self.pool_cents is not None:
            if int(self.pool_cents) != self.pool_cents or self.pool_cents < 0:
                raise ValueError("bonus pool_cents must be a whole number of cents >= 0")
            object.__setattr__(self, "pool_cents", int(self.pool_cents))


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
        anti-fraud work in a fraud peak); weights are then renormalised within the dimension.
    missing : "renormalise" | "zero" | "exclude" (see the module docstring).
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
    missing: str = "renormalise"
    min_coverage: float = 0.5
    grades: GradeRules = GradeRules()
    bonus: BonusSettings = BonusSettings()

    def __post_init__(self) -> None:
        inds = tuple(self.indicators)
        if not inds or not all(isinstance(i, IndicatorSpec) for i in inds):
            raise ValueError("indicators: need at least one IndicatorSpec")
        codes = [i.code for i in inds]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"indicators: duplicate codes {dup}")
        object.__setattr__(self, "indicators", inds)

        dims = {str(k): float(v) for k, v in dict(self.dimension_weights).items()}
        if not dims or any(not np.isfinite(v) or v < 0 for v in dims.values()):
            raise ValueError("dimension_weights: need weights >= 0")
        _check_sum_100(list(dims.values()), "dimension weights",
                       ", ".join(f"{_dim_label(k)} {v:g}" for k, v in dims.items()))
        object.__setattr__(self, "dimension_weights", MappingProxyType(dims))

        for spec in inds:
            if spec.dimension not in dims:
                raise ValueError(f"indicator {spec.code}: unknown dimension {spec.dimension!r} "
                                 f"(known: {', '.join(dims)})")
        for level in _LEVELS:
            for dim in dims:
                members = [s for s in inds if s.level == level and s.dimension == dim]
                if members:
                    _check_sum_100([s.weight for s in members],
                                   f"indicator weights in dimension {_dim_label(dim)} at level {level}",
                                   ", ".join(f"{s.code} {s.weight:g}" for s in members))

        diff = {}
        for k, v in dict(self.difficulty).items():
            v = float(v)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"difficulty: coefficient of category {k} must be > 0, got {v}")
            diff[int(k)] = v
        if not diff:
            raise ValueError("difficulty: need at least one station category")
        object.__setattr__(self, "difficulty", MappingProxyType(diff))

        seas = {}
        for code, v in dict(self.seasonal).items():
            if code not in codes:
                raise ValueError(f"seasonal: unknown indicator {code!r}")
            v = float(v)
            if not np.isfinite(v) or v <= 0:
                raise ValueError(f"seasonal: multiplier of {code} must be > 0, got {v}")
            seas[str(code)] = v
        object.__setattr__(self, "seasonal", MappingProxyType(seas))

        if self.missing not in ("renormalise", "zero", "exclude"):
            raise ValueError("missing must be 'renormalise', 'zero' or 'exclude'")
        mc = float(self.min_coverage)
        if not 0.0 <= mc <= 1.0:
            raise ValueError("min_coverage must lie in [0, 1]")
        object.__setattr__(self, "min_coverage", mc)
        if not isinstance(self.grades, GradeRules) or not isinstance(self.bonus, BonusSettings):
            raise ValueError("grades and bonus must be GradeRules and BonusSettings")

    # -- derived weights ------------------------------------------------------------------

    def specs(self, level: str) -> tuple[IndicatorSpec, ...]:
        """The indicators of one level, in catalogue order."""
        if level not in _LEVELS:
            raise ValueError(f"level must be 'unit' or 'officer', got {level!r}")
        return tuple(s for s in self.indicators if s.level == level)

    def weights_within_dimension(self, level: str) -> dict[str, float]:
        """Indicator code → weight within its dimension after the seasonal adjustment
        (each dimension's weights add to 100 again)."""
        out: dict[str, float] = {}
        for dim in self.dimension_weights:
            members = [s for s in self.specs(level) if s.dimension == dim]
            raw = np.array([s.weight * self.seasonal.get(s.code, 1.0) for s in members])
            if members and raw.sum() > 0:
                out.update(zip((s.code for s in members), (100.0 * raw / raw.sum()).tolist(), strict=True))
            else:
                out.update((s.code, 0.0) for s in members)
        return out

    def level_dimension_weights(self, level: str) -> dict[str, float]:
        """Dimension code → weight at this level (dimensions without indicators dropped,
        the rest scaled to add to 100)."""
        present = {s.dimension for s in self.specs(level)}
        w = {d: v for d, v in self.dimension_weights.items() if d in present}
        total = sum(w.values())
        if not w or total <= 0:
            raise ValueError(f"level {level}: no indicator in a dimension with positive weight")
        return {d: 100.0 * v / total for d, v in w.items()}

    def indicator_weights(self, level: str) -> dict[str, float]:
        """Indicator code → nominal weight in points of the 100-point total."""
        dw = self.level_dimension_weights(level)
        wd = self.weights_within_dimension(level)
        return {s.code: dw.get(s.dimension, 0.0) * wd[s.code] / 100.0 for s in self.specs(level)}

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
                       "within_category": self.grades.within_category, "on": self.grades.on},
            "bonus": {"floor": self.bonus.floor, "on": self.bonus.on,
                      "pool_cents": self.bonus.pool_cents},
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
                for key in ("shares", "thresholds"):
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
    """

    codes: tuple[str, ...]
    values: np.ndarray
    category: np.ndarray
    nonpreventable: np.ndarray | None = None

    def __post_init__(self) -> None:
        codes = tuple(str(c) for c in self.codes)
        if len(set(codes)) != len(codes):
            raise ValueError("codes: duplicate indicator codes")
        values = _frozen_array(self.values, np.float64, "values", ndim=2)
        if values.shape[1] != len(codes):
            raise ValueError(f"values: {values.shape[1]} columns for {len(codes)} codes")
        if np.any(np.isinf(values)):
            raise ValueError("values: infinite values (use NaN for missing)")
        category = _as_int_array(self.category, "category")
        if category.shape != (values.shape[0],):
            raise ValueError(f"category: expected shape ({values.shape[0]},), got {category.shape}")
        nonprev = None
        if self.nonpreventable is not None:
            nonprev = _frozen_array(self.nonpreventable, np.float64, "nonpreventable", ndim=2)
            if nonprev.shape != values.shape:
                raise ValueError(f"nonpreventable: expected shape {values.shape}, got {nonprev.shape}")
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
    normalised : (n, m) 0–100 score; NaN where missing (0 under the "zero" policy).
    weight : (n, m) the weight the subject actually got, in points of the total (nominal
        weight, or renormalised over what the subject has); 0 where missing under
        "renormalise". Sums to 100 per scored subject.
    contribution : (n, m) ``normalised × weight / 100``; 0 where the weight is 0 (NaN
        where missing under "exclude").
    dimension_weight : (n, k) weight of each dimension in points of the total.
    dimension_contribution : (n, k) sum of the dimension's contributions.
    dimension_score : (n, k) 0–100 score of the dimension
        (= contribution / dimension_weight × 100); NaN with no data.
    total : (n,) ``contribution.sum(axis=1)``, 0–100; NaN when excluded.
    coefficient : (n,) difficulty coefficient of the subject's category.
    adjusted_total : (n,) ``total × coefficient``; NaN when excluded.
    rank : (n,) int rank within the category by adjusted total, 1 = best, ties share the
        best rank, -1 = not ranked.
    rank_overall : (n,) int rank across categories by adjusted total (-1 = not ranked).
    grade : (n,) int index into :data:`GRADES` (0 = 优秀), -1 = not graded.
    missing : (n, m) bool, no usable value.
    coverage : (n,) share (0–1) of the nominal weight backed by data.
    incomplete : (n,) bool, some indicator missing.
    excluded : (n,) bool, no total (coverage below min_coverage, or any missing under
        "exclude").
    bonus_cents : (n,) int64 efficiency bonus, or None when the config has no pool.
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

    @property
    def missing_pairs(self) -> np.ndarray:
        """(n_missing, 2) int rows of (subject index, indicator column), the missing report."""
        return np.argwhere(self.missing)

    @property
    def grade_codes(self) -> np.ndarray:
        """(n,) str grade codes from :data:`GRADES`, "" where not graded."""
        names = np.array(GRADES + ("",), dtype=object)
        return np.asarray(names[self.grade])


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


def _normalise(raw: np.ndarray, cat_idx: np.ndarray, n_cat: int,
               specs: Sequence[IndicatorSpec]) -> np.ndarray:
    """(n, m) raw values → 0–100 scores, NaN where raw is NaN."""
    n, m = raw.shape
    out = np.full((n, m), np.nan)
    lower = np.array([s.direction == "lower" for s in specs], dtype=bool)
    is_target = np.array([s.method == "target" for s in specs], dtype=bool)
    present = ~np.isnan(raw)

    t_cols = np.flatnonzero(is_target)
    if t_cols.size:
        v = raw[:, t_cols]
        target = np.array([specs[int(j)].target for j in t_cols])
        low = lower[t_cols]
        with np.errstate(all="ignore"):  # 0 and subnormal values are handled just below
            ratio = np.where(low, target / v, v / target)
        # Lower-better with a value <= 0 (no incidents at all) meets any target.
        ratio = np.where(low & (v <= 0), 1.0, ratio)
        out[:, t_cols] = np.where(np.isnan(v), np.nan, 100.0 * np.clip(ratio, 0.0, 1.0))

    mm_cols = np.flatnonzero(~is_target)
    if mm_cols.size:
        v = raw[:, mm_cols]
        mins = np.full((n_cat, mm_cols.size), np.inf)
        maxs = np.full((n_cat, mm_cols.size), -np.inf)
        np.minimum.at(mins, cat_idx, np.where(np.isnan(v), np.inf, v))
        np.maximum.at(maxs, cat_idx, np.where(np.isnan(v), -np.inf, v))
        lo, hi = mins[cat_idx], maxs[cat_idx]
        span = hi - lo
        low = lower[mm_cols]
        with np.errstate(all="ignore"):  # span 0 and infinite spans are handled just below
            score = 100.0 * np.where(low, hi - v, v - lo) / span
        # Everyone in the category equal (or alone): nobody is worse than anyone → 100.
        score = np.where(span > 0, score, 100.0)
        out[:, mm_cols] = np.where(np.isnan(v), np.nan, np.clip(score, 0.0, 100.0))
    out[~present] = np.nan
    return out


def score_assessment(values: IndicatorMatrix, config: AssessmentConfig) -> AssessmentResult:
    """Score every subject of one level: normalise, weight, sum, adjust, rank and grade.

    See :class:`AssessmentResult` for the meaning, shape and unit of every output, and the
    module docstring for the missing-data policy. Vectorised over subjects: cost is
    O(n × m) plus sorts for the ranks.

    Raises ValueError if the columns do not match exactly the config's indicators of one
    level, a subject's category has no difficulty coefficient, or the config has a bonus
    pool but nobody scores above its floor (see :func:`split_bonus`).
    """
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
    specs = [cfg_codes[c] for c in values.codes]
    n, m = values.values.shape

    cats = np.array(sorted(config.difficulty), dtype=np.int64)
    cat_idx = np.searchsorted(cats, values.category)
    bad = (cat_idx >= cats.size) | (cats[np.minimum(cat_idx, cats.size - 1)] != values.category)
    if np.any(bad):
        raise ValueError(f"subjects with a category that has no difficulty coefficient: "
                         f"{_preview(np.flatnonzero(bad))} (categories: {cats.tolist()})")

    # Raw values, with split preventable / non-preventable case counts combined.
    raw = values.values.copy()
    split_cols = [j for j, s in enumerate(specs) if s.split_preventable]
    if split_cols:
        if values.nonpreventable is None:
            raise ValueError("nonpreventable counts are needed for split indicators: "
                             + ", ".join(specs[j].code for j in split_cols))
        npw = np.array([specs[j].nonpreventable_weight for j in split_cols])
        raw[:, split_cols] = raw[:, split_cols] + npw * values.nonpreventable[:, split_cols]
    missing = np.isnan(raw)
    present = ~missing

    normalised = _normalise(raw, cat_idx, cats.size, specs)

    # Weights: one-hot membership (m, k) lets every per-dimension sum be a matrix product.
    dim_w = config.level_dimension_weights(level)
    dims = tuple(dim_w)
    dim_of = np.array([dims.index(s.dimension) for s in specs], dtype=np.int64)
    member = np.zeros((m, len(dims)))
    member[np.arange(m), dim_of] = 1.0
    w_in_dim = np.array([config.weights_within_dimension(level)[s.code] for s in specs])
    d_weight = np.array([dim_w[d] for d in dims])
    nominal = d_weight[dim_of] * w_in_dim / 100.0  # (m,) points of the total
    coverage = (present * nominal).sum(axis=1) / 100.0

    if config.missing == "renormalise":
        pw = present * w_in_dim  # (n, m)
        dsum = pw @ member  # (n, k)
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(dsum[:, dim_of] > 0, pw / dsum[:, dim_of], 0.0)
        dim_has = dsum > 0
        dw = dim_has * d_weight
        dw_sum = dw.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            dimension_weight = np.where(dw_sum > 0, 100.0 * dw / dw_sum, 0.0)
        weight = dimension_weight[:, dim_of] * within
        scored = np.where(present, normalised, 0.0)
    else:
        weight = np.broadcast_to(nominal, (n, m)).copy()
        dimension_weight = np.broadcast_to(d_weight, (n, len(dims))).copy()
        if config.missing == "zero":
            normalised = np.where(missing, 0.0, normalised)
            scored = normalised
        else:
            scored = normalised  # NaN where missing: those subjects are excluded below
    contribution = scored * weight / 100.0
    dimension_contribution = contribution @ member
    with np.errstate(divide="ignore", invalid="ignore"):
        dimension_score = np.where(dimension_weight > 0,
                                   100.0 * dimension_contribution / dimension_weight, np.nan)
    if config.missing != "zero":
        # A dimension without any data has no score, even if its weight is nominal.
        dimension_score = np.where((present @ member) > 0, dimension_score, np.nan)

    incomplete = missing.any(axis=1)
    excluded = coverage < config.min_coverage - 1e-12
    excluded |= coverage <= 0
    if config.missing == "exclude":
        excluded |= incomplete
    total = contribution.sum(axis=1)
    total = np.where(excluded, np.nan, total)

    coefficient = np.array([config.difficulty[int(c)] for c in cats])[cat_idx]
    adjusted = total * coefficient
    rank = rank_within(adjusted, cat_idx)
    rank_overall = rank_within(adjusted)
    graded_on = adjusted if config.grades.on == "adjusted" else total
    grade = assign_grades(graded_on, values.category, config.grades)

    bonus = None
    if config.bonus.pool_cents is not None:
        on = adjusted if config.bonus.on == "adjusted" else total
        bonus = split_bonus(config.bonus.pool_cents, on, config.bonus.floor)

    return AssessmentResult(
        codes=tuple(values.codes), dimensions=dims, indicator_dimension=dim_of, level=level,
        raw=raw, normalised=normalised, weight=weight, contribution=contribution,
        dimension_weight=dimension_weight, dimension_contribution=dimension_contribution,
        dimension_score=dimension_score, total=total, coefficient=coefficient,
        adjusted_total=adjusted, rank=rank, rank_overall=rank_overall, grade=grade,
        missing=missing, coverage=coverage, incomplete=incomplete, excluded=excluded,
        bonus_cents=bonus,
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
    np.add.at(dim, (slice(None), result.indicator_dimension), contrib)  # type: ignore[arg-type]  # numpy stubs: no slices
    return RoundedBreakdown(scale=scale, total=total, contribution=contrib, dimension=dim)


def assign_grades(scores: Any, category: Any, rules: GradeRules) -> np.ndarray:
    """Grades (index into :data:`GRADES`, 0 = 优秀) from scores by the rules; -1 for NaN.

    scores : (n,) float; category : (n,) int (used by share mode ``within_category``).
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[0]
    grade = np.full(n, -1, dtype=np.int64)
    ok = ~np.isnan(s)
    if rules.mode == "threshold":
        th = np.array(rules.thresholds)
        grade[ok] = (s[ok][:, None] < th[None, :]).sum(axis=1)
        return grade
    groups = _as_int_array(category, "category") if rules.within_category else np.zeros(n, np.int64)
    if groups.shape != (n,):
        raise ValueError(f"category: expected shape ({n},), got {groups.shape}")
    _, g = np.unique(groups, return_inverse=True)
    g = np.asarray(g).reshape(-1)
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


def split_bonus(pool_cents: int, scores: Any, floor: float) -> np.ndarray:
    """Split an efficiency-bonus pool in proportion to ``max(score − floor, 0)``.

    pool_cents : int >= 0, the pool in cents.
    scores : (n,) float; NaN (no total) gets nothing.
    floor : scores at or below it get nothing.

    Returns (n,) int64 cents adding up exactly to ``pool_cents`` (largest remainder; the
    proportions use the excess rounded to 1e-6 point, ties go to the lower index).
    Raises ValueError if the pool is positive but nobody scores above the floor.
    """
    if int(pool_cents) != pool_cents or pool_cents < 0:
        raise ValueError("pool_cents must be a whole number of cents >= 0")
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores: expected a 1-D array, got shape {s.shape}")
    floor = float(floor)
    if not np.isfinite(floor):
        raise ValueError("floor must be a finite number")
    excess = np.where(np.isnan(s), 0.0, np.maximum(np.nan_to_num(s) - floor, 0.0))
    # Integer micro-points make the split exact and independent of float summation order.
    w = np.rint(excess * 1e6).astype(np.int64)
    if pool_cents > 0 and not np.any(w > 0):
        raise ValueError(f"nobody scores above the bonus floor {floor:g}: the pool cannot be split")
    return largest_remainder(int(pool_cents), w)


# ---------------------------------------------------------------------------------------------
# Across cycles, and consequences
# ---------------------------------------------------------------------------------------------


def consecutive_last(ranks_by_year: Any, category: Any, years: int = 2) -> np.ndarray:
    """Units last in their category in each of the ``years`` most recent annual cycles (约谈).

    ranks_by_year : (n_years, n_units) ranks within category, oldest year first, one row
        per consecutive annual cycle; NaN or a value < 1 (e.g. -1) = not ranked that year.
    category : (n_units,) int station category.

    "Last" = the worst (largest) rank among the ranked units of the category that year, ties
    included; a category with fewer than two ranked units has no last. With fewer than
    ``years`` cycles of data nobody is flagged. Returns (n_units,) bool.
    """
    r = np.asarray(ranks_by_year, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"ranks_by_year: expected (n_years, n_units), got shape {r.shape}")
    n_years, n_units = r.shape
    cat = _as_int_array(category, "category")
    if cat.shape != (n_units,):
        raise ValueError(f"category: expected shape ({n_units},), got {cat.shape}")
    if years < 1:
        raise ValueError("years must be >= 1")
    if n_years < years:
        return np.zeros(n_units, dtype=bool)
    recent = r[-years:]
    ranked = ~np.isnan(recent) & (recent >= 1)
    _, ci = np.unique(cat, return_inverse=True)
    ci = np.asarray(ci).reshape(-1)
    n_cat = int(ci.max(initial=-1)) + 1
    key = (np.arange(years)[:, None] * n_cat + ci[None, :])  # (years, n_units)
    worst = np.full(years * n_cat, -np.inf)
    np.maximum.at(worst, key[ranked], recent[ranked])
    count = np.bincount(key[ranked], minlength=years * n_cat)
    last = ranked & (np.where(ranked, recent, -1) == worst[key]) & (count[key] >= 2)
    return np.asarray(last.all(axis=0))


def rollup(values: Any, method: str = "mean", weights: Any = None,
           min_periods: int = 1) -> np.ndarray:
    """Roll months up into a quarter, or quarters into a year, NaN-aware.

    values : (n_periods, n_subjects) totals, oldest period first; NaN = no result.
    method : "mean" (of the periods present), "last" (latest period present) or
        "weighted" (``Σ w·v / Σ w`` over the periods present).
    weights : (n_periods,) >= 0, required for "weighted" (e.g. working days per month).
    min_periods : fewer periods present than this → NaN.

    Returns (n_subjects,) float.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values: expected (n_periods, n_subjects), got shape {v.shape}")
    if min_periods < 1:
        raise ValueError("min_periods must be >= 1")
    present = ~np.isnan(v)
    count = present.sum(axis=0)
    filled = np.where(present, v, 0.0)
    if method == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = filled.sum(axis=0) / count
    elif method == "last":
        if v.shape[0] == 0:
            out = np.full(v.shape[1], np.nan)
        else:
            last_idx = v.shape[0] - 1 - np.argmax(present[::-1], axis=0)
            out = v[last_idx, np.arange(v.shape[1])]
    elif method == "weighted":
        if weights is None:
            raise ValueError("method 'weighted' needs weights (n_periods,)")
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (v.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights: expected ({v.shape[0]},) finite numbers >= 0")
        wp = present * w[:, None]
        wsum = wp.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(wsum > 0, (wp * filled).sum(axis=0) / wsum, np.nan)
    else:
        raise ValueError("method must be 'mean', 'last' or 'weighted'")
    return np.where(count >= min_periods, out, np.nan)


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
