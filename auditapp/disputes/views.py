"""Dispute pages: the list, opening one from a visit, its page with the thread, deciding it, its evidence."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth.models import PLACE_ROLES
from ..evaluations.models import Evaluation
from ..extensions import db
from ..tenancy import MANAGERS, current_org, current_role, roles_required
from . import bp
from .evidence import evidence_path
from .forms import DECISION_CHOICES, MessageForm, OpenDisputeForm, decision_form_for, put_errors
from .models import Dispute
from .services import (
    DisputeError,
    add_message,
    decide_dispute,
    dispute_page,
    dispute_rows,
    open_dispute,
    status_counts,
    value_choices,
    visible_disputes,
    visit_panel,
)

viewers = roles_required(*MANAGERS, *PLACE_ROLES)
openers = roles_required(*PLACE_ROLES)
deciders = roles_required(*MANAGERS)
LIST_STATUSES = {"open": _l("Open"), "accepted": _l("Accepted"), "declined": _l("Declined"), "all": _l("All")}


def _dispute_or_404(dispute_id: int) -> Dispute:
    """A dispute this member may see; another organisation's, or one on a visit they cannot see, is 404."""
    dispute = db.session.scalar(visible_disputes(current_org().id, current_user, current_role())
                                .where(Dispute.id == dispute_id))
    if dispute is None:
        abort(404)
    return dispute


def _visit_or_404(evaluation_id: int) -> Evaluation:
    """An approved secret-shopper visit of the member's own places (as on the sites' pages); anything else 404."""
    from ..sites.views import visible_visit_or_404

    return visible_visit_or_404(evaluation_id)


@bp.get("/")
@viewers
def index():
    status = request.args.get("status", "open")
    if status not in LIST_STATUSES:
        status = "open"
    org = current_org()
    return render_template("disputes/index.html", rows=dispute_rows(org.id, current_user, current_role(), status=status),
                           status=status, statuses=LIST_STATUSES, counts=status_counts(org.id, current_user, current_role()),
                           managers=current_role() in MANAGERS, window_days=org.dispute_window_days)


@bp.route("/new/<int:evaluation_id>", methods=["GET", "POST"])
@openers
def new(evaluation_id: int):
    evaluation = _visit_or_404(evaluation_id)
    org = current_org()
    panel = visit_panel(evaluation, org, current_user, current_role())
    form = OpenDisputeForm()
    form.answer.choices = [("", _("Choose the answer")), *panel["choices"]]
    if request.method == "GET" and request.args.get("answer"):
        form.answer.data = request.args["answer"]
    if not panel["can_open"]:
        return render_template("disputes/new.html", form=form, ev=evaluation, panel=panel,
                               loose=[]), 409 if request.method == "POST" else 200
    loose: list[str] = []
    if request.method == "POST" and form.validate():  # the CSRF token; the service checks the rest
        moment_key, _sep, question_key = (form.answer.data or "").partition(".")
        try:
            dispute = open_dispute(evaluation, current_user, current_role(), moment_key=moment_key,
                                   question_key=question_key, reason=form.reason.data, evidence=form.evidence.data,
                                   config=current_app.config)
        except DisputeError as error:
            db.session.rollback()
            errors = error.errors or [{"field": "", "message": error.detail}]
            if not form.answer.data:
                errors = [e for e in errors if e["field"] not in ("moment", "question")]
                errors.insert(0, {"field": "answer", "message": _("Choose the answer you dispute")})
            loose = put_errors(form, errors, {"moment": "answer", "question": "answer"})
            return render_template("disputes/new.html", form=form, ev=evaluation, panel=panel, loose=loose), \
                error.status if error.status in (409, 422) else 422
        db.session.commit()
        flash(_("Dispute #%(id)d sent: the reviewers have been told.", id=dispute.id), "success")
        return redirect(url_for(".show", dispute_id=dispute.id))
    status = 422 if request.method == "POST" else 200
    return render_template("disputes/new.html", form=form, ev=evaluation, panel=panel, loose=loose), status


def _render(dispute: Dispute, *, message_form=None, decision_form=None, loose=(), status: int = 200):
    page = dispute_page(dispute, current_role())
    if decision_form is None and page["can_decide"]:
        decision_form = decision_form_for(value_choices(dispute.question), formdata=None)
    return render_template("disputes/show.html", page=page, d=dispute, message_form=message_form or MessageForm(formdata=None),
                           decision_form=decision_form, decision_labels=DECISION_CHOICES, loose=list(loose)), status


@bp.get("/<int:dispute_id>")
@viewers
def show(dispute_id: int):
    return _render(_dispute_or_404(dispute_id))


@bp.post("/<int:dispute_id>/messages")
@viewers
def message(dispute_id: int):
    dispute = _dispute_or_404(dispute_id)
    form = MessageForm()
    if form.validate():
        try:
            add_message(dispute, current_user, current_role(), form.body.data)
        except DisputeError as error:
            db.session.rollback()
            loose = put_errors(form, error.errors) if error.status == 422 else [error.detail]
            return _render(dispute, message_form=form, loose=loose, status=error.status)
        db.session.commit()
        flash(_("Message added."), "success")
        return redirect(url_for(".show", dispute_id=dispute.id, _anchor="thread"))
    return _render(dispute, message_form=form, status=422)


@bp.post("/<int:dispute_id>/decision")
@deciders
def decide(dispute_id: int):
    dispute = _dispute_or_404(dispute_id)
    form = decision_form_for(value_choices(dispute.question))
    if form.validate():
        try:
            decide_dispute(dispute, current_user, current_role(), decision=form.decision.data,
                           reason=form.reason.data, value=form.value.data)
        except DisputeError as error:
            db.session.rollback()
            # Already decided (409): the form is gone from the page, so the message stands on its own.
            loose = put_errors(form, error.errors) if error.status == 422 else [error.detail]
            return _render(dispute, decision_form=form, loose=loose, status=error.status)
        db.session.commit()
        flash(_("Dispute #%(id)d accepted.", id=dispute.id) if dispute.status == "accepted" else
              _("Dispute #%(id)d declined.", id=dispute.id), "success")
        return redirect(url_for(".show", dispute_id=dispute.id))
    return _render(dispute, decision_form=form, status=422)


@bp.get("/<int:dispute_id>/evidence")
@viewers
def evidence(dispute_id: int):
    dispute = _dispute_or_404(dispute_id)
    if not dispute.evidence_kind:
        abort(404)
    path = evidence_path(current_app.config, dispute.evidence_path)
    if not path.is_file():
        abort(404)
    # Read whole (photos are small, PDFs at most DISPUTE_PDF_MAX_BYTES): no file left open per response.
    if dispute.evidence_kind == "photo":  # a re-encoded JPEG: safe to show on the page
        response = Response(path.read_bytes(), mimetype="image/jpeg")
        response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(dispute.evidence_name)}"
    else:  # a PDF is kept as sent: a download only, never opened inside this site
        response = Response(path.read_bytes(), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(dispute.evidence_name)}"
        response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
