"""CLI of incident trends: import-incidents."""
from pathlib import Path

import click
from flask.cli import with_appcontext


@click.command("import-incidents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_incidents(path):
    """Import incident records (警情) from a .csv/.xlsx file: all rows or none; a known 警情编号 is updated."""
    from ..imports import run_cli_import
    from .services import import_incidents as run_import
    from .services import seed_incident_types

    def load():
        seed_incident_types()
        return run_import(path.name, path.read_bytes())

    run_cli_import(load, lambda r: f"{r.rows} rows: {r.created} created, {r.updated} updated.")
