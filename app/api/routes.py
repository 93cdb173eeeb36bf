"""/api/v1: JSON for business systems. Authorization: Bearer <token> (see the admin's API clients
page). The OpenAPI 3 document at /api/v1/openapi.json describes every route here."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _

from ..errors import DomainError
from ..extensions import csrf, db
from ..jobs.services import JobAlreadyActive
from ..models import Cycle, Indicator, Job
from .importers import IMPORTERS, MAX_ROWS, Importer
from .openapi import openapi_document
from .services import client_for_token

bp = Blueprint("api", __name__)
csrf.exempt(bp)

__all__ = ["IMPORTERS", "MAX_ROWS", "Importer", "bp"]


def _unauthorized():
    response = jsonify(error=_("缺少或无效的访问令牌（令牌可能已被吊销）。"), status=401)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="kaoping"'
    return response


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    client = client_for_token(token)
    if client is None:
        return _unauthorized()
    g.api_client = client
    return None


def _error(status: int, message: str, **extra):
    response = jsonify(error=message, status=status, **extra)
    response.status_code = status
    return response


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document())


@bp.route("/indicators")
def indicators():
    # Every code a cycle may take, once: the shared catalogue's row where a bureau keeps its own too.
    found = db.session.execute(db.select(Indicator).where(Indicator.is_active)
                               .order_by(Indicator.level.desc(), Indicator.sort_order, Indicator.bureau_id.is_not(None),
                                         Indicator.id)).scalars()
    seen: set[str] = set()
    rows = [i for i in found if not (i.code in seen or seen.add(i.code))]
    return jsonify(indicators=[{
        "code": i.code, "name": i.name, "dimension": i.dimension, "level": i.level, "unit": i.unit_of_measure,
        "direction": i.direction, "min_value": i.min_value, "max_value": i.max_value,
        "splits_preventable": i.splits_preventable, "importable": not i.is_soft} for i in rows])


@bp.route("/cycles")
def cycles():
    rows = db.session.execute(db.select(Cycle).order_by(Cycle.starts_on.desc())).scalars()
    return jsonify(cycles=[{"id": c.id, "name": c.name, "kind": c.kind, "starts_on": c.starts_on.isoformat(),
                            "ends_on": c.ends_on.isoformat(), "status": c.status} for c in rows])


@bp.route("/cycles/<int:cycle_id>/results")
def cycle_results(cycle_id):
    from ..assessment.runs import published_run

    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        return _error(404, _("找不到该周期。"))
    run = published_run(cycle)
    if run is None:
        return _error(404, _("该周期还没有发布结果。"))
    return jsonify(cycle_id=cycle.id, run={"id": run.id, "version": run.version, "inputs_hash": run.inputs_hash},
                   results=[{"unit_code": r.unit.code, "category": r.category, "total": r.total,
                             "adjusted_total": r.adjusted_total, "rank": r.rank, "grade": r.grade}
                            for r in run.results if r.level == "unit"])


def _rows_from_body():
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # "[[[[…" nested deeper than the JSON decoder goes; silent= catches only ValueError
        return None
    rows = body.get("rows") if isinstance(body, dict) else None  # a bare array is refused, as documented
    if not isinstance(rows, list):
        return None
    return [(number, row) for number, row in enumerate(rows, start=1)]


def _run_import(importer: Importer, cycle: Cycle | None):
    if request.mimetype == "multipart/form-data" and importer.file_job is not None:
        return _queue_file(importer, cycle)
    rows = _rows_from_body()
    if rows is None:
        return _error(400, _("请求体应为 JSON：{\"rows\": [...]}。"))
    if len(rows) > MAX_ROWS:
        return _error(413, _("一次最多提交 %(n)d 行；更多的数据请以 .csv 或 .xlsx 文件上传（后台导入）。", n=MAX_ROWS))
    not_objects = [number for number, row in rows if not isinstance(row, dict)]
    if not_objects:
        return _error(400, _("每一行应为 JSON 对象（第 %(rows)s 行不是）。",
                             rows="、".join(str(n) for n in not_objects[:10])))
    try:
        report = importer.run(rows, cycle, g.api_client)
    except DomainError as error:
        db.session.rollback()
        return _error(409, error.message)
    if not report.get("ok"):
        db.session.rollback()
        return _error(422, _("数据有误，未导入任何数据。"), report=report)
    db.session.commit()
    return jsonify(report), 201


def _queue_file(importer: Importer, cycle: Cycle | None):
    """A .csv/.xlsx file (multipart field ``file``) of any size up to the job's limit: checked as far
    as its header, kept, and imported by a background job; 202 with the job, to be polled at its
    Location. The same job as an upload from the web pages (all rows or none, a row-level report)."""
    from ..imports import queue_file_import
    from ..tabular import check_table

    assert importer.file_job is not None  # only kinds that take files come here
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _error(400, _("请以 multipart/form-data 的 file 字段上传 .csv 或 .xlsx 文件。"))
    if cycle is not None and cycle.status == "published":
        return _error(409, _("周期“%(name)s”已发布结果，不能再导入数据。", name=cycle.name))
    key, required, args = importer.file_job(cycle, g.api_client)
    raw = upload.read()
    try:
        check_table(upload.filename, raw, required)
    except DomainError as error:
        return _error(400, error.message)
    try:
        job_id = queue_file_import(importer.file_kind, key, upload.filename, raw, None, **args).id
    except JobAlreadyActive as error:
        return _error(409, error.message)
    db.session.commit()  # the job starts now (or waits for the worker)
    response = jsonify(_job_status(db.session.get(Job, job_id)))
    response.status_code = 202
    response.headers["Location"] = url_for(".job", job_id=job_id)
    return response


@bp.route("/jobs/<int:job_id>")
def job(job_id):
    """An import job started through this API by the same client: its state, progress and, once it
    has ended, the importer's report."""
    found = db.session.get(Job, job_id)
    if found is None or (found.args or {}).get("api_client_id") != g.api_client.id:
        return _error(404, _("找不到该任务。"))
    return jsonify(_job_status(found))


def _job_status(job: Job | None) -> dict:
    """What GET /api/v1/jobs/<id> answers (see openapi.JOB)."""
    assert job is not None  # a job this client may read
    name, importer = next((name, i) for name, i in IMPORTERS.items() if i.file_kind == job.kind)
    result = job.result or {}
    report = None
    if job.state == "succeeded" and "ok" in result:
        counts = [name for name in importer.report_schema["properties"] if name not in ("ok", "rows", "errors")]
        report = {"ok": result["ok"], "rows": result["rows"], **{c: result.get(c) for c in counts},
                  "errors": [{"row": number, "message": message} for number, message in result.get("errors", [])],
                  "error_count": result.get("error_count", 0)}
    return {"id": job.id, "kind": name, "state": job.state, "progress": job.progress, "step": job.step or "",
            "error": job.error or None, "report": report, "url": url_for(".job", job_id=job.id)}


# Only the per-cycle kinds match, so that this route does not claim /cycles/<id>/results (an OPTIONS
# request there would otherwise advertise POST).
PER_CYCLE_KINDS = "any(" + ", ".join(repr(k) for k in sorted(k for k, i in IMPORTERS.items() if i.per_cycle)) + ")"


@bp.route(f"/cycles/<int:cycle_id>/<{PER_CYCLE_KINDS}:kind>", methods=["POST"])
def import_into_cycle(cycle_id, kind):
    importer = IMPORTERS.get(kind)
    if importer is None or not importer.per_cycle:
        return _error(404, _("不支持的数据类型“%(kind)s”。", kind=kind[:40]))
    cycle = db.session.get(Cycle, cycle_id)
    if cycle is None:
        return _error(404, _("找不到该周期。"))
    return _run_import(importer, cycle)


@bp.route("/imports/<kind>", methods=["POST"])
def import_data(kind):
    importer = IMPORTERS.get(kind)
    if importer is None or importer.per_cycle:
        return _error(404, _("不支持的数据类型“%(kind)s”。", kind=kind[:40]))
    return _run_import(importer, None)
