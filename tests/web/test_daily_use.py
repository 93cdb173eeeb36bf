"""Daily use: one clock, readable audit log, consequences before irreversible steps, web basics."""
import gzip
import re
from datetime import datetime

import pytest

from app.extensions import db
from app.localtime import format_local, local_naive
from app.models import ApiClient

from .. import conftest


# ---- one time zone ------------------------------------------------------------------------------
def test_stored_utc_is_shown_in_the_bureau_zone(app, ctx):
    # 07:09 UTC is 15:09 in Beijing; 23:30 UTC on 31 Dec is already New Year's Day there.
    assert format_local(datetime(2026, 3, 1, 7, 9)) == "2026-03-01 15:09"
    assert format_local(datetime(2026, 12, 31, 23, 30), "yyyy-MM-dd") == "2027-01-01"
    assert local_naive(datetime(2026, 3, 1, 7, 9)) == datetime(2026, 3, 1, 15, 9)
    assert format_local(None) == ""


def test_a_page_that_used_to_say_utc_shows_beijing_time(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        db.session.add(ApiClient(name="案件系统", token_hash="a" * 64, created_at=datetime(2026, 3, 1, 7, 9)))
        db.session.commit()
    page = client.get("/assessment/api-clients").get_data(as_text=True)
    assert "2026-03-01 15:09" in page
    assert "07:09" not in page and "UTC" not in page


def test_the_zone_is_configurable_and_checked(database_url, tmp_path):
    other = conftest.make_test_app(database_url, tmp_path, BUREAU_TIMEZONE="Asia/Urumqi")
    with other.app_context():
        assert format_local(datetime(2026, 3, 1, 7, 9)) == "2026-03-01 13:09"
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="BUREAU_TIMEZONE"):
        conftest.make_test_app(database_url, tmp_path, BUREAU_TIMEZONE="Mars/Olympus")


# ---- the basics of a web page -------------------------------------------------------------------
def test_static_files_have_hashed_names_long_caching_and_compression(client):
    page = client.get("/login").get_data(as_text=True)

    css = re.search(r'href="(/static/css/kaoping\.[0-9a-f]{12}\.css)"', page) or re.search(
        r'href="(/static/css/theme\.[0-9a-f]{12}\.css)"', page)
    assert css, "our stylesheet is linked under a content-hashed name"
    bootstrap = re.search(r'href="(/bootstrap/static/css/bootstrap\.min\.[0-9a-f]{12}\.css)"', page)
    assert bootstrap, "Bootstrap's stylesheet is linked under a content-hashed name"
    for url in (css.group(1), bootstrap.group(1)):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        cache = response.headers["Cache-Control"]
        assert "immutable" in cache and "max-age=315360000" in cache
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b"{" in gzip.decompress(response.data)
        response.close()
    plain = client.get(bootstrap.group(1))
    assert "Content-Encoding" not in plain.headers and len(plain.data) > 200_000
    plain.close()


def test_pages_are_sent_compressed(client):
    response = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "考评".encode() in gzip.decompress(response.data)


def test_a_favicon_is_served(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="icon"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()


def test_a_405_keeps_its_allow_header(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "不支持该请求方式" in response.get_data(as_text=True)


def test_options_on_results_does_not_advertise_post(app, client):
    from .test_assessment_api import make_token

    bearer = {"Authorization": f"Bearer {make_token(app)}"}
    allowed = client.options("/api/v1/cycles/1/results", headers=bearer).headers["Allow"]
    assert set(allowed.replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    imports = client.options("/api/v1/cycles/1/indicator-values", headers=bearer).headers["Allow"]
    assert "POST" in imports
    assert client.post("/api/v1/cycles/1/results", headers=bearer, json={"rows": []}).status_code == 405
