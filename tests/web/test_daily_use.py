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
    assert rows[1][5] == "'=HYPERLINK(\"x\")" and sheet["F2"].data_type == "s"  # text, never run as a formula


# ---- irreversible steps show their consequences -------------------------------------------------
def test_closing_a_cycle_first_shows_what_is_left_undone(app, client, auth):
    from datetime import date

    import sqlalchemy as sa

    from app.models import Assignment, CollaborationClaim, Cycle, Unit, User

    from .feedback_helpers import build_world

    world = build_world(app, members=4)
    with app.app_context():
        ids = db.session.execute(sa.select(Assignment.id).filter_by(cycle_id=world.cycle_id)
                                 .order_by(Assignment.id)).scalars().all()
        db.session.execute(sa.update(Assignment).where(Assignment.id.in_(ids[:3])).values(status="submitted"))
        declinable = db.session.execute(sa.select(Assignment.id).where(
            Assignment.id.in_(ids[3:]), Assignment.relation != "self")).scalars().first()
        db.session.execute(sa.update(Assignment).where(Assignment.id == declinable).values(status="declined"))
        filer = db.session.execute(sa.select(User).filter_by(username="leader")).scalar_one()
        for ref, status in (("A-1", "submitted"), ("A-2", "returned"), ("A-3", "approved")):
            db.session.add(CollaborationClaim(cycle_id=world.cycle_id, case_ref=ref, case_type="刑事", severity="一般",
                                              case_date=date.today(), lead_unit_id=world.unit_id, status=status,
                                              filed_by_id=filer.id))
        db.session.commit()
    total, outstanding = len(ids) - 1, len(ids) - 4
    auth.as_role("admin")
    cycle_page = client.get(f"/admin/cycles/{world.cycle_id}").get_data(as_text=True)
    assert f"/admin/cycles/{world.cycle_id}/close" in cycle_page
    page = client.get(f"/admin/cycles/{world.cycle_id}/close").get_data(as_text=True)
    from app.localtime import local_today

    with app.test_request_context():  # "today" is the bureau's, not the test machine's
        deadline = db.session.get(Cycle, world.cycle_id).effective_deadline
        days = (deadline - local_today()).days
    assert f"评价截止日期是 {deadline.isoformat()}，还有 {days} 天" in page
    assert f"未完成的360评价：{outstanding} / {total} 份（{round(100 * outstanding / total)}%）" in page
    assert "待确认或待审核的协作申报：1 条" in page and "尚未重新提交的协作申报：1 条（关闭后不能再提交" in page
    assert f"/feedback/tracking?cycle={world.cycle_id}" in page
    assert f"/claims/review?cycle={world.cycle_id}&amp;status=pending" in page
    with app.app_context():
        assert db.session.get(Cycle, world.cycle_id).status == "open"  # looking changes nothing
        assert db.session.execute(sa.select(Unit).filter_by(code="PS01")).scalar_one()
    client.post(f"/admin/cycles/{world.cycle_id}/closed")
    closed = client.get(f"/admin/cycles/{world.cycle_id}").get_data(as_text=True)
    assert "此周期已关闭" in closed and "此周期进行中" not in closed and "已开启" not in closed
    assert client.get(f"/admin/cycles/{world.cycle_id}/close").status_code == 302  # nothing left to close


def test_publishing_a_run_with_missing_data_says_what_is_missing(app, client, auth):
    from html import unescape

    from app.models import ScoreRun
    from tests.factories import make_cycle

    with app.app_context():
        cycle = make_cycle(status="closed")
        missing = {"levels": {"unit": {"pairs": 70, "incomplete": 12, "excluded": 3, "by_indicator": {},
                                       "examples": []},
                              "officer": {"no_data": True}},
                   "soft_without_provider": ["X1", "X2"]}
        gappy = ScoreRun(cycle_id=cycle.id, version=1, status="done", missing=missing, config={}, options={},
                         steps=[])
        whole = ScoreRun(cycle_id=cycle.id, version=2, status="done", missing={"levels": {}}, config={},
                         options={}, steps=[])
        db.session.add_all([gappy, whole])
        db.session.commit()
        cycle_id, gappy_id, whole_id = cycle.id, gappy.id, whole.id
    auth.as_role("admin")
    page = unescape(client.get(f"/assessment/runs/{gappy_id}").get_data(as_text=True))
    assert ("第 1 版数据不完整：单位层级 70 项数据缺失（12 个对象不完整，其中 3 个不计总分）；民警层级没有任何数据；"
            "2 项柔性指标没有数据来源。") in page
    assert 'data-confirm="发布后此版本不能再修改，确定发布？"' in unescape(
        client.get(f"/assessment/runs/{whole_id}").get_data(as_text=True))
    cycle_page = unescape(client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True))
    assert "第 1 版数据不完整：单位层级 70 项数据缺失" in cycle_page


def test_the_cycle_page_shows_frozen_settings_as_a_summary_and_the_json_behind_a_download(app, client, auth):
    import json

    from app.models import Cycle

    from .feedback_helpers import build_world

    world = build_world(app, members=3)
    auth.as_role("admin")
    page = client.get(f"/admin/cycles/{world.cycle_id}").get_data(as_text=True)
    assert "执法质量 30 · 基础管控 25 · 群众服务 20 · 队伍管理 25" in page
    assert "他评合计 4" in page and "每多一个协作单位加成" in page
    assert "dimension_weights" not in page and "law_enforcement" not in page  # no raw keys
    download = client.get(f"/admin/cycles/{world.cycle_id}/settings.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    with app.app_context():
        assert json.loads(download.data) == db.session.get(Cycle, world.cycle_id).config


# ---- forms and reports --------------------------------------------------------------------------
def test_rate_limits_read_in_words(app):
    from app.templating import readable_rate_limit

    with app.test_request_context():
        assert readable_rate_limit("10 per hour;30 per day") == "每小时最多 10 次；每天最多 30 次"
        assert readable_rate_limit("5 per 15 minutes") == "每 15 分钟最多 5 次"
        assert readable_rate_limit("nonsense") == "nonsense"


def test_the_window_qr_page_states_its_limit_in_words(app, client, auth):
    auth.as_role("admin", username="boss")
    page = client.get("/residents/windows").get_data(as_text=True)
    assert "每小时最多 10 次；每天最多 30 次" in page and "per hour" not in page


def test_the_import_page_of_a_published_cycle_disables_its_form(app, client, auth):
    from tests.factories import make_cycle

    with app.app_context():
        published, open_ = make_cycle(status="published"), make_cycle(name="开放", kind="month", status="open")
        db.session.commit()
        published_id, open_id = published.id, open_.id
    auth.as_role("admin")
    locked = client.get(f"/assessment/cycles/{published_id}/import").get_data(as_text=True)
    assert '<fieldset disabled aria-describedby="import-locked">' in locked
    assert "fieldset disabled" not in client.get(f"/assessment/cycles/{open_id}/import").get_data(as_text=True)


def test_a_figure_hidden_for_anonymity_says_so_in_words(app, client):
    # In the demo the leader's "others" figure is hidden (a group could be worked out by subtraction).
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    client.post("/login", data={"username": "leader", "password": "demo1234"})
    home = client.get("/").get_data(as_text=True)
    assert "他评总体 <span class=\"text-muted\" id=\"others-hidden\">为保护评价人未显示" in home
    assert "他评总体 <strong>—" not in home


def test_a_follow_up_fixed_after_its_due_day_keeps_a_late_mark(app, client, auth):
    import sqlalchemy as sa

    from app.models import FollowUp

    from .test_residents import ANSWERS, make_invitation

    for _ in range(2):
        _id, token = make_invitation(app, unit_code="PS01")
        client.post(f"/r/{token}", data={**ANSWERS, "overall": "1"})
    with app.app_context():
        items = db.session.execute(sa.select(FollowUp).order_by(FollowUp.id)).scalars().all()
        late, on_time = items
        due = late.due_on
        for item in items:
            item.check_note, item.fix_note = "已核实", "已整改"
        # Fixed at 01:00 Beijing on the day after the due day (17:00 UTC on the due day itself): late.
        late.status, late.checked_at = "fixed", datetime(due.year, due.month, due.day, 16, 0)
        late.fixed_at = datetime(due.year, due.month, due.day, 17, 0)
        # Fixed at 23:00 Beijing on the due day (15:00 UTC): on time.
        on_time.status, on_time.checked_at = "fixed", datetime(due.year, due.month, due.day, 14, 0)
        on_time.fixed_at = datetime(due.year, due.month, due.day, 15, 0)
        db.session.commit()
        late_id, on_time_id = late.id, on_time.id
    auth.as_role("supervisor", username="suozhang", unit_code="PS01")
    assert "逾期办结" in client.get(f"/residents/follow-ups/{late_id}").get_data(as_text=True)
    assert "逾期办结" not in client.get(f"/residents/follow-ups/{on_time_id}").get_data(as_text=True)
    listing = client.get("/residents/follow-ups", query_string={"status": "fixed"}).get_data(as_text=True)
    assert listing.count("逾期办结") == 1
