"""Demo data of the reports (a step of `flask seed-demo`, after the assessment's).

Stores the 360 reliability of every closed cycle with answers, and computes (without publishing) a
trial run of the open cycle from its imported indicator values, so that the admin's bureau overview
has current figures to show, labelled as unpublished.
"""
from __future__ import annotations

from ..errors import DomainError
from ..extensions import db
from ..models import Cycle, ReliabilityReport, ScoreRun


def seed_reports(rng):
    from ..assessment.runs import compute_run
    from .services import _has_360, compute_reliability

    summary = []
    closed = db.session.execute(db.select(Cycle).where(Cycle.status.in_(("closed", "published")))
                                .order_by(Cycle.starts_on)).scalars().all()
    for cycle in closed:
        if _has_360(cycle) and db.session.execute(
                db.select(ReliabilityReport.id).filter_by(cycle_id=cycle.id)).scalar_one_or_none() is None:
            stored = compute_reliability(cycle)
            summary.append(f"reliability of {cycle.name} ({stored.answers} answers)")
    current = db.session.execute(db.select(Cycle).filter_by(status="open").order_by(Cycle.starts_on.desc())
                                 ).scalars().first()
    if current is not None and summary and not db.session.scalar(
            db.select(ScoreRun.id).filter_by(cycle_id=current.id).limit(1)):
        try:
            run = compute_run(current, reason="")
        except DomainError:
            pass  # no indicator data in the open cycle: nothing to preview
        else:
            summary.append(f"trial run v{run.version} of {current.name} (not published)")
    return "; ".join(summary) or None
