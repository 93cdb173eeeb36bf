import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pg = pytest.importorskip("pingouin")

from scoring import cronbach_alpha, icc_oneway, icc_oneway_long  # noqa: E402  (after the skips)

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8],
                          [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float)


def test_shrout_fleiss_published_values():
    icc1, icc1k = icc_oneway(SHROUT_FLEISS)
    assert icc1 == pytest.approx(0.166, abs=5e-4)
    assert icc1k == pytest.approx(0.443, abs=5e-4)
    assert cronbach_alpha(SHROUT_FLEISS) == pytest.approx(0.909, abs=5e-4)


@pytest.mark.parametrize("seed", range(4))
def test_matches_pingouin_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n, k = rng.integers(5, 30), rng.integers(2, 7)
    x = rng.normal(size=(n, 1)) * rng.uniform(0, 2) + rng.normal(size=(n, k))
    long = pd.DataFrame({"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
                         "score": x.ravel()})
    with warnings.catch_warnings():  # pingouin's own pandas deprecations are not ours
        warnings.simplefilter("ignore")
        ref = pg.intraclass_corr(long, targets="target", raters="rater", ratings="score").set_index("Type")
        alpha_ref = pg.cronbach_alpha(data=pd.DataFrame(x))[0]
    # pingouin renamed the rows ("ICC1" -> "ICC(1,1)") between versions
    icc1_name = "ICC(1,1)" if "ICC(1,1)" in ref.index else "ICC1"
    icc1k_name = "ICC(1,k)" if "ICC(1,k)" in ref.index else "ICC1k"
    icc1, icc1k = icc_oneway(x)
    assert icc1 == pytest.approx(ref.loc[icc1_name, "ICC"], abs=1e-10)
    assert icc1k == pytest.approx(ref.loc[icc1k_name, "ICC"], abs=1e-10)
    assert cronbach_alpha(x) == pytest.approx(alpha_ref, abs=1e-10)


def test_long_form_blocks_match_separate_tables():
    rng = np.random.default_rng(7)
    tables = [rng.normal(size=(8, 3)) + rng.normal(size=(8, 1)), rng.normal(size=(5, 4))]
    target = np.concatenate([np.repeat(np.arange(t.shape[0]), t.shape[1]) for t in tables])
    block = np.concatenate([np.full(t.size, i) for i, t in enumerate(tables)])
    value = np.concatenate([t.ravel() for t in tables])
    icc1, icc1k, n_t = icc_oneway_long(target, value, block)
    for i, t in enumerate(tables):
        assert (icc1[i], icc1k[i]) == pytest.approx(icc_oneway(t))
    assert list(n_t) == [8, 5]


def test_undefined_cases_are_nan_not_warnings():
    assert np.isnan(icc_oneway(np.ones((4, 3)))[0])
    assert np.isnan(cronbach_alpha(np.ones((4, 1))))
    icc1, _, _ = icc_oneway_long([0, 1], [1.0, 2.0])  # no replication within targets
    assert np.isnan(icc1[0])


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        icc_oneway(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        cronbach_alpha(np.array([[1.0, np.nan], [2.0, 3.0]]))
