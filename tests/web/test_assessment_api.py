"""/api/v1: token authentication, the indicator-values import, and the OpenAPI document."""
import re

import sqlalchemy as sa

from app.admin.services import transition_cycle
from app.api import routes as api_routes
from app.api.importers import report_schema
from app.api.services import create_client, hash_token
from app.assessment import runs
from app.extensions import db
from app.models import ApiClient, Cycle, ImportBatch

from .assessment_setup import build_world, load, unit_rows, value_count


def make_token(app, name="执法办案系统"):
    with app.app_context():
        _client, token = create_client(name)
        db.session.commit()
    return token


def post_rows(client, cycle_id, rows, token):
    return client.post(f"/api/v1/cycles/{cycle_id}/indicator-values", json={"rows": rows},
                       headers={"Authorization": f"Bearer {token}"})


def test_token_is_stored_only_as_a_hash(app, ctx):
    _client, token = create_client("回访系统")
    row = db.session.execute(sa.select(ApiClient)).scalar_one()
    assert row.token_hash == hash_token(token) and token not in row.token_hash and len(row.token_hash) == 64


def test_missing_bad_and_revoked_tokens_get_401_json_and_change_nothing(app, client, auth):
    with app.app_context():
        ids = build_world()
    rows = unit_rows()
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = client.post(f"/api/v1/cycles/{ids['cycle']}/indicator-values", json={"rows": rows},
                               headers=headers)
        assert response.status_code == 401
        assert response.is_json and "令牌" in response.json["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    token = make_token(app)
    assert client.get("/api/v1/cycles", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Revoke from the admin page; the token stops working.
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        client_id = db.session.execute(sa.select(ApiClient.id)).scalar_one()
    client.post(f"/assessment/api-clients/{client_id}/revoke")
    response = post_rows(client, ids["cycle"], rows, token)
    assert response.status_code == 401
    assert value_count(app) == 0 and count_batches(app) == 0


def count_batches(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(ImportBatch.id)))


def test_admin_creates_a_client_and_sees_the_token_once(app, client, auth):
    auth.as_role("admin")
    page = client.post("/assessment/api-clients", data={"name": "警综平台"}).get_data(as_text=True)
    token = re.search(r'id="new-token">([^<]+)<', page).group(1)
    assert token.startswith("kp_")
    assert token not in client.get("/assessment/api-clients").get_data(as_text=True)
    dup = client.post("/assessment/api-clients", data={"name": "警综平台"}).get_data(as_text=True)
    assert "已被使用" in dup
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApiClient.id))) == 1


def test_api_import_stores_a_batch_and_reports_bad_rows(app, client):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    response = post_rows(client, ids["cycle"], unit_rows(), token)
    assert response.status_code == 201, response.json
    assert response.json["ok"] and response.json["stored"] == len(unit_rows())
    with app.app_context():
        batch = db.session.execute(sa.select(ImportBatch)).scalar_one()
        assert batch.source == "api" and batch.api_client.name == "执法办案系统"
    before = value_count(app)
    bad = [{"unit_code": "PS01", "indicator": "case_compliance", "value": 90},
           {"unit_code": "PS01", "indicator": "case_compliance", "value": 91},
           {"unit_code": "NOPE", "indicator": "case_compliance", "value": 90},
           {"unit_code": "PS02", "indicator": "case_compliance", "value": -5}]
    response = post_rows(client, ids["cycle"], bad, token)
    assert response.status_code == 422
    errors = {e["row"]: e["message"] for e in response.json["report"]["errors"]}
    assert set(errors) == {2, 3, 4} and "重复" in errors[2] and "NOPE" in errors[3] and "取值范围" in errors[4]
    assert value_count(app) == before and count_batches(app) == 1
    assert post_rows(client, ids["cycle"], "not rows", token).status_code == 400
    assert post_rows(client, 9999, unit_rows(), token).status_code == 404
    assert client.post(f"/api/v1/cycles/{ids['cycle']}/no-such-kind", json={"rows": []},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 404


def test_api_import_into_a_published_cycle_is_refused(app, client):
    with app.app_context():
        ids = build_world()
        load(ids, unit_rows())
        cycle = db.session.get(Cycle, ids["cycle"])
        transition_cycle(cycle, "closed")
        runs.publish_run(runs.compute_run(cycle))
        db.session.commit()
    token = make_token(app)
    before = value_count(app)
    response = post_rows(client, ids["cycle"], unit_rows(), token)
    assert response.status_code == 409 and "已发布结果" in response.json["error"]
    assert value_count(app) == before
    results = client.get(f"/api/v1/cycles/{ids['cycle']}/results", headers={"Authorization": f"Bearer {token}"})
    assert results.status_code == 200 and len(results.json["results"]) == 4


def test_openapi_describes_every_route_of_the_blueprint(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        methods = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
        if "{kind}" in template:
            per_cycle = "{cycle_id}" in template
            expanded = [template.replace("{kind}", kind) for kind, imp in api_routes.IMPORTERS.items()
                        if imp.per_cycle == per_cycle]
        else:
            expanded = [template]
        for path in expanded:
            assert path in paths, f"{path} missing from openapi.json"
            assert methods <= set(paths[path]), f"{path}: {methods} not all documented"
    assert "/api/v1/cycles/{cycle_id}/indicator-values" in paths


def test_a_registered_importer_appears_in_the_api_and_the_document(app, client):
    seen = []

    def fake(rows, cycle, api_client):
        seen.append((len(rows), cycle))
        return {"ok": True, "rows": len(rows), "errors": [], "stored": len(rows)}

    api_routes.IMPORTERS["test-records"] = api_routes.Importer(
        run=fake, per_cycle=False, summary="Test records",
        report_schema=report_schema({"stored": {"type": "integer", "minimum": 0}}))
    try:
        token = make_token(app)
        response = client.post("/api/v1/imports/test-records", json={"rows": [{"a": 1}]},
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201 and seen == [(1, None)]
        assert "/api/v1/imports/test-records" in client.get("/api/v1/openapi.json").json["paths"]
    finally:
        del api_routes.IMPORTERS["test-records"]


def test_case_records_arrive_through_the_api(app, client):
    """The data pool's case records come in through the same token-authenticated API."""
    from app.models import CaseRecord

    from ..factories import make_unit

    with app.app_context():
        make_unit("PS01")
        db.session.commit()
    token = make_token(app)
    headers = {"Authorization": f"Bearer {token}"}
    bad = client.post("/api/v1/imports/case-records", headers=headers, json={"rows": [
        {"case_ref": "A1", "case_date": "2026-10-02", "case_type": "盗窃", "unit_code": "PS01"},
        {"case_ref": "A2", "case_date": "not a date", "case_type": "盗窃", "unit_code": "NOPE"}]})
    assert bad.status_code == 422
    assert [e["row"] for e in bad.json["report"]["errors"]] == [2]
    ok = client.post("/api/v1/imports/case-records", headers=headers, json={"rows": [
        {"case_ref": "A1", "case_date": "2026-10-02", "case_type": "盗窃", "unit_code": "PS01",
         "is_preventable": True}]})
    assert ok.status_code == 201 and ok.json["created"] == 1 and ok.json["updated"] == 0
    assert re.fullmatch(r"[0-9a-f]{16}", ok.json["batch"]) and "stored" not in ok.json
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CaseRecord.id))) == 1
    assert "/api/v1/imports/case-records" in client.get("/api/v1/openapi.json").json["paths"]
    # A NUL byte (PostgreSQL refuses it in text) in any field is a row problem, not a 500.
    for field in ("officer_badge", "case_ref", "case_type"):
        row = {"case_ref": "A9", "case_date": "2026-10-02", "case_type": "盗窃", "unit_code": "PS01", field: "\x00x"}
        nul = client.post("/api/v1/imports/case-records", headers=headers, json={"rows": [row]})
        assert nul.status_code == 422 and "控制字符" in nul.json["report"]["errors"][0]["message"], field


def test_the_document_is_valid_openapi_with_closed_objects(app, client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").json
    validate(doc)  # raises on an invalid OpenAPI 3.0 document
    case_201 = doc["paths"]["/api/v1/imports/case-records"]["post"]["responses"]["201"]
    schema = case_201["content"]["application/json"]["schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"ok", "rows", "created", "updated", "batch", "errors"}
    values = doc["paths"]["/api/v1/cycles/{cycle_id}/indicator-values"]["post"]
    rows = values["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]
    assert rows["minItems"] == 1 and rows["items"]["properties"]["indicator"]["minLength"] == 1
    refused = values["responses"]["422"]["content"]["application/json"]["schema"]
    assert set(refused["required"]) == {"error", "status", "report"}


def test_the_contract_check_refuses_a_body_the_document_does_not_describe(app, client):
    """The check every API test runs can fail: the indicator report is not the case-records report."""
    import pytest
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request, Response

    from .api_contract import check_response

    def answer(path, status, body):
        response = Response(body, status=status, mimetype="application/json")
        response.request = Request(EnvironBuilder(path=path, method="POST").get_environ())
        return response

    indicator_report = '{"ok": true, "rows": 1, "stored": 1, "superseded": 0, "batch_id": 3, "errors": []}'
    check_response(answer("/api/v1/cycles/1/indicator-values", 201, indicator_report))
    with pytest.raises(AssertionError, match="does not match"):
        check_response(answer("/api/v1/imports/case-records", 201, indicator_report))
    with pytest.raises(AssertionError, match="does not match"):  # an undocumented status
        check_response(answer("/api/v1/imports/case-records", 418, '{"error": "x", "status": 418}'))


def test_a_bare_array_and_an_empty_batch_are_refused_and_store_nothing(app, client):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    headers = {"Authorization": f"Bearer {token}"}
    bare = client.post(f"/api/v1/cycles/{ids['cycle']}/indicator-values", json=unit_rows(), headers=headers)
    assert bare.status_code == 400 and bare.json["status"] == 400 and "rows" in bare.json["error"]
    bare = client.post("/api/v1/imports/case-records", headers=headers, json=[
        {"case_ref": "A1", "case_date": "2026-10-02", "case_type": "盗窃", "unit_code": "PS01"}])
    assert bare.status_code == 400
    empty = client.post("/api/v1/imports/case-records", headers=headers, json={"rows": []})
    assert empty.status_code == 422 and empty.json["report"]["errors"][0]["row"] == 1
    empty = post_rows(client, ids["cycle"], [], token)
    assert empty.status_code == 422 and empty.json["report"]["batch_id"] is None
    assert value_count(app) == 0 and count_batches(app) == 0
