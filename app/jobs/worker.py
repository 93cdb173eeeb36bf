"""The worker side: ``perform`` is what RQ runs; ``flask --app wsgi worker`` starts a worker."""
from __future__ import annotations

import click
from flask import current_app, has_app_context
from flask.cli import with_appcontext

_app = None


def perform(job_id: int) -> str:
    """Run one job (RQ calls this). Inside ``flask --app wsgi worker`` the app context is already
    there; under a bare ``rq worker`` the app is built once per process."""
    from .services import run_job

    global _app
    if has_app_context():
        return run_job(job_id)
    if _app is None:
        from .. import create_app

        _app = create_app()
    with _app.app_context():
        return run_job(job_id)


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
    reaped = reap_stale()
    if reaped:
        click.echo(f"{reaped} interrupted job(s) marked failed")
    from ..notify.reminders import start_scheduler, tick

    if burst:  # from cron: queue the day's reminders if their time has come, then empty the queue
        tick()
    else:  # the reminders' beat (and the outside deliveries' retries) run beside the worker
        start_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]  # a LocalProxy
    queue = rq_queue()
    click.echo(f"Kaoping worker on queue {queue.name!r} ({current_app.config['JOBS_REDIS_URL']})")
    # SimpleWorker runs each job in this process, inside the app context pushed by the CLI; a killed
    # worker leaves its job's heartbeat to go stale, and the job is then marked failed.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
