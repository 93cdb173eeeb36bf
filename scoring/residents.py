"""Resident satisfaction rates with empirical-Bayes (beta-binomial) shrinkage.

Each answer earns a satisfaction credit (很满意 and 满意 1, 基本满意 0.5, 不满意 0 by
default) and a weight (window-QR answers, given in front of the officer, weigh less).
A subject's weighted credit sum ``s`` over weighted count ``m`` is treated as a
quasi-binomial observation: ``s / phi`` successes in ``m / phi`` trials, where ``phi``
(<= 1) is the pooled ratio of the per-answer credit variance to ``p (1 - p)``, because
half credits carry less variance than 0/1 answers. The true rate of a subject in prior
group ``k`` is Beta(kappa * mu_k, kappa * (1 - mu_k)). The spread of true rates within groups
(``1 / (kappa + 1)`` of ``mu (1 - mu)``) is measured by the method of moments around the
groups' means (unbiased in stations of two officers too), with its standard error; the
group rates ``mu_k`` are empirical-Bayes mixes of the group's mean and the overall rate.
The posterior is averaged over the uncertainty of kappa (a log grid weighted by the
confidence distribution of the spread's estimate, see ``_kappa_posterior``), and the
interval also carries the error of the estimated group rate:
with two or three answers per subject, a single best kappa would often claim that true
rates do not differ at all and print intervals far narrower than the truth allows. The
interval is that of a beta with the posterior's mean and variance; for a subject without
answers, whose posterior is the kappa mixture itself, the mixture's own quantiles
(``_prior_interval``).

What the 90 % interval achieves, measured on an independent ordinal generator
(``benchmarks/bench_calibration.py``, 200 draws per condition: a single draw's coverage
runs from 0.4 to 1.0, because all officers of a draw share one estimate of the spread, so
40 draws leave the mean uncertain by +-0.02): mean coverage 0.886-0.935 over answers per
officer 0.5-20, within-station spreads 0.25-1 (logit), 3-200 stations, station spreads
0-1.2 and small stations. Where officers of a station do not differ at all (or by 0.1
logit, about 1.5 points) it is 0.95-0.96: the answers cannot rule out a spread the size
of their own uncertainty, so the interval keeps room for it; it errs on the wide side
there, never on the narrow one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .common import Channel, as_index_array, check_range

__all__ = ["ResidentSet", "ResidentConfig", "ResidentScores", "score_residents"]

_LEVEL_NAMES = {4: "很满意", 3: "满意", 2: "基本满意", 1: "不满意"}
_KAPPA_GRID = 48  # log-spaced points of the kappa posterior
_SPREAD_PRIOR_POWER = 0.5  # without any estimate of the spread: rho ~ rho ** -power (flat in its sd)


@dataclass(frozen=True)
class ResidentSet:
    """Resident answers, one row per answer.

    subject: (n_answers,) int in ``[0, n_subjects)``, the officer or unit rated.
    level: (n_answers,) int, 4 很满意, 3 满意, 2 基本满意, 1 不满意.
    channel: (n_answers,) int, a ``Channel`` (0 link, 1 window QR).
    n_subjects: number of subjects.
    prior_group: (n_subjects,) int >= 0, the group each subject is shrunk toward (e.g. station).
    """

    subject: np.ndarray
    level: np.ndarray
    channel: np.ndarray
    n_subjects: int
    prior_group: np.ndarray

    def __post_init__(self) -> None:
        n_subjects = int(self.n_subjects)
        if n_subjects < 1:
            raise ValueError("n_subjects must be positive")
        subject = as_index_array("subject", self.subject)
        n = subject.shape[0]
        level = as_index_array("level", self.level, n)
        channel = as_index_array("channel", self.channel, n)
        prior_group = as_index_array("prior_group", self.prior_group, n_subjects)
        check_range("subject", subject, 0, n_subjects)
        check_range("level", level, 1, 5)
        check_range("channel", channel, 0, len(Channel))
        if prior_group.size and prior_group.min() < 0:
            raise ValueError("prior_group must be non-negative")
        for name, arr in (("subject", subject), ("level", level), ("channel", channel),
                          ("prior_group", prior_group)):
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "n_subjects", n_subjects)


@dataclass(frozen=True)
class ResidentConfig:
    """Settings of ``score_residents``.

    credit: credit of levels (1 不满意, 2 基本满意, 3 满意, 4 很满意), each in [0, 1].
    channel_weight: weight of an answer per ``Channel`` (link, window QR), each in (0, 1].
    prior_strength: kappa in pseudo-answers; None estimates it (marginal likelihood).
    interval_level: coverage aimed at by ``low``/``high``.
    kappa_bounds: search range for the estimated kappa.
    """

    credit: tuple[float, ...] = (0.0, 0.5, 1.0, 1.0)
    channel_weight: tuple[float, ...] = (1.0, 0.5)
    prior_strength: float | None = None
    interval_level: float = 0.9
    kappa_bounds: tuple[float, float] = (0.5, 1e4)

    def __post_init__(self) -> None:
        c = np.asarray(self.credit, float)
        if c.shape != (4,) or np.any(c < 0) or np.any(c > 1):
            raise ValueError("credit must give 4 values in [0, 1] for levels 1..4")
        w = np.asarray(self.channel_weight, float)
        if w.shape != (len(Channel),) or np.any(w <= 0) or np.any(w > 1):
            raise ValueError("channel_weight must give one weight in (0, 1] per channel")
        if self.prior_strength is not None and not self.prior_strength > 0:
            raise ValueError("prior_strength must be None or positive")
        if not 0 < self.interval_level < 1:
            raise ValueError("interval_level must lie in (0, 1)")
        lo, hi = self.kappa_bounds
        if not 0 < lo < hi:
            raise ValueError("kappa_bounds must satisfy 0 < low < high")


@dataclass(frozen=True)
class ResidentScores:
    """Result of ``score_residents``; rates are satisfaction credit shares in [0, 1].

    rate: (n_subjects,) shrunk rate (posterior mean); never NaN.
    raw_rate: (n_subjects,) weighted mean credit of the subject's answers; NaN without answers.
    n: (n_subjects,) int answers; n_effective: (n_subjects,) channel-weighted answers over
        the dispersion phi: the pseudo-trials the posterior counts.
    low, high: (n_subjects,) equal-tailed ``interval_level`` posterior interval.
    prior_rate: (n_subjects,) the group rate each subject is shrunk toward.
    group_rate: (n_groups,) pooled rate per prior group (the overall rate for empty groups).
    prior_strength: kappa (pseudo-answers); dispersion: phi; overall_rate: pooled rate.
    """

    rate: np.ndarray
    raw_rate: np.ndarray
    n: np.ndarray
    n_effective: np.ndarray
    low: np.ndarray
    high: np.ndarray
    prior_rate: np.ndarray
    group_rate: np.ndarray
    prior_strength: float
    dispersion: float
    overall_rate: float


@dataclass(frozen=True)
class _SpreadFit:
    """The moment estimate of the spread ``rho`` and what its standard error needs at any
    candidate spread ``r``: ``se(r) = sqrt(sum_i c_i V_i(r) + s0 + r s1) / den`` with
    ``V_i(r) = 2 (A_i + r B_i)^2 + kt_i`` and ``(s0, s1) = shared``, what the answers of a
    station do to all of its officers' terms at once (see ``_spread``). The station part may
    lower the variance, never below a quarter of the officers' own."""

    rho: float
    c: np.ndarray  # (n,) wgt_i^2 mq_i^2
    A: np.ndarray  # (n,)
    B: np.ndarray  # (n,)
    kt: np.ndarray  # (n,)
    den: float
    shared: tuple[float, float]  # (s0, s1): the stations' part of the numerator's variance, s0 + r s1

    def se(self, r: np.ndarray) -> np.ndarray:
        r = np.atleast_1d(np.asarray(r, float))
        v = _squared_deviation_var(self.A[None, :], self.B[None, :], self.kt[None, :], r[:, None]) @ self.c
        shared = self.shared[0] + r * self.shared[1]
        return np.asarray(np.sqrt(np.maximum(v + shared, 0.25 * v)) / self.den)


def _squared_deviation_var(A: np.ndarray, B: np.ndarray, kt: np.ndarray, r: np.ndarray | float) -> np.ndarray:
    """Variance of a squared deviation ``d_i`` in units of ``mq^2`` at spread ``r``: twice the
    square of its mean (as for a normal deviation) plus ``kt``, the part of the answers' own
    excess kurtosis that survives averaging. Floored at half the normal value: the floor
    only keeps one officer from taking all the weight where answers are lighter-tailed than
    normal (near-even satisfaction), it is not an estimate."""
    normal = 2 * (A + r * B) ** 2
    return np.asarray(np.maximum(normal + kt, 0.5 * normal))


def _spread(raw: np.ndarray, mu: np.ndarray, n_kish: np.ndarray, m: np.ndarray, kt: np.ndarray, t3: np.ndarray,
            group: np.ndarray, n_groups: int, has: np.ndarray) -> _SpreadFit | None:
    """Share ``rho = 1 / (kappa + 1)`` of ``mu (1 - mu)`` that true rates spread around their
    group's rate, ``rho`` not cut at 0, with its standard error at any spread; None with
    fewer than two subjects to compare.

    Method of moments, which stays unbiased however few answers a subject has (a
    likelihood of fractional quasi-binomial counts does not: with one or two answers it
    takes spread for noise). ``mu`` is the group's weighted mean, to which subject i
    contributes the share ``h_i = m_i / m_g``; with ``D_j = rho + (1 - rho) / n_j`` (true
    spread plus sampling, in units of ``mu (1 - mu)``; n_j = n_kish) the squared deviation
    ``d_i = (raw_i - mu_i)^2`` has expectation ``mq_g (A_i + rho B_i)`` with
    ``A_i + rho B_i = (1 - 2 h_i) D_i + sum_j h_j^2 D_j``. The group's ``mq_g = p (1 - p)``
    is estimated without bias as ``mu (1 - mu) / (1 - sum_j h_j^2 D_j)``: the plug-in
    ``mu (1 - mu)`` falls short by the variance of the group's mean, which in a station of
    two to five officers is a large part of it and hid most of the spread.
    Weighted least squares of ``d - mq A`` on ``mq B`` through the origin, weights
    ``B / V_i`` with ``V_i = 2 (A_i + rho B_i)^2 + kt_i`` the variance of ``d_i`` (in units of
    ``mq^2``): a normal deviation's plus the answers' excess kurtosis ``kt_i``, which makes
    the squared deviation of an officer with one or two answers scatter two to four times
    as much as a normal one; iterated.

    The standard error is model-based, evaluated at each candidate spread ``r``
    (``_kappa_posterior``): ``sqrt(sum_i wgt_i^2 mq_i^2 V_i(r) + shared(r)) / sum_i wgt_i mq_i
    B_i``. The first part takes officers as independent. ``shared`` is what the answers of a
    station do to all of its terms at once: an unlikely answer (a 不满意 at a station near
    0.9) moves the station's mean, so it raises its own officer's squared deviation and, through
    ``mq_g = mu (1 - mu) / ...``, the sampling variance subtracted from every deviation of
    the station; the two largely cancel. To first order in the mean's error ``delta``, the
    station's term moves by ``slope_g delta`` with ``slope_g = c_g (1 - 2 mu_g) sum_i wgt_i
    A_i``, which adds ``slope_g^2 Var(delta) - 2 slope_g Cov(sum_i wgt_i d_i, delta)``; the
    covariance is a sum of the subjects' third cumulants (``t3``, the answers' pooled
    skewness). Without it the standard error claimed 1.2-1.4 times the estimate's real
    scatter at one to three answers per officer (0.72-0.81 of it measured over 150 draws of
    the benchmark); with it 0.85-1.07. It used to be the sandwich one, from the data's own
    scatter: the few large deviations that push the estimate up push that scatter up too
    (correlation 0.6-0.75 over draws), so a draw that found too little spread also claimed
    to know it too well.
    """
    m_g = np.bincount(group, m, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = np.where(has, m / np.where(m_g[group] > 0, m_g[group], 1.0), 0.0)
        inv_n = np.where(has, 1.0 / np.where(has, n_kish, 1.0), 0.0)
    H2 = np.bincount(group, h * h, minlength=n_groups)
    K = np.bincount(group, h * h * inv_n, minlength=n_groups)
    A = (1 - 2 * h) * inv_n + K[group]
    B = (1 - 2 * h) * (1 - inv_n) + H2[group] - K[group]
    use = has & (B > 1e-6)
    if use.sum() < 2:
        return None
    d2 = ((raw - mu) ** 2)[use]
    q0 = mu * (1 - mu)
    A_u, B_u, kt_u = A[use], B[use], kt[use]
    rho = new = 0.05
    for _ in range(50):  # a scalar fixed point; a few steps suffice
        mean_var = K + max(rho, 0.0) * (H2 - K)  # variance of the group's mean, in units of mq
        mq = (q0 / np.maximum(1 - mean_var[group], 0.05))[use]
        wgt = B_u / _squared_deviation_var(A_u, B_u, kt_u, max(rho, 1e-3))
        new = float(np.sum(wgt * (d2 - mq * A_u)) / np.sum(wgt * mq * B_u))
        if abs(new - rho) < 1e-8:
            break
        rho = new
    # what the same answers do to the group's mean, and through it to mq and to every
    # deviation of the group at once
    c_g = 1 / np.maximum(1 - (K + max(rho, 0.0) * (H2 - K)), 0.05)
    mq_all = q0 * c_g[group]
    w_all = np.zeros(raw.shape)
    w_all[use] = wgt
    p_g = np.zeros(n_groups)
    p_g[group] = mu
    slope = c_g * (1 - 2 * p_g) * np.bincount(group, w_all * A, minlength=n_groups)
    t = t3 * mq_all**1.5  # third cumulant of each subject's rate
    h3t = np.bincount(group, h**3 * t, minlength=n_groups)
    cov3 = np.bincount(group, w_all * ((1 - h) ** 2 * h * t + h3t[group] - h**3 * t), minlength=n_groups)
    v0 = np.bincount(group, h * h * mq_all * inv_n, minlength=n_groups)
    v1 = np.bincount(group, h * h * mq_all * (1 - inv_n), minlength=n_groups)
    shared = (float(np.sum(slope**2 * v0 - 2 * slope * cov3)), float(np.sum(slope**2 * v1)))
    return _SpreadFit(rho=new, c=wgt**2 * mq**2, A=A_u, B=B_u, kt=kt_u, den=float(np.sum(wgt * mq * B_u)),
                      shared=shared)


def _answer_moments(subject: np.ndarray, credit: np.ndarray, weight: np.ndarray, group: np.ndarray,
                    n_subjects: int, n_groups: int, phi: float, m: np.ndarray,
                    has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per subject, the kurtosis part ``kt_i`` of the variance of its squared deviation (in
    units of ``mq^2``, ``_spread``): ``gamma phi^2 sum w^4 / m^4``, the fourth cumulant of a
    weighted mean of answers. ``gamma`` is the answers' excess kurtosis, pooled over groups
    of four answers or more, each answer measured from its group's mean (credits of 0, 0.5
    and 1 at a satisfaction rate near 0.9 are far from normal: gamma is often 2-4).
    Also ``t3_i``, the third cumulant of the subject's weighted mean in units of
    ``mq^1.5``: ``skew phi^1.5 sum w^3 / m^3``, the skewness pooled the same way (negative
    where most answers are satisfied). Returns ``(kt (S,), t3 (S,))``.
    """
    gk = group[subject]
    N = np.bincount(gk, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ybar = np.bincount(gk, credit, minlength=n_groups) / np.maximum(N, 1.0)
    dev = credit - ybar[gk]
    s2 = np.bincount(gk, dev**2, minlength=n_groups) / np.maximum(N, 1.0)
    s3 = np.bincount(gk, dev**3, minlength=n_groups)
    s4 = np.bincount(gk, dev**4, minlength=n_groups)
    ok = (N >= 4) & (s2 > 0)
    gamma = float(s4[ok].sum() / np.sum(N[ok] * s2[ok] ** 2)) - 3.0 if ok.any() else 0.0
    gamma = max(gamma, -2.0)  # no distribution is lighter-tailed than a fair coin
    skew = float(s3[ok].sum() / np.sum(N[ok] * s2[ok] ** 1.5)) if ok.any() else 0.0
    m3 = np.bincount(subject, weight**3, minlength=n_subjects)
    m4 = np.bincount(subject, weight**4, minlength=n_subjects)
    with np.errstate(invalid="ignore", divide="ignore"):
        mm = np.where(has, m, 1.0)
        kt = np.where(has, gamma * phi**2 * m4 / mm**4, 0.0)
        t3 = np.where(has, skew * phi**1.5 * m3 / mm**3, 0.0)
    return kt, t3


def _group_rates(raw: np.ndarray, m: np.ndarray, m2: np.ndarray, s_g: np.ndarray, m_g: np.ndarray, group: np.ndarray,
                 overall: float, rho: float, phi: float,
                 has: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Empirical-Bayes group rates: ``(group_rate (G,), mse (G,), wg (G,), tau2)``.

    A group's weighted mean credit has variance ``V_g`` (sampling plus the spread ``rho`` of
    its subjects' true rates); true group rates spread ``tau2`` around the overall rate
    (method of moments over groups). The group rate is the precision-weighted mean of the
    two; ``mse`` is its error variance, which for a group without answers is ``tau2``:
    its rate is the overall rate, and it is no better known than any group's.
    wg: weight of the group's own mean in its rate; tau2: spread of true group rates.
    """
    G = m_g.shape[0]
    oq = overall * (1 - overall)
    # per-subject variance of the raw rate around the group's true rate, times m^2
    var_i = np.where(has, np.maximum(oq * (rho * m * m + phi * (1 - rho) * m2), 0.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        V = np.bincount(group, var_i, minlength=G) / np.where(m_g > 0, m_g, 1.0) ** 2
        ybar = np.where(m_g > 0, s_g / np.where(m_g > 0, m_g, 1.0), overall)
    ok = m_g > 0
    if ok.sum() >= 2:
        tau2 = float(np.sum((ybar[ok] - overall) ** 2 - V[ok]) / ok.sum())
        tau2 = max(tau2, 0.05 * float(np.mean(V[ok])), 1e-6)
    else:
        tau2 = oq
    with np.errstate(invalid="ignore", divide="ignore"):  # no answer anywhere: NaN rates, as the raw ones
        wg = np.where(ok, tau2 / (tau2 + np.where(ok, V, 1.0)), 0.0)
        rate = wg * ybar + (1 - wg) * overall
        mse = np.where(ok, wg * V, tau2)
    return rate, mse, wg, tau2


def _kappa_posterior(fit: _SpreadFit | None, config: "ResidentConfig") -> tuple[np.ndarray, np.ndarray]:
    """Weights of a log grid of kappa within ``kappa_bounds``: ``(kappas (J,), weights (J,))``.

    The weights are the confidence distribution of the spread ``rho = 1 / (kappa + 1)``: the
    estimate is normal around the true spread ``r`` with the standard error it has at ``r``
    (``_SpreadFit.se``), so ``P(spread <= r) = Phi((r - rho_hat) / se(r))``, and each grid
    point takes the share of that distribution nearest to it on the log-kappa scale. The
    share below zero (the answers cannot tell the spread from none) goes to the grid's
    smallest spread, the share beyond its largest to that one. No prior is needed, so none
    decides the width where the answers say little: the former prior, flat in the spread's
    standard deviation, spread the weight that the data put near zero over positive
    spreads, and printed intervals wider than needed both where officers of a station do
    not differ (0.97 coverage of a 90 % interval) and where the answers are few (0.96).
    Without an estimate (fewer than two subjects with answers) the weights are that prior's.

    What no weighting can remove: with about 2.5 answers per officer in 40 stations the
    spread is known to about +-0.02 (in units of ``mu (1 - mu)``), the size of a typical real
    spread (0.025: officers' rates differing by about 5 points). Where officers do not
    differ at all the intervals keep room for such a spread (coverage 0.955 over 200 draws);
    where stations do not differ while their officers do, the draws that happened to show
    little spread print intervals too narrow (0.886 over 200 draws; a single draw runs from
    0.4 to 0.99). A narrower confidence distribution would bring the first below 0.95 and
    the second towards 0.87 (a standard error scaled by 0.75: 0.949 and 0.871).
    """
    lo, hi = np.log(config.kappa_bounds[0]), np.log(config.kappa_bounds[1])
    kappas = np.exp(np.linspace(lo, hi, _KAPPA_GRID))
    r = 1.0 / (kappas + 1.0)
    if fit is None:
        w = r ** (1 - _SPREAD_PRIOR_POWER) * (1 - r)  # flat in the spread's sd, on the log-kappa grid
        return kappas, w / w.sum()
    r_edge = 1.0 / (np.sqrt(kappas[:-1] * kappas[1:]) + 1.0)  # (J-1,) cell edges, spread falling
    se = fit.se(r_edge)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = stats.norm.cdf((r_edge - fit.rho) / se)
    cdf = np.nan_to_num(cdf, nan=0.0)
    cdf = np.minimum.accumulate(cdf)  # a distribution function: never rising as the spread falls
    w = np.concatenate([[1.0], cdf]) - np.concatenate([cdf, [0.0]])
    return kappas, w / w.sum()


def _prior_interval(mu: np.ndarray, var_group: np.ndarray, kappas: np.ndarray, post: np.ndarray,
                    level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``level`` interval per group ``(low (G,), high (G,))`` of the rate of a
    subject without answers: the mixture over the kappa grid of betas with the group's rate
    ``mu`` and variance ``mu (1 - mu) / (kappa + 1) + var_group`` (the spread of true rates
    plus the group rate's own error), solved by bisection on the mixture's distribution
    function. A single beta of the mixture's variance, as for subjects with answers, is
    too wide here: where the spread is barely known the mixture puts much of its weight
    near no spread at all and the rest on wide spreads, so its 90 % lies well inside the
    single beta's (coverage 0.95 instead of 0.93 at half an answer per officer). With
    answers the components draw together and the two agree.
    """
    keep = post > 1e-6
    w = post[keep] / post[keep].sum()
    kap = kappas[keep][:, None]  # (J, 1)
    q = mu * (1 - mu)
    var = q / (kap + 1) + var_group  # (J, G)
    total = np.maximum(q / var - 1.0, 1e-6)
    a, b = mu * total, (1 - mu) * total
    tail = (1 - level) / 2
    out = []
    for target in (tail, 1 - tail):
        # bisection: the mixture's distribution function can rise almost as a step where
        # a component has no spread, which throws Newton's method; 24 halvings reach 1e-7
        lo, hi = np.zeros(mu.shape), np.ones(mu.shape)
        for _ in range(24):
            x = 0.5 * (lo + hi)
            below = w @ special.betainc(a, b, x) < target
            lo, hi = np.where(below, x, lo), np.where(below, hi, x)
        out.append(0.5 * (lo + hi))
    return out[0], out[1]


def _dispersion(subject: np.ndarray, credit: np.ndarray, n_subjects: int) -> float:
    """Pooled ratio phi of the per-answer credit variance to ``p (1 - p)`` (phi <= 1).

    Within subject i, ``E[SS_i] = (n_i - 1) phi p_i q_i`` while the plug-in
    ``n_i pbar_i (1 - pbar_i)`` has expectation ``(n_i - phi) p_i q_i``; a few fixed-point
    steps solve the two for phi without the small-sample bias of the plug-in ratio.
    Unweighted: phi describes answers, not channels.
    """
    n = np.bincount(subject, minlength=n_subjects).astype(float)
    if np.sum(n >= 2) == 0:
        return 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        pbar = np.bincount(subject, credit, minlength=n_subjects) / n
    ss = np.bincount(subject, (credit - pbar[subject]) ** 2, minlength=n_subjects)
    use = n >= 2
    ss_tot = ss[use].sum()
    npq = n[use] * pbar[use] * (1 - pbar[use])
    phi = 1.0
    for _ in range(20):  # converges in a handful of steps; a scalar iteration
        denom = np.sum((n[use] - 1) * npq / (n[use] - phi))
        new = float(np.clip(ss_tot / denom, 0.05, 1.0)) if denom > 0 else 1.0
        if abs(new - phi) < 1e-6:
            break
        phi = new
    return new


def score_residents(residents: ResidentSet, config: ResidentConfig = ResidentConfig()) -> ResidentScores:
    """Shrunk satisfaction rate per subject with ``interval_level`` intervals.

    residents: a ``ResidentSet``. A subject with no answers gets its group's rate and the
    prior interval; an empty group falls back to the overall rate.
    """
    if not isinstance(residents, ResidentSet):
        raise TypeError("residents must be a ResidentSet")
    if not isinstance(config, ResidentConfig):
        raise TypeError("config must be a ResidentConfig")
    S = residents.n_subjects
    credit = np.asarray(config.credit, float)[residents.level - 1]
    w = np.asarray(config.channel_weight, float)[residents.channel]
    n = np.bincount(residents.subject, minlength=S)
    m = np.bincount(residents.subject, w, minlength=S)
    s = np.bincount(residents.subject, w * credit, minlength=S)
    m2 = np.bincount(residents.subject, w * w, minlength=S)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(m > 0, s / m, np.nan)
    group = residents.prior_group
    G = int(group.max()) + 1
    m_tot = m.sum()
    overall = float(s.sum() / m_tot) if m_tot > 0 else 0.5

    phi = _dispersion(residents.subject, credit, S)
    # Two counts of evidence. The weighted mean's sampling variance is p q / n_kish
    # (Kish's effective size over phi), so the spread of true rates is estimated with
    # n_kish. The posterior then counts a window answer as ``channel_weight`` of an answer
    # (discounted evidence), which widens the interval of window-heavy subjects.
    has = m > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        n_kish = np.where(has, m * m / np.where(has, m2, 1.0), 0.0) / phi
    raw0 = np.nan_to_num(raw)
    n_eff = m / phi
    s_eff = raw0 * n_eff
    f_eff = n_eff - s_eff
    m_g = np.bincount(group, m, minlength=G)
    s_g = np.bincount(group, s, minlength=G)
    eps = 1e-4

    # The spread of true rates within groups is measured around the groups' plain means
    # (their errors are exactly accounted for, see ``_spread``); it then sets how far
    # each group's mean is trusted against the overall rate (empirical Bayes, ``_group_rates``).
    with np.errstate(invalid="ignore", divide="ignore"):
        ybar = np.where(m_g > 0, s_g / np.where(m_g > 0, m_g, 1.0), overall)
    kt, t3 = _answer_moments(residents.subject, credit, w, group, S, G, phi, m, has)
    fit = _spread(raw0, np.clip(ybar[group], eps, 1 - eps), n_kish, m, kt, t3, group, G, has)
    rho = fit.rho if fit is not None else 0.0
    if config.prior_strength is not None:
        kappas = np.array([float(config.prior_strength)])
        post = np.ones(1)
    else:
        kappas, post = _kappa_posterior(fit, config)
    # the group rates take the spread's unbiased estimate, not cut at 0, so that the spread
    # of true group rates (moments over groups) stays unbiased too
    group_rate, var_group, _, _ = _group_rates(raw0, m, m2, s_g, m_g, group, overall, rho, phi, has)
    mu = np.clip(group_rate[group], eps, 1 - eps)
    # Every quantity below is averaged over the uncertainty of kappa (a (J,) grid): with
    # few answers per subject the data hardly tell a small spread of true rates from none,
    # and a single best kappa then often runs to the upper bound, claiming far more
    # certainty than the data give.
    kap = kappas[:, None]
    a_post = kap * mu + s_eff  # (J, S)
    b_post = kap * (1 - mu) + f_eff
    tot = a_post + b_post
    mean_j = a_post / tot
    rate = np.where(has, post @ mean_j, mu)  # without answers every kappa gives the group rate
    var_within = post @ (mean_j * (1 - mean_j) / (tot + 1)) + post @ (mean_j - rate) ** 2
    # The group rate is itself estimated; its error passes to a subject in proportion to
    # the shrinkage weight B. The interval is that of a beta with the posterior mean and
    # this total variance (moment matched).
    B2 = post @ (kap / (kap + n_eff)) ** 2
    var_post = var_within + B2 * var_group[group]
    total = np.maximum(rate * (1 - rate) / np.maximum(var_post, 1e-15) - 1.0, 1e-6)
    tail = (1 - config.interval_level) / 2
    low = stats.beta.ppf(tail, rate * total, (1 - rate) * total)
    high = stats.beta.ppf(1 - tail, rate * total, (1 - rate) * total)
    if kappas.size > 1 and not has.all():
        # without answers a subject's posterior is the prior mixture itself; its quantiles
        # are computed exactly, once per group (see ``_prior_interval``)
        need = np.unique(group[~has])
        mu_g = np.clip(group_rate[need], eps, 1 - eps)
        g_low, g_high = np.zeros(G), np.ones(G)
        g_low[need], g_high[need] = _prior_interval(mu_g, var_group[need], kappas, post, config.interval_level)
        low, high = np.where(has, low, g_low[group]), np.where(has, high, g_high[group])
    kappa = float(kappas[0]) if kappas.size == 1 else float(np.exp(post @ np.log(kappas)))
    return ResidentScores(
        rate=rate, raw_rate=raw, n=n.astype(np.int64), n_effective=n_eff, low=low, high=high,
        prior_rate=mu, group_rate=group_rate, prior_strength=kappa, dispersion=phi,
        overall_rate=overall,
    )
