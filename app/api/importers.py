"""The kinds of data /api/v1 accepts, each with the OpenAPI schemas of its rows and of its report.

Both the routes (which run an importer) and the OpenAPI document (which describes it) read this
registry; neither imports the other for it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_ROWS = 20_000

ROW_ERROR: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["row", "message"],
    "properties": {
        "row": {"type": "integer", "minimum": 1, "description": "1-based index in rows"},
        "message": {"type": "string", "minLength": 1, "description": "Every problem of the row, joined by ；"},
    },
}


def report_schema(properties: dict[str, Any]) -> dict[str, Any]:
    """A closed report object: ``ok``, ``rows`` and ``errors`` plus the importer's own counts."""
    return {
        "type": "object", "additionalProperties": False,
        "required": ["ok", "rows", "errors", *properties],
        "properties": {
            "ok": {"type": "boolean", "description": "true when every row was stored"},
            "rows": {"type": "integer", "minimum": 0, "description": "Rows received"},
            **properties,
            "errors": {"type": "array", "items": ROW_ERROR},
        },
    }


@dataclass(frozen=True)
class Importer:
    """One kind of data the API accepts.

    run(rows, cycle, client) -> report dict with at least "ok" (bool), "rows" (int) and "errors"
        ([{"row", "message"}]); rows are (row number from 1, dict) pairs; ``cycle`` is None for a
        kind that is not per cycle. It must store nothing unless the whole batch is valid (the
        route commits on ok and rolls back otherwise), and may raise DomainError.
    per_cycle : True → POST /api/v1/cycles/{cycle_id}/<kind>; False → POST /api/v1/imports/<kind>.
    row_schema : the OpenAPI schema of one row.
    report_schema : the OpenAPI schema of the report ``run`` returns (in the 201, and in the 422's
        ``report``).
    file_kind : the job kind (app.jobs.registry) that imports the kind's .csv/.xlsx files, for a kind
        that also takes a file (202, then polled); its report has the counts of ``report_schema``.
    file_job : (cycle, client) -> (job key, required columns, job arguments) of such a file.
    file_columns : the file's columns, for the OpenAPI document.
    """

    run: Callable[..., dict[str, Any]]
    per_cycle: bool
    summary: str
    row_schema: dict[str, Any] = field(default_factory=dict)
    report_schema: dict[str, Any] = field(default_factory=lambda: report_schema({}))
    description: str = ""
    file_kind: str = ""
    file_job: Callable[..., tuple[str, tuple[str, ...], dict[str, Any]]] | None = None
    file_columns: str = ""


def _import_indicator_values(rows, cycle, client) -> dict[str, Any]:
    from ..assessment.datapool import import_indicator_values

    return import_indicator_values(cycle, rows, "api", filename="api", api_client_id=client.id).to_dict()


def _indicator_file_job(cycle, client):
    from ..assessment.datapool import FILE_REQUIRED

    return f"cycle:{cycle.id}", FILE_REQUIRED, {"cycle_id": cycle.id, "api_client_id": client.id}


_CODE = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S"}  # not blank

INDICATOR_VALUE_ROW: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["indicator", "value"],
    "description": "Exactly one of unit_code (unit-level indicators) and badge_no (officer-level indicators).",
    "oneOf": [{"required": ["unit_code"]}, {"required": ["badge_no"]}],
    "properties": {
        "unit_code": {**_CODE, "description": "Station code (unit-level indicators), e.g. PS01"},
        "badge_no": {**_CODE, "description": "Badge number 警号 (officer-level indicators)"},
        "indicator": {**_CODE, "description": "Indicator code from GET /api/v1/indicators (importable ones)"},
        "value": {"type": "number", "description": "Value in the indicator's unit; within its min_value–max_value"},
        "nonpreventable": {"type": "number", "nullable": True, "minimum": 0,
                           "description": "Non-preventable case count: required for indicators with "
                                          "splits_preventable, absent or null for the others"},
    },
}

INDICATOR_VALUES_REPORT = report_schema({
    "stored": {"type": "integer", "minimum": 0, "description": "Values stored"},
    "superseded": {"type": "integer", "minimum": 0, "description": "Earlier values this batch replaced"},
    "batch_id": {"type": "integer", "nullable": True, "description": "The stored import batch; null when refused"},
})


def _import_case_records(rows, cycle, client) -> dict[str, Any]:
    from ..claims.services import import_case_records

    numbers = [number for number, _ in rows]
    return import_case_records([row for _, row in rows], numbers, source=f"api:{client.name}"[:60]).as_dict()


CASE_RECORD_ROW: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["case_ref", "case_date", "case_type", "unit_code"],
    "properties": {
        "case_ref": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": "\\S",
                     "description": "Case reference 案件编号 (unique; an existing one is updated)"},
        "case_date": {"type": "string", "format": "date", "description": "Date of the case, YYYY-MM-DD"},
        "case_type": {"type": "string", "minLength": 1, "maxLength": 20, "pattern": "\\S",
                      "description": "Case type 案件类别"},
        "unit_code": {**_CODE, "description": "Code of the unit that handles the case"},
        "is_preventable": {"description": "可防性: true/是 for preventable cases (the default is not preventable)",
                           "oneOf": [{"type": "boolean"},
                                     {"type": "string", "enum": ["是", "否", "可防", "不可防"]}]},
        "status": {"type": "string", "enum": ["open", "closed", "在办", "已结", "结案"],
                   "description": "Case status (default open); follows the stage when a stage is given "
                                  "(solved/transferred = closed)"},
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
        "officer_badge": {**_CODE, "description": "Badge number 警号 of the officer in charge"},
    },
}

CASE_RECORDS_REPORT = report_schema({
    "created": {"type": "integer", "minimum": 0, "description": "New case records"},
    "updated": {"type": "integer", "minimum": 0, "description": "Existing case references updated"},
    "batch": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "The import batch's reference"},
})

def _case_file_job(cycle, client):
    from ..monitoring.jobs import CASE_REQUIRED

    return "records", CASE_REQUIRED, {"api_client_id": client.id}


def _import_incidents(rows, cycle, client) -> dict[str, Any]:
    from ..trends.services import import_incident_rows

    return import_incident_rows(rows).as_dict()


_TIME = {"type": "string", "format": "date-time"}

INCIDENT_ROW: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "unit_code", "incident_type", "received_at"],
    "properties": {
        "external_id": {**_CODE, "description": "Incident number 警情编号 (unique; a re-send updates)"},
        "unit_code": {**_CODE, "description": "Code of the station that handled it"},
        "incident_type": {**_CODE, "description": "Incident type code or name, e.g. fraud"},
        "received_at": {**_TIME, "description": "Received 接警时间: ISO 8601; without an offset in the bureau's zone"},
        "dispatched_at": {**_TIME, "description": "Dispatched 派警时间"},
        "arrived_at": {**_TIME, "description": "Arrived on scene 到场时间"},
        "closed_at": {**_TIME, "description": "Closed 结束时间"},
        "outcome": {"type": "string", "maxLength": 50, "description": "Outcome 处置结果"},
        "is_preventable": {"type": "boolean", "description": "可防性: true for preventable (the default)"},
    },
}

INCIDENTS_REPORT = report_schema({
    "created": {"type": "integer", "minimum": 0, "description": "New incident records"},
    "updated": {"type": "integer", "minimum": 0, "description": "Known incident numbers updated"},
})

def _incident_file_job(cycle, client):
    from ..trends.services import INCIDENT_COLUMNS

    return "records", INCIDENT_COLUMNS, {"api_client_id": client.id}


# Kinds of import the API accepts.
IMPORTERS: dict[str, Importer] = {
    "indicator-values": Importer(
        run=_import_indicator_values, per_cycle=True, summary="Import hard indicator values into a cycle",
        row_schema=INDICATOR_VALUE_ROW, report_schema=INDICATOR_VALUES_REPORT,
        description="All-or-nothing: any bad row (unknown unit/officer/indicator, value out of range, "
                    "duplicate) rejects the batch with a row-level report. Re-importing a subject × "
                    "indicator supersedes its value (history kept). Refused for a published cycle.",
        file_kind="import_values", file_job=_indicator_file_job,
        file_columns="单位代码 (station code) or 警号 (badge number), 指标代码, 数值, and 不可防数 where the "
                     "indicator splits cases by 可防性; the columns of the upload page's template"),
    "case-records": Importer(
        run=_import_case_records, per_cycle=False, summary="Import case records (the data pool's cases)",
        row_schema=CASE_RECORD_ROW, report_schema=CASE_RECORDS_REPORT,
        description="All-or-nothing with a row-level report. An existing case reference is updated. "
                    "Collaboration claims verify their case reference against these records; live "
                    "monitoring follows their stages and deadlines.",
        file_kind="import_cases", file_job=_case_file_job,
        file_columns="案件编号, 案发日期, 案件类别, 单位代码, and optionally 可防性, 案件状态 and the stage dates, "
                     "as on the records page"),
    "incidents": Importer(
        run=_import_incidents, per_cycle=False, summary="Import incident records 警情",
        row_schema=INCIDENT_ROW, report_schema=INCIDENTS_REPORT,
        description="All-or-nothing with a row-level report. An existing external_id is updated. "
                    "Feeds incident trends and live monitoring (警情处置时效).",
        file_kind="import_incidents", file_job=_incident_file_job,
        file_columns="警情编号, 单位代码, 警情类别, 接警时间, and optionally 派警时间, 到场时间, 结束时间, "
                     "处置结果, 可防性"),
}
