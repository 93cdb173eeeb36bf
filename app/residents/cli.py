"""`flask invite-residents RECORDS OUT`: service records in, links for the SMS gateway out."""
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..errors import DomainError
from ..extensions import db


@click.command("invite-residents")
@click.argument("records", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--base-url", default=None, help="Site address for the links, e.g. https://kaoping.example.gov.cn "
                                                "(default: RESIDENT_BASE_URL).")
@click.option("--dry-run", is_flag=True, help="Only report what would be invited; create nothing.")
@with_appcontext
def invite_residents(records, out, base_url, dry_run):
    """Create single-use resident links for a .xlsx/.csv of service records; write OUT (.xlsx or .csv).

    Sensitive service types and unfinished cases are skipped; the reasons go to stderr (and to the
    second sheet of an .xlsx). Phone numbers are written to OUT only, never stored.
    """
    from . import services

    fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
    try:
        plan = services.plan_batch(records.name, records.read_bytes())
    except DomainError as error:
        raise click.ClickException(error.message) from error
    for number, reference, reason in plan.skipped:
        click.echo(f"row {number} ({reference or '-'}): skipped: {reason}", err=True)
    if dry_run:
        db.session.rollback()
        click.echo(f"{plan.total} rows: {len(plan.rows)} would be invited, {len(plan.skipped)} skipped.")
        return
    links = services.create_batch(plan, created_by=None, base_url=base_url)
    content, _mimetype, _name = services.batch_file(links, plan, fmt)
    out.write_bytes(content)
    db.session.commit()
    click.echo(f"{plan.total} rows: {len(links)} invited, {len(plan.skipped)} skipped. Links written to {out}.")
    if not links:
        sys.exit(1)
