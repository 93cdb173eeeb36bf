from app.extensions import db
from app.models import AuditLog, User

from ..factories import make_officer, make_unit, make_user


def seed_user(app, username, **kwargs):
    """Create a user in its own app context, so that requests get theirs (as in production)."""
    with app.app_context():
        user = make_user(username, **kwargs)
        db.session.commit()
        return user.id


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录考评平台" in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_logout(app, client, auth):
    auth.as_role("officer", username="wang")
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302


def test_wrong_password_shows_message_next_to_field(app, client):
    seed_user(app, "li")
    response = client.post("/login", data={"username": "li", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(app, client):
    with app.app_context():
        make_user("gone").is_active_account = False
        db.session.commit()
    assert client.post("/login", data={"username": "gone", "password": "password123"}).status_code == 200
    assert client.get("/").status_code == 302


def test_safe_next_redirect(app, client):
    seed_user(app, "zhao")
    ok = client.post("/login?next=/account/password", data={"username": "zhao", "password": "password123"})
    assert ok.headers["Location"] == "/account/password"


def test_open_redirect_refused(app, client):
    seed_user(app, "zhao")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client.post("/logout")
        response = client.post(f"/login?next={evil}", data={"username": "zhao", "password": "password123"})
        assert response.status_code == 302
        assert response.headers["Location"] == "/", evil


def test_login_throttled_after_repeated_failures(app, client):
    seed_user(app, "sun")
    codes = [client.post("/login", data={"username": "sun", "password": "bad-password"}).status_code
             for _ in range(6)]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    # Even the right password is refused while throttled, with a message in Chinese.
    blocked = client.post("/login", data={"username": "sun", "password": "password123"})
    assert blocked.status_code == 429
    assert "操作过于频繁" in blocked.get_data(as_text=True)


def test_successful_logins_do_not_count_towards_throttle(app, client):
    seed_user(app, "qian")
    for _ in range(7):
        assert client.post("/login", data={"username": "qian", "password": "password123"}).status_code == 302
        client.post("/logout")


def test_session_cookie_flags(app, client):
    seed_user(app, "zhou")
    response = client.post("/login", data={"username": "zhou", "password": "password123"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_change_password(app, client, auth):
    auth.as_role("officer", username="wu")
    bad = client.post("/account/password", data={"current_password": "nope-nope", "password": "lantern-orbit-57",
                                                 "confirm": "lantern-orbit-57"})
    assert "当前密码不正确" in bad.get_data(as_text=True)
    mismatch = client.post("/account/password", data={"current_password": "password123",
                                                      "password": "lantern-orbit-57", "confirm": "other-pass"})
    assert "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    ok = client.post("/account/password", data={"current_password": "password123", "password": "lantern-orbit-57",
                                                "confirm": "lantern-orbit-57"})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # still logged in
    client.post("/logout")
    assert auth.login("wu", "password123").status_code == 200
    assert auth.login("wu", "lantern-orbit-57").status_code == 302


def test_admin_reset_password_ends_other_sessions(app, auth):
    with app.app_context():
        user_id = make_user("zheng", officer=make_officer(make_unit("PS09"))).id
        db.session.commit()
    other = app.test_client()
    assert other.post("/login", data={"username": "zheng", "password": "password123"}).status_code == 302
    auth.as_role("admin", username="boss")
    response = auth.client.post(f"/admin/users/{user_id}/password", data={"password": "brand-new-pass"})
    assert response.status_code == 302
    assert other.get("/").status_code == 302  # the old session was ended
    assert other.post("/login", data={"username": "zheng", "password": "brand-new-pass"}).status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(AuditLog).filter_by(action="password_reset")).scalar_one()


def test_role_required_denies_other_roles(app, client, auth):
    auth.as_role("officer")
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert "您没有权限" in client.get("/admin/officers").get_data(as_text=True)


def test_user_roles_are_checked_by_the_database(app, ctx):
    import pytest
    import sqlalchemy as sa

    user = make_user("x")
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("INSERT INTO user_role (user_id, role) VALUES (:u, 'god')"), {"u": user.id})
    db.session.rollback()
    assert db.session.get(User, user.id).roles == {"officer"}

