"""API: register a webhook (admins). The secret is in the 201 answer only."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from ..extensions import db
from ..tenancy import current_org_id, roles_required
from ..web import problem
from ..webhooks.services import WebhookError, create_webhook
from . import bp


@bp.post("/webhooks")
@roles_required("admin")
def create_webhook_api():
    """`{url, events: [...]}` -> 201 `{id, url, events, secret}`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(422, "Unprocessable Entity", "The body must be a JSON object.",
                       [{"field": "body", "message": "must be a JSON object"}])
    events = body.get("events")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        return problem(422, "Unprocessable Entity", "Some fields are not valid.",
                       [{"field": "events", "message": "must be a list of event names"}])
    url = body.get("url")
    if not isinstance(url, str):
        return problem(422, "Unprocessable Entity", "Some fields are not valid.",
                       [{"field": "url", "message": "is required"}])
    try:
        webhook, secret = create_webhook(current_org_id(), url, events, current_user)
    except WebhookError as error:
        db.session.rollback()
        return problem(422, "Unprocessable Entity", "Some fields are not valid.",
                       [{"field": error.field, "message": error.message}])
    db.session.commit()
    response = jsonify({"id": webhook.id, "url": webhook.url, "events": webhook.events, "secret": secret})
    response.status_code = 201
    return response
