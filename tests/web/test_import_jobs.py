"""Issue 19: roster, indicator, incident and case files import in a background job. The upload goes
to the job's page, which leads to the import page with the job's report; a bad row stores nothing;
a re-sent file updates; a file that cannot be imported is refused next to the form; the report
speaks the uploader's language; the thread backend runs the same import."""
import csv
import io

import sqlalchemy as sa

from app.extensions import db
from app.models import CaseRecord, Incident, IndicatorValue, Job, JobFile, Officer

from ..conftest import make_test_app
from ..factories import make_unit
from .assessment_setup import build_world, unit_rows
from .assessment_setup import csv_bytes as indicator_csv
from .job_helpers import redis_or_skip, wait_for_job


def _csv(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def _count(app, model, **filters) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**filters))


def _post(client, url, body, name="file.csv", **data):
    """Post the file and follow the job: upload → /jobs/<id> → the import page with ?job=<id>."""
    first = client.post(url, data={**data, "file": (io.BytesIO(body), name)}, content_type="multipart/form-data")
    assert first.status_code == 302 and "/jobs/" in first.headers["Location"], first.get_data(as_text=True)[:500]
    job_page = client.get(first.headers["Location"])
    assert job_page.status_code == 302 and "job=" in job_page.headers["Location"]
    return client.get(job_page.headers["Location"]).get_data(as_text=True)


ROSTER = ["警号", "姓名", "单位代码", "职务", "是否领导"]


def test_a_roster_file_is_imported_by_a_job_and_a_resent_file_updates(app, client, auth):
    auth.as_role("admin")
    body = _csv(ROSTER, [["300001", "张三", "PS01", "社区民警", "否"], ["300002", "李四", "PS01", "", "是"]])
    page = _post(client, "/admin/import/roster", body, "roster.csv")
    assert "导入成功：新增 2 人，更新 0 人" in page and "共 2 行：新增 2 人，更新 0 人" in page
    again = _csv(ROSTER, [["300001", "张三丰", "PS01", "社区民警", "否"], ["300002", "李四", "PS01", "", "是"]])
    page = _post(client, "/admin/import/roster", again, "roster.csv")
    assert "新增 0 人，更新 2 人" in page
    assert _count(app, Officer, badge_no="300001") == 1
    with app.app_context():
        assert db.session.scalar(sa.select(Officer.name).filter_by(badge_no="300001")) == "张三丰"
        job = db.session.scalars(sa.select(Job).filter_by(kind="import_roster").order_by(Job.id.desc())).first()
        assert job.state == "succeeded" and job.progress == 100
    assert _count(app, JobFile) == 0  # the upload is gone once imported
    # The report survives a reload of the page (it lives in the job's row).
    page = client.get(f"/admin/import/roster?job={job.id}").get_data(as_text=True)
    assert "共 2 行：新增 0 人，更新 2 人" in page


def test_a_roster_file_with_a_bad_row_stores_nothing_and_lists_the_row(app, client, auth):
    auth.as_role("admin")
    body = _csv(ROSTER, [["300001", "张三", "PS01", "", "否"], ["300003", "王五", "PS99", "", "否"]])
    page = _post(client, "/admin/import/roster", body, "roster.csv")
    assert "发现 1 行有问题，没有导入任何数据" in page and "<td>3</td>" in page and "未知的单位代码“PS99”" in page
    assert "导入成功" not in page
    assert _count(app, Officer, badge_no="300001") == 0 and _count(app, JobFile) == 0


def test_indicator_values_are_imported_by_a_job_and_a_resent_file_supersedes(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_world()
    url = f"/assessment/cycles/{ids['cycle']}/import"
    page = _post(client, url, indicator_csv(unit_rows()), "values.csv")
    assert "导入成功" in page
    n = len(unit_rows())
    page = _post(client, url, indicator_csv(unit_rows()), "values.csv")
    assert f"其中 {n} 条替换了之前的数据" in page
    assert _count(app, IndicatorValue, is_current=True) == n and _count(app, IndicatorValue) == 2 * n
    # A bad row: nothing of the batch is stored, the row is named.
    bad = unit_rows() + [{"unit_code": "PS01", "indicator": "case_compliance", "value": 120}]
    page = _post(client, url, indicator_csv(bad), "values.csv")
    assert "没有导入任何数据" in page and "超出指标“案件规范率”的取值范围 0–100" in page
    assert _count(app, IndicatorValue) == 2 * n


def _incident_world(app):
    from app.trends.services import seed_incident_types

    with app.app_context():
        make_unit("PS01", name="城关派出所", category=1)
        seed_incident_types()
        db.session.commit()


INCIDENTS = ["警情编号", "单位代码", "警情类别", "接警时间", "到场时间"]


def test_incident_records_are_imported_by_a_job_and_a_resent_number_updates(app, client, auth):
    _incident_world(app)
    auth.as_role("admin", username="office")
    rows = [["K1", "PS01", "fraud", "2026-11-11 08:00", "2026-11-11 08:09"],
            ["K2", "PS01", "fraud", "2026-11-11 09:00", ""]]
    page = _post(client, "/monitoring/records", _csv(INCIDENTS, rows), "j.csv", kind="incidents")
    assert "导入成功：新增 2 条，更新 0 条" in page
    rows[1][4] = "2026-11-11 09:20"
    page = _post(client, "/monitoring/records", _csv(INCIDENTS, rows), "j.csv", kind="incidents")
    assert "新增 0 条，更新 2 条" in page
    assert _count(app, Incident) == 2
    bad = rows + [["K3", "PS01", "burglary?", "2026-11-11 10:00", ""]]
    page = _post(client, "/monitoring/records", _csv(INCIDENTS, bad), "j.csv", kind="incidents")
    assert "没有导入任何数据" in page and "<td>4</td>" in page
    assert _count(app, Incident) == 2


CASES = ["案件编号", "案发日期", "案件类别", "单位代码", "可防性", "案件状态"]


def test_case_records_are_imported_by_a_job_from_both_pages(app, client, auth):
    auth.as_role("admin")
    page = _post(client, "/monitoring/records", _csv(CASES, [["C1", "2026-10-05", "刑事", "PS01", "是", "在办"]]),
                 "cases.csv", kind="cases")
    assert "导入成功：新增 1 条，更新 0 条" in page and "业务记录" in page
    page = _post(client, "/claims/cases", _csv(CASES, [["C1", "2026-10-06", "刑事", "PS01", "是", "已结"],
                                                       ["C2", "2026-10-07", "治安", "PS01", "否", "在办"]]))
    assert "新增 1 条，更新 1 条" in page and "/claims/cases" in page
    assert _count(app, CaseRecord) == 2
    page = _post(client, "/claims/cases", _csv(CASES, [["C3", "2026-13-40", "刑事", "PS01", "是", "在办"]]))
    assert "没有导入任何数据" in page and _count(app, CaseRecord) == 2


def test_a_file_that_cannot_be_imported_is_refused_next_to_the_form_without_a_job(app, client, auth):
    auth.as_role("admin")
    for name, body, message in [("roster.txt", b"x", "只支持 .csv 和 .xlsx 文件"),
                                ("roster.xlsx", b"not a zip", "无法读取该 Excel 文件"),
                                ("roster.csv", "姓名\n张三\n".encode(), "缺少列：警号、单位代码")]:
        response = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), name)},
                               content_type="multipart/form-data")
        assert response.status_code == 200 and message in response.get_data(as_text=True), name
    assert _count(app, Job) == 0 and _count(app, JobFile) == 0


def test_the_report_speaks_the_uploaders_language(app, client, auth):
    auth.as_role("admin")
    client.post("/lang/en", data={"next": "/"})
    body = _csv(ROSTER, [["300003", "王五", "PS99", "", "否"]])
    page = _post(client, "/admin/import/roster", body, "roster.csv")
    assert "Unknown unit code &#34;PS99&#34;" in page and "nothing was imported" in page


def test_a_second_upload_while_one_is_importing_is_refused(app, client, auth):
    auth.as_role("admin")
    with app.app_context():
        db.session.add(Job(kind="import_roster", key="roster", state="running", args={}, result={}))
        db.session.commit()
    body = _csv(ROSTER, [["300001", "张三", "PS01", "", "否"]])
    response = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), "r.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "同样的任务正在进行" in response.get_data(as_text=True)
    assert _count(app, Officer, badge_no="300001") == 0 and _count(app, JobFile) == 0


def test_a_large_roster_reports_its_reading_progress(app, client, auth, monkeypatch):
    """Every PROGRESS_EVERY lines the job's step says how far the reading (and, as the rows stream
    into the import, the import) is."""
    from app import tabular
    from app.jobs import services as job_services

    steps = []
    real = job_services.JobProgress.step

    def recording(self, text, progress=None):
        steps.append((str(text), progress))
        real(self, text, progress)

    monkeypatch.setattr(tabular, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(job_services.JobProgress, "step", recording)
    auth.as_role("admin")
    body = _csv(ROSTER, [[f"4{i:05d}", f"民警{i}", "PS01", "", "否"] for i in range(45)])
    page = _post(client, "/admin/import/roster", body, "roster.csv")
    assert "新增 45 人" in page
    texts = [text for text, _ in steps]
    assert "已读取 10 行" in texts and "已读取 40 行" in texts
    bars = [p for _, p in steps if p is not None]
    assert bars == sorted(bars)  # the bar only moves forward


def test_without_redis_an_import_runs_in_a_thread_of_the_web_process(app, database_url, tmp_path):
    threaded = make_test_app(database_url, tmp_path, JOBS_BACKEND="", JOBS_REDIS_URL="")
    with threaded.app_context():
        make_unit("PS01")
        db.session.commit()
    client = threaded.test_client()
    from .. import conftest

    conftest.Auth(threaded, client).as_role("admin")
    body = _csv(ROSTER, [["500001", "赵六", "PS01", "", "否"], ["500002", "钱七", "PS01", "", "否"]])
    response = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), "r.csv")},
                           content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    job = wait_for_job(threaded, job_id)
    assert job.state == "succeeded" and job.result["created"] == 2, job.error
    page = client.get(f"/jobs/{job_id}", follow_redirects=True).get_data(as_text=True)
    assert "新增 2 人" in page
    assert _count(threaded, Officer, badge_no="500002") == 1 and _count(threaded, JobFile) == 0


def test_with_redis_the_worker_imports_the_stored_file_in_the_uploaders_language(app, database_url, tmp_path):
    """The worker has no request: the file comes from the database, the language from the job."""
    import uuid

    from rq import SimpleWorker

    from app.jobs.services import rq_queue

    url = "redis://127.0.0.1:6379/1"  # a queue of its own on a database other than the default
    redis_or_skip(url)
    queued = make_test_app(database_url, tmp_path, JOBS_BACKEND="", JOBS_REDIS_URL=url,
                           JOBS_QUEUE=f"kaoping-test-{uuid.uuid4().hex}")
    with queued.app_context():
        make_unit("PS01")
        db.session.commit()
    client = queued.test_client()
    from .. import conftest

    conftest.Auth(queued, client).as_role("admin")
    client.post("/lang/en", data={"next": "/"})
    body = _csv(ROSTER, [["600001", "孙八", "PS01", "", "否"], ["600002", "周九", "PS77", "", "否"]])
    response = client.post("/admin/import/roster", data={"file": (io.BytesIO(body), "r.csv")},
                           content_type="multipart/form-data")
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    assert _count(queued, JobFile) == 1  # waiting for the worker, in the database
    with queued.app_context():
        queue = rq_queue()
        try:
            SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False)
        finally:
            queue.delete(delete_jobs=True)
        db.session.remove()
    job = wait_for_job(queued, job_id, seconds=5)
    assert job.state == "succeeded" and job.result["ok"] is False
    assert job.result["errors"] == [[3, 'Unknown unit code "PS77"']]
    assert _count(queued, Officer, badge_no="600001") == 0 and _count(queued, JobFile) == 0
