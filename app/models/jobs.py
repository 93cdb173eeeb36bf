"""Background jobs: their state lives here, so any process (web or worker) can show it."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from .base import utcnow

JOB_STATES = ("queued", "running", "succeeded", "failed")
_ACTIVE = "state IN ('queued', 'running')"


class Job(Model):
    """One piece of long work (a score run, a rater design, a large export) done outside the request.

    ``kind`` names the work and ``key`` what it is about (``cycle:7``); a partial unique index lets
    only one job of a kind and key be queued or running at a time, so two admins clicking "compute"
    at once start one run. The worker writes ``heartbeat_at`` every few seconds; a running job whose
    heartbeat is stale was killed and is marked failed (app.jobs.services.reap_stale).
    """

    __tablename__ = "job"
    __table_args__ = (
        sa.CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed')", name="state"),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
        sa.Index("uq_job_active_kind_key", "kind", "key", unique=True,
                 sqlite_where=sa.text(_ACTIVE), postgresql_where=sa.text(_ACTIVE)),
        sa.Index("ix_job_state_heartbeat_at", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    key: Mapped[str] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.String(10), default="queued", server_default="queued")
    step: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    progress: Mapped[int] = mapped_column(default=0, server_default="0")
    # Keyword arguments of the work (JSON-safe) and what it produced (e.g. {"run_id": 5}).
    args: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.state in ("queued", "running")

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.key} {self.state}>"


class JobFile(Model):
    """An uploaded file waiting for its import job (roster, indicator values, incident or case records).

    Kept in the database rather than on a disk: the web process that receives the upload and the
    worker that reads it may run on different machines, and PostgreSQL is the one thing they share.
    The job deletes its file when it ends; files of jobs that never ended are purged after a day
    (app.jobs.services.reap_stale).
    """

    __tablename__ = "job_file"
    __table_args__ = (sa.CheckConstraint("size >= 0", name="size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int]
    # Deferred: listing or deleting files never loads their bytes.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<JobFile {self.id} {self.filename} {self.size} B>"
