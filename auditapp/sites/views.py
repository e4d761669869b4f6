"""Pages for the audited sites: My visits (reviewed secret-shopper visits of my places) and each visit's page."""
from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user

from ..evaluations.models import Evaluation
from ..evaluations.services import visible_evaluations
from ..extensions import db
from ..journeys.models import Journey
from ..locations.models import Location
from ..tenancy import RESULT_VIEWERS, current_org, current_role, place_scope, roles_required, scoped
from ..visits.review import review_page
from . import bp
from .services import site_visits

result_viewers = roles_required(*RESULT_VIEWERS)


def _my_locations() -> list[Location]:
    query = scoped(Location).order_by(Location.name, Location.code)
    scope = place_scope()
    if scope is not None:
        query = query.where(Location.id.in_(sorted(scope.location_ids) or [-1]))
    return list(db.session.scalars(query))


def _chosen(name: str, allowed: set[int]) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) not in allowed:
        abort(404)  # another site's (or another organisation's) id: as if it did not exist
    return int(raw)


@bp.get("/visits")
@result_viewers
def visits():
    org = current_org()
    locations = _my_locations()
    journeys = list(db.session.scalars(scoped(Journey).order_by(Journey.name)))
    location_id = _chosen("location", {loc.id for loc in locations})
    journey_id = _chosen("journey", {j.id for j in journeys})
    page = site_visits(org, current_user, current_role(), location_id=location_id, journey_id=journey_id,
                       page=request.args.get("page", 1, type=int) or 1)
    args = {k: v for k, v in (("location", location_id), ("journey", journey_id)) if v}
    return render_template(
        "sites/visits.html", page=page, locations=locations, journeys=journeys, location_id=location_id,
        journey_id=journey_id, scoped=place_scope() is not None, report_url=_report_url,
        next_url=url_for(".visits", page=page.page + 1, **args) if page.page < page.pages else None,
        prev_url=url_for(".visits", page=page.page - 1, **args) if page.page > 1 else None,
    )


def _report_url(evaluation_id: int) -> str | None:
    for endpoint in ("reports.visit_pdf", "api.evaluation_report_pdf"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint, evaluation_id=evaluation_id)
    return None


def visible_visit_or_404(evaluation_id: int) -> Evaluation:
    """One approved secret-shopper visit the viewer may see; anything else (other places, drafts, other
    organisations) is 404."""
    evaluation = db.session.scalar(
        visible_evaluations(current_org().id, current_user, current_role())
        .where(Evaluation.id == evaluation_id, Evaluation.source == "shopper", Evaluation.status == "approved"))
    if evaluation is None:
        abort(404)
    return evaluation


@bp.get("/visits/<int:evaluation_id>")
@result_viewers
def visit(evaluation_id: int):
    from ..disputes.services import visit_panel

    evaluation = visible_visit_or_404(evaluation_id)
    org = current_org()
    page = review_page(evaluation, org.bands)
    return render_template("sites/visit.html", ev=evaluation, page=page, report_url=_report_url(evaluation.id),
                           disputes=visit_panel(evaluation, org, current_user, current_role()))
