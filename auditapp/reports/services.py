"""Who may have a visit report, and the report of one evaluation as PDF bytes (the glue: database, files, template).

`can_see_report` is the one access rule for visit reports, used by the web page and the API alike; scoped roles
(location and regional managers) extend it here, in one place.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..auth.models import PLACE_ROLES
from ..charts.svg import BAND_FILL, BAND_INK, BAND_TEXT, BAND_TINT, GRID, INK, LOW_N_FILL, LOW_N_TEXT, MUTED
from ..evaluations.models import Answer, Evaluation, Photo
from ..evaluations.photos import photo_path
from ..evaluations.services import visible_evaluations
from ..extensions import db
from ..journeys.models import JourneyVersion, Moment
from ..timeutil import utcnow
from .pdf import RenderResult, html_to_pdf, print_photo
from .visit import VisitReport, build_visit_report

# Roles that may ask for a report at all (the routes declare them). Staff may not: a shopper's report gives the date,
# time and the shopper's code or first name of a visit to their own location, which would unmask the secret shopper
# to the very people being assessed; their own self-assessment has its coaching card instead.
# Location and regional managers have the reports of the approved secret-shopper visits of their own places
# (visible_evaluations decides which), always with the shopper's code, never a name.
REPORT_ROLES = ("admin", "manager", "regional_manager", "location_manager", "shopper")
PHOTO_THREADS = 2  # the machines have 2 cores; more threads only queue

# The print palette: the same band colours as the charts and screens, never colour alone (the band word is written).
PALETTE = {
    "fill": BAND_FILL, "text": BAND_TEXT, "tint": BAND_TINT, "ink_of": BAND_INK,
    "ink": INK, "muted": MUTED, "grid": GRID, "none_fill": LOW_N_FILL, "none_text": LOW_N_TEXT,
    "critical": BAND_FILL["miserable"], "critical_ink": BAND_INK["miserable"], "critical_tint": BAND_TINT["miserable"],
}


def can_see_report(user, role: str | None, evaluation: Evaluation) -> bool:
    """The one rule for visit reports: managers and admins of the evaluation's organisation see every report,
    a shopper the reports of their own evaluations; staff none; another organisation's evaluation never.

    Which evaluations a role sees at all is visible_evaluations' business (it is the same set as the API's)."""
    if role not in REPORT_ROLES or user is None or evaluation is None:
        return False
    membership = user.membership_in(evaluation.org_id)
    if membership is None or membership.role != role:
        return False
    visible = visible_evaluations(evaluation.org_id, user, role).where(Evaluation.id == evaluation.id)
    return db.session.scalar(select(visible.exists())) is True


def report_evaluation(org_id: int, user, role: str | None, evaluation_id: int) -> Evaluation | None:
    """The evaluation with everything its report shows, or None when there is none this user may have a report of
    (the caller answers 404 for either: another organisation's ids do not exist)."""
    evaluation = db.session.scalar(
        select(Evaluation).where(Evaluation.id == evaluation_id, Evaluation.org_id == org_id)
        .options(selectinload(Evaluation.answers).selectinload(Answer.question),
                 selectinload(Evaluation.moment_results),
                 joinedload(Evaluation.version).selectinload(JourneyVersion.moments).selectinload(Moment.questions),
                 joinedload(Evaluation.location), joinedload(Evaluation.journey), joinedload(Evaluation.evaluator))
    )
    if evaluation is None or not can_see_report(user, role, evaluation):
        return None
    return evaluation


@dataclass
class RenderedReport:
    report: VisitReport
    pdf: bytes
    refused: list[str]


def _print_photos(evaluation: Evaluation, config, pool: ThreadPoolExecutor) -> dict[str, Future]:
    """public id -> the photo being shrunk for print (Pillow works outside the GIL, so this overlaps WeasyPrint's
    parsing), for each photo answer of the evaluation whose stored file is there."""
    refs = {a.value for a in evaluation.answers
            if a.question is not None and a.question.type == "photo" and a.value and a.value != "na"}
    if not refs:
        return {}
    photos = db.session.scalars(select(Photo).where(Photo.org_id == evaluation.org_id, Photo.public_id.in_(refs)))
    paths = {photo.public_id: photo_path(config, photo) for photo in photos}
    return {public_id: pool.submit(print_photo, path) for public_id, path in paths.items() if path.is_file()}


def visit_report(evaluation: Evaluation, org, *, photo_ids=(), now=None, viewer_role: str | None = None) -> VisitReport:
    evaluator = evaluation.evaluator
    membership = evaluator.membership_in(evaluation.org_id) if evaluator is not None else None
    return build_visit_report(evaluation, org, membership_id=membership.id if membership else None,
                              photo_ids=photo_ids, now=now or utcnow(),
                              shopper_name="code" if viewer_role in PLACE_ROLES else None)


def render_visit_report(evaluation: Evaluation, org, config, *, viewer_role: str | None = None) -> RenderedReport:
    """The report as PDF bytes; raises pdf.ReportUnavailable when WeasyPrint cannot be loaded. `viewer_role`: who
    asks (a place-scoped manager always gets the shopper's code)."""
    with ThreadPoolExecutor(max_workers=PHOTO_THREADS, thread_name_prefix="report-photo") as pool:
        shrinking = _print_photos(evaluation, config, pool)
        report = visit_report(evaluation, org, photo_ids=shrinking.keys(), viewer_role=viewer_role)
        resources = {f"photo-{p.number}": shrinking[p.public_id] for p in report.photos if p.available}
        html = render_template("reports/visit.html", r=report, palette=PALETTE)
        result: RenderResult = html_to_pdf(html, resources)
    return RenderedReport(report, result.pdf, result.refused)
