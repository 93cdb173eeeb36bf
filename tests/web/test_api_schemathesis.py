"""A bounded property-based run (schemathesis) over the whole /api/v1 document. The importers' row
schemas are narrowed to the codes that exist in the test world (the document itself cannot know
them), so that generated batches are stored: both importers must reach their 201."""
import copy
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from app.api.openapi import openapi_document
from app.extensions import db
from app.models import Indicator

from .assessment_setup import STATIONS, build_world
from .test_assessment_api import make_token


def _document_with_real_codes(cycle_id: int, indicators: list[Indicator]) -> dict:
    doc = copy.deepcopy(openapi_document())
    stations = [code for code, _category in STATIONS]
    low = max(i.min_value for i in indicators if i.min_value is not None)
    high = min(i.max_value for i in indicators if i.max_value is not None)
    values = doc["paths"]["/api/v1/cycles/{cycle_id}/indicator-values"]["post"]
    values["parameters"][0]["schema"] = {"type": "integer", "enum": [cycle_id]}
    row = values["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]
    row["maxItems"] = 1  # two rows for one station × indicator would be a (documented) duplicate
    row["items"]["properties"] = {"unit_code": {"type": "string", "enum": stations},
                                  "indicator": {"type": "string", "enum": [i.code for i in indicators]},
                                  "value": {"type": "number", "minimum": low, "maximum": high}}
    row["items"]["required"] = ["unit_code", "indicator", "value"]
    del row["items"]["oneOf"]  # no badge_no here: unit-level indicators only
    cases = doc["paths"]["/api/v1/imports/case-records"]["post"]
    row = cases["requestBody"]["content"]["application/json"]["schema"]["properties"]["rows"]
    row["maxItems"] = 3
    row["items"]["properties"]["unit_code"] = {"type": "string", "enum": stations}
    row["items"]["properties"]["case_ref"] = {"type": "string", "pattern": "^A[0-9]{1,6}$"}
    row["items"]["properties"]["case_type"] = {"type": "string", "enum": ["盗窃", "诈骗", "抢劫"]}
    row["uniqueItems"] = True
    doc["paths"]["/api/v1/cycles/{cycle_id}/results"]["get"]["parameters"][0]["schema"] = {
        "type": "integer", "enum": [cycle_id]}
    return doc


def test_schemathesis_run_over_the_api_reaches_201_on_both_importers(app):
    with app.app_context():
        ids = build_world()
        indicators = db.session.execute(db.select(Indicator).where(
            Indicator.level == "unit", Indicator.is_soft.is_(False), Indicator.splits_preventable.is_(False),
            Indicator.is_active)).scalars().all()
        doc = _document_with_real_codes(ids["cycle"], indicators)
    assert len(indicators) >= 3
    # identity: the WSGI transport does not decompress (and schemathesis offers br like requests does)
    headers = {"Authorization": f"Bearer {make_token(app)}", "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = app
    statuses: Counter = Counter()
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)
            statuses[(case.operation.path, response.status_code)] += 1

        call()
    assert statuses[("/api/v1/cycles/{cycle_id}/indicator-values", 201)] > 0, statuses
    assert statuses[("/api/v1/imports/case-records", 201)] > 0, statuses
    assert statuses[("/api/v1/cycles", 200)] > 0 and statuses[("/api/v1/indicators", 200)] > 0, statuses
