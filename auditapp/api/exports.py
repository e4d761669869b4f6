"""API endpoints: exports (contract section 4: scorecard.xlsx, the same file as the download button and the CLI)."""
from __future__ import annotations

from flask import jsonify, request, url_for

from ..exports.views import export_options, own_job_or_404, send_job_file, send_scorecard
from ..extensions import db
from ..results.queries import FilterError, NotFound, load_journey
from ..tenancy import RESULT_VIEWERS, current_org, load_membership, place_scope, roles_required
from ..web import problem
from . import bp


@bp.get("/scorecard.xlsx")
@roles_required(*RESULT_VIEWERS)
def scorecard_xlsx():
    """The Excel scorecard for `journey_id, location_id, region, from, to, source` (+ `per_location`, `grain`)."""
    org = current_org()
    try:
        filters, per_location, grain = export_options(request.args, org, scope=place_scope())
    except FilterError as error:
        return problem(422, "Unprocessable Entity", "Some query parameters are not valid.", error.errors)
    try:
        return send_scorecard(org, filters, per_location=per_location, grain=grain)
    except NotFound:
        return problem(404, "Not Found", "There is no such journey in your organisation.")


# The JSON types of POST /exports (auditapp/api/openapi.py); null is the same as leaving a field out.
ID_FIELDS = ("journey_id", "location_id")
TEXT_FIELDS = ("region", "from", "to", "source", "status", "period", "grain")


def body_type_errors(body: dict) -> list[dict]:
    errors = []
    for name in ID_FIELDS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append({"field": name, "message": "must be a whole number (an id), not " + _json_type(value)})
    for name in TEXT_FIELDS:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors.append({"field": name, "message": "must be text, not " + _json_type(value)})
    value = body.get("per_location")
    if value is not None and not isinstance(value, bool):
        errors.append({"field": "per_location", "message": "must be true or false, not " + _json_type(value)})
    return errors


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


@bp.post("/exports")
@roles_required(*RESULT_VIEWERS)
def start_export():
    """`{kind: scorecard|responses, journey_id, ...the scorecard filters}` -> 202, Location: /api/v1/exports/{id}."""
    from ..exports.jobs import ExportRequest, job_status, options_from_json
    from ..exports.jobs import start_export as start

    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(422, "Unprocessable Entity", "The body must be a JSON object.",
                       [{"field": "body", "message": "must be a JSON object"}])
    kind = body.get("kind")
    errors = [] if kind in ("scorecard", "responses") else [{"field": "kind", "message": "must be scorecard or responses"}]
    errors += body_type_errors(body)
    if errors:  # a wrong type is named as such, before its text is read as a filter (a {} must not pass as a date)
        return problem(422, "Unprocessable Entity", "Some fields are not valid.", errors)
    org = current_org()
    try:
        filters, per_location, grain = export_options(options_from_json(body), org, scope=place_scope())
    except FilterError as error:
        return problem(422, "Unprocessable Entity", "Some fields are not valid.", errors + error.errors)
    if errors:
        return problem(422, "Unprocessable Entity", "Some fields are not valid.", errors)
    try:
        load_journey(org, filters.journey_id)
    except NotFound:
        return problem(404, "Not Found", "There is no such journey in your organisation.")
    job = start(load_membership(), ExportRequest(kind, filters, per_location, grain))
    db.session.commit()
    response = jsonify(job_status(job, None))
    response.status_code = 202
    response.headers["Location"] = url_for(".export_job", job_id=job.id)
    return response


@bp.get("/exports/<int:job_id>")
@roles_required(*RESULT_VIEWERS)
def export_job(job_id: int):
    from ..exports.jobs import job_status

    job = own_job_or_404(job_id)
    return job_status(job, url_for(".export_file", job_id=job.id, _external=False))


@bp.get("/exports/<int:job_id>/file")
@roles_required(*RESULT_VIEWERS)
def export_file(job_id: int):
    return send_job_file(own_job_or_404(job_id))
