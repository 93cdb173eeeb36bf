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
