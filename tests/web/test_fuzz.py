"""Hostile input on every POST endpoint: never a 500, and a rejected request stores nothing.

The endpoints are discovered from the URL map, their field names harvested from the page that shows
the form, so a new feature's forms are fuzzed without writing anything here.
"""
import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db

from ..factories import make_cycle, make_officer, make_unit, make_user

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=5000),
    st.sampled_from(["", " ", "0", "-1", "1e309", "NaN", "2026-02-30", "9999-12-31", "<script>alert(1)</script>",
                     "' OR 1=1 --", "\x00", "../../etc/passwd", "１２３", "😀", "null", "[]", "{}", "true",
                     "100.001", "99999999999999999999", "/\\evil.example"]),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
)
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')


def _table_counts():
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _post_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        values = {}
        for name, converter in rule._converters.items():  # noqa: SLF001
            kind = type(converter).__name__
            if kind == "AnyConverter":
                values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else None
            elif kind == "IntegerConverter":
                values[name] = 1
            else:
                values[name] = "PS01"
        routes.append((rule, values))
    return routes


ALL_ROLES = {"admin", "coordinator", "supervisor", "officer"}


@pytest.fixture
def world(app):
    with app.app_context():
        unit = make_unit("PS01")
        user = make_user("fuzzer", roles=ALL_ROLES, officer=make_officer(unit, is_leader=True))
        make_cycle()
        db.session.commit()
        return user.id


def _log_in_again(app, client, user_id):
    """The fuzz may rename, lock or re-password its own account: put it back and log in again."""
    from app.models import User

    from ..factories import _HASH

    with app.app_context():
        user = db.session.get(User, user_id)
        user.username, user.password_hash, user.is_active_account = "fuzzer", _HASH, True
        user.roles = ALL_ROLES
        db.session.commit()
    client.post("/logout")
    assert client.post("/login", data={"username": "fuzzer", "password": "password123"}).status_code == 302


def test_every_post_endpoint_survives_hostile_input(app, client, world):
    routes = _post_routes(app)
    assert len(routes) >= 10
    for rule, values in routes:
        with app.test_request_context():
            from flask import url_for

            try:
                url = url_for(rule.endpoint, **{k: v for k, v in values.items() if v is not None})
            except Exception:  # a converter we cannot satisfy generically
                continue
        _log_in_again(app, client, world)
        fragile = any(part in rule.rule for part in ("/users", "/account", "/logout", "/officers"))
        page = client.get(url)
        fields = sorted(set(FIELD.findall(page.get_data(as_text=True)))) if page.status_code == 200 else []
        fields = [f for f in fields if f not in ("csrf_token", "next")] or ["name", "value", "q"]

        _fuzz_route(app, client, world, url, fields, fragile)


def _fuzz_route(app, client, user_id, url, fields, fragile):
    @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.fixed_dictionaries({}, optional={f: HOSTILE for f in fields}))
    def fuzz(payload):
        if fragile:
            _log_in_again(app, client, user_id)
        with app.app_context():
            before = _table_counts()
        response = client.post(url, data=payload)
        assert response.status_code < 500, (url, payload)
        body = response.get_data(as_text=True)
        if response.status_code >= 400 or "is-invalid" in body or "alert-danger" in body:
            # refused, or shown again with errors: nothing stored
            with app.app_context():
                assert _table_counts() == before, (url, payload)

    fuzz()


# ---- GET pages with hostile query strings ------------------------------------------------------
def _query_names():
    """Every query-string name the views read (request.args.get("...")), found in the code."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    names = set()
    for path in root.rglob("*.py"):
        names.update(re.findall(r"""args\.get\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    return sorted(names)


def _get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        values = {}
        for name, converter in rule._converters.items():  # noqa: SLF001
            kind = type(converter).__name__
            values[name] = (sorted(converter.items)[0] if kind == "AnyConverter" and hasattr(converter, "items")
                            else 1 if "Integer" in kind or "DatabaseId" in kind else "PS01")
        yield rule, values


def test_every_get_page_survives_hostile_query_strings(app, client, world):
    names = _query_names()
    assert {"page", "q", "cycle", "status"} <= set(names)
    _log_in_again(app, client, world)
    with app.app_context():
        before = _table_counts()
    urls = []
    for rule, values in _get_routes(app):
        with app.test_request_context():
            from flask import url_for

            try:
                urls.append(url_for(rule.endpoint, **values))
            except Exception:  # a converter we cannot satisfy generically
                continue
    assert len(urls) >= 20

    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.dictionaries(st.sampled_from(names), HOSTILE, min_size=1, max_size=len(names)))
    def fuzz(query):
        for url in urls:
            response = client.get(url, query_string=query)
            assert response.status_code < 500, (url, query)
            response.close()

    fuzz()
    # Reading pages changes nothing, however odd the query (the audit log included).
    with app.app_context():
        assert _table_counts() == before


def test_ids_beyond_a_database_integer_are_not_found(client, world):
    for path in ("/claims/99999999999999999999", "/admin/cycles/2147483648", "/assessment/runs/9223372036854775808",
                 "/residents/follow-ups/99999999999999999999"):
        assert client.get(path).status_code == 404, path


def test_query_ids_and_pages_beyond_a_database_integer_are_ignored(app, client, world):
    """The same rule as ids in URLs: ?cycle=9999999999 is no such cycle (ignored, or a 404), never
    an overflow in the database driver; a huge page number is the last page there is."""
    from app.dbutil import db_id

    assert db_id("2147483647") == 2147483647
    for bad in ("2147483648", "9999999999", "-1", "abc"):
        with pytest.raises(ValueError):
            db_id(bad)
    _log_in_again(app, client, world)
    urls = []
    for rule, values in _get_routes(app):
        with app.test_request_context():
            from flask import url_for

            try:
                urls.append(url_for(rule.endpoint, **values))
            except Exception:  # a converter we cannot satisfy generically
                continue
    for query in ({"cycle": "9999999999", "unit": "2147483648", "back": "9999999999"},
                  {"page": "99999999999999999999"}, {"page": "9223372036854775807"}):
        for url in urls:
            response = client.get(url, query_string=query)
            assert response.status_code < 500, (url, query)
            response.close()
    assert client.get("/claims/", query_string={"cycle": "9999999999"}).status_code == 200
