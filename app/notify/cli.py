"""``flask send-reminders``: the daily reminder run, for cron (or to catch up a missed day)."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("send-reminders")
@click.option("--date", "day", default="", help="The bureau-local day to run for (YYYY-MM-DD); today if omitted.")
@with_appcontext
def send_reminders(day: str) -> None:
    """Send the day's reminders now (a second run the same day tells nobody again)."""
    from .reminders import run_reminders

    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD, e.g. 2026-12-01", param_hint="--date") from None
    summary = run_reminders(chosen)
    db.session.commit()
    click.echo(", ".join(f"{name}: {count}" for name, count in summary.items()))
