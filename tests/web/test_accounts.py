"""Accounts under attack (issue 13, item 4): no lockout lever, no username oracle, sessions that end,
passwords nobody guesses, and limits that survive a Redis outage."""
import logging

import pytest
import sqlalchemy as sa

from app.auth import services, throttle
from app.extensions import db, limiter
from app.models import User

from .. import conftest
from ..factories import PASSWORD, make_officer, make_unit, make_user
from . import test_auth

STRONG = "copper-kettle-drift"


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def pauses(monkeypatch):
    """Record the slow-downs instead of sleeping (never a timed test)."""
    waited = []
    monkeypatch.setattr(throttle, "pause", waited.append)
    return waited


# ---- no lockout lever --------------------------------------------------------------------------
def test_many_addresses_cannot_lock_out_the_real_user(app, pauses):
    test_auth.seed_user(app, "coordinator")
    # The audit's attack: wrong passwords on one username from many addresses, 5 from each.
    codes = [_login(_from(app, f"203.0.113.{a}"), "coordinator", "wrong-password").status_code
             for a in range(1, 7) for _ in range(5)]
    assert codes == [200] * 30
    # Each attacking address is now refused on that username...
    assert _login(_from(app, "203.0.113.1"), "coordinator", "wrong-password").status_code == 429
    # ...but the real user, right password, own address, gets in: slowed down, not blocked.
    before = len(pauses)
    response = _login(_from(app, "198.51.100.7"), "coordinator", PASSWORD)
    assert response.status_code == 302
    assert len(pauses) == before + 1 and pauses[-1] > 0
    with app.app_context():
        assert db.session.execute(sa.select(User).filter_by(username="coordinator")).scalar_one().last_login_at


def test_attempts_on_an_untouched_username_are_not_slowed(app, pauses):
    test_auth.seed_user(app, "quiet")
    for _ in range(3):
        assert _login(_from(app, "203.0.113.9"), "quiet", "wrong-password").status_code == 200
    assert _login(_from(app, "198.51.100.8"), "quiet", PASSWORD).status_code == 302
    assert pauses == []


def test_one_address_trying_many_usernames_is_refused(app, pauses):
    client = _from(app, "203.0.113.50")
    codes = [_login(client, f"guess{i}", "wrong-password").status_code for i in range(21)]
    assert codes[:20] == [200] * 20 and codes[20] == 429
    # Another address is unaffected.
    test_auth.seed_user(app, "elsewhere")
    assert _login(_from(app, "198.51.100.9"), "elsewhere", PASSWORD).status_code == 302


def test_unknown_username_costs_a_password_check(app, monkeypatch):
    """The answer for a username that does not exist runs the same hash check as a wrong password."""
    checked = []
    real = services.check_password_hash
    monkeypatch.setattr(services, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    with app.test_request_context():
        assert services.authenticate("nobody-here", "wrong-password") is None
    assert len(checked) == 1 and checked[0].startswith(("scrypt:", "pbkdf2:"))
    page = _login(app.test_client(), "nobody-here", "wrong-password").get_data(as_text=True)
    test_auth.seed_user(app, "somebody")
    known = _login(app.test_client(), "somebody", "wrong-password").get_data(as_text=True)
    assert "用户名或密码不正确" in page and "用户名或密码不正确" in known


# ---- sessions end ------------------------------------------------------------------------------
def _cookies(client):
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")
            if client.get_cookie(name) is not None}


def _replay(app, cookies):
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief.get("/")


def test_logout_ends_the_copied_session_and_remember_cookie(app):
    test_auth.seed_user(app, "wang")
    client = app.test_client()
    assert client.post("/login", data={"username": "wang", "password": PASSWORD, "remember": "y"}).status_code == 302
    copied = _cookies(client)
    assert "remember_token" in copied and _replay(app, copied).status_code == 200
    remember_only = {"remember_token": copied["remember_token"]}
    assert _replay(app, remember_only).status_code == 200  # the remember cookie alone logs in
    client.post("/logout")
    assert _replay(app, copied).status_code == 302
    assert _replay(app, remember_only).status_code == 302


def test_password_change_ends_other_sessions(app, auth):
    auth.as_role("officer", username="wu")
    other = app.test_client()
    assert _login(other, "wu", PASSWORD).status_code == 302
    response = auth.client.post("/account/password", data={"current_password": PASSWORD, "password": STRONG,
                                                           "confirm": STRONG})
    assert response.status_code == 302
    assert auth.client.get("/").status_code == 200  # this browser stays in
    assert other.get("/").status_code == 302


def test_disabling_a_user_ends_their_session(app, auth):
    with app.app_context():
        user_id = make_user("gone", officer=make_officer(make_unit("PS09"))).id
        db.session.commit()
    victim = app.test_client()
    assert _login(victim, "gone", PASSWORD).status_code == 302
    auth.as_role("admin", username="boss")
    assert auth.client.post(f"/admin/users/{user_id}/deactivate").status_code == 302
    assert victim.get("/").status_code == 302


def test_inactive_account_is_refused_even_with_a_current_cookie(app):
    test_auth.seed_user(app, "paused")
    client = app.test_client()
    assert _login(client, "paused", PASSWORD).status_code == 302
    with app.app_context():
        # Deactivated directly in the database (no version bump): the loader still refuses it.
        db.session.execute(sa.update(User).filter_by(username="paused").values(is_active_account=False))
        db.session.commit()
    assert client.get("/").status_code == 302


# ---- passwords ---------------------------------------------------------------------------------
@pytest.mark.parametrize("weak", ["demo1234", "password1234", "short-1", "1234567890", "qwertyuiop",
                                  "wangwei010010", "Jingcha2026!", "gongan110110"])
def test_weak_passwords_are_refused_and_nothing_changes(app, auth, weak):
    auth.as_role("officer", username="wangwei")
    with app.app_context():
        user = db.session.execute(sa.select(User).filter_by(username="wangwei")).scalar_one()
        user.officer.badge_no = "010010"
        db.session.commit()
        version = user.session_version
    page = auth.client.post("/account/password", data={"current_password": PASSWORD, "password": weak,
                                                       "confirm": weak})
    assert page.status_code == 200
    assert "至少需要 10 个字符" in page.get_data(as_text=True) or "太容易被猜到" in page.get_data(as_text=True)
    with app.app_context():
        user = db.session.execute(sa.select(User).filter_by(username="wangwei")).scalar_one()
        assert user.check_password(PASSWORD) and user.session_version == version


def test_name_unit_and_badge_count_as_guessable(app):
    """Strong for a stranger, guessable for the officer whose name, badge and unit it is made of."""
    from app.errors import DomainError

    with app.app_context():
        user = make_user("wxm", officer=make_officer(make_unit("PS01", name="城关派出所"), name="wangxiaoming",
                                                      badge_no="010010"))
        for password in ("wangxiaoming010010", "城关派出所010010"):
            services.check_password_strength(password)  # no account words: accepted
            with pytest.raises(DomainError):
                services.check_password_strength(password, services.user_words(user))
        db.session.rollback()


def test_create_admin_must_change_password_at_first_login(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-admin", "--username", "chief", "--password", "demo1234"]).exit_code != 0
    assert runner.invoke(args=["create-admin", "--username", "chief", "--password", STRONG]).exit_code == 0
    client = app.test_client()
    response = _login(client, "chief", STRONG)
    assert response.headers["Location"] == "/account/password"
    assert client.get("/admin/").headers["Location"] == "/account/password"  # nothing else first
    static = client.get("/static/css/kaoping.css")
    assert static.status_code == 200  # the page's own files still load
    static.close()
    page = client.get("/account/password").get_data(as_text=True)
    assert "您的密码由管理员设置" in page
    new = "velvet-harbor-93"
    assert client.post("/account/password", data={"current_password": STRONG, "password": new,
                                                   "confirm": new}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_account_made_by_an_admin_must_change_password(app, auth):
    auth.as_role("admin", username="boss")
    response = auth.client.post("/admin/users/new", data={"username": "clerk", "roles": ["coordinator"],
                                                          "password": STRONG})
    assert response.status_code == 302
    client = app.test_client()
    assert _login(client, "clerk", STRONG).headers["Location"] == "/account/password"
    assert client.get("/reports/").headers["Location"] == "/account/password"


def test_demo_accounts_keep_their_printed_password(app):
    with app.app_context():
        make_user("demo-like")  # demo users are made directly, as seed-demo does
        db.session.commit()
    client = app.test_client()
    assert _login(client, "demo-like", PASSWORD).headers["Location"] == "/"


# ---- Redis down --------------------------------------------------------------------------------
@pytest.fixture
def own_limiter_state():
    """The limiter is one object bound to the last app made: give it back to the test app afterwards."""
    saved = dict(vars(limiter))
    yield
    vars(limiter).clear()
    vars(limiter).update(saved)


def test_limits_hold_in_process_when_redis_is_unreachable(database_url, tmp_path, caplog, pauses,
                                                          own_limiter_state):
    app = conftest.make_test_app(database_url, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                                 RATELIMIT_KEY_PREFIX="kaoping-test-down")
    test_auth.seed_user(app, "target")
    with caplog.at_level(logging.WARNING):
        client = _from(app, "203.0.113.77")
        codes = [_login(client, "target", "wrong-password").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("RATE LIMITS DEGRADED" in r.getMessage() for r in errors)
    # The right password from another address still works.
    assert _login(_from(app, "198.51.100.1"), "target", PASSWORD).status_code == 302
