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


# ---- the audit log for a clerk ------------------------------------------------------------------
def _audit_rows(app):
    from app.models import AuditLog
    from tests.factories import make_officer, make_unit, make_user

    with app.app_context():
        clerk = make_user("clerk", roles={"admin"}, officer=make_officer(make_unit(code="PS09"), name="王秀英"))
        db.session.add_all([
            AuditLog(user_id=clerk.id, action="score_run_published", entity="cycle", entity_id="7",
                     before={"run": 3, "version": 1}, after={"run": 4, "version": 2},
                     created_at=datetime(2026, 3, 1, 2, 0)),  # 10:00 on 1 March in Beijing
            AuditLog(user_id=None, action="unit_saved", entity="unit", entity_id="5",
                     before={"name": "城关派出所", "is_active": True}, after={"name": "城东派出所", "is_active": True},
                     created_at=datetime(2026, 3, 1, 17, 0)),  # 01:00 on 2 March in Beijing
            AuditLog(user_id=clerk.id, action="claim_approve", entity="claim", entity_id="12",
                     before={"status": "confirmed"}, after={"status": "approved"}, note="=HYPERLINK(\"x\")",
                     created_at=datetime(2026, 3, 3, 1, 0)),
        ])
        db.session.commit()


def test_the_audit_log_reads_in_plain_words(app, client, auth):
    _audit_rows(app)
    auth.as_role("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "发布考评结果" in page and "score_run_published" not in page
    assert "协作申报：批准" in page and "claim_approve" not in page
    assert "状态</span>：<del" in page and "待审核" in page and "已批准" in page
    assert "城关派出所" in page and "城东派出所" in page and "\\u" not in page
    assert "启用" not in page  # an unchanged field is not a change
    assert "单位 #5" in page and "王秀英" in page
    assert "2026-03-02 01:00:00" in page  # in the bureau's time


def test_the_audit_log_filters_by_person_kind_and_local_day(app, client, auth):
    _audit_rows(app)
    auth.as_role("admin")

    def shown(**args):
        page = client.get("/admin/audit", query_string=args).get_data(as_text=True)
        return {code for code in ("发布考评结果", "保存单位", "协作申报：批准") if code in page}

    assert shown(who="秀英") == {"发布考评结果", "协作申报：批准"}
    assert shown(kind="unit") == {"保存单位"}
    assert shown(entity="claim") == {"协作申报：批准"}  # the old parameter still works
    # 17:00 UTC on 1 March is 2 March in Beijing: it belongs to the 2nd, not the 1st.
    assert shown(since="2026-03-02", until="2026-03-02") == {"保存单位"}
    assert shown(until="2026-03-01") == {"发布考评结果"}
    page = client.get("/admin/audit", query_string={"since": "2026-03-05", "until": "2026-03-01"})
    assert page.status_code == 200 and "截止日期不能早于起始日期" in page.get_data(as_text=True)
    assert client.get("/admin/audit", query_string={"since": "not-a-day"}).status_code == 200
    assert client.get("/admin/audit", query_string={"who": "%_\\"}).status_code == 200


def test_the_audit_log_exports_to_xlsx(app, client, auth):
    import io

    from openpyxl import load_workbook

    _audit_rows(app)
    auth.as_role("admin")
    response = client.get("/admin/audit.xlsx", query_string={"who": "王"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("时间", "操作人", "操作", "对象")
    assert [r[2] for r in rows[1:]] == ["协作申报：批准", "发布考评结果"]
    assert rows[1][0] == "2026-03-03 09:00:00" and rows[1][4] == "状态：待审核 → 已批准"
    assert rows[1][5] == '=HYPERLINK("x")' and sheet["F2"].data_type == "s"  # text, never run as a formula
