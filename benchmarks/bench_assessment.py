"""Speed and memory of the assessment and team-points arithmetic. Prints figures, asserts nothing.

    python benchmarks/bench_assessment.py

Peak memory is what tracemalloc sees allocated by Python and numpy during the call
(numpy reports its buffers to tracemalloc), on top of the inputs.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring.assessment import (  # noqa: E402
    AssessmentConfig,
    BonusSettings,
    IndicatorMatrix,
    IndicatorSpec,
    rounded_breakdown,
    score_assessment,
)
from scoring.team import ClaimSet, PointsRules, score_team  # noqa: E402

I = IndicatorSpec


def measure(label, fn, repeat=3):
    """Best wall time of ``repeat`` runs, and the peak traced memory of one run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<58} best {min(times) * 1000:8.1f} ms   peak {peak / 2**20:7.1f} MiB")


def assessment_config():
    dims = ["law_enforcement", "basic_control", "public_service", "team_management"]
    specs = []
    # 12 indicators per level, 3 per dimension, mixing methods and directions.
    for level in ("unit", "officer"):
        for d in dims:
            for k, w in enumerate((40, 30, 30)):
                code = f"{level}_{d}_{k}"
                if k == 0:
                    specs.append(I(code, d, w, target=90, level=level))
                elif k == 1:
                    specs.append(I(code, d, w, method="minmax", level=level))
                else:
                    specs.append(I(code, d, w, direction="lower", method="minmax", level=level,
                                   split_preventable=(d == "law_enforcement")))
    return AssessmentConfig(indicators=tuple(specs), seasonal={"unit_basic_control_0": 1.3},
                            bonus=BonusSettings(floor=60, pool_cents=50_000_000))


def matrix(cfg, level, n, rng):
    codes = tuple(s.code for s in cfg.specs(level))
    v = rng.uniform(0, 100, (n, len(codes)))
    v[rng.random(v.shape) < 0.02] = np.nan  # 2 % missing
    nonprev = rng.integers(0, 10, v.shape).astype(float)
    return IndicatorMatrix(codes, v, rng.integers(1, 4, n), nonprev)


def claims(n_claims, n_officers, n_units, rng):
    size = rng.integers(1, 6, n_claims)  # 1–5 officers per claim
    claim = np.repeat(np.arange(n_claims), size)
    n_rows = claim.shape[0]
    # Distinct officers within a claim: a random start plus a stride.
    start = rng.integers(0, n_officers, n_claims)
    offset = np.arange(n_rows) - np.repeat(np.cumsum(size) - size, size)
    officer = (start[claim] + offset * 7919) % n_officers
    unit = (officer // (n_officers // n_units)) % n_units
    # Shares in basis points: equal split, remainder to the first participant.
    bp = np.repeat(10_000 // size, size)
    first = np.cumsum(size) - size
    bp[first] += 10_000 - (10_000 // size) * size
    kinds = np.array([("刑事", "重大"), ("刑事", "一般"), ("治安", "一般"), ("治安", "较大")])
    k = rng.integers(0, len(kinds), n_claims)
    return ClaimSet(case_type=kinds[k, 0], severity=kinds[k, 1], claim=claim, officer=officer,
                    unit=unit, share=bp / 100, n_officers=n_officers, n_units=n_units)


def main():
    rng = np.random.default_rng(2024)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}")
    cfg = assessment_config()

    officers = matrix(cfg, "officer", 50_000, rng)
    measure("score_assessment: 50,000 officers x 12 indicators",
            lambda: score_assessment(officers, cfg))
    r = score_assessment(officers, cfg)
    measure("rounded_breakdown: 50,000 officers", lambda: rounded_breakdown(r))

    units = matrix(cfg, "unit", 2_000, rng)
    measure("score_assessment: 2,000 units x 12 indicators", lambda: score_assessment(units, cfg))

    rules = PointsRules({("刑事", "重大"): 20, ("刑事", "一般"): 10, ("治安", "一般"): 5,
                         ("治安", "较大"): 7.5}, officer_cap=60)
    cs = claims(200_000, 50_000, 2_000, rng)
    print(f"  (claims: {cs.n_claims:,}, participant rows: {cs.claim.shape[0]:,})")
    measure("score_team: 200,000 claims, cap 60 points", lambda: score_team(cs, rules))
    tp = score_team(cs, rules)
    print(f"  ({int(tp.officer_capped.sum()):,} officers capped, {tp.team_cents.shape[0]:,} cross-unit teams)")
    t0 = time.perf_counter()
    built = claims(200_000, 50_000, 2_000, rng)
    print(f"  (building and validating that ClaimSet took {(time.perf_counter() - t0) * 1000:.0f} ms;"
          f" {built.n_claims:,} claims)")


if __name__ == "__main__":
    main()
