"""/api/v1: JSON for business systems. Authorization: Bearer <token> (see the admin's API clients
page). The OpenAPI 3 document at /api/v1/openapi.json describes every route here."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import csrf, db
from ..models import Cycle, Indicator
from .services import client_for_token

bp = Blueprint("api", __name__)
csrf.exempt(bp)

MAX_ROWS = 20_000


@dataclass(frozen=True)
class Importer:
    """One kind of data the API accepts.

    run(rows, cycle, client) -> report dict with at least "ok" (bool) and "errors"
        ([{"row", "message"}]); rows are (row number from 1, dict) pairs; ``cycle`` is None for a
        kind that is not per cycle. It must store nothing unless the whole batch is valid (the
        route commits on ok and rolls back otherwise), and may raise DomainError.
    per_cycle : True → POST /api/v1/cycles/{cycle_id}/<kind>; False → POST /api/v1/imports/<kind>.
    row_schema : the OpenAPI schema of one row.
    """

    run: Callable
    per_cycle: bool
    summary: str
    row_schema: dict = field(default_factory=dict)
    description: str = ""
    report_schema: dict = field(default_factory=dict)  # the report's OpenAPI schema when not the default


def _import_indicator_values(rows, cycle, client):
    from ..assessment.datapool import import_indicator_values

    return import_indicator_values(cycle, rows, "api", filename="api", api_client_id=client.id).to_dict()


INDICATOR_VALUE_ROW = {
    "type": "object",
    "required": ["indicator", "value"],
    "properties": {
        "unit_code": {"type": "string", "description": "Station code (unit-level indicators), e.g. PS01"},
        "badge_no": {"type": "string", "description": "Badge number 警号 (officer-level indicators)"},
        "indicator": {"type": "string", "description": "Indicator code from GET /api/v1/indicators"},
        "value": {"type": "number", "description": "Value in the indicator's unit; within its range"},
        "nonpreventable": {"type": "number", "description": "Non-preventable case count (only for "
                                                            "indicators that split cases by 可防性)"},
    },
}

def _import_case_records(rows, cycle, client):
    from ..claims.services import import_case_records

    numbers = [number for number, _ in rows]
    return import_case_records([row for _, row in rows], numbers, source=f"api:{client.name}"[:60]).as_dict()


CASE_RECORD_ROW = {
    "type": "object",
    "required": ["case_ref", "case_date", "case_type", "unit_code"],
    "properties": {
        "case_ref": {"type": "string", "description": "Case reference 案件编号 (unique)"},
        "case_date": {"type": "string", "format": "date", "description": "Date of the case, YYYY-MM-DD"},
        "case_type": {"type": "string", "description": "Case type 案件类别"},
        "unit_code": {"type": "string", "description": "Code of the unit that handles the case"},
        "is_preventable": {"type": "boolean", "description": "可防性: true for preventable cases"},
        "status": {"type": "string", "enum": ["open", "closed", "在办", "已结"],
                   "description": "Follows the stage when a stage is given (solved/transferred = closed)"},
        "stage": {"type": "string",
                  "enum": ["accepted", "filed", "solved", "transferred", "受理", "立案", "破案", "结案", "移送"],
                  "description": "Current stage 办理阶段; by default the latest stage with a date"},
        "accepted_on": {"type": "string", "format": "date", "description": "受理 date; default case_date"},
        "filed_on": {"type": "string", "format": "date", "description": "立案 date"},
        "solved_on": {"type": "string", "format": "date", "description": "破案/结案 date"},
        "transferred_on": {"type": "string", "format": "date", "description": "移送 date"},
        "deadline": {"type": "string", "format": "date",
                     "description": "Deadline of the current stage (an approved extension); default the "
                                    "statutory one"},
        "officer_badge": {"type": "string", "description": "Badge number 警号 of the officer in charge"},
    },
}


# The report of a record import (case records, incidents): created or updated by external id.
RECORD_REPORT = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"}, "rows": {"type": "integer"},
        "created": {"type": "integer"}, "updated": {"type": "integer", "description": "Known ids updated"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "row": {"type": "integer", "description": "1-based index in rows"}, "message": {"type": "string"}}}},
    },
}


def _import_incidents(rows, cycle, client):
    from ..trends.services import import_incident_rows

    return import_incident_rows(rows).as_dict()


INCIDENT_ROW = {
    "type": "object",
    "required": ["external_id", "unit_code", "incident_type", "received_at"],
    "properties": {
        "external_id": {"type": "string", "description": "Incident number 警情编号 (unique; a re-send updates)"},
        "unit_code": {"type": "string", "description": "Code of the station that handled it"},
        "incident_type": {"type": "string", "description": "Incident type code or name, e.g. fraud"},
        "received_at": {"type": "string", "format": "date-time",
                        "description": "Received 接警时间: ISO 8601; without an offset in the bureau's time zone"},
        "dispatched_at": {"type": "string", "format": "date-time", "description": "Dispatched 派警时间"},
        "arrived_at": {"type": "string", "format": "date-time", "description": "Arrived on scene 到场时间"},
        "closed_at": {"type": "string", "format": "date-time", "description": "Closed 结束时间"},
        "outcome": {"type": "string", "description": "Outcome 处置结果"},
        "is_preventable": {"type": "boolean", "description": "可防性: true for preventable"},
    },
}

# Kinds of import the API accepts.
IMPORTERS: dict[str, Importer] = {
    "indicator-values": Importer(
        run=_import_indicator_values, per_cycle=True, summary="Import hard indicator values into a cycle",
        row_schema=INDICATOR_VALUE_ROW,
        description="All-or-nothing: any bad row (unknown unit/officer/indicator, value out of range, "
                    "duplicate) rejects the batch with a row-level report. Re-importing a subject × "
                    "indicator supersedes its value (history kept). Refused for a published cycle."),
    "case-records": Importer(
        run=_import_case_records, per_cycle=False, summary="Import case records (the data pool's cases)",
        row_schema=CASE_RECORD_ROW, report_schema={**RECORD_REPORT, "properties": {
            **RECORD_REPORT["properties"], "batch": {"type": "string", "description": "Import batch id"}}},
        description="All-or-nothing with a row-level report. An existing case reference is updated. "
                    "Collaboration claims verify their case reference against these records; live "
                    "monitoring follows their stages and deadlines."),
    "incidents": Importer(
        run=_import_incidents, per_cycle=False, summary="Import incident records 警情",
        row_schema=INCIDENT_ROW, report_schema=RECORD_REPORT,
        description="All-or-nothing with a row-level report. An existing external_id is updated. "
                    "Feeds incident trends and live monitoring (警情处置时效)."),
}


def _unauthorized():
    response = jsonify(error=_("缺少或无效的访问令牌（令牌可能已被吊销）。"), status=401)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="kaoping"'
    return response


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    client = client_for_token(token)
    if client is None:
        return _unauthorized()
    g.api_client = client
    return None


def _error(status: int, message: str, **extra):
    response = jsonify(error=message, status=status, **extra)
    response.status_code = status
    return response


@bp.route("/openapi.json")
def openapi():
    from .openapi import openapi_document

    return jsonify(openapi_document())


@bp.route("/indicators")
def indicators():
    rows = db.session.execute(db.select(Indicator).where(Indicator.is_active)
                              .order_by(Indicator.level.desc(), Indicator.sort_order)).scalars()
    return jsonify(indicators=[{
        "code": i.code, "name": i.name, "dimension": i.dimension, "level": i.level, "unit": i.unit_of_measure,
        "direction": i.direction, "min_value": i.min_value, "max_value": i.max_value,
        "splits_preventable": i.splits_preventable, "importable": not i.is_soft} for i in rows])


@bp.route("/cycles")
def cycles():
    rows = db.session.execute(db.select(Cycle).order_by(Cycle.starts_on.desc())).scalars()
    return jsonify(cycles=[{"id": c.id, "name": c.name, "kind": c.kind, "starts_on": c.starts_on.isoformat(),
                            "ends_on": c.ends_on.isoformat(), "status": c.status} for c in rows])


@bp.route("/cycles/<int:cycle_id>/results")
def cycle_results(cycle_id):
    from ..assessment.runs import published_run

    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        return _error(404, _("找不到该周期。"))
    run = published_run(cycle)
    if run is None:
        return _error(404, _("该周期还没有发布结果。"))
    return jsonify(cycle_id=cycle.id, run={"id": run.id, "version": run.version, "inputs_hash": run.inputs_hash},
                   results=[{"unit_code": r.unit.code, "category": r.category, "total": r.total,
                             "adjusted_total": r.adjusted_total, "rank": r.rank, "grade": r.grade}
                            for r in run.results if r.level == "unit"])


def _rows_from_body():
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # "[[[[…" nested deeper than the JSON decoder goes; silent= catches only ValueError
        return None
    rows = body.get("rows") if isinstance(body, dict) else body
    if not isinstance(rows, list):
        return None
    return [(number, row) for number, row in enumerate(rows, start=1)]


def _run_import(importer: Importer, cycle: Cycle | None):
    rows = _rows_from_body()
    if rows is None:
        return _error(400, _("请求体应为 JSON：{\"rows\": [...]}。"))
    if len(rows) > MAX_ROWS:
        return _error(413, _("一次最多提交 %(n)d 行。", n=MAX_ROWS))
    not_objects = [number for number, row in rows if not isinstance(row, dict)]
    if not_objects:
        return _error(400, _("每一行应为 JSON 对象（第 %(rows)s 行不是）。",
                             rows="、".join(str(n) for n in not_objects[:10])))
    try:
        report = importer.run(rows, cycle, g.api_client)
    except DomainError as error:
        db.session.rollback()
        return _error(409, error.message)
    if not report.get("ok"):
        db.session.rollback()
        return _error(422, _("数据有误，未导入任何数据。"), report=report)
    db.session.commit()
    return jsonify(report), 201


@bp.route("/cycles/<int:cycle_id>/<kind>", methods=["POST"])
def import_into_cycle(cycle_id, kind):
    importer = IMPORTERS.get(kind)
    if importer is None or not importer.per_cycle:
        return _error(404, _("不支持的数据类型“%(kind)s”。", kind=kind[:40]))
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        return _error(404, _("找不到该周期。"))
    return _run_import(importer, cycle)


@bp.route("/imports/<kind>", methods=["POST"])
def import_data(kind):
    importer = IMPORTERS.get(kind)
    if importer is None or importer.per_cycle:
        return _error(404, _("不支持的数据类型“%(kind)s”。", kind=kind[:40]))
    return _run_import(importer, None)
