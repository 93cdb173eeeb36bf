"""Collusion rings on cases built independently of ``synth.py`` (``synth_calibration``)."""
import numpy as np
import pytest

from scoring import RaterGroup, RatingSet, score_feedback
from tests.scoring.synth import make_feedback
from tests.scoring.synth_calibration import ring_case


def _recall_precision(case, scores):
    truth = {tuple(p) for p in case.ring_pairs.tolist()}
    found = {tuple(p) for p in scores.suspect_pairs.tolist()}
    return len(truth & found) / len(truth), len(truth & found) / max(len(found), 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rings_among_lenient_raters_are_found(seed):
    # 3 % of officers in rings of 3-4, leniency sd 0.6 plus unit-wide leniency: the
    # pair-by-pair test alone found 0.76, 0.80 and 0.49 of the ring pairs on these draws
    case = ring_case(n_people=1000, seed=seed)
    recall, precision = _recall_precision(case, score_feedback(case.ratings))
    assert recall >= 0.9, recall
    assert precision >= 0.9, precision


def _plant_ring(ratings: RatingSet, members) -> RatingSet:
    """``ratings`` with every ordered pair of ``members`` answering 5 on every item."""
    P, n_items = ratings.n_people, ratings.n_items
    a = np.repeat(members, len(members))
    b = np.tile(members, len(members))
    a, b = a[a != b], b[a != b]
    keep = ~(np.isin(ratings.rater * P + ratings.ratee, a * P + b))  # drop their old forms
    add_r = np.repeat(a, n_items)
    add_e = np.repeat(b, n_items)
    return RatingSet(
        np.concatenate([ratings.rater[keep], add_r]),
        np.concatenate([ratings.ratee[keep], add_e]),
        np.concatenate([ratings.item[keep], np.tile(np.arange(n_items), a.size)]),
        np.concatenate([ratings.group[keep], np.full(add_r.size, int(RaterGroup.PEER))]),
        np.concatenate([ratings.value[keep], np.full(add_r.size, 5.0)]),
        P, n_items, ratings.item_competency,
    )


def test_planted_ring_of_lenient_raters_is_found_whole():
    clean = ring_case(n_people=600, ring_share=0.0, seed=7)
    r = clean.ratings
    # the four most lenient non-leaders of one unit: their ordinary ratings already sit
    # high, so no single pair of the ring stands out much on its own
    given = (r.rater != r.ratee)
    mean_given = np.bincount(r.rater[given], r.value[given], r.n_people) / np.bincount(r.rater[given],
                                                                                        minlength=r.n_people)
    unit = clean.unit
    u = 12
    in_unit = np.flatnonzero(unit == u)[1:]  # the first of a unit leads it
    members = np.sort(in_unit[np.argsort(-mean_given[in_unit])[:4]])
    s = score_feedback(_plant_ring(r, members))
    found = {tuple(p) for p in s.suspect_pairs.tolist()}
    ring = {(int(x), int(y)) for x in members for y in members if x != y}
    assert ring <= found, sorted(ring - found)
    assert len(found - ring) <= 2  # nothing else, bar what the clean data already showed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_false_rings_on_clean_data(seed):
    case = ring_case(n_people=1500, ring_share=0.0, seed=seed)
    s = score_feedback(case.ratings)
    flagged = {tuple(p) for p in s.suspect_pairs.tolist()}
    assert len(flagged) <= 3
    assert _triangles(flagged) == []  # no three officers flagged as rating each other


def _triangles(flagged):
    """Sets of three people who all rate each other as flagged pairs."""
    people = sorted({x for p in flagged for x in p})
    found = []
    for i, a in enumerate(people):
        for b in people[i + 1:]:
            if (a, b) not in flagged or (b, a) not in flagged:
                continue
            for c in people:
                if c > b and {(a, c), (c, a), (b, c), (c, b)} <= flagged:
                    found.append((a, b, c))
    return found


@pytest.mark.parametrize("seed", [1, 2])
def test_careless_raters_make_no_false_rings(seed):
    # random responders and straight-liners scatter their pair means far beyond the noise
    # of ordinary answers; three of them (or a leader with two) must not look like a ring
    syn = make_feedback(n_people=4000, n_peers=3, n_rings=0, share_random=0.1, share_straight=0.02, seed=seed)
    s = score_feedback(syn.ratings)
    assert _triangles({tuple(p) for p in s.suspect_pairs.tolist()}) == []


@pytest.mark.parametrize("unit", [19, 23, 25])
def test_ring_of_three_with_one_clear_member_is_flagged_whole(unit):
    # a ring of three in one unit: the member outsiders rate lowest (about 3 of 5) and the
    # unit's two most lenient raters, who rate everyone high anyway. All six forms inside
    # are 5 on every item and one member clearly gains from them; before, the pair and
    # triangle tests found none or two of the six pairs
    clean = ring_case(n_people=600, ring_share=0.0, seed=7)
    r = clean.ratings
    P = r.n_people
    given = r.rater != r.ratee
    n_given = np.maximum(np.bincount(r.rater[given], minlength=P), 1)
    n_got = np.maximum(np.bincount(r.ratee[given], minlength=P), 1)
    mean_given = np.bincount(r.rater[given], r.value[given], P) / n_given
    mean_got = np.bincount(r.ratee[given], r.value[given], P) / n_got
    in_unit = np.flatnonzero(clean.unit == unit)[1:]  # the first of a unit leads it
    clear = in_unit[np.argmin(mean_got[in_unit])]
    rest = in_unit[in_unit != clear]
    members = np.sort(np.r_[clear, rest[np.argsort(-mean_given[rest])[:2]]])
    s = score_feedback(_plant_ring(r, members))
    found = {tuple(p) for p in s.suspect_pairs.tolist()}
    ring = {(int(x), int(y)) for x in members for y in members if x != y}
    assert ring <= found, sorted(ring - found)
    assert found <= ring, sorted(found - ring)
