"""The visit report as a PDF download for the browser (the review page links here). Thin: load, check, render."""
from __future__ import annotations

from flask import Response, abort, current_app, make_response, render_template
from flask_login import current_user

from ..tenancy import current_org, current_role, roles_required
from . import bp
from .pdf import ReportUnavailable
from .services import REPORT_ROLES, report_evaluation

reports_roles = roles_required(*REPORT_ROLES)


def pdf_response(pdf: bytes, file_name: str) -> Response:
    """Shown in the browser's PDF viewer (inline), saved under its own name; never cached by a shared proxy."""
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{file_name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/visits/<int:evaluation_id>.pdf")
@reports_roles
def visit_pdf(evaluation_id: int):
    from .services import render_visit_report

    org = current_org()
    evaluation = report_evaluation(org.id, current_user, current_role(), evaluation_id)
    if evaluation is None:
        abort(404)
    try:
        rendered = render_visit_report(evaluation, org, current_app.config, viewer_role=current_role())
    except ReportUnavailable as error:
        current_app.logger.warning("visit report %s: %s", evaluation_id, error)
        return make_response(render_template("errors/error.html", code=503, description=str(error)), 503)
    return pdf_response(rendered.pdf, rendered.report.file_name)
