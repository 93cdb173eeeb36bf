"""Command-line interface: `flask --app wsgi <command>` or the `kaoping` console script."""
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from .extensions import db


def register(app) -> None:
    from .assessment.cli import COMMANDS as assessment_commands

    for command in (seed_demo, create_admin, import_roster, *assessment_commands):
        app.cli.add_command(command)
    from .residents.cli import invite_residents

    app.cli.add_command(invite_residents)
    from .trends.cli import import_incidents

    app.cli.add_command(import_incidents)
    from .jobs.worker import worker_command

    app.cli.add_command(worker_command)
    from .monitoring.cli import pull_records

    app.cli.add_command(pull_records)
    from .notify.cli import send_notifications, sms_gateway_standin

    app.cli.add_command(send_notifications)
    app.cli.add_command(sms_gateway_standin)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no units yet.")
@with_appcontext
def seed_demo(if_empty):
    """Load the synthetic demo bureau (idempotent)."""
    from .demo import DEMO_LOGINS, DEMO_PASSWORD
    from .demo import seed_demo as run
    from .models import Unit

    if if_empty and db.session.execute(db.select(Unit.id).limit(1)).first() is not None:
        click.echo("Database already has data; demo not loaded.")
    else:
        click.echo("Loading demo data:")
        run(echo=click.echo)
    click.echo("\nDemo logins (password for all: %s):" % DEMO_PASSWORD)
    for username, label in DEMO_LOGINS:
        click.echo(f"  {username:<12} {label}")


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin(username, password):
    """Create an administrator account (or give an existing account the admin role).

    A new account must change this password at its first login (whoever ran the command knows it)."""
    from .auth.services import check_password_strength
    from .errors import DomainError
    from .models import User

    try:
        check_password_strength(password, (username,))
    except DomainError as error:
        raise click.ClickException(error.message) from error
    user = db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        user = User(username=username, must_change_password=True)
        user.set_password(password)
        db.session.add(user)
    user.roles = user.roles | {"admin"}
    db.session.commit()
    click.echo(f"Administrator {username} is ready.")


QUEUE_HELP = "Leave the import to the worker (needs JOBS_REDIS_URL) instead of running it here."


@click.command("import-roster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", is_flag=True, help=QUEUE_HELP)
@with_appcontext
def import_roster(path, queue):
    """Import officers from a roster .xlsx or .csv (all rows or none), as an import job."""
    from .admin.services import ROSTER_REQUIRED
    from .imports import run_cli_import

    run_cli_import("import_roster", "roster", path, ROSTER_REQUIRED,
                   lambda r: f"{r.rows} rows: {r.created} created, {r.updated} updated.", queue=queue)


def main():
    """Entry point of the `kaoping` console script."""
    from . import create_app

    cli = FlaskGroup(create_app=lambda: create_app())
    cli.main(prog_name="kaoping")
