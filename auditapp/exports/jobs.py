"""Exports as background jobs: a row per job (ExportJob), a queue task that writes the file, a sweep that recovers.

The file is written by the same writers as the synchronous download (workbook.write_scorecard, csvexport), from the
same data (queries.load_scorecard, queries.responses): only the Responses rows are counted on their way into the
writer, which is what the progress bar shows. A worker that dies mid-way leaves the job "running" with a lease that
is no longer renewed; the sweep gives it back to the queue and the next attempt starts again from the first row
(its file has a name of its own, so a late writer never mixes into it).
"""
from __future__ import annotations

import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ..audit import record
from ..auth.models import Membership, Organisation
from ..evaluations.models import Answer, Evaluation
from ..extensions import db
from ..queue import after_commit, sweeper, task
from ..results.queries import FilterError, Filters, NotFound, load_journey
from ..tenancy import scope_of
from ..timeutil import utcnow
from .csvexport import responses_csv
from .models import EXPORT_KINDS, ExportJob
from .queries import _terms, load_scorecard, responses
from .workbook import write_scorecard

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0  # progress and lease are written this often while an attempt runs
EXTENSIONS = {"scorecard": "xlsx", "responses": "csv"}
MIMETYPES = {"scorecard": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "responses": "text/csv"}


class ExportRefused(Exception):
    """The export cannot be made as asked (said in plain words); never retried."""


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    filters: Filters
    per_location: bool = False
    grain: str | None = None

    def to_json(self) -> dict:
        args = self.filters.to_args()
        if self.filters.period:  # the preset's name is on the Summary sheet ("Period: Last 30 days")
            args["period"] = self.filters.period
        return {"args": args, "per_location": self.per_location, "grain": self.grain}


def answer_count(org, filters: Filters) -> int:
    """How many Responses rows the export will write (the progress bar's total, and the inline threshold)."""
    return db.session.scalar(select(func.count(Answer.id)).join(Evaluation, Evaluation.id == Answer.evaluation_id)
                             .where(*_terms(org, filters))) or 0


def is_small(org, filters: Filters) -> bool:
    return answer_count(org, filters) <= int(current_app.config.get("EXPORT_INLINE_MAX_ROWS") or 0)


def start_export(membership: Membership, request: ExportRequest) -> ExportJob:
    """Add a queued job (flushes); it is enqueued when the caller commits."""
    if request.kind not in EXPORT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(EXPORT_KINDS)}")
    org = membership.organisation
    job = ExportJob(org_id=org.id, user_id=membership.user_id, kind=request.kind, filters=request.to_json(),
                    status="queued", rows_total=answer_count(org, request.filters))
    db.session.add(job)
    db.session.flush()
    record("export.started", job, user=membership.user,
           summary=f"{request.kind.capitalize()} export {job.id} started ({job.rows_total} answers)")
    after_commit(run_export, job.id)
    return job


# --- writing a file ----------------------------------------------------------------------------------------------


class _Progress:
    """Counts rows on their way to the writer (a _Heartbeat tells the database)."""

    def __init__(self):
        self.rows = 0

    def __call__(self, rows: Iterable) -> Iterable:
        for row in rows:
            yield row
            self.rows += 1


class _Heartbeat(threading.Thread):
    """Every HEARTBEAT_SECONDS, for the whole attempt: the rows written so far, and the lease renewed.

    A thread, not the row loop: before the first row (the scorecard's figures are computed) and after the last one
    (the workbook is zipped) no row passes for a long while on a big organisation (about 25 s before the first of a
    million answers on a busy 2-core machine), and a lease that ran out meanwhile let the sweep give a job that was
    still being written to a second attempt, which started again from the first row."""

    def __init__(self, job_id: int, token: str, lease: timedelta, progress: _Progress):
        super().__init__(name=f"export-{job_id}-heartbeat", daemon=True)
        self.app = current_app._get_current_object()  # noqa: SLF001 (the thread needs the app, not the proxy)
        self.job_id, self.token, self.lease, self.progress = job_id, token, lease, progress
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                try:
                    _update(self.job_id, self.token, rows_done=self.progress.rows, lease_until=utcnow() + self.lease)
                except Exception:  # noqa: BLE001 (a missed beat is no reason to stop writing; the next one tries again)
                    log.warning("export %s: the heartbeat could not be written", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def write_export(org, request: ExportRequest, target: Path, progress: Callable[[Iterable], Iterable] | None = None,
                 ) -> str:
    """Write the export to `target` atomically (a temporary file, then a rename); returns the download name."""
    from .views import download_name

    progress = progress or (lambda rows: rows)
    if request.kind == "scorecard":
        data = load_scorecard(org, request.filters, grain=request.grain)
        rows = data.responses
        data = replace(data, responses=lambda: progress(rows()))
        _atomic(target, lambda out: write_scorecard(out, data, per_location=request.per_location), "wb")
        return download_name("scorecard", data.journey, request.filters, "xlsx")
    journey = load_journey(org, request.filters.journey_id)

    def write(out):
        for chunk in responses_csv(progress(responses(org, request.filters)), org.timezone or "UTC"):
            out.write(chunk)

    _atomic(target, write, "w", encoding="utf-8", newline="")
    return download_name("responses", journey.name, request.filters, "csv")


def _atomic(target: Path, write, mode: str, **open_args) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, mode, **open_args) as out:
            write(out)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def request_from_job(job: ExportJob, org, membership: Membership | None) -> ExportRequest:
    """The job's filters, checked again with the asker's CURRENT scope (a role taken away meanwhile applies)."""
    from .views import export_options

    if membership is None:
        raise ExportRefused("The person who asked for this export is no longer a member of the organisation.")
    args = dict(job.filters.get("args") or {})
    args["per_location"] = "yes" if job.filters.get("per_location") else ""
    if job.filters.get("grain"):
        args["grain"] = job.filters["grain"]
    try:
        filters, per_location, grain = export_options(args, org, scope=scope_of(membership))
        load_journey(org, filters.journey_id)
    except FilterError as error:
        raise ExportRefused("The filters are no longer valid: " + "; ".join(
            f"{item['field']} {item['message']}" for item in error.errors) + ".") from None
    except NotFound:
        raise ExportRefused("The journey no longer exists.") from None
    return ExportRequest(job.kind, filters, per_location, grain)


# --- the task ----------------------------------------------------------------------------------------------------


def _lease() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("TASK_LEASE_SECONDS") or 120))


def _claim(job_id: int) -> str | None:
    """queued (or running with an expired lease) -> running under a new claim token; None if someone else has it."""
    now, token = utcnow(), secrets.token_hex(8)
    with Session(db.engine) as session:
        claimed = session.execute(
            update(ExportJob)
            .where(ExportJob.id == job_id, or_(ExportJob.status == "queued",
                                               (ExportJob.status == "running") & (ExportJob.lease_until < now)))
            .values(status="running", claim=token, lease_until=now + _lease(), attempts=ExportJob.attempts + 1,
                    rows_done=0, started_at=now, error="")
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
    return token if claimed == 1 else None


def _update(job_id: int, token: str, **values) -> bool:
    """Write to the job only while this attempt still holds it (a separate, short transaction)."""
    with Session(db.engine) as session:
        done = session.execute(update(ExportJob).where(ExportJob.id == job_id, ExportJob.claim == token)
                               .values(**values).execution_options(synchronize_session=False)).rowcount
        session.commit()
    return done == 1


@task("exports.run", retries=2, retry_delay=5, context=True)
def run_export(job_id: int, task=None) -> str:
    token = _claim(job_id)
    if token is None:
        return "not claimed"  # done, failed, or another worker holds it
    job = db.session.get(ExportJob, job_id)
    org = db.session.get(Organisation, job.org_id)
    lease = _lease()
    target = Path(current_app.config["EXPORT_DIR"]) / str(org.id) / f"{job.id}-{token}.{EXTENSIONS[job.kind]}"
    try:
        membership = db.session.scalar(select(Membership).where(Membership.org_id == org.id,
                                                                Membership.user_id == job.user_id))
        request = request_from_job(job, org, membership)
        progress = _Progress()
        heartbeat = _Heartbeat(job_id, token, lease, progress)
        heartbeat.start()
        try:
            name = write_export(org, request, target, progress)
        finally:
            heartbeat.stop()  # before the final write, which must not be followed by a late beat
    except ExportRefused as error:
        db.session.rollback()
        _update(job_id, token, status="failed", error=str(error), finished_at=utcnow(), lease_until=None)
        return "refused"
    except Exception as error:
        db.session.rollback()
        target.unlink(missing_ok=True)
        retries_left = getattr(task, "retries", 0)
        described = f"{type(error).__name__}: {error}"[:300]
        if retries_left:
            _update(job_id, token, status="queued", lease_until=None, error=f"Attempt failed ({described}); trying again.")
            raise
        _update(job_id, token, status="failed", finished_at=utcnow(), lease_until=None,
                error=f"The export could not be written ({described}). Try again; if it keeps failing, "
                      "ask your administrator (the worker's log has the details).")
        raise
    db.session.rollback()  # end the reading transaction before the final write (SQLite: one writer at a time)
    now = utcnow()
    if not _update(job_id, token, status="done", file_path=str(target), file_name=name[:200],
                   file_size=target.stat().st_size, rows_done=progress.rows, finished_at=now, lease_until=None,
                   expires_at=now + timedelta(days=int(current_app.config.get("EXPORT_KEEP_DAYS") or 7))):
        target.unlink(missing_ok=True)  # taken over meanwhile: the other attempt's file counts
        return "superseded"
    return "done"


@sweeper("exports")
def recover_and_clean() -> int:
    """Jobs whose worker died go back to the queue (or fail after EXPORT_MAX_ATTEMPTS); expired files go away."""
    now = utcnow()
    config = current_app.config
    changed = 0
    stale = db.session.scalars(select(ExportJob).where(
        or_((ExportJob.status == "running") & (ExportJob.lease_until < now),
            # queued for a while and never started: its task was lost (the queue was down when it was committed)
            (ExportJob.status == "queued") & (ExportJob.created_at < now - _lease()) & (ExportJob.started_at.is_(None)),
            (ExportJob.status == "queued") & (ExportJob.started_at < now - _lease())))).all()
    for job in stale:
        if job.attempts >= int(config.get("EXPORT_MAX_ATTEMPTS") or 3):
            job.status, job.finished_at, job.lease_until = "failed", now, None
            job.error = (f"The export stopped {job.attempts} times before it was finished (its worker was stopped or "
                         "ran out of memory). Try a shorter period, or ask your administrator.")
        else:
            after_commit(run_export, job.id)
        changed += 1
    for job in db.session.scalars(select(ExportJob).where(ExportJob.status == "done", ExportJob.expires_at < now)):
        delete_file(job)
        job.status, job.error = "failed", "The file was deleted after its keeping time; start the export again."
        changed += 1
    return changed


def delete_file(job: ExportJob) -> None:
    if job.file_path:
        root = Path(current_app.config["EXPORT_DIR"]).resolve()
        path = Path(job.file_path).resolve()
        if path.is_relative_to(root):  # never delete outside the export folder, whatever the row says
            path.unlink(missing_ok=True)
    job.file_path = ""


def job_status(job: ExportJob, download_url: str | None) -> dict:
    return {"id": job.id, "kind": job.kind, "status": job.status, "progress": round(job.progress, 4),
            "rows_done": job.rows_done, "rows_total": job.rows_total, "error": job.error or None,
            "download_url": download_url if job.status == "done" else None,
            "expires_at": job.expires_at.isoformat() + "Z" if job.expires_at else None}


def options_from_json(body: Mapping) -> dict[str, str]:
    """API body -> the query-string form export_options() reads (numbers and booleans as text)."""
    out = {}
    for key, value in body.items():
        if key == "kind" or value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        out[key] = str(value)
    return out
