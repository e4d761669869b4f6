"""API: the PDF visit report (contract section 7): GET /api/v1/evaluations/{id}/report.pdf -> application/pdf."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

from ..reports.pdf import ReportUnavailable
from ..reports.services import REPORT_ROLES, render_visit_report, report_evaluation
from ..reports.views import pdf_response
from ..tenancy import current_org, current_role, roles_required
from ..web import problem
from . import bp


@bp.get("/evaluations/<int:evaluation_id>/report.pdf")
@roles_required(*REPORT_ROLES)
def evaluation_report_pdf(evaluation_id: int):
    """Managers and admins: any evaluation of their organisation; shoppers: their own; staff: 403."""
    org = current_org()
    evaluation = report_evaluation(org.id, current_user, current_role(), evaluation_id)
    if evaluation is None:
        return problem(404, "Not Found", "No such evaluation.")
    try:
        rendered = render_visit_report(evaluation, org, current_app.config, viewer_role=current_role())
    except ReportUnavailable as error:
        current_app.logger.warning("visit report %s: %s", evaluation_id, error)
        return problem(503, "Service Unavailable", str(error))
    return pdf_response(rendered.pdf, rendered.report.file_name)
