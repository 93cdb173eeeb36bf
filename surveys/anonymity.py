"""The one anonymity gate for 360-degree figures: what a viewer may see of a ratee's results.

Every reader of 360 figures (the ratee's report, a leader's or admin's view of it, landing cards,
charts, score-run breakdowns, exports, the API) asks this module, with a :class:`Viewer` saying who
looks. The rule:

- A figure is shown only if it rests on at least its group's minimum number of raters OTHER THAN
  THE VIEWER (a rater knows their own answers, so they do not count towards hiding anyone else).
- The single designed exception: the ratee sees their supervisor(s) from one rater (attributed: the
  ratee knows their own leader). For anyone else the supervisor group is anonymous like the others
  and needs at least ``ANONYMOUS_MIN`` raters other than the viewer: with exactly two supervisors,
  neither may see the supervisor figure.
  Self is the ratee's own rating, attributed and shown from one rater.
- A rater counts for a competency only if they answered (not N/A) at least half of its items.
- A ratee's figures (each group, "others", and pools other pages show, such as the colleagues'
  teamwork mean) are decided together: one is admitted only while no sum or difference of the
  admitted ones isolates fewer raters than their minimum ("others" minus the shown groups leaving one
  hidden rater, say, hides "others"). Rater counts are never shown to anyone but admins.
- A unit's mean of its officers' 360 figures shows only over at least ``MIN_OFFICERS`` officers.
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
ANONYMOUS_MIN = 2  # an anonymous figure never rests on one person (other than the viewer)


@dataclass(frozen=True)
class Viewer:
    """Who looks at one ratee's 360 figures.

    ``is_ratee``: the ratee themselves. ``rated_as``: the groups in which the viewer rated this ratee
    (their own answers are in those figures). ``sees_details``: may see raw details (rater counts per
    group, careless and collusion counts): admins only; it never unlocks a figure.
    """

    is_ratee: bool = False
    rated_as: frozenset[str] = frozenset()
    sees_details: bool = False


# A unit's mean of its officers' 360 figures shows only over at least this many officers, so that it
# never stands for one officer's figure (nor, with the viewer's own, for one other officer's).
MIN_OFFICERS = 3


def unit_mean_visible(officers: int | None) -> bool:
    """May a unit's mean of its officers' 360 figures, over ``officers`` officers, be shown?"""
    return isinstance(officers, int) and officers >= MIN_OFFICERS


RATEE = Viewer(is_ratee=True)  # the ratee looking at their own results
OUTSIDER = Viewer()  # someone who rated nobody in the figure and is not the ratee


def viewer_limits(limits: Mapping[str, int] | None, viewer: Viewer | None) -> dict[str, int]:
    """The minimum raters per group (other than the viewer) for this viewer."""
    out = dict(DEFAULT_THRESHOLDS if limits is None else limits)
    viewer = viewer or RATEE
    for group in NON_SELF:
        if group != "supervisor" or not viewer.is_ratee:
            out[group] = max(out.get(group, 1), ANONYMOUS_MIN)
    out[OTHERS] = max(out.get(OTHERS, 1), ANONYMOUS_MIN)
    return out


def _others_than_viewer(counts: Mapping[str, int], viewer: Viewer) -> dict[str, int]:
    n = {g: max(0, int(counts.get(g, 0))) for g in GROUPS}
    for g in viewer.rated_as:
        if g in NON_SELF and n[g] > 0:
            n[g] -= 1
    return n


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


COLLEAGUES = "colleagues"
# Figures pooled over several groups that some page shows besides the groups and "others": the peers'
# and cross-unit collaborators' mean on the teamwork items (a score run's breakdown). The 360 score of
# a run pools every non-self group, like "others".
POOLS = {OTHERS: NON_SELF, COLLEAGUES: ("peer", "collaborator")}


def _safe(family: set[frozenset[str]], n: Mapping[str, int], limits: Mapping[str, int]) -> bool:
    """Can no set of groups that the figures in ``family`` give away (by subtracting a figure from one
    that contains it, or adding disjoint ones) isolate fewer raters than its groups' minimum?

    ``family``: frozensets of the groups each figure pools (groups without raters other than the
    viewer left out); ``n``: raters per group other than the viewer.
    """
    closure = set(family)
    grown = True
    while grown:
        grown = False
        for a in list(closure):
            for b in list(closure):
                derived = a - b if b < a else (a | b if not a & b else None)
                if derived and derived not in closure:
                    closure.add(derived)
                    grown = True
    for groups in closure:
        k = sum(n[g] for g in groups)
        if 0 < k < max(limits.get(g, 1) for g in groups):
            return False
    return True


def visible_figures(counts: Mapping[str, int], limits: Mapping[str, int] | None = None,
                    viewer: Viewer | None = None) -> dict[str, bool]:
    """Which of a ratee's figures ``viewer`` may see: every group, OTHERS and each pool in POOLS.

    ``counts``: {group: counted raters}; missing groups count 0. ``viewer`` defaults to the ratee.
    Each figure needs its minimum of raters other than the viewer; then the figures are admitted in
    order (groups, "others", pools) only while no combination of the admitted ones isolates a set of
    raters below its minimum. An empty figure is never "shown".
    """
    viewer = viewer or RATEE
    lim = viewer_limits(limits, viewer)
    total = {g: int(counts.get(g, 0)) for g in GROUPS}
    n = _others_than_viewer(total, viewer)

    def atoms(groups: Iterable[str]) -> frozenset[str]:
        return frozenset(g for g in groups if n[g] > 0)

    shown = {"self": total["self"] > 0 and n["self"] >= lim.get("self", 1)}
    family: set[frozenset[str]] = set()
    candidates: list[tuple[str, tuple[str, ...], int]] = [(g, (g,), lim.get(g, 1)) for g in NON_SELF]
    for name, pool in POOLS.items():
        present = [g for g in pool if total[g] > 0]
        # one group present: that group's figure under another name; else a pool like "others"
        single = len(present) == 1 and name != OTHERS
        need = lim.get(present[0], 1) if single else max([lim[OTHERS]] + [lim.get(g, 1) for g in present])
        candidates.append((name, pool, need))
    for name, pool, need in candidates:
        ok = sum(total[g] for g in pool) > 0 and sum(n[g] for g in pool) >= need
        figure = atoms(pool)
        if ok and figure and not _safe(family | {figure}, n, lim):
            ok = False
        if ok and figure:
            family.add(figure)
        shown[name] = ok
    return shown


def visible_groups(counts: Mapping[str, int], limits: Mapping[str, int] | None = None,
                   viewer: Viewer | None = None) -> dict[str, bool]:
    """Which groups (and "others") ``viewer`` may see (see :func:`visible_figures`)."""
    shown = visible_figures(counts, limits, viewer)
    return {g: shown[g] for g in (*GROUPS, OTHERS)}


def pooled_visible(counts: Mapping[str, int], pool: Sequence[str], limits: Mapping[str, int] | None = None,
                   viewer: Viewer | None = None) -> bool:
    """May ``viewer`` see one figure pooled from the raters of the groups in ``pool`` (one group, or a
    pool named in POOLS)? Decided together with every other figure (:func:`visible_figures`)."""
    shown = visible_figures(counts, limits, viewer)
    if len(pool) == 1:
        return shown[pool[0]]
    for name, groups in POOLS.items():
        if set(groups) == set(pool):
            return shown[name]
    raise ValueError(f"no gate for a figure pooling {sorted(pool)}")


@dataclass(frozen=True)
class Cell:
    """One competency × group figure of a report: the mean and the raters behind it, or hidden."""

    mean: float | None
    n: int
    shown: bool


def gated_means(scores: Mapping[str, Sequence[float]], limits: Mapping[str, int] | None = None,
                viewer: Viewer | None = None) -> dict[str, Cell]:
    """Per group means of per-rater scores under the gates, as ``viewer`` may see them.

    ``scores``: {group: [one mean per counted rater]} (raters who did not count are left out by the
    caller). Returns {group or OTHERS: Cell}; hidden cells carry no mean and no count.
    """
    counts = {g: len(v) for g, v in scores.items()}
    shown = visible_groups(counts, limits, viewer)
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
