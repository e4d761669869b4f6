"""API authentication: a Bearer token, or the logged-in session for the app's own pages (the offline queue).

Cookie-authenticated writes must carry `X-Requested-With`; a browser sends that cross-site only after a CORS
preflight, which this app never approves, so it protects against CSRF without a token that could expire while a
phone is offline overnight.
"""
from __future__ import annotations

from datetime import timedelta

from flask import g, request
from flask_login import current_user

from ..auth.services import find_api_token
from ..extensions import db
from ..timeutil import utcnow
from ..web import problem
from . import bp

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        api_token = find_api_token(header[7:].strip())
        if api_token is None:
            return problem(401, "Unauthorized", "The API token is missing, wrong or revoked.")
        g._login_user = api_token.user  # current_user for this request only; no session cookie is set
        g.membership = api_token.user.membership_in(api_token.org_id)
        g.api_token = api_token
        now = utcnow()
        if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=1):
            api_token.last_used_at = now  # at most one write a minute per token
            # Kept loaded: expiring would read the user and membership again for the rest of the request.
            session = db.session()
            expire, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire
        return None
    if request.endpoint == "api.openapi":
        return None
    if not current_user.is_authenticated:
        return problem(401, "Unauthorized", "Log in again or send a valid API token.")
    if request.method not in SAFE_METHODS and not request.headers.get("X-Requested-With"):
        return problem(403, "Forbidden", "Requests with the session cookie must send the X-Requested-With header.")
    return None


# --- text PostgreSQL cannot hold ------------------------------------------------------------------------------------

NUL = "\x00"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)"


def _nul_field(value, path: str) -> str | None:
    """The dotted path of the first string (or object key) in `value` that holds a NUL, else None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return path or "body"
            found = _nul_field(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


@bp.before_request
def refuse_nul_characters():
    """PostgreSQL text cannot hold U+0000 and refuses to compare with it: every such request was a 500 there (found
    by Schemathesis). In a path it names no object (404); in the query or the JSON body it is a 422 naming the field."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and NUL in value:
            return problem(404, "Not Found", f"Nothing has that {name}.")
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            return problem(422, "Invalid query", "A query parameter holds a NUL character.",
                           [{"field": name.replace(NUL, ""), "message": NUL_MESSAGE}])
    if request.is_json or (request.mimetype or "").endswith("json"):
        field = _nul_field(request.get_json(silent=True), "")
        if field is not None:
            return problem(422, "Unprocessable Entity", "A field holds a NUL character; nothing was stored.",
                           [{"field": field.replace(NUL, ""), "message": NUL_MESSAGE}])
    return None

