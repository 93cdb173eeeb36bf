"""Compare two score runs of the same cycle, column by column: are their stored results the same?

    python benchmarks/compare_runs.py --url postgresql://…/<a province> [RUN_A RUN_B]

Without run ids, the two most recent runs. Every column of every result (matched by level and
subject) is compared, the breakdown as the exact JSON text stored, and the runs' inputs hash,
missing-data report, options and settings. Prints the differences (the first few subjects of each
column) and exits 1 when there are any. For checking that a change to how a run loads or stores
its data leaves the results as they were (compute a run before and one after on one copy).
"""
from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

COLUMNS = ("category", "total", "adjusted_total", "coefficient", "rank", "rank_overall", "grade", "bonus_cents",
           "coverage", "excluded", "breakdown::text")
RUN_COLUMNS = ("cycle_id", "inputs_hash", "status", "config::text", "options::text", "missing::text")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("runs", nargs="*", type=int)
    args = parser.parse_args()
    engine = sa.create_engine(args.url.replace("postgresql://", "postgresql+psycopg://", 1))
    differences = 0
    with engine.connect() as conn:
        runs = args.runs or sorted(conn.scalars(sa.text("SELECT id FROM score_run ORDER BY id DESC LIMIT 2")))
        if len(runs) != 2:
            raise SystemExit("need two runs")
        a, b = runs
        print(f"runs {a} and {b}")
        for column in RUN_COLUMNS:
            first, second = (conn.scalar(sa.text(f"SELECT {column} FROM score_run WHERE id = :r"), {"r": r})
                             for r in (a, b))
            if first != second:
                differences += 1
                print(f"  run {column}: differs\n    {str(first)[:300]}\n    {str(second)[:300]}")
        counts = [conn.scalar(sa.text("SELECT count(*) FROM score_result WHERE run_id = :r"), {"r": r}) for r in (a, b)]
        print(f"  results: {counts[0]:,} and {counts[1]:,}")
        if counts[0] != counts[1]:
            differences += 1
        for column in COLUMNS:
            rows = conn.execute(sa.text(
                f"SELECT x.level, coalesce(x.unit_id, x.officer_id), x.{column}, y.{column} "
                "FROM score_result x LEFT JOIN score_result y ON y.run_id = :b AND x.level = y.level "
                "AND coalesce(x.unit_id, x.officer_id) = coalesce(y.unit_id, y.officer_id) "
                f"WHERE x.run_id = :a AND (y.id IS NULL OR x.{column} IS DISTINCT FROM y.{column}) "
                "ORDER BY 1, 2"), {"a": a, "b": b}).all()
            unmatched = conn.scalar(sa.text(
                "SELECT count(*) FROM score_result y WHERE y.run_id = :b AND NOT EXISTS (SELECT 1 FROM score_result x "
                "WHERE x.run_id = :a AND x.level = y.level "
                "AND coalesce(x.unit_id, x.officer_id) = coalesce(y.unit_id, y.officer_id))"), {"a": a, "b": b})
            status = "same" if not rows and not unmatched else f"{len(rows) + unmatched:,} differ"
            print(f"  {column:<18} {status}")
            for level, subject, first, second in rows[:3]:
                print(f"    {level} {subject}:\n      {str(first)[:400]}\n      {str(second)[:400]}")
            differences += len(rows) + unmatched
    engine.dispose()
    print("identical" if not differences else f"{differences} differences")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
