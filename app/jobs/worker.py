"""The worker side: ``perform`` is what RQ runs; ``flask --app wsgi worker`` starts a worker.

The worker runs below the web's CPU priority (``JOBS_WORKER_NICE``): on a small server a score
run's numpy and JSON then yield the cores to the pages people wait for, and take whatever they
leave. It also scores the figures every page shows ahead of them (``fill_figures``): when it starts
and after each job, so that the first visitor after a change does not wait for them.
"""
from __future__ import annotations

import logging
import os

import click
from flask import current_app, has_app_context
from flask.cli import with_appcontext

log = logging.getLogger(__name__)
_app = None


def perform(job_id: int) -> str:
    """Run one job (RQ calls this), then refresh the shared figures its changes may have touched.
    Inside ``flask --app wsgi worker`` the app context is already there; under a bare ``rq worker``
    the app is built once per process."""
    from .services import run_job

    global _app
    if not has_app_context():
        if _app is None:
            from .. import create_app

            _app = create_app()
        with _app.app_context():
            return perform(job_id)
    state = run_job(job_id)
    fill_figures()
    return state


def fill_figures() -> None:
    """Score the figures pages share (``app.reports.services.fill_figures``); a failure only means a
    page scores them itself, so it is logged, never raised."""
    from ..extensions import db
    from ..reports.services import fill_figures as fill

    try:
        fill()
    except Exception:
        log.warning("the shared figures were not filled ahead of the pages", exc_info=True)
    finally:
        db.session.remove()


def lower_priority(increment: int) -> int:
    """Lower this process's CPU priority by ``increment`` (``os.nice``; 0: unchanged); returns the
    niceness it runs at. A platform without ``os.nice`` runs at its priority."""
    if increment <= 0 or not hasattr(os, "nice"):
        return os.nice(0) if hasattr(os, "nice") else 0
    return os.nice(increment)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (tests, cron).")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs from the Redis queue (JOBS_REDIS_URL) until stopped."""
    from rq import SimpleWorker

    from .services import backend, reap_stale, rq_queue

    if backend() != "rq":
        raise click.ClickException(
            "JOBS_REDIS_URL is not set: jobs run inside the web process and need no worker. "
            "Set JOBS_REDIS_URL=redis://127.0.0.1:6379/0 for the web processes and this worker.")
    from ..sharedcache import mark_background

    niceness = lower_priority(int(current_app.config.get("JOBS_WORKER_NICE") or 0))
    mark_background(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy
    reaped = reap_stale()
    if reaped:
        click.echo(f"{reaped} interrupted job(s) marked failed")
    fill_figures()
    from ..notify.reminders import start_scheduler, tick

    if burst:  # from cron: queue the day's reminders if their time has come, then empty the queue
        tick()
    else:  # the reminders' beat (and the outside deliveries' retries) run beside the worker
        start_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy
    queue = rq_queue()
    click.echo(f"Kaoping worker on queue {queue.name!r} ({current_app.config['JOBS_REDIS_URL']}), "
               f"CPU priority nice {niceness}")
    # SimpleWorker runs each job in this process, inside the app context pushed by the CLI; a killed
    # worker leaves its job's heartbeat to go stale, and the job is then marked failed.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
