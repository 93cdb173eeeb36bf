"""Enums and small array helpers shared by the scoring modules.

Nothing here imports anything beyond the standard library and numpy, so the web
shell and the survey package may import the enums without pulling in the models.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["RaterGroup", "Channel", "N_GROUPS"]


class RaterGroup(IntEnum):
    """Who gives a 360-degree rating, relative to the ratee."""

    SELF = 0
    PEER = 1
    SUPERVISOR = 2
    SUBORDINATE = 3


N_GROUPS = len(RaterGroup)


class Channel(IntEnum):
    """How a resident answered: a personal link, or the QR code at the service window."""

    LINK = 0
    WINDOW = 1


def as_index_array(name: str, values: ArrayLike, length: int | None = None, keep_dtype: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D int64 array, raising ``ValueError`` on bad input.

    keep_dtype : leave an integer array in its own dtype (no copy), for callers that check the
        range and narrow it themselves; floats holding whole numbers still become int64.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    if not (keep_dtype and arr.dtype.kind in "iu"):
        arr = arr.astype(np.int64, copy=False)
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has length {arr.shape[0]}, expected {length}")
    return arr


def check_range(name: str, arr: np.ndarray, low: int, high: int) -> None:
    """Raise ``ValueError`` unless every entry of ``arr`` lies in ``[low, high)``."""
    if arr.size and (arr.min() < low or arr.max() >= high):
        bad = arr[(arr < low) | (arr >= high)][0]
        raise ValueError(f"{name} must lie in [{low}, {high - 1}], found {bad}")
