import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from scoring import FeedbackConfig, RaterGroup, RatingSet, score_feedback
from tests.scoring.synth import make_feedback


@pytest.fixture(scope="module")
def synthetic():
    syn = make_feedback(n_people=600, seed=11)
    return syn, score_feedback(syn.ratings)


def _plain_mean(r: RatingSet):
    ok = (r.group != RaterGroup.SELF) & ~np.isnan(r.value)
    n = np.bincount(r.ratee[ok], minlength=r.n_people)
    return np.bincount(r.ratee[ok], r.value[ok], minlength=r.n_people) / np.maximum(n, 1)


def test_shapes_and_contract_fields(synthetic):
    syn, s = synthetic
    P, C = syn.ratings.n_people, syn.ratings.n_competencies
    for name in ("overall", "leniency", "overall_se", "overall_low", "overall_high", "careless",
                 "overall_unweighted", "weighting_change", "rater_weight"):
        assert getattr(s, name).shape == (P,), name
    assert s.by_group.shape == s.counts.shape == (P, 4)
    assert s.by_competency.shape == s.self_gap.shape == s.blind_spots.shape == (P, C)
    assert s.suspect_pairs.ndim == 2 and s.suspect_pairs.shape[1] == 2
    assert s.suspect_pairs.dtype.kind == "i" and s.careless.dtype == bool
    assert s.counts.dtype.kind == "i"
    assert np.all(s.counts[:, RaterGroup.SELF] == 1)
    assert np.all((s.overall_low <= s.overall) & (s.overall <= s.overall_high))
    assert s.reliability.icc1.shape == (C, 4)


def test_model_beats_plain_mean_on_rank_correlation(synthetic):
    syn, s = synthetic
    rho_model = spearmanr(s.overall, syn.true_overall)[0]
    rho_plain = spearmanr(_plain_mean(syn.ratings), syn.true_overall)[0]
    assert rho_model > 0.93
    assert rho_model > rho_plain + 0.1
    # leniency (individual + unit-wide) is recovered
    assert np.corrcoef(np.nan_to_num(s.leniency), syn.true_leniency)[0, 1] > 0.8


def test_finds_careless_raters(synthetic):
    syn, s = synthetic
    recall = np.sum(s.careless & syn.careless) / syn.careless.sum()
    false_share = np.sum(s.careless & ~syn.careless) / max(s.careless.sum(), 1)
    assert recall >= 0.9 and false_share <= 0.1
    assert np.all(s.careless_straight[syn.straight])
    assert np.all(s.rater_weight[s.careless] < 1)
    # down-weighting is shown: the unweighted model differs, mostly for the affected ratees
    assert np.nanmax(np.abs(s.weighting_change)) > 0.01
    assert np.allclose(s.weighting_change, s.overall - s.overall_unweighted, equal_nan=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_finds_collusion_rings(seed):
    syn = make_feedback(n_people=600, n_rings=12, seed=seed)
    s = score_feedback(syn.ratings)
    truth = {tuple(p) for p in syn.ring_pairs.tolist()}
    found = {tuple(p) for p in s.suspect_pairs.tolist()}
    recall = len(truth & found) / len(truth)
    false_share = len(found - truth) / max(len(found), 1)
    assert recall >= 0.8, recall
    assert false_share <= 0.2, false_share
    # rings are reported in both directions
    both = sum((b, a) in found for a, b in found & truth)
    assert both >= 0.8 * len(found & truth)
    # and the ring members' scores drop relative to the unweighted model
    members = np.unique(syn.ring_pairs)
    assert np.nanmean(s.weighting_change[members]) < -0.05


def test_intervals_cover_truth(synthetic):
    syn, s = synthetic
    cover = np.mean((syn.true_overall >= s.overall_low) & (syn.true_overall <= s.overall_high))
    assert 0.8 <= cover <= 0.98


def test_self_ratings_never_enter_overall():
    syn = make_feedback(n_people=200, n_rings=0, seed=3)
    r = syn.ratings
    s1 = score_feedback(r)
    value = r.value.copy()
    self_rows = r.group == RaterGroup.SELF
    value[self_rows] = 5.0
    s2 = score_feedback(dataclasses.replace(r, value=value))
    np.testing.assert_allclose(s1.overall, s2.overall)
    assert np.all(s2.self_by_competency == 5.0)
    assert not np.allclose(s1.by_group[:, 0], s2.by_group[:, 0])


def _tiny(values_self, values_other):
    """Person 0 rates themself; persons 1..4 rate person 0 and each other on 4 items, 2 comps."""
    rows = []
    for i in range(4):
        rows.append((0, 0, i, RaterGroup.SELF, values_self[i]))
    for rater in range(1, 5):
        for ratee in range(5):
            if ratee == rater:
                continue
            for i in range(4):
                v = values_other[i] if ratee == 0 else 3.0 + 0.5 * ((rater + ratee + i) % 3 - 1)
                rows.append((rater, ratee, i, RaterGroup.PEER, v))
    a = np.array(rows, dtype=float)
    return RatingSet(a[:, 0].astype(int), a[:, 1].astype(int), a[:, 2].astype(int), a[:, 3].astype(int),
                     a[:, 4], 5, 4, item_competency=np.array([0, 0, 1, 1]))


def test_blind_spots_and_hidden_strengths():
    r = _tiny(values_self=[5, 5, 1, 1], values_other=[2, 2, 4, 4])
    s = score_feedback(r, FeedbackConfig(detect_careless=False, detect_collusion=False))
    assert s.blind_spots[0, 0] and not s.blind_spots[0, 1]
    assert s.hidden_strengths[0, 1] and not s.hidden_strengths[0, 0]
    assert s.self_gap[0, 0] > 5 / 3 and s.self_gap[0, 1] < -5 / 3
    # configurable threshold
    s = score_feedback(r, FeedbackConfig(detect_careless=False, detect_collusion=False, gap_threshold=10))
    assert not s.blind_spots.any() and not s.hidden_strengths.any()


def test_nan_where_no_non_self_raters():
    r = RatingSet([0, 1, 1], [0, 2, 2], [0, 0, 1], [0, 1, 1], [4.0, 3.0, np.nan], 3, 2)
    s = score_feedback(r)
    assert np.isnan(s.overall[0]) and np.isnan(s.overall[1]) and np.isfinite(s.overall[2])
    assert np.isnan(s.leniency[0]) and np.isfinite(s.leniency[1])
    assert s.counts.tolist() == [[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]
    s = score_feedback(RatingSet([0], [0], [0], [0], [4.0], 1, 1))
    assert np.isnan(s.overall).all() and s.suspect_pairs.shape == (0, 2)


def test_validation_messages():
    ok = dict(rater=[0, 1], ratee=[1, 0], item=[0, 0], group=[1, 1], value=[3.0, 4.0], n_people=2, n_items=1)
    RatingSet(**ok)
    with pytest.raises(ValueError, match="rater must lie"):
        RatingSet(**{**ok, "rater": [0, 2]})
    with pytest.raises(ValueError, match="length"):
        RatingSet(**{**ok, "item": [0]})
    with pytest.raises(ValueError, match="SELF"):
        RatingSet(**{**ok, "group": [0, 1]})
    with pytest.raises(ValueError, match="integers"):
        RatingSet(**{**ok, "ratee": [0.5, 1]})
    with pytest.raises(ValueError, match="value must lie"):
        score_feedback(RatingSet(**{**ok, "value": [3.0, 7.0]}))
    with pytest.raises(ValueError, match="item_competency"):
        RatingSet(**ok, item_competency=[0, 1])
    with pytest.raises(ValueError, match="relaxation"):
        FeedbackConfig(relaxation=2.5)
    # positional construction with the seven contract fields keeps working
    r = RatingSet([0, 1], [1, 0], [0, 0], [1, 1], [3.0, 4.0], 2, 1)
    assert r.n_competencies == 1


def test_reliability_is_reported(synthetic):
    _, s = synthetic
    rel = s.reliability
    peer = RaterGroup.PEER
    assert np.all((rel.icc1[:, peer] > 0.1) & (rel.icc1[:, peer] < 0.9))
    assert np.all(rel.icc1k[:, peer] > rel.icc1[:, peer])
    assert np.all((rel.alpha[:, peer] > 0.3) & (rel.alpha[:, peer] <= 1))
    assert np.all(np.isnan(rel.icc1[:, RaterGroup.SELF]))


# ------------------------------------------------------------------ property tests

_SMALL = make_feedback(n_people=120, n_rings=2, seed=5)


@settings(max_examples=12, deadline=None)
@given(rater=st.integers(0, 119), shift=st.floats(-0.8, 0.8))
def test_constant_shift_of_one_rater_keeps_ranking(rater, shift):
    """With leniency as a fixed effect the model absorbs any constant a rater adds."""
    r = _SMALL.ratings
    value = np.clip(r.value, 1.9, 4.1)  # room to shift within the scale
    base = dataclasses.replace(r, value=value)
    rows = (r.rater == rater) & (r.group != RaterGroup.SELF)
    shifted = dataclasses.replace(r, value=np.where(rows, value + shift, value))
    cfg = FeedbackConfig(leniency_ridge=0.0, tol=1e-6, max_iter=5000)
    a, b = score_feedback(base, cfg), score_feedback(shifted, cfg)
    # the "average rater" is the answer-weighted mean leniency, which the shift moves:
    # every score moves by the same constant and no difference between ratees changes
    np.testing.assert_allclose(a.overall - np.nanmean(a.overall), b.overall - np.nanmean(b.overall),
                               atol=2e-4)
    ok = np.isfinite(a.overall)
    gaps = np.abs(a.overall[ok][:, None] - a.overall[ok][None, :])
    order_a = np.sign(a.overall[ok][:, None] - a.overall[ok][None, :])
    order_b = np.sign(b.overall[ok][:, None] - b.overall[ok][None, :])
    assert np.all((order_a == order_b) | (gaps < 1e-3))
    np.testing.assert_array_equal(a.careless, b.careless)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_permuting_rows_changes_nothing(seed):
    r = _SMALL.ratings
    perm = np.random.default_rng(seed).permutation(r.n_answers)
    p = RatingSet(r.rater[perm], r.ratee[perm], r.item[perm], r.group[perm], r.value[perm],
                  r.n_people, r.n_items, r.item_competency)
    a, b = score_feedback(r), score_feedback(p)
    np.testing.assert_allclose(a.overall, b.overall, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.by_group, b.by_group, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(a.careless, b.careless)
    np.testing.assert_array_equal(a.suspect_pairs, b.suspect_pairs)
    np.testing.assert_array_equal(a.counts, b.counts)


def test_answers_grouped_by_form_or_not_score_alike():
    """A form's answers one after another (as responses are stored) or scattered: the same scores."""
    r = _SMALL.ratings
    key = (r.rater.astype(np.int64) * r.n_people + r.ratee) * 4 + r.group
    grouped = np.argsort(key, kind="stable")
    scattered = np.random.default_rng(3).permutation(r.n_answers)
    a, b = (score_feedback(RatingSet(r.rater[o], r.ratee[o], r.item[o], r.group[o], r.value[o], r.n_people,
                                     r.n_items, r.item_competency)) for o in (grouped, scattered))
    np.testing.assert_allclose(a.overall, b.overall, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(a.by_group, b.by_group, atol=1e-9, equal_nan=True)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.reliability.n_forms, b.reliability.n_forms)


def test_indexes_kept_narrow_and_keys_formed_in_64_bits():
    """People and items are stored as int32 (groups int8) whatever comes in; with more than 46,341
    people a rater-ratee key overflows 32 bits, so two forms must still stay two forms."""
    P = 100_000
    high, low = P - 1, P - 2
    # two raters with high ids rate the same two ratees; 32-bit keys would wrap and could collide
    rater = np.array([high, high, low, low, high, high, low, low], dtype=np.int64)
    ratee = np.array([5, 5, 5, 5, 6, 6, 6, 6], dtype=np.int64)
    r = RatingSet(rater, ratee, np.tile([0, 1], 4), np.full(8, int(RaterGroup.PEER)),
                  np.array([5, 5, 1, 1, 4, 4, 2, 2], dtype=float), P, 2)
    assert r.rater.dtype == r.ratee.dtype == r.item.dtype == np.int32 and r.group.dtype == np.int8
    s = score_feedback(r, FeedbackConfig(detect_careless=False, detect_collusion=False))
    assert s.counts[5, RaterGroup.PEER] == s.counts[6, RaterGroup.PEER] == 2
    assert s.leniency[high] > s.leniency[low]


def test_default_shift_moves_scores_only_slightly():
    """With the default (ridge) leniency a shift leaks a little into ratee scores: bounded."""
    r = _SMALL.ratings
    value = np.clip(r.value, 1.9, 4.1)
    base = dataclasses.replace(r, value=value)
    rater = int(np.bincount(r.rater).argmax())
    rows = (r.rater == rater) & (r.group != RaterGroup.SELF)
    shifted = dataclasses.replace(r, value=np.where(rows, value + 0.8, value))
    a, b = score_feedback(base), score_feedback(shifted)
    assert np.nanmax(np.abs(a.overall - b.overall)) < 0.1
    assert spearmanr(a.overall, b.overall, nan_policy="omit")[0] > 0.99
