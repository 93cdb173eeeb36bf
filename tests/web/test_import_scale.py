"""Issue 19: files of any realistic size import through the import job from the command line and the
API too. The limits are made small through the configuration (IMPORT_MAX_ROWS for a file read in a
request, IMPORT_JOB_MAX_ROWS for a job) so that "above the old limit" needs a few rows, not 20,000.
Rows stream into the store a slice at a time (STORE_ROWS made small): a bad row after stored slices
still leaves nothing stored."""
import io

import pytest
import sqlalchemy as sa

from app.assessment import datapool
from app.extensions import db
from app.models import ImportBatch, IndicatorValue, Job, JobFile

from .assessment_setup import build_world, csv_bytes, officer_rows, unit_rows, value_count
from .test_assessment_api import make_token


@pytest.fixture
def small_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    monkeypatch.setitem(app.config, "IMPORT_JOB_MAX_ROWS", 100)
    monkeypatch.setattr(datapool, "STORE_ROWS", 4)  # several slices per file


def _file(tmp_path, rows, name="values.csv"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    return path


def _rows(ids):
    return unit_rows() + officer_rows(ids)


def test_cli_imports_a_file_above_the_request_limit_through_the_job_with_progress(app, tmp_path, small_limits):
    with app.app_context():
        ids = build_world()
    rows = _rows(ids)
    assert 5 < len(rows) <= 100
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-indicators", str(_file(tmp_path, rows)), "--cycle", str(ids["cycle"])])
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} rows: {len(rows)} stored, 0 superseded" in result.output
    assert "%] 读取文件 values.csv" in result.output  # the job's steps, printed as it goes
    assert value_count(app, is_current=True) == len(rows)
    # The same file again supersedes every value, slice by slice; history kept.
    result = runner.invoke(args=["import-indicators", str(_file(tmp_path, rows)), "--cycle", str(ids["cycle"])])
    assert result.exit_code == 0 and f"{len(rows)} superseded" in result.output, result.output
    assert value_count(app, is_current=True) == len(rows) and value_count(app) == 2 * len(rows)
    with app.app_context():
        jobs = db.session.scalars(sa.select(Job).filter_by(kind="import_values")).all()
        assert [job.state for job in jobs] == ["succeeded", "succeeded"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile)) == 0


def test_cli_bad_row_after_stored_slices_leaves_the_earlier_values_current(app, tmp_path, small_limits):
    with app.app_context():
        ids = build_world()
    rows = _rows(ids)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-indicators", str(_file(tmp_path, rows)), "--cycle", str(ids["cycle"])]
                         ).exit_code == 0
    with app.app_context():
        before = sorted(db.session.execute(sa.select(IndicatorValue.id, IndicatorValue.value)
                                           .filter_by(is_current=True)).all())
    changed = [{**row, "value": 1} for row in rows] + [{"unit_code": "PS01", "indicator": "nope", "value": 1}]
    result = runner.invoke(args=["import-indicators", str(_file(tmp_path, changed)), "--cycle", str(ids["cycle"])])
    assert result.exit_code == 1
    assert f"row {len(changed) + 1}: 未知的指标代码“nope”" in result.output and "nothing imported" in result.output
    with app.app_context():
        after = sorted(db.session.execute(sa.select(IndicatorValue.id, IndicatorValue.value)
                                          .filter_by(is_current=True)).all())
        assert after == before and value_count(app) == len(rows)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 1


def test_the_service_undoes_stored_slices_itself_when_a_late_row_is_bad(app, ctx, monkeypatch):
    """A caller that forgets to roll back is not left with half a batch."""
    monkeypatch.setattr(datapool, "STORE_ROWS", 3)
    ids = build_world()
    cycle = db.session.get(datapool.Cycle, ids["cycle"])
    rows = unit_rows()
    assert datapool.import_indicator_values(cycle, list(enumerate(rows, start=2)), "upload").ok
    bad = [{**row, "value": 1} for row in rows] + [{"unit_code": "PS09", "indicator": rows[0]["indicator"], "value": 1}]
    report = datapool.import_indicator_values(cycle, list(enumerate(bad, start=2)), "upload")
    assert not report.ok and report.stored == 0 and report.rows == len(bad)
    db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IndicatorValue)) == len(rows)
    assert set(db.session.scalars(sa.select(IndicatorValue.value))) == {row["value"] for row in rows}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 1


def test_cli_refuses_a_file_above_the_job_limit_and_keeps_nothing(app, tmp_path, small_limits):
    with app.app_context():
        ids = build_world()
    rows = [{"unit_code": "PS01", "indicator": "x", "value": 1}] * 101
    result = app.test_cli_runner().invoke(args=["import-indicators", str(_file(tmp_path, rows)),
                                                "--cycle", str(ids["cycle"])])
    assert result.exit_code == 1 and "文件超过 100 行数据" in result.output
    assert value_count(app) == 0
    with app.app_context():  # a .csv is counted as it streams: the job says why it failed
        job = db.session.scalars(sa.select(Job)).one()
        assert job.state == "failed" and "文件超过 100 行数据" in job.error
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile)) == 0


def test_cli_queue_needs_the_redis_queue(app, tmp_path):
    with app.app_context():
        ids = build_world()
    result = app.test_cli_runner().invoke(args=["import-indicators", str(_file(tmp_path, unit_rows())),
                                                "--cycle", str(ids["cycle"]), "--queue"])
    assert result.exit_code == 1 and "JOBS_REDIS_URL" in result.output


def _upload(client, url, body, token, name="values.csv"):
    return client.post(url, data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data",
                       headers={"Authorization": f"Bearer {token}"})


def test_api_takes_a_file_as_a_job_answers_202_and_the_client_polls_it(app, client, small_limits):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    rows = _rows(ids)
    url = f"/api/v1/cycles/{ids['cycle']}/indicator-values"
    response = _upload(client, url, csv_bytes(rows), token)
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.endswith(f"/api/v1/jobs/{response.json['id']}") and response.json["kind"] == "indicator-values"
    polled = client.get(location, headers={"Authorization": f"Bearer {token}"})
    assert polled.status_code == 200 and polled.json["state"] == "succeeded", polled.json
    report = polled.json["report"]
    assert report["ok"] and report["rows"] == report["stored"] == len(rows) and report["errors"] == []
    assert value_count(app, is_current=True) == len(rows)
    with app.app_context():
        batch = db.session.get(ImportBatch, report["batch_id"])
        assert batch.source == "api" and batch.api_client_id is not None
    # Another client does not see the job.
    other = make_token(app, name="另一个系统")
    assert client.get(location, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    # Bad rows: the job ends with the row-level report, nothing stored.
    bad = rows + [{"unit_code": "PS01", "indicator": "nope", "value": 1}]
    job = _upload(client, url, csv_bytes(bad), token).json
    polled = client.get(job["url"], headers={"Authorization": f"Bearer {token}"}).json
    assert polled["state"] == "succeeded" and not polled["report"]["ok"]
    assert polled["report"]["error_count"] == 1 and polled["report"]["errors"][0]["row"] == len(bad) + 1
    assert value_count(app) == len(rows)


def test_api_refuses_a_file_it_cannot_import_at_once(app, client, small_limits):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    url = f"/api/v1/cycles/{ids['cycle']}/indicator-values"
    headerless = _upload(client, url, "单位代码,数值\nPS01,1\n".encode(), token)
    assert headerless.status_code == 400 and "指标代码" in headerless.json["error"]
    no_file = client.post(url, data={"other": "x"}, content_type="multipart/form-data",
                          headers={"Authorization": f"Bearer {token}"})
    assert no_file.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_api_job_that_fails_says_why(app, client, small_limits):
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    url = f"/api/v1/cycles/{ids['cycle']}/indicator-values"
    response = _upload(client, url, csv_bytes([{"unit_code": "PS01", "indicator": "x", "value": 1}] * 101), token)
    assert response.status_code == 202
    polled = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {token}"}).json
    assert polled["state"] == "failed" and "100" in polled["error"] and polled["report"] is None
    assert value_count(app) == 0


def test_api_small_json_batches_still_answer_in_the_request(app, client, small_limits):
    """Existing clients (and the pull connectors) post JSON and read the 201 report: unchanged."""
    with app.app_context():
        ids = build_world()
    token = make_token(app)
    response = client.post(f"/api/v1/cycles/{ids['cycle']}/indicator-values", json={"rows": unit_rows()},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201 and response.json["stored"] == len(unit_rows())


def test_api_case_file_job(app, client):
    from ..factories import make_unit

    with app.app_context():
        make_unit("PS01", name="城关派出所", category=1)
        db.session.commit()
    token = make_token(app)
    body = "案件编号,案发日期,案件类别,单位代码\nA1,2026-11-01,盗窃,PS01\nA2,2026-11-02,诈骗,PS01\n".encode()
    response = _upload(client, "/api/v1/imports/case-records", body, token, "cases.csv")
    assert response.status_code == 202
    report = client.get(response.headers["Location"], headers={"Authorization": f"Bearer {token}"}).json["report"]
    assert report["ok"] and report["created"] == 2 and len(report["batch"]) == 16
