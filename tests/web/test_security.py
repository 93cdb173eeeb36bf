"""Security headers, secure cookies behind HTTPS, the proxy fix."""
from .. import conftest


def test_security_headers_on_every_page(client):
    for path in ("/login", "/healthz", "/no/such/page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_scripts(client, auth):
    import re

    auth.as_role("admin")
    for path in ("/", "/admin/", "/admin/officers", "/admin/cycles", "/login"):
        html = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, (path, tag)
        assert "onclick=" not in html and "onsubmit=" not in html, path


def test_secure_cookies_and_hsts_behind_https(database_url, tmp_path):
    app = conftest.make_test_app(database_url, tmp_path, SESSION_COOKIE_SECURE=True, TRUSTED_PROXIES=1)
    client = app.test_client()
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
    client.post("/lang/en", data={"next": "/login"}, headers={"X-Forwarded-Proto": "https"})
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.secure and cookie.http_only


# ---- every kind of response carries the headers ------------------------------------------------
def test_headers_on_resident_pages_api_json_and_static_files(client):
    for path in ("/r/not-a-token", "/q/NOPE", "/thanks", "/api/v1/openapi.json", "/static/css/public.css"):
        response = client.get(path)
        headers = response.headers
        response.close()
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["Referrer-Policy"] == "same-origin", path


def test_resident_pages_send_no_referrer_and_load_no_inline_script(app, client):
    html = client.get("/r/not-a-token").get_data(as_text=True)
    assert '<meta name="referrer" content="no-referrer">' in html  # the token never leaks in a Referer
    assert "<script" not in html


def test_no_secure_flag_or_hsts_without_https(client):
    response = client.get("/login")
    assert "Strict-Transport-Security" not in response.headers
    client.post("/lang/en", data={"next": "/login"})
    assert client.get_cookie("session").secure is False


# ---- the proxy fix -----------------------------------------------------------------------------
def _failed_logins(client, n, **headers):
    return [client.post("/login", data={"username": f"nobody{i}", "password": "wrong-password"},
                        headers=headers).status_code for i in range(n)]


def test_forwarded_for_is_ignored_without_a_trusted_proxy(database_url, tmp_path):
    """Without TRUSTED_PROXIES a client cannot dodge the per-address login throttle by inventing
    X-Forwarded-For addresses (each attempt uses a new username, so only the address limit counts)."""
    app = conftest.make_test_app(database_url, tmp_path, LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [client.post("/login", data={"username": f"nobody{i}", "password": "wrong-password"},
                         headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own(database_url, tmp_path):
    app = conftest.make_test_app(database_url, tmp_path, LOGIN_ADDRESS_RATE_LIMIT="3 per minute",
                                   TRUSTED_PROXIES=1)
    client = app.test_client()
    first = _failed_logins(client, 4, **{"X-Forwarded-For": "10.0.0.1"})
    second = _failed_logins(client, 1, **{"X-Forwarded-For": "10.0.0.2"})
    assert first == [200, 200, 200, 429] and second == [200]


# ---- no open redirect, wherever a target comes from the request --------------------------------
EVIL_TARGETS = ("https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
                "javascript:alert(1)", "http:evil.example", " //evil.example", "/\t/evil.example",
                "https://localhost.evil.example/admin/")


def test_language_switch_never_redirects_off_site(client):
    for evil in EVIL_TARGETS:
        response = client.post("/lang/en", data={"next": evil})
        assert response.status_code == 302 and response.headers["Location"] == "/", evil
    assert client.post("/lang/zh", data={"next": "/login?x=1"}).headers["Location"] == "/login?x=1"


def test_login_next_never_redirects_off_site(app, client):
    from ..factories import make_user

    with app.app_context():
        make_user("redirected")
        from app.extensions import db

        db.session.commit()
    for evil in EVIL_TARGETS:
        client.post("/logout")
        response = client.post("/login", query_string={"next": evil},
                               data={"username": "redirected", "password": "password123"})
        assert response.status_code == 302 and response.headers["Location"] == "/", evil


def test_referrer_redirect_goes_back_only_to_our_own_pages(app, client, auth):
    from app.extensions import db
    from app.models import Officer

    from ..factories import make_officer, make_unit

    with app.app_context():
        officer_id = make_officer(make_unit("PS07")).id
        db.session.commit()
    auth.as_role("admin")
    path = f"/admin/officers/{officer_id}/deactivate"
    for evil in ("https://evil.example/admin/officers", "http://localhost.evil.example/x", "javascript:alert(1)",
                 "http://localhost//evil.example/"):
        response = client.post(path, headers={"Referer": evil})
        assert response.status_code == 302 and response.headers["Location"] == "/admin/officers", evil
    back = client.post(path, headers={"Referer": "http://localhost/admin/officers?q=PS07&page=1"})
    assert back.headers["Location"] == "/admin/officers?q=PS07&page=1"
    with app.app_context():
        assert db.session.get(Officer, officer_id).is_active is False


def test_no_unchecked_redirect_targets_in_the_code():
    """Every redirect whose target comes from the request goes through is_safe_redirect/safe_referrer."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"redirect\(\s*request\.(referrer|args|form|values)", text):
            offenders.append(f"{path.relative_to(root)}: {match.group(0)}")
        if "request.referrer" in text and path.name != "security.py":
            offenders.append(f"{path.relative_to(root)}: request.referrer")
    assert offenders == []


def test_a_nul_character_in_the_query_string_is_a_clear_400(client, auth):
    """Found by the query-string fuzzing on PostgreSQL, which cannot compare text with a NUL."""
    auth.as_role("admin")
    for url in ("/admin/audit?entity=%00", "/admin/officers?q=a%00b", "/r/token?x=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "请求无效" in response.get_data(as_text=True)
    assert client.get("/admin/audit?entity=%2500").status_code == 200  # a literal "%00" is fine
