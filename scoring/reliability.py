"""Inter-rater reliability and internal consistency.

* ``icc_oneway``: ICC(1) and ICC(1,k) of Shrout & Fleiss (1979), case 1: each target is
  rated by a different set of raters (the usual situation in 360 feedback).
* ``icc_oneway_long``: the same from long-format, possibly unbalanced data, for many
  independent blocks at once (e.g. one block per competency and rater group).
* ``cronbach_alpha``: internal consistency of items (columns) over observations (rows).

All functions are vectorised; none loops over targets or observations.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["icc_oneway", "icc_oneway_long", "cronbach_alpha"]


def icc_oneway(table: ArrayLike) -> tuple[float, float]:
    """ICC(1) and ICC(1,k) from a complete targets-by-raters table.

    table: (n_targets, k) float, no NaN. Returns ``(icc1, icc1k)``: the reliability of a
    single rating and of the mean of ``k`` ratings, from the one-way random-effects
    ANOVA: ``ICC(1) = (MSB - MSW) / (MSB + (k - 1) MSW)``, ``ICC(1,k) = (MSB - MSW) / MSB``.
    Returns NaN where undefined (fewer than 2 targets or 2 raters, or no variance).
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"table must be 2-D (n_targets, k), got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("table must be complete (no NaN); use icc_oneway_long for missing cells")
    n, k = x.shape
    target = np.repeat(np.arange(n), k)
    icc1, icc1k, _ = icc_oneway_long(target, x.ravel())
    return float(icc1[0]), float(icc1k[0])


def icc_oneway_long(target: ArrayLike, value: ArrayLike, block: ArrayLike | None = None,
                    n_blocks: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-way random-effects ICC from long-format data, per independent block.

    target: (n,) int, the rated target of each value (any non-negative ids).
    value: (n,) float, one rating per row (no NaN).
    block: (n,) int or None, the block (e.g. competency x rater group) of each row;
        ``target`` ids are local to a block. Default: a single block.
    n_blocks: number of blocks (default ``block.max() + 1``).

    Returns ``(icc1, icc1k, n_targets)``, each (n_blocks,). With unequal numbers of
    ratings per target, ``k`` is the ANOVA-adjusted mean group size
    ``k0 = (N - sum n_i^2 / N) / (n_targets - 1)`` and ICC(1,k) is the Spearman-Brown
    step-up of ICC(1) to ``k0`` ratings (equal to ``(MSB - MSW) / MSB`` when balanced).
    NaN where a block has fewer than 2 targets, no within-target replication or no variance.
    """
    target = np.asarray(target, dtype=np.int64)
    value = np.asarray(value, dtype=float)
    if target.shape != value.shape or target.ndim != 1:
        raise ValueError("target and value must be 1-D arrays of the same length")
    if np.isnan(value).any():
        raise ValueError("value must not contain NaN")
    if block is None:
        block = np.zeros(target.shape, dtype=np.int64)
    block = np.asarray(block, dtype=np.int64)
    if n_blocks is None:
        n_blocks = int(block.max()) + 1 if block.size else 1
    # A cell is one (block, target); compact ids keep the bincounts small.
    n_t = int(target.max()) + 1 if target.size else 1
    keys = block * n_t + target
    space = n_blocks * n_t
    if space <= max(8 * keys.size, 1 << 22):  # sort-free: occupancy count of the key space
        occupied = np.bincount(keys, minlength=space) > 0
        cell_key = np.flatnonzero(occupied)
        cell = (np.cumsum(occupied) - 1)[keys]
    else:
        cell_key, cell = np.unique(keys, return_inverse=True)
    cell_block = cell_key // n_t
    n_cell = np.bincount(cell, minlength=cell_key.size).astype(float)
    sum_cell = np.bincount(cell, value, minlength=cell_key.size)
    mean_cell = sum_cell / n_cell
    n_total = np.bincount(block, minlength=n_blocks).astype(float)
    n_targets = np.bincount(cell_block, minlength=n_blocks)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = np.bincount(block, value, minlength=n_blocks) / n_total
        ssb = np.bincount(cell_block, n_cell * (mean_cell - grand[cell_block]) ** 2, minlength=n_blocks)
        ssw = np.bincount(block, (value - mean_cell[cell]) ** 2, minlength=n_blocks)
        df_b = n_targets - 1.0
        df_w = n_total - n_targets
        msb = ssb / df_b
        msw = ssw / df_w
        k0 = (n_total - np.bincount(cell_block, n_cell**2, minlength=n_blocks) / n_total) / df_b
        icc1 = (msb - msw) / (msb + (k0 - 1.0) * msw)
        icc1k = k0 * icc1 / (1.0 + (k0 - 1.0) * icc1)
    bad = (df_b < 1) | (df_w < 1) | ~(msb + msw > 0)
    icc1 = np.where(bad, np.nan, icc1)
    icc1k = np.where(bad, np.nan, icc1k)
    return icc1, icc1k, n_targets


def cronbach_alpha(table: ArrayLike) -> float:
    """Cronbach's alpha of a complete observations-by-items table.

    table: (n_obs, k_items) float, no NaN. ``alpha = k / (k - 1) * (1 - sum var_i / var_total)``
    with sample variances. NaN when fewer than 2 items or 2 observations, or no variance.
    """
    x = np.asarray(table, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"table must be 2-D (n_obs, k_items), got shape {x.shape}")
    if np.isnan(x).any():
        raise ValueError("table must be complete (no NaN)")
    n, k = x.shape
    if n < 2 or k < 2:
        return float("nan")
    var_items = x.var(axis=0, ddof=1).sum()
    var_total = x.sum(axis=1).var(ddof=1)
    if not var_total > 0:
        return float("nan")
    return float(k / (k - 1.0) * (1.0 - var_items / var_total))
