"""Synthetic 360 feedback and resident answers with known truth, for tests and benchmarks.

Vectorised so the benchmark can build a province (50,000 officers) in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring import RaterGroup, RatingSet, ResidentSet


@dataclass(frozen=True)
class SyntheticFeedback:
    ratings: RatingSet
    true_overall: np.ndarray  # (P,) on the 1-5 scale, for an average (leniency 0) rater
    true_by_competency: np.ndarray  # (P, C)
    true_leniency: np.ndarray  # (P,) individual + unit-wide
    unit: np.ndarray  # (P,)
    careless: np.ndarray  # (P,) bool: straight-liners and random responders
    straight: np.ndarray  # (P,) bool
    random: np.ndarray  # (P,) bool
    ring_pairs: np.ndarray  # (k, 2) (rater, ratee) pairs inside collusion rings
    ring_of: np.ndarray  # (P,) ring id or -1


def make_feedback(
    n_people: int = 600,
    unit_size: int = 10,
    n_items: int = 12,
    n_comp: int = 4,
    n_peers: int = 4,
    n_cross: int = 1,
    subordinate_share: float = 0.6,
    mu: float = 3.2,
    sd_person: float = 0.45,
    sd_comp: float = 0.2,
    sd_item: float = 0.25,
    sd_leniency: float = 0.4,
    sd_unit_leniency: float = 0.3,
    noise_sd: float = 0.6,
    share_straight: float = 0.03,
    share_random: float = 0.02,
    n_rings: int = 10,
    na_share: float = 0.02,
    seed: int = 0,
) -> SyntheticFeedback:
    """A bureau of ``n_people`` officers in units of ``unit_size`` (the first of each unit
    leads it). Each officer rates themself, ``n_peers`` unit peers and ``n_cross`` officers
    of other units; leaders rate their unit; a share of members rate their leader.
    Rings of 3-4 officers of one unit rate each other 5 (sometimes 4) on everything.
    """
    rng = np.random.default_rng(seed)
    P = n_people
    unit = np.arange(P) // unit_size
    n_units = unit.max() + 1
    unit_start = unit * unit_size
    size = np.bincount(unit)[unit]
    pos = np.arange(P) - unit_start
    leader = unit_start
    is_leader = pos == 0

    # --- who rates whom
    raters, ratees = [np.arange(P)], [np.arange(P)]  # self
    k = min(n_peers, unit_size - 1)
    offs = np.argsort(rng.random((P, unit_size - 1)), axis=1)[:, :k] + 1
    peer = unit_start[:, None] + (pos[:, None] + offs) % size[:, None]
    raters.append(np.repeat(np.arange(P), k))
    ratees.append(peer.ravel())
    if n_cross:
        cross = rng.integers(0, P, size=(P, n_cross))
        raters.append(np.repeat(np.arange(P), n_cross))
        ratees.append(cross.ravel())
    members = np.flatnonzero(~is_leader)
    raters.append(leader[members])
    ratees.append(members)
    sub = members[rng.random(members.size) < subordinate_share]
    raters.append(sub)
    ratees.append(leader[sub])

    # rings inside distinct units among non-leaders
    ring_of = np.full(P, -1)
    ring_units = rng.choice(n_units, size=min(n_rings, n_units), replace=False)
    ring_sizes = rng.integers(3, 5, size=ring_units.size)
    ring_sizes = np.minimum(ring_sizes, np.bincount(unit)[ring_units] - 1)
    r_members = []
    for ring_id, (u, s) in enumerate(zip(ring_units, ring_sizes, strict=True)):  # a handful of rings
        m = u * unit_size + 1 + rng.choice(np.bincount(unit)[u] - 1, size=s, replace=False)
        ring_of[m] = ring_id
        r_members.append(m)
    ring_pairs = np.zeros((0, 2), dtype=np.int64)
    if r_members:
        a = np.concatenate([np.repeat(m, m.size) for m in r_members])
        b = np.concatenate([np.tile(m, m.size) for m in r_members])
        keep = a != b
        ring_pairs = np.stack([a[keep], b[keep]], axis=1)
        raters.append(ring_pairs[:, 0])
        ratees.append(ring_pairs[:, 1])
    rater = np.concatenate(raters)
    ratee = np.concatenate(ratees)
    key = np.unique(rater * P + ratee)
    rater, ratee = key // P, key % P
    group = np.full(rater.shape, int(RaterGroup.PEER))
    group[rater == ratee] = RaterGroup.SELF
    group[(rater != ratee) & (leader[ratee] == rater)] = RaterGroup.SUPERVISOR
    group[(rater != ratee) & (leader[rater] == ratee)] = RaterGroup.SUBORDINATE

    # --- truth
    comp_of_item = np.arange(n_items) % n_comp
    a_true = rng.normal(0, sd_person, P)
    g_true = rng.normal(0, sd_comp, (P, n_comp))
    d_true = rng.normal(0, sd_item, n_items)
    d_true -= d_true.mean()
    len_unit = rng.normal(0, sd_unit_leniency, n_units)
    len_true = rng.normal(0, sd_leniency, P) + len_unit[unit]
    self_bias = rng.normal(0.3, 0.4, P)
    share_c = np.bincount(comp_of_item, minlength=n_comp) / n_items
    true_overall = mu + a_true + g_true @ share_c
    true_by_comp = mu + a_true[:, None] + g_true + np.bincount(comp_of_item, d_true, n_comp)[None, :] / (
        np.bincount(comp_of_item, minlength=n_comp)[None, :])

    # --- answers: every pair answers every item
    n_pairs = rater.size
    A_r = np.repeat(rater, n_items)
    A_e = np.repeat(ratee, n_items)
    A_g = np.repeat(group, n_items)
    A_i = np.tile(np.arange(n_items), n_pairs)
    is_self = A_g == RaterGroup.SELF
    latent = (mu + a_true[A_e] + g_true[A_e, comp_of_item[A_i]] + d_true[A_i]
              + np.where(is_self, self_bias[A_e], len_true[A_r]) + rng.normal(0, noise_sd, A_r.size))
    value = np.clip(np.rint(latent), 1, 5)

    # careless raters: not leaders, not ring members
    eligible = np.flatnonzero(~is_leader & (ring_of < 0))
    n_s = int(round(share_straight * P))
    n_rnd = int(round(share_random * P))
    chosen = rng.choice(eligible, size=n_s + n_rnd, replace=False)
    straight = np.zeros(P, bool)
    straight[chosen[:n_s]] = True
    random = np.zeros(P, bool)
    random[chosen[n_s:]] = True
    habit = rng.choice([3.0, 4.0, 5.0], size=P, p=[0.2, 0.5, 0.3])
    m = straight[A_r] & ~is_self
    value[m] = habit[A_r[m]]
    m = random[A_r] & ~is_self
    value[m] = rng.integers(1, 6, size=m.sum())
    in_ring = (ring_of[A_r] >= 0) & (ring_of[A_r] == ring_of[A_e]) & ~is_self
    value[in_ring] = np.where(rng.random(in_ring.sum()) < 0.85, 5.0, 4.0)
    na = (rng.random(value.size) < na_share) & ~m
    value[na] = np.nan

    ratings = RatingSet(A_r, A_e, A_i, A_g, value, P, n_items, item_competency=comp_of_item)
    return SyntheticFeedback(ratings, true_overall, true_by_comp, len_true, unit,
                             straight | random, straight, random, ring_pairs, ring_of)


@dataclass(frozen=True)
class SyntheticResidents:
    residents: ResidentSet
    true_rate: np.ndarray  # (n_subjects,) expected satisfaction credit of a link answer


def make_residents(
    n_subjects: int = 2000,
    n_groups: int = 40,
    mean_answers: float = 12.0,
    kappa: float = 30.0,
    window_share: float = 0.3,
    window_bias: float = 0.0,
    empty_share: float = 0.02,
    seed: int = 0,
) -> SyntheticResidents:
    """Subjects (officers) in groups (stations); each subject's true rate is drawn from a
    Beta around its group's rate with strength ``kappa``; each answer's credit is
    Binomial(2, rate)/2 (0, 0.5 or 1 -> levels 1, 2, 3/4). Window answers are drawn from a
    rate raised by ``window_bias`` (answers given in front of the officer).
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n_subjects)
    group_rate = rng.beta(8, 2, n_groups)
    true = rng.beta(kappa * group_rate[group], kappa * (1 - group_rate[group]))
    n = rng.poisson(mean_answers * rng.gamma(2.0, 0.5, n_subjects))
    n[rng.random(n_subjects) < empty_share] = 0
    subject = np.repeat(np.arange(n_subjects), n)
    channel = (rng.random(subject.size) < window_share).astype(np.int64)
    p = np.clip(true[subject] + window_bias * channel, 0, 1)
    credit2 = rng.binomial(2, p)
    level = np.choose(credit2, [np.ones_like(credit2), np.full_like(credit2, 2),
                                np.where(rng.random(subject.size) < 0.5, 3, 4)])
    perm = rng.permutation(subject.size)
    res = ResidentSet(subject[perm], level[perm], channel[perm], n_subjects, group)
    return SyntheticResidents(res, true)
