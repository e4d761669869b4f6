"""Webhooks: an admin registers an HTTPS URL for events; each event is POSTed there, signed, at least once.

The one entry point for other domains:

    from auditapp.webhooks import emit
    emit(org_id, "dispute.opened", {"dispute_id": 7, ...})  # in the transaction of the change; flushes only

It records one delivery per subscribed webhook in the caller's transaction (so none is lost and none is sent for a
rolled back change) and enqueues them when it commits. Events: see services.EVENTS.
"""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def emit(org_id: int, event: str, data: dict) -> list:
    """Record and enqueue `event` for every active webhook of `org_id` subscribed to it (see services.emit)."""
    from .services import emit as _emit

    return _emit(org_id, event, data)
