"""Who is asking, for which organisation, and the one place tenant data is scoped.

Every view and API handler reaches tenant objects through `scoped()` or `get_scoped_or_404()`, so a user of one
organisation never sees another's data, not even by guessing ids (the answer is 404, as if it did not exist).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g, session
from flask_login import current_user, login_required
from sqlalchemy import Select, select

from .auth.models import PLACE_ROLES, Membership, Organisation
from .extensions import db
from .places import PlaceScope

MANAGERS = ("admin", "manager")
# Who may read results (dashboard, scorecards, visit reports, actions): managers of the whole organisation, and
# the place-scoped managers for their own places (place_scope()).
RESULT_VIEWERS = (*MANAGERS, *PLACE_ROLES)


def load_membership() -> Membership | None:
    """The membership the current request acts under (session users; API tokens set g.membership themselves)."""
    if "membership" in g:
        return g.membership
    membership = None
    if current_user.is_authenticated:
        wanted = session.get("org_id")
        memberships = current_user.memberships
        membership = next((m for m in memberships if m.org_id == wanted), None) or (
            memberships[0] if memberships else None
        )
    g.membership = membership
    return membership


def current_org() -> Organisation:
    membership = load_membership()
    if membership is None:
        abort(403)
    return membership.organisation


def current_org_id() -> int:
    membership = load_membership()
    if membership is None:
        abort(403)
    return membership.org_id


def current_role() -> str | None:
    membership = load_membership()
    return membership.role if membership else None


def has_role(*roles: str) -> bool:
    return current_role() in roles


def scope_of(membership: Membership | None) -> PlaceScope | None:
    """The places a membership is limited to; None when it sees the whole organisation (or is no scoped role)."""
    from .locations.models import Location

    if membership is None or membership.role not in PLACE_ROLES:
        return None
    if membership.role == "location_manager":
        ids = membership.place_location_ids
        regions = set(db.session.scalars(select(Location.region).where(Location.org_id == membership.org_id,
                                                                        Location.id.in_(ids or [-1]),
                                                                        Location.region != "")))
    else:
        regions = set(membership.region_names)
        ids = list(db.session.scalars(select(Location.id).where(Location.org_id == membership.org_id,
                                                                 Location.region.in_(sorted(regions) or [""]),
                                                                 Location.region != "")))
    return PlaceScope(membership.role, frozenset(ids), frozenset(regions))


def place_scope() -> PlaceScope | None:
    """The current request's place scope (see scope_of); every result, export, report and site page applies it."""
    if "place_scope" not in g:
        g.place_scope = scope_of(load_membership())
    return g.place_scope


def scoped(model) -> Select:
    """SELECT of a tenant model limited to the current organisation."""
    return select(model).where(model.org_id == current_org_id())


def get_scoped_or_404(model, object_id):
    """Load a tenant object by id; another organisation's object is 404, never its data."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        abort(404)
    if not -(2**63) < object_id < 2**63:  # no database id is this long; looking it up would fail
        abort(404)
    obj = db.session.get(model, object_id)
    if obj is None or obj.org_id != current_org_id():
        abort(404)
    return obj


def roles_required(*roles: str) -> Callable:
    """Log-in required, then 403 unless the user's role in this organisation is one of `roles`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_role() not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the route-walking access test
        return wrapped

    return decorator


managers_only = roles_required(*MANAGERS)
admins_only = roles_required("admin")
