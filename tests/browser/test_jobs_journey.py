"""An admin computes a run through a background job and watches its progress bar move (real browser)."""
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Cycle, Job

from .conftest import login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


def test_a_score_run_computes_in_a_job_with_a_moving_bar(app, demo, page, monkeypatch):
    # As without Redis: the job runs in a thread of the server; each step lingers so the bar is seen.
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setitem(app.config, "JOBS_STEP_DELAY", 0.8)
    with app.app_context():
        cycle_id = db.session.execute(sa.select(Cycle.id).filter_by(status="open")).scalar_one()
    login(page, "admin", "demo1234")
    page.goto(f"/admin/cycles/{cycle_id}")
    page.click("button:has-text('计算考评结果')")
    page.wait_for_url("**/jobs/*")
    seen, shot = [], False
    deadline = time.monotonic() + 30
    while "/jobs/" in page.url and time.monotonic() < deadline:
        try:
            value = page.get_attribute("#job-progress", "aria-valuenow", timeout=1000)
        except Exception:  # the page is navigating to the run
            break
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
            if 0 < int(value) < 100 and not shot:
                screenshot(page, "job-progress")
                shot = True
        time.sleep(0.1)
    page.wait_for_selector("text=已生成第 1 版计算结果")
    assert "/assessment/runs/" in page.url
    moving = [v for v in seen if 0 < v < 100]
    assert len(moving) >= 2 and moving == sorted(moving), seen  # it moved forward, step by step
    with app.app_context():
        job = db.session.execute(sa.select(Job)).scalar_one()
        assert job.state == "succeeded" and job.progress == 100


def test_a_failed_job_says_why_after_a_reload(app, demo, page, monkeypatch):
    with app.app_context():
        cycle_id = db.session.execute(sa.select(Cycle.id).filter_by(status="open")).scalar_one()
        from app.models import User

        admin_id = db.session.execute(sa.select(User.id).filter_by(username="admin")).scalar_one()
        job = Job(kind="score_run", key=f"cycle:{cycle_id}", state="failed", step="计算民警层级", progress=60,
                  args={"cycle_id": cycle_id}, result={}, error="工作进程已中断（60 秒没有心跳）",
                  created_by_id=admin_id)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    login(page, "admin", "demo1234")
    page.goto(f"/jobs/{job_id}")
    page.reload()
    assert page.is_visible("#job-error") and "没有心跳" in page.inner_text("#job-error")
    assert page.get_attribute("#job-progress", "aria-valuenow") == "60"
