"""Team Contribution Award points: conservation, shares, caps, order-independence."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.team import ClaimSet, PointsRules, largest_remainder, rank_within, score_team

SETTINGS = settings(max_examples=50, deadline=None)

RULES = PointsRules(
    {("刑事", "重大"): 20, ("刑事", "一般"): 10, ("治安", "一般"): 5, ("治安", "较大"): 7.5}
)
KINDS = sorted(RULES.base_points)


def make_claims(**overrides):
    base = dict(
        case_type=["刑事", "刑事", "治安"],
        severity=["重大", "一般", "一般"],
        claim=[0, 0, 0, 1, 1, 2],
        officer=[0, 1, 2, 0, 3, 4],
        unit=[0, 0, 1, 0, 2, 0],
        share=[33.34, 33.33, 33.33, 50, 50, 100],
        n_officers=5,
        n_units=3,
    )
    base.update(overrides)
    return ClaimSet(**base)


# --- hypothesis strategy: a random cycle of approved claims --------------------------------


@st.composite
def claim_sets(draw, max_claims=12):
    n_off = draw(st.integers(1, 8))
    n_un = draw(st.integers(1, 4))
    n_claims = draw(st.integers(0, max_claims))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=n_claims, max_size=n_claims))
    claim, officer, unit, share = [], [], [], []
    for c in range(n_claims):
        offs = draw(st.lists(st.integers(0, n_off - 1), min_size=1, max_size=n_off, unique=True))
        # Random integer basis points adding to exactly 10,000 (= 100.00%).
        cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=len(offs) - 1,
                                    max_size=len(offs) - 1)))
        bps = np.diff([0, *cuts, 10_000])
        for o, bp in zip(offs, bps, strict=True):
            claim.append(c)
            officer.append(o)
            unit.append(draw(st.integers(0, n_un - 1)))
            share.append(bp / 100)
    return ClaimSet(
        case_type=[k[0] for k in kinds], severity=[k[1] for k in kinds],
        claim=claim, officer=officer, unit=unit, share=share,
        n_officers=n_off, n_units=n_un,
    )


def with_cap(cap):
    return PointsRules(RULES.base_points, officer_cap=cap)


# --- largest remainder ----------------------------------------------------------------------


def test_largest_remainder_hand_example():
    assert largest_remainder(100, [1, 1, 1]).tolist() == [34, 33, 33]
    assert largest_remainder(100, [1, 1, 1], tiebreak=[2, 0, 1]).tolist() == [33, 34, 33]
    assert largest_remainder(1000, [1.0, 2.0, 2.0]).tolist() == [200, 400, 400]
    assert largest_remainder(-100, [1, 1, 1]).tolist() == [-34, -33, -33]
    # Two segments in one call.
    assert largest_remainder([10, 7], [1, 2, 3, 1], segments=[0, 0, 1, 1]).tolist() == [3, 7, 5, 2]


def test_largest_remainder_rejects_bad_input():
    with pytest.raises(ValueError, match="no positive weight"):
        largest_remainder(5, [0, 0])
    with pytest.raises(ValueError, match=">= 0"):
        largest_remainder(5, [1, -1])
    with pytest.raises(ValueError, match="finite"):
        largest_remainder(5, [1.0, np.nan])
    assert largest_remainder(0, [0, 0]).tolist() == [0, 0]


def test_largest_remainder_huge_totals_stay_exact():
    out = largest_remainder(10**15, [3, 10**6, 7])
    assert out.sum() == 10**15


@SETTINGS
@given(
    totals=st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=5),
    data=st.data(),
    floats=st.booleans(),
)
def test_largest_remainder_conserves_each_segment(totals, data, floats):
    n_seg = len(totals)
    n = data.draw(st.integers(n_seg, 30))
    seg = np.array(list(range(n_seg)) + data.draw(
        st.lists(st.integers(0, n_seg - 1), min_size=n - n_seg, max_size=n - n_seg)))
    if floats:
        w = np.array(data.draw(st.lists(st.floats(0.01, 1e4), min_size=n, max_size=n)))
    else:
        w = np.array(data.draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n)))
    out = largest_remainder(totals, w, segments=seg)
    assert out.dtype == np.int64
    sums = np.zeros(n_seg, dtype=np.int64)
    np.add.at(sums, seg, out)
    assert sums.tolist() == totals
    wsum = np.bincount(seg, weights=w.astype(float))
    quota = np.asarray(totals, dtype=float)[seg] * w / wsum[seg]
    assert np.all(np.abs(out - quota) < 1 + 1e-6)


# --- rules ----------------------------------------------------------------------------------


def test_rules_round_trip_through_json():
    rules = PointsRules(RULES.base_points, multiplier_step=0.5, multiplier_cap=1.5, officer_cap=30)
    again = PointsRules.from_dict(json.loads(json.dumps(rules.to_dict(), ensure_ascii=False)))
    assert again == rules
    assert again.to_dict()["base_points"]["刑事"]["重大"] == 20.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(base_points={}), "at least one"),
        (dict(base_points={("刑事", "重大"): -1}), ">= 0"),
        (dict(base_points={"刑事": 1}), "pairs"),
        (dict(base_points={("a", "b"): 1}, multiplier_cap=0.5), "multiplier_cap"),
        (dict(base_points={("a", "b"): 1}, officer_cap=-3), "officer_cap"),
    ],
)
def test_rules_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PointsRules(**kwargs)


def test_rules_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown keys"):
        PointsRules.from_dict({"base_points": {"a": {"b": 1}}, "bonus": 3})


# --- claims validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(share=[33.34, 33.33, 33.33, 50, 40, 100]), r"add up to 100 in claims 1"),
        (dict(share=[33.335, 33.33, 33.335, 50, 50, 100]), "two decimals"),
        (dict(officer=[0, 0, 2, 0, 3, 4]), "appears twice in claims 0"),
        (dict(unit=[0, 0, 1, 0, 7, 0]), "unit: index out of range"),
        (dict(claim=[0, 0, 0, 1, 1, 1], share=[33.34, 33.33, 33.33, 50, 25, 25]),
         "without participants: 2"),
    ],
)
def test_claims_reject_bad_input(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_claims(**overrides)


def test_unknown_case_type_is_named():
    claims = make_claims(case_type=["刑事", "经济", "治安"])
    with pytest.raises(ValueError, match=r"\(经济, 一般\)"):
        score_team(claims, RULES)


# --- scoring --------------------------------------------------------------------------------


def test_hand_worked_cycle():
    result = score_team(make_claims(), RULES)
    # 20 points × (1 + 0.25) for two units; 10 × 1.25; 5 × 1 for a single-unit claim.
    assert result.claim_cents.tolist() == [2500, 1250, 500]
    assert result.row_cents.tolist() == [834, 833, 833, 625, 625, 500]
    assert result.officer_cents.tolist() == [1459, 833, 833, 625, 500]
    assert result.unit_cents.tolist() == [834 + 833 + 625 + 500, 833, 625]
    assert result.unit_rank.tolist() == [1, 2, 3]
    assert result.team_units.tolist() == [[0, 1], [0, 2]]
    assert result.team_cents.tolist() == [2500, 1250]
    assert result.claim_team.tolist() == [0, 1, -1]


def test_multiplier_is_capped():
    claims = ClaimSet(case_type=["刑事"], severity=["一般"], claim=[0] * 6, officer=range(6),
                      unit=range(6), share=[20, 20, 20, 20, 10, 10], n_officers=6, n_units=6)
    result = score_team(claims, RULES)
    assert result.claim_multiplier.tolist() == [2.0]  # 1 + 0.25 × 5 = 2.25 → 2.0
    assert result.claim_cents.tolist() == [2000]


def test_cap_cuts_only_the_capped_officer_and_units_follow():
    result = score_team(make_claims(), with_cap(10))
    assert result.officer_cents.tolist() == [1000, 833, 833, 625, 500]
    assert result.officer_capped.tolist() == [True, False, False, False, False]
    # Officer 0 earned 8.34 + 6.25 for unit 0 only; the cut comes off unit 0 alone.
    assert result.unit_cents.tolist() == [1000 + 833 + 500, 833, 625]


def test_points_in_float_units():
    result = score_team(make_claims(), RULES)
    assert result.officer_points[0] == pytest.approx(14.59)
    assert result.unit_order.tolist() == [0, 1, 2]


def test_empty_cycle():
    claims = ClaimSet(case_type=[], severity=[], claim=[], officer=[], unit=[], share=[],
                      n_officers=3, n_units=2)
    result = score_team(claims, RULES)
    assert result.officer_cents.tolist() == [0, 0, 0]
    assert result.unit_rank.tolist() == [1, 1]
    assert result.team_units.shape[0] == 0


@SETTINGS
@given(claims=claim_sets(), cap=st.one_of(st.none(), st.integers(0, 3000)))
def test_conservation_and_shares(claims, cap):
    rules = with_cap(None if cap is None else cap / 100)
    result = score_team(claims, rules)
    # Officers' cents of each claim add up exactly to the claim's cents.
    per_claim = np.zeros(claims.n_claims, dtype=np.int64)
    np.add.at(per_claim, claims.claim, result.row_cents)
    assert np.array_equal(per_claim, result.claim_cents)
    # Each row is within one cent of its exact share.
    exact = result.claim_cents[claims.claim] * claims.share / 100
    assert np.all(np.abs(result.row_cents - exact) < 1)
    # Claim points are base × multiplier, and the multiplier follows the rule.
    assert np.all(result.claim_multiplier <= 2.0)
    assert np.all(np.abs(result.claim_cents - result.claim_base_cents * result.claim_multiplier) <= 0.5)
    # Unit totals are exact sums of officer cents, before and after the cap.
    assert result.unit_cents.sum() == result.officer_cents.sum()
    assert result.unit_cents_uncapped.sum() == result.officer_cents_uncapped.sum()
    assert result.officer_cents_uncapped.sum() == result.claim_cents.sum()
    # Team points are their claims' points.
    cross = result.claim_team >= 0
    assert result.team_cents.sum() == result.claim_cents[cross].sum()
    assert np.all(np.diff(result.team_cents) <= 0)


@SETTINGS
@given(claims=claim_sets(), cap=st.integers(0, 3000))
def test_cap_cuts_only_the_capped_officer(claims, cap):
    free = score_team(claims, RULES)
    capped = score_team(claims, with_cap(cap / 100))
    over = free.officer_cents > cap
    assert np.array_equal(capped.officer_capped, over)
    assert np.all(capped.officer_cents[over] == cap)
    assert np.array_equal(capped.officer_cents[~over], free.officer_cents[~over])
    # A unit loses exactly what its capped officers lost there, nothing more.
    assert np.all(capped.unit_cents <= free.unit_cents)
    assert free.unit_cents.sum() - capped.unit_cents.sum() == (free.officer_cents - capped.officer_cents).sum()


@SETTINGS
@given(claims=claim_sets(), data=st.data())
def test_order_independence(claims, data):
    """Permuting the claims (each keeping its id) and the participant rows changes no officer,
    unit or team total, and no participant's cents."""
    n_claims, n_rows = claims.n_claims, claims.claim.shape[0]
    claim_perm = np.array(data.draw(st.permutations(range(n_claims)))) if n_claims else np.zeros(0, int)
    row_perm = np.array(data.draw(st.permutations(range(n_rows)))) if n_rows else np.zeros(0, int)
    new_claim_of_old = np.empty(n_claims, dtype=np.int64)
    new_claim_of_old[claim_perm] = np.arange(n_claims)
    shuffled = ClaimSet(
        case_type=claims.case_type[claim_perm], severity=claims.severity[claim_perm],
        claim=new_claim_of_old[claims.claim[row_perm]], officer=claims.officer[row_perm],
        unit=claims.unit[row_perm], share=claims.share[row_perm],
        n_officers=claims.n_officers, n_units=claims.n_units, claim_key=claims.claim_key[claim_perm],
    )
    rules = with_cap(12.5)
    a, b = score_team(claims, rules), score_team(shuffled, rules)
    assert np.array_equal(a.officer_cents, b.officer_cents)
    assert np.array_equal(a.officer_cents_uncapped, b.officer_cents_uncapped)
    assert np.array_equal(a.unit_cents, b.unit_cents)
    assert np.array_equal(a.unit_rank, b.unit_rank)
    assert np.array_equal(a.team_units, b.team_units)
    assert np.array_equal(a.team_cents, b.team_cents)
    assert np.array_equal(a.claim_cents[claim_perm], b.claim_cents)
    assert np.array_equal(a.row_cents[row_perm], b.row_cents)


# --- ranks ----------------------------------------------------------------------------------


def test_rank_within_groups_and_ties():
    ranks = rank_within([3, 1, 3, np.nan, 2, 5], groups=[0, 0, 0, 0, 1, 1])
    assert ranks.tolist() == [1, 3, 1, -1, 2, 1]
    assert rank_within([3, 1, 2], higher_is_better=False).tolist() == [3, 1, 2]


@SETTINGS
@given(
    scores=st.lists(st.one_of(st.integers(0, 5).map(float), st.just(np.nan)), max_size=30),
    data=st.data(),
)
def test_rank_invariants(scores, data):
    s = np.array(scores, dtype=float)
    g = np.array(data.draw(st.lists(st.integers(0, 2), min_size=len(s), max_size=len(s))), dtype=int)
    r = rank_within(s, g)
    assert np.array_equal(r == -1, np.isnan(s))
    for grp in np.unique(g):
        m = (g == grp) & ~np.isnan(s)
        if not m.any():
            continue
        sg, rg = s[m], r[m]
        # rank = 1 + number of strictly better in the group; the best is 1.
        better = (sg[None, :] > sg[:, None]).sum(axis=1)
        assert np.array_equal(rg, better + 1)
        assert rg.min() == 1


# ---- pair_affinity (reciprocity guard) ------------------------------------------------------
def test_pair_affinity_finds_the_pair_that_keeps_claiming_together():
    from scoring.team import pair_affinity

    claim, unit = [], []
    c = 0
    for _ in range(8):  # units 0 and 1 together eight times
        claim += [c, c]
        unit += [0, 1]
        c += 1
    for a in range(2, 10):  # a ring of other pairs, once each, plus 0 and 1 with others once
        claim += [c, c]
        unit += [a, 2 + (a - 1) % 8]
        c += 1
    claim += [c, c, c + 1, c + 1]
    unit += [0, 5, 1, 7]
    result = pair_affinity(claim, unit, 10)
    assert result.pairs[0].tolist() == [0, 1]
    assert result.count[0] == 8
    assert result.ratio[0] > 3 and result.z[0] > 3
    # single claims between small units look "surprising" too: callers need a minimum count
    assert (result.count[1:] == 1).all() and (result.z[1:] < result.z[0]).all()
    # every link counted once: the pair counts add up to the pairs in the claims
    assert result.count.sum() == c + 2


def test_pair_affinity_counts_all_pairs_of_a_three_unit_claim_once_and_ignores_repeats():
    from scoring.team import pair_affinity

    result = pair_affinity([0, 0, 0, 0], [2, 0, 1, 0], 3)
    assert sorted(map(tuple, result.pairs.tolist())) == [(0, 1), (0, 2), (1, 2)]
    assert result.count.tolist() == [1, 1, 1]
    empty = pair_affinity([0, 1], [0, 1], 2)  # single-unit claims link nothing
    assert empty.pairs.shape == (0, 2)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=4), min_size=1, max_size=30))
def test_pair_affinity_is_independent_of_claim_order(claims):
    from scoring.team import pair_affinity

    def run(order):
        claim = [i for i, k in enumerate(order) for _ in claims[k]]
        unit = [u for k in order for u in claims[k]]
        r = pair_affinity(claim, unit, 7)
        return sorted(zip(map(tuple, r.pairs.tolist()), r.count.tolist(), np.round(r.z, 9).tolist(),
                          strict=True))

    assert run(list(range(len(claims)))) == run(list(reversed(range(len(claims)))))


# --- issue 14: meaningful share, fair ties ---------------------------------------------------


def test_a_token_unit_does_not_raise_the_multiplier():
    """Two real officers (A 50 %, B 49.99 %) and a token third unit C with 0.01 %."""
    claims = ClaimSet(case_type=["刑事"], severity=["重大"], claim=[0, 0, 0], officer=[0, 1, 2],
                      unit=[0, 1, 2], share=[50, 49.99, 0.01], n_officers=3, n_units=3)
    # Old rule (every unit counts): 20 × (1 + 0.25 × 2) = 30 points.
    old = score_team(claims, PointsRules(RULES.base_points, min_unit_share=0))
    assert old.claim_cents.tolist() == [3000]
    # Default rule: C holds 0.01 % < 10 %, so two units count: 20 × 1.25 = 25 points.
    new = score_team(claims, RULES)
    assert new.claim_units.tolist() == [3]
    assert new.claim_units_counted.tolist() == [2]
    assert new.claim_multiplier.tolist() == [1.25]
    assert new.claim_cents.tolist() == [2500]
    # 2500 × 50 % = 1250, × 49.99 % = 1249.75, × 0.01 % = 0.25 → 1250, 1249 + 1 (largest remainder), 0.
    assert new.row_cents.tolist() == [1250, 1250, 0]
    # The team is A + B; C rides along but is not a team member.
    assert new.team_units.tolist() == [[0, 1]]


def test_three_token_units_no_longer_reach_the_cap():
    """A 50, B 49.97 and three token units of 0.01 % each: ×2.0 (cap) before, ×1.25 now."""
    claims = ClaimSet(case_type=["刑事"], severity=["一般"], claim=[0] * 5, officer=range(5),
                      unit=range(5), share=[50, 49.97, 0.01, 0.01, 0.01], n_officers=5, n_units=5)
    assert score_team(claims, PointsRules(RULES.base_points, min_unit_share=0)).claim_cents.tolist() == [2000]
    assert score_team(claims, RULES).claim_cents.tolist() == [1250]


def test_share_threshold_is_met_by_a_unit_total_and_is_configurable():
    # Unit 1 has two officers at 6 % each = 12 % ≥ 10 %: it counts. At a 15 % threshold it does not.
    claims = ClaimSet(case_type=["治安"], severity=["一般"], claim=[0, 0, 0], officer=[0, 1, 2],
                      unit=[0, 1, 1], share=[88, 6, 6], n_officers=3, n_units=2)
    assert score_team(claims, RULES).claim_multiplier.tolist() == [1.25]
    strict = PointsRules(RULES.base_points, min_unit_share=15)
    assert score_team(claims, strict).claim_multiplier.tolist() == [1.0]
    assert score_team(claims, strict).team_units.shape[0] == 0
    # Exactly at the threshold counts (10.00 % ≥ 10 %).
    edge = ClaimSet(case_type=["治安"], severity=["一般"], claim=[0, 0], officer=[0, 1], unit=[0, 1],
                    share=[90, 10], n_officers=2, n_units=2)
    assert score_team(edge, RULES).claim_multiplier.tolist() == [1.25]


def test_eleven_small_units_count_as_one():
    shares = [9.1] * 10 + [9.0]
    claims = ClaimSet(case_type=["刑事"], severity=["一般"], claim=[0] * 11, officer=range(11),
                      unit=range(11), share=shares, n_officers=11, n_units=11)
    result = score_team(claims, RULES)
    assert result.claim_units_counted.tolist() == [1]
    assert result.claim_cents.tolist() == [1000]


def test_min_unit_share_rules_round_trip_and_legacy_default():
    rules = PointsRules(RULES.base_points, min_unit_share=12.5)
    assert PointsRules.from_dict(rules.to_dict()).min_unit_share == 12.5
    assert PointsRules(RULES.base_points).min_unit_share == 10.0
    assert PointsRules(RULES.base_points).min_unit_share_bp == 1000
    assert PointsRules(RULES.base_points, min_unit_share=12.345).min_unit_share_bp == 1235  # 12.345 % → 12.35 %
    # A cycle frozen before the threshold existed keeps the rule it opened with (every unit counts).
    legacy = {"base_points": {"刑事": {"一般": 10}}, "multiplier_step": 0.25, "multiplier_cap": 2.0}
    assert PointsRules.from_dict(legacy).min_unit_share == 0.0
    with pytest.raises(ValueError, match="min_unit_share"):
        PointsRules(RULES.base_points, min_unit_share=101)


def test_tied_cents_take_turns_by_claim_id():
    """5 points × 1.25 = 6.25 split 50/50: 312.5 each, one officer gets 313. Claim #7 (k = 2):
    the turn starts at place 7 mod 2 = 1, the second officer in badge order; claim #8 at place 0."""
    claims = ClaimSet(case_type=["治安", "治安"], severity=["一般", "一般"], claim=[0, 0, 1, 1],
                      officer=[0, 1, 0, 1], unit=[0, 1, 0, 1], share=[50, 50, 50, 50],
                      n_officers=2, n_units=2, claim_key=[7, 8])
    result = score_team(claims, RULES)
    assert result.claim_cents.tolist() == [625, 625]
    assert result.row_cents.tolist() == [312, 313, 313, 312]
    # Over the two claims each officer got one extra cent: 6.25 each, not 6.26 and 6.24.
    assert result.officer_cents.tolist() == [625, 625]


def test_three_way_tie_rotates_through_every_place():
    """2 cents over three 33.33 % shares and one 0.01 % share, in claims #3, #4, #5: quotas
    0.6666, 0.6666, 0.6666, 0.0002 → floors 0; the two cents go to two of the three tied
    officers, starting at place (claim id mod 4) in badge order."""
    rules = PointsRules({("x", "y"): 0.02}, min_unit_share=0)
    claims = ClaimSet(case_type=["x"] * 3, severity=["y"] * 3, claim=[0] * 4 + [1] * 4 + [2] * 4,
                      officer=[0, 1, 2, 3] * 3, unit=[0] * 12, share=[33.33, 33.33, 33.33, 0.01] * 3,
                      n_officers=4, n_units=1, claim_key=[3, 4, 5])
    result = score_team(claims, rules)
    # k = 4 participants; the 0.01 % one has the smallest remainder and never ties with the others.
    # claim 3: start at place 3 (officer 3, not tied) → among the tied, officers 0, 1 come next.
    # claim 4: start at place 0 → officers 0, 1. claim 5: place 1 → officers 1, 2.
    assert result.row_cents.reshape(3, 4).tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0]]


def test_rotating_tiebreak_keys():
    from scoring.team import rotating_tiebreak

    # Two segments of three rows; turn 1 and 5: places (1, 2, 0) go first, then (2, 0, 1).
    keys = rotating_tiebreak([0, 0, 0, 1, 1, 1], [1, 5])
    assert keys.tolist() == [2, 0, 1, 1, 2, 0]
    # The order argument decides the places, not row position.
    assert rotating_tiebreak([0, 0, 0], 0, order=[30, 10, 20]).tolist() == [2, 0, 1]
    # Bonus rounding: one pool (one segment), turn = the cycle id; 1 cent over 3 equal stations.
    for cycle_id, winner in ((9, 0), (10, 1), (11, 2)):
        out = largest_remainder(100, [1, 1, 1], tiebreak=rotating_tiebreak([0, 0, 0], cycle_id))
        assert out.tolist() == [34 if i == winner else 33 for i in range(3)]


@SETTINGS
@given(data=st.data())
def test_rotating_tiebreak_integer_fast_path_matches_the_general_one(data):
    from scoring.team import rotating_tiebreak

    n = data.draw(st.integers(0, 40))
    seg = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=np.int64)
    order = np.array(data.draw(st.lists(st.integers(-3, 9), min_size=n, max_size=n)), dtype=np.int64)
    turn = np.array(data.draw(st.lists(st.integers(0, 50), min_size=6, max_size=6)), dtype=np.int64)
    fast = rotating_tiebreak(seg, turn, order=order)
    general = rotating_tiebreak(seg, turn, order=order.astype(float))
    assert np.array_equal(fast, general)
    # Within each segment the keys are a permutation of 0 … k−1.
    for g in np.unique(seg):
        assert sorted(fast[seg == g].tolist()) == list(range(int((seg == g).sum())))


# ---- largest_remainder's steps, each on its own (hand-computed) -----------------------------------
def test_floor_quotas_integer_gives_floors_and_exact_remainders():
    from scoring.team import _floor_quotas

    # 100 cents over weights 1:1:2 -> quotas 25, 25, 50 exactly; 7 cents over 1:1:2 -> 1.75, 1.75, 3.5
    base, rem = _floor_quotas(np.array([100, 7]), np.array([1, 1, 2, 1, 1, 2]), np.array([0, 0, 0, 1, 1, 1]),
                              np.array([4, 4, 4, 4, 4, 4]), True)
    assert base.tolist() == [25, 25, 50, 1, 1, 3]
    assert rem.tolist() == [0, 0, 0, 3, 3, 2]  # numerators over the common denominator 4


def test_floor_quotas_float_weights():
    from scoring.team import _floor_quotas

    base, rem = _floor_quotas(np.array([101]), np.array([0.5, 0.25, 0.25]), np.array([0, 0, 0]),
                              np.array([1.0, 1.0, 1.0]), False)
    assert base.tolist() == [50, 25, 25]
    assert rem.tolist() == pytest.approx([0.5, 0.25, 0.25])


def test_leftover_cents_go_to_largest_remainders_then_tiebreak():
    from scoring.team import _leftover_cents

    seg = np.array([0, 0, 0, 1, 1, 1])
    base = np.array([1, 1, 3, 33, 33, 33])
    rem = np.array([3, 3, 2, 1, 1, 1])
    # segment 0 has 1 cent left (largest remainders tie: row 0 before row 1 by position);
    # segment 1 has 1 cent left, all tied: the smallest tie-break key (row 5) takes it
    extra = _leftover_cents(base, rem, seg, np.array([1, 1]), np.array([0, 1, 2, 9, 8, 7]), True)
    assert extra.tolist() == [1, 0, 0, 0, 0, 1]


def test_segment_weight_sums_refuses_a_total_with_no_weight():
    from scoring.team import _segment_weight_sums

    assert _segment_weight_sums(np.array([0, 0, 2]), np.array([0, 0, 1]), np.array([0, 5]), True).tolist() == [1, 2]
    with pytest.raises(ValueError, match="no positive weight"):
        _segment_weight_sums(np.array([0, 0, 2]), np.array([0, 0, 1]), np.array([3, 5]), True)
