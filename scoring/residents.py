"""Resident satisfaction rates with empirical-Bayes (beta-binomial) shrinkage.

Each answer earns a satisfaction credit (很满意 and 满意 1, 基本满意 0.5, 不满意 0 by
default) and a weight (window-QR answers, given in front of the officer, weigh less).
A subject's weighted credit sum ``s`` over weighted count ``m`` is treated as a
quasi-binomial observation: ``s / phi`` successes in ``m / phi`` trials, where ``phi``
(<= 1) is the pooled ratio of the per-answer credit variance to ``p (1 - p)``, because
half credits carry less variance than 0/1 answers. The true rate of a subject in prior
group ``k`` is Beta(kappa * mu_k, kappa * (1 - mu_k)); ``mu_k`` is the group's pooled rate
and ``kappa`` is chosen by maximising the beta-binomial marginal likelihood. The posterior
mean is the shrunk ``rate`` and its quantiles give ``low`` and ``high``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from .common import Channel, as_index_array, check_range

__all__ = ["ResidentSet", "ResidentConfig", "ResidentScores", "score_residents"]

_LEVEL_NAMES = {4: "很满意", 3: "满意", 2: "基本满意", 1: "不满意"}


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


def _neg_marginal(log_kappa: float, s: np.ndarray, f: np.ndarray, mu: float) -> float:
    """Negative beta-binomial log marginal likelihood (up to a constant) at kappa = e^x."""
    kappa = np.exp(log_kappa)
    a, b = kappa * mu, kappa * (1 - mu)
    return float(-np.sum(special.betaln(a + s, b + f) - special.betaln(a, b)))


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

    # the pooled overall rate steadies small groups: one subject's worth of pseudo-answers
    m_g = np.bincount(group, m, minlength=G)
    s_g = np.bincount(group, s, minlength=G)
    pseudo = max(float(np.median(m[m > 0])) if np.any(m > 0) else 1.0, 1.0)
    group_rate = (s_g + pseudo * overall) / (m_g + pseudo)
    eps = 1e-4
    mu = np.clip(group_rate[group], eps, 1 - eps)

    phi = _dispersion(residents.subject, credit, S)
    # Two counts of evidence. The weighted mean's sampling variance is phi p q / n_kish
    # (Kish's effective size), so kappa, a property of how true rates spread, is estimated
    # with n_kish. The posterior then counts a window answer as ``channel_weight`` of an
    # answer (discounted evidence), which widens the interval of window-heavy subjects.
    with np.errstate(invalid="ignore", divide="ignore"):
        n_kish = np.where(m2 > 0, m * m / m2, 0.0) / phi
    raw0 = np.nan_to_num(raw)
    n_eff = m / phi
    s_eff = raw0 * n_eff
    f_eff = n_eff - s_eff

    if config.prior_strength is not None:
        kappa = float(config.prior_strength)
    else:
        has = m > 0
        lo, hi = np.log(config.kappa_bounds[0]), np.log(config.kappa_bounds[1])
        if has.sum() >= 2:
            res = optimize.minimize_scalar(_neg_marginal, bounds=(lo, hi), method="bounded",
                                           args=(raw0[has] * n_kish[has], (1 - raw0[has]) * n_kish[has], mu[has]),
                                           options={"xatol": 1e-4})
            kappa = float(np.exp(res.x))
            # the group rates were fitted to the same subjects, which hides part of the
            # spread of true rates; restore it as REML does for a variance (n / (n - groups))
            n_has = float(has.sum())
            n_grp = float(np.unique(group[has]).size)
            if n_has > n_grp:
                kappa = float(np.clip((kappa + 1.0) * (n_has - n_grp) / n_has - 1.0, *config.kappa_bounds))
        else:
            kappa = float(np.exp(hi))
    a_post = kappa * mu + s_eff
    b_post = kappa * (1 - mu) + f_eff
    rate = a_post / (a_post + b_post)
    # The group rate is itself estimated; its sampling variance passes to a subject in
    # proportion to the shrinkage weight B. The interval is that of a beta with the
    # posterior mean and the widened variance (moment matched).
    var_p = mu * (1 - mu) * (1.0 / (kappa + 1) + phi / np.maximum(m, 1e-12) * kappa / (kappa + 1))
    m_g_sq = np.bincount(group, np.where(m > 0, m**2 * var_p, 0.0), minlength=G)
    var_group = m_g_sq / np.maximum(m_g + pseudo, 1e-12) ** 2
    B = kappa / (kappa + n_eff)
    var_post = rate * (1 - rate) / (a_post + b_post + 1) + B**2 * var_group[group]
    total = np.maximum(rate * (1 - rate) / np.maximum(var_post, 1e-15) - 1.0, 1e-6)
    tail = (1 - config.interval_level) / 2
    low = stats.beta.ppf(tail, rate * total, (1 - rate) * total)
    high = stats.beta.ppf(1 - tail, rate * total, (1 - rate) * total)
    return ResidentScores(
        rate=rate, raw_rate=raw, n=n.astype(np.int64), n_effective=n_eff, low=low, high=high,
        prior_rate=mu, group_rate=group_rate, prior_strength=kappa, dispersion=phi,
        overall_rate=overall,
    )
