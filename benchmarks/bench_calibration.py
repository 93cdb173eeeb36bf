"""Calibration of the scoring engine on cases built independently of its own test generator.

    python benchmarks/bench_calibration.py [--seeds 10] [--resident-seeds 200] [--first-seed 0] [--province]
                                           [--skip-residents] [--skip-rings]

1. Resident satisfaction: share of officers whose true rate lies in the printed 90 %
   interval, per condition (answers per officer, within-station spread, station count),
   with the MSE of the shrunk rate relative to the raw rate (answered officers). Mean over
   200 draws by default: one draw's coverage runs from 0.4 to 1.0 (all its officers share
   one estimate of the spread), so 40 draws leave the mean uncertain by about +-0.02.
2. Collusion rings: recall and precision of ``suspect_pairs`` against the planted ring
   pairs, per seed, for a county-sized bureau and (``--province``) 50,000 officers.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import score_feedback, score_residents  # noqa: E402
from tests.scoring.synth_calibration import resident_case, ring_case  # noqa: E402

CONDITIONS = [
    # (label, kwargs)
    ("answers 0.5", dict(mean_answers=0.5)),
    ("answers 1", dict(mean_answers=1.0)),
    ("answers 2.5", dict(mean_answers=2.5)),
    ("answers 5", dict(mean_answers=5.0)),
    ("answers 10", dict(mean_answers=10.0)),
    ("answers 20", dict(mean_answers=20.0)),
    ("within sd 0", dict(within_sd=0.0)),
    ("within sd 0.1", dict(within_sd=0.1)),
    ("within sd 0.25", dict(within_sd=0.25)),
    ("within sd 1.0", dict(within_sd=1.0)),
    ("within sd 1.0, 10 ans", dict(within_sd=1.0, mean_answers=10.0)),
    ("stations 3", dict(n_stations=3)),
    ("stations 10", dict(n_stations=10)),
    ("stations 200", dict(n_stations=200)),
    ("station sd 0", dict(station_sd=0.0)),
    ("station sd 1.2", dict(station_sd=1.2)),
    ("small stations 2-5", dict(officers=(2, 5), n_stations=100)),
    ("no window answers", dict(window_share=0.0)),
]


def resident_table(seeds: range):
    print("resident 90 % intervals: coverage (all officers / answered), MSE shrunk / raw, mean width")
    head = ("cover", "+-se", "min", "max", "answered", "mse", "width")
    print(f"{'condition':24s} " + " ".join(f"{h:>{8 if h == 'answered' else 6}s}" for h in head))
    for label, kw in CONDITIONS:
        cov, cov_a, ratio, width = [], [], [], []
        for seed in seeds:
            case = resident_case(seed=seed, **kw)
            s = score_residents(case.residents)
            t = case.true_rate
            inside = (t >= s.low) & (t <= s.high)
            has = s.n > 0
            cov.append(inside.mean())
            cov_a.append(inside[has].mean() if has.any() else np.nan)
            if has.sum() > 1:
                ratio.append(np.mean((s.rate[has] - t[has]) ** 2) / np.mean((s.raw_rate[has] - t[has]) ** 2))
            width.append(np.mean(s.high - s.low))
        se = np.std(cov) / np.sqrt(len(cov))
        print(f"{label:24s} {np.mean(cov):6.3f} {se:6.3f} {np.min(cov):6.3f} {np.max(cov):6.3f} "
              f"{np.nanmean(cov_a):8.3f} "
              f"{np.mean(ratio):6.3f} {np.mean(width):6.3f}")


def ring_table(seeds: range, n_people: int, label: str):
    print(f"collusion rings, {label} ({n_people:,} officers): recall / precision of ring pairs per seed")
    rec, prec = [], []
    for seed in seeds:
        case = ring_case(n_people=n_people, seed=seed)
        t = time.perf_counter()
        s = score_feedback(case.ratings)
        took = time.perf_counter() - t
        truth = {tuple(p) for p in case.ring_pairs.tolist()}
        found = {tuple(p) for p in s.suspect_pairs.tolist()}
        r = len(truth & found) / max(len(truth), 1)
        p = len(truth & found) / max(len(found), 1) if found else 1.0
        members = np.unique(case.ring_pairs)
        flagged = np.isin(members, s.suspect_pairs)
        rings = case.ring_of[members]
        whole_missed = sum(not flagged[rings == k].any() for k in np.unique(rings))
        rec.append(r)
        prec.append(p)
        print(f"  seed {seed:2d}: recall {r:.3f} precision {p:.3f}  ({len(truth)} ring pairs, {len(found)} flagged, "
              f"rings missed whole {whole_missed}/{np.unique(rings).size}; {took:.1f} s)")
    print(f"  mean recall {np.mean(rec):.3f} (min {np.min(rec):.3f}), mean precision {np.mean(prec):.3f} "
          f"(min {np.min(prec):.3f})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10, help="draws of the ring cases")
    ap.add_argument("--resident-seeds", type=int, default=200, help="draws per resident condition")
    ap.add_argument("--first-seed", type=int, default=0, help="e.g. 10 for a second, held-out set of draws")
    ap.add_argument("--province", action="store_true", help="also the 50,000-officer case")
    ap.add_argument("--province-seeds", type=int, default=10)
    ap.add_argument("--skip-residents", action="store_true")
    ap.add_argument("--skip-rings", action="store_true")
    args = ap.parse_args()
    if not args.skip_residents:
        resident_table(range(args.first_seed, args.first_seed + args.resident_seeds))
    if not args.skip_rings:
        ring_table(range(args.first_seed, args.first_seed + args.seeds), 3000, "county")
        if args.province:
            ring_table(range(args.first_seed, args.first_seed + args.province_seeds), 50_000, "province")


if __name__ == "__main__":
    main()
