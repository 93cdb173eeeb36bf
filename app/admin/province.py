"""The province's overview: every bureau side by side, from a fixed handful of grouped queries.

However many bureaus, stations and officers there are, the page runs the same six statements: one
per figure, grouped by bureau, with window functions picking each bureau's latest final run and its
top and bottom stations (no query per bureau)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Assignment, Cycle, Officer, ScoreResult, ScoreRun, Unit

EDGE = 3  # top and bottom stations shown per bureau


@dataclass
class BureauFigures:
    bureau: Unit
    officers: int = 0
    stations: int = 0
    run: ScoreRun | None = None
    cycle: Cycle | None = None
    top: list[ScoreResult] = field(default_factory=list)
    bottom: list[ScoreResult] = field(default_factory=list)
    participation_cycle: Cycle | None = None
    ratings_total: int = 0
    ratings_submitted: int = 0

    @property
    def participation(self) -> float | None:
        """Share of the 360 ratings asked for (declined ones left out) that were submitted, 0–1."""
        return self.ratings_submitted / self.ratings_total if self.ratings_total else None


def bureau_overview() -> list[BureauFigures]:
    """Each bureau with its active officers and stations, its latest published (final) run with its
    best and weakest stations, and 360 participation in its latest cycle past draft."""
    bureaus = db.session.execute(sa.select(Unit).where(Unit.kind == "bureau").order_by(Unit.code)).scalars().all()
    out = {b.id: BureauFigures(b) for b in bureaus}
    if not out:
        return []
    officers = db.session.execute(
        sa.select(Unit.bureau_id, sa.func.count(Officer.id)).join(Officer.unit)
        .where(Officer.is_active, Unit.bureau_id.is_not(None)).group_by(Unit.bureau_id)).all()
    stations = db.session.execute(
        sa.select(Unit.bureau_id, sa.func.count(Unit.id))
        .where(Unit.kind == "station", Unit.is_active, Unit.bureau_id.is_not(None)).group_by(Unit.bureau_id)).all()
    for bureau_id, n in officers:
        if bureau_id in out:
            out[bureau_id].officers = n
    for bureau_id, n in stations:
        if bureau_id in out:
            out[bureau_id].stations = n
    _latest_runs(out)
    _participation(out)
    return list(out.values())


def _latest_runs(out: dict[int, BureauFigures]) -> None:
    newest = sa.func.row_number().over(partition_by=Cycle.bureau_id,
                                       order_by=(Cycle.ends_on.desc(), ScoreRun.id.desc())).label("n")
    ranked = (sa.select(ScoreRun.id.label("run_id"), newest).join(Cycle, Cycle.id == ScoreRun.cycle_id)
              .where(ScoreRun.status == "published", Cycle.bureau_id.is_not(None)).subquery())
    rows = db.session.execute(
        sa.select(ScoreRun, Cycle).join(Cycle, Cycle.id == ScoreRun.cycle_id)
        .join(ranked, ranked.c.run_id == ScoreRun.id).where(ranked.c.n == 1)).all()
    by_run = {}
    for run, cycle in rows:
        if cycle.bureau_id in out:
            out[cycle.bureau_id].run, out[cycle.bureau_id].cycle = run, cycle
            by_run[run.id] = out[cycle.bureau_id]
    if not by_run:
        return
    # Rank over the bureau, by adjusted total (what rankings across categories use), missing totals last.
    score = sa.func.coalesce(ScoreResult.adjusted_total, ScoreResult.total)
    best = sa.func.row_number().over(partition_by=ScoreResult.run_id,
                                     order_by=(score.is_(None), score.desc(), ScoreResult.id)).label("best")
    worst = sa.func.row_number().over(partition_by=ScoreResult.run_id,
                                      order_by=(score.is_(None), score.asc(), ScoreResult.id)).label("worst")
    edges = (sa.select(ScoreResult.id.label("result_id"), best, worst)
             .where(ScoreResult.run_id.in_(sorted(by_run)), ScoreResult.level == "unit",
                    ScoreResult.excluded.is_(False))
             .subquery())  # one run per bureau: a short list of ids
    results = db.session.execute(
        sa.select(ScoreResult, edges.c.best, edges.c.worst).join(edges, edges.c.result_id == ScoreResult.id)
        .where(sa.or_(edges.c.best <= EDGE, edges.c.worst <= EDGE))
        .options(joinedload(ScoreResult.unit))).all()
    for result, best_n, _worst in sorted(results, key=lambda r: r[1]):
        if best_n <= EDGE:
            by_run[result.run_id].top.append(result)
    for result, _best, worst_n in sorted(results, key=lambda r: r[2]):
        if worst_n <= EDGE and result not in by_run[result.run_id].top:
            by_run[result.run_id].bottom.append(result)


def _participation(out: dict[int, BureauFigures]) -> None:
    newest = sa.func.row_number().over(partition_by=Cycle.bureau_id,
                                       order_by=(Cycle.starts_on.desc(), Cycle.id.desc())).label("n")
    ranked = (sa.select(Cycle.id.label("cycle_id"), newest)
              .where(Cycle.status != "draft", Cycle.bureau_id.is_not(None)).subquery())
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(Cycle, Assignment.status, sa.func.count(Assignment.id))
        .join(ranked, ranked.c.cycle_id == Cycle.id)
        .outerjoin(Assignment, Assignment.cycle_id == Cycle.id)
        .where(ranked.c.n == 1).group_by(Cycle.id, Assignment.status)).all()
    cycles = {}
    for cycle, status, n in rows:
        cycles[cycle.id] = cycle
        if status is not None:
            counts[cycle.id][status] = n
    for cycle in cycles.values():
        figures = out.get(cycle.bureau_id)  # type: ignore[arg-type]  # not NULL: filtered above
        if figures is None:
            continue
        figures.participation_cycle = cycle
        by_status = counts.get(cycle.id, {})
        figures.ratings_total = sum(n for status, n in by_status.items() if status != "declined")
        figures.ratings_submitted = by_status.get("submitted", 0)
