"""Admins: register webhooks (the secret is shown once), read the delivery log, send a test event, delete."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth.forms import ConfirmForm
from ..extensions import db
from ..tenancy import admins_only, current_org_id, get_scoped_or_404, scoped
from . import bp
from .forms import WebhookForm
from .models import Webhook, WebhookDelivery
from .services import WebhookError, create_webhook, delete_webhook, send_test_event

LOG_SIZE = 50


@bp.route("", methods=["GET", "POST"])
@admins_only
def index():
    form = WebhookForm()
    secret = None
    created = None
    if form.validate_on_submit():
        try:
            created, secret = create_webhook(current_org_id(), form.url.data, form.events.data, current_user)
        except WebhookError as error:
            db.session.rollback()
            form[error.field].errors = [*form[error.field].errors, f"The URL {error.message}." if error.field == "url"
                                        else error.message[:1].upper() + error.message[1:] + "."]
        else:
            db.session.commit()
            form = WebhookForm(formdata=None)
    hooks = db.session.scalars(scoped(Webhook).order_by(Webhook.id)).all()
    return render_template("webhooks/index.html", form=form, hooks=hooks, secret=secret, created=created)


@bp.get("/<int:webhook_id>")
@admins_only
def show(webhook_id: int):
    webhook = get_scoped_or_404(Webhook, webhook_id)
    deliveries = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
                                    .order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)).all()
    return render_template("webhooks/show.html", webhook=webhook, deliveries=deliveries, confirm=ConfirmForm())


@bp.post("/<int:webhook_id>/test")
@admins_only
def test(webhook_id: int):
    webhook = get_scoped_or_404(Webhook, webhook_id)
    send_test_event(webhook, current_user)
    db.session.commit()
    flash(_("A test event is on its way; its delivery shows below."), "success")
    return redirect(url_for(".show", webhook_id=webhook.id))


@bp.post("/<int:webhook_id>/delete")
@admins_only
def delete(webhook_id: int):
    webhook = get_scoped_or_404(Webhook, webhook_id)
    delete_webhook(webhook, current_user)
    db.session.commit()
    flash(_("Webhook deleted: no more events go there."), "success")
    return redirect(url_for(".index"))
