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
            db.session.commit()
        return None
    if request.endpoint == "api.openapi":
        return None
    if not current_user.is_authenticated:
        return problem(401, "Unauthorized", "Log in again or send a valid API token.")
    if request.method not in SAFE_METHODS and not request.headers.get("X-Requested-With"):
        return problem(403, "Forbidden", "Requests with the session cookie must send the X-Requested-With header.")
    return None
