"""The OpenAPI 3 document of /api/v1, written by hand; ``{kind}`` routes are expanded into one path
per registered importer. Objects are closed (``additionalProperties: false``) and list what they
require, so a test that checks every API response against this document catches a drift."""
from __future__ import annotations

from typing import Any

from .importers import IMPORTERS, MAX_ROWS, Importer

Schema = dict[str, Any]


def _closed(properties: Schema, required: list[str] | None = None) -> Schema:
    """An object with exactly these properties, all required unless ``required`` says otherwise."""
    return {"type": "object", "additionalProperties": False,
            "required": list(properties) if required is None else required, "properties": properties}


def error_schema(*statuses: int, **extra: Schema) -> Schema:
    """The body of every error: a message in the client's language and the HTTP status again."""
    return _closed({"error": {"type": "string", "minLength": 1},
                    "status": {"type": "integer", "enum": list(statuses)}, **extra})


def _resp(description: str, schema: Schema | None = None) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def _error(description: str, status: int) -> Schema:
    return _resp(description, error_schema(status))


UNAUTHORIZED = _error("Missing, unknown or revoked token (with a WWW-Authenticate: Bearer header)", 401)
BAD_REQUEST = _error("Malformed request (e.g. a NUL byte in the query string)", 400)
CYCLE_ID = {"name": "cycle_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

INDICATOR = _closed({
    "code": {"type": "string"}, "name": {"type": "string"}, "dimension": {"type": "string"},
    "level": {"type": "string", "enum": ["unit", "officer"]}, "unit": {"type": "string"},
    "direction": {"type": "string", "enum": ["higher", "lower"]},
    "min_value": {"type": "number", "nullable": True}, "max_value": {"type": "number", "nullable": True},
    "splits_preventable": {"type": "boolean"},
    "importable": {"type": "boolean", "description": "false for soft indicators this platform computes"},
})
CYCLE = _closed({
    "id": {"type": "integer"}, "name": {"type": "string"},
    "kind": {"type": "string", "enum": ["month", "quarter", "year"]},
    "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": ["draft", "open", "closed", "published"]},
})
UNIT_RESULT = _closed({
    "unit_code": {"type": "string"}, "category": {"type": "integer", "enum": [1, 2, 3]},
    "total": {"type": "number", "nullable": True}, "adjusted_total": {"type": "number", "nullable": True},
    "rank": {"type": "integer", "nullable": True, "minimum": 1, "description": "Rank within the category"},
    "grade": {"type": "string", "nullable": True, "enum": ["excellent", "good", "pass", "basic_pass", "fail", None]},
})
RESULTS = _closed({
    "cycle_id": {"type": "integer"},
    "run": _closed({"id": {"type": "integer"}, "version": {"type": "integer", "minimum": 1},
                    "inputs_hash": {"type": "string"}}),
    "results": {"type": "array", "items": UNIT_RESULT},
})


def _outcome(report: Schema, ok: bool) -> Schema:
    """The importer's report narrowed to a success (ok, no errors) or a refusal (not ok, some errors)."""
    errors = {**report["properties"]["errors"], **({"maxItems": 0} if ok else {"minItems": 1})}
    return {**report, "properties": {**report["properties"], "ok": {"type": "boolean", "enum": [ok]},
                                     "errors": errors}}


JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
FILE_BODY = _closed({"file": {"type": "string", "format": "binary",
                              "description": ".csv (UTF-8 or GB18030) or .xlsx, header row first"}})
FILE_IMPORTS = ("A file of any realistic size (up to the job's row limit, 500,000 rows by default, and "
                "the 16 MB body limit) is sent as `multipart/form-data` with a `file` field: it is "
                "checked as far as its header, then imported by a background job, all rows or none. "
                "The answer is 202 with the job; poll GET /api/v1/jobs/{job_id} (its `Location`) until "
                "`state` is `succeeded` (the importer's `report`, its `ok` false with the bad rows when "
                "nothing was stored) or `failed` (`error`). A JSON body of at most %d rows is imported "
                "in the request (201 or 422), as before; a longer JSON body is refused with 413." % MAX_ROWS)


def _job_schema() -> Schema:
    """A background import started through the API (202, and GET /api/v1/jobs/{job_id})."""
    with_files = {kind: i for kind, i in sorted(IMPORTERS.items()) if i.file_kind}
    reports = [{**i.report_schema, "nullable": True, "required": [*i.report_schema["required"], "error_count"],
                "properties": {**i.report_schema["properties"],
                               "error_count": {"type": "integer", "minimum": 0,
                                               "description": "Bad rows in all; `errors` lists the first 1,000"}}}
               for i in with_files.values()]
    return _closed({
        "id": {"type": "integer", "minimum": 1},
        "kind": {"type": "string", "enum": list(with_files)},
        "state": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "step": {"type": "string", "description": "The current step, in the client's language"},
        "error": {"type": "string", "nullable": True, "description": "Why the job failed (state failed)"},
        "report": {"anyOf": reports,
                   "description": "The importer's report once the job has succeeded, else null"},
        "url": {"type": "string", "description": "Where to poll: /api/v1/jobs/{id}"},
    })


def _import_operation(kind: str, importer: Importer) -> Schema:
    body = _closed({"rows": {"type": "array", "minItems": 1, "maxItems": MAX_ROWS,
                             "items": importer.row_schema or {"type": "object"}}})
    content: Schema = {"application/json": {"schema": body}}
    description = importer.description
    if importer.file_kind:
        content["multipart/form-data"] = {"schema": FILE_BODY}
        description += f" File columns: {importer.file_columns}. " + FILE_IMPORTS
    op: Schema = {
        "summary": importer.summary,
        "description": description,
        "operationId": f"import_{kind.replace('-', '_')}",
        "requestBody": {"required": True, "content": content},
        "responses": {
            "201": _resp("Every row stored; the importer's report", _outcome(importer.report_schema, True)),
            "400": _error("Body is not a JSON object {\"rows\": [...]} (a bare array is refused), "
                          "a row is not an object, the file cannot be imported (type, encoding, missing "
                          "columns, too many rows), or the request is malformed", 400),
            "401": UNAUTHORIZED,
            "404": _error("Unknown cycle", 404),
            "409": _error("Refused as a whole (e.g. the cycle is published, or an import of the same "
                          "kind is under way)", 409),
            "413": _error(f"More than {MAX_ROWS} rows, or a body over the size limit", 413),
            "422": _resp("Some rows are invalid (or there are none); nothing stored", error_schema(
                422, report=_outcome(importer.report_schema, False))),
        },
    }
    if importer.file_kind:
        op["responses"]["202"] = {**_resp("A file: accepted, imported by a background job (poll its Location)",
                                          _job_schema()),
                                  "headers": {"Location": {"description": "GET this URL for the job's state",
                                                           "schema": {"type": "string"}}}}
    if importer.per_cycle:
        op["parameters"] = [CYCLE_ID]
    else:
        del op["responses"]["404"]
    return op


def _get(summary: str, operation_id: str, responses: Schema, **extra: Any) -> Schema:
    return {"get": {"summary": summary, "operationId": operation_id,
                    "responses": {**responses, "400": BAD_REQUEST}, **extra}}


def openapi_document() -> Schema:
    paths: Schema = {
        "/api/v1/openapi.json": _get("This document", "openapi", {
            "200": _resp("The OpenAPI 3 document", {"type": "object", "required": ["openapi", "info", "paths"]})},
            security=[]),
        "/api/v1/indicators": _get("The active indicator catalogue (codes to use when importing)", "indicators", {
            "200": _resp("Indicators", _closed({"indicators": {"type": "array", "items": INDICATOR}})),
            "401": UNAUTHORIZED}),
        "/api/v1/cycles": _get("Assessment cycles, newest first", "cycles", {
            "200": _resp("Cycles", _closed({"cycles": {"type": "array", "items": CYCLE}})),
            "401": UNAUTHORIZED}),
        "/api/v1/cycles/{cycle_id}/results": _get("Published unit results of a cycle", "cycle_results", {
            "200": _resp("Unit results of the published run", RESULTS),
            "401": UNAUTHORIZED, "404": _error("Unknown cycle or no published result", 404)},
            parameters=[CYCLE_ID]),
        "/api/v1/jobs/{job_id}": _get("A file import started by this client: state, progress, report", "import_job", {
            "200": _resp("The job", _job_schema()), "401": UNAUTHORIZED,
            "404": _error("Unknown job, or one this client did not start", 404)},
            parameters=[JOB_ID]),
    }
    for kind, importer in sorted(IMPORTERS.items()):
        path = f"/api/v1/cycles/{{cycle_id}}/{kind}" if importer.per_cycle else f"/api/v1/imports/{kind}"
        paths[path] = {"post": _import_operation(kind, importer)}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kaoping data pool API", "version": "1.0.0",
                 "description": "Business systems push indicator values (and other data) into Kaoping. "
                                "Authenticate with `Authorization: Bearer <token>`; tokens are issued and "
                                "revoked by an administrator. Every error body is "
                                "`{\"error\": <message>, \"status\": <HTTP status>}`."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
