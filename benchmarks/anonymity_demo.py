"""What the 360 anonymity gate hides in the demo data, and for whom. Prints figures, asserts nothing.

    python benchmarks/anonymity_demo.py

Seeds the demo into a throw-away SQLite database, then, for every ratee of each closed or published
cycle, asks the gate (surveys.anonymity) what the ratee, each of their supervisors and an admin may
see; and for every officer result of the published runs, whether its 360-based indicators show.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


def main() -> None:
    from app.feedback import services as feedback
    from app.models import Assignment, Cycle, ScoreResult, ScoreRun
    from surveys.anonymity import OTHERS, RATEE, Viewer, thresholds, visible_groups

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.db"})
        with app.app_context():
            db.create_all()
        t = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        print(f"demo seeded in {time.perf_counter() - t:.0f} s (exit {result.exit_code})")
        with app.app_context():
            cycles = db.session.execute(sa.select(Cycle).where(Cycle.status.in_(("closed", "published")))
                                        ).scalars().all()
            for cycle in cycles:
                rows = db.session.execute(sa.select(Assignment.ratee_id, Assignment.rater_id, Assignment.relation)
                                          .where(Assignment.cycle_id == cycle.id,
                                                 Assignment.status == "submitted")).all()
                if not rows:
                    continue
                counts: dict[int, Counter] = defaultdict(Counter)
                sups: dict[int, list[int]] = defaultdict(list)
                for ratee, rater, relation in rows:
                    counts[ratee][relation] += 1
                    if relation == "supervisor":
                        sups[ratee].append(rater)
                limits = thresholds(cycle.config)
                tally = Counter()
                for ratee, c in counts.items():
                    tally["ratees"] += 1
                    tally[f"supervisors={min(c['supervisor'], 3)}"] += 1
                    mine = visible_groups(c, limits, RATEE)
                    admin = visible_groups(c, limits, Viewer(sees_details=True))
                    tally["ratee sees supervisor cell"] += mine["supervisor"]
                    tally["ratee sees peer cell"] += mine["peer"]
                    tally["ratee sees others"] += mine[OTHERS]
                    tally["admin sees supervisor cell"] += admin["supervisor"]
                    tally["admin sees others"] += admin[OTHERS]
                    for _leader in sups[ratee]:
                        seen = visible_groups(c, limits, Viewer(rated_as=frozenset({"supervisor"})))
                        tally["supervisor views"] += 1
                        tally["supervisor views showing the supervisor cell"] += seen["supervisor"]
                        tally["supervisor views showing others"] += seen[OTHERS]
                print(f"\n{cycle.name} ({cycle.status}): " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
            from app.assessment.runs import compute_run

            for cycle in cycles:  # score the 360 cycles too, so that officers have results with 360 parts
                if db.session.scalar(sa.select(Assignment.id).filter_by(cycle_id=cycle.id).limit(1)):
                    compute_run(cycle, reason="anonymity figures")
            db.session.commit()
            runs = db.session.execute(sa.select(ScoreRun).where(ScoreRun.status.in_(("done", "published")))
                                      ).scalars().all()
            for run in runs:
                limits = thresholds(run.cycle.config)
                tally = Counter()
                results = db.session.execute(sa.select(ScoreResult).filter_by(run_id=run.id, level="officer")
                                             ).scalars().all()
                for r in results:
                    tally["officer results"] += 1
                    for label, viewer in (("ratee", RATEE), ("admin", Viewer(sees_details=True))):
                        gated = feedback.gated_breakdown(r, viewer, limits)
                        for x in gated.get("indicators", []):
                            if x["code"] in ("soft_360", "soft_teamwork"):
                                tally[f"{x['code']} hidden from {label}"] += bool(x.get("hidden_360"))
                print(f"\nrun {run.cycle.name} v{run.version} ({run.status}): "
                      + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))


if __name__ == "__main__":
    main()
