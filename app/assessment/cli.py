"""CLI of the main assessment: import-indicators, compute, publish, export."""
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..cli import QUEUE_HELP
from ..extensions import db


def _cycle(cycle_id):
    from ..models import Cycle

    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        raise click.ClickException(f"no cycle with id {cycle_id}")
    return cycle


@click.command("import-indicators")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cycle", "cycle_id", type=int, required=True, help="Cycle id.")
@click.option("--queue", is_flag=True, help=QUEUE_HELP)
@with_appcontext
def import_indicators(path, cycle_id, queue):
    """Import indicator values from a .csv/.xlsx file into a cycle (all rows or none), as an import job."""
    from ..imports import run_cli_import
    from .datapool import FILE_REQUIRED

    cycle = _cycle(cycle_id)
    run_cli_import("import_values", f"cycle:{cycle.id}", path, FILE_REQUIRED,
                   lambda r: f"{r.rows} rows: {r.stored} stored, {r.superseded} superseded (batch {r.batch_id}).",
                   queue=queue, cycle_id=cycle.id)


@click.command("compute")
@click.option("--cycle", "cycle_id", type=int, required=True, help="Cycle id.")
@click.option("--reason", default="", help="Why (required once the cycle has a published result).")
@click.option("--rollup", type=click.Choice(["", "mean", "last", "weighted"]), default="",
              help="Roll up the months/quarters inside the cycle instead of scoring its own data.")
@with_appcontext
def compute(cycle_id, reason, rollup):
    """Compute a cycle's results into a new score run."""
    from ..errors import DomainError
    from .runs import compute_run

    try:
        run = compute_run(_cycle(cycle_id), reason=reason, rollup_method=rollup,
                          progress=lambda message: click.echo(f"  {message}"))
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    for level, info in (run.missing.get("levels") or {}).items():
        if info.get("no_data"):
            click.echo(f"  {level}: no data at this level")
        elif info.get("pairs"):
            click.echo(f"  {level}: {info['pairs']} missing values, {info['incomplete']} incomplete, "
                       f"{info['excluded']} without a total")
    if run.missing.get("soft_without_provider"):
        click.echo("  soft indicators without a provider: " + ", ".join(run.missing["soft_without_provider"]))
    click.echo(f"Run {run.id} (version {run.version}) done; inputs {run.inputs_hash[:16]}.")


@click.command("publish")
@click.option("--cycle", "cycle_id", type=int, required=True, help="Cycle id.")
@click.option("--run", "run_id", type=int, required=True, help="Score run id.")
@click.option("--note", default="", help="Why the run is published although hard data are missing (audited).")
@with_appcontext
def publish(cycle_id, run_id, note):
    """Make a run the cycle's result (the cycle must be closed, or already published)."""
    from ..errors import DomainError
    from ..models import ScoreRun
    from .runs import publish_run

    cycle = _cycle(cycle_id)
    run = db.session.get(ScoreRun, run_id)
    if run is None or run.cycle_id != cycle.id:
        raise click.ClickException(f"run {run_id} does not belong to cycle {cycle_id}")
    try:
        publish_run(run, note=note)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Run {run.id} (version {run.version}) is the result of {cycle.name}.")


@click.command("export")
@click.option("--cycle", "cycle_id", type=int, required=True, help="Cycle id.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.xlsx")
@click.option("--run", "run_id", type=int, default=None, help="A run (default: the published one, else the latest).")
@with_appcontext
def export(cycle_id, out, run_id):
    """Export a cycle's results to an .xlsx file."""
    from ..models import ScoreRun
    from ..tabular import xlsx_bytes
    from .runs import export_rows, latest_run, published_run

    cycle = _cycle(cycle_id)
    run = db.session.get(ScoreRun, run_id) if run_id else (published_run(cycle) or latest_run(cycle))
    if run is None or run.cycle_id != cycle.id:
        raise click.ClickException("no computed run for this cycle")
    header, rows = export_rows(run)
    rows = list(rows)
    out.write_bytes(xlsx_bytes(header, rows, title="results"))
    click.echo(f"{len(rows)} rows of run {run.id} (version {run.version}) written to {out}.")


COMMANDS = (import_indicators, compute, publish, export)
