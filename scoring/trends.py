"""Incident trends: seasonal forecasts of monthly counts and the peaks behind a seasonal focus.

Model, per incident type (all types are fitted together, the design is shared):

    log E[y_t] = c + b * (t - t_mid) / 12 + s[month(t)]        Var[y_t] = phi * E[y_t]

a quasi-Poisson regression with a trend ``b`` (log growth per year) and twelve month effects
``s``. Counts of incidents are overdispersed (phi > 1: a holiday, a gang, a campaign), so the
dispersion ``phi`` is estimated from the Pearson residuals instead of assumed to be 1.

Series are short (3-5 years, sometimes less), so the month effects carry a Gaussian prior around
a prior shape (flat by default; for one station, the bureau's shape of the same type, which is how
a thin station borrows the seasonal pattern of the whole bureau) and the trend a Gaussian prior
around 0. The fit is the posterior mode (penalised IRLS, Newton steps); the Laplace approximation
gives the uncertainty of the estimates. A prediction interval is that of a negative binomial with
the mean and variance of next month's count: the noise of the count (phi * mean) plus the
uncertainty of the mean itself, so it includes the uncertainty of the estimates.

The penalty is scaled by the estimated dispersion (a prior on the effects, not on the counts), so
the fit is equivariant: doubling every count doubles ``expected`` exactly.

A month is a *peak* when its seasonal index is at least ``peak_ratio`` and the data support it:
the type is seasonal at all (Wald test of the month effects, level ``seasonality_level``) and the
month's index is above 1 with ``confidence`` for the twelve months together (Bonferroni).
A flat series has no peaks; a rise is ``trend`` > 1 with the same confidence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["IncidentSeries", "TrendConfig", "TrendForecast", "forecast_focus"]

_N_PARAMS = 14  # intercept, trend, 12 month effects


@dataclass(frozen=True)
class IncidentSeries:
    """Monthly incident counts.

    counts: (n_types, n_months) float, counts per incident type and month, oldest first; NaN marks
        a month without data (it is left out of the fit, not read as zero).
    first_month: 1-12, the calendar month of column 0.
    """

    counts: np.ndarray
    first_month: int

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=float)
        if counts.ndim == 1:
            counts = counts[None, :]
        if counts.ndim != 2:
            raise ValueError("counts must be (n_types, n_months)")
        finite = counts[np.isfinite(counts)]
        if finite.size and finite.min() < 0:
            raise ValueError("counts must be non-negative")
        first = int(self.first_month)
        if not 1 <= first <= 12:
            raise ValueError("first_month must be 1-12")
        object.__setattr__(self, "counts", counts)
        object.__setattr__(self, "first_month", first)

    @property
    def n_types(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_months(self) -> int:
        return int(self.counts.shape[1])


@dataclass(frozen=True)
class TrendConfig:
    """Settings of ``forecast_focus``.

    peak_ratio: a seasonal index at least this marks a peak month (1.3 = 30 % above average).
    confidence: posterior probability needed before a peak or a rise is claimed.
    interval: coverage of ``low``/``high`` (0.8 = the 10th and 90th percentiles).
    seasonality_level: a type is seasonal when the test of its month effects against a flat year
        has a p-value below this (0.01: at most one flat type in a hundred is called seasonal).
    season_sd: prior SD of a month's log effect around the prior shape (0.5: a month may well be
        1.6x or 0.6x its average, rarely 3x).
    trend_sd: prior SD of the log growth per year (0.5).
    """

    peak_ratio: float = 1.3
    confidence: float = 0.95
    interval: float = 0.8
    seasonality_level: float = 0.01
    season_sd: float = 0.5
    trend_sd: float = 0.5

    def __post_init__(self) -> None:
        if not self.peak_ratio > 1:
            raise ValueError("peak_ratio must be > 1")
        for name in ("confidence", "interval", "seasonality_level"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1)")
        if not (self.season_sd > 0 and self.trend_sd > 0):
            raise ValueError("prior SDs must be positive")


@dataclass(frozen=True)
class TrendForecast:
    """What ``forecast_focus`` returns.

    months: (horizon,) int 1-12, calendar month of each forecast column.
    expected: (n_types, horizon) expected count in each month after the last column.
    low, high: (n_types, horizon) prediction interval (``config.interval``) of the count that
        will be observed.
    seasonal_index: (n_types, 12) multiplicative month effects, mean 1, column 0 = January.
    seasonal_low: (n_types, 12) lower bound of each index (``confidence`` for the twelve together).
    trend: (n_types,) growth factor per year (1.10 = +10 % a year).
    rising: (n_types,) bool, the growth is above 1 with ``config.confidence``.
    peak: (n_types, horizon) bool, a forecast month that is a supported seasonal high.
    dispersion: (n_types,) the estimated phi (1 = Poisson).
    seasonal_p: (n_types,) p-value of the test that the type has no seasonality at all.
    peak_months: (n_types, 12) bool, calendar months (January first) that are supported peaks.
    """

    months: np.ndarray
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    seasonal_index: np.ndarray
    seasonal_low: np.ndarray
    trend: np.ndarray
    rising: np.ndarray
    peak: np.ndarray
    dispersion: np.ndarray
    seasonal_p: np.ndarray
    peak_months: np.ndarray


def _design(months: np.ndarray, t: np.ndarray, t_mid: float) -> np.ndarray:
    """(len(t), 14): intercept, years from the middle of the history, month dummies (Jan first)."""
    x = np.zeros((t.size, _N_PARAMS))
    x[:, 0] = 1.0
    x[:, 1] = (t - t_mid) / 12.0
    x[np.arange(t.size), 2 + months - 1] = 1.0
    return x


def _weighted_gram(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(n_types, p, p): X' diag(w_t) X for every row w_t of w (n_types, n_months)."""
    gram: np.ndarray = (x.T[None, :, :] * w[:, None, :]) @ x
    return gram


def _count_interval(mean: np.ndarray, variance: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of a count with this mean and variance (negative binomial; Poisson when
    the variance does not exceed the mean), ``tail`` left out on each side."""
    over = variance > mean * (1 + 1e-9)
    size = np.where(over, mean ** 2 / np.where(over, variance - mean, 1.0), 1.0)
    prob = np.where(over, size / (size + mean), 0.5)
    low = np.where(over, stats.nbinom.ppf(tail, size, prob), stats.poisson.ppf(tail, mean))
    high = np.where(over, stats.nbinom.ppf(1 - tail, size, prob), stats.poisson.ppf(1 - tail, mean))
    zero = mean <= 0
    return np.where(zero, 0.0, low), np.where(zero, 0.0, high)


def _fit(y: np.ndarray, mask: np.ndarray, x: np.ndarray, prior_mean: np.ndarray, prior_prec: np.ndarray,
         iterations: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Penalised quasi-Poisson IRLS for every type at once.

    y, mask: (n_types, n_months); x: (n_months, p); prior_mean: (n_types, p); prior_prec: (p,).
    Returns theta (n_types, p), covariance (n_types, p, p), phi (n_types,) and the residual
    degrees of freedom (n_types,) behind phi.
    """
    n_types, n_months = y.shape
    used = mask.sum(axis=1)
    level = np.where(used > 0, (y * mask).sum(axis=1) / np.maximum(used, 1), 0.0)
    theta = prior_mean.copy()
    theta[:, 0] = np.log(np.maximum(level, 1e-3))
    phi = np.ones(n_types)
    eye = np.diag(prior_prec)
    for outer in range(3):
        for _ in range(iterations):
            eta = np.clip(theta @ x.T, -30, 30)
            mu = np.exp(eta)
            w = mu * mask / phi[:, None]
            grad = ((y - mu) * mask / phi[:, None]) @ x - (theta - prior_mean) * prior_prec
            info = _weighted_gram(w, x) + eye
            step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
            # Halve steps that would jump too far in the log scale (zero-heavy series).
            scale = np.minimum(1.0, 5.0 / np.maximum(np.abs(step).max(axis=1), 1e-12))
            theta = theta + step * scale[:, None]
            if np.abs(step).max() < 1e-8:
                break
        mu = np.exp(np.clip(theta @ x.T, -30, 30))
        fisher = _weighted_gram(mu * mask, x)
        # Effective degrees of freedom of the penalised fit: trace of (F/phi + P)^-1 F/phi.
        info = fisher / phi[:, None, None] + eye
        edf = np.einsum("tpp->t", np.linalg.solve(info, fisher / phi[:, None, None]))
        pearson = (((y - mu) ** 2) / np.maximum(mu, 1e-12) * mask).sum(axis=1)
        dof = np.maximum(used - edf, 1.0)
        new_phi = np.where(used > 2, pearson / dof, 1.0)
        residual_dof = dof
        new_phi = np.maximum(new_phi, 1e-6)
        if outer and np.allclose(new_phi, phi, rtol=1e-6):
            phi = new_phi
            break
        phi = new_phi
    mu = np.exp(np.clip(theta @ x.T, -30, 30))
    info = _weighted_gram(mu * mask / phi[:, None], x) + eye
    covariance = np.linalg.inv(info)
    return theta, covariance, phi, residual_dof


def _fill_inactive(part: TrendForecast | None, active: np.ndarray, n_types: int, months: np.ndarray,
                   horizon: int) -> TrendForecast:
    """The forecast of every type: ``part`` for the active ones, zero and flat for the others."""
    def spread(name: str, fill: float | bool, shape: tuple[int, ...]) -> np.ndarray:
        out = np.full((n_types,) + shape, fill, dtype=bool if isinstance(fill, bool) else float)
        if part is not None:
            out[active] = getattr(part, name)
        return out

    h, m = (horizon,), (12,)
    return TrendForecast(months=months.astype(int), expected=spread("expected", 0.0, h), low=spread("low", 0.0, h),
                         high=spread("high", 0.0, h), seasonal_index=spread("seasonal_index", 1.0, m),
                         seasonal_low=spread("seasonal_low", 1.0, m), trend=spread("trend", 1.0, ()),
                         rising=spread("rising", False, ()), peak=spread("peak", False, h),
                         dispersion=spread("dispersion", 1.0, ()), seasonal_p=spread("seasonal_p", 1.0, ()),
                         peak_months=spread("peak_months", False, m))


def forecast_focus(series: IncidentSeries, horizon: int = 3, config: TrendConfig = TrendConfig(),
                   *, prior_index: np.ndarray | None = None) -> TrendForecast:
    """Forecast the next ``horizon`` months of every type and mark its seasonal peaks.

    prior_index: optional (n_types, 12) seasonal index (January first) that the month effects
        are shrunk toward, e.g. the bureau's shape when ``series`` is one station's thin record.
    """
    horizon = int(horizon)
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    counts = series.counts
    n_types, n_months = counts.shape
    mask = np.isfinite(counts).astype(float)
    y = np.where(mask > 0, counts, 0.0)

    t = np.arange(n_months + horizon, dtype=float)
    months = (series.first_month - 1 + t.astype(int)) % 12 + 1
    t_mid = (n_months - 1) / 2.0
    x_all = _design(months, t, t_mid)
    x, x_future = x_all[:n_months], x_all[n_months:]

    prior_mean = np.zeros((n_types, _N_PARAMS))
    if prior_index is not None:
        prior = np.asarray(prior_index, dtype=float)
        if prior.shape != (n_types, 12) or not np.all(prior > 0):
            raise ValueError("prior_index must be (n_types, 12) and positive")
        log_prior = np.log(prior)
        prior_mean[:, 2:] = log_prior - log_prior.mean(axis=1, keepdims=True)
    prior_prec = np.full(_N_PARAMS, 1.0 / config.season_sd ** 2)
    prior_prec[0] = 1e-8
    prior_prec[1] = 1.0 / config.trend_sd ** 2

    # A type never seen (all zeros) has no rate to estimate: it forecasts 0, flat, no peak.
    active = (y * mask).sum(axis=1) > 0
    if not active.all():
        n_all = n_types
        part = forecast_focus(IncidentSeries(np.where(mask > 0, counts, np.nan)[active], series.first_month),
                              horizon, config, prior_index=None if prior_index is None
                              else np.asarray(prior_index, dtype=float)[active]) if active.any() else None
        return _fill_inactive(part, active, n_all, months[n_months:], horizon)

    theta, covariance, phi, dof = _fit(y, mask, x, prior_mean, prior_prec)

    # Expected counts: the mean over the parameter uncertainty, exp(eta + x'Cx / 2).
    eta = theta @ x_future.T
    var_eta = np.einsum("hp,tpq,hq->th", x_future, covariance, x_future)
    expected = np.exp(eta + var_eta / 2.0)

    # The observed count mixes next month's noise (variance phi * mean, at least Poisson) with the
    # uncertainty of the mean (lognormal, variance of eta = var_eta). A negative binomial with the
    # mixture's mean and variance gives the interval, exactly discrete and without sampling.
    noise = np.maximum(phi, 1.0)[:, None]
    variance = noise * expected + expected ** 2 * np.expm1(var_eta)
    tail = (1.0 - config.interval) / 2.0
    low, high = _count_interval(expected, variance, tail)

    effects = theta[:, 2:]
    index = np.exp(effects) / np.exp(effects).mean(axis=1, keepdims=True)
    # Lower bound of each index by the delta method on log index_m = s_m - log mean(exp s):
    # its gradient in s is e_m - softmax(s). Twelve months are tested at once, so each bound is
    # taken at the Bonferroni level: a flat series must not light up one month in twelve by chance.
    # phi is estimated, so the bounds and the test use t and F with its degrees of freedom.
    z_month = stats.t.ppf(1.0 - (1.0 - config.confidence) / 12.0, dof)[:, None]
    gradient = np.eye(12)[None, :, :] - (index / 12.0)[:, None, :]
    cov_s = covariance[:, 2:, 2:]
    log_sd = np.sqrt(np.maximum(np.einsum("tmi,tij,tmj->tm", gradient, cov_s, gradient), 0.0))
    seasonal_low = index * np.exp(-z_month * log_sd)
    # And the type must be seasonal at all: Wald test of the 11 month contrasts against flat.
    centre = np.eye(12) - 1.0 / 12.0
    contrast = effects @ centre
    cov_c = centre @ cov_s @ centre
    wald = np.einsum("ti,tij,tj->t", contrast, np.linalg.pinv(cov_c, hermitian=True), contrast)
    seasonal_p = stats.f.sf(wald / 11.0, 11, dof)
    supported = (index >= config.peak_ratio) & (seasonal_low > 1.0) & (seasonal_p < config.seasonality_level)[:, None]
    future_months = months[n_months:]
    peak = supported[:, future_months - 1]

    trend = np.exp(theta[:, 1])
    trend_sd = np.sqrt(covariance[:, 1, 1])
    z_conf = stats.t.ppf(config.confidence, dof)
    rising = theta[:, 1] - z_conf * trend_sd > 0

    return TrendForecast(months=future_months.astype(int), expected=expected, low=low, high=high,
                         seasonal_index=index, seasonal_low=seasonal_low, trend=trend, rising=rising,
                         peak=peak, dispersion=phi, seasonal_p=seasonal_p, peak_months=supported)
