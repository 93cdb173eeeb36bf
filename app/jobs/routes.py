"""A job's page (progress bar, current step, failure) and its JSON status for the page's poll."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask_login import current_user, login_required

from .. import scope
from ..extensions import db
from ..models import Cycle, Job, User
from .services import reap_stale, status

bp = Blueprint("jobs", __name__)


def _visible_job(job_id: int) -> Job:
    job = db.get_or_404(Job, job_id)
    if job.created_by_id == current_user.id:
        return job
    if not current_user.has_role("admin"):
        abort(404)
    # another admin's job: of a cycle, or else by an account, the admin's bureau may see
    cycle_id = (job.args or {}).get("cycle_id")
    if cycle_id:
        scope.get_or_404(Cycle, cycle_id)
    elif not scope.sees_all():
        scope.check(db.session.get(User, job.created_by_id) if job.created_by_id else None)
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
