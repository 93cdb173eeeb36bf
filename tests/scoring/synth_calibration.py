"""Calibration cases built independently of ``synth.py``, for the coverage and ring benchmarks.

Residents: an ordinal (cumulative-logit) answer model, so that 基本满意 arises from the same
latent satisfaction as the other levels rather than from a binomial of half credits; the
truth is the expected credit of a link answer. 360 feedback: officers rate unit peers, their
leader and a few officers elsewhere; collusion rings of 3-4 members of one unit rate each
other 5 on every item and everyone else as their own leniency dictates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring import RaterGroup, RatingSet, ResidentSet

_CUTS = np.array([2.6, 1.4, -0.7])  # P(level >= 2, 3, 4) = sigmoid(latent + cut)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def expected_credit(latent, credit=(0.0, 0.5, 1.0, 1.0)):
    """Expected credit of one answer at ``latent`` under the cumulative-logit answer model."""
    ge = _sigmoid(np.asarray(latent, float)[..., None] + _CUTS)  # P(level >= 2, 3, 4)
    p = np.concatenate([1 - ge[..., :1], ge[..., :-1] - ge[..., 1:], ge[..., -1:]], axis=-1)
    return p @ np.asarray(credit, float)


@dataclass(frozen=True)
class ResidentCase:
    residents: ResidentSet
    true_rate: np.ndarray  # (n_subjects,) expected credit of an answer
    station: np.ndarray  # (n_subjects,)


def resident_case(n_stations: int = 40, officers: tuple = (6, 30), mean_answers: float = 2.5,
                  station_sd: float = 0.6, within_sd: float = 0.5, window_share: float = 0.2,
                  seed: int = 0) -> ResidentCase:
    """Officers in stations; an officer's latent satisfaction is the station's plus a normal
    deviation of ``within_sd`` (logit scale); answers per officer are Poisson(mean_answers)
    (window-QR answers a share ``window_share``, same truth); each answer's level follows
    the cumulative-logit model at the officer's latent.
    """
    rng = np.random.default_rng(seed)
    size = rng.integers(officers[0], officers[1] + 1, n_stations)
    station = np.repeat(np.arange(n_stations), size)
    S = station.size
    station_latent = rng.normal(0.4, station_sd, n_stations)
    latent = station_latent[station] + rng.normal(0.0, within_sd, S)
    n = rng.poisson(mean_answers, S)
    subject = np.repeat(np.arange(S), n)
    ge = _sigmoid(latent[subject][:, None] + _CUTS)
    u = rng.random(subject.size)[:, None]
    level = 1 + (u < ge).sum(axis=1)
    channel = (rng.random(subject.size) < window_share).astype(np.int64)
    res = ResidentSet(subject, level, channel, S, station)
    return ResidentCase(res, expected_credit(latent), station)


@dataclass(frozen=True)
class RingCase:
    ratings: RatingSet
    ring_pairs: np.ndarray  # (k, 2) (rater, ratee) pairs inside rings, both directions
    ring_of: np.ndarray  # (P,) ring id or -1
    unit: np.ndarray  # (P,)


def ring_case(n_people: int = 2000, unit_size: tuple = (8, 16), n_peers: int = 3, n_other: int = 1,
              n_items: int = 10, ring_share: float = 0.03, leniency_sd: float = 0.6,
              unit_leniency_sd: float = 0.5, noise_sd: float = 0.8, seed: int = 0) -> RingCase:
    """A bureau of units of ``unit_size`` officers (the first leads). Each officer rates
    ``n_peers`` unit peers and ``n_other`` officers of other units; the leader rates the unit
    and every member rates the leader. A share ``ring_share`` of officers sit in rings of
    3-4 non-leaders of one unit who rate each other 5 on every item (every ring pair is
    rated, in both directions); all other answers come from
    ``round(3.3 + person + item + leniency + unit leniency + noise)`` clipped to 1..5.
    """
    rng = np.random.default_rng(seed)
    sizes = []
    total = 0
    while total < n_people:
        s = int(rng.integers(unit_size[0], unit_size[1] + 1))
        s = min(s, n_people - total) if n_people - total >= unit_size[0] else n_people - total
        sizes.append(s)
        total += s
    sizes = np.array(sizes)
    P = n_people
    unit = np.repeat(np.arange(sizes.size), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(P) - start[unit]
    leader = start[unit]
    usize = sizes[unit]

    pairs = []
    k = np.minimum(n_peers, usize - 1)
    kmax = int(k.max())
    offs = np.argsort(rng.random((P, int(sizes.max()) - 1)), axis=1)[:, :kmax] + 1
    peer = start[unit][:, None] + (pos[:, None] + offs % usize[:, None]) % usize[:, None]
    ok = (np.arange(kmax)[None, :] < k[:, None]) & (peer != np.arange(P)[:, None])
    pairs.append(np.stack([np.repeat(np.arange(P), kmax)[ok.ravel()], peer.ravel()[ok.ravel()]], 1))
    other = rng.integers(0, P, (P, n_other))
    pairs.append(np.stack([np.repeat(np.arange(P), n_other), other.ravel()], 1))
    member = pos > 0
    pairs.append(np.stack([leader[member], np.flatnonzero(member)], 1))
    pairs.append(np.stack([np.flatnonzero(member), leader[member]], 1))

    # rings: non-leaders of one unit, at most one ring per unit
    n_ring_people = int(round(ring_share * P))
    ring_of = np.full(P, -1)
    ring_list = []
    units = rng.permutation(sizes.size)
    placed = 0
    for u in units:  # one ring per chosen unit; a few hundred rings at most
        if placed >= n_ring_people:
            break
        r = int(rng.integers(3, 5))
        if sizes[u] - 1 < r:
            continue
        m = start[u] + 1 + rng.choice(sizes[u] - 1, r, replace=False)
        ring_of[m] = len(ring_list)
        ring_list.append(m)
        placed += r
    if ring_list:
        a = np.concatenate([np.repeat(m, m.size) for m in ring_list])
        b = np.concatenate([np.tile(m, m.size) for m in ring_list])
        ring_pairs = np.stack([a[a != b], b[a != b]], 1)
        pairs.append(ring_pairs)
    else:
        ring_pairs = np.zeros((0, 2), np.int64)
    pr = np.concatenate(pairs)
    pr = pr[pr[:, 0] != pr[:, 1]]
    key = np.unique(pr[:, 0] * P + pr[:, 1])
    rater, ratee = key // P, key % P
    group = np.full(rater.size, int(RaterGroup.PEER))
    group[leader[ratee] == rater] = RaterGroup.SUPERVISOR
    group[(leader[rater] == ratee) & (rater != leader[rater])] = RaterGroup.SUBORDINATE

    person = rng.normal(0, 0.45, P)
    item_d = rng.normal(0, 0.25, n_items)
    len_p = rng.normal(0, leniency_sd, P) + rng.normal(0, unit_leniency_sd, sizes.size)[unit]
    A_r = np.repeat(rater, n_items)
    A_e = np.repeat(ratee, n_items)
    A_i = np.tile(np.arange(n_items), rater.size)
    A_g = np.repeat(group, n_items)
    latent = 3.3 + person[A_e] + item_d[A_i] + len_p[A_r] + rng.normal(0, noise_sd, A_r.size)
    value = np.clip(np.rint(latent), 1, 5)
    in_ring = (ring_of[A_r] >= 0) & (ring_of[A_r] == ring_of[A_e])
    value[in_ring] = 5.0
    comp = np.arange(n_items) % 4
    ratings = RatingSet(A_r, A_e, A_i, A_g, value, P, n_items, item_competency=comp)
    return RingCase(ratings, ring_pairs, ring_of, unit)
