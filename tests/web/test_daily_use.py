"""Daily use: one clock, readable audit log, consequences before irreversible steps, web basics."""
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
