"""Demo data of the reports (a step of `flask seed-demo`, after the feedback and assessment steps).

Adds an earlier closed quarter with its 360 answered in full (2026年第二季度考评), so that an
officer's report has a trend to show, and stores the 360 reliability of the latest closed cycle
with answers. (The open cycle gets no run here: the admin computes it, as the assessment demo
expects.)
"""
from __future__ import annotations

from datetime import date

from ..extensions import db
from ..models import Assignment, Cycle, ReliabilityReport

EARLIER = ("2026年第二季度考评", date(2026, 4, 1), date(2026, 6, 30), date(2026, 6, 25))


def _earlier_quarter(rng) -> str | None:
    """The quarter before the demo's closed one, rated in full with the 360 demo's answer model."""
    from ..feedback import services as feedback
    from ..feedback.demo import _answer_cycle, _move_to

    name, starts, ends, deadline = EARLIER
    if db.session.execute(db.select(Cycle).filter_by(kind="quarter", starts_on=starts)).scalar_one_or_none():
        return None
    if not db.session.scalar(db.select(Assignment.id).limit(1)):
        return None  # no 360 demo data to follow
    cycle = Cycle(name=name, kind="quarter", starts_on=starts, ends_on=ends, deadline_on=deadline, config={})
    db.session.add(cycle)
    db.session.flush()
    feedback.write_design(cycle, seed=2024, peers=feedback.DEFAULT_PEERS)
    _move_to(cycle, "open")
    feedback.freeze_settings_now(cycle)
    responses, answers = _answer_cycle(cycle, rng, 1.0, set())
    _move_to(cycle, "closed")
    return f"{name}: {responses} responses, {answers} answers (closed)"


def seed_reports(rng):
    from .services import _has_360, compute_reliability

    summary = []
    earlier = _earlier_quarter(rng)
    if earlier:
        summary.append(earlier)
    # the latest closed cycle's reliability (the bureau overview's default); others on request
    closed = [c for c in db.session.execute(db.select(Cycle).where(Cycle.status.in_(("closed", "published")))
                                            .order_by(Cycle.starts_on.desc())).scalars() if _has_360(c)]
    if closed and db.session.execute(
            db.select(ReliabilityReport.id).filter_by(cycle_id=closed[0].id)).scalar_one_or_none() is None:
        stored = compute_reliability(closed[0])
        summary.append(f"reliability of {closed[0].name} ({stored.answers} answers)")
    return "; ".join(summary) or None
