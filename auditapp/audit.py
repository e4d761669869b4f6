"""The audit log: who did what, when, to which object. Services call record(); the caller commits."""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from .auth.models import AuditLog
from .extensions import db


def record(action: str, obj=None, *, summary: str = "", detail: dict | None = None, org_id: int | None = None,
           user=None) -> AuditLog:
    entry = AuditLog(**_entry(action, obj, summary=summary, detail=detail, org_id=org_id, user=user))
    db.session.add(entry)
    return entry


def record_at_once(action: str, obj=None, *, summary: str = "", detail: dict | None = None, org_id: int | None = None,
                   user=None) -> None:
    """record() as one Core INSERT, sent now: no ORM object for the flush to handle (the submission path is hot)."""
    db.session.execute(insert(AuditLog.__table__), _entry(action, obj, summary=summary, detail=detail, org_id=org_id,
                                                          user=user))


def _entry(action: str, obj, *, summary: str, detail: dict | None, org_id: int | None, user) -> dict:
    """The audit entry's columns (`at` is the column's default, set when it is inserted)."""
    if user is None and has_request_context() and current_user and current_user.is_authenticated:
        user = current_user
    # current_user is a proxy: log the object behind it ("user", not "localproxy")
    obj = obj._get_current_object() if hasattr(obj, "_get_current_object") else obj
    if org_id is None and obj is not None:
        org_id = getattr(obj, "org_id", None)
    return {
        "org_id": org_id,
        "user_id": getattr(user, "id", None),
        "action": action,
        "object_type": type(obj).__name__.lower() if obj is not None else "",
        "object_id": getattr(obj, "id", None),
        "summary": summary[:2000],
        "detail": detail,
        "ip": (request.remote_addr or "")[:64] if has_request_context() else "",
    }
