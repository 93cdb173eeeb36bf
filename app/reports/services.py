"""Reports and dashboards: the individual 360 report, the station dashboard and the bureau overview,
their exports, and the stored 360 reliability figures.

Everything here reads. The bureau overview works from stored run results and aggregate queries
(never every answer), so that it stays fast for a province; the only function that reads a cycle's
answers is ``compute_reliability``, whose figures are stored (ReliabilityReport) for the page.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from scoring.assessment import dual_track, rank_within, weakest
from surveys.anonymity import OTHERS, RATEE, thresholds, visible_groups

from .. import scope
from ..assessment.catalogue import DIMENSION_LABELS, GRADE_LABELS
from ..assessment.runs import is_shown, latest_run, published_run
from ..extensions import db
from ..feedback import services as feedback
from ..models import (
    Answer,
    Assignment,
    AuditLog,
    Cycle,
    FollowUp,
    Indicator,
    IndicatorValue,
    Officer,
    ReliabilityReport,
    ResidentResponse,
    Response,
    ScoreResult,
    ScoreRun,
    Unit,
    User,
    utcnow,
)
from ..tabular import xlsx_workbook
from . import charts

# The rater groups of the chart, in the order people read them.
CHART_GROUPS = ("self", "peer", "supervisor", "subordinate")
GROUP_LABELS = {"self": _l("自评"), "peer": _l("同事"), "supervisor": _l("领导"), "subordinate": _l("下属"),
                "collaborator": _l("跨单位协作"), OTHERS: _l("他评合计")}
RELIABILITY_GROUPS = ("peer", "supervisor", "subordinate")  # self has one rating per person: no ICC
READING_LABELS = {"good": _l("良好"), "acceptable": _l("可接受"), "poor": _l("较差"), "none": _l("数据不足")}
HIST_BINS_360 = [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]
HIST_BINS_100 = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def _r(x, digits=2):
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None  # NaN and ±inf (a degenerate ICC) → None


# ---- who sees what -----------------------------------------------------------------------------
def led_unit_ids(user: User) -> list[int]:
    """Units whose dashboards and officers' reports ``user`` may open as a leader."""
    return feedback.lead_unit_ids(user.officer) if user.officer is not None else []


def can_view_officer(user: User, officer: Officer) -> bool:
    """Officers see their own report; leaders their unit's officers; admins everyone."""
    if user.has_role("admin"):
        return True
    if user.officer is not None and user.officer.id == officer.id:
        return True
    return officer.unit_id in led_unit_ids(user)


def can_view_unit(user: User, unit: Unit) -> bool:
    """Admins, the province (read-only, published results) and the unit's leaders."""
    return user.has_role("admin", "province") or unit.id in led_unit_ids(user)


def report_cycles() -> list[Cycle]:
    """Cycles a report can be about (not drafts), newest first."""
    return list(db.session.execute(select(Cycle).where(Cycle.status != "draft", scope.cycle_clause())
                                   .order_by(Cycle.starts_on.desc(), Cycle.kind)).scalars())


def visible_run(cycle: Cycle, include_unpublished: bool) -> ScoreRun | None:
    """The cycle's final (published) run; else its run on public notice (公示), which the stations
    and officers see as a provisional result; for admins else its latest computed run (a preview)."""
    run = published_run(cycle) or provisional_run(cycle)
    if run is None and include_unpublished:
        run = latest_run(cycle)
    return run


def provisional_run(cycle: Cycle) -> ScoreRun | None:
    """The cycle's computed run that a feature opens before it is final (on notice), if any."""
    computed = db.session.execute(select(ScoreRun).where(ScoreRun.cycle_id == cycle.id, ScoreRun.status == "done")
                                  .order_by(ScoreRun.version.desc()).limit(20)).scalars()
    return next((run for run in computed if is_shown(run)), None)


def latest_final_run(level: str) -> ScoreRun | None:
    """The newest cycle's final (published) run with results at ``level``: what bureau-wide
    figures (rankings, grades, bonuses) are read from; a run on notice is not final yet."""
    for cycle in report_cycles():
        run = published_run(cycle)
        if run is not None and db.session.scalar(select(ScoreResult.id).where(
                ScoreResult.run_id == run.id, ScoreResult.level == level).limit(1)):
            return run
    return None


def run_label(run: ScoreRun | None) -> str:
    if run is None:
        return _("暂无计算结果")
    if run.status == "published":
        return _("%(cycle)s · 第 %(v)d 版（已发布）", cycle=run.cycle.name, v=run.version)
    if is_shown(run):
        return _("%(cycle)s · 第 %(v)d 版（公示中的暂定结果）", cycle=run.cycle.name, v=run.version)
    return _("%(cycle)s · 第 %(v)d 版（未发布的试算结果，仅供参考）", cycle=run.cycle.name, v=run.version)


def gap_threshold(cycle: Cycle) -> float:
    """Self − others gap (scale points) beyond which a competency is a blind spot or hidden strength:
    the cycle's ``config["feedback"]["gap_threshold"]``, else REPORT_GAP_THRESHOLD (default 1.0)."""
    value = ((cycle.config or {}).get("feedback") or {}).get("gap_threshold")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return float(current_app.config.get("REPORT_GAP_THRESHOLD", 1.0))


# ---- individual report -------------------------------------------------------------------------
@dataclass
class IndividualReport:
    officer: Officer
    cycle: Cycle
    cycles: list
    visible: bool  # the cycle's 360 results may be shown (closed or published)
    feedback: object | None = None  # feedback.FeedbackReport
    chart: charts.Chart | None = None
    threshold: float = 1.0
    gaps: list = field(default_factory=list)  # per competency: name, self, others, gap
    blind_spots: list = field(default_factory=list)
    hidden_strengths: list = field(default_factory=list)
    trend: list = field(default_factory=list)  # per cycle: cycle, self, others, total
    trend_chart: charts.Chart | None = None
    residents: dict | None = None
    team: dict | None = None
    run: ScoreRun | None = None
    result: ScoreResult | None = None
    plan: dict | None = None


def default_report_cycle(officer: Officer) -> Cycle | None:
    """The latest cycle with 360 results for the officer, else the current cycle."""
    cycles = feedback.result_cycles(officer)
    if cycles:
        return cycles[0]
    from ..main.services import current_cycle

    return current_cycle()


def _viewer(user, officer: Officer, cycle: Cycle):
    """The anonymity viewer: ``user`` as the ratee, one of their raters, or neither (None = the ratee)."""
    return RATEE if user is None else feedback.viewer_for(user, officer.id, cycle)


def individual_report(officer: Officer, cycle: Cycle, include_unpublished: bool = False,
                      user: User | None = None) -> IndividualReport:
    """What ``user`` (by default the officer) sees of the officer's report for ``cycle``: every 360
    figure passes the anonymity gate for that viewer (``surveys.anonymity``); the assessment result
    comes from the cycle's published run (admins may see an unpublished one, labelled)."""
    report = IndividualReport(officer=officer, cycle=cycle, cycles=report_cycles(),
                              visible=feedback.results_visible(cycle), threshold=gap_threshold(cycle))
    if report.visible:
        fb = feedback.feedback_report(officer, cycle, _viewer(user, officer, cycle))
        report.feedback = fb
        if fb.has_content:
            labels = [row.name for row in fb.rows]
            series = {str(GROUP_LABELS[g]): [row.cells[g].mean if row.cells[g].shown else None for row in fb.rows]
                      for g in CHART_GROUPS if any(row.cells[g].shown for row in fb.rows)}
            report.chart = charts.radar(_("各能力项得分（1–5 分）"), labels, series, first_header=_("能力项"))
        for row in fb.rows:
            mine, others = row.cells["self"], row.cells[OTHERS]
            if not (mine.shown and others.shown):
                continue
            gap = mine.mean - others.mean
            entry = {"code": row.code, "name": row.name, "self": _r(mine.mean), "others": _r(others.mean),
                     "gap": _r(gap)}
            report.gaps.append(entry)
            if gap > report.threshold:
                report.blind_spots.append(entry)
            elif gap < -report.threshold:
                report.hidden_strengths.append(entry)
    report.trend = officer_trend(officer, user)
    if len(report.trend) >= 1:
        labels = [t["cycle"].name for t in report.trend]
        report.trend_chart = charts.bars(
            _("历次 360 评价总体得分（1–5 分）"), labels,
            {str(GROUP_LABELS["self"]): [t["self"] for t in report.trend],
             str(GROUP_LABELS[OTHERS]): [t["others"] for t in report.trend]},
            value_range=(1, 5), first_header=_("周期"))
    report.residents = officer_residents(officer, cycle)
    report.team = officer_team_points(officer, cycle)
    run = visible_run(cycle, include_unpublished)
    if run is not None:
        report.run = run
        report.result = db.session.execute(select(ScoreResult).filter_by(run_id=run.id, officer_id=officer.id)
                                           ).scalar_one_or_none()
        if report.result is not None:
            report.plan = development_plan(run, report.result, report.feedback,
                                           _viewer(user, officer, run.cycle))
    return report


def officer_trend(officer: Officer, user: User | None = None) -> list[dict]:
    """The officer's overall self and others scores in each closed or published cycle, oldest first,
    as ``user`` may see them, with their assessment total where a published run scored them."""
    out = []
    for cycle in reversed(feedback.result_cycles(officer)):
        fb = feedback.feedback_report(officer, cycle, _viewer(user, officer, cycle))
        run = published_run(cycle)
        total = None
        if run is not None:
            total = db.session.scalar(select(ScoreResult.total).filter_by(run_id=run.id, officer_id=officer.id))
        mine, others = fb.overall["self"], fb.overall[OTHERS]
        out.append({"cycle": cycle, "self": _r(mine.mean) if mine.shown else None,
                    "others": _r(others.mean) if others.shown else None, "total": _r(total)})
    return out


def officer_residents(officer: Officer, cycle: Cycle) -> dict | None:
    """Residents' satisfaction with the officer in the cycle (shrunk rate with its interval), or None."""
    details = resident_scores(cycle)["soft_residents_officer"]["details"].get(officer.id)
    if not details:
        return None
    return {"rate": _r(100 * details["rate"], 1), "low": _r(100 * details["low"], 1),
            "high": _r(100 * details["high"], 1), "n": details["n"],
            "raw_rate": None if details["raw_rate"] is None else _r(100 * details["raw_rate"], 1)}


def resident_scores(cycle: Cycle) -> dict:
    """``residents.services.soft_indicator_values(cycle)``, scored once for as long as the cycle's
    answers stay the same: once per installation with Redis (``app.sharedcache``; the worker scores
    them ahead of the pages), else once per process.

    An officer's shrunk rate depends on every answer of the cycle (the prior strength and the
    group rates are estimated from all of them), so it cannot be scored from the officer's answers
    alone; but scoring them all for every report cost 1.3 s at 50,000 officers. Whether anything
    changed is told by reads that do not grow with the data (an aggregate over every answer of the
    cycle cost 250 ms per station dashboard at 50,000 officers): answers and the officers their links
    name are only ever added, never changed or deleted, so the largest answer id moves with every new
    answer; officers' units and units' categories change only with an audited edit (the latest such
    audit row), and a new unit raises the units' count. An answer committed after one with a larger
    id that was already counted is picked up with the next answer.
    """
    from ..residents.services import soft_indicator_values
    from ..sharedcache import cached

    answers = db.session.scalar(select(func.max(ResidentResponse.id)))
    org = db.session.scalar(select(func.max(AuditLog.id)).where(AuditLog.entity.in_(("unit", "officer"))))
    units = db.session.execute(select(func.count(Unit.id), func.max(Unit.id))).one()
    settings = ((cycle.config or {}).get("assessment_options") or {}).get("basic_satisfied_credit")
    key = (cycle.id, cycle.created_at, cycle.starts_on, cycle.ends_on, settings, answers, org, tuple(units))
    return cached("resident_scores", cycle.id, key, lambda: soft_indicator_values(cycle))


def fill_figures(limit: int = 4) -> int:
    """Score ahead of the pages the residents' figures of the cycles pages open on (the open ones,
    then the newest others, ``limit`` in all), so that no visitor waits for them (with Redis they are
    shared, ``app.sharedcache``); returns how many cycles were looked at. Cheap when nothing changed
    (the fingerprints are read, nothing is scored)."""
    cycles = list(db.session.execute(
        select(Cycle).where(Cycle.status != "draft")
        .order_by((Cycle.status == "open").desc(), Cycle.starts_on.desc()).limit(limit)).scalars())
    for cycle in cycles:
        resident_scores(cycle)
    db.session.rollback()
    return len(cycles)


def officer_team_points(officer: Officer, cycle: Cycle) -> dict | None:
    from ..claims.standing import team_standing_cached as team_standing

    standing = team_standing(cycle)
    mine = standing.officers.get(officer.id)
    if mine is None:
        return None
    rank = next((i + 1 for i, row in enumerate(standing.top_officers) if row["officer"].id == officer.id), None)
    return {"points": mine["cents"] / 100, "uncapped": mine["uncapped"] / 100, "capped": mine["capped"],
            "claims": mine["claims"], "rank": rank, "of": len(standing.top_officers)}


def development_plan(run: ScoreRun, result: ScoreResult, fb=None, viewer=RATEE) -> dict | None:
    """The dual track for one officer: "top" (priority training) or "bottom" with a plan naming the
    weakest indicators (and competencies); None when the officer is in neither group. A 360-based
    indicator hidden from ``viewer`` by the anonymity gate is not named."""
    shares = (run.options or {}).get("dual_track") or {"top_share": 10.0, "bottom_share": 10.0}
    rows = db.session.execute(
        select(ScoreResult.id, ScoreResult.total, ScoreResult.category)
        .where(ScoreResult.run_id == run.id, ScoreResult.level == result.level).order_by(ScoreResult.id)).all()
    ids = [r.id for r in rows]
    scores = np.array([np.nan if r.total is None else r.total for r in rows])  # within category, like ranks
    top, bottom = dual_track(scores, float(shares["top_share"]) / 100, float(shares["bottom_share"]) / 100,
                             groups=np.array([r.category for r in rows], dtype=np.int64))
    i = ids.index(result.id)
    if top[i]:
        return {"group": "top", "share": shares["top_share"]}
    if not bottom[i]:
        return None
    inds = [x for x in feedback.gated_breakdown(result, viewer, thresholds(run.cycle.config)).get("indicators", [])
            if not x.get("hidden_360")]
    weak_inds = []
    if inds:
        normalised = np.array([[np.nan if x["normalised"] is None else x["normalised"] for x in inds]])
        weak_inds = [inds[j] for j in weakest(normalised, 3)[0] if j >= 0]
    competencies = []
    if fb is not None:
        shown = [(row.cells[OTHERS].mean, row.name) for row in fb.rows if row.cells[OTHERS].shown]
        competencies = [{"name": name, "score": _r(mean)} for mean, name in sorted(shown)[:2]]
    return {"group": "bottom", "share": shares["bottom_share"], "indicators": weak_inds,
            "competencies": competencies}


def report_summary(officer: Officer) -> dict | None:
    """The landing page's summary of the officer's latest report (gated like the report)."""
    cycles = feedback.result_cycles(officer)
    if not cycles:
        return None
    cycle = cycles[0]
    fb = feedback.feedback_report(officer, cycle)
    if not fb.has_content:
        return {"cycle": cycle, "feedback": fb, "chart": None}
    labels = [row.name for row in fb.rows]
    series = {str(GROUP_LABELS[g]): [row.cells[g].mean if row.cells[g].shown else None for row in fb.rows]
              for g in ("self", OTHERS) if any(row.cells[g].shown for row in fb.rows)}
    chart = charts.radar(_("我的各能力项得分（1–5 分）"), labels, series, first_header=_("能力项"))
    return {"cycle": cycle, "feedback": fb, "chart": chart, "self": fb.overall["self"],
            "others": fb.overall[OTHERS]}


# ---- station dashboard --------------------------------------------------------------------------
@dataclass
class StationDashboard:
    unit: Unit
    cycle: Cycle | None
    cycles: list
    run: ScoreRun | None = None
    run_label: str = ""
    result: ScoreResult | None = None
    in_category: int = 0
    dimensions: list = field(default_factory=list)  # code, label, score, category mean, weight
    dimension_chart: charts.Chart | None = None
    rates: dict | None = None
    rate_chart: charts.Chart | None = None
    follow_ups: dict = field(default_factory=dict)
    team: dict | None = None
    histogram_cycle: Cycle | None = None
    histogram: charts.Chart | None = None
    histogram_n: int = 0
    changes: dict | None = None
    residents: dict | None = None  # the station's resident satisfaction in the cycle (shrunk, interval, n)


def default_unit_cycle(unit: Unit, include_unpublished: bool) -> Cycle | None:
    """The cycle a station dashboard opens on: the latest one with a result for the unit, else the current one."""
    from ..main.services import current_cycle

    run = _latest_run_for_unit(unit, include_unpublished)
    return run.cycle if run is not None else current_cycle()


def unit_residents(unit: Unit, cycle: Cycle) -> dict | None:
    """Residents' satisfaction with the unit in the cycle (the soft indicator's shrunk rate, its interval and
    the number of answers), or None without answers. A unit's figure names no officer, so it needs no minimum."""
    details = resident_scores(cycle)["soft_residents"]["details"].get(unit.id)
    if not details:
        return None
    return {"rate": _r(100 * details["rate"], 1), "low": _r(100 * details["low"], 1),
            "high": _r(100 * details["high"], 1), "n": details["n"],
            "raw_rate": None if details["raw_rate"] is None else _r(100 * details["raw_rate"], 1)}


def _dimension_rows(result: ScoreResult) -> dict[str, dict]:
    return {d["code"]: d for d in (result.breakdown or {}).get("dimensions", [])}


def _category_dimension_means(run: ScoreRun, category: int) -> dict[str, float]:
    sums: dict[str, list[float]] = defaultdict(list)
    for (breakdown,) in db.session.execute(
            select(ScoreResult.breakdown).where(ScoreResult.run_id == run.id, ScoreResult.level == "unit",
                                                ScoreResult.category == category)):
        for d in (breakdown or {}).get("dimensions", []):
            if d.get("score") is not None:
                sums[d["code"]].append(d["score"])
    return {code: sum(v) / len(v) for code, v in sums.items()}


def station_dashboard(unit: Unit, cycle: Cycle | None, include_unpublished: bool,
                      user: User | None = None) -> StationDashboard:
    """A station's figures, every block from the one ``cycle`` (said once at the top of the page)."""
    dash = StationDashboard(unit=unit, cycle=cycle, cycles=report_cycles())
    # a police-type unit's figures include its squads, as its leader's tracking does
    members = [unit.id] + list(db.session.execute(
        select(Unit.id).where(Unit.parent_id == unit.id, Unit.kind == "squad")).scalars())
    run = visible_run(cycle, include_unpublished) if cycle is not None else None
    if run is not None and not db.session.scalar(select(ScoreResult.id).filter_by(run_id=run.id, unit_id=unit.id)):
        run = None
    dash.run, dash.run_label = run, run_label(run)
    if run is not None:
        result = db.session.execute(select(ScoreResult).filter_by(run_id=run.id, unit_id=unit.id)).scalar_one()
        dash.result = result
        dash.in_category = db.session.scalar(select(func.count(ScoreResult.id)).where(
            ScoreResult.run_id == run.id, ScoreResult.level == "unit", ScoreResult.category == result.category,
            ScoreResult.rank.is_not(None))) or 0
        means = _category_dimension_means(run, result.category)
        for code, d in _dimension_rows(result).items():
            dash.dimensions.append({"code": code, "label": str(DIMENSION_LABELS.get(code, code)),
                                    "score": _r(d.get("score")), "mean": _r(means.get(code)),
                                    "weight": _r(d.get("weight")), "shown": d.get("shown")})
        if dash.dimensions:
            dash.dimension_chart = charts.bars(
                _("各维度得分（0–100）"), [d["label"] for d in dash.dimensions],
                {unit.name: [d["score"] for d in dash.dimensions],
                 _("同类别平均"): [d["mean"] for d in dash.dimensions]}, first_header=_("维度"))
        dash.changes = changes_since_last(unit, run, result)
    if cycle is not None:
        rates = feedback.response_rates(cycle, members)
        if rates["overall"].total:
            dash.rates = rates
            dash.rate_chart = charts.bars(
                _("360 评价完成率（%）"), [_relation_label(r) for r, _rate in rates["relations"]],
                {_("完成率"): [rate.percent for _r_, rate in rates["relations"]]},
                first_header=_("评价关系"))
        dash.team = unit_team_points(unit, cycle)
        dash.residents = unit_residents(unit, cycle)
    dash.follow_ups = follow_up_status(members, cycle)
    hist_cycle = cycle if cycle is not None and feedback.results_visible(cycle) and _has_360(cycle) else None
    if hist_cycle is not None:
        values = officer_360_means(hist_cycle, members, user)
        dash.histogram_cycle, dash.histogram_n = hist_cycle, len(values)
        if values:
            dash.histogram = charts.histogram(_("民警 360 他评得分分布"), values, HIST_BINS_360, _("人数"),
                                              first_header=_("得分区间"))
    return dash


def _relation_label(relation: str) -> str:
    from ..feedback.forms import RELATION_LABELS

    return str(RELATION_LABELS.get(relation, relation))


def _latest_run_for_unit(unit: Unit, include_unpublished: bool) -> ScoreRun | None:
    for cycle in report_cycles():
        run = visible_run(cycle, include_unpublished)
        if run is not None and db.session.scalar(select(ScoreResult.id).filter_by(run_id=run.id, unit_id=unit.id)):
            return run
    return None


def _has_360(cycle: Cycle) -> bool:
    return bool(db.session.scalar(select(Assignment.id).where(Assignment.cycle_id == cycle.id,
                                                              Assignment.status == "submitted").limit(1)))


def _latest_360_cycle() -> Cycle | None:
    has = select(Assignment.id).where(Assignment.cycle_id == Cycle.id, Assignment.status == "submitted").exists()
    return db.session.execute(select(Cycle).where(Cycle.status.in_(("closed", "published")), has, scope.cycle_clause())
                              .order_by(Cycle.starts_on.desc())).scalars().first()


def officer_360_means(cycle: Cycle, unit_ids: list[int] | None = None, user: User | None = None) -> list[float]:
    """Each officer's mean non-self rating (1–5) in a closed cycle, two aggregate queries. An officer
    is left out unless their "others" figure passes the anonymity gate for ``user`` (the viewer: their
    own ratings do not count towards anyone's anonymity; None = someone who rated nobody)."""
    from surveys.anonymity import Viewer

    limits = thresholds(cycle.config)
    base = (Assignment.cycle_id == cycle.id, Assignment.status == "submitted", Assignment.relation != "self",
            Answer.value.is_not(None))
    mean_q = (select(Assignment.ratee_id, func.avg(Answer.value))
              .join(Response, Response.assignment_id == Assignment.id).join(Answer, Answer.response_id == Response.id)
              .where(*base).group_by(Assignment.ratee_id))
    count_q = (select(Assignment.ratee_id, Assignment.relation, func.count(func.distinct(Assignment.rater_id)))
               .join(Response, Response.assignment_id == Assignment.id).join(Answer, Answer.response_id == Response.id)
               .where(*base).group_by(Assignment.ratee_id, Assignment.relation))
    if unit_ids is not None:
        mean_q = mean_q.join(Officer, Officer.id == Assignment.ratee_id).where(Officer.unit_id.in_(unit_ids))
        count_q = count_q.join(Officer, Officer.id == Assignment.ratee_id).where(Officer.unit_id.in_(unit_ids))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for ratee_id, relation, n in db.session.execute(count_q):
        counts[ratee_id][relation] = int(n)
    mine = feedback.rated_by(user, cycle) if user is not None else {}
    is_admin = user is not None and user.has_role("admin")
    own = user.officer.id if user is not None and user.officer is not None else None
    out = []
    for ratee_id, mean in db.session.execute(mean_q):
        viewer = Viewer(is_ratee=ratee_id == own, rated_as=mine.get(ratee_id, frozenset()), sees_details=is_admin)
        if visible_groups(counts[ratee_id], limits, viewer)[OTHERS]:
            out.append(round(float(mean), 2))
    return out


def unit_team_points(unit: Unit, cycle: Cycle) -> dict | None:
    from ..claims.standing import team_standing_cached as team_standing

    standing = team_standing(cycle)
    row = next((r for r in standing.units if r["unit"].id == unit.id), None)
    if row is None:
        return None
    return {"points": row["cents"] / 100, "rank": row["rank"], "of": len(standing.units), "claims": row["claims"]}


def follow_up_status(unit_ids: list[int] | None, cycle: Cycle | None = None) -> dict:
    """The follow-up queue now: open / checked / fixed and overdue (not fixed past their due day)."""
    from ..residents.settings import local_today

    today = local_today()
    query = select(FollowUp.status, func.count(FollowUp.id),
                   func.sum(case((FollowUp.due_on < today, 1), else_=0))).group_by(FollowUp.status)
    if unit_ids is not None:
        query = query.where(FollowUp.unit_id.in_(unit_ids))
    counts = {"open": 0, "checked": 0, "fixed": 0, "overdue": 0}
    for status, n, late in db.session.execute(query):
        counts[status] = n
        if status != "fixed":
            counts["overdue"] += int(late or 0)
    counts["total"] = counts["open"] + counts["checked"] + counts["fixed"]
    return counts


def changes_since_last(unit: Unit, run: ScoreRun, result: ScoreResult) -> dict | None:
    """Total, rank and dimension scores against the previous cycle of the same kind with a
    published run (or None when there is none)."""
    previous = db.session.execute(
        select(Cycle).where(Cycle.kind == run.cycle.kind, Cycle.starts_on < run.cycle.starts_on,
                            scope.same_bureau(Cycle.bureau_id, run.cycle.bureau_id))
        .order_by(Cycle.starts_on.desc())).scalars().all()
    for cycle in previous:
        prev_run = published_run(cycle)
        if prev_run is None:
            continue
        before = db.session.execute(select(ScoreResult).filter_by(run_id=prev_run.id, unit_id=unit.id)
                                    ).scalar_one_or_none()
        if before is None:
            continue
        dims = []
        old = _dimension_rows(before)
        for code, d in _dimension_rows(result).items():
            was = old.get(code, {}).get("score")
            now = d.get("score")
            dims.append({"label": str(DIMENSION_LABELS.get(code, code)), "before": _r(was), "now": _r(now),
                         "delta": _r(now - was) if now is not None and was is not None else None})
        total_delta = (result.total - before.total
                       if result.total is not None and before.total is not None else None)
        return {"cycle": cycle, "total_before": _r(before.total), "total_now": _r(result.total),
                "total_delta": _r(total_delta),
                "rank_before": before.rank, "rank_now": result.rank,
                "grade_before": before.grade, "grade_now": result.grade, "dimensions": dims}
    return None


def unit_summary(unit: Unit, include_unpublished: bool = False) -> dict | None:
    """The landing page's station summary for a leader."""
    run = _latest_run_for_unit(unit, include_unpublished)
    if run is None:
        return {"unit": unit, "run": None}
    result = db.session.execute(select(ScoreResult).filter_by(run_id=run.id, unit_id=unit.id)).scalar_one()
    in_category = db.session.scalar(select(func.count(ScoreResult.id)).where(
        ScoreResult.run_id == run.id, ScoreResult.level == "unit", ScoreResult.category == result.category,
        ScoreResult.rank.is_not(None)))
    means = _category_dimension_means(run, result.category)
    dims = list(_dimension_rows(result).items())
    chart = charts.bars(_("各维度得分（0–100）"), [str(DIMENSION_LABELS.get(c, c)) for c, _d in dims],
                        {unit.name: [d.get("score") for _c, d in dims],
                         _("同类别平均"): [means.get(c) for c, _d in dims]}, first_header=_("维度"))
    return {"unit": unit, "run": run, "label": run_label(run), "result": result, "in_category": in_category,
            "chart": chart}


# ---- bureau overview ---------------------------------------------------------------------------
@dataclass
class BureauOverview:
    cycle: Cycle | None
    cycles: list
    run: ScoreRun | None = None
    run_label: str = ""
    categories: dict = field(default_factory=dict)  # category → [ranking row]
    moved: int = 0  # stations whose rank the coefficients changed
    grade_chart: charts.Chart | None = None
    category_chart: charts.Chart | None = None
    officer_histogram: charts.Chart | None = None
    officers_scored: int = 0
    team: object | None = None
    flags: list = field(default_factory=list)
    completeness: list = field(default_factory=list)
    completeness_total: int = 0
    reliability_cycle: Cycle | None = None
    reliability: ReliabilityReport | None = None
    reliability_rows: list = field(default_factory=list)
    reliability_stale: bool = False
    data_cycle: Cycle | None = None  # the cycle of the completeness, award and response figures


def ranking_rows(run: ScoreRun) -> dict[int, list[dict]]:
    """Category → stations by rank. Ranks inside a category go by the total (0–100); the
    difficulty-weighted score (total × coefficient, may exceed 100) is used where money is
    shared across categories. For reference across categories ``overall_before`` ranks every
    station by its total, ``overall`` by the difficulty-weighted score, and ``moved`` is the
    difference (positive = moved up). Columns only, no breakdown JSON: one query."""
    rows = db.session.execute(
        select(ScoreResult.unit_id, Unit.code, Unit.name, ScoreResult.category, ScoreResult.total,
               ScoreResult.coefficient, ScoreResult.adjusted_total, ScoreResult.rank, ScoreResult.grade,
               ScoreResult.bonus_cents, ScoreResult.coverage, ScoreResult.excluded)
        .join(Unit, Unit.id == ScoreResult.unit_id)
        .where(ScoreResult.run_id == run.id, ScoreResult.level == "unit")
        .order_by(ScoreResult.category, ScoreResult.rank.is_(None), ScoreResult.rank, Unit.code)).all()
    if not rows:
        return {}
    totals = np.array([np.nan if r.total is None else r.total for r in rows])
    adjusted = np.array([np.nan if r.adjusted_total is None else r.adjusted_total for r in rows])
    before, after = rank_within(totals), rank_within(adjusted)
    out: dict[int, list[dict]] = defaultdict(list)
    for r, b, a in zip(rows, before.tolist(), after.tolist(), strict=True):
        b, a = (b if b > 0 else None), (a if a > 0 else None)
        out[r.category].append({
            "unit_id": r.unit_id, "code": r.code, "name": r.name, "category": r.category, "total": _r(r.total),
            "coefficient": r.coefficient, "adjusted": _r(r.adjusted_total), "rank": r.rank,
            "overall_before": b, "overall": a, "moved": (b - a) if (a and b) else None,
            "grade": r.grade, "grade_label": str(GRADE_LABELS[r.grade]) if r.grade else "",
            "bonus": None if r.bonus_cents is None else r.bonus_cents / 100, "coverage": _r(100 * r.coverage, 1),
            "excluded": r.excluded})
    return dict(out)


def completeness_rows(cycle: Cycle | None) -> list[dict]:
    """Per active station, for the cycle: indicator coverage of the data pool (the share of the
    active unit-level indicators fed by business systems that have a current value), 360 response
    rate of its officers, and resident answers. Three aggregate queries."""
    stations = db.session.execute(select(Unit.id, Unit.code, Unit.name, Unit.category)
                                  .where(Unit.kind == "station", Unit.is_active, scope.clause(Unit.bureau_id),
                                         scope.cycle_unit_clause(cycle)).order_by(Unit.code)).all()
    hard = (Indicator.level == "unit", Indicator.is_active, Indicator.is_soft.is_(False))
    expected = db.session.scalar(select(func.count(Indicator.id)).where(*hard)) or 0
    values: dict[int, int] = {}
    rates: dict[int, tuple[int, int]] = {}
    answers: dict[int, int] = {}
    if cycle is not None:
        values = {uid: n for uid, n in db.session.execute(
            select(IndicatorValue.unit_id, func.count(func.distinct(IndicatorValue.indicator_id)))
            .join(Indicator, Indicator.id == IndicatorValue.indicator_id)
            .where(IndicatorValue.cycle_id == cycle.id, IndicatorValue.is_current, IndicatorValue.unit_id.is_not(None),
                   *hard)
            .group_by(IndicatorValue.unit_id)) if uid is not None}
        finished = func.sum(case((Assignment.status.in_(("submitted", "declined")), 1), else_=0))
        rates = {uid: (int(total), int(d or 0)) for uid, total, d in db.session.execute(
            select(Officer.unit_id, func.count(Assignment.id), finished)
            .join(Officer, Officer.id == Assignment.rater_id)
            .where(Assignment.cycle_id == cycle.id).group_by(Officer.unit_id))}
        answers = dict(db.session.execute(
            select(ResidentResponse.unit_id, func.count(ResidentResponse.id))
            .where(ResidentResponse.answered_on >= cycle.starts_on, ResidentResponse.answered_on <= cycle.ends_on)
            .group_by(ResidentResponse.unit_id)).all())
    out = []
    for uid, code, name, category in stations:
        total, done = rates.get(uid, (0, 0))
        out.append({"unit_id": uid, "code": code, "name": name, "category": category,
                    "coverage": _r(100 * values.get(uid, 0) / expected, 1) if expected else None,
                    "assignments": total, "response_rate": _r(100 * done / total, 1) if total else None,
                    "resident_answers": answers.get(uid, 0)})
    # the least complete first: low coverage, low response rate, few answers
    out.sort(key=lambda r: (r["coverage"] if r["coverage"] is not None else -1,
                            r["response_rate"] if r["response_rate"] is not None else -1,
                            r["resident_answers"], r["code"]))
    return out


def bureau_overview(cycle: Cycle | None, completeness_limit: int = 30) -> BureauOverview:
    """The admin's view of the whole bureau, from stored results and aggregate queries."""
    view = BureauOverview(cycle=cycle, cycles=report_cycles())
    run = published_run(cycle) if cycle is not None else None  # final results only, never a run on notice
    if run is None or not db.session.scalar(select(ScoreResult.id).where(ScoreResult.run_id == run.id,
                                                                         ScoreResult.level == "unit").limit(1)):
        run = latest_final_run(level="unit")
    view.run, view.run_label = run, run_label(run)
    if run is not None:
        view.categories = ranking_rows(run)
        view.moved = sum(1 for rows in view.categories.values() for r in rows if r["moved"])
        if view.categories:
            view.category_chart = category_chart(view.categories)
        view.grade_chart = grade_chart(view.categories)
        totals = officer_totals(run)
        view.officers_scored = len(totals)
        view.officer_histogram = officer_histogram(totals)
    data_cycle = cycle if cycle is not None else (run.cycle if run is not None else None)
    view.data_cycle = data_cycle
    if data_cycle is not None:
        from ..claims.standing import team_standing_cached as team_standing

        view.team = team_standing(data_cycle)
    from ..assessment.runs import consecutive_last_flags

    view.flags = consecutive_last_flags()
    rows = completeness_rows(data_cycle)
    view.completeness_total = len(rows)
    view.completeness = rows[:completeness_limit] if completeness_limit else rows
    _add_reliability(view, reliability_cycle(data_cycle))
    return view


def grade_chart(categories: dict[int, list[dict]]) -> charts.Chart:
    """How many stations of each category got each grade."""
    from ..templating import CATEGORY_LABELS

    grade_codes = list(GRADE_LABELS)
    counts = {c: [sum(1 for r in rows if r["grade"] == g) for g in grade_codes] for c, rows in categories.items()}
    return charts.bars(
        _("各类别等次分布（个）"), [str(GRADE_LABELS[g]) for g in grade_codes],
        {str(CATEGORY_LABELS.get(c, c)): counts[c] for c in sorted(counts)},
        value_range=(0, max([1] + [n for v in counts.values() for n in v])), first_header=_("等次"))


def officer_totals(run: ScoreRun) -> list[float]:
    """The officers' total scores in a run (those with one)."""
    totals = db.session.execute(select(ScoreResult.total).where(
        ScoreResult.run_id == run.id, ScoreResult.level == "officer",
        ScoreResult.total.is_not(None))).scalars()
    return [t for t in totals if t is not None]


def officer_histogram(totals: list[float]) -> charts.Chart | None:
    """The spread of officers' totals in bins of ten (up to the highest total when above 100)."""
    if not totals:
        return None
    top = max(100.0, math.ceil(max(totals) / 10) * 10)
    bins = [b for b in HIST_BINS_100 if b < top] + [top]
    return charts.histogram(_("民警考评得分分布（总分）"), totals, bins, _("人数"), first_header=_("得分区间"))


def reliability_cycle(data_cycle: Cycle | None) -> Cycle | None:
    """The cycle whose 360 reliability the overview shows: the data cycle once its answers are
    complete (results visible) and it has some; otherwise the latest cycle with 360 answers."""
    # an open cycle's answers are still coming in: its reliability waits until it closes
    if data_cycle is not None and feedback.results_visible(data_cycle) and _has_360(data_cycle):
        return data_cycle
    return _latest_360_cycle()


def _add_reliability(view: BureauOverview, rel_cycle: Cycle | None) -> None:
    """The stored reliability figures of ``rel_cycle`` with their readings, and whether answers
    arrived since they were computed."""
    view.reliability_cycle = rel_cycle
    if rel_cycle is None:
        return
    stored = db.session.execute(select(ReliabilityReport).filter_by(cycle_id=rel_cycle.id)).scalar_one_or_none()
    view.reliability = stored
    if stored is not None:
        view.reliability_rows = [{**row, **reliability_reading(row)} for row in stored.data.get("rows", [])]
        view.reliability_stale = stored.answers != count_answers(rel_cycle)


def category_chart(categories: dict[int, list[dict]]) -> charts.Chart:
    """Mean, best and worst total of each category (what ranks within a category)."""
    from ..templating import CATEGORY_LABELS

    labels = [str(CATEGORY_LABELS.get(c, c)) for c in sorted(categories)]
    scored = [[r["total"] for r in rows if r["total"] is not None] for _c, rows in sorted(categories.items())]
    means = [sum(v) / len(v) if v else None for v in scored]
    best = [max(v, default=None) for v in scored]
    worst = [min(v, default=None) for v in scored]
    return charts.bars(_("各类别总分"), labels, {_("最高"): best, _("平均"): means, _("最低"): worst},
                       value_range=(0, max([100.0] + [b for b in best if b is not None])), first_header=_("类别"))


def bureau_summary() -> dict | None:
    """The landing page's bureau figures for admins (from the newest final result)."""
    run = latest_final_run(level="unit")
    if run is None:
        return None
    categories = ranking_rows(run)
    chart = category_chart(categories)
    leaders = {c: rows[0] for c, rows in categories.items() if rows}
    return {"run": run, "label": run_label(run), "chart": chart, "leaders": leaders,
            "stations": sum(len(v) for v in categories.values())}


# ---- reliability -------------------------------------------------------------------------------
def count_answers(cycle: Cycle) -> int:
    return db.session.scalar(select(func.count(Answer.id)).join(Response, Response.id == Answer.response_id)
                             .join(Assignment, Assignment.id == Response.assignment_id)
                             .where(Assignment.cycle_id == cycle.id, Assignment.status == "submitted")) or 0


def compute_reliability(cycle: Cycle, user_id: int | None = None) -> ReliabilityReport:
    """Score the cycle's 360 answers (scoring.score_feedback) and store ICC(1), ICC(1,k) and alpha per
    competency × rater group, replacing the cycle's earlier figures."""
    from ..errors import DomainError

    arrays = feedback.load_ratings(cycle)
    if arrays is None:
        raise DomainError(_("该周期没有已提交的 360 评价，无法计算信度。"))
    scores = feedback.score_ratings(arrays)
    rel = scores.reliability
    names = dict(feedback.competency_names(cycle))
    rows = []
    for k, code in enumerate(arrays.competency_codes):
        if k >= rel.icc1.shape[0]:
            break
        for group in RELIABILITY_GROUPS:
            g = int(feedback.GROUP_INDEX[group])
            n_targets = int(rel.n_targets[k, g])
            if not n_targets:
                continue
            rows.append({"code": code, "name": names.get(code, code), "group": group,
                         "icc1": _r(rel.icc1[k, g], 3), "icc1k": _r(rel.icc1k[k, g], 3),
                         "alpha": _r(rel.alpha[k, g], 3), "n_targets": n_targets,
                         "n_forms": int(rel.n_forms[k, g])})
    stored = db.session.execute(select(ReliabilityReport).filter_by(cycle_id=cycle.id)).scalar_one_or_none()
    if stored is None:
        stored = ReliabilityReport(cycle_id=cycle.id, answers=0)
        db.session.add(stored)
    stored.answers = len(arrays.value)
    stored.data = {"rows": rows}
    stored.computed_at = utcnow()
    stored.computed_by_id = user_id
    db.session.flush()
    return stored


def _reading(value, good: float, acceptable: float) -> str:
    if value is None:
        return "none"
    return "good" if value >= good else "acceptable" if value >= acceptable else "poor"


def reliability_reading(row: dict) -> dict:
    """Plain-language readings: ICC(1,k) (how far the averaged score of the group can be trusted)
    good ≥ 0.75, acceptable ≥ 0.60; alpha (do the items of a competency measure one thing) good ≥
    0.80, acceptable ≥ 0.70."""
    icc = _reading(row.get("icc1k"), 0.75, 0.60)
    alpha = _reading(row.get("alpha"), 0.80, 0.70)
    sentences = {
        "good": _("多人评价的平均分稳定可信"), "acceptable": _("平均分基本可信，宜结合其他信息使用"),
        "poor": _("评价人之间分歧较大，平均分只能作参考"), "none": _("人数太少，无法判断"),
    }
    return {"icc_reading": icc, "alpha_reading": alpha, "sentence": sentences[icc]}


# ---- exports -----------------------------------------------------------------------------------
def ranking_sheet(view: BureauOverview) -> tuple[list[str], list[list]]:
    from ..templating import CATEGORY_LABELS

    header = [_("类别"), _("类别内排名"), _("单位代码"), _("单位"), _("总分"), _("难度系数"),
              _("难度加权分（可超过 100）"), _("全局排名（按总分）"), _("全局排名（按难度加权分）"),
              _("难度系数带来的名次变化"), _("等次"),
              _("奖金（元）"), _("指标覆盖率（%）")]
    rows = []
    for category, items in sorted(view.categories.items()):
        for r in items:
            rows.append([str(CATEGORY_LABELS.get(category, category)), r["rank"], r["code"], r["name"], r["total"],
                         r["coefficient"], r["adjusted"], r["overall_before"], r["overall"], r["moved"],
                         r["grade_label"], r["bonus"], r["coverage"]])
    return header, rows


def breakdown_sheet(run: ScoreRun) -> tuple[list[str], list[list]]:
    """Per station: every dimension's score and contribution (from the stored breakdown)."""
    dims = list(DIMENSION_LABELS)
    header = [_("单位代码"), _("单位"), _("类别")]
    for d in dims:
        header += [_("%(dim)s得分", dim=DIMENSION_LABELS[d]), _("%(dim)s贡献", dim=DIMENSION_LABELS[d])]
    header += [_("总分")]
    rows = []
    for code, name, category, total, breakdown in db.session.execute(
            select(Unit.code, Unit.name, ScoreResult.category, ScoreResult.total, ScoreResult.breakdown)
            .join(Unit, Unit.id == ScoreResult.unit_id)
            .where(ScoreResult.run_id == run.id, ScoreResult.level == "unit").order_by(Unit.code)):
        by_code = {d["code"]: d for d in (breakdown or {}).get("dimensions", [])}
        row = [code, name, category]
        for d in dims:
            row += [_r(by_code.get(d, {}).get("score")), _r(by_code.get(d, {}).get("shown"))]
        rows.append(row + [_r(total)])
    return header, rows


def completeness_sheet(rows: list[dict]) -> tuple[list[str], list[list]]:
    header = [_("单位代码"), _("单位"), _("类别"), _("数据池指标覆盖率（%）"), _("360 评价任务数"),
              _("360 完成率（%）"), _("群众评价数")]
    return header, [[r["code"], r["name"], r["category"], r["coverage"], r["assignments"], r["response_rate"],
                     r["resident_answers"]] for r in rows]


def response_rate_sheet(cycle: Cycle, unit_ids: list[int] | None = None) -> tuple[list[str], list[list]]:
    rates = feedback.response_rates(cycle, unit_ids)
    header = [_("单位代码"), _("单位"), _("评价任务数"), _("已提交"), _("已拒绝"), _("完成率（%）")]
    return header, [[u.code, u.name, r.total, r.submitted, r.declined, _r(r.percent, 1)] for u, r in rates["units"]]


def bureau_workbook(view: BureauOverview) -> bytes:
    sheets = [(_("排名"), *ranking_sheet(view))]
    if view.run is not None:
        sheets.append((_("维度得分"), *breakdown_sheet(view.run)))
    full = completeness_rows(view.cycle or (view.run.cycle if view.run is not None else None))
    sheets.append((_("数据完整性"), *completeness_sheet(full)))
    rate_cycle = view.cycle or (view.run.cycle if view.run is not None else None)
    if rate_cycle is not None:
        sheets.append((_("评价完成率"), *response_rate_sheet(rate_cycle)))
    return xlsx_workbook(sheets)


def unit_workbook(dash: StationDashboard) -> bytes:
    sheets = []
    dim_header = [_("维度"), _("得分"), _("同类别平均"), _("权重")]
    sheets.append((_("维度得分"), dim_header, [[d["label"], d["score"], d["mean"], d["weight"]]
                                              for d in dash.dimensions]))
    ind_header = [_("指标"), _("维度"), _("原始值"), _("标准化得分"), _("权重"), _("贡献")]
    ind_rows = []
    if dash.result is not None:
        from surveys.anonymity import Viewer

        gated = feedback.gated_breakdown(dash.result, Viewer(), thresholds(dash.result.run.cycle.config))
        for x in gated.get("indicators", []):
            if x.get("hidden_360"):
                ind_rows.append([x["name"], str(DIMENSION_LABELS.get(x["dimension"], x["dimension"])),
                                 _("评价人数不足，为保护匿名不显示"), None, _r(x["weight"]), None])
                continue
            ind_rows.append([x["name"], str(DIMENSION_LABELS.get(x["dimension"], x["dimension"])), _r(x["raw"]),
                             _r(x["normalised"]), _r(x["weight"]), _r(x["shown"])])
    sheets.append((_("指标明细"), ind_header, ind_rows))
    if dash.rates is not None:
        sheets.append((_("评价完成率"), [_("评价关系"), _("评价任务数"), _("已提交"), _("已拒绝"), _("完成率（%）")],
                       [[_relation_label(rel), r.total, r.submitted, r.declined, _r(r.percent, 1)]
                        for rel, r in dash.rates["relations"]]))
    sheets.append((_("群众满意率"), *_residents_sheet(dash)))
    return xlsx_workbook(sheets)


def _residents_sheet(dash: StationDashboard) -> tuple[list[str], list[list]]:
    """The station's resident satisfaction as its dashboard shows it (the soft indicator's shrunk rate and
    its 90 % interval), with the follow-up of dissatisfied answers."""
    rows: list[list] = []
    if dash.residents is not None:
        r = dash.residents
        rows += [[_("满意率（收缩后，%）"), r["rate"]], [_("90% 区间下限（%）"), r["low"]],
                 [_("90% 区间上限（%）"), r["high"]], [_("原始满意率（%）"), r["raw_rate"]],
                 [_("评价数"), r["n"]]]
    else:
        rows.append([_("本周期还没有群众评价。"), None])
    f = dash.follow_ups
    rows += [[_("待核查"), f.get("open", 0)], [_("已核查待整改"), f.get("checked", 0)],
             [_("已整改"), f.get("fixed", 0)], [_("已超期未完成"), f.get("overdue", 0)]]
    return [_("项目"), _("数值")], rows

