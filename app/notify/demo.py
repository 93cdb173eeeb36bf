"""The demo's notification history: the real events and reminders run over the demo data (the
services already told people as the demo was built; this adds what the daily run would have said)."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..localtime import local_today
from ..models import Cycle, Notification


def seed_notifications(rng) -> str | None:
    """Idempotent: every event key is unique per user, so a second run adds nothing."""
    from ..feedback.notices import notify_cycle_opened, remind_owing
    from .reminders import run_reminders

    before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) or 0
    today = local_today()
    for cycle in db.session.execute(sa.select(Cycle).where(Cycle.status == "open")).scalars():
        notify_cycle_opened(cycle)  # the demo cycle may have been opened before its rater design existed
        days_left = (cycle.effective_deadline - today).days
        if days_left >= 0:  # the digest the officers who still owe would get today
            remind_owing(today, [days_left])
    run_reminders(today)
    db.session.flush()
    after = db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) or 0
    return f"{after} notifications ({after - before} new)" if after > before else None
