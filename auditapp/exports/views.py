"""Downloads: the Excel scorecard and the raw responses as CSV, for the dashboard's filters.

`send_scorecard()` is shared with the API (api/exports.py) and mirrors the CLI, so all three give the same file.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from tempfile import SpooledTemporaryFile

from flask import Response, abort, jsonify, redirect, render_template, request, send_file, stream_with_context, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from ..extensions import db
from ..results.queries import GRAINS, FilterError, Filters, NotFound, filters_from_args, load_journey
from ..tenancy import RESULT_VIEWERS, current_org, current_org_id, load_membership, place_scope, roles_required
from . import bp
from .csvexport import responses_csv
from .queries import load_scorecard, responses
from .workbook import write_scorecard

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL_BYTES = 8 * 1024 * 1024  # bigger workbooks go to a temporary file on disk, not memory
YES = ("1", "true", "yes", "on")
NO = ("", "0", "false", "no", "off")
# models.EXPORT_STATUSES as the exports page shows them (the JSON status and the files keep the keys).
JOB_STATUSES = {"queued": _l("queued"), "running": _l("running"), "done": _l("done"), "failed": _l("failed")}


def export_options(args: Mapping[str, str], org, *, scope=None) -> tuple[Filters, bool, str | None]:
    """The dashboard's filters plus `per_location` (yes/no) and `grain` (month/week); FilterError lists every problem.
    `scope`: a place-scoped viewer's (tenancy.place_scope()); the CLI sees the whole organisation."""
    errors: list[tuple[str, str]] = []
    try:
        filters = filters_from_args(args, org, scope=scope)
    except FilterError as error:
        errors.extend((item["field"], item["message"]) for item in error.errors)
        filters = None
    per_location = (args.get("per_location") or "").strip().lower()
    if per_location not in YES + NO:
        errors.append(("per_location", "must be yes or no"))
    grain = (args.get("grain") or "").strip().lower() or None
    if grain is not None and grain not in GRAINS:
        errors.append(("grain", f"must be one of {', '.join(GRAINS)}"))
    if errors:
        raise FilterError(errors)
    return filters, per_location in YES, grain


def download_name(prefix: str, journey_name: str, filters: Filters, extension: str) -> str:
    """An ASCII file name that says what is inside: scorecard-cafe-order-2026-01-01-to-2026-03-31-shoppers.xlsx."""
    parts = [prefix, journey_name]
    if filters.date_from or filters.date_to:
        parts += [_day(filters.date_from, "start"), "to", _day(filters.date_to, "now")]
    # Whose opinion is inside, in the name too (the CSV has no room for a header of filters).
    parts.append({"shopper": "shoppers", "staff": "staff", "all": "shoppers-and-staff"}[filters.source_key])
    if filters.status != "counted":
        parts.append(f"{filters.status}-only")
    name = secure_filename("-".join(p.replace(" ", "-") for p in parts)).lower() or prefix
    return f"{name[:120]}.{extension}"


def _day(value: date | None, missing: str) -> str:
    return value.isoformat() if value else missing


def send_scorecard(org, filters: Filters, *, per_location: bool = False, grain: str | None = None) -> Response:
    """Write the workbook to a spooled temporary file and stream it (NotFound when the journey is not the org's).

    The file is sent in blocks by a generator that closes it when the body has been sent (or dropped), so it is
    never left open even when a client does not close the response; the workbook is never held twice in memory.
    """
    data = load_scorecard(org, filters, grain=grain)
    spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by _blocks)
    try:
        write_scorecard(spool, data, per_location=per_location)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    name = download_name("scorecard", data.journey, filters, "xlsx")
    response = Response(_blocks(spool), mimetype=XLSX_MIMETYPE, direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _blocks(spool, size: int = 64 * 1024):
    try:
        while block := spool.read(size):
            yield block
    finally:
        spool.close()


def _options_or_400(org) -> tuple[Filters, bool, str | None]:
    try:
        return export_options(request.args, org, scope=place_scope())
    except FilterError as error:
        abort(400, description="This download link has a problem: "
                               + "; ".join(f"{item['field']} {item['message']}" for item in error.errors) + ".")


def _in_background(kind: str, org, filters: Filters, per_location: bool = False, grain: str | None = None):
    """A big export (or ?background=yes) becomes a job: its page shows the progress and then the link."""
    from .jobs import ExportRequest, is_small, start_export

    if (request.args.get("background") or "").lower() not in YES and is_small(org, filters):
        return None
    job = start_export(load_membership(), ExportRequest(kind, filters, per_location, grain))
    db.session.commit()
    return redirect(url_for(".job", job_id=job.id), 303)


@bp.get("/scorecard.xlsx")
@roles_required(*RESULT_VIEWERS)
def scorecard():
    org = current_org()
    filters, per_location, grain = _options_or_400(org)
    try:
        load_journey(org, filters.journey_id)
    except NotFound:
        abort(404)
    return _in_background("scorecard", org, filters, per_location, grain) or \
        send_scorecard(org, filters, per_location=per_location, grain=grain)


@bp.get("/responses.csv", endpoint="responses_csv")
@roles_required(*RESULT_VIEWERS)
def responses_csv_download():
    org = current_org()
    filters, _per_location, _grain = _options_or_400(org)
    try:
        journey = load_journey(org, filters.journey_id)
    except NotFound:
        abort(404)
    if background := _in_background("responses", org, filters):
        return background
    name = download_name("responses", journey.name, filters, "csv")
    body = stream_with_context(responses_csv(responses(org, filters, plain=True), org.timezone or "UTC"))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- export jobs: the asker's own, in their organisation (anyone else: 404) -------------------------------------


def own_job_or_404(job_id: int):
    from .models import ExportJob

    job = db.session.get(ExportJob, job_id)
    if job is None or job.org_id != current_org_id() or job.user_id != current_user.id:
        abort(404)
    return job


def send_job_file(job):
    """The finished file, as the synchronous download sends it (same name and type); 404 when gone."""
    from pathlib import Path

    from .jobs import MIMETYPES

    if job.status != "done" or not job.file_path or not Path(job.file_path).is_file():
        abort(404)
    response = send_file(job.file_path, mimetype=MIMETYPES[job.kind], max_age=0)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.file_name}"'  # as the synchronous download
    return response


@bp.get("/jobs")
@roles_required(*RESULT_VIEWERS)
def jobs():
    from .models import ExportJob

    listed = db.session.scalars(select(ExportJob).where(ExportJob.org_id == current_org_id(),
                                                        ExportJob.user_id == current_user.id)
                                .order_by(ExportJob.created_at.desc(), ExportJob.id.desc()).limit(50)).all()
    return render_template("exports/jobs.html", jobs=listed, job_statuses=JOB_STATUSES)


@bp.get("/jobs/<int:job_id>")
@roles_required(*RESULT_VIEWERS)
def job(job_id: int):
    found = own_job_or_404(job_id)
    return render_template("exports/job.html", job=found)


@bp.get("/jobs/<int:job_id>/status")
@roles_required(*RESULT_VIEWERS)
def job_status(job_id: int):
    from .jobs import job_status as status

    found = own_job_or_404(job_id)
    return jsonify(status(found, url_for(".job_file", job_id=found.id)))


@bp.get("/jobs/<int:job_id>/file")
@roles_required(*RESULT_VIEWERS)
def job_file(job_id: int):
    return send_job_file(own_job_or_404(job_id))
