"""How long the 360 design generator and the anonymity gates take at county and province scale.

Run: python benchmarks/bench_feedback.py  (prints figures; nothing is asserted)
"""
import random
import time

from surveys.anonymity import gated_means
from surveys.design import OfficerNode, UnitNode, build_design


def org(n_units: int, seed: int = 1):
    rng = random.Random(seed)
    units = [UnitNode(1, "bureau")]
    officers = []
    next_id = 1
    for u in range(2, n_units + 2):
        units.append(UnitNode(u, "station", 1))
        for i in range(rng.randint(8, 30)):
            officers.append(OfficerNode(next_id, u, i < 2))
            next_id += 1
    return units, officers


def main():
    for n_units in (20, 200, 2000):
        units, officers = org(n_units)
        start = time.perf_counter()
        plan = build_design(units, officers, peers=5, seed=7)
        took = time.perf_counter() - start
        print(f"design: {len(officers):6d} officers, {len(plan):7d} assignments in {took * 1000:8.1f} ms")
    rng = random.Random(2)
    reports = [{g: [rng.uniform(1, 5) for _ in range(rng.randint(0, 8))]
                for g in ("self", "supervisor", "peer", "subordinate")} for _ in range(10_000)]
    start = time.perf_counter()
    for scores in reports:
        gated_means(scores)
    print(f"anonymity gates: 10000 ratee-competency cells in {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
