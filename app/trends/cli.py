"""CLI of incident trends: import-incidents."""
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..cli import QUEUE_HELP


@click.command("import-incidents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--queue", is_flag=True, help=QUEUE_HELP)
@with_appcontext
def import_incidents(path, queue):
    """Import incident records (警情) from a .csv/.xlsx file: all rows or none; a known 警情编号 is
    updated. Runs as an import job."""
    from ..extensions import db
    from ..imports import run_cli_import
    from .services import INCIDENT_COLUMNS, seed_incident_types

    seed_incident_types()
    db.session.commit()
    run_cli_import("import_incidents", "records", path, INCIDENT_COLUMNS,
                   lambda r: f"{r.rows} rows: {r.created} created, {r.updated} updated.", queue=queue)
