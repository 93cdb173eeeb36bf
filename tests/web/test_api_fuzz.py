"""Hostile input on every JSON API endpoint, found in the OpenAPI document: malformed, oversized and
hostile JSON bodies, hostile query strings and path values. Never a 500, always a JSON answer, and a
refused request stores nothing."""
import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db

from .assessment_setup import build_world
from .test_assessment_api import make_token

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=3000),
    st.sampled_from(["", "\x00", "NaN", "1e309", "-1e309", "2026-02-30", "<script>alert(1)</script>", "' OR 1=1 --",
                     "PS01", "XZ", "１００", "99999999999999999999", "0x10", "10%", " 50 ", "😀"]),
)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
RAW_BODIES = (
    b"", b"{", b"[", b"null", b"nul", b"\xff\xfe\x00", b'{"rows": NaN}', b'{"rows": [NaN, Infinity]}',
    b'{"rows": [{"value": NaN}]}', b'{"rows": "' + b"x" * 100_000 + b'"}', b"[" * 50_000 + b"]" * 50_000,
    b'{"rows": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", b'{"rows": [' + b"{}," * 20_000 + b"{}]}",
    b'\xef\xbb\xbf{"rows": []}', b'{"rows": [], "rows": {}}', b"1" * 10_000,
)
HOSTILE_PATH_IDS = ("0", "99999999999999999999", "2147483648", "9223372036854775808", "00001")
HOSTILE_QUERY = {"page": "-1", "q": "' OR 1=1 --", "cycle": "99999999999999999999", "status": "\x00",
                 "limit": "1e309", "format": "../../etc/passwd", "next": "//evil.example/"}


# A background job an earlier test queued may still write its bookkeeping row in a thread while this
# test runs; the data tables are what a refused request must leave alone.
_BOOKKEEPING = {"job", "job_file"}


def _counts():
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables
            if t.name not in _BOOKKEEPING}


@pytest.fixture
def api(app, client):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    doc = client.get("/api/v1/openapi.json").json
    return {"ids": ids, "headers": {"Authorization": f"Bearer {token}"}, "doc": doc}


def _operations(doc, cycle_id):
    """(method, concrete path, row field names) for every operation of the document."""
    for template, operations in doc["paths"].items():
        for method, operation in operations.items():
            path = template.replace("{cycle_id}", str(cycle_id)).replace("{job_id}", "1")
            schema = (operation.get("requestBody", {}).get("content", {}).get("application/json", {})
                      .get("schema", {}))
            row = schema.get("properties", {}).get("rows", {}).get("items", {})
            yield method.upper(), template, path, sorted(row.get("properties", {}))


def _check(app, response, before, what):
    assert response.status_code < 500, what
    assert response.is_json, what
    if response.status_code >= 400:
        with app.app_context():
            assert _counts() == before, what


def test_every_api_operation_is_fuzzed(api):
    operations = list(_operations(api["doc"], api["ids"]["cycle"]))
    assert {m for m, *_ in operations} == {"GET", "POST"}
    assert len([o for o in operations if o[0] == "POST"]) >= 2


def test_api_post_bodies_malformed_oversized_and_hostile(app, client, api):
    posts = [(path, fields) for method, _t, path, fields in _operations(api["doc"], api["ids"]["cycle"])
             if method == "POST"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(posts), st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({"rows": st.lists(JSON_VALUES, max_size=5)}),
        st.data(),
    ))
    def fuzz(target, body):
        path, fields = target
        if isinstance(body, st.DataObject):  # rows with the real column names and hostile values
            rows = body.draw(st.lists(st.fixed_dictionaries({}, optional={f: SCALARS for f in fields}),
                                      min_size=1, max_size=5))
            body = {"rows": rows}
        with app.app_context():
            before = _counts()
        response = client.post(path, data=json.dumps(body), headers={**api["headers"],
                                                                   "Content-Type": "application/json"})
        _check(app, response, before, (path, body))

    fuzz()


def test_api_post_raw_bodies_that_are_not_json_or_too_deep(app, client, api):
    for _method, _template, path, _fields in (o for o in _operations(api["doc"], api["ids"]["cycle"])
                                               if o[0] == "POST"):
        for raw in RAW_BODIES:
            with app.app_context():
                before = _counts()
            response = client.post(path, data=raw, headers={**api["headers"], "Content-Type": "application/json"})
            _check(app, response, before, (path, raw[:60]))
            assert response.status_code >= 400 or raw.startswith(b'\xef\xbb\xbf') or b"[]" in raw[:20], raw[:60]


def test_api_refuses_without_a_token_whatever_the_body(app, client, api):
    for method, _template, path, _fields in _operations(api["doc"], api["ids"]["cycle"]):
        if path.endswith("openapi.json"):
            continue
        with app.app_context():
            before = _counts()
        response = client.open(path, method=method, json={"rows": [{"x": 1}]})
        assert response.status_code == 401 and response.is_json
        with app.app_context():
            assert _counts() == before


def test_api_too_many_rows_and_wrong_content_types(app, client, api):
    from app.api.routes import MAX_ROWS

    path = f"/api/v1/cycles/{api['ids']['cycle']}/indicator-values"
    with app.app_context():
        before = _counts()
    cases = [
        client.post(path, json={"rows": [{}] * (MAX_ROWS + 1)}, headers=api["headers"]),
        client.post(path, data="rows=1",
                    headers={**api["headers"], "Content-Type": "application/x-www-form-urlencoded"}),
        client.post(path, data=b"\x00\x01", headers={**api["headers"], "Content-Type": "application/octet-stream"}),
        client.post(path, data='{"rows": []}', headers={**api["headers"], "Content-Type": "text/plain"}),
    ]
    assert cases[0].status_code == 413
    for response in cases:
        _check(app, response, before, response.status_code)
        assert response.status_code >= 400


def test_api_hostile_path_values_and_query_strings(app, client, api):
    for method, template, _path, _fields in _operations(api["doc"], api["ids"]["cycle"]):
        for value in HOSTILE_PATH_IDS:
            path = template.replace("{cycle_id}", value)
            with app.app_context():
                before = _counts()
            response = client.open(path, method=method, json={"rows": []}, headers=api["headers"],
                                   query_string=HOSTILE_QUERY)
            assert response.status_code < 500, path
            if response.status_code >= 400:
                with app.app_context():
                    assert _counts() == before, path
