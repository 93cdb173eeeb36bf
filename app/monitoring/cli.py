"""CLI of monitoring: pull-records (run the pull connectors that are due; schedule it with cron)."""
import click
from flask.cli import with_appcontext

from ..extensions import db


@click.command("pull-records")
@click.option("--all", "force", is_flag=True, help="Run every active connector, due or not.")
@with_appcontext
def pull_records(force):
    """Fetch new and changed records from the business systems' connectors that are due."""
    from .connectors import due_connectors, pull

    failed = 0
    for connector in due_connectors(force):
        ok = pull(connector)
        db.session.commit()
        failed += not ok
        click.echo(f"{connector.name}: " + (f"{connector.last_rows} rows ({connector.last_created} created, "
                                            f"{connector.last_updated} updated)" if ok else connector.last_error))
    if failed:
        raise SystemExit(1)
