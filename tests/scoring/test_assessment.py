"""Main assessment: weights, normalisation, breakdown, missing data, ranks, grades, bonus."""

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scoring.assessment import (
    DIMENSION_NAMES,
    GRADES,
    AssessmentConfig,
    BonusSettings,
    GradeRules,
    IndicatorMatrix,
    IndicatorSpec,
    assign_grades,
    bonus_split,
    consecutive_last,
    consequences,
    dual_track,
    rollup,
    rounded_breakdown,
    score_assessment,
    score_rollup,
    split_bonus,
    weakest,
)

SETTINGS = settings(max_examples=50, deadline=None)
I = IndicatorSpec

UNIT_SPECS = (
    I("case_compliance", "law_enforcement", 60, target=95),
    I("cases", "law_enforcement", 40, direction="lower", method="minmax", split_preventable=True),
    I("key_person_control", "basic_control", 50, method="minmax"),
    I("risk_rectification", "basic_control", 50, target=90),
    I("callback_satisfaction", "public_service", 100, target=90),
    I("discipline", "team_management", 50, target=100),
    I("training", "team_management", 50, target=100),
)
OFFICER_SPECS = (
    I("o_cases", "law_enforcement", 100, level="officer", target=10),
    I("o_360", "team_management", 100, level="officer", method="minmax"),
)
UNIT_CODES = tuple(s.code for s in UNIT_SPECS)


def config(**kw):
    return AssessmentConfig(indicators=UNIT_SPECS + OFFICER_SPECS, **kw)


def unit_matrix(values, category, nonprev=None):
    values = np.asarray(values, dtype=float)
    if nonprev is None:
        nonprev = np.zeros_like(values)
    return IndicatorMatrix(UNIT_CODES, values, category, nonprev)


@st.composite
def unit_inputs(draw, max_subjects=15, allow_missing=True):
    n = draw(st.integers(1, max_subjects))
    vals = np.array(draw(st.lists(st.floats(0, 120), min_size=n * 7, max_size=n * 7))).reshape(n, 7)
    if allow_missing:
        mask = np.array(draw(st.lists(st.booleans(), min_size=n * 7, max_size=n * 7))).reshape(n, 7)
        # About one value in eight missing.
        keep = np.array(draw(st.lists(st.integers(0, 7), min_size=n * 7, max_size=n * 7))).reshape(n, 7)
        vals = np.where(mask & (keep == 0), np.nan, vals)
    cat = np.array(draw(st.lists(st.sampled_from([1, 2, 3]), min_size=n, max_size=n)))
    nonprev = np.array(draw(st.lists(st.integers(0, 20), min_size=n * 7, max_size=n * 7)), float).reshape(n, 7)
    return IndicatorMatrix(UNIT_CODES, vals, cat, nonprev)


# --- weights and config ---------------------------------------------------------------------


def test_default_dimensions_and_nominal_weights():
    cfg = config()
    assert dict(cfg.dimension_weights) == {
        "law_enforcement": 30, "basic_control": 25, "public_service": 20, "team_management": 25}
    assert DIMENSION_NAMES["law_enforcement"] == "执法质量"
    w = cfg.indicator_weights("unit")
    assert w["case_compliance"] == pytest.approx(18.0)  # 30 × 60 %
    assert sum(w.values()) == pytest.approx(100.0)
    # Officers have indicators in two dimensions only: 30 and 25 scaled to 100.
    assert cfg.level_dimension_weights("officer") == pytest.approx(
        {"law_enforcement": 100 * 30 / 55, "team_management": 100 * 25 / 55})


def test_dimension_weights_must_add_to_100():
    with pytest.raises(ValueError, match=r"dimension weights add up to 95, not 100 .*执法质量"):
        config(dimension_weights={"law_enforcement": 25, "basic_control": 25,
                                  "public_service": 20, "team_management": 25})


def test_indicator_weights_within_a_dimension_must_add_to_100():
    bad = (I("a", "law_enforcement", 60, target=1), I("b", "law_enforcement", 30, target=1))
    with pytest.raises(ValueError, match=r"dimension law_enforcement \(执法质量\) at level unit "
                                         r"add up to 90, not 100 \(a 60, b 30\)"):
        AssessmentConfig(indicators=bad)


@SETTINGS
@given(weights=st.lists(st.integers(0, 100), min_size=1, max_size=5))
def test_weight_set_validation_property(weights):
    specs = tuple(I(f"x{i}", "public_service", w, target=1) for i, w in enumerate(weights))
    if sum(weights) == 100:
        cfg = AssessmentConfig(indicators=specs)
        assert sum(cfg.indicator_weights("unit").values()) == pytest.approx(100)
    else:
        with pytest.raises(ValueError, match="public_service"):
            AssessmentConfig(indicators=specs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dimension_weights={"law_enforcement": 100}), "unknown dimension 'basic_control'"),
        (dict(difficulty={1: 0}), "coefficient of category 1"),
        (dict(seasonal={"nope": 2}), "unknown indicator 'nope'"),
        (dict(seasonal={"cases": 0}), "multiplier of cases"),
        (dict(missing="guess"), "missing must be"),
        (dict(min_coverage=1.5), "min_coverage"),
    ],
)
def test_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        config(**kwargs)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: I("x", "public_service", 100), "needs a target > 0"),
        (lambda: I("x", "public_service", 100, method="rank"), "method must be"),
        (lambda: I("x", "public_service", 100, target=1, nonpreventable_weight=2), r"\[0, 1\]"),
        (lambda: GradeRules(shares=(15, 35, 40, 7, 4)), "grade shares add up to 101"),
        (lambda: GradeRules(thresholds=(90, 95, 60, 50)), "strictly decreasing"),
        (lambda: BonusSettings(pool_cents=-1), "pool_cents"),
    ],
)
def test_parts_reject_bad_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_seasonal_multiplier_means_what_it_says():
    # cases: base 30 × 40 / 100 = 12 points; × 1.5 = exactly 18 points of the total. The other
    # 88 points shrink proportionally to the 82 points left: × 82 / 88.
    cfg = config(seasonal={"cases": 1.5})
    w = cfg.indicator_weights("unit")
    assert w["cases"] == pytest.approx(18)
    assert w["case_compliance"] == pytest.approx(18 * 82 / 88)  # 16.77
    assert w["risk_rectification"] == pytest.approx(12.5 * 82 / 88)
    assert sum(w.values()) == pytest.approx(100)
    # An indicator alone in its dimension (every officer-level one) still gets its × 1.5.
    officer = config(seasonal={"o_cases": 1.5}).indicator_weights("officer")
    # o_cases: 30 / 55 × 100 = 54.545 points → × 1.5 = 81.818; o_360 gets the 18.18 left.
    assert officer["o_cases"] == pytest.approx(1.5 * 3000 / 55)
    assert officer["o_360"] == pytest.approx(100 - 1.5 * 3000 / 55)
    with pytest.raises(ValueError, match="leave nothing to shrink"):
        config(seasonal={"o_cases": 2})


def test_a_season_may_add_an_indicator():
    added = I("fraud_publicity", "law_enforcement", 0, target=100, added_points=5)
    cfg = AssessmentConfig(indicators=UNIT_SPECS + OFFICER_SPECS + (added,))
    w = cfg.indicator_weights("unit")
    assert w["fraud_publicity"] == pytest.approx(5)
    assert w["callback_satisfaction"] == pytest.approx(20 * 95 / 100)  # 19
    assert sum(w.values()) == pytest.approx(100)
    # Weights within 执法质量 still add to 100 on the page: 5 of the dimension's 33.5 points.
    assert cfg.weights_within_dimension("unit")["fraud_publicity"] == pytest.approx(100 * 5 / (30 * 0.95 + 5))


def test_config_round_trips_through_json():
    cfg = config(seasonal={"cases": 1.5}, difficulty={1: 1.2, 2: 1.1, 3: 1.0},
                 grades=GradeRules(mode="threshold"), bonus=BonusSettings(floor=55, pool_cents=10**6))
    again = AssessmentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.difficulty[1] == 1.2


# --- normalisation --------------------------------------------------------------------------


def test_hand_worked_subject():
    values = [
        # compliance, cases, control, risk, callback, discipline, training
        [95.0, 4, 80, 45, 90, 100, 50],
        [47.5, 2, 60, 90, 99, 100, 100],
    ]
    nonprev = np.zeros((2, 7))
    nonprev[:, 1] = [0, 4]  # cases: 4 + 0 × 0.5 = 4 vs 2 + 4 × 0.5 = 4 → equal
    r = score_assessment(unit_matrix(values, [1, 1], nonprev), config())
    assert r.raw[:, 1].tolist() == [4.0, 4.0]
    assert r.normalised[0].tolist() == pytest.approx([100, 100, 100, 50, 100, 100, 50])
    assert r.normalised[1].tolist() == pytest.approx([50, 100, 0, 100, 100, 100, 100])
    # 18 + 12 + 12.5 + 6.25 + 20 + 12.5 + 6.25 = 87.5
    assert r.total[0] == pytest.approx(87.5)
    assert r.dimension_score[0].tolist() == pytest.approx([100, 75, 100, 75])
    assert r.adjusted_total[0] == pytest.approx(87.5 * 1.10)
    assert r.rank.tolist() == [1, 2]


def test_target_method_lower_is_better():
    spec = (I("x", "public_service", 100, direction="lower", target=5),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    r = score_assessment(IndicatorMatrix(("x",), [[2.5], [5], [10], [0]], [1, 1, 1, 1]), cfg)
    assert r.normalised[:, 0].tolist() == pytest.approx([100, 100, 50, 100])


def test_minmax_is_within_category_only_when_the_category_is_large_enough():
    spec = (I("x", "public_service", 100, method="minmax", min_group=3),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    m = IndicatorMatrix(("x",), [[10], [20], [30], [1000], [7]], [1, 1, 1, 2, 3])
    r = score_assessment(m, cfg)
    # Category 1 (3 stations) among itself; the lone stations of categories 2 and 3 against
    # the whole pool 7 … 1000.
    assert r.normalised[:, 0].tolist() == pytest.approx([0, 50, 100, 100, 0])
    assert r.pooled[:, 0].tolist() == [False, False, False, True, True]
    assert r.reference_low[3, 0] == 7 and r.reference_high[3, 0] == 1000


def test_one_case_more_costs_a_proportionate_amount_and_a_lone_station_is_not_top():
    # Two stations of a category identical but for 10 vs 11 cases: with min-max inside the
    # category they would get 100 and 0. Compared with the pool 10 … 30 (20 cases wide),
    # one case costs 100 / 20 = 5 points.
    spec = (I("cases", "public_service", 100, direction="lower", method="minmax"),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    m = IndicatorMatrix(("cases",), [[10], [11], [20], [25], [30], [500]], [1, 1, 2, 2, 2, 3])
    r = score_assessment(m, cfg)
    assert r.normalised[:2, 0].tolist() == pytest.approx([100 * 490 / 490, 100 * 489 / 490])
    # The lone 三类 station with 50 × the cases gets 0, not "all equal → 100".
    assert r.normalised[5, 0] == 0
    without_outlier = score_assessment(IndicatorMatrix(("cases",), [[10], [11], [20], [25], [30]],
                                                       [1, 1, 2, 2, 2]), cfg)
    assert without_outlier.normalised[:2, 0].tolist() == pytest.approx([100, 95])


def test_counts_per_10000_residents():
    # 20 cases among 40,000 residents = 5 per 10,000; 30 among 100,000 = 3. Target 3, floor 7 per
    # 10,000: (7 − 5) / (7 − 3) = 50 and 100 — the larger count is the better result.
    spec = (I("cases", "public_service", 100, direction="lower", target=3, floor=7, per_capita=True),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    m = IndicatorMatrix(("cases",), [[20], [30]], [1, 1], population=[40_000, 100_000])
    r = score_assessment(m, cfg)
    assert r.raw[:, 0].tolist() == pytest.approx([5, 3])
    assert r.normalised[:, 0].tolist() == pytest.approx([50, 100])
    with pytest.raises(ValueError, match="without a population"):
        score_assessment(IndicatorMatrix(("cases",), [[20], [30]], [1, 1], population=[np.nan, 1e5]), cfg)
    with pytest.raises(ValueError, match="population is needed"):
        score_assessment(IndicatorMatrix(("cases",), [[20]], [1]), cfg)


def test_targets_per_category_and_per_station_with_a_floor():
    # 案件规范率 target 95 (一类) / 90 (三类), floor 80: linear between floor and target.
    spec = (I("rate", "public_service", 100, target=95, floor=80, category_targets={3: 90}),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    m = IndicatorMatrix(("rate",), [[80], [87.5], [99], [85], [85], [85]], [1, 1, 1, 3, 3, 3],
                        targets=[[np.nan], [np.nan], [np.nan], [np.nan], [np.nan], [100]])
    r = score_assessment(m, cfg)
    # 80 → 0; 87.5 → (87.5 − 80) / 15 = 50; 99 → capped 100; 85 in 三类 → 5 / 10 = 50;
    # station 5 signed a 目标责任书 for 100: 5 / 20 = 25.
    assert r.normalised[:, 0].tolist() == pytest.approx([0, 50, 100, 50, 50, 25])
    assert r.target[:, 0].tolist() == [95, 95, 95, 90, 90, 100]
    assert r.floor[0, 0] == 80
    # Without a floor: 80 % against 95 is 100 × 80 / 95 = 84.21.
    plain = AssessmentConfig(indicators=(I("rate", "public_service", 100, target=95),),
                             dimension_weights={"public_service": 100})
    assert score_assessment(IndicatorMatrix(("rate",), [[80]], [1]), plain).normalised[0, 0] == pytest.approx(
        8000 / 95)
    # Lower-better with a floor: target 10 cases, floor 30 → 20 cases score 50.
    low = AssessmentConfig(indicators=(I("c", "public_service", 100, direction="lower", target=10, floor=30),),
                           dimension_weights={"public_service": 100})
    assert score_assessment(IndicatorMatrix(("c",), [[20], [40], [5]], [1, 1, 1]), low).normalised[:, 0].tolist() \
        == pytest.approx([50, 0, 100])
    with pytest.raises(ValueError, match="floor 96 must lie below the target 95"):
        I("rate", "public_service", 100, target=95, floor=96)


def test_counts_against_the_stations_own_baseline():
    # 刑事案件 lower-better, category target 40 cases, floor 60 (1.5 × the target).
    # A: baseline 20 (its three-year mean), 22 cases this year: target 20, floor 20 × 60/40 = 30,
    #    score (30 − 22) / (30 − 20) = 80 (against the category it would be 100: 22 < 40).
    # B: baseline 80, 70 cases: target 80, floor 120 → 70 < 80 → 100 (category: (60−70)/20 → 0).
    # C: no baseline (new station): category target 40, floor 60; 50 cases → 50.
    # D: baseline 20 but a 目标责任书 of 30: its own target wins, with the category floor 60:
    #    45 cases → (60 − 45) / 30 = 50.
    # One case more costs A 10 points (1/10 of its usual-to-floor span) and B 2.5 (1/40).
    spec = (I("cases", "public_service", 100, direction="lower", target=40, floor=60, baseline=True),)
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"public_service": 100})
    m = IndicatorMatrix(("cases",), [[22], [70], [50], [45]], [1, 1, 1, 1],
                        targets=[[np.nan], [np.nan], [np.nan], [30]],
                        baseline=[[20], [80], [np.nan], [20]])
    r = score_assessment(m, cfg)
    assert r.normalised[:, 0].tolist() == pytest.approx([80, 100, 50, 50])
    assert r.target[:, 0].tolist() == [20, 80, 40, 30]
    assert r.floor[:, 0].tolist() == pytest.approx([30, 120, 60, 60])
    assert r.from_baseline[:, 0].tolist() == [True, True, False, False]
    m23 = IndicatorMatrix(("cases",), [[23]], [1], baseline=[[20]])
    assert score_assessment(m23, cfg).normalised[0, 0] == pytest.approx(70)
    # Without the option the baseline is ignored: the category's target (22 < 40 → 100).
    plain = AssessmentConfig(indicators=(I("cases", "public_service", 100, direction="lower", target=40,
                                           floor=60),), dimension_weights={"public_service": 100})
    assert score_assessment(IndicatorMatrix(("cases",), [[22]], [1], baseline=[[20]]), plain).normalised[0, 0] == 100
    assert AssessmentConfig.from_dict(cfg.to_dict()).indicators[0].baseline is True
    with pytest.raises(ValueError, match="baseline applies to method 'target' only"):
        I("cases", "public_service", 100, method="minmax", baseline=True)
    with pytest.raises(ValueError, match="baseline must be a finite number > 0"):
        IndicatorMatrix(("cases",), [[22]], [1], baseline=[[0]])


def test_split_indicator_needs_its_nonpreventable_counts():
    m = IndicatorMatrix(UNIT_CODES, np.ones((1, 7)), [1])
    with pytest.raises(ValueError, match="nonpreventable counts are needed for split indicators: cases"):
        score_assessment(m, config())


def test_matrix_must_hold_exactly_one_levels_indicators():
    with pytest.raises(ValueError, match="lacks unit-level indicators: training"):
        score_assessment(IndicatorMatrix(UNIT_CODES[:-1], np.ones((1, 6)), [1]), config())
    with pytest.raises(ValueError, match="not in the config: zz"):
        score_assessment(IndicatorMatrix(("zz",), np.ones((1, 1)), [1]), config())
    with pytest.raises(ValueError, match="mixes"):
        score_assessment(IndicatorMatrix(("o_cases", "training"), np.ones((1, 2)), [1]), config())
    with pytest.raises(ValueError, match="no difficulty coefficient: 0"):
        score_assessment(IndicatorMatrix(("o_cases", "o_360"), np.ones((1, 2)), [4]), config())


def test_officer_level():
    m = IndicatorMatrix(("o_360", "o_cases"), [[3.0, 5], [4.0, 10], [5.0, 20]], [2, 2, 2])
    r = score_assessment(m, config())
    assert r.level == "officer"
    assert r.dimensions == ("law_enforcement", "team_management")
    assert r.rank.tolist() == [3, 2, 1]


# --- the breakdown adds up ------------------------------------------------------------------


@SETTINGS
@given(m=unit_inputs(), policy=st.sampled_from(["renormalise", "zero", "exclude"]),
       seasonal=st.floats(0.5, 3))
def test_breakdown_adds_up(m, policy, seasonal):
    r = score_assessment(m, config(missing=policy, seasonal={"cases": seasonal}))
    ok = ~r.excluded
    assert np.all(r.missing == np.isnan(r.raw))
    # raw → normalised: 0–100, missing only where the raw value is.
    norm = r.normalised[ok & ~r.missing.any(axis=1)]
    assert np.all((norm >= 0) & (norm <= 100))
    # normalised → weighted → total.
    c = r.contribution[ok]
    assert np.array_equal(r.total[ok], c.sum(axis=1))
    assert np.allclose(c, np.nan_to_num(r.normalised[ok]) * r.weight[ok] / 100)
    assert np.allclose(r.weight[ok].sum(axis=1), 100)
    assert np.allclose(r.dimension_contribution[ok].sum(axis=1), r.total[ok])
    assert np.allclose(r.dimension_weight[ok].sum(axis=1), 100)
    assert np.all((r.total[ok] >= 0) & (r.total[ok] <= 100 + 1e-9))
    assert np.array_equal(r.adjusted_total, r.total * r.coefficient, equal_nan=True)
    assert np.all(np.isnan(r.total[r.excluded]))
    # Rounded for display, the breakdown still adds up exactly.
    b = rounded_breakdown(r)
    assert np.array_equal(b.contribution.sum(axis=1), b.total)
    assert np.array_equal(b.dimension.sum(axis=1), b.total)
    assert np.all(np.abs(b.contribution[ok] - 100 * c) < 1 + 1e-6)


# --- missing data ---------------------------------------------------------------------------


def full_row():
    return [95.0, 4, 80, 45, 90, 100, 50]


def soft_config(**kw):
    """The unit specs with key_person_control and risk_rectification and callback_satisfaction
    as soft indicators (renormalised when missing)."""
    soft = {"key_person_control", "risk_rectification", "callback_satisfaction"}
    specs = tuple(I(**{**s.to_dict(), "on_missing": "renormalise"}) if s.code in soft else s for s in UNIT_SPECS)
    return AssessmentConfig(indicators=specs + OFFICER_SPECS, **kw)


def test_missing_soft_indicator_is_renormalised_within_its_dimension_and_reported():
    rows = [full_row(), full_row()]
    rows[1][3] = np.nan  # risk_rectification, in basic_control with key_person_control
    r = score_assessment(unit_matrix(rows, [1, 1]), soft_config())
    assert r.missing_pairs.tolist() == [[1, 3]]
    assert not r.hard_missing.any()
    assert r.incomplete.tolist() == [False, True]
    assert r.coverage[1] == pytest.approx(1 - 12.5 / 100)
    assert r.weight[1, 3] == 0
    assert r.weight[1, 2] == pytest.approx(25)  # key_person_control takes the whole dimension
    assert np.isnan(r.normalised[1, 3])  # never an invented zero
    assert r.total[1] == pytest.approx(r.total[0] + 6.25)  # risk scored 50 for subject 0


def test_missing_soft_dimension_moves_its_weight_to_the_others():
    rows = [full_row()]
    rows[0][4] = np.nan  # the only public_service indicator
    r = score_assessment(unit_matrix(rows, [1]), soft_config())
    assert np.isnan(r.dimension_score[0, 2])
    assert r.dimension_weight[0].tolist() == pytest.approx([30 / 0.8, 25 / 0.8, 0, 25 / 0.8])


def test_withholding_a_hard_indicator_never_lifts_a_station():
    # Three stations; C is third only because of its weak 案件规范率 (47.5 of 95 → 50 points).
    spec = (I("rate", "law_enforcement", 100, target=95), I("discipline", "team_management", 100, target=100))
    cfg = AssessmentConfig(indicators=spec, dimension_weights={"law_enforcement": 50, "team_management": 50})
    rows = [[95, 90], [85.5, 100], [47.5, 100]]
    r = score_assessment(IndicatorMatrix(("rate", "discipline"), rows, [1, 1, 1]), cfg)
    # A: 50 + 45 = 95; B: 45 + 50 = 95; C: 25 + 50 = 75.
    assert r.total.tolist() == pytest.approx([95, 95, 75])
    assert r.rank.tolist() == [1, 1, 3]
    rows[2][0] = np.nan  # C withholds it: it counts as 0 with its full weight, not 100 % of the rest.
    w = score_assessment(IndicatorMatrix(("rate", "discipline"), rows, [1, 1, 1]), cfg)
    assert w.total[2] == pytest.approx(50)
    assert w.rank[2] == 3
    assert w.hard_missing[2].tolist() == [True, False]
    assert w.normalised[2, 0] == 0 and w.weight[2, 0] == 50


def test_zero_policy_counts_missing_as_zero_and_exclude_policy_drops_the_subject():
    rows = [full_row(), full_row()]
    rows[1][4] = np.nan
    zero = score_assessment(unit_matrix(rows, [1, 1]), config(missing="zero"))
    assert zero.total[1] == pytest.approx(zero.total[0] - 20)
    assert zero.normalised[1, 4] == 0 and zero.missing[1, 4]
    excl = score_assessment(unit_matrix(rows, [1, 1]), config(missing="exclude"))
    assert excl.excluded.tolist() == [False, True]
    assert excl.rank.tolist() == [1, -1] and excl.grade[1] == -1


def test_min_coverage_excludes_subjects_with_too_little_data():
    rows = np.array([full_row(), full_row()])
    rows[1, :5] = np.nan  # only team_management left: 25 % of the weight
    r = score_assessment(unit_matrix(rows, [1, 1]), config())
    assert r.excluded.tolist() == [False, True]
    assert np.isnan(r.total[1]) and r.rank[1] == -1
    r = score_assessment(unit_matrix(rows, [1, 1]), config(min_coverage=0.2))
    assert not r.excluded[1]


# --- ranks and grades -----------------------------------------------------------------------


@SETTINGS
@given(m=unit_inputs(allow_missing=False))
def test_rank_invariants(m):
    r = score_assessment(m, config())
    for cat in np.unique(m.category):
        sel = m.category == cat
        adj, rk = r.adjusted_total[sel], r.rank[sel]
        assert rk.min() == 1
        # rank = 1 + number with a strictly better total, up to 1e-9 noise
        tot = r.total[sel]
        better = (np.round(tot, 9)[None, :] > np.round(tot, 9)[:, None]).sum(axis=1)
        assert np.array_equal(rk, better + 1)
        # Ranking within a category does not depend on its difficulty coefficient.
        assert np.all(np.diff(adj[np.argsort(-r.total[sel])]) <= 1e-9)


def test_ties_share_the_best_rank_and_grade():
    rows = [full_row()] * 4
    r = score_assessment(unit_matrix(rows, [2, 2, 2, 2]), config())
    assert r.rank.tolist() == [1, 1, 1, 1]
    assert len(set(r.grade.tolist())) == 1


def test_grades_by_share_hand_example():
    scores = np.arange(100, 0, -1, dtype=float)  # 100 distinct scores
    g = assign_grades(scores, np.ones(100, int), GradeRules(mode="share"))
    assert np.bincount(g).tolist() == [15, 35, 40, 7, 3]
    assert g[0] == 0 and g[-1] == GRADES.index("fail")


@SETTINGS
@given(scores=st.lists(st.one_of(st.integers(0, 10).map(float), st.just(np.nan)), max_size=60),
       data=st.data())
def test_grade_invariants(scores, data):
    s = np.array(scores, dtype=float)
    cat = np.array(data.draw(st.lists(st.sampled_from([1, 2]), min_size=len(s), max_size=len(s))), int)
    g = assign_grades(s, cat, GradeRules())
    assert np.array_equal(g == -1, np.isnan(s))
    for c in (1, 2):
        sel = (cat == c) & ~np.isnan(s)
        # A better score never gets a worse grade; equal scores get the same grade.
        order = np.argsort(-s[sel], kind="stable")
        assert np.all(np.diff(g[sel][order]) >= 0)
        for v in np.unique(s[sel]):
            assert len(set(g[sel][s[sel] == v].tolist())) == 1


def test_grades_by_threshold():
    g = assign_grades([95, 90, 85, 60, 55, 10, np.nan], np.ones(7, int), GradeRules(mode="threshold"))
    assert g.tolist() == [0, 0, 1, 2, 3, 4, -1]


def test_grades_threshold_with_quota_pooled_across_categories():
    # A lone station scoring 100 is 优秀 (one seat at least), not 合格.
    assert assign_grades([100.0], [1], GradeRules()).tolist() == [0]
    # Ten stations, a category of two among them: 优秀 needs >= 90 and at most 15 % of the
    # ten (1 seat); 良好 needs >= 80 and at most 35 % (3 seats); quotas pooled.
    scores = [96, 70, 95, 94, 93, 85, 82, 81, 75, 65]
    cats = [3, 3, 1, 1, 1, 1, 1, 1, 1, 1]
    g = assign_grades(scores, cats, GradeRules())
    assert g.tolist() == [0, 2, 1, 1, 1, 2, 2, 2, 2, 2]
    # Six stations between 99.5 and 100: no 基本合格 among them.
    g = assign_grades([100, 99.9, 99.8, 99.7, 99.6, 99.5], np.ones(6, int), GradeRules())
    assert g.tolist() == [0, 1, 1, 2, 2, 2]
    # Below the thresholds: 基本合格 (>= 50) and 不合格, whatever the quotas.
    assert assign_grades([55, 40], [1, 1], GradeRules()).tolist() == [3, 4]
    # Ties at the last seat are treated alike: both 95s are 优秀.
    assert assign_grades([95, 95, 91, 85], np.ones(4, int), GradeRules()).tolist() == [0, 0, 1, 2]


# --- bonus ----------------------------------------------------------------------------------


def test_split_bonus_hand_example():
    # Excess over 60: 30, 10, 0, 0 (NaN) → 3 : 1.
    out = split_bonus(100_001, [90, 70, 50, np.nan], floor=60)
    assert out.tolist() == [75_001, 25_000, 0, 0]


def test_split_bonus_needs_someone_above_the_floor():
    with pytest.raises(ValueError, match="nobody scores above the bonus floor 60"):
        split_bonus(100, [50, 60, np.nan], floor=60)
    assert split_bonus(0, [50], floor=60).tolist() == [0]


@SETTINGS
@given(pool=st.integers(0, 10**11),
       scores=st.lists(st.one_of(st.floats(0, 110), st.just(np.nan)), min_size=1, max_size=40),
       floor=st.floats(0, 80))
@example(pool=514, scores=[10 + 6.103515625e-05, 10 + 5.960464477539063e-08, 10 + 5.960464477539063e-08],
         floor=10.0)  # found on PostgreSQL CI: excesses below 1e-6 point count as none
def test_bonus_pool_is_conserved_to_the_cent(pool, scores, floor):
    s = np.array(scores)
    # The rule splits on the excess rounded to 1e-6 point (a score 6e-8 above the floor is at it).
    excess = np.rint(np.where(np.isnan(s), 0, np.maximum(s - floor, 0)) * 1e6) / 1e6
    if pool > 0 and not np.any(excess > 0):
        with pytest.raises(ValueError):
            split_bonus(pool, s, floor)
        return
    out = split_bonus(pool, s, floor)
    assert out.sum() == pool
    assert np.all(out >= 0)
    assert np.all(out[excess == 0] == 0)
    if excess.sum() > 0:
        assert np.all(np.abs(out - pool * excess / excess.sum()) <= 1 + 1e-6 * pool)


def test_bonus_from_config():
    rows = [full_row(), full_row(), [0.0] * 7]
    cfg = config(bonus=BonusSettings(floor=50, pool_cents=1_000_000))
    r = score_assessment(unit_matrix(rows, [1, 2, 3]), cfg)
    assert r.bonus_cents.sum() == 1_000_000
    assert r.bonus_cents[0] > r.bonus_cents[1]  # same total, 一类 has the higher coefficient


def test_difficulty_multiplies_the_excess_over_the_floor_and_never_pays_below_it():
    cfg = config(bonus=BonusSettings(floor=60, pool_cents=42_000))
    # Same total 80, coefficients 1.10 (一类) and 1.00 (三类): 1.1 × 20 = 22 vs 20 → 1.10 ×
    # the money, not 1.40 × (88 − 60 = 28 vs 20). A 一类 station at 59.96 is below the floor
    # on its real total and gets nothing, although 59.96 × 1.10 = 65.96.
    c = consequences([80, 80, 59.96], [1, 3, 1], cfg)
    assert c.bonus_cents.tolist() == [22_000, 20_000, 0]
    assert c.bonus_weight.tolist() == pytest.approx([22, 20, 0])
    # On the per-officer basis the weight also counts heads: 10 × 20 vs 5 × 10.
    per_head = config(bonus=BonusSettings(floor=60, on="total", pool_cents=25_000, basis="headcount"))
    assert consequences([80, 70], [1, 1], per_head, headcount=[10, 5]).bonus_cents.tolist() == [20_000, 5_000]
    with pytest.raises(ValueError, match="headcount"):
        consequences([80, 70], [1, 1], per_head)


def test_tied_bonus_cents_take_turns_by_cycle():
    # Three stations at 80 over a floor of 60: equal shares of 100 cents, 33 each and one cent
    # left over with three equal remainders. Turn 0 (or a cycle id ≡ 0 mod 3) gives it to the
    # first, turn 1 to the second, turn 5 (5 mod 3 = 2) to the third: over three cycles each
    # station gets the extra cent once, instead of the first station every time.
    assert split_bonus(100, [80, 80, 80], floor=60).tolist() == [34, 33, 33]
    assert split_bonus(100, [80, 80, 80], floor=60, turn=1).tolist() == [33, 34, 33]
    assert split_bonus(100, [80, 80, 80], floor=60, turn=5).tolist() == [33, 33, 34]
    # Two cents over four tied stations, turn 3: places 3 then 0 (wrapping round).
    assert split_bonus(102, [70, 70, 70, 70], floor=60, turn=3).tolist() == [26, 25, 25, 26]
    # A real difference in remainders still decides first: excess 20.5 vs 20 vs 20 over 100
    # cents: 33.88…, 33.05…, 33.05… → 34, 33, 33, whatever the turn.
    assert split_bonus(100, [80.5, 80, 80], floor=60, turn=1).tolist() == [34, 33, 33]
    # From the config, as the app passes the cycle id (turn 7 → place 7 mod 3 = 1).
    cfg = config(bonus=BonusSettings(floor=60, pool_cents=100, turn=7))
    assert consequences([80, 80, 80], [1, 1, 1], cfg).bonus_cents.tolist() == [33, 34, 33]
    assert AssessmentConfig.from_dict(cfg.to_dict()).bonus.turn == 7
    with pytest.raises(ValueError, match="turn"):
        BonusSettings(turn=-1)


def test_nobody_above_the_floor_is_reported_not_an_error():
    rows = [[10.0] * 7, [20.0] * 7]
    cfg = config(bonus=BonusSettings(floor=90, pool_cents=100_000))
    r = score_assessment(unit_matrix(rows, [1, 1]), cfg)
    assert r.bonus_undistributed and r.bonus_cents.tolist() == [0, 0]
    assert bonus_split(100, [50, np.nan], 60)[0].tolist() == [0, 0]


# --- across cycles ---------------------------------------------------------------------------


def test_consecutive_last():
    ranks = np.array([
        [1, 2, 3, 1, 2, np.nan, 1],
        [1, 3, 3, 1, 2, 1, 1],
        [3, 1, 2, 2, 1, 1, np.nan],
        [3, 1, 2, 2, -1, 1, 1],
    ])
    cat = [1, 1, 1, 2, 2, 2, 3]
    flag = consecutive_last(ranks, cat)
    # Unit 0 last in its category in the two latest years; unit 3 last among the two
    # ranked units of category 2 in the latest year; unit 6 alone in its category.
    assert flag.tolist() == [True, False, False, True, False, False, False]
    assert consecutive_last(ranks[:1], cat).tolist() == [False] * 7
    # In years 0 and 1 alone, unit 2 was last twice (tied with unit 1 in year 1) and so
    # was unit 4; unit 1 only once.
    assert consecutive_last(ranks[:2], cat).tolist() == [False, False, True, False, True, False, False]


def test_consecutive_last_uses_each_years_category():
    # Unit 1 moved from 一类 to 二类 in the second year. Year 0: 一类 units 0, 1, 2 ranked 1, 2, 3;
    # 二类 units 3, 4 ranked 1, 2. Year 1: 一类 units 0, 2 ranked 1, 2; 二类 units 1, 3, 4
    # ranked 3, 1, 2.
    ranks = np.array([[1, 2, 3, 1, 2], [1, 3, 2, 1, 2]])
    per_year = np.array([[1, 1, 1, 2, 2], [1, 2, 1, 2, 2]])
    # Unit 2 was last both years; unit 1 was 2nd of 3 in year 0 and is not flagged.
    assert consecutive_last(ranks, per_year).tolist() == [False, False, True, False, False]
    # Today's category for both years would flag unit 1 (tied "last" of 二类 in year 0).
    assert consecutive_last(ranks, per_year[1]).tolist() == [False, True, True, False, False]


def test_consecutive_last_ties_and_missing_coverage():
    # Everybody tied: no last.
    assert consecutive_last([[1, 1], [1, 1]], [1, 1]).tolist() == [False, False]
    # Unit 1 dropped below the data-coverage threshold in year 1 (no rank, +inf): it counts as
    # last, and unit 0, ranked last among the ranked units that year, is not.
    ranks = np.array([[1, 2, 3], [1, np.inf, 2]])
    assert consecutive_last(ranks, [1, 1, 1]).tolist() == [False, False, False]
    ranks = np.array([[1, 3, 2], [1, np.inf, 2]])
    assert consecutive_last(ranks, [1, 1, 1]).tolist() == [False, True, False]


def test_rollup_of_published_totals_counts_a_missing_period_as_zero():
    cfg = config(min_coverage=0.3)
    totals = np.array([[90.0, 80], [np.nan, 70], [np.nan, 60]])
    r = score_rollup(totals, [1, 1], cfg)
    # Unit 0 has only its one good month: (90 + 0 + 0) / 3 = 30, not 90.
    assert r.total.tolist() == pytest.approx([30, 70])
    assert r.consequences.rank.tolist() == [2, 1]
    assert r.coverage.tolist() == pytest.approx([1 / 3, 1])
    # Under the default coverage rule (half the periods) it gets no total at all.
    assert score_rollup(totals, [1, 1], config()).excluded.tolist() == [True, False]
    with pytest.raises(ValueError, match="no difficulty coefficient"):
        score_rollup(totals, [1, 7], cfg)


def test_rollup_methods():
    v = np.array([[80, np.nan, 70], [90, np.nan, np.nan], [np.nan, 60, 50]])
    assert rollup(v, "mean").tolist() == [85, 60, 60]
    assert rollup(v, "last").tolist() == [90, 60, 50]
    assert rollup(v, "weighted", weights=[1, 3, 1]).tolist() == pytest.approx([87.5, 60, 60])
    assert np.isnan(rollup(v, "mean", min_periods=2)[1])
    assert np.isnan(rollup(np.full((3, 1), np.nan), "mean")[0])
    with pytest.raises(ValueError, match="needs weights"):
        rollup(v, "weighted")
    with pytest.raises(ValueError, match="method must be"):
        rollup(v, "median")


def test_dual_track():
    total = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, np.nan], dtype=float)
    top, bottom = dual_track(total, 0.2, 0.1)
    assert np.flatnonzero(top).tolist() == [0, 1]
    assert np.flatnonzero(bottom).tolist() == [9]
    # Ties at the boundary come in together; groups apply shares separately.
    top, bottom = dual_track([5, 5, 4, 3], 0.25, 0.25, groups=[0, 0, 0, 0])
    assert top.tolist() == [True, True, False, False]
    assert bottom.tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="must not exceed 1"):
        dual_track(total, 0.6, 0.5)


def test_weakest():
    s = np.array([[3, 1, np.nan, 1, 5], [np.nan, np.nan, 2, np.nan, np.nan]])
    assert weakest(s, 3).tolist() == [[1, 3, 0], [2, -1, -1]]
    assert weakest(s, 7).shape == (2, 7)


def test_large_run_has_no_warnings():
    rng = np.random.default_rng(7)
    v = rng.uniform(0, 100, (2000, 7))
    v[rng.random(v.shape) < 0.05] = np.nan
    r = score_assessment(unit_matrix(v, rng.integers(1, 4, 2000)), config())
    assert np.sum(r.rank == 1) >= 3


@SETTINGS
@given(m=unit_inputs(), data=st.data())
def test_subject_order_does_not_matter(m, data):
    perm = np.array(data.draw(st.permutations(range(m.n_subjects))))
    shuffled = IndicatorMatrix(m.codes, m.values[perm], m.category[perm], m.nonpreventable[perm])
    cfg = config()
    a, b = score_assessment(m, cfg), score_assessment(shuffled, cfg)
    assert np.allclose(a.total[perm], b.total, equal_nan=True)
    assert np.array_equal(a.rank[perm], b.rank)
    assert np.array_equal(a.grade[perm], b.grade)
    assert np.array_equal(a.missing[perm], b.missing)
    if np.nansum(a.adjusted_total) > 0:
        bonus_a = split_bonus(123_456, a.adjusted_total, floor=0)
        bonus_b = split_bonus(123_456, b.adjusted_total, floor=0)
        assert bonus_a.sum() == bonus_b.sum() == 123_456
        assert np.all(np.abs(bonus_a[perm] - bonus_b) <= 1)  # only tie-breaks may move a cent


# ---- IndicatorMatrix's input checks, each on its own -------------------------------------------
def test_indicator_matrix_checks_alone():
    from scoring.assessment import _checked_codes, _checked_own_levels, _checked_population, _checked_values

    assert _checked_codes(["a", 7]) == ("a", "7")
    with pytest.raises(ValueError, match="duplicate"):
        _checked_codes(["a", "a"])
    assert _checked_values([[1.0, np.nan]], 2).shape == (1, 2)
    with pytest.raises(ValueError, match="1 columns for 2 codes"):
        _checked_values([[1.0]], 2)
    own = _checked_own_levels([[2.0, np.nan]], "targets", "target", (1, 2))
    assert own[0, 0] == 2.0 and np.isnan(own[0, 1])  # NaN = the category's
    with pytest.raises(ValueError, match="targets: a subject's target must be a finite number > 0"):
        _checked_own_levels([[0.0, 1.0]], "targets", "target", (1, 2))
    with pytest.raises(ValueError, match=r"baseline: expected shape \(1, 2\)"):
        _checked_own_levels([[1.0]], "baseline", "baseline", (1, 2))
    assert np.isnan(_checked_population([np.nan, 5000.0], 2)[0])
    with pytest.raises(ValueError, match="population"):
        _checked_population([0.0, 5000.0], 2)
