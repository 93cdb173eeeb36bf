"""CLI of incident trends: import-incidents."""
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("import-incidents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_incidents(path):
    """Import incident records (警情) from a .csv/.xlsx file: all rows or none; a known 警情编号 is updated."""
    from ..errors import DomainError
    from .services import import_incidents as run_import
    from .services import seed_incident_types

    try:
        seed_incident_types()
        report = run_import(path.name, path.read_bytes())
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    if not report.ok:
        db.session.rollback()
        for number, message in report.errors:
            click.echo(f"row {number}: {message}", err=True)
        click.echo(f"{len(report.errors)} bad rows: nothing imported.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{report.rows} rows: {report.created} created, {report.updated} updated.")
