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
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.fixed_dictionaries({}, optional={f: HOSTILE for f in fields}))
    def fuzz(payload):
        if fragile:
            _log_in_again(app, client, user_id)
        with app.app_context():
            before = _table_counts()
        response = client.post(url, data=payload)
        assert response.status_code < 500, (url, payload)
        if response.status_code != 302:  # re-rendered with errors, or refused: nothing stored
            with app.app_context():
                assert _table_counts() == before, (url, payload)

    fuzz()
