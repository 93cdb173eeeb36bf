"""Trend pages: the bureau's incident trends and the proposal for a draft cycle (the office), and a
station's own trends (its leaders). Views check who may see what, call a service and render."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import scope
from ..admin.forms import ConfirmForm
from ..assessment.services import indicator_map
from ..dbutil import db_id
from ..extensions import db
from ..models import Cycle, TrendProposal, Unit
from ..reports import charts
from ..reports.services import can_view_unit
from ..security import role_required
from ..views import run_service
from . import services
from .forms import DecideForm

bp = Blueprint("trends", __name__)

STATUS_LABELS = {"proposed": _l("待决定"), "accepted": _l("已采纳"), "rejected": _l("未采纳")}


def today() -> date:
    """Today in the bureau's time zone."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai"))
    return datetime.now(UTC).astimezone(zone).date()


@bp.app_context_processor
def helpers():
    return {"trend_panel": trend_panel, "TREND_STATUS_LABELS": STATUS_LABELS}


def indicator_names() -> dict[str, str]:
    return {code: indicator.name for code, indicator in indicator_map().items()}


def trend_panel(cycle: Cycle) -> dict:
    """What the admin cycle page shows about seasonal weights from the trend proposal."""
    items = services.proposals(cycle)
    return {"items": items, "accepted": [p for p in items if p.status == "accepted"], "names": indicator_names()}


def _month_label(month: str | date) -> str:
    value = date.fromisoformat(month) if isinstance(month, str) else month
    return f"{value.year}-{value.month:02d}"


def proposal_chart(proposal: TrendProposal) -> charts.Chart:
    """History, forecast and its 80 % interval of the proposal's incident type, peaks in the table."""
    e = proposal.evidence or {}
    history, months = e.get("history", []), e.get("history_months", [])
    future = e.get("forecast_months", [])
    labels = [_month_label(m) for m in months + future]
    gap = [None] * len(future)
    peaks = [_("高峰") if p else "" for p in e.get("peak", [])]
    chart = charts.lines(
        _("%(type)s：每月警情与预测", type=proposal.incident_type.name), labels,
        {_("实际"): history + gap, _("预测"): [None] * len(history) + e.get("expected", []),
         _("80% 区间下限"): [None] * len(history) + e.get("low", []),
         _("80% 区间上限"): [None] * len(history) + e.get("high", [])},
        first_header=_("月份"), dashed=(_("80% 区间下限"), _("80% 区间上限")))
    # The table beside the chart: the forecast months only, with their peak marks.
    rows = [row + [peaks[k]] for k, row in enumerate(chart.rows[len(history):])]
    return charts.Chart(chart.title, chart.svg, [*chart.headers, _("季节高峰")], rows)


def _draft_cycles() -> list[Cycle]:
    return list(db.session.execute(sa.select(Cycle).where(Cycle.status == "draft", scope.cycle_clause())
                                   .order_by(Cycle.starts_on)).scalars())


@bp.route("/")
@role_required("admin")
def index():
    """The bureau's trends and, for a chosen draft cycle, its seasonal-focus proposal."""
    drafts = _draft_cycles()
    cycle_id = request.args.get("cycle", type=db_id)
    cycle = next((c for c in drafts if c.id == cycle_id), drafts[0] if drafts else None)
    analysis = services.analyse(today())
    items = services.proposals(cycle) if cycle else []
    return render_template(
        "trends/index.html", analysis=analysis, drafts=drafts, cycle=cycle, items=items,
        charts={p.id: proposal_chart(p) for p in items}, forms={p.id: DecideForm(prefix=f"p{p.id}") for p in items},
        confirm=ConfirmForm(), names=indicator_names())


@bp.route("/cycles/<int:cycle_id>/propose", methods=["POST"])
@role_required("admin")
def propose(cycle_id):
    cycle = scope.get_or_404(Cycle, cycle_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        run_service(services.propose, cycle, today(), current_user.id,
                    success=_("已根据警情趋势生成季节性建议。"))
    return redirect(url_for(".index", cycle=cycle.id, _anchor="proposal"))


@bp.route("/proposals/<int:proposal_id>", methods=["POST"])
@role_required("admin")
def decide(proposal_id):
    proposal = scope.get_or_404(TrendProposal, proposal_id)
    form = DecideForm(prefix=f"p{proposal.id}")
    if form.validate_on_submit():
        accept = bool(form.accept.data)
        multiplier = float(form.multiplier.data) if form.multiplier.data is not None else None
        run_service(services.decide, proposal, accept, multiplier, current_user.id,
                    success=_("已采纳，写入该周期的季节性权重。") if accept else _("已记录为不采纳。"))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for(".index", cycle=proposal.cycle_id, _anchor=f"proposal-{proposal.id}"))


@bp.route("/proposals/<int:proposal_id>/reopen", methods=["POST"])
@role_required("admin")
def reopen(proposal_id):
    proposal = scope.get_or_404(TrendProposal, proposal_id)
    if ConfirmForm().validate_on_submit():
        run_service(services.reopen, proposal, current_user.id, success=_("已撤回决定。"))
    return redirect(url_for(".index", cycle=proposal.cycle_id, _anchor=f"proposal-{proposal.id}"))


@bp.route("/units/<int:unit_id>")
@login_required
def unit(unit_id):
    """A station's own incident trends and local peaks (its leaders and the office)."""
    station = scope.get_or_404(Unit, unit_id)
    if not can_view_unit(current_user, station):
        abort(403)
    day = today()
    bureau = services.analyse(day)
    analysis = services.analyse(day, unit_id=station.id, prior=bureau)
    return render_template("trends/unit.html", unit=station, analysis=analysis)


def register() -> None:
    """Add this feature's entries to the foundation's registries (idempotent)."""
    from ..admin.routes import CYCLE_SECTIONS
    from ..templating import ACTION_LABELS, ADMIN_LINKS, add_once

    add_once(ADMIN_LINKS, ("trends.index", _l("警情趋势与季节性建议"), _l("按警情趋势为下一周期建议季节性权重")))
    add_once(CYCLE_SECTIONS, "trends/_cycle_section.html")
    ACTION_LABELS.update({
        "trend_proposal_made": _l("生成季节性建议"), "trend_proposal_accepted": _l("采纳季节性建议"),
        "trend_proposal_rejected": _l("不采纳季节性建议"), "trend_proposal_reopened": _l("撤回季节性建议的决定"),
    })

    from ..demo import STEPS
    from .demo import seed_trends

    add_once(STEPS, ("trends", seed_trends))
