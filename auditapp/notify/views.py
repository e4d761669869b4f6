"""Notification settings for every user, the outbox for admins, and sending right after each request."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from ..audit import record
from ..auth.forms import ConfirmForm
from ..auth.models import ROLE_LABELS, ROLES
from ..extensions import db
from ..tenancy import admins_only, current_org_id, current_role, get_scoped_or_404, roles_required, scoped
from . import bp
from .delivery import deliver_request_queue, mail_configured
from .forms import settings_form
from .kinds import SHOWN_TEXTS, kinds_for_role
from .models import OUTBOX_STATUSES, OutboxMessage
from .settings import save_settings, turned_off_kinds

OUTBOX_PAGE = 100
KIND_LABELS = {"invite": _l("Invite"), "scorecard": _l("Scheduled scorecard"),
               **{key: label for key, (label, _description) in SHOWN_TEXTS.items()}}
# The outbox's statuses (OUTBOX_STATUSES) as the page shows them.
STATUS_LABELS = {"pending": _l("pending"), "sending": _l("sending"), "sent": _l("sent"), "failed": _l("failed")}


@bp.before_app_request
def _forget_queued_mail() -> None:
    g.pop("notify_outbox_ids", None)  # an app context that outlives a request (tests, CLI) must not carry them over


@bp.after_app_request
def deliver_after_request(response):
    """Send what this request queued, once its view has committed. Best effort: whatever goes wrong is logged and the
    messages wait in the outbox for `flask send-mail`; the user's response is never affected."""
    if current_app.config.get("MAIL_SEND_AFTER_REQUEST", True):
        try:
            deliver_request_queue()
        except Exception:  # noqa: BLE001 (a mail problem must never fail the request)
            current_app.logger.exception("sending mail after the request failed; the messages wait in the outbox")
    return response


@bp.route("/account/notifications", methods=["GET", "POST"])
@roles_required(*ROLES)
def settings():
    role = current_role()
    kinds = kinds_for_role(role)
    form = settings_form(kinds, turned_off_kinds(current_user.id))()
    if kinds and form.validate_on_submit():
        changes = save_settings(current_user, current_org_id(), role, {kind.key: form[kind.key].data for kind in kinds})
        db.session.commit()
        flash(_("Notification settings saved.") if changes["on"] or changes["off"] else _("Nothing changed."), "success")
        return redirect(url_for(".settings"))
    return render_template("notify/settings.html", form=form, kinds=kinds, role_label=ROLE_LABELS.get(role, role),
                           email=current_user.email)


@bp.route("/admin/outbox")
@admins_only
def outbox():
    page = min(max(request.args.get("page", 1, type=int), 1), 10**9)
    status = request.args.get("status", "")
    query = scoped(OutboxMessage)
    if status in OUTBOX_STATUSES:
        query = query.where(OutboxMessage.status == status)
    else:
        status = ""
    messages = db.session.scalars(
        query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(OUTBOX_PAGE)
        .offset((page - 1) * OUTBOX_PAGE)
    ).all()
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.org_id == current_org_id())
        .group_by(OutboxMessage.status)
    ).all())
    return render_template("notify/outbox.html", messages=messages, page=page, has_next=len(messages) == OUTBOX_PAGE,
                           counts=[(s, counts.get(s, 0)) for s in OUTBOX_STATUSES], status=status,
                           configured=mail_configured(), kind_labels=KIND_LABELS, status_labels=STATUS_LABELS,
                           confirm=ConfirmForm())


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@admins_only
def retry(message_id: int):
    message = get_scoped_or_404(OutboxMessage, message_id)
    ConfirmForm().validate_on_submit()  # CSRF is checked globally; the form is only for the token
    if message.status not in ("pending", "failed"):
        flash(_("This message is %(status)s: there is nothing to try again.", status=STATUS_LABELS.get(message.status, message.status)),
              "info")
        return redirect(url_for(".outbox"))
    message.status = "pending"
    message.next_attempt_at = None
    record("mail.retry", message, summary=f"Try again: '{message.subject}' to {message.to_address}")
    db.session.commit()
    g.setdefault("notify_outbox_ids", []).append(message.id)  # sent right after this request
    flash(_("The message will be tried again now.") if mail_configured() else
          _("Marked to send, but mail is not configured (MAIL_SERVER): it waits in the outbox."), "success")
    return redirect(url_for(".outbox"))
