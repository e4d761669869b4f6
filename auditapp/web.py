"""Wiring of blueprints, login, errors, navigation, security headers and CLI commands."""
from __future__ import annotations

import importlib

from flask import Flask, current_app, g, jsonify, redirect, render_template, request, url_for
from flask import make_response as app_response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, user_loaded_from_cookie
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .auth.models import ROLE_LABELS, User
from .extensions import db, login_manager
from .formutil import MAX_ID
from .tenancy import current_role, load_membership

# Domain packages, each with a blueprint `bp`; their CLI commands live in `<package>/commands.py` as COMMANDS.
PACKAGES = ("auth", "locations", "journeys", "evaluations", "visits", "results", "exports", "reports", "api",
            "orgsettings", "sites", "notify", "webhooks", "schedules", "disputes")

# (endpoint, label, roles): an entry shows only when its endpoint exists and the role may use it.
NAV = [
    ("results.index", _l("Dashboard"), ("admin", "manager", "regional_manager", "location_manager")),
    ("sites.visits", _l("Visits"), ("regional_manager", "location_manager")),
    ("results.my_actions_page", _l("My actions"), ("admin", "manager", "regional_manager", "location_manager")),
    ("journeys.index", _l("Journeys"), ("admin", "manager")),
    ("locations.index", _l("Locations"), ("admin", "manager")),
    ("visits.manage", _l("Visits"), ("admin", "manager")),
    ("visits.review", _l("Review"), ("admin", "manager")),
    ("schedules.index", _l("Schedules"), ("admin", "manager")),
    ("disputes.index", _l("Disputes"), ("admin", "manager", "regional_manager", "location_manager")),
    ("visits.mine", _l("My visits"), ("shopper",)),
    ("evaluations.start", _l("Evaluate"), ("shopper", "staff")),
    ("evaluations.mine", _l("Sent"), ("shopper", "staff")),
    ("auth.users", _l("Users"), ("admin",)),
    ("auth.audit_log", _l("Audit log"), ("admin",)),
    ("orgsettings.edit", _l("Settings"), ("admin",)),
    ("notify.outbox", _l("Outbox"), ("admin",)),
    ("webhooks.index", _l("Webhooks"), ("admin",)),
]

# werkzeug's own descriptions, as an error page says them (a view's own abort() text is shown as it is).
ERROR_TEXTS = {
    400: _l("The browser (or proxy) sent a request that this server could not understand."),
    405: _l("The method is not allowed for the requested URL."),
    410: _l("The requested URL is no longer available on this server and there is no forwarding address. "
            "If you followed a link from a foreign page, please contact the author of this page."),
}
DATABASE_UNAVAILABLE = "The database is not reachable right now. Nothing was stored; try again in a few seconds."

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)


class _IdConverter(IntegerConverter):
    """`<int:...>` in URLs: at most MAX_ID, the largest id an INTEGER column holds. A larger number matches no route
    (404) instead of reaching a query that cannot bind it (a 500 on PostgreSQL, and past 64 bits on SQLite)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def register_web(app: Flask) -> None:
    app.url_map.converters["int"] = _IdConverter  # before any blueprint adds its rules
    for name in PACKAGES:
        module = importlib.import_module(f"auditapp.{name}")
        if name != "api":  # the api package imports its endpoint modules itself
            importlib.import_module(f"auditapp.{name}.views")
        app.register_blueprint(module.bp)
        try:
            commands = importlib.import_module(f"auditapp.{name}.commands")
        except ModuleNotFoundError as error:
            if error.name != f"auditapp.{name}.commands":
                raise
        else:
            for command in commands.COMMANDS:
                app.cli.add_command(command)
    from .commands import COMMANDS

    for command in COMMANDS:
        app.cli.add_command(command)

    app.before_request_funcs.setdefault(None, []).insert(0, _forget_previous_identity)  # first, before CSRF
    app.teardown_request(_forget_request_language)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.localize_callback = str  # a lazy string cannot go into the session's flashes
    login_manager.login_message_category = "info"
    login_manager.user_loader(_load_user)
    user_loaded_from_cookie.connect(_language_from_remembered_user, app)
    login_manager.unauthorized_handler(_unauthorized)

    for code in (400, 403, 404, 405, 410, 413, 429, 500):
        app.register_error_handler(code, _error_page)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
    app.context_processor(_template_globals)
    app.after_request(_security_headers)
    _register_filters(app)

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)


def _forget_previous_identity() -> None:
    """Identity lives on `g`; when an app context outlives one request (tests, CLI), never reuse it. Runs before
    every other before-request function (the CSRF check included, which caches the session's token on `g`), and
    Flask-Babel keeps the request's language and catalogue there."""
    for name in ("_login_user", "membership", "place_scope", "csrf_token", "_flask_babel"):
        g.pop(name, None)


def _forget_request_language(_error=None) -> None:
    """A request's language stays on `g` while its app context lives on (tests, a CLI command run in the same
    context): drop it when the request ends, so that text made outside a request is English again."""
    g.pop("_flask_babel", None)


def _language_from_remembered_user(app: Flask, user: User) -> None:
    """A session restored from the remember-me cookie starts empty: bring back the language the user picked."""
    from .i18n import remember_language

    if user.language:
        remember_language(user.language)


def _load_user(user_id: str) -> User | None:
    """Session ids are "<id>:<session_version>": a password change or deactivation ends old sessions."""
    raw_id, _sep, version = (user_id or "").partition(":")
    if not (raw_id.isascii() and raw_id.isdigit()):
        return None
    user = db.session.get(User, int(raw_id))
    if user is None or str(user.session_version) != version or not user.active:
        return None
    return user


def wants_json() -> bool:
    """API calls and the offline queue get JSON answers, never a redirect to an HTML page."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def problem(status: int, title: str, detail: str = "", errors: list | None = None):
    body = {"type": "about:blank", "status": status, "title": title, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _unauthorized():
    if wants_json():
        return problem(401, "Unauthorized", "Log in again or send a valid API token.")
    if request.method == "POST":
        from .evaluations.views import park_posted_form

        parked = park_posted_form()  # an evaluation form posted after the login ended: keep it, send it after
        if parked is not None:
            return parked
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _error_page(error: Exception):
    code = error.code if isinstance(error, HTTPException) else 500
    description = getattr(error, "description", "") or ""
    # The exception's own headers stay: Allow on a 405 (RFC 9110 requires it).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"] \
        if isinstance(error, HTTPException) else []
    if wants_json():  # the API speaks English, whatever the browser's language
        if code == 413:
            description = f"The upload is too large: the limit is {_size_text(request.max_content_length or 0)}."
        if code == 429:
            description = str(description) or "Too many requests. Wait a minute and try again."
        title = error.name if isinstance(error, HTTPException) else "Internal Server Error"
        response = problem(code, title, str(description))
        response.headers.extend(headers)
        return response
    if code == 413:
        description = _("The upload is too large: the limit is %(limit)s.", limit=_size_text(request.max_content_length or 0))
    if code == 429:
        description = str(description) or _("Too many requests. Wait a minute and try again.")
    if code in ERROR_TEXTS and description == getattr(type(error), "description", None):
        description = ERROR_TEXTS[code]
    return render_template("errors/error.html", code=code, description=description), code, headers


def _size_text(size: int) -> str:
    """16777216 -> "16 MB", 65536 -> "64 KB", 1572864 -> "1.5 MB": a limit said as people read it."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _database_unavailable(error: Exception):
    """The database is restarting or unreachable: 503 with Retry-After, so phones keep the record and retry."""
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", error)
    if wants_json():
        response = problem(503, "Service Unavailable", DATABASE_UNAVAILABLE)
    else:
        detail = _("The database is not reachable right now. Nothing was stored; try again in a few seconds.")
        response = app_response(render_template("errors/error.html", code=503, description=detail), 503)
    response.headers["Retry-After"] = "5"
    return response


def _template_globals() -> dict:
    role = current_role() if current_user.is_authenticated else None
    items = []
    if role:
        from flask import current_app

        items = [(endpoint, label) for endpoint, label, roles in NAV
                 if role in roles and endpoint in current_app.view_functions]
    membership = load_membership() if current_user.is_authenticated else None
    return {
        "nav_items": items,
        "current_role": role,
        "role_labels": ROLE_LABELS,
        "current_org": membership.organisation if membership else None,
    }


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
    if "membership" in g and request.endpoint != "static":
        headers.setdefault("Cache-Control", "private, no-store")
    return response


def _register_filters(app: Flask) -> None:
    from .timeutil import to_local

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "%Y-%m-%d %H:%M"):
        membership = load_membership() if current_user.is_authenticated else None
        tz = membership.organisation.timezone if membership else "UTC"
        local = to_local(value, tz)
        return local.strftime(fmt) if local else ""

    @app.template_filter("problems_heading")
    def problems_heading(count: int) -> str:
        """The form error summary's heading. Here, not in templates/_macros/forms.html: pybabel skips folders whose
        name starts with an underscore, so text there never reaches the catalogue."""
        return ngettext("Please fix %(num)d problem", "Please fix %(num)d problems", count)

    @app.template_filter("score")
    def score_filter(value):
        """A score as shown beside its band: scoring.rules.score_text with the organisation's bands."""
        from .scoring.rules import DEFAULT_BANDS, score_text

        membership = load_membership() if current_user.is_authenticated else None
        return score_text(value, membership.organisation.bands if membership else DEFAULT_BANDS)
