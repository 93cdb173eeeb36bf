"""Bias-corrected 360-degree feedback scores.

Model, fitted on non-self answers only::

    value = mu + a[ratee] + g[ratee, competency(item)] + l[rater] + d[item] + noise

``a`` is the ratee's general level, ``g`` their competency-specific deviation, ``l`` the
rater's leniency (positive = lenient) and ``d`` the item's difficulty offset. Every effect
carries a ridge penalty ``lambda * effect**2``; with ``lambda = noise variance / effect
variance`` the fit is the BLUP of a crossed random-effects model, and the variances are
estimated from the data by the method of moments unless the config fixes them.

The fit is block-coordinate (alternating) least squares with closed-form block updates;
the ratee block updates ``a`` and ``g`` jointly and exactly. The sweeps run on the weighted
cross-products of the blocks (sparse rater x cell, cell x item and rater x item matrices,
built once per weight set with ``np.bincount``), not on the answers, and are
Anderson-accelerated; the answers are visited once per fit, for the residuals.

Around the fit, iteratively reweighted rounds detect careless raters (straight-lining,
near-zero variance, random responding = poor fit) and collusive rater-ratee pairs
(mutually inflated leave-pair-out residuals, and rings: cliques of three or four who rate
each other above how each rates, and is rated by, everyone else), down-weight them, and refit.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse, stats

from .common import N_GROUPS, RaterGroup, as_index_array, check_range
from .reliability import icc_oneway_long

__all__ = [
    "RatingSet",
    "FeedbackConfig",
    "FeedbackScores",
    "Reliability",
    "score_feedback",
    "fit_rater_model",
    "RaterModelFit",
]

_MAX_RIDGE = 1e6


def _dot(a: ArrayLike, b: ArrayLike) -> float:
    """Inner product without BLAS: a threaded BLAS call stalls when the cores are busy."""
    return float(np.einsum("i,i->", np.ravel(a), np.ravel(b)))

_ANDERSON = 5  # past sweeps that Anderson acceleration extrapolates from (0 = plain sweeps)
_CHUNK = 1 << 20  # answers per step where a whole-length temporary would cost more than it saves


@dataclass(frozen=True)
class RatingSet:
    """360-degree answers, one row per answer.

    rater, ratee: (n_answers,) int in ``[0, n_people)``; ``rater == ratee`` for self ratings.
    item: (n_answers,) int in ``[0, n_items)``.
    group: (n_answers,) int, a ``RaterGroup`` (SELF must coincide with ``rater == ratee``).
    Any integer dtype is accepted; rater, ratee and item are kept as int32, group as int8 (pass
    them so to save the copy).
    value: (n_answers,) float on the 1-5 scale; NaN for "not applicable".
    n_people, n_items: sizes of the index spaces.
    item_competency: (n_items,) int, the competency of each item (default: all in 0).
    """

    rater: np.ndarray
    ratee: np.ndarray
    item: np.ndarray
    group: np.ndarray
    value: np.ndarray
    n_people: int
    n_items: int
    item_competency: np.ndarray = None  # type: ignore[assignment]  # None: every item in competency 0

    def __post_init__(self) -> None:
        n_people = int(self.n_people)
        n_items = int(self.n_items)
        if n_people < 1 or n_items < 1:
            raise ValueError("n_people and n_items must be positive")
        if max(n_people, n_items) >= 2**31:
            raise ValueError("n_people and n_items must be below 2**31")
        rater = as_index_array("rater", self.rater, keep_dtype=True)
        n = rater.shape[0]
        ratee = as_index_array("ratee", self.ratee, n, keep_dtype=True)
        item = as_index_array("item", self.item, n, keep_dtype=True)
        group = as_index_array("group", self.group, n, keep_dtype=True)
        value = np.asarray(self.value, dtype=float)
        if value.shape != (n,):
            raise ValueError(f"value must have shape ({n},), got {value.shape}")
        check_range("rater", rater, 0, n_people)
        check_range("ratee", ratee, 0, n_people)
        check_range("item", item, 0, n_items)
        check_range("group", group, 0, N_GROUPS)
        # A province has millions of answers: indexes are stored in 32 bits and groups in 8 (no
        # copy when they come so); every key combining two indexes is formed in 64 bits.
        rater, ratee, item = (a.astype(np.int32, copy=False) for a in (rater, ratee, item))
        group = group.astype(np.int8, copy=False)
        if np.isinf(value).any():
            raise ValueError("value must be finite or NaN")
        if ((group == RaterGroup.SELF) != (rater == ratee)).any():
            raise ValueError("group must be SELF exactly when rater == ratee")
        if self.item_competency is None:
            comp = np.zeros(n_items, dtype=np.int64)
        else:
            comp = as_index_array("item_competency", self.item_competency, n_items)
            check_range("item_competency", comp, 0, n_items)
        for name, arr in (("rater", rater), ("ratee", ratee), ("item", item), ("group", group),
                          ("value", value), ("item_competency", comp)):
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "n_people", n_people)
        object.__setattr__(self, "n_items", n_items)

    @property
    def n_competencies(self) -> int:
        """Number of competencies, ``item_competency.max() + 1``."""
        return int(self.item_competency.max()) + 1

    @property
    def n_answers(self) -> int:
        return int(self.rater.shape[0])


@dataclass(frozen=True)
class FeedbackConfig:
    """Settings of ``score_feedback``; scale points are on the rating scale.

    ``relaxation`` over-relaxes each block update of the alternating least squares
    (successive over-relaxation; any value in (0, 2) converges, 1 is plain ALS). The
    sweeps are Anderson-accelerated, which does better without over-relaxation, hence 1.
    Ridge penalties (``*_ridge``) of None are estimated from the data (noise variance over
    effect variance, method of moments); a number fixes them. ``leniency_ridge=0`` treats
    leniency as a fixed effect: then adding a constant to one rater's answers changes no
    ratee's score, but raters who rate a single person (typically subordinates rating their
    leader) carry no information about that person.
    """

    scale_min: float = 1.0
    scale_max: float = 5.0
    ratee_ridge: float | None = None
    competency_ridge: float | None = None
    leniency_ridge: float | None = None
    item_ridge: float | None = None
    tol: float = 1e-4
    max_iter: int = 500
    relaxation: float = 1.0
    max_rounds: int = 4
    # careless raters
    detect_careless: bool = True
    careless_min_answers: int = 6
    straight_sd: float = 0.2
    straight_form_min_items: int = 4
    straight_form_share: float = 0.8
    misfit_ratio: float = 2.5
    misfit_alpha: float = 1e-3
    careless_weight: float = 0.1
    # collusion
    detect_collusion: bool = True
    collusion_z: float = 2.5
    collusion_z_single: float = 4.5
    collusion_min_excess: float = 0.6
    # rings (``_ring_pairs``): a triangle or four-clique of mutual raters is suspect when
    # its contrast reaches z ``collusion_z_triangle`` and ``collusion_min_excess_ring``
    # points (each member at least half that); a pair joins two suspect pairs it closes
    # into a triangle when it rates ``collusion_min_close`` points above the rest
    collusion_z_triangle: float = 4.0
    collusion_min_excess_ring: float = 0.4
    collusion_min_close: float = 0.0
    # a clique whose forms all sit within ``collusion_top_gap`` of the top of the scale is
    # suspect whole when one member is clearly rated above how outsiders rate them: z
    # ``collusion_z_member`` and ``collusion_min_excess`` points
    collusion_top_gap: float = 0.25
    collusion_z_member: float = 3.0
    collusion_weight: float = 0.05
    # reporting
    gap_threshold: float = 5.0 / 3.0
    interval_level: float = 0.9

    def __post_init__(self) -> None:
        if not self.scale_max > self.scale_min:
            raise ValueError("scale_max must exceed scale_min")
        for name in ("ratee_ridge", "competency_ridge", "leniency_ridge", "item_ridge"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValueError(f"{name} must be None or >= 0")
        for name in ("careless_weight", "collusion_weight"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1]")
        if not 0 < self.interval_level < 1:
            raise ValueError("interval_level must lie in (0, 1)")
        if not 0 < self.relaxation < 2:
            raise ValueError("relaxation must lie in (0, 2) for the sweeps to converge")
        if self.tol <= 0 or self.max_iter < 1 or self.max_rounds < 0:
            raise ValueError("tol must be positive, max_iter >= 1, max_rounds >= 0")


@dataclass(frozen=True)
class Reliability:
    """Reliability per competency (rows) and rater group (columns, ``RaterGroup``).

    icc1, icc1k: (n_comp, 4) float, ICC(1) and ICC(1,k) of per-form competency means
        (targets = ratees), k = adjusted mean number of raters per ratee.
    alpha: (n_comp, 4) float, Cronbach's alpha of the competency's items that the group was
        asked (those it answered at least once), over the group's complete forms.
    n_targets, n_forms: (n_comp, 4) int, ratees and complete forms (used for alpha) behind
        the figures.
    NaN where undefined (e.g. the SELF column for ICC: one self rating per person).
    """

    icc1: np.ndarray
    icc1k: np.ndarray
    alpha: np.ndarray
    n_targets: np.ndarray
    n_forms: np.ndarray


@dataclass(frozen=True)
class FeedbackScores:
    """Result of ``score_feedback``. Scores are on the rating scale (1-5).

    overall: (n_people,) bias-adjusted score from non-self raters; NaN where none.
    overall_se, overall_low, overall_high: (n_people,) approximate posterior standard error
        and ``interval_level`` interval of ``overall``.
    by_competency, by_competency_se: (n_people, n_comp), NaN where no non-self answer.
    by_group: (n_people, 4) leniency- and item-adjusted mean per rater group (the SELF column
        is adjusted for item difficulty only); NaN where the group gave no answer.
    counts: (n_people, 4) int, distinct raters per group.
    leniency, leniency_se: (n_people,) each person's leniency as a rater (scale points,
        positive = lenient); NaN where the person rated nobody else.
    item_difficulty: (n_items,) item offsets; mean: the fitted grand mean.
    careless: (n_people,) bool, careless rater (straight-lining or random responding);
        careless_straight, careless_misfit: (n_people,) bool, the two reasons.
    rater_sd: (n_people,) sd of each rater's non-self answers; rater_misfit: (n_people,)
        mean squared residual over the noise variance; rater_weight: (n_people,) weight given.
    suspect_pairs: (k, 2) int (rater, ratee) judged collusive, sorted; suspect_z,
        suspect_excess: (k,) standardised and raw leave-pair-out excess (scale points).
    overall_unweighted: (n_people,) ``overall`` of the same model with no down-weighting;
        weighting_change: (n_people,) ``overall - overall_unweighted``.
    self_by_competency: (n_people, n_comp) mean self rating; self_gap = self - others
        (``by_competency``); blind_spots (gap > gap_threshold), hidden_strengths
        (gap < -gap_threshold): (n_people, n_comp) bool.
    reliability: ``Reliability`` per competency and rater group.
    residual_sd: noise sd; ridges: (ratee, competency, leniency, item) penalties used;
    n_rounds: reweighting rounds run; n_iterations: total ALS sweeps.
    """

    overall: np.ndarray
    overall_se: np.ndarray
    overall_low: np.ndarray
    overall_high: np.ndarray
    by_competency: np.ndarray
    by_competency_se: np.ndarray
    by_group: np.ndarray
    counts: np.ndarray
    leniency: np.ndarray
    leniency_se: np.ndarray
    item_difficulty: np.ndarray
    mean: float
    careless: np.ndarray
    careless_straight: np.ndarray
    careless_misfit: np.ndarray
    rater_sd: np.ndarray
    rater_misfit: np.ndarray
    rater_weight: np.ndarray
    suspect_pairs: np.ndarray
    suspect_z: np.ndarray
    suspect_excess: np.ndarray
    overall_unweighted: np.ndarray
    weighting_change: np.ndarray
    self_by_competency: np.ndarray
    self_gap: np.ndarray
    blind_spots: np.ndarray
    hidden_strengths: np.ndarray
    reliability: Reliability
    residual_sd: float
    ridges: tuple[float, ...]
    n_rounds: int
    n_iterations: int


# --------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class _Design:
    """Index arrays of the non-self, non-NaN answers, and their sizes."""

    rater: np.ndarray  # (n,)
    item: np.ndarray  # (n,)
    n_people: int
    n_items: int
    n_comp: int
    pair: np.ndarray  # (n,) form (rater, ratee, group) of each answer, see ``_Forms``
    n_pairs: int
    item_competency: np.ndarray  # (n_items,)
    cross: "_Cross"  # pattern of the cross-products


@dataclass(frozen=True)
class RaterModelFit:
    """Parameters of one fit of the rater-effects model.

    mu: grand mean; a: (n_people,) ratee level; g: (n_people * n_comp,) competency
    deviations (ratee-major); l: (n_people,) leniency; d: (n_items,) item offsets;
    resid: (n,) residuals; ridges: the four penalties; n_iter: sweeps run.
    """

    mu: float
    a: np.ndarray
    g: np.ndarray
    l: np.ndarray  # noqa: E741 - the model's letter
    d: np.ndarray
    resid: np.ndarray
    ridges: tuple[float, ...]
    n_iter: int
    converged: bool = field(default=True)


def _key(major: np.ndarray, size: int, minor: np.ndarray) -> np.ndarray:
    """``major * size + minor`` in 64 bits, whatever the (narrower) dtypes of the two."""
    key = major.astype(np.int64)
    key *= size
    key += minor
    return key


def _index_dtype(n: int) -> type:
    """The narrowest of int32 and int64 that holds indexes below ``n``."""
    return np.int32 if n < 2**31 else np.int64


def _compact(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of the int array ``key`` in ``[0, space)`` and each entry's index
    (int32 below two billion distinct values).

    Sort-free (an occupancy table of the key space) when the key space is small; ``np.unique``
    otherwise.
    """
    if space <= max(8 * key.size, 1 << 22):
        occupied = np.zeros(space, dtype=bool)
        occupied[key] = True
        index: np.ndarray = np.cumsum(occupied, dtype=_index_dtype(space))
        index -= 1
        return np.flatnonzero(occupied), index[key]
    distinct, index = np.unique(key, return_inverse=True)
    return distinct, index.reshape(-1).astype(_index_dtype(distinct.size))


def _csr_pattern(rows: np.ndarray, cols: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, indptr) of a CSR matrix whose entries, sorted by row, have ``rows``/``cols``."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    if indptr[-1] < 2**31 - 1 and (cols.size == 0 or cols.max() < 2**31 - 1):
        return cols.astype(np.int32), indptr.astype(np.int32)  # scipy's own choice, made once
    return cols, indptr


@dataclass(frozen=True)
class _Cross:
    """Sparsity pattern of the model's cross-products, independent of the weights.

    Each of the three blocks (rater x ratee-competency cell, cell x item, rater x item) has
    one entry per distinct combination occurring in the answers; ``*_id`` maps each answer
    to its entry, so a weighted block is one ``bincount`` of the answers' weights.
    """

    cr_id: np.ndarray
    cr_pair: np.ndarray  # (nnz_cr,) the form of each rater x cell entry
    cr_rater: np.ndarray  # (nnz_cr,) its rater
    cr_cell: np.ndarray  # (nnz_cr,) its cell
    cr: tuple[np.ndarray, np.ndarray]  # (indices, indptr) rows = rater, cols = cell
    ci_id: np.ndarray
    ci_row: np.ndarray
    ci_col: np.ndarray
    ci: tuple[np.ndarray, np.ndarray]  # rows = cell, cols = item
    ri_id: np.ndarray
    ri_row: np.ndarray
    ri_col: np.ndarray
    ri: tuple[np.ndarray, np.ndarray]  # rows = rater, cols = item


def _cross(ratee: np.ndarray, rater: np.ndarray, item: np.ndarray, comp_of_row: np.ndarray, pair: np.ndarray,
           pair_rater: np.ndarray, pair_ratee: np.ndarray, P: int, C: int, I: int) -> _Cross:
    # rater x cell through the forms, which are sorted by rater: one entry per (form, competency)
    fc_key, cr_id = _compact(_key(pair, C, comp_of_row), pair_rater.shape[0] * C)
    cr_pair = fc_key // C
    cr_rater, cr_cell = pair_rater[cr_pair], pair_ratee[cr_pair] * C + fc_key % C
    cr = _csr_pattern(cr_rater, cr_cell, P)
    cell_item = _key(ratee, C, comp_of_row)  # the answer's (ratee, competency) cell, then with its item
    cell_item *= I
    cell_item += item
    ci_key, ci_id = _compact(cell_item, P * C * I)
    del cell_item
    ci_row, ci_col = ci_key // I, ci_key % I
    ri_key, ri_id = _compact(_key(rater, I, item), P * I)
    ri_row, ri_col = ri_key // I, ri_key % I
    return _Cross(cr_id, cr_pair, cr_rater, cr_cell, cr, ci_id, ci_row, ci_col, _csr_pattern(ci_row, ci_col, P * C),
                  ri_id, ri_row, ri_col, _csr_pattern(ri_row, ri_col, P))


@dataclass(frozen=True)
class _Gram:
    """Weighted sufficient statistics of the model: totals, right-hand sides, cross blocks.

    d_ci, b_ci, d_ri: per-entry weights and weighted sums of the cell x item and rater x
    item blocks, kept so that a reweighting can be applied as a change (``_reweighted``).
    """

    W_cell: np.ndarray
    W_rater: np.ndarray
    W_item: np.ndarray
    W_pair: np.ndarray
    b_cell: np.ndarray
    b_rater: np.ndarray
    b_item: np.ndarray
    CR: sparse.csr_matrix  # (P, P*C) rater x cell
    CI: sparse.csr_matrix  # (P*C, I) cell x item
    RI: sparse.csr_matrix  # (P, I) rater x item
    b_ci: np.ndarray

    @property
    def W_ratee(self) -> np.ndarray:
        return np.asarray(self.W_cell.reshape(self.CR.shape[0], -1).sum(axis=1))


def _gram_from(des: _Design, d_cr: np.ndarray, d_ci: np.ndarray, b_ci: np.ndarray, d_ri: np.ndarray,
               b_rater: np.ndarray) -> _Gram:
    x = des.cross
    P, C, I = des.n_people, des.n_comp, des.n_items
    return _Gram(
        W_cell=np.bincount(x.ci_row, d_ci, minlength=P * C),
        W_rater=np.bincount(x.ri_row, d_ri, minlength=P),
        W_item=np.bincount(x.ci_col, d_ci, minlength=I),
        W_pair=np.bincount(x.cr_pair, d_cr, minlength=des.n_pairs),
        b_cell=np.bincount(x.ci_row, b_ci, minlength=P * C),
        b_rater=b_rater,
        b_item=np.bincount(x.ci_col, b_ci, minlength=I),
        CR=sparse.csr_matrix((d_cr, *x.cr), shape=(P, P * C)),
        CI=sparse.csr_matrix((d_ci, *x.ci), shape=(P * C, I)),
        RI=sparse.csr_matrix((d_ri, *x.ri), shape=(P, I)),
        b_ci=b_ci,
    )


def _gram(des: _Design, y: np.ndarray, w: np.ndarray | None) -> _Gram:
    """The statistics in one ``bincount`` over the answers each; no per-sweep pass needed.
    ``w``: (n,) answer weights, None for unit weights."""
    x = des.cross
    unit = w is None or bool(np.all(w == 1.0))
    wy = y if unit else w * y
    wts = None if unit else w
    return _gram_from(
        des,
        np.bincount(x.cr_id, wts, minlength=x.cr_pair.shape[0]).astype(float, copy=False),
        np.bincount(x.ci_id, wts, minlength=x.ci_row.shape[0]).astype(float, copy=False),
        np.bincount(x.ci_id, wy, minlength=x.ci_row.shape[0]),
        np.bincount(x.ri_id, wts, minlength=x.ri_row.shape[0]).astype(float, copy=False),
        np.bincount(des.rater, wy, minlength=des.n_people),
    )


def _reweighted(des: _Design, y: np.ndarray, base: _Gram, w_form: np.ndarray) -> _Gram:
    """The statistics under per-form weights ``w_form``, from those of unit weights (``base``).

    Only the answers of forms whose weight is not 1 are visited (the flagged few).
    """
    x = des.cross
    sel = np.flatnonzero((w_form != 1.0)[des.pair])
    dw = w_form[des.pair[sel]] - 1.0
    dwy = dw * y[sel]
    ci = x.ci_id[sel]
    return _gram_from(
        des,
        base.CR.data + np.bincount(x.cr_id[sel], dw, minlength=x.cr_pair.shape[0]),
        base.CI.data + np.bincount(ci, dw, minlength=x.ci_row.shape[0]),
        base.b_ci + np.bincount(ci, dwy, minlength=x.ci_row.shape[0]),
        base.RI.data + np.bincount(x.ri_id[sel], dw, minlength=x.ri_row.shape[0]),
        base.b_rater + np.bincount(des.rater[sel], dwy, minlength=des.n_people),
    )


def _als(des: _Design, y: np.ndarray, w: np.ndarray | None, ridges: tuple[float, ...], start: RaterModelFit | None,
         tol: float, max_iter: int, omega: float = 1.0, gram: _Gram | None = None,
         accelerate: int = 0) -> RaterModelFit:
    """Ridge ALS of ``y ~ mu + a + g + l + d`` with answer weights ``w`` (both (n,)).

    The sweeps run on the weighted cross-products (``_Gram``) rather than on the answers:
    each block update needs the weighted residual sums of its groups, which equal the
    right-hand side minus the cross blocks times the other blocks' parameters. The
    iterates are those of answer-level ALS; the residuals are formed once, at the end.

    ``accelerate`` > 0 applies Anderson acceleration with that many past sweeps to the
    sweep map (each iterate extrapolated from the recent sweeps); the stopping rule is
    unchanged: a sweep that moves no parameter by ``tol`` or more ends the fit.
    """
    lam_a, lam_g, lam_l, lam_d = ridges
    P, C, I = des.n_people, des.n_comp, des.n_items
    G = gram if gram is not None else _gram(des, y, w)
    W_cell, W_rater, W_item = G.W_cell, G.W_rater, G.W_item
    W_cell2 = W_cell.reshape(P, C)
    CR, CRt, CI, CIt, RI, RIt = G.CR, G.CR.T, G.CI, G.CI.T, G.RI, G.RI.T
    W_tot = W_rater.sum()
    B_tot = G.b_rater.sum()
    # g's shrinkage enters a's update through h = W lam_g / (W + lam_g) (exact joint update)
    lam_g = min(float(lam_g), _MAX_RIDGE)
    h = W_cell * lam_g / (W_cell + lam_g) if lam_g > 0 else np.zeros_like(W_cell)
    H = h.reshape(P, C).sum(axis=1)
    den_a = H + lam_a
    with np.errstate(invalid="ignore", divide="ignore"):
        inv_g = np.where(W_cell > 0, 1.0 / (W_cell + lam_g), 0.0).reshape(P, C)
        inv_a = np.where(den_a > 0, 1.0 / den_a, 0.0)
        inv_l = np.where(W_rater > 0, 1.0 / (W_rater + lam_l), 0.0)
        inv_d = np.where(W_item > 0, 1.0 / (W_item + lam_d), 0.0)
        inv_cell = np.where(W_cell > 0, 1.0 / W_cell, 0.0).reshape(P, C)
    coef_a = lam_g * inv_g
    w_inv_g = W_cell2 * inv_g
    # W_cell * mu + CI @ d = CI @ (d + mu) and W_rater * mu + RI @ d = RI @ (d + mu): the
    # grand mean rides along with the item offsets

    # the state is one flat vector: a (P), g (P*C), l (P), d (I), mu (1)
    ia, ig, il, id_ = P, P + P * C, 2 * P + P * C, 2 * P + P * C + I

    def sweep(x: np.ndarray) -> tuple[np.ndarray, float]:
        """One block Gauss-Seidel (SOR) sweep from state ``x``: the new state and its change."""
        a, g, l, d, mu = x[:ia], x[ia:ig].reshape(P, C), x[ig:il], x[il:id_], x[id_]  # noqa: E741
        out = np.empty_like(x)
        d_mu = d + mu
        # ratee block: S = sum of w * (r + a + g) over each (ratee, competency) cell
        S = CRt @ l
        S += CI @ d_mu
        np.subtract(G.b_cell, S, out=S)
        S = S.reshape(P, C)
        a_new, g_new = out[:ia], out[ia:ig].reshape(P, C)
        if lam_g == 0:
            a_new[:] = 0.0
            np.multiply(S, inv_cell, out=g_new)
        else:
            np.multiply(np.einsum("pc,pc->p", S, coef_a), inv_a, out=a_new)
            np.multiply(S, inv_g, out=g_new)
            np.multiply(w_inv_g, a_new[:, None], out=S)
            g_new -= S
        if omega != 1.0:
            a_new += (omega - 1.0) * (a_new - a)
            g_new += (omega - 1.0) * (g_new - g)
        fc_new = np.add(a_new[:, None], g_new)
        np.subtract(fc_new, g, out=S)
        S -= a[:, None]
        change = max(S.max(initial=0.0), -S.min(initial=0.0))
        # rater block
        S = CR @ fc_new.ravel()
        S += RI @ d_mu
        S = G.b_rater - S
        l_new = out[ig:il]
        np.multiply(S, inv_l, out=l_new)
        if lam_l == 0:
            # fixed effects: centre (weighted) and move the shift into mu; fitted values unchanged
            shift = _dot(W_rater, l_new) / W_tot
            l_new -= shift
            mu += shift
            l = l - shift  # keep the change consistent with the recentred parameters  # noqa: E741
        if omega != 1.0:
            l_new += (omega - 1.0) * (l_new - l)
        change = max(change, np.abs(l_new - l).max(initial=0.0))
        # item block
        S = G.b_item - W_item * mu - CIt @ fc_new.ravel() - RIt @ l_new
        d_new = out[il:id_]
        np.multiply(S, inv_d, out=d_new)
        if omega != 1.0:
            d_new += (omega - 1.0) * (d_new - d)
        change = max(change, np.abs(d_new - d).max(initial=0.0))
        # grand mean: the weighted mean residual
        m = (B_tot - W_tot * mu - _dot(W_cell2, fc_new) - _dot(W_rater, l_new) - _dot(W_item, d_new)) / W_tot
        out[id_] = mu + m
        return out, max(change, abs(m))

    x = np.empty(id_ + 1)
    if start is None:
        x[:id_] = 0.0
        x[id_] = B_tot / W_tot
    else:
        x[:ia], x[ia:ig], x[ig:il], x[il:id_], x[id_] = start.a, start.g, start.l, start.d, start.mu
    # Anderson acceleration mixes the recent sweeps. Without relaxation a sweep's result
    # depends on its start only through (l, d, mu) (the ratee block is solved exactly), so
    # the mixing weights are fitted to that tail of the sweep's change; with relaxation,
    # to the whole change. The weights then mix the whole state.
    m_hist = max(int(accelerate), 0)
    lo = ig if omega == 1.0 else 0
    dF = np.empty((m_hist, x.size - lo))
    dG = np.empty((m_hist, x.size))
    n_hist = 0
    gx_prev = f_prev = None
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the iteration count is returned
        gx, change = sweep(x)
        if change < tol:
            x = gx
            converged = True
            break
        if m_hist == 0:
            x = gx
            continue
        f = gx[lo:] - x[lo:]
        if f_prev is not None and gx_prev is not None:
            slot = n_hist % m_hist
            np.subtract(f, f_prev, out=dF[slot])
            np.subtract(gx, gx_prev, out=dG[slot])
            n_hist += 1
        gx_prev, f_prev = gx, f
        k = min(n_hist, m_hist)
        x = gx
        if k == 0:
            continue
        Fk = dF[:k]
        A = np.einsum("ij,kj->ik", Fk, Fk)
        A[np.diag_indices(k)] += 1e-12 * max(np.trace(A), 1e-300)
        try:
            gamma = np.linalg.solve(A, np.einsum("ij,j->i", Fk, f))
        except np.linalg.LinAlgError:
            n_hist, f_prev = 0, None  # restart the history
            continue
        x = gx - np.einsum("i,ij->j", gamma, dG[:k])
    mu, a, g, l, d = float(x[id_]), x[:ia].copy(), x[ia:ig].copy(), x[ig:il].copy(), x[il:id_].copy()  # noqa: E741
    # residuals: a + g + l is constant on each (form, competency) entry of the rater x cell block
    x_cr = des.cross
    v = (a[:, None] + g.reshape(P, C)).ravel()[x_cr.cr_cell]
    v += l[x_cr.cr_rater]
    r = v[x_cr.cr_id]  # (indexing reads int32 indexes as they are; np.take would copy them to int64)
    d_mu = d + mu
    for first in range(0, r.size, _CHUNK):  # a chunk at a time: no second array as long as the answers
        part = slice(first, first + _CHUNK)
        r[part] += d_mu[des.item[part]]
    np.subtract(y, r, out=r)
    return RaterModelFit(mu, a, g, l, d, r, tuple(ridges), it, converged)


def _estimate_ridges(des: _Design, w: np.ndarray | None, fit: RaterModelFit, fixed: tuple[float | None, ...],
                     gram: _Gram, wrss: float | None = None) -> tuple[tuple[float, ...], float]:
    """Method-of-moments variance components -> ridge penalties (noise var / effect var).

    For each effect the un-shrunk estimate is recovered from the ridge one
    (``raw = theta * (W + lam) / W``); its mean square minus the mean sampling variance
    ``s2 / W`` estimates the effect variance. Returns the ridges and the noise variance.
    """
    lam_a, lam_g, lam_l, lam_d = fit.ridges
    P, C = des.n_people, des.n_comp
    W_cell, W_rater, W_item = gram.W_cell, gram.W_rater, gram.W_item
    with np.errstate(invalid="ignore", divide="ignore"):
        h = W_cell * lam_g / (W_cell + lam_g) if lam_g > 0 else np.zeros_like(W_cell)
        H = h.reshape(P, C).sum(axis=1)
        df = (np.sum(H / (H + lam_a)) + np.sum(np.where(W_cell > 0, W_cell / (W_cell + lam_g), 0))
              + np.sum(W_rater / (W_rater + lam_l)) + np.sum(W_item / (W_item + lam_d)) + 1)
    W_tot = W_rater.sum()
    if wrss is None:
        assert w is not None, "without answer weights, pass wrss"
        wrss = _dot(w, fit.resid**2)
    s2 = float(wrss / max(W_tot - df, 1.0))

    def component(theta: np.ndarray, W: np.ndarray, lam: float) -> float:
        ok = W > 0
        if ok.sum() < 2:
            return np.inf
        raw = theta[ok] * (W[ok] + lam) / W[ok]
        var = np.mean(raw**2) - s2 * np.mean(1.0 / W[ok])
        floor = 1e-6 * s2
        return float(np.clip(s2 / max(var, floor), 1e-3, _MAX_RIDGE))

    new = (
        component(fit.a, H, lam_a),
        component(fit.g, W_cell, lam_g) if C > 1 else _MAX_RIDGE,
        component(fit.l, W_rater, lam_l),
        component(fit.d, W_item, lam_d),
    )
    return tuple(f if f is not None else n for f, n in zip(fixed, new, strict=True)), s2


def fit_rater_model(ratings: RatingSet, config: FeedbackConfig = FeedbackConfig(),
                    weights: ArrayLike | None = None) -> RaterModelFit:
    """Fit the rater-effects model once (no careless/collusion handling).

    weights: (n_answers,) float or None, per-answer weights (self and NaN rows are ignored).
    Ridges not fixed by ``config`` are estimated (one moment step after a pilot fit).
    """
    des, y, rows = _design(ratings)
    w = None if weights is None else np.asarray(weights, float)[rows]
    fixed = (config.ratee_ridge, config.competency_ridge, config.leniency_ridge, config.item_ridge)
    ridges = _initial_ridges(fixed)
    gram = _gram(des, y, w)
    fit = _als(des, y, w, ridges, None, config.tol, config.max_iter, gram=gram, accelerate=_ANDERSON)
    if any(f is None for f in fixed):
        ridges, _ = _estimate_ridges(des, w, fit, fixed, gram)
        fit = _als(des, y, w, ridges, fit, config.tol, config.max_iter, gram=gram, accelerate=_ANDERSON)
    return fit


def _initial_ridges(fixed: tuple[float | None, ...]) -> tuple[float, ...]:
    pilot = (2.0, 5.0, 5.0, 2.0)
    return tuple(p if f is None else f for f, p in zip(fixed, pilot, strict=True))


def _design(ratings: RatingSet, forms: _Forms | None = None) -> tuple[_Design, np.ndarray, np.ndarray]:
    """Design of the non-self, answered rows; returns ``(design, y, rows)``, ``rows`` the
    (n_answers,) bool mask of those rows. Index arrays are int32 (a province has millions)."""
    if forms is None:
        forms = _forms(ratings)
    rows = (ratings.group != RaterGroup.SELF) & ~np.isnan(ratings.value)
    P, C, I = ratings.n_people, ratings.n_competencies, ratings.n_items
    ratee = ratings.ratee[rows]
    rater = ratings.rater[rows]
    item = ratings.item[rows]
    comp = ratings.item_competency.astype(np.int32)[item]
    pair = forms.form_of_row[rows]
    des = _Design(
        rater=rater,
        item=item,
        n_people=P,
        n_items=I,
        n_comp=C,
        pair=pair,
        n_pairs=forms.rater.shape[0],
        item_competency=ratings.item_competency,
        cross=_cross(ratee, rater, item, comp, pair, forms.rater, forms.ratee, P, C, I),
    )
    return des, ratings.value[rows], rows


# ------------------------------------------------------------------ detection helpers


@dataclass(frozen=True)
class _Forms:
    """Forms: distinct (rater, ratee, group) among answered rows, sorted by that key.

    rater, ratee, group: (n_forms,) int; form_of_row: (n_answers,) int32, -1 for NaN rows.
    ok_form, ok_item, ok_value: (n_ok,) form, item (int32) and value of the answered rows, in
    row order; n_ok, sum_value: (n_forms,) answered rows and their sum per form. The scorer
    drops the ``ok_*`` arrays once the reliability is computed and ``form_of_row`` once the
    design is built.
    """

    rater: np.ndarray
    ratee: np.ndarray
    group: np.ndarray
    form_of_row: np.ndarray
    ok_form: np.ndarray
    ok_item: np.ndarray
    ok_value: np.ndarray
    n_ok: np.ndarray
    sum_value: np.ndarray


def _forms(ratings: RatingSet) -> _Forms:
    """The forms of the answered rows, and every per-form aggregate the scorer needs.

    A form's answers usually come one after another (a response at a time), so the distinct
    forms are sought among the runs of equal keys rather than among all the rows: a sort of
    the runs, not of millions of answers (any order of rows gives the same forms).
    """
    P = ratings.n_people
    ok = ~np.isnan(ratings.value)
    key = _key(ratings.rater[ok], P, ratings.ratee[ok])
    key *= N_GROUPS
    key += ratings.group[ok]
    change = np.ones(key.shape, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=change[1:])
    n_runs = int(np.count_nonzero(change))
    inv: np.ndarray
    if 2 * n_runs > key.size:  # rows in no such order: the rows themselves
        del change
        uniq, inv = np.unique(key, return_inverse=True)
        del key
        inv = inv.reshape(-1).astype(_index_dtype(uniq.size))
    else:
        starts = np.flatnonzero(change)
        del change
        uniq, run_form = np.unique(key[starts], return_inverse=True)
        del key
        inv = np.repeat(run_form.reshape(-1).astype(_index_dtype(uniq.size)), np.diff(starts, append=ok.sum()))
        del starts, run_form
    form_of_row = np.full(ratings.n_answers, -1, dtype=inv.dtype)
    form_of_row[ok] = inv
    pair_key = uniq // N_GROUPS
    value = ratings.value[ok]
    return _Forms(pair_key // P, pair_key % P, uniq % N_GROUPS, form_of_row, inv, ratings.item[ok], value,
                  np.bincount(inv, minlength=uniq.shape[0]), np.bincount(inv, value, minlength=uniq.shape[0]))


def _careless_features(des: _Design, y: np.ndarray, pair: np.ndarray, n_pairs: int, pair_rater: np.ndarray,
                       config: FeedbackConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per rater: answer count, sd, share of straight-lined forms; straight-lining flag."""
    P = des.n_people
    n_r = np.bincount(des.rater, minlength=P).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(des.rater, y, minlength=P) / n_r
        dev = m[des.rater]  # then each answer's squared deviation, in place
        np.subtract(y, dev, out=dev)
        np.square(dev, out=dev)
        sd = np.sqrt(np.maximum(np.bincount(des.rater, dev, minlength=P) / np.maximum(n_r - 1, 1), 0.0))
        del dev
    sd = np.where(n_r > 0, sd, np.nan)
    # a form (one rater-ratee pair) is straight-lined when all its answers are equal
    n_form = np.bincount(pair, minlength=n_pairs)
    fmax = np.full(n_pairs, -np.inf)
    fmin = np.full(n_pairs, np.inf)
    np.maximum.at(fmax, pair, y)
    np.minimum.at(fmin, pair, y)
    long_form = n_form >= config.straight_form_min_items
    n_long = np.bincount(pair_rater, long_form, minlength=P)
    n_flat = np.bincount(pair_rater, long_form & (fmax == fmin), minlength=P)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat_share = np.where(n_long > 0, n_flat / np.maximum(n_long, 1), 0.0)
    enough = n_r >= config.careless_min_answers
    straight = enough & ((sd < config.straight_sd) | ((n_long >= 2) & (flat_share >= config.straight_form_share)))
    return n_r, sd, straight


def _misfit(pair_rater: np.ndarray, n_pair: np.ndarray, pair_sum: np.ndarray, pair_ss: np.ndarray, n_r: np.ndarray,
            flagged: np.ndarray, config: FeedbackConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per rater within-form misfit ratio and a random-responding flag.

    Residuals are centred within each form (rater-ratee pair), so a rater's genuine or
    collusive view of one person does not count as misfit; what remains is item-to-item
    noise, which random responding inflates. The ratio is the rater's within-form mean
    square over the pooled one of raters not yet flagged; the flag needs both the ratio
    above ``misfit_ratio`` and a chi-square test below ``misfit_alpha``.
    ``pair_sum``/``pair_ss``: the forms' residual sums and sums of squares (``_Fitter.resid_stats``).
    """
    P = n_r.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        within = np.where(n_pair > 0, pair_ss - pair_sum**2 / np.maximum(n_pair, 1), 0.0)
    ss_r = np.bincount(pair_rater, np.maximum(within, 0.0), minlength=P)
    dof_r = n_r - np.bincount(pair_rater, n_pair > 0, minlength=P)
    ok = ~flagged & (dof_r > 0)
    s2w = ss_r[ok].sum() / max(dof_r[ok].sum(), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(dof_r > 0, ss_r / (np.maximum(dof_r, 1) * s2w), np.nan)
    flag = (n_r >= config.careless_min_answers) & (dof_r > 0) & (np.nan_to_num(ratio) > config.misfit_ratio)
    cand = np.flatnonzero(flag)  # the chi-square test only where the ratio already exceeds
    flag[cand] = stats.chi2.sf(ratio[cand] * dof_r[cand], dof_r[cand]) < config.misfit_alpha
    return ratio, flag


def _reverse_pairs(pr: np.ndarray, pe: np.ndarray, P: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each form's reverse (ratee, rater) form, by binary search on the sorted keys."""
    n_pairs = pr.shape[0]
    key = pr * P + pe
    rkey = pe * P + pr
    pos = np.clip(np.searchsorted(key, rkey), 0, max(n_pairs - 1, 0))
    has_rev = key[pos] == rkey if n_pairs else np.zeros(0, bool)
    return pos, has_rev


def _collusion(G: _Gram, fit: RaterModelFit, s2: float, n_pair: np.ndarray, pair_sum: np.ndarray, pr: np.ndarray,
               pe: np.ndarray, rev: tuple[np.ndarray, np.ndarray], excluded_rater: np.ndarray, top_form: np.ndarray,
               config: FeedbackConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leave-pair-out excess of each (rater, ratee) pair and the suspect flag.

    The pair's mean residual is divided by ``1 - leverage``, the share of the ratee's and
    the rater's fitted effects that the pair itself produced, which approximates the
    residual of a fit without the pair. A pair is suspect when its standardised excess
    and that of the reverse pair both exceed ``collusion_z`` (mutual inflation: rings),
    or its own exceeds ``collusion_z_single``; and the raw excess exceeds
    ``collusion_min_excess`` scale points. Pairs inside a suspect ring are added by
    ``_ring_pairs``.
    """
    lam_a, lam_g, lam_l, _ = fit.ridges
    W_pair, W_ratee, W_rater = G.W_pair, G.W_ratee, G.W_rater
    with np.errstate(invalid="ignore", divide="ignore"):
        e_bar = pair_sum / n_pair
        lev = W_pair / (W_ratee[pe] + lam_a) + W_pair / (W_rater[pr] + lam_l)
        lev = np.clip(lev, 0.0, 0.95)
        excess = e_bar / (1.0 - lev)
        var = s2 * (1.0 / n_pair
                    + 1.0 / np.maximum(W_ratee[pe] - W_pair + lam_a, 1e-9)
                    + 1.0 / np.maximum(W_rater[pr] - W_pair + lam_l, 1e-9))
        z = excess / np.sqrt(var)
    pos, has_rev = rev
    z_rev = np.where(has_rev, z[pos], -np.inf)
    ex_rev = np.where(has_rev, excess[pos], -np.inf)
    ok = ~excluded_rater[pr] & (n_pair > 0)
    ok_rev = np.where(has_rev, ~excluded_rater[pe], False)
    both = ok & ok_rev
    z_min, ex_min = np.minimum(z, z_rev), np.minimum(excess, ex_rev)
    mutual = both & (z_min >= config.collusion_z) & (ex_min >= config.collusion_min_excess)
    single = ok & (z >= config.collusion_z_single) & (excess >= config.collusion_min_excess)
    # careless raters stay out of the structural test too: the pair means of random
    # responders and straight-liners scatter far more than the pooled noise allows
    rated_both = both & (n_pair[pos] > 0)
    ring = _ring_pairs(pr, pe, pos, mutual, rated_both, pair_sum, n_pair, s2, top_form, config)
    return mutual | single | ring, z, excess


def _clique_contrast(clique: np.ndarray, key: np.ndarray, P: int, pr: np.ndarray, pe: np.ndarray, pair_sum: np.ndarray,
                     n_pair: np.ndarray, totals: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                     s2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Contrast of cliques of mutual raters for (K, k) members: ``(z (K,), mean (K,), least (K,))``.

    Each of the ``k (k - 1)`` ratings inside a clique is compared with how its rater rates
    outside the clique and how its ratee is rated from outside it: pair mean residual -
    rater's outside mean - ratee's outside mean. ``z`` and ``mean`` are over all of them
    (sampling variance ``s2 (sum 1 / n_pair + (k - 1)^2 sum_members (1 / n_out_rater +
    1 / n_out_ratee))``, each member rating ``k - 1`` of them and rated in ``k - 1``);
    ``least`` is the smallest mean over the ratings one member gives or receives, so that a
    clique is not carried by a ring inside it while one member has no part in it.
    ``member_z``, ``member_c``: (K,) the member who gains most, as a ratee, from the ratings
    of the other members: their mean contrast (scale points) and its z.
    """
    k = clique.shape[1]
    S_r, N_r, S_e, N_e = totals
    order = [(i, j) for i in range(k) for j in range(k) if i != j]
    f = np.stack([np.searchsorted(key, clique[:, i] * P + clique[:, j]) for i, j in order], axis=1)
    ps, npr = pair_sum[f], n_pair[f]
    c = ps / np.maximum(npr, 1)  # (K, k (k - 1)) contrasts, built up below
    var = np.sum(1.0 / np.maximum(npr, 1), axis=1)
    inv_out_r = np.zeros(c.shape)  # per rating: 1 / its rater's outside forms' answers
    inv_out_e = np.zeros((clique.shape[0], k))  # per member: 1 / answers they get from outside
    for m in range(k):
        x = clique[:, m]
        for S, N, side, as_rater in ((S_r, N_r, pr[f], True), (S_e, N_e, pe[f], False)):
            mine = side == x[:, None]
            n_out = N[x] - np.where(mine, npr, 0).sum(1)
            out = np.where(n_out > 0, (S[x] - np.where(mine, ps, 0).sum(1)) / np.maximum(n_out, 1), 0.0)
            c -= np.where(mine, out[:, None], 0.0)
            var += (k - 1) ** 2 / np.maximum(n_out, 1)
            if as_rater:
                inv_out_r += np.where(mine, 1.0 / np.maximum(n_out, 1)[:, None], 0.0)
            else:
                inv_out_e[:, m] = 1.0 / np.maximum(n_out, 1)
    total = c.sum(axis=1)
    rater_idx = np.array([i for i, _ in order])
    ratee_idx = np.array([j for _, j in order])
    least = np.min(np.stack([c[:, (rater_idx == m) | (ratee_idx == m)].mean(axis=1) for m in range(k)], axis=1),
                   axis=1)
    # each member as a ratee: the clique's ratings of them against the raters' and their own
    # outside ratings (variance: the k - 1 forms, the raters' and the member's outside means)
    inv_pair = 1.0 / np.maximum(npr, 1)
    member_z = np.full(clique.shape[0], -np.inf)
    member_c = np.full(clique.shape[0], -np.inf)
    for m in range(k):
        cols = ratee_idx == m
        mean_m = c[:, cols].mean(axis=1)
        var_m = (inv_pair[:, cols].sum(axis=1) + inv_out_r[:, cols].sum(axis=1)) / (k - 1) ** 2 + inv_out_e[:, m]
        z_m = mean_m / np.sqrt(s2 * var_m)
        better = z_m > member_z
        member_z = np.where(better, z_m, member_z)
        member_c = np.where(better, mean_m, member_c)
    return total / np.sqrt(s2 * var), total / len(order), least, member_z, member_c


def _ring_pairs(pr: np.ndarray, pe: np.ndarray, rev_pos: np.ndarray, strong: np.ndarray, rated_both: np.ndarray,
                pair_sum: np.ndarray, n_pair: np.ndarray, s2: float, top_form: np.ndarray,
                config: FeedbackConfig) -> np.ndarray:
    """Pairs suspect by the structure of rings: (n_pairs,) bool.

    Members of a ring rate each other, so their pairs come in triangles of mutual ratings.
    Every triangle of mutually rated pairs (``rated_both``) is tested
    as a whole, by contrast: how its three members rate each other against how each rates
    everyone else and is rated by everyone else. A ring member's own leniency and level are
    inflated by the ring's ratings (often half of what they give and get), which hides
    each single pair; leaving the whole triangle out of the comparison does not. The mean
    contrast over the six ratings has a known sampling variance; the triangle is suspect
    when its z reaches ``collusion_z_triangle`` and its mean contrast
    ``collusion_min_excess_ring``. Then a mutually rated pair both of whose other triangle
    edges are suspect joins them when, in both directions, it rates above the rater's and
    ratee's pairs not suspect by ``collusion_min_close`` (two members of one ring who rate
    each other with any excess are part of it), repeated so that a ring of four completes
    edge by edge. A clique is also suspect whole when every form inside it sits within
    ``collusion_top_gap`` of the top of the scale and one member clearly gains from it
    (``_clique_contrast``'s member z reaches ``collusion_z_member`` and the member's contrast
    ``collusion_min_excess``): lenient members hide the ring's contrast, but not the
    ring's mark, the top score given all round, nor the member whom outsiders rate lower.
    """
    n_pairs = pr.shape[0]
    flag = np.zeros(n_pairs, bool)
    cand = np.flatnonzero((pr < pe) & rated_both)  # one direction stands for the undirected edge
    if cand.size == 0:
        return flag
    P = int(max(pr.max(), pe.max())) + 1
    u, v = pr[cand], pe[cand]

    def adjacency(sel: np.ndarray) -> Any:  # a scipy.sparse matrix (scipy has no stubs)
        a, b = u[sel], v[sel]
        return sparse.csr_matrix((np.ones(2 * a.size), (np.concatenate([a, b]), np.concatenate([b, a]))),
                                 shape=(P, P))

    # triangles (u < v < w) and four-cliques (u < v < w < x) of mutually rated pairs
    A = adjacency(np.ones(cand.size, bool))
    M = A[u].multiply(A[v]).tocoo()
    keep = M.col > v[M.row]
    tri = np.stack([u[M.row[keep]], v[M.row[keep]], M.col[keep]], axis=1)  # (T, 3)
    tri = tri[np.argsort((tri[:, 0] * P + tri[:, 1]) * P + tri[:, 2], kind="stable")]
    sus = strong[cand].copy()
    if tri.shape[0]:
        M4 = A[tri[:, 0]].multiply(A[tri[:, 1]]).multiply(A[tri[:, 2]]).tocoo()
        keep = M4.col > tri[M4.row, 2]
        quad = np.concatenate([tri[M4.row[keep]], M4.col[keep][:, None]], axis=1)  # (Q, 4)
        key = pr * P + pe
        edge_key = u * P + v  # ascending, as the forms are sorted by (rater, ratee)
        totals = (np.bincount(pr, pair_sum, minlength=P), np.bincount(pr, n_pair, minlength=P),
                  np.bincount(pe, pair_sum, minlength=P), np.bincount(pe, n_pair, minlength=P))
        tri_key = (tri[:, 0] * P + tri[:, 1]) * P + tri[:, 2]  # ascending
        tri_part: np.ndarray | None = None
        for clique in (tri, quad):
            if clique.shape[0] == 0:
                continue
            z_k, contrast, least, member_z, member_c = _clique_contrast(clique, key, P, pr, pe, pair_sum, n_pair,
                                                                         totals, s2)
            hit = ((z_k >= config.collusion_z_triangle) & (contrast >= config.collusion_min_excess_ring)
                   & (least >= config.collusion_min_excess_ring / 2))
            k = clique.shape[1]
            all_top = np.all(top_form[np.stack([np.searchsorted(key, clique[:, i] * P + clique[:, j])
                                                for i in range(k) for j in range(k) if i != j], axis=1)], axis=1)
            whole = all_top & (member_z >= config.collusion_z_member) & (member_c >= config.collusion_min_excess)
            if k == 3:
                # every member of the triangle leans toward the other two
                tri_part = (contrast > 0) & (least > 0)
            else:
                # a four-clique must not be carried by a ring of three inside it: each of its
                # four triangles must show every member's part
                assert tri_part is not None  # the triangles (there are some) come before the four-cliques
                for drop in range(4):
                    sub = np.delete(clique, drop, axis=1)
                    pos_t = np.searchsorted(tri_key, (sub[:, 0] * P + sub[:, 1]) * P + sub[:, 2])
                    hit &= tri_part[np.minimum(pos_t, tri_key.size - 1)]  # set by the triangles, which come first
            hit |= whole
            for i in range(k):
                for j in range(i + 1, k):
                    sus[np.searchsorted(edge_key, clique[hit, i] * P + clique[hit, j])] = True
    for _ in range(3):  # a ring of four closes in at most a few steps
        q = np.flatnonzero(~sus)
        if q.size == 0 or not sus.any():
            break
        # contrast of every pair against its rater's and ratee's pairs not yet suspect
        out = np.ones(n_pairs, bool)
        out[cand[sus]] = False
        out[rev_pos[cand[sus]]] = False
        with np.errstate(invalid="ignore", divide="ignore"):
            m_r = np.bincount(pr, pair_sum * out, minlength=P) / np.bincount(pr, n_pair * out, minlength=P)
            m_e = np.bincount(pe, pair_sum * out, minlength=P) / np.bincount(pe, n_pair * out, minlength=P)
            c = pair_sum / n_pair - np.nan_to_num(m_r)[pr] - np.nan_to_num(m_e)[pe]
        S = adjacency(sus)
        closes = np.asarray(S[u[q]].multiply(S[v[q]]).sum(axis=1)).ravel() > 0
        closes &= (c[cand[q]] >= config.collusion_min_close) & (c[rev_pos[cand[q]]] >= config.collusion_min_close)
        if not closes.any():
            break
        sus[q[closes]] = True
    idx = cand[sus]
    flag[idx] = True
    flag[rev_pos[idx]] = True
    return flag


# ------------------------------------------------------------------------ the scorer


def score_feedback(ratings: RatingSet, config: FeedbackConfig = FeedbackConfig()) -> FeedbackScores:
    """Score 360-degree feedback with rater-bias correction and careless/collusion handling.

    ratings: a ``RatingSet`` (one row per answer). Self ratings never enter ``overall``;
    they feed ``by_group[:, SELF]``, ``self_by_competency`` and the self-other gaps.
    Returns a ``FeedbackScores`` (see its docstring for the fields and their shapes).
    """
    _check_feedback_input(ratings, config)
    forms = _forms(ratings)
    reliability = _reliability(ratings, forms)  # first: its temporaries do not meet the design's
    forms = replace(forms, ok_form=None, ok_item=None, ok_value=None)  # type: ignore[arg-type]  # read there only
    des, y = _design(ratings, forms)[:2]
    if y.size == 0:
        return _empty_scores(ratings, config)
    # the self answers' forms and items, for by_group; then the row arrays can go
    self_rows = np.flatnonzero((ratings.group == RaterGroup.SELF) & (forms.form_of_row >= 0))
    self_form, self_item = forms.form_of_row[self_rows], ratings.item[self_rows]
    del self_rows
    forms = replace(forms, form_of_row=None)  # type: ignore[arg-type]
    fitter = _Fitter(des, y, config)
    det = _fit_and_detect(fitter, forms, ratings.n_people, config)
    return _feedback_scores(ratings, forms, fitter, det, (self_form, self_item), reliability, config)


def _check_feedback_input(ratings: RatingSet, config: FeedbackConfig) -> None:
    """Types of the arguments and the range of the answers (NaN, an unanswered item, passes)."""
    if not isinstance(ratings, RatingSet):
        raise TypeError("ratings must be a RatingSet")
    if not isinstance(config, FeedbackConfig):
        raise TypeError("config must be a FeedbackConfig")
    if ratings.value.size and (np.fmin.reduce(ratings.value) < config.scale_min
                               or np.fmax.reduce(ratings.value) > config.scale_max):  # NaN-blind
        raise ValueError(f"value must lie in [{config.scale_min}, {config.scale_max}] or be NaN")


class _Fitter:
    """The model's fits on one design, counting the sweeps they take (``n_iter``).

    Answers are never weighted one by one: the weights are per form and live in the Gram
    statistics (``_reweighted``), so the fits take ``w=None``.
    """

    def __init__(self, des: _Design, y: np.ndarray, config: FeedbackConfig) -> None:
        self.des, self.y, self.config = des, y, config
        self.n_iter = 0

    def als(self, gram: _Gram, ridges: tuple[float, ...], start: RaterModelFit | None, tol: float) -> RaterModelFit:
        f = _als(self.des, self.y, None, ridges, start, tol, self.config.max_iter, self.config.relaxation,
                 gram=gram, accelerate=_ANDERSON)
        self.n_iter += f.n_iter
        return f

    def resid_stats(self, f: RaterModelFit, wf: np.ndarray) -> tuple[RaterModelFit, np.ndarray, np.ndarray, float]:
        """The fit without its residuals (as long as the answers, and read only here), the
        per-form residual sums and sums of squares, and the weighted residual sum of squares."""
        p_sum = np.bincount(self.des.pair, f.resid, minlength=self.des.n_pairs)
        p_ss = np.bincount(self.des.pair, np.square(f.resid, out=f.resid), minlength=self.des.n_pairs)
        return replace(f, resid=None), p_sum, p_ss, _dot(wf, p_ss)  # type: ignore[arg-type]

    def noise(self, f: RaterModelFit, ridges: tuple[float, ...], gram: _Gram, wrss: float) -> float:
        """Residual variance of a fit at fixed ridges."""
        return _estimate_ridges(self.des, None, f, ridges, gram, wrss)[1]


@dataclass
class _Detection:
    """The final fit and what detection flagged; arrays per person (P,) or per form (n_forms,)."""

    fit: RaterModelFit
    unweighted: RaterModelFit  # parameters of the fit with every form at weight 1
    gram: _Gram  # of the final (weighted) fit
    gram_unit: _Gram  # with unit weights
    ridges: tuple[float, ...]
    s2: float
    wf: np.ndarray  # (n_forms,) weight of each form in the final fit
    careless: np.ndarray
    misfit: np.ndarray
    straight: np.ndarray
    ratio: np.ndarray  # (P,) within-form misfit ratio
    n_r: np.ndarray  # (P,) answers given
    rater_sd: np.ndarray
    suspect: np.ndarray
    z: np.ndarray
    excess: np.ndarray
    n_rounds: int


def _pilot_fit(fitter: _Fitter, gram: _Gram, config: FeedbackConfig) -> tuple[RaterModelFit, tuple[float, ...], float]:
    """The unweighted fit and the ridges: ``(fit, ridges, tol)``.

    A loose pilot fit feeds the moment step of the ridges; the ridges then stay fixed so
    that the weighted and unweighted fits differ only by the weights. Fits that only feed
    detection run at a looser tolerance (returned); the reported fit runs at ``tol``.
    """
    fixed = (config.ratee_ridge, config.competency_ridge, config.leniency_ridge, config.item_ridge)
    start = None
    ridges = _initial_ridges(fixed)  # the fixed ridges, when none is to be estimated
    if any(f is None for f in fixed):
        start = fitter.als(gram, ridges, None, config.tol * 100)
        ridges, _ = _estimate_ridges(fitter.des, None, start, fixed, gram, _dot(start.resid, start.resid))
        start = replace(start, resid=None)  # type: ignore[arg-type]  # dropped: not needed again
    detecting = config.max_rounds > 0 and (config.detect_careless or config.detect_collusion)
    loose = config.tol * 10 if detecting else config.tol
    return fitter.als(gram, ridges, start, loose), ridges, loose


def _flag(forms: _Forms, n_pair: np.ndarray, resid: tuple[np.ndarray, np.ndarray], features: tuple[np.ndarray, ...],
          careless: np.ndarray, fit: RaterModelFit, gram: _Gram, s2: float, rev: tuple[np.ndarray, np.ndarray],
          top_form: np.ndarray, config: FeedbackConfig) -> tuple[np.ndarray, ...]:
    """One round of detection on a fit: ``(careless, misfit, suspect, z, excess)``.

    ``features``: ``(n_r, straight)`` from ``_careless_features``; ``careless``: the raters
    flagged in the round before, left out of the pooled misfit.
    """
    pr, pe = forms.rater, forms.ratee
    n_r, straight = features
    _, misfit = _misfit(pr, n_pair, resid[0], resid[1], n_r, careless, config)
    if not config.detect_careless:
        misfit = np.zeros_like(misfit)
    careless = straight | misfit
    if config.detect_collusion:
        suspect, z, excess = _collusion(gram, fit, s2, n_pair, resid[0], pr, pe, rev, careless, top_form, config)
    else:
        suspect, z, excess = np.zeros(pr.shape[0], bool), np.zeros(pr.shape[0]), np.zeros(pr.shape[0])
    return careless, misfit, suspect, z, excess


def _fit_and_detect(fitter: _Fitter, forms: _Forms, P: int, config: FeedbackConfig) -> _Detection:
    """Fit, flag careless raters and collusive pairs, refit with their forms down-weighted,
    until the flags behind a fit are the flags it gives (at most ``max_rounds`` rounds).

    Weights are per form: ``careless_weight`` for a careless rater's forms,
    ``collusion_weight`` for a suspect pair's form.
    """
    des = fitter.des
    pr, pe = forms.rater, forms.ratee
    n_pairs = pr.shape[0]
    n_pair = np.bincount(des.pair, minlength=n_pairs).astype(float)
    rev = _reverse_pairs(pr, pe, P)
    with np.errstate(invalid="ignore", divide="ignore"):
        top_form = forms.sum_value / forms.n_ok >= config.scale_max - config.collusion_top_gap
    wf = np.ones(n_pairs)
    G = G_unit = _gram(des, fitter.y, None)
    fit, ridges, loose = _pilot_fit(fitter, G, config)
    fit_tol = loose
    fit, p_sum, p_ss, wrss = fitter.resid_stats(fit, wf)
    s2 = fitter.noise(fit, ridges, G, wrss)
    unweighted = fit  # its parameters, for overall_unweighted

    n_r, rater_sd, straight = _careless_features(des, fitter.y, des.pair, n_pairs, pr, config)
    if not config.detect_careless:
        straight = np.zeros(P, bool)
    careless, misfit, suspect = np.zeros(P, bool), np.zeros(P, bool), np.zeros(n_pairs, bool)
    z = excess = np.zeros(n_pairs)
    n_rounds = 0
    for n_rounds in range(1, config.max_rounds + 1):
        new_careless, new_misfit, new_suspect, z, excess = _flag(
            forms, n_pair, (p_sum, p_ss), (n_r, straight), careless, fit, G, s2, rev, top_form, config)
        if n_rounds > 1 and np.array_equal(new_careless, careless) and np.array_equal(new_suspect, suspect):
            break  # the flags behind the current fit are confirmed by it
        careless, misfit, suspect = new_careless, new_misfit, new_suspect
        if not careless.any() and not suspect.any():
            break  # nothing flagged: the unweighted fit is the final one
        wf = np.where(careless, config.careless_weight, 1.0)[pr] * np.where(suspect, config.collusion_weight, 1.0)
        G = _reweighted(des, fitter.y, G_unit, wf)
        fit = fitter.als(G, ridges, fit, config.tol)
        fit_tol = config.tol
        fit, p_sum, p_ss, wrss = fitter.resid_stats(fit, wf)
        s2 = fitter.noise(fit, ridges, G, wrss)
    if fit_tol > config.tol:
        fit = fitter.als(G, ridges, fit, config.tol)
        fit, p_sum, p_ss, wrss = fitter.resid_stats(fit, wf)
        if fit_tol == loose and np.all(wf == 1.0):
            unweighted = fit
    ratio, _ = _misfit(pr, n_pair, p_sum, p_ss, n_r, careless, config)
    return _Detection(fit=fit, unweighted=unweighted, gram=G, gram_unit=G_unit, ridges=ridges, s2=s2, wf=wf,
                      careless=careless, misfit=misfit, straight=straight, ratio=ratio, n_r=n_r, rater_sd=rater_sd,
                      suspect=suspect, z=z, excess=excess, n_rounds=n_rounds)


def _feedback_scores(ratings: RatingSet, forms: _Forms, fitter: _Fitter, det: _Detection,
                     self_answers: tuple[np.ndarray, np.ndarray], reliability: Reliability,
                     config: FeedbackConfig) -> FeedbackScores:
    """The reported scores from the final fit; ``self_answers``: the self rows' forms and items."""
    P, C = ratings.n_people, ratings.n_competencies
    des, fit, pr, pe = fitter.des, det.fit, forms.rater, forms.ratee
    n_pairs = pr.shape[0]
    nan_p = np.full(P, np.nan)
    comp = ratings.item_competency
    n_items_c = np.bincount(comp, minlength=C).astype(float)
    share_c = n_items_c / n_items_c.sum()
    d_c = np.where(n_items_c > 0, np.bincount(comp, fit.d, minlength=C) / np.maximum(n_items_c, 1), 0.0)
    d_mean = float(fit.d.mean())

    def overall_of(f: RaterModelFit) -> np.ndarray:
        return np.asarray(f.mu + f.a + np.einsum("pc,c->p", f.g.reshape(P, C), share_c) + float(f.d.mean()))

    n_cell = det.gram_unit.W_cell.reshape(P, C)  # answers per cell
    has_any = n_cell.sum(axis=1) > 0
    overall = np.where(has_any, overall_of(fit), np.nan)
    overall_unw = np.where(has_any, overall_of(det.unweighted), np.nan)
    by_comp = fit.mu + fit.a[:, None] + fit.g.reshape(P, C) + d_c[None, :]
    by_comp = np.where(n_cell > 0, by_comp, np.nan)

    se_overall, se_comp, se_len = _standard_errors(des, det.gram, fit, det.s2, pr, pe, share_c)
    se_overall = np.where(has_any, se_overall, np.nan)
    se_comp = np.where(n_cell > 0, se_comp, np.nan)
    zq = stats.norm.ppf(0.5 + config.interval_level / 2)

    rated_any = np.bincount(des.rater, minlength=P) > 0
    leniency = np.where(rated_any, fit.l, np.nan)
    se_len = np.where(rated_any, se_len, np.nan)

    self_form, self_item = self_answers
    d_sum = (np.bincount(des.pair, fit.d[des.item], minlength=n_pairs)
             + np.bincount(self_form, fit.d[self_item], minlength=n_pairs))
    by_group, counts = _by_group(ratings, forms, fit, np.where(forms.group == RaterGroup.SELF, 1.0, det.wf),
                                 d_mean, d_sum)
    self_comp = _self_by_competency(ratings)
    gap = self_comp - by_comp
    with np.errstate(invalid="ignore"):
        blind = gap > config.gap_threshold
        hidden = gap < -config.gap_threshold

    careless = det.careless
    sus_idx = np.flatnonzero(det.suspect)
    return FeedbackScores(
        overall=overall,
        overall_se=se_overall,
        overall_low=overall - zq * se_overall,
        overall_high=overall + zq * se_overall,
        by_competency=by_comp,
        by_competency_se=se_comp,
        by_group=by_group,
        counts=counts,
        leniency=leniency,
        leniency_se=se_len,
        item_difficulty=fit.d - d_mean,
        mean=float(fit.mu + d_mean),
        careless=careless,
        careless_straight=det.straight & careless,
        careless_misfit=det.misfit & careless,
        rater_sd=np.where(det.n_r > 0, det.rater_sd, nan_p),
        rater_misfit=det.ratio,
        rater_weight=np.where(careless, config.careless_weight, 1.0),
        suspect_pairs=np.stack([pr[sus_idx], pe[sus_idx]], axis=1).astype(np.int64),
        suspect_z=det.z[sus_idx],
        suspect_excess=det.excess[sus_idx],
        overall_unweighted=overall_unw,
        weighting_change=overall - overall_unw,
        self_by_competency=self_comp,
        self_gap=gap,
        blind_spots=blind,
        hidden_strengths=hidden,
        reliability=reliability,
        residual_sd=float(np.sqrt(det.s2)),
        ridges=tuple(float(r) for r in det.ridges),
        n_rounds=det.n_rounds,
        n_iterations=fitter.n_iter,
    )


def _standard_errors(des: _Design, G: _Gram, fit: RaterModelFit, s2: float, pr: np.ndarray, pe: np.ndarray,
                     share_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate posterior standard errors of overall (P,), by_competency (P, C), leniency (P,).

    Each block's conditional posterior variance (``s2 / (W + lambda)``) plus the variance
    that the raters' uncertain leniencies pass on to a ratee's score, through the ratee's
    weighted average of them. Correlations between blocks are otherwise ignored.
    """
    lam_a, lam_g, lam_l, _ = fit.ridges
    P, C = des.n_people, des.n_comp
    W_cell, W_rater, W_ratee, W_pair = G.W_cell, G.W_rater, G.W_ratee, G.W_pair
    with np.errstate(invalid="ignore", divide="ignore"):
        h = W_cell * lam_g / (W_cell + lam_g) if lam_g > 0 else np.zeros_like(W_cell)
        H = h.reshape(P, C).sum(axis=1)
        var_a = s2 / (H + lam_a)
        var_g = (s2 / (W_cell + lam_g)).reshape(P, C) if lam_g > 0 else np.zeros((P, C))
        var_l = s2 / (W_rater + lam_l)
        var_l = np.where(np.isfinite(var_l), var_l, s2)
        share = W_pair / W_ratee[pe]
        var_len_pass = np.bincount(pe, np.nan_to_num(share**2 * var_l[pr]), minlength=P)
    var_overall = var_a + np.einsum("pc,c->p", var_g, share_c**2) + var_len_pass
    var_comp = var_a[:, None] + var_g + var_len_pass[:, None]
    return np.sqrt(var_overall), np.sqrt(var_comp), np.sqrt(var_l)


def _by_group(ratings: RatingSet, forms: _Forms, fit: RaterModelFit, w_form: np.ndarray, d_mean: float,
              d_sum: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(P, 4) adjusted group means and (P, 4) distinct-rater counts.

    w_form: (n_forms,) weight of each form's answers (1 for self forms); d_sum: (n_forms,)
    sum of ``fit.d`` over each form's answered items. The answers enter per form: a form's
    rater, ratee and group are fixed, so its adjusted sum is its sum of ``value - d[item]``
    less its answer count times the rater's leniency (none for self).
    """
    P = ratings.n_people
    n_f = forms.n_ok.astype(float)
    s_f = forms.sum_value - d_sum
    lenient = np.where(forms.group == RaterGroup.SELF, 0.0, fit.l[forms.rater])
    idx = forms.ratee * N_GROUPS + forms.group
    W = np.bincount(idx, w_form * n_f, minlength=P * N_GROUPS)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_group = np.bincount(idx, w_form * (s_f - n_f * (lenient - d_mean)), minlength=P * N_GROUPS) / W
    by_group = np.where(W > 0, by_group, np.nan).reshape(P, N_GROUPS)
    counts = np.bincount(idx, minlength=P * N_GROUPS)
    return by_group, counts.reshape(P, N_GROUPS).astype(np.int64)


def _self_by_competency(ratings: RatingSet) -> np.ndarray:
    """(P, C) mean self rating per competency, NaN where none."""
    P, C = ratings.n_people, ratings.n_competencies
    m = (ratings.group == RaterGroup.SELF) & ~np.isnan(ratings.value)
    idx = _key(ratings.ratee[m], C, ratings.item_competency[ratings.item[m]])
    n = np.bincount(idx, minlength=P * C)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(idx, ratings.value[m], minlength=P * C) / n
    return np.where(n > 0, mean, np.nan).reshape(P, C)


def _reliability(ratings: RatingSet, forms: _Forms) -> Reliability:
    """ICC(1), ICC(1,k) and Cronbach's alpha per (competency, rater group), vectorised.

    A competency form is one rater's answers on one competency for one ratee; its mean is
    the rating entering the ICC (targets = ratees), and complete competency forms are the
    observations for alpha.

    Each rater group answers its own questionnaire, so the items of a competency differ by
    group. The items of block (competency c, group g) are taken from the data: the items of
    c that received at least one answered (non-N/A) value from group g. A competency form
    is complete when it answers every item of its block (an N/A counts as not answered);
    alpha of a block is computed over its complete forms and its items only, and
    ``n_forms`` counts those complete forms.
    """
    C, G, I = ratings.n_competencies, N_GROUPS, ratings.n_items
    item, y = forms.ok_item, forms.ok_value
    comp_of_item = ratings.item_competency
    n_f = forms.rater.shape[0]
    cform: np.ndarray = forms.ok_form.astype(_index_dtype(n_f * C))  # (form, competency) id, dense in [0, n_f * C)
    cform *= C
    cform += comp_of_item.astype(np.int32)[item]
    n_cform = np.bincount(cform, minlength=n_f * C)
    sum_cform = np.bincount(cform, y, minlength=n_f * C)
    used = np.flatnonzero(n_cform)
    cmean = sum_cform[used] / n_cform[used]
    c_of = used % C
    f_of = used // C
    cblock = c_of * G + forms.group[f_of]
    icc1, icc1k, n_targets = icc_oneway_long(forms.ratee[f_of], cmean, cblock, C * G)

    # alpha over complete competency forms of each block (competency, group); an item
    # belongs to the block of its competency and of every group that answered it
    gi = forms.group.astype(np.int32)[forms.ok_form]  # (group, item) of each answered row
    gi *= I
    gi += item
    asked = np.bincount(gi, minlength=G * I) > 0  # (G * I,) the group answered the item
    block_of_gi = (comp_of_item[None, :] * G + np.arange(G)[:, None]).ravel()  # (G * I,)
    k_block = np.bincount(block_of_gi[asked], minlength=C * G)  # items per block
    block_of_cform = (np.arange(C) * G)[None, :] + forms.group[:, None]  # (n_f, C)
    block_of_cform = block_of_cform.ravel()
    complete_c = (n_cform == k_block[block_of_cform]) & (n_cform > 0)
    row_ok = complete_c[cform]
    yy = np.where(row_ok, y, 0.0)
    del row_ok
    s1 = np.bincount(gi, yy, minlength=G * I)
    s2 = np.bincount(gi, np.square(yy, out=yy), minlength=G * I)
    del yy, gi
    n_forms = np.bincount(block_of_cform[complete_c], minlength=C * G)
    nb = n_forms[block_of_gi].astype(float)  # complete forms behind each (group, item)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_gi = np.where(nb > 1, (s2 - s1**2 / nb) / (nb - 1), 0.0)
        var_items = np.bincount(block_of_gi, var_gi, minlength=C * G)
        total = sum_cform[complete_c]
        tb = block_of_cform[complete_c]
        t1 = np.bincount(tb, total, minlength=C * G)
        t2 = np.bincount(tb, total**2, minlength=C * G)
        var_total = (t2 - t1**2 / n_forms) / (n_forms - 1)
        k = k_block.astype(float)
        alpha = k / (k - 1) * (1 - var_items / var_total)
    alpha = np.where((k >= 2) & (n_forms >= 2) & (var_total > 1e-12), alpha, np.nan)
    shape = (C, G)
    return Reliability(
        icc1=icc1.reshape(shape),
        icc1k=icc1k.reshape(shape),
        alpha=alpha.reshape(shape),
        n_targets=n_targets.reshape(shape),
        n_forms=n_forms.reshape(shape),
    )


def _empty_scores(ratings: RatingSet, config: FeedbackConfig) -> FeedbackScores:
    """Scores when there is no non-self answer at all: everything NaN, nothing flagged."""
    P, C, I = ratings.n_people, ratings.n_competencies, ratings.n_items
    nan_p = np.full(P, np.nan)
    nan_pc = np.full((P, C), np.nan)
    dummy = RaterModelFit(float("nan"), np.zeros(P), np.zeros(P * C), np.zeros(P), np.zeros(I),
                          np.zeros(0), (0, 0, 0, 0), 0)
    forms = _forms(ratings)
    by_group, counts = _by_group(ratings, forms, dummy, np.ones(forms.rater.shape[0]), 0.0, 0.0)
    self_comp = _self_by_competency(ratings)
    false_pc = np.zeros((P, C), bool)
    return FeedbackScores(
        overall=nan_p, overall_se=nan_p, overall_low=nan_p, overall_high=nan_p,
        by_competency=nan_pc, by_competency_se=nan_pc, by_group=by_group, counts=counts,
        leniency=nan_p, leniency_se=nan_p, item_difficulty=np.zeros(I), mean=float("nan"),
        careless=np.zeros(P, bool), careless_straight=np.zeros(P, bool),
        careless_misfit=np.zeros(P, bool), rater_sd=nan_p, rater_misfit=nan_p,
        rater_weight=np.ones(P), suspect_pairs=np.zeros((0, 2), np.int64),
        suspect_z=np.zeros(0), suspect_excess=np.zeros(0), overall_unweighted=nan_p,
        weighting_change=nan_p, self_by_competency=self_comp, self_gap=nan_pc,
        blind_spots=false_pc, hidden_strengths=false_pc, reliability=_reliability(ratings, forms),
        residual_sd=float("nan"), ridges=(np.nan,) * 4, n_rounds=0, n_iterations=0,
    )
