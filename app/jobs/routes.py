"""A job's page (progress bar, current step, failure) and its JSON status for the page's poll."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Job
from .services import reap_stale, status

bp = Blueprint("jobs", __name__)


def _visible_job(job_id: int) -> Job:
    job = db.get_or_404(Job, job_id)
    if not (current_user.has_role("admin") or job.created_by_id == current_user.id):
        abort(404)
    return job


@bp.route("/<int:job_id>")
@login_required
def show(job_id):
    reap_stale()
    job = _visible_job(job_id)
    info = status(job)
    if info["result_url"] and request.args.get("stay") != "1":
        if info["message"]:
            flash(info["message"], "success")
        return redirect(info["result_url"])
    return render_template("jobs/job.html", job=job, info=info)


@bp.route("/<int:job_id>/status")
@login_required
def show_status(job_id):
    reap_stale()
    return jsonify(status(_visible_job(job_id)))
