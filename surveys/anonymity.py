"""Anonymity gates for 360-degree reports: what a ratee may see of their own results.

- A rater group is shown only with at least its minimum number of raters (supervisor and self are
  attributed and shown from one rater); "others" pools every non-self group.
- A rater counts for a competency only if they answered (not N/A) at least half of its items.
- A group that could be worked out by subtraction ("others" minus the shown groups leaving fewer
  raters than a hidden group's minimum) is protected by hiding "others" too.
- Comments are shown without names, shuffled, and only where "others" is shown for that competency.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OTHERS = "others"
NON_SELF = ("supervisor", "peer", "subordinate", "collaborator")
GROUPS = ("self", *NON_SELF)
DEFAULT_THRESHOLDS = {"self": 1, "supervisor": 1, "peer": 3, "subordinate": 3, "collaborator": 3, OTHERS: 4}
ATTRIBUTED = ("self", "supervisor")  # shown as who they are: the ratee knows their own leader


def thresholds(config: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Defaults overridden by a cycle's ``config["feedback"]["thresholds"]`` (ints >= 1)."""
    out = dict(DEFAULT_THRESHOLDS)
    for group, value in ((config or {}).get("feedback", {}) or {}).get("thresholds", {}).items():
        if group in out and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            out[group] = value
    return out


def min_items(n_items: int) -> int:
    """Answers a rater needs for a competency with ``n_items`` items: at least half."""
    return max(1, math.ceil(n_items / 2))


def counts_for_competency(answered: int, n_items: int) -> bool:
    return answered >= min_items(n_items)


def visible_groups(counts: Mapping[str, int], limits: Mapping[str, int] | None = None) -> dict[str, bool]:
    """Which groups (and "others") may be shown, given the counted raters per group.

    ``counts``: {group: counted raters}; missing groups count 0. Returns {group: shown} for every
    group in GROUPS plus OTHERS. An empty group is never "shown".
    """
    limits = dict(DEFAULT_THRESHOLDS if limits is None else limits)
    n = {g: int(counts.get(g, 0)) for g in GROUPS}
    shown = {g: n[g] > 0 and n[g] >= limits.get(g, 1) for g in GROUPS}
    n_others = sum(n[g] for g in NON_SELF)
    shown[OTHERS] = n_others > 0 and n_others >= limits.get(OTHERS, 1)
    if shown[OTHERS]:
        hidden = [g for g in NON_SELF if n[g] > 0 and not shown[g]]
        remainder = sum(n[g] for g in hidden)
        # others minus the shown groups = the hidden ones together: fine only if that pool is itself
        # large enough for each group in it.
        if hidden and remainder < max(limits.get(g, 1) for g in hidden):
            shown[OTHERS] = False
    return shown


@dataclass(frozen=True)
class Cell:
    """One competency × group figure of a report: the mean and the raters behind it, or hidden."""

    mean: float | None
    n: int
    shown: bool


def gated_means(scores: Mapping[str, Sequence[float]], limits: Mapping[str, int] | None = None) -> dict[str, Cell]:
    """Per group means of per-rater scores under the gates.

    ``scores``: {group: [one mean per counted rater]} (raters who did not count are left out by the
    caller). Returns {group or OTHERS: Cell}; hidden cells carry no mean.
    """
    counts = {g: len(v) for g, v in scores.items()}
    shown = visible_groups(counts, limits)
    out = {}
    for group in (*GROUPS, OTHERS):
        values = [v for g in NON_SELF for v in scores.get(g, [])] if group == OTHERS else list(scores.get(group, []))
        ok = shown[group]
        out[group] = Cell(sum(values) / len(values) if ok and values else None, len(values) if ok else 0, ok)
    return out


def shuffled_comments(comments: Iterable[str], seed: object) -> list[str]:
    """Comments without names in an order that says nothing about who wrote them or when."""
    out = sorted(c.strip() for c in comments if c and c.strip())
    random.Random(f"comments:{seed}").shuffle(out)
    return out
