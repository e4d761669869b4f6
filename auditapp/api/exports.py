"""API endpoints: exports (contract section 4: scorecard.xlsx, the same file as the download button and the CLI)."""
from __future__ import annotations

from flask import request

from ..exports.views import export_options, send_scorecard
from ..results.queries import FilterError, NotFound
from ..tenancy import RESULT_VIEWERS, current_org, place_scope, roles_required
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
