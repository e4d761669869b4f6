"""Views of the visits package: assignments (managers and shoppers), review, fixing returned evaluations, coaching.

Thin: load through the tenancy helpers, check the role, call a service, commit, render.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from ..auth.forms import ConfirmForm
from ..auth.models import Membership, User
from ..evaluations.models import STATUSES as REVIEW_STATUSES
from ..evaluations.models import Evaluation
from ..extensions import db
from ..formutil import choices, parse_id
from ..journeys.models import Journey
from ..journeys.services import published_journeys
from ..locations.models import Location
from ..tenancy import current_org, current_org_id, current_role, get_scoped_or_404, managers_only, roles_required
from ..timeutil import local_today
from . import bp
from .coaching import coaching_card
from .forms import MONTH_FORMAT, ApproveForm, AssignmentForm, BulkPlanForm, ReasonForm
from .integrity import FLAG_LABELS
from .models import Assignment
from .review import (
    BULK_APPROVE_LIMIT,
    ReviewError,
    ReviewFilters,
    approve,
    bulk_approve,
    bulk_candidates,
    reject,
    return_to_evaluator,
    review_count,
    review_list,
    review_page,
    status_counts,
)
from .scheduling import PlanError, month_window
from .services import (
    STATUS_LABELS,
    AssignmentFilters,
    VisitError,
    active_locations,
    cancel_assignment,
    count_assignments,
    count_overdue,
    create_assignment,
    create_bulk,
    list_assignments,
    month_calendar,
    org_shoppers,
    plan_bulk,
    shopper_visits,
    start_assignment,
)

PAGE_SIZE = 25  # a compact table: about three screens
REVIEW_PAGE = 10  # about three phone screens of cards (measured: 2.7 at 360 x 800)


def _today():
    return local_today(current_org().timezone)


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))  # larger: no id or page can be that large


def _page() -> int:
    return max(1, _int_arg("page") or 1)


def _fill_url(assignment: Assignment) -> str | None:
    """The phone form for this visit (None until the evaluations package provides it)."""
    if "evaluations.fill" not in current_app.view_functions:
        return None
    return url_for("evaluations.fill", location=assignment.location_id, journey=assignment.journey_id,
                   assignment=assignment.id)


# --- managers: assignments ------------------------------------------------------------------------------------


def _assignment_filters() -> AssignmentFilters:
    status = request.args.get("status", "")
    return AssignmentFilters(status=status if status in STATUS_LABELS else "", shopper_id=_int_arg("shopper"),
                             location_id=_int_arg("location"), journey_id=_int_arg("journey"))


def _assignment_args(filters: AssignmentFilters) -> dict:
    args = {"status": filters.status or None, "shopper": filters.shopper_id, "location": filters.location_id,
            "journey": filters.journey_id}
    return {k: v for k, v in args.items() if v}


def _filter_choices(org_id: int) -> dict:
    return {"statuses": STATUS_LABELS, "shoppers": org_shoppers(org_id), "locations": active_locations(org_id),
            "journeys": published_journeys(org_id)}


@bp.route("/")
@managers_only
def manage():
    org_id = current_org_id()
    filters = _assignment_filters()
    today = _today()
    total = count_assignments(org_id, filters, today)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(_page(), pages)
    rows = list_assignments(org_id, filters, today, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template(
        "visits/manage.html", rows=rows, filters=filters, page=page, pages=pages, total=total, has_next=page < pages,
        args=_assignment_args(filters), overdue_count=count_overdue(org_id, today), today=today,
        cancel_form=ConfirmForm(), **_filter_choices(org_id),
    )


@bp.route("/calendar")
@managers_only
def month_view():
    """The visits of a month on a calendar: made ones on the day they were made, open ones on their last day."""
    org_id = current_org_id()
    filters = _assignment_filters()
    today = _today()
    try:
        shown = datetime.strptime(request.args.get("month", ""), MONTH_FORMAT).date()
    except ValueError:
        shown = today.replace(day=1)
    if not 2000 <= shown.year <= 2100:
        shown = today.replace(day=1)
    weeks = month_calendar(org_id, filters, shown.year, shown.month, today, current_org().timezone)
    previous = (shown - timedelta(days=1)).replace(day=1)
    following = (shown + timedelta(days=32)).replace(day=1)
    return render_template(
        "visits/calendar.html", weeks=weeks, shown=shown, today=today, filters=filters,
        args=_assignment_args(filters), previous=previous.strftime(MONTH_FORMAT),
        following=following.strftime(MONTH_FORMAT), visit_count=sum(len(d.visits) for w in weeks for d in w
                                                                     if d.in_month),
        **_filter_choices(org_id),
    )


def _assignment_form_choices(form: AssignmentForm, org_id: int) -> None:
    form.location_id.choices = choices([("", _("Pick a location"))] + [(loc.id, f"{loc.code} {loc.name}")
                                                                     for loc in active_locations(org_id)])
    form.journey_id.choices = choices([("", _("Pick a journey"))] + [(j.id, j.name) for j in published_journeys(org_id)])
    form.shopper_id.choices = choices([("", _("Pick a secret shopper"))] + [(s.id, s.name) for s in org_shoppers(org_id)])


@bp.route("/new", methods=["GET", "POST"])
@managers_only
def new():
    org_id = current_org_id()
    form = AssignmentForm()
    _assignment_form_choices(form, org_id)
    if request.method == "GET":
        form.location_id.data = request.args.get("location", "")
        form.journey_id.data = request.args.get("journey", "")
    if form.validate_on_submit():
        try:
            assignment = create_assignment(
                org_id, location=get_scoped_or_404(Location, form.location_id.data),
                journey=get_scoped_or_404(Journey, form.journey_id.data),
                shopper=_shopper(org_id, form.shopper_id.data), window_start=form.window_start.data,
                window_end=form.window_end.data, instructions=form.instructions.data or "", user=current_user)
        except VisitError as error:
            db.session.rollback()
            _attach_error(form, error)
        else:
            db.session.commit()
            flash(_("Visit scheduled: %(location)s, %(journey)s, %(shopper)s.", location=assignment.location.name,
                    journey=assignment.journey.name, shopper=assignment.shopper.name), "success")
            return redirect(url_for("visits.manage"))
    return render_template("visits/new.html", form=form)


def _shopper(org_id: int, user_id):
    shopper = next((s for s in org_shoppers(org_id) if str(s.id) == str(user_id)), None)
    if shopper is None:
        abort(404)
    return shopper


def _attach_error(form, error: VisitError) -> None:
    target = getattr(form, error.field, None) if error.field else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/plan", methods=["GET", "POST"])
@managers_only
def plan():
    org_id = current_org_id()
    form = BulkPlanForm()
    shoppers = org_shoppers(org_id)
    form.journey_id.choices = choices([("", _("Pick a journey"))] + [(j.id, j.name) for j in published_journeys(org_id)])
    form.shopper_ids.choices = choices([(s.id, s.name) for s in shoppers])
    if request.method == "GET":
        today = _today()
        next_month = (today.year + (today.month // 12), today.month % 12 + 1)
        form.month.data = f"{next_month[0]:04d}-{next_month[1]:02d}"
        form.shopper_ids.data = [str(s.id) for s in shoppers]
    preview = None
    if form.validate_on_submit():
        try:
            window = month_window(*form.month.parsed)
            journey = get_scoped_or_404(Journey, form.journey_id.data)
            preview = plan_bulk(org_id, journey, [int(i) for i in form.shopper_ids.data], window)
            if request.form.get("action") == "create":
                if not preview.visits:
                    raise VisitError(None, _("Every active location already has a visit for this journey in that month."))
                created = create_bulk(org_id, preview, form.instructions.data or "", user=current_user)
                db.session.commit()
                flash(ngettext("%(num)s visit scheduled for %(journey)s in %(month)s.",
                               "%(num)s visits scheduled for %(journey)s in %(month)s.",
                               len(created), journey=journey.name, month=form.month.data), "success")
                return redirect(url_for("visits.manage", journey=journey.id))
        except (VisitError, PlanError) as error:
            db.session.rollback()
            preview = None
            _attach_error(form, error if isinstance(error, VisitError) else VisitError(None, str(error)))
    return render_template("visits/plan.html", form=form, preview=preview)


@bp.route("/<int:assignment_id>/cancel", methods=["POST"])
@managers_only
def cancel(assignment_id: int):
    assignment = get_scoped_or_404(Assignment, assignment_id)
    ConfirmForm().validate_on_submit()  # CSRF is checked globally; the form only carries the token
    try:
        cancel_assignment(assignment, current_user)
    except VisitError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Visit to %(location)s cancelled.", location=assignment.location.name), "success")
    return redirect(request.referrer if _same_page(request.referrer) else url_for("visits.manage"))


def _same_page(referrer: str | None) -> bool:
    return bool(referrer) and referrer.startswith(url_for("visits.manage", _external=True))


# --- shoppers: my visits --------------------------------------------------------------------------------------


@bp.route("/mine")
@roles_required("shopper")
def mine():
    visits = shopper_visits(current_org_id(), current_user, _today())
    for group in (visits.due, visits.overdue):
        for row in group:
            row["fill_url"] = _fill_url(row["assignment"])
    return render_template("visits/mine.html", visits=visits, start_form=ConfirmForm(),
                           has_detail="evaluations.detail" in current_app.view_functions)


@bp.route("/<int:assignment_id>/start", methods=["POST"])
@roles_required("shopper")
def start(assignment_id: int):
    assignment = get_scoped_or_404(Assignment, assignment_id)
    if assignment.shopper_id != current_user.id:
        abort(404)  # another shopper's visit does not exist for this one
    ConfirmForm().validate_on_submit()
    try:
        start_assignment(assignment, current_user, _today())
    except VisitError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("visits.mine"))
    db.session.commit()
    return redirect(_fill_url(assignment) or url_for("visits.mine"))



# --- managers: review -----------------------------------------------------------------------------------------


def _evaluators(org_id: int) -> list:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role.in_(("shopper", "staff"))).order_by(User.name, User.id)
    ))


def _review_filters() -> ReviewFilters:
    """The review filters from the query string (a bulk approval posts to a URL that carries them too)."""
    flag, source, status = (request.args.get(name, "") for name in ("flag", "source", "status"))
    return ReviewFilters(location_id=_int_arg("location"), journey_id=_int_arg("journey"),
                         evaluator_id=_int_arg("evaluator"),
                         status=status if status in REVIEW_STATUSES else "",
                         flag=flag if flag == "any" or flag in FLAG_LABELS else "",
                         source=source if source in ("shopper", "staff") else "")


def _review_args(filters: ReviewFilters) -> dict:
    args = {"location": filters.location_id, "journey": filters.journey_id, "evaluator": filters.evaluator_id,
            "status": filters.status or None, "flag": filters.flag or None, "source": filters.source or None}
    return {k: v for k, v in args.items() if v}


@bp.route("/review")
@managers_only
def review():
    from ..disputes.services import open_count

    org_id = current_org_id()
    filters = _review_filters()
    total = review_count(org_id, filters)
    pages = max(1, -(-total // REVIEW_PAGE))
    page = min(_page(), pages)
    rows = review_list(org_id, filters, limit=REVIEW_PAGE, offset=(page - 1) * REVIEW_PAGE, bands=current_org().bands)
    approvable = bulk_candidates(org_id, filters, limit=0)[1]
    return render_template(
        "visits/review.html", rows=rows, filters=filters, page=page, pages=pages, total=total,
        has_next=page < pages, args=_review_args(filters), statuses=REVIEW_STATUSES, flags=FLAG_LABELS,
        counts=status_counts(org_id), locations=active_locations(org_id), journeys=published_journeys(org_id),
        evaluators=_evaluators(org_id), approvable=approvable, open_disputes=open_count(org_id),
    )


@bp.route("/review/approve-unflagged", methods=["GET", "POST"])
@managers_only
def bulk_approve_unflagged():
    """Approve the waiting evaluations without integrity flags, after the reviewer has seen the list."""
    org_id = current_org_id()
    filters = _review_filters()
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The confirmation expired; check the list and confirm again."), "error")
            return redirect(url_for("visits.bulk_approve_unflagged", **_review_args(filters)))
        ids = [i for i in map(parse_id, request.form.getlist("evaluation_id")) if i is not None]
        result = bulk_approve(org_id, ids, current_user)
        db.session.commit()
        message = ngettext("%(num)s evaluation approved.", "%(num)s evaluations approved.", len(result.approved))
        if result.skipped:
            message += " " + _("%(count)s left alone: decided or flagged since you confirmed (%(ids)s).",
                               count=len(result.skipped), ids=", ".join(f"#{i}" for i in result.skipped[:10]))
        flash(message, "success" if result.approved else "error")
        return redirect(url_for("visits.review", **_review_args(filters)))
    rows, total = bulk_candidates(org_id, filters)
    return render_template("visits/bulk_approve.html", rows=rows, total=total, filters=filters, form=form,
                           args=_review_args(filters), limit=BULK_APPROVE_LIMIT, bands=current_org().bands)


@bp.route("/review/<int:evaluation_id>")
@managers_only
def review_detail(evaluation_id: int):
    evaluation = get_scoped_or_404(Evaluation, evaluation_id)
    return _render_review(evaluation, ReasonForm(prefix="reject"), ReasonForm(prefix="return"), ApproveForm(prefix="approve"))


def _render_review(evaluation, reject_form, return_form, approve_form, status: int = 200):
    from ..disputes.services import visit_panel

    return_form.comment.label.text = _("What should be fixed?")
    org = current_org()
    page = review_page(evaluation, org.bands)

    def plan_url(moment_key: str, question_key: str | None = None) -> str:
        """A corrective action on a failed moment or item of this visit, prefilled (results.new_action)."""
        return url_for("results.new_action", journey_id=evaluation.journey_id, moment=moment_key,
                       question=question_key, location_id=evaluation.location_id, evaluation_id=evaluation.id)

    return render_template("visits/review_detail.html", page=page, ev=evaluation, reject_form=reject_form,
                           return_form=return_form, approve_form=approve_form, plan_url=plan_url,
                           disputes=visit_panel(evaluation, org, current_user, current_role())
                           if evaluation.source == "shopper" else None,
                           coaching_url=url_for("visits.coaching", evaluation_id=evaluation.id)
                           if evaluation.source == "staff" else None), status


@bp.route("/review/<int:evaluation_id>/<any(approve, reject, return):decision>", methods=["POST"])
@managers_only
def decide(evaluation_id: int, decision: str):
    evaluation = get_scoped_or_404(Evaluation, evaluation_id)
    forms = {"approve": ApproveForm(prefix="approve"), "reject": ReasonForm(prefix="reject"),
             "return": ReasonForm(prefix="return")}
    form = forms[decision]
    if not form.validate_on_submit():
        flash(_("Please fix the problem shown below."), "error")
        return _render_review(evaluation, forms["reject"], forms["return"], forms["approve"], 422)
    actions = {"approve": approve, "reject": reject, "return": return_to_evaluator}
    try:
        actions[decision](evaluation, current_user, form.comment.data or "")
    except ReviewError as error:
        db.session.rollback()
        form.comment.errors = [*form.comment.errors, str(error)]
        return _render_review(evaluation, forms["reject"], forms["return"], forms["approve"], 409)
    db.session.commit()
    who = evaluation.evaluator.name if evaluation.evaluator else _("the evaluator")
    done = {"approve": _("Evaluation #%(id)s approved.", id=evaluation.id),
            "reject": _("Evaluation #%(id)s rejected: it no longer counts in any result.", id=evaluation.id),
            "return": _("Evaluation #%(id)s returned to %(name)s.", id=evaluation.id, name=who)}
    flash(done[decision], "success")
    return redirect(url_for("visits.review_detail", evaluation_id=evaluation.id))


# --- evaluators: fix a returned evaluation -------------------------------------------------------------------


@bp.route("/fix/<int:evaluation_id>", methods=["GET", "POST"])
@roles_required("shopper", "staff", "manager", "admin")
def fix(evaluation_id: int):
    """The older address of the fix form: the same phone form as /evaluations/new?fix=<id> (one implementation)."""
    from ..evaluations.views import fix_returned

    return fix_returned(evaluation_id, url_for("visits.fix", evaluation_id=evaluation_id))


def _expired_fix_form(error):
    from ..evaluations.views import expired_form

    return expired_form(error)


bp.register_error_handler(CSRFError, _expired_fix_form)  # a stale fix form comes back with everything typed


def _detail_url(evaluation: Evaluation) -> str:
    if "evaluations.detail" in current_app.view_functions:
        return url_for("evaluations.detail", evaluation_id=evaluation.id)
    return url_for("visits.mine")


# --- staff: the shift-end coaching card ----------------------------------------------------------------------


@bp.route("/coaching/<int:evaluation_id>")
@roles_required("staff", "manager", "admin")
def coaching(evaluation_id: int):
    evaluation = get_scoped_or_404(Evaluation, evaluation_id)
    if evaluation.source != "staff" or (current_role() == "staff" and evaluation.evaluator_id != current_user.id):
        abort(404)
    detail_url = _detail_url(evaluation) if "evaluations.detail" in current_app.view_functions else None
    return render_template("visits/coaching.html", card=coaching_card(evaluation), ev=evaluation, detail_url=detail_url,
                           own=evaluation.evaluator_id == current_user.id)
