"""Team Contribution Award (团队贡献奖) points for approved collaboration claims.

Pure numpy. The web layer loads the approved claims of a cycle, builds a :class:`ClaimSet`,
calls :func:`score_team` with the cycle's frozen :class:`PointsRules` and stores the result.

All money-like quantities are integers in *cents* of a point (0.01 point): the officers'
points of a claim add up exactly to the claim's points, and a unit's total is the exact sum
of its officers' points. Floats appear only at the edges (rules in points, shares in percent).

This module also holds two general helpers used by :mod:`scoring.assessment`:
:func:`largest_remainder` (exact integer apportionment, segmented) and :func:`rank_within`
(competition ranks within groups, 1 = best, ties share the best rank).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "PointsRules",
    "ClaimSet",
    "TeamPoints",
    "score_team",
    "largest_remainder",
    "rotating_tiebreak",
    "rank_within",
    "PairAffinity",
    "pair_affinity",
]

# int64 products above this are computed with Python integers (object arrays) instead.
_INT_SAFE = 2**62


def _frozen_array(x: Any, dtype: Any, name: str, ndim: int = 1) -> np.ndarray:
    """A read-only copy of ``x`` as ``dtype``; ValueError if its rank is not ``ndim``."""
    try:
        a = np.array(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be read as {np.dtype(dtype).name}: {exc}") from None
    if a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {a.shape}")
    a.setflags(write=False)
    return a


def _as_int_array(x: Any, name: str) -> np.ndarray:
    """Read-only int64 copy of a 1-D array of whole numbers (ValueError on 1.5, NaN, ...)."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name}: expected whole numbers")
    elif a.size and a.dtype.kind not in "iub":
        raise ValueError(f"{name}: expected integers, got dtype {a.dtype}")
    return _frozen_array(a, np.int64, name)


def _preview(idx: np.ndarray, limit: int = 10) -> str:
    """'3, 7, 12' or '3, 7, 12, ... (25 in all)' for error messages."""
    idx = np.asarray(idx).ravel()
    head = ", ".join(str(int(i)) for i in idx[:limit])
    return head if idx.size <= limit else f"{head}, ... ({idx.size} in all)"


# ---------------------------------------------------------------------------------------------
# General helpers
# ---------------------------------------------------------------------------------------------


def _segment_starts(seg_sorted: np.ndarray, n_segments: int) -> np.ndarray:
    """Start offset of each segment in an array sorted by segment: (n_segments,) int64."""
    counts = np.bincount(seg_sorted, minlength=n_segments)
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def largest_remainder(
    total_cents: Any,
    weights: Any,
    segments: Any = None,
    tiebreak: Any = None,
) -> np.ndarray:
    """Split integer totals in proportion to weights, conserving each total exactly.

    Hamilton's largest-remainder method: everyone gets the floor of their exact quota
    ``total * w / sum(w)``; the cents still missing go one each to the largest remainders.
    Each segment (group) is apportioned independently, all in one vectorised pass.

    Parameters
    ----------
    total_cents : int, or (n_segments,) int
        What to split, in cents (any integer unit). A scalar when ``segments`` is None.
        Negative totals are split like their absolute value and negated.
    weights : (n,) float or int, >= 0
        Integer weights are apportioned with exact integer arithmetic (remainders compared
        exactly, so the result does not depend on row order except through ``tiebreak``).
        Float weights use float quotas; the totals are still conserved exactly.
    segments : (n,) int in [0, n_segments), optional
        The segment of each row; None = a single segment.
    tiebreak : (n,) int or float, optional
        Among equal remainders, the smaller key gets the extra cent first. Default: the row
        position. Pass a domain key (e.g. officer index) for order-independent results.

    Returns
    -------
    (n,) int64 cents; ``sum over each segment == total_cents[segment]`` exactly and every
    row is within one cent of its exact quota.

    Raises
    ------
    ValueError
        On negative or non-finite weights, bad segment ids, or a segment with a non-zero
        total but no positive weight (nothing to split it over).
    """
    w, integer = _checked_weights(weights)
    n = w.shape[0]
    totals, seg = _checked_totals(total_cents, segments, n)
    n_seg = totals.shape[0]
    sign = np.where(totals < 0, -1, 1)
    t_abs = np.abs(totals)
    tb = _checked_tiebreak(tiebreak, n)
    w_row_sum = _segment_weight_sums(w, seg, t_abs, integer)[seg]
    base, rem_key = _floor_quotas(t_abs, w, seg, w_row_sum, integer)
    given = np.zeros(n_seg, dtype=np.int64)
    np.add.at(given, seg, base)
    left = t_abs - given  # >= 0 in exact arithmetic; float noise can make it -1 or so
    out = base + _leftover_cents(base, rem_key, seg, left, tb, integer)
    return np.asarray(out * sign[seg])


def _checked_weights(weights: Any) -> tuple[np.ndarray, bool]:
    """(weights as int64 or float64, whether they are integers); ValueError on a bad shape, type,
    non-finite or negative weight."""
    w = np.asarray(weights)
    if w.ndim != 1:
        raise ValueError(f"weights: expected a 1-D array, got shape {w.shape}")
    n = w.shape[0]
    if w.dtype.kind == "b":
        w = w.astype(np.int64)
    if w.size and w.dtype.kind not in "iuf":
        raise ValueError(f"weights: expected numbers, got dtype {w.dtype}")
    integer = w.dtype.kind in "iu" or n == 0
    if integer:
        w = w.astype(np.int64)
    else:
        w = w.astype(np.float64)
        if not np.all(np.isfinite(w)):
            raise ValueError("weights: must be finite (no NaN or inf)")
    if np.any(w < 0):
        raise ValueError(f"weights: must be >= 0 (negative at rows {_preview(np.flatnonzero(w < 0))})")
    return w, integer


def _checked_totals(total_cents: Any, segments: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(totals per segment, segment of each of the ``n`` rows), both int64; ValueError when they
    do not fit together."""
    if segments is None:
        t = np.asarray(total_cents)
        if t.ndim != 0:
            raise ValueError("total_cents: expected a single integer when segments is None")
        return _as_int_array(t.reshape(1), "total_cents"), np.zeros(n, dtype=np.int64)
    totals = _as_int_array(np.atleast_1d(total_cents), "total_cents")
    seg = _as_int_array(segments, "segments")
    if seg.shape != (n,):
        raise ValueError(f"segments: expected shape ({n},) like weights, got {seg.shape}")
    if n and (seg.min() < 0 or seg.max() >= totals.shape[0]):
        raise ValueError(f"segments: ids must lie in [0, {totals.shape[0]})")
    return totals, seg


def _checked_tiebreak(tiebreak: Any, n: int) -> np.ndarray:
    """The tie-break key of each row: the row position unless given."""
    if tiebreak is None:
        return np.arange(n)
    tb = np.asarray(tiebreak)
    if tb.shape != (n,):
        raise ValueError(f"tiebreak: expected shape ({n},), got {tb.shape}")
    return tb


def _segment_weight_sums(w: np.ndarray, seg: np.ndarray, t_abs: np.ndarray, integer: bool) -> np.ndarray:
    """Sum of weights per segment, 1 where it is 0 (safe to divide by); ValueError when a segment
    has a non-zero total but no positive weight."""
    n_seg = t_abs.shape[0]
    if integer:
        wsum = np.zeros(n_seg, dtype=np.int64)
        np.add.at(wsum, seg, w)
    else:
        wsum = np.bincount(seg, weights=w, minlength=n_seg)
    empty = (wsum <= 0) & (t_abs != 0)
    if np.any(empty):
        raise ValueError(
            "largest_remainder: nothing to split a non-zero total over "
            f"(segments with no positive weight: {_preview(np.flatnonzero(empty))})"
        )
    return np.where(wsum > 0, wsum, 1)


def _floor_quotas(t_abs: np.ndarray, w: np.ndarray, seg: np.ndarray, w_row_sum: np.ndarray,
                  integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """(floor of each row's quota as int64, the remainder key that orders rows within a segment)."""
    t_row = t_abs[seg]
    if not integer:
        quota = t_row * (w / w_row_sum)
        base_f = np.floor(quota)
        return base_f.astype(np.int64), quota - base_f
    if int(t_abs.max(initial=0)) * int(w.max(initial=0)) >= _INT_SAFE:
        # Exact but slower: Python integers in object arrays.
        num = t_row.astype(object) * w.astype(object)
        den = w_row_sum.astype(object)
        q_obj, r_obj = num // den, num % den
        base = q_obj.astype(np.int64)
        rem = r_obj.astype(np.int64)  # < sum of weights, fits int64
    else:
        base, rem = np.divmod(t_row * w, w_row_sum)
    # Same denominator within a segment, so comparing numerators is exact.
    return base, rem


def _leftover_cents(base: np.ndarray, rem_key: np.ndarray, seg: np.ndarray, left: np.ndarray, tb: np.ndarray,
                    integer: bool) -> np.ndarray:
    """(n,) int64: the cents each row gets on top of ``base`` so that each segment's ``left`` is
    handed out, one cent a row."""
    n, n_seg = seg.shape[0], left.shape[0]
    left_row = left[seg]
    # Positive leftover: largest remainders first. Negative (float noise only): take back
    # from the smallest remainders among rows that have something to give.
    if integer:
        key = -rem_key
    else:
        key = np.where(left_row >= 0, -rem_key, rem_key)
        key = np.where((left_row < 0) & (base <= 0), np.inf, key)
    order = np.lexsort((tb, key, seg))
    seg_sorted = seg[order]
    pos = np.arange(n) - _segment_starts(seg_sorted, n_seg)[seg_sorted]
    bump = (pos < np.abs(left)[seg_sorted]).astype(np.int64) * np.sign(left)[seg_sorted]
    extra = np.zeros(n, dtype=np.int64)
    extra[order] += bump
    return extra


def rotating_tiebreak(segments: Any, turn: Any, order: Any = None) -> np.ndarray:
    """Tie-break keys for :func:`largest_remainder` that take turns instead of always
    favouring the first row.

    Within each segment the rows are placed in the order of ``order`` (ties by row position),
    places 0 … k−1; the row at place ``p`` gets the key ``(p − turn[segment]) mod k``. So the
    first extra cent of a segment goes to the row at place ``turn mod k``, the next to the row
    after it, wrapping round. With ``turn`` a stable id (a claim id, a cycle id) every place
    comes first equally often across segments, and nobody is favoured by their position.

    Parameters
    ----------
    segments : (n,) int >= 0, the segment of each row.
    turn : (n_segments,) int, indexed by segment id (or a scalar for every segment).
    order : (n,) int or float, optional: the order of rows within a segment (e.g. badge rank).

    Returns (n,) int64 keys; pass them as ``tiebreak``.
    """
    seg = _as_int_array(segments, "segments")
    n = seg.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if seg.min() < 0:
        raise ValueError("segments: ids must be >= 0")
    n_seg = int(seg.max()) + 1
    t = np.asarray(turn)
    if t.ndim == 0:
        t = np.full(n_seg, t)
    t = _as_int_array(t, "turn")
    if t.shape[0] < n_seg:
        raise ValueError(f"turn: expected at least {n_seg} entries (one per segment), got {t.shape[0]}")
    o = np.arange(n) if order is None else np.asarray(order)
    if o.shape != (n,):
        raise ValueError(f"order: expected shape ({n},), got {o.shape}")
    if o.dtype.kind in "iub" and n_seg * (int(o.max()) - int(o.min()) + 1) < _INT_SAFE:
        # One integer key and a stable sort (ties by row position): several times faster than lexsort.
        rows = np.argsort(seg * (int(o.max()) - int(o.min()) + 1) + (o.astype(np.int64) - int(o.min())),
                          kind="stable")
    else:
        rows = np.lexsort((np.arange(n), o, seg))
    seg_sorted = seg[rows]
    place = np.arange(n) - _segment_starts(seg_sorted, n_seg)[seg_sorted]
    k = np.bincount(seg, minlength=n_seg)[seg_sorted]
    keys = np.empty(n, dtype=np.int64)
    keys[rows] = np.mod(place - t[seg_sorted], k)
    return keys


def rank_within(scores: Any, groups: Any = None, *, higher_is_better: bool = True,
                decimals: int | None = 9) -> np.ndarray:
    """Competition ranks ("1224") within groups: 1 = best; ties share the best rank.

    Parameters
    ----------
    scores : (n,) float; NaN = not ranked.
    groups : (n,) int, optional; ranks restart in each group (e.g. station category).
    higher_is_better : rank 1 goes to the highest score (default) or the lowest.
    decimals : scores are rounded to this many decimals before comparing, so float noise
        (1e-15) does not break a tie; None compares exact floats.

    Returns
    -------
    (n,) int64 rank, -1 where the score is NaN.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"scores: expected a 1-D array, got shape {s.shape}")
    n = s.shape[0]
    g = np.zeros(n, dtype=np.int64) if groups is None else _as_int_array(groups, "groups")
    if g.shape != (n,):
        raise ValueError(f"groups: expected shape ({n},) like scores, got {g.shape}")
    ranks = np.full(n, -1, dtype=np.int64)
    ok = ~np.isnan(s)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return ranks
    key = s[idx] if decimals is None else np.round(s[idx], decimals)
    if higher_is_better:
        key = -key
    gi = g[idx]
    order = np.lexsort((key, gi))
    gs, ks = gi[order], key[order]
    pos = np.arange(idx.size)
    new_group = np.concatenate(([True], gs[1:] != gs[:-1]))
    new_run = new_group | np.concatenate(([True], ks[1:] != ks[:-1]))
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    run_start = np.maximum.accumulate(np.where(new_run, pos, 0))
    ranks[idx[order]] = run_start - group_start + 1
    return ranks


# ---------------------------------------------------------------------------------------------
# Rules and claims
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsRules:
    """A cycle's points rules (frozen into the cycle's config when it opens).

    Attributes
    ----------
    base_points : Mapping[(case_type, severity), float]
        Base points of a claim by its case type and severity, both strings (e.g.
        ``("刑事", "重大") -> 20.0``). Points are rounded to 0.01.
    multiplier_step : float
        Cross-unit multiplier: ``1 + multiplier_step * (units counted - 1)``.
    multiplier_cap : float
        ... capped at this value (default 2.0; at least 1).
    min_unit_share : float
        Percent (0–100, default 10). A unit counts toward the multiplier only when its
        officers' final shares in the claim add up to at least this much, so a token third
        unit with 0.01 % does not raise everyone's points. A claim always counts at least one
        unit (when more than ten units each hold less than 10 %, the multiplier is 1).
    officer_cap : float or None
        Most points one officer can earn in the cycle; None = no cap. The excess of a
        capped officer is cut, not redistributed (their teammates keep exactly what they had).
    """

    base_points: Mapping[tuple[str, str], float] = field(hash=False)
    multiplier_step: float = 0.25
    multiplier_cap: float = 2.0
    officer_cap: float | None = None
    min_unit_share: float = 10.0

    def __post_init__(self) -> None:
        table: dict[tuple[str, str], float] = {}
        for key, pts in dict(self.base_points).items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"base_points: keys must be (case_type, severity) pairs, got {key!r}")
            pts = float(pts)
            if not np.isfinite(pts) or pts < 0:
                raise ValueError(f"base_points: points for {key!r} must be a number >= 0, got {pts}")
            table[(str(key[0]), str(key[1]))] = pts
        if not table:
            raise ValueError("base_points: at least one (case_type, severity) entry is needed")
        object.__setattr__(self, "base_points", MappingProxyType(table))
        step, cap = float(self.multiplier_step), float(self.multiplier_cap)
        if not np.isfinite(step) or step < 0:
            raise ValueError(f"multiplier_step must be >= 0, got {step}")
        if not np.isfinite(cap) or cap < 1:
            raise ValueError(f"multiplier_cap must be >= 1, got {cap}")
        object.__setattr__(self, "multiplier_step", step)
        object.__setattr__(self, "multiplier_cap", cap)
        share = float(self.min_unit_share)
        if not np.isfinite(share) or not 0 <= share <= 100:
            raise ValueError(f"min_unit_share must be a percentage in [0, 100], got {share}")
        object.__setattr__(self, "min_unit_share", share)
        if self.officer_cap is not None:
            oc = float(self.officer_cap)
            if not np.isfinite(oc) or oc < 0:
                raise ValueError(f"officer_cap must be >= 0 or None, got {oc}")
            object.__setattr__(self, "officer_cap", oc)

    @property
    def min_unit_share_bp(self) -> int:
        """The threshold in basis points (10 % → 1000), compared exactly with a unit's summed shares."""
        return int(np.ceil(round(self.min_unit_share * 100.0, 6)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: ``{"base_points": {case_type: {severity: points}}, ...}``."""
        nested: dict[str, dict[str, float]] = {}
        for (ct, sev), pts in sorted(self.base_points.items()):
            nested.setdefault(ct, {})[sev] = pts
        return {
            "base_points": nested,
            "multiplier_step": self.multiplier_step,
            "multiplier_cap": self.multiplier_cap,
            "officer_cap": self.officer_cap,
            "min_unit_share": self.min_unit_share,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointsRules:
        """Inverse of :meth:`to_dict`; ValueError on unknown keys or a malformed table.

        Rules frozen into a cycle before ``min_unit_share`` existed have no such key: they are
        read with 0 (every unit counted), the rule the cycle opened with.
        """
        unknown = set(data) - {"base_points", "multiplier_step", "multiplier_cap", "officer_cap",
                               "min_unit_share"}
        if unknown:
            raise ValueError(f"PointsRules: unknown keys {sorted(unknown)}")
        nested = data.get("base_points")
        if not isinstance(nested, Mapping):
            raise ValueError("PointsRules: base_points must map case_type -> {severity: points}")
        table = {}
        for ct, row in nested.items():
            if not isinstance(row, Mapping):
                raise ValueError(f"PointsRules: base_points[{ct!r}] must map severity -> points")
            for sev, pts in row.items():
                table[(str(ct), str(sev))] = pts
        return cls(
            base_points=table,
            multiplier_step=data.get("multiplier_step", 0.25),
            multiplier_cap=data.get("multiplier_cap", 2.0),
            officer_cap=data.get("officer_cap"),
            min_unit_share=data.get("min_unit_share", 0.0),
        )


@dataclass(frozen=True, eq=False)
class ClaimSet:
    """The approved claims of a cycle and their participants. Indices are 0-based.

    Per claim (n_claims,):
      ``case_type``, ``severity``: str codes looked up in :attr:`PointsRules.base_points`
      (anything else is converted with ``str()``, so severity 2 matches the key "2").
    Per participant row (n_rows,), one row per officer in a claim:
      ``claim``: int claim index; ``officer``: int officer index; ``unit``: int index of
      the unit the officer took part for; ``share``: the final share in percent (at most two
      decimals; a claim's shares add up to exactly 100).
    ``n_officers``, ``n_units``: sizes of the officer and unit index spaces.
    ``claim_key``: optional (n_claims,) int, a stable id per claim (the database id); it decides
    whose turn it is when cents tie (see :func:`score_team`). Default: the claim index, which
    makes tie-breaks depend on claim order; pass ids for order-independent results.

    An officer appears at most once per claim. Every claim has at least one participant.
    Officer indices should follow a visible order (the web layer uses badge-number order),
    since tied participants take turns in that order.
    """

    case_type: np.ndarray
    severity: np.ndarray
    claim: np.ndarray
    officer: np.ndarray
    unit: np.ndarray
    share: np.ndarray
    n_officers: int
    n_units: int
    claim_key: Any = None

    def __post_init__(self) -> None:
        ct = _frozen_array(np.asarray(self.case_type).astype(str), np.str_, "case_type")
        sev = _frozen_array(np.asarray(self.severity).astype(str), np.str_, "severity")
        if ct.shape != sev.shape:
            raise ValueError(f"case_type {ct.shape} and severity {sev.shape} must have the same shape")
        n_claims = ct.shape[0]
        claim = _as_int_array(self.claim, "claim")
        officer = _as_int_array(self.officer, "officer")
        unit = _as_int_array(self.unit, "unit")
        share = _frozen_array(self.share, np.float64, "share")
        n_rows = claim.shape[0]
        for name, a in (("officer", officer), ("unit", unit), ("share", share)):
            if a.shape != (n_rows,):
                raise ValueError(f"{name}: expected shape ({n_rows},) like claim, got {a.shape}")
        n_off, n_un = int(self.n_officers), int(self.n_units)
        if n_off < 0 or n_un < 0:
            raise ValueError("n_officers and n_units must be >= 0")
        for name, a, hi in (("claim", claim, n_claims), ("officer", officer, n_off), ("unit", unit, n_un)):
            bad = (a < 0) | (a >= hi)
            if np.any(bad):
                raise ValueError(f"{name}: index out of range [0, {hi}) at rows {_preview(np.flatnonzero(bad))}")
        if not np.all(np.isfinite(share)) or np.any(share < 0):
            raise ValueError("share: must be finite percentages >= 0")
        bp = np.rint(share * 100.0)
        if np.any(np.abs(share * 100.0 - bp) > 1e-6):
            raise ValueError("share: percentages may have at most two decimals (0.01%)")
        counts = np.bincount(claim, minlength=n_claims)
        if np.any(counts == 0):
            raise ValueError(f"claims without participants: {_preview(np.flatnonzero(counts == 0))}")
        bp_sum = np.zeros(n_claims, dtype=np.int64)
        np.add.at(bp_sum, claim, bp.astype(np.int64))
        off100 = bp_sum != 10_000
        if np.any(off100):
            raise ValueError(f"shares do not add up to 100 in claims {_preview(np.flatnonzero(off100))}")
        pair = np.sort(claim * max(n_off, 1) + officer)
        dup = pair[1:][pair[1:] == pair[:-1]]
        if dup.size:
            dup_claims = np.unique(dup // max(n_off, 1))
            raise ValueError(f"an officer appears twice in claims {_preview(dup_claims)}")
        for name, a in (("case_type", ct), ("severity", sev), ("claim", claim),
                        ("officer", officer), ("unit", unit), ("share", share)):
            object.__setattr__(self, name, a)
        object.__setattr__(self, "n_officers", n_off)
        object.__setattr__(self, "n_units", n_un)
        key = np.arange(n_claims) if self.claim_key is None else self.claim_key
        key = _as_int_array(key, "claim_key")
        if key.shape != (n_claims,):
            raise ValueError(f"claim_key: expected shape ({n_claims},) like case_type, got {key.shape}")
        object.__setattr__(self, "claim_key", key)

    @property
    def n_claims(self) -> int:
        return int(self.case_type.shape[0])

    @property
    def share_bp(self) -> np.ndarray:
        """(n_rows,) int64 shares in basis points (hundredths of a percent); 10,000 per claim."""
        return np.rint(self.share * 100.0).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TeamPoints:
    """Result of :func:`score_team`. All points are int64 cents (0.01 point).

    Per claim (n_claims,):
      ``claim_base_cents``: base points of its (case_type, severity);
      ``claim_units``: number of distinct participating units;
      ``claim_units_counted``: units whose share reaches ``rules.min_unit_share`` (at least 1);
      ``claim_multiplier``: float cross-unit multiplier from the units counted;
      ``claim_cents``: ``round(base × multiplier)`` (half up), the claim's points;
      ``claim_team``: index into the team arrays, -1 for a single-unit claim.
    Per participant row (n_rows,):
      ``row_cents``: the row's share of its claim (largest remainder; sums to claim_cents).
    Per officer (n_officers,):
      ``officer_cents_uncapped``: sum of their rows; ``officer_cents``: after the cap;
      ``officer_capped``: bool, the cap cut this officer.
    Per unit (n_units,):
      ``unit_cents``: exact sum of its officers' capped cents (points earned for that unit);
      ``unit_cents_uncapped``: the same before the cap;
      ``unit_rank``: 1 = most points, ties share the best rank (every unit is ranked).
    Per cross-unit team (n_teams,), a team being the set of units *counted* in a claim (units
    below the share threshold ride along but are not team members) when there are ≥ 2 of them,
    ordered best first (most points; ties by unit indices):
      ``team_units``: (n_teams, max_team_size) int unit indices ascending, padded with -1;
      ``team_size``: units in the team; ``team_claims``: number of claims;
      ``team_cents``: sum of its claims' points (before any officer cap);
      ``team_rank``: 1 = best, ties share the best rank.
    """

    claim_base_cents: np.ndarray
    claim_units: np.ndarray
    claim_units_counted: np.ndarray
    claim_multiplier: np.ndarray
    claim_cents: np.ndarray
    claim_team: np.ndarray
    row_cents: np.ndarray
    officer_cents_uncapped: np.ndarray
    officer_cents: np.ndarray
    officer_capped: np.ndarray
    unit_cents_uncapped: np.ndarray
    unit_cents: np.ndarray
    unit_rank: np.ndarray
    team_units: np.ndarray
    team_size: np.ndarray
    team_claims: np.ndarray
    team_cents: np.ndarray
    team_rank: np.ndarray

    @property
    def officer_points(self) -> np.ndarray:
        """(n_officers,) float points after the cap (cents / 100)."""
        return self.officer_cents / 100.0

    @property
    def unit_points(self) -> np.ndarray:
        """(n_units,) float points (cents / 100)."""
        return self.unit_cents / 100.0

    @property
    def unit_order(self) -> np.ndarray:
        """(n_units,) unit indices best first (ties by unit index)."""
        return np.lexsort((np.arange(self.unit_cents.shape[0]), -self.unit_cents))


def _sorted_unique(x: np.ndarray) -> np.ndarray:
    # np.unique without return_inverse takes a hash path in numpy 2.x that is ~100x slower
    # than sorting for 600,000 int64 keys.
    s = np.sort(x)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if s.size else s


def _round_half_up(x: np.ndarray | np.floating[Any]) -> Any:
    # The epsilon keeps 1312.4999999999998 (float noise on an exact half) rounding up as
    # a person computing by hand would.
    return np.floor(x + 0.5 + 1e-9).astype(np.int64)


def score_team(claims: ClaimSet, rules: PointsRules) -> TeamPoints:
    """Points of every claim, officer, unit and cross-unit team for one cycle.

    Steps: a claim's points are ``base(case_type, severity) × min(1 + step·(units − 1), cap)``
    rounded half up to 0.01, where *units* counts the units whose officers' shares add up to at
    least ``rules.min_unit_share`` percent (at least one unit); they are split over its
    participants by final share with the largest-remainder method in integer cents. When
    remainders tie, the participants take turns: in badge (officer index) order, the first
    extra cent of the claim with key ``c`` goes to the participant at place ``c mod k`` (k
    participants), the next to the one after (:func:`rotating_tiebreak`), so no one is favoured
    claim after claim, and a claim's split depends on nothing but the claim itself. An officer's
    total is the sum over their claims, then cut to ``rules.officer_cap`` if set — the cut is
    not redistributed; a unit's total is the exact sum of its officers' (capped) cents for that
    unit (a capped officer's total is spread over their units the same way, the units taking
    turns by officer).

    Raises ValueError if a claim's (case_type, severity) has no base points in the rules.
    """
    n_claims, n_off, n_un = claims.n_claims, claims.n_officers, claims.n_units

    # Base points: look up each distinct (case_type, severity) once.
    ct_names, ct_inv = np.unique(claims.case_type, return_inverse=True)
    sev_names, sev_inv = np.unique(claims.severity, return_inverse=True)
    combo, inv = np.unique(np.asarray(ct_inv).reshape(-1) * len(sev_names)
                           + np.asarray(sev_inv).reshape(-1), return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    base_table = np.empty(combo.shape[0], dtype=np.int64)
    unknown = []
    for i, c in enumerate(combo):
        ct, sev = str(ct_names[c // len(sev_names)]), str(sev_names[c % len(sev_names)])
        pts = rules.base_points.get((ct, sev))
        if pts is None:
            unknown.append(f"({ct}, {sev})")
            continue
        base_table[i] = _round_half_up(np.float64(pts) * 100.0)
    if unknown:
        raise ValueError(f"no base points in the rules for case type/severity {', '.join(unknown)}")
    base_cents = base_table[inv] if n_claims else np.zeros(0, dtype=np.int64)

    # Distinct units per claim, their summed shares, and the multiplier from the units that count.
    cu_key, cu_inv = np.unique(claims.claim * max(n_un, 1) + claims.unit, return_inverse=True)
    cu_inv = np.asarray(cu_inv).reshape(-1)
    cu_claim, cu_unit = cu_key // max(n_un, 1), cu_key % max(n_un, 1)
    cu_bp = np.zeros(cu_key.shape[0], dtype=np.int64)
    np.add.at(cu_bp, cu_inv, claims.share_bp)
    n_units_claim = np.bincount(cu_claim, minlength=n_claims).astype(np.int64)
    cu_counted = cu_bp >= rules.min_unit_share_bp
    n_counted = np.maximum(np.bincount(cu_claim[cu_counted], minlength=n_claims), 1).astype(np.int64)
    multiplier = np.minimum(1.0 + rules.multiplier_step * (n_counted - 1), rules.multiplier_cap)
    claim_cents = _round_half_up(base_cents * multiplier)

    turns = rotating_tiebreak(claims.claim, claims.claim_key, order=claims.officer)
    row_cents = largest_remainder(claim_cents, claims.share_bp, segments=claims.claim, tiebreak=turns)

    officer_uncapped = np.zeros(n_off, dtype=np.int64)
    np.add.at(officer_uncapped, claims.officer, row_cents)
    if rules.officer_cap is None:
        officer_cents = officer_uncapped.copy()
    else:
        cap = int(_round_half_up(np.float64(rules.officer_cap) * 100.0))
        officer_cents = np.minimum(officer_uncapped, cap)
    capped = officer_cents < officer_uncapped

    # Units: aggregate (officer, unit) pairs; a capped officer's total is spread over the
    # units they served in proportion to what they earned there (tied units take turns by officer).
    ou_key = claims.officer * max(n_un, 1) + claims.unit
    ou, ou_inv = np.unique(ou_key, return_inverse=True)
    ou_inv = np.asarray(ou_inv).reshape(-1)
    ou_off, ou_unit = ou // max(n_un, 1), ou % max(n_un, 1)
    ou_cents = np.zeros(ou.shape[0], dtype=np.int64)
    np.add.at(ou_cents, ou_inv, row_cents)
    ou_after = ou_cents.copy()
    sel = np.flatnonzero(capped[ou_off])
    if sel.size:
        capped_ids, seg = np.unique(ou_off[sel], return_inverse=True)
        seg = np.asarray(seg).reshape(-1)
        ou_after[sel] = largest_remainder(officer_cents[capped_ids], ou_cents[sel], segments=seg,
                                          tiebreak=rotating_tiebreak(seg, capped_ids, order=ou_unit[sel]))
    unit_uncapped = np.zeros(n_un, dtype=np.int64)
    np.add.at(unit_uncapped, ou_unit, ou_cents)
    unit_cents = np.zeros(n_un, dtype=np.int64)
    np.add.at(unit_cents, ou_unit, ou_after)
    unit_rank = rank_within(unit_cents.astype(np.float64), decimals=None)

    counted_claims = np.bincount(cu_claim[cu_counted], minlength=n_claims).astype(np.int64)
    team = _teams(n_claims, cu_claim[cu_counted], cu_unit[cu_counted], counted_claims, claim_cents)

    return TeamPoints(
        claim_base_cents=base_cents,
        claim_units=n_units_claim,
        claim_units_counted=n_counted,
        claim_multiplier=multiplier,
        claim_cents=claim_cents,
        claim_team=team["claim_team"],
        row_cents=row_cents,
        officer_cents_uncapped=officer_uncapped,
        officer_cents=officer_cents,
        officer_capped=capped,
        unit_cents_uncapped=unit_uncapped,
        unit_cents=unit_cents,
        unit_rank=unit_rank,
        team_units=team["units"],
        team_size=team["size"],
        team_claims=team["claims"],
        team_cents=team["cents"],
        team_rank=team["rank"],
    )


def _teams(n_claims: int, cu_claim: np.ndarray, cu_unit: np.ndarray,
           n_units_claim: np.ndarray, claim_cents: np.ndarray) -> dict[str, np.ndarray]:
    """Aggregate cross-unit claims by their exact set of units (see TeamPoints)."""
    width = int(n_units_claim.max(initial=0))
    claim_team = np.full(n_claims, -1, dtype=np.int64)
    cross = n_units_claim >= 2
    if width < 2 or not np.any(cross):
        return {"claim_team": claim_team, "units": np.empty((0, 2), dtype=np.int64),
                "size": np.zeros(0, np.int64), "claims": np.zeros(0, np.int64),
                "cents": np.zeros(0, np.int64), "rank": np.zeros(0, np.int64)}
    # cu_* come from np.unique, so sorted by claim then unit: place each in its row.
    starts = np.concatenate(([0], np.cumsum(n_units_claim)[:-1]))
    col = np.arange(cu_claim.shape[0]) - starts[cu_claim]
    padded = np.full((n_claims, width), -1, dtype=np.int64)
    padded[cu_claim, col] = cu_unit
    cross_idx = np.flatnonzero(cross)
    sets, inv = np.unique(padded[cross_idx], axis=0, return_inverse=True)
    inv = np.asarray(inv).reshape(-1)
    n_teams = sets.shape[0]
    cents = np.zeros(n_teams, dtype=np.int64)
    np.add.at(cents, inv, claim_cents[cross_idx])
    n_claims_team = np.bincount(inv, minlength=n_teams).astype(np.int64)
    # Best first; np.unique already sorted the sets lexicographically, and a stable sort
    # on -cents keeps that order among ties.
    order = np.argsort(-cents, kind="stable")
    new_index = np.empty(n_teams, dtype=np.int64)
    new_index[order] = np.arange(n_teams)
    claim_team[cross_idx] = new_index[inv]
    cents = cents[order]
    size = (sets[order] >= 0).sum(axis=1).astype(np.int64)
    return {"claim_team": claim_team, "units": sets[order], "size": size,
            "claims": n_claims_team[order], "cents": cents,
            "rank": rank_within(cents.astype(np.float64), decimals=None)}


# ---------------------------------------------------------------------------------------------
# Reciprocity: unit pairs that claim together far more often than their volumes suggest
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairAffinity:
    """Result of :func:`pair_affinity`, one row per unit pair that claimed together (k rows).

    ``pairs``: (k, 2) int unit indices, smaller first; ``count``: (k,) int claims shared;
    ``expected``: (k,) float claims expected from the two units' volumes alone;
    ``ratio``: (k,) float ``count / expected``; ``z``: (k,) float ``(count - expected) / sqrt(expected)``.
    Rows are ordered by ``z`` descending (ties by pair).
    """

    pairs: np.ndarray
    count: np.ndarray
    expected: np.ndarray
    ratio: np.ndarray
    z: np.ndarray


def pair_affinity(claim: Any, unit: Any, n_units: int) -> PairAffinity:
    """How much more often each pair of units claims together than chance would have it.

    Every claim links each pair of its distinct units once. Under the configuration model (links
    placed at random, keeping each unit's number of links ``d``) a pair (a, b) is expected to be
    linked ``d_a * d_b / (2 m)`` times, ``m`` being the number of links; ``z`` is the Poisson
    z-score of the observed count against that. Large ``ratio`` and ``z`` mark unit pairs that
    keep claiming with each other far more than with their peers (a reciprocity flag).

    Parameters
    ----------
    claim : (n_rows,) int claim index of each participant row.
    unit : (n_rows,) int unit index in [0, n_units) of each row (duplicates within a claim are fine).
    n_units : size of the unit index space.
    """
    c = _as_int_array(claim, "claim")
    u = _as_int_array(unit, "unit")
    if u.shape != c.shape:
        raise ValueError(f"unit: expected shape {c.shape} like claim, got {u.shape}")
    n_un = max(int(n_units), 1)
    if u.size and (u.min() < 0 or u.max() >= n_un or c.min() < 0):
        raise ValueError("claim and unit indices must be >= 0 and units < n_units")
    cu = _sorted_unique(c * n_un + u)
    cu_claim, cu_unit = cu // n_un, cu % n_un
    # Pair each row with every later row of the same claim (rows are sorted by claim, unit).
    _, start, size = np.unique(cu_claim, return_index=True, return_counts=True)
    size_row = np.repeat(size, size)
    pos = np.arange(cu.shape[0]) - np.repeat(start, size)
    n_later = size_row - pos - 1
    left = np.repeat(np.arange(cu.shape[0]), n_later)
    offset = np.arange(left.shape[0]) - np.repeat(np.cumsum(n_later) - n_later, n_later)
    right = left + 1 + offset
    a, b = cu_unit[left], cu_unit[right]  # a < b: units are sorted within a claim
    empty = np.zeros(0)
    if a.size == 0:
        return PairAffinity(np.empty((0, 2), np.int64), np.zeros(0, np.int64), empty, empty, empty)
    key = np.sort(a * n_un + b)
    first = np.concatenate(([True], key[1:] != key[:-1]))
    keys = key[first]
    count = np.diff(np.concatenate((np.flatnonzero(first), [key.shape[0]]))).astype(np.int64)
    degree = np.bincount(a, minlength=n_un) + np.bincount(b, minlength=n_un)
    m = a.shape[0]
    pa, pb = keys // n_un, keys % n_un
    expected = degree[pa] * degree[pb] / (2.0 * m)
    ratio = count / expected
    z = (count - expected) / np.sqrt(expected)
    order = np.lexsort((keys, -z))
    return PairAffinity(pairs=np.stack([pa, pb], axis=1)[order], count=count[order],
                        expected=expected[order], ratio=ratio[order], z=z[order])
