"""The OpenAPI 3 document of /api/v1, written by hand; ``{kind}`` routes are expanded into one path
per registered importer. A test checks that every route of the blueprint appears here."""
from __future__ import annotations

from .routes import IMPORTERS

ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}
REPORT = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"}, "rows": {"type": "integer"}, "stored": {"type": "integer"},
        "superseded": {"type": "integer"}, "batch_id": {"type": "integer", "nullable": True},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "row": {"type": "integer", "description": "1-based index in rows"}, "message": {"type": "string"}}}},
    },
}


def _resp(description, schema=None):
    out = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


UNAUTHORIZED = _resp("Missing, unknown or revoked token", ERROR)
CYCLE_ID = {"name": "cycle_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _import_operation(kind, importer, per_cycle):
    report = importer.report_schema or REPORT
    op = {
        "summary": importer.summary,
        "description": importer.description,
        "operationId": f"import_{kind.replace('-', '_')}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["rows"],
            "properties": {"rows": {"type": "array", "items": importer.row_schema or {"type": "object"}}}}}}},
        "responses": {
            "201": _resp("Every row stored", report),
            "400": _resp("Body is not {\"rows\": [...]}", ERROR),
            "401": UNAUTHORIZED,
            "404": _resp("Unknown cycle", ERROR),
            "409": _resp("Refused as a whole (e.g. the cycle is published)", ERROR),
            "413": _resp("Too many rows", ERROR),
            "422": _resp("Some rows are invalid; nothing stored", {
                "type": "object", "properties": {"error": {"type": "string"}, "report": report}}),
        },
    }
    if per_cycle:
        op["parameters"] = [CYCLE_ID]
    return op


def openapi_document() -> dict:
    paths = {
        "/api/v1/openapi.json": {"get": {
            "summary": "This document", "operationId": "openapi", "security": [],
            "responses": {"200": _resp("The OpenAPI 3 document", {"type": "object"})}}},
        "/api/v1/indicators": {"get": {
            "summary": "The active indicator catalogue (codes to use when importing)", "operationId": "indicators",
            "responses": {"200": _resp("Indicators", {"type": "object", "properties": {"indicators": {
                "type": "array", "items": {"type": "object", "properties": {
                    "code": {"type": "string"}, "name": {"type": "string"}, "dimension": {"type": "string"},
                    "level": {"type": "string", "enum": ["unit", "officer"]}, "unit": {"type": "string"},
                    "direction": {"type": "string", "enum": ["higher", "lower"]},
                    "min_value": {"type": "number", "nullable": True},
                    "max_value": {"type": "number", "nullable": True},
                    "splits_preventable": {"type": "boolean"}, "importable": {"type": "boolean"}}}}}}),
                "401": UNAUTHORIZED}}},
        "/api/v1/cycles": {"get": {
            "summary": "Assessment cycles", "operationId": "cycles",
            "responses": {"200": _resp("Cycles", {"type": "object", "properties": {"cycles": {
                "type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "kind": {"type": "string", "enum": ["month", "quarter", "year"]},
                    "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
                    "status": {"type": "string", "enum": ["draft", "open", "closed", "published"]}}}}}}),
                "401": UNAUTHORIZED}}},
        "/api/v1/cycles/{cycle_id}/results": {"get": {
            "summary": "Published unit results of a cycle", "operationId": "cycle_results",
            "parameters": [CYCLE_ID],
            "responses": {"200": _resp("Results of the published run", {"type": "object"}),
                          "401": UNAUTHORIZED, "404": _resp("Unknown cycle or no published result", ERROR)}}},
    }
    for kind, importer in sorted(IMPORTERS.items()):
        if importer.per_cycle:
            paths[f"/api/v1/cycles/{{cycle_id}}/{kind}"] = {"post": _import_operation(kind, importer, True)}
        else:
            paths[f"/api/v1/imports/{kind}"] = {"post": _import_operation(kind, importer, False)}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kaoping data pool API", "version": "1.0.0",
                 "description": "Business systems push indicator values (and other data) into Kaoping. "
                                "Authenticate with `Authorization: Bearer <token>`; tokens are issued and "
                                "revoked by an administrator."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
