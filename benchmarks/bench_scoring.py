"""Speed and memory of the scoring engine on a province-sized data set (prints, never asserts).

    python benchmarks/bench_scoring.py [--people 50000] [--residents 1000000]

Builds a province of officers with about 60 answers received each (~3 million answers),
times ``score_feedback`` against a bare numpy ALS of the same model (fixed ridges, unit
weights, no detection, no reporting), and ``score_residents`` on resident answers.
Peak memory is the tracemalloc peak of each call (numpy reports its buffers to
tracemalloc) and the process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import RaterGroup, score_feedback, score_residents  # noqa: E402
from tests.scoring.synth import make_feedback, make_residents  # noqa: E402


def bare_als(ratee, rater, item, cell, y, P, C, I, ridges=(2.8, 25.0, 2.0, 8.4), tol=1e-4,
             max_iter=500, omega=1.0):
    """Plain ridge ALS of y ~ mu + a[ratee] + g[cell] + l[rater] + d[item]; returns sweeps.

    Fixed ridges (about what score_feedback estimates on this data), unit weights; ``omega``
    over-relaxes the block updates as score_feedback does (1 = textbook ALS).
    """
    lam_a, lam_g, lam_l, lam_d = ridges
    W_cell = np.bincount(cell, minlength=P * C).astype(float)
    W_rater = np.bincount(rater, minlength=P).astype(float)
    W_item = np.bincount(item, minlength=I).astype(float)
    cell_person = np.repeat(np.arange(P), C)
    den_g = W_cell + lam_g
    den_a = (W_cell * lam_g / den_g).reshape(P, C).sum(1) + lam_a
    mu = y.mean()
    a, g, l, d = np.zeros(P), np.zeros(P * C), np.zeros(P), np.zeros(I)
    r = y - mu
    for it in range(1, max_iter + 1):
        fit_c = a[cell_person] + g
        S = np.bincount(cell, r, minlength=P * C) + W_cell * fit_c
        a_new = (lam_g * S / den_g).reshape(P, C).sum(1) / den_a
        g_new = (S - W_cell * a_new[cell_person]) / den_g
        a = a + omega * (a_new - a)
        g = g + omega * (g_new - g)
        dc = a[cell_person] + g - fit_c
        r -= dc[cell]
        l_new = (np.bincount(rater, r, minlength=P) + W_rater * l) / (W_rater + lam_l)
        l_new = l + omega * (l_new - l)
        dl = l_new - l
        r -= dl[rater]
        l = l_new
        d_new = (np.bincount(item, r, minlength=I) + W_item * d) / (W_item + lam_d)
        d_new = d + omega * (d_new - d)
        dd = d_new - d
        r -= dd[item]
        d = d_new
        m = r.mean()
        mu += m
        r -= m
        if max(np.abs(dc).max(), np.abs(dl).max(), np.abs(dd).max(), abs(m)) < tol:
            break
    return it


def measure(fn, *args, **kw):
    tracemalloc.start()
    t = time.perf_counter()
    out = fn(*args, **kw)
    elapsed = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, elapsed, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=50_000)
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t = time.perf_counter()
    # 12 items; self + 3 unit peers + 1 cross-unit peer + leader/subordinate links
    syn = make_feedback(n_people=args.people, n_peers=3, n_rings=args.people // 500, seed=args.seed)
    r = syn.ratings
    print(f"built feedback data: {r.n_people:,} officers, {r.n_answers:,} answers "
          f"({np.sum(r.group != RaterGroup.SELF):,} non-self) in {time.perf_counter() - t:.1f} s")

    keep = (r.group != RaterGroup.SELF) & ~np.isnan(r.value)
    C = r.n_competencies
    args_als = (r.ratee[keep], r.rater[keep], r.item[keep],
                r.ratee[keep] * C + r.item_competency[r.item[keep]], r.value[keep],
                r.n_people, C, r.n_items)
    iters, t_als, peak_als = measure(bare_als, *args_als)
    print(f"bare numpy ALS:   {t_als:6.2f} s  ({iters} sweeps, peak {peak_als / 2**20:,.0f} MiB)")
    iters_sor, t_sor, _ = measure(bare_als, *args_als, omega=1.4)
    print(f"bare ALS, SOR 1.4:{t_sor:6.2f} s  ({iters_sor} sweeps; over-relaxed baseline, for reference)")

    scores, t_fb, peak_fb = measure(score_feedback, r)
    # (after score_feedback, so that its allocations do not warm the heap for it) the engine's
    # own solver on the same single fit (sweeps on the weighted cross-products,
    # Anderson-accelerated): how much of the ratio is the solver and how much the rest
    from scoring.feedback import _ANDERSON, _als, _design

    def engine_als():
        des, y, _ = _design(r)
        return _als(des, y, np.ones(y.shape), (2.8, 25.0, 2.0, 8.4), None, 1e-4, 500, 1.0,
                    accelerate=_ANDERSON).n_iter

    iters_eng, t_eng, _ = measure(engine_als)
    print(f"engine ALS, 1 fit:{t_eng:6.2f} s  ({iters_eng} sweeps incl. design setup; Gram sweeps + Anderson)")
    print(f"score_feedback:   {t_fb:6.2f} s  ({scores.n_iterations} sweeps in {scores.n_rounds} rounds, "
          f"peak {peak_fb / 2**20:,.0f} MiB)")
    print(f"ratio score_feedback / bare ALS: {t_fb / t_als:.2f}  (target <= 3); "
          f"/ bare SOR ALS: {t_fb / t_sor:.2f}; / engine ALS: {t_fb / t_eng:.2f}")
    truth = {tuple(p) for p in syn.ring_pairs}
    found = {tuple(p) for p in scores.suspect_pairs}
    print(f"  careless flagged {scores.careless.sum()} (true {syn.careless.sum()}, "
          f"hit {np.sum(scores.careless & syn.careless)}); suspect pairs {len(found)} "
          f"(ring pairs {len(truth)}, hit {len(truth & found)})")

    t = time.perf_counter()
    syn_r = make_residents(n_subjects=args.people, n_groups=max(args.people // 50, 1),
                           mean_answers=args.residents / args.people, seed=args.seed)
    n_ans = syn_r.residents.subject.size
    print(f"built resident data: {n_ans:,} answers in {time.perf_counter() - t:.1f} s")
    _, t_res, peak_res = measure(score_residents, syn_r.residents)
    print(f"score_residents:  {t_res:6.2f} s  (peak {peak_res / 2**20:,.0f} MiB)")

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"process max RSS (includes data generation): {maxrss:,.0f} MiB  (target peak < 2048 MiB)")


if __name__ == "__main__":
    main()
