from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token auth, or the session plus a custom header that other sites cannot send (see auth.py)

# One module per area, so each can grow without touching the others.
from . import auth, capture, disputes, exports, openapi, reports, results, webhooks  # noqa: E402,F401
