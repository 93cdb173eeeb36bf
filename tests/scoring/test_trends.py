"""Incident trends: properties of the seasonal forecast that a planner relies on."""
import numpy as np
import pytest

from scoring.trends import IncidentSeries, TrendConfig, forecast_focus

JAN_FEB_PEAK = np.array([1.8, 1.6, 1.0, 0.9, 0.8, 0.8, 0.85, 0.85, 0.85, 0.9, 0.95, 1.0])


def seasonal_counts(rng, level=40.0, years=5, index=JAN_FEB_PEAK, growth=1.0, size=30.0, n=1):
    index = index / index.mean()
    months = np.arange(12 * years)
    mean = level * index[months % 12] * growth ** (months / 12)
    return rng.poisson(rng.gamma(size, np.broadcast_to(mean, (n, mean.size)) / size)).astype(float)


def test_flat_series_show_no_peaks():
    rng = np.random.default_rng(3)
    flat = rng.poisson(rng.gamma(30.0, np.full((200, 60), 25.0) / 30.0)).astype(float)
    forecast = forecast_focus(IncidentSeries(flat, 1), horizon=12)
    assert forecast.peak.sum(axis=1).astype(bool).mean() <= 0.02
    assert np.all(np.abs(forecast.trend - 1) < 0.3)


def test_a_winter_peak_is_found_in_january_and_february_only():
    rng = np.random.default_rng(5)
    counts = seasonal_counts(rng, n=20)
    forecast = forecast_focus(IncidentSeries(counts, 1), horizon=12)  # history ends in December
    assert list(forecast.months) == list(range(1, 13))
    assert forecast.peak[:, 0].mean() >= 0.9            # January
    assert not forecast.peak[:, 2:].any()                # never March to December
    np.testing.assert_allclose(forecast.seasonal_index.mean(axis=1), 1.0)
    january = forecast.seasonal_index[:, 0]
    assert abs(january.mean() - 1.8 / JAN_FEB_PEAK.mean()) < 0.1 and np.all(np.abs(january - 1.76) < 0.6)


def test_doubling_every_count_doubles_expected():
    rng = np.random.default_rng(11)
    counts = np.vstack([seasonal_counts(rng), rng.poisson(10, (1, 60)).astype(float)])
    one = forecast_focus(IncidentSeries(counts, 4))
    two = forecast_focus(IncidentSeries(2 * counts, 4))
    np.testing.assert_allclose(two.expected, 2 * one.expected, rtol=1e-6)
    np.testing.assert_allclose(two.seasonal_index, one.seasonal_index, rtol=1e-5)


def test_a_growing_series_is_rising_and_its_growth_is_estimated():
    rng = np.random.default_rng(2)
    counts = seasonal_counts(rng, level=30, growth=1.3, n=10)
    forecast = forecast_focus(IncidentSeries(counts, 1))
    assert forecast.rising.all()
    assert np.all(np.abs(forecast.trend - 1.3) < 0.12)


def test_intervals_hold_the_next_counts_about_as_often_as_claimed():
    rng = np.random.default_rng(8)
    counts = seasonal_counts(rng, level=20, years=5, n=400)
    history, future = counts[:, :48], counts[:, 48:51]
    forecast = forecast_focus(IncidentSeries(history, 1), horizon=3)
    held = ((future >= forecast.low) & (future <= forecast.high)).mean()
    assert 0.74 <= held <= 0.9


def test_the_forecast_beats_same_month_last_year():
    rng = np.random.default_rng(9)
    counts = seasonal_counts(rng, level=30, years=5, growth=1.1, n=300)
    history, future = counts[:, :57], counts[:, 57:]
    forecast = forecast_focus(IncidentSeries(history, 1), horizon=3)
    naive = history[:, 45:48]
    assert np.abs(forecast.expected - future).mean() < 0.9 * np.abs(naive - future).mean()


def test_a_thin_station_borrows_the_bureau_shape():
    rng = np.random.default_rng(4)
    thin = seasonal_counts(rng, level=2.0, years=2, n=30)
    alone = forecast_focus(IncidentSeries(thin, 1))
    bureau = np.tile(JAN_FEB_PEAK / JAN_FEB_PEAK.mean(), (30, 1))
    pooled = forecast_focus(IncidentSeries(thin, 1), prior_index=bureau)
    truth = JAN_FEB_PEAK / JAN_FEB_PEAK.mean()
    error_alone = np.abs(np.log(alone.seasonal_index / truth)).mean()
    error_pooled = np.abs(np.log(pooled.seasonal_index / truth)).mean()
    assert error_pooled < error_alone


def test_missing_months_are_left_out_not_read_as_zero():
    rng = np.random.default_rng(6)
    counts = seasonal_counts(rng, level=30)
    gappy = counts.copy()
    gappy[0, 10:14] = np.nan
    full = forecast_focus(IncidentSeries(counts, 1))
    with_gap = forecast_focus(IncidentSeries(gappy, 1))
    assert np.all(np.abs(with_gap.expected / full.expected - 1) < 0.1)


def test_an_empty_type_forecasts_zero_without_peaks():
    rng = np.random.default_rng(1)
    counts = np.vstack([np.zeros(36), seasonal_counts(rng, years=3)[0]])
    forecast = forecast_focus(IncidentSeries(counts, 1))
    assert np.all(forecast.expected[0] == 0) and np.all(forecast.high[0] == 0)
    assert not forecast.peak[0].any() and forecast.peak[1, 0]
    assert forecast_focus(IncidentSeries(np.zeros((2, 24)), 1)).expected.sum() == 0


@pytest.mark.parametrize("bad", [
    lambda: IncidentSeries(np.ones((2, 12)), 13),
    lambda: IncidentSeries(-np.ones((1, 12)), 1),
    lambda: IncidentSeries(np.ones((1, 2, 3)), 1),
    lambda: TrendConfig(peak_ratio=0.9),
    lambda: forecast_focus(IncidentSeries(np.ones((1, 24)), 1), horizon=0),
    lambda: forecast_focus(IncidentSeries(np.ones((1, 24)), 1), prior_index=np.ones((2, 12))),
])
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        bad()
