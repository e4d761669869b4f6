"""The audit log: who did what, when, to which object. Services call record(); the caller commits."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from .auth.models import AuditLog
from .extensions import db


def record(action: str, obj=None, *, summary: str = "", detail: dict | None = None, org_id: int | None = None,
           user=None) -> AuditLog:
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    # current_user is a proxy: log the object behind it ("user", not "localproxy")
    obj = obj._get_current_object() if hasattr(obj, "_get_current_object") else obj
    if org_id is None and obj is not None:
        org_id = getattr(obj, "org_id", None)
    entry = AuditLog(
        org_id=org_id,
        user_id=getattr(user, "id", None),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=getattr(obj, "id", None),
        summary=summary[:2000],
        detail=detail,
        ip=(request.remote_addr or "")[:64] if has_request_context() else "",
    )
    db.session.add(entry)
    return entry
