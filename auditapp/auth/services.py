"""Accounts: organisations, users, invites, API tokens. Services flush; views and CLI commands commit."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..audit import record
from ..extensions import db
from ..timeutil import utcnow
from .models import (
    PLACE_ROLES,
    ROLES,
    ApiToken,
    Invite,
    Membership,
    MembershipLocation,
    MembershipRegion,
    Organisation,
    User,
    token_digest,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TOKEN_PREFIX = "aud_"  # noqa: S105 (a public prefix, not a secret)


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why, `field` which form field it is about.
    The message is in the interface's language on a page, English from the command line (no request there)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same answer for every failure)."""
    user = find_user(email)
    if user is None:
        # Hash anyway, so a missing account takes as long as a wrong password.
        User(password_hash="").set_password(password)
        return None
    if not user.check_password(password) or not user.active or not user.memberships:
        return None
    return user


def record_failed_login(email: str) -> None:
    """A failed login for an existing account goes to the audit log of its organisation (no acting user): admins see
    attempts on their users. An unknown email belongs to no organisation and is not logged."""
    user = find_user(email)
    if user is None or not user.memberships:
        return
    record("user.login_failed", user, summary=f"Failed login for {user.email}", org_id=user.memberships[0].org_id)


def get_or_create_org(name: str, slug: str, timezone: str = "UTC") -> Organisation:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise AccountError(_("slug '%(slug)s' must be lowercase letters, digits and hyphens, starting with a letter or digit",
                             slug=slug))
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        if not (name or "").strip():
            raise AccountError(_("organisation name is required"))
        org = Organisation(name=name.strip(), slug=slug, timezone=timezone)
        db.session.add(org)
        db.session.flush()
    return org


def check_places(org_id: int, role: str, location_ids=(), regions=()) -> tuple[list[int], list[str]]:
    """The places a member with `role` looks after: a location manager's location ids, a regional manager's
    region names (Location.region values of the organisation); nothing for other roles. Raises AccountError."""
    from ..locations.models import Location

    try:
        ids = sorted({int(i) for i in location_ids or ()})
    except (TypeError, ValueError):
        raise AccountError(_("locations must be chosen from the list"), "place_ids") from None
    names = sorted({str(r).strip() for r in regions or () if str(r).strip()})
    if role == "location_manager":
        if not ids:
            raise AccountError(_("a location manager needs at least one location"), "place_ids")
        found = set(db.session.scalars(select(Location.id).where(Location.org_id == org_id, Location.id.in_(ids))))
        if found != set(ids):
            raise AccountError(_("some of the chosen locations are not the organisation's"), "place_ids")
        return ids, []
    if role == "regional_manager":
        if not names:
            raise AccountError(_("a regional manager needs at least one region"), "regions")
        known = set(db.session.scalars(select(Location.region).where(Location.org_id == org_id,
                                                                     Location.region.in_(names))))
        unknown = [n for n in names if n not in known]
        if unknown:
            raise AccountError(_("no location is in the region %(regions)s", regions=", ".join(unknown)), "regions")
        return [], names
    return [], []


def set_places(membership: Membership, *, location_ids=(), regions=()) -> None:
    """Give a membership the places of its role (check_places); flushes."""
    ids, names = check_places(membership.org_id, membership.role, location_ids, regions)
    membership.places = [MembershipLocation(location_id=i) for i in ids]
    membership.region_rows = [MembershipRegion(region=n) for n in names]
    db.session.flush()


def add_user(org: Organisation, email: str, name: str, password: str, role: str, *, location_id=None,
             password_hash: str | None = None, location_ids=(), regions=()) -> User:
    """Create the user (or reuse the account with this email) and give them `role` in `org`.

    `password_hash`: `password` hashed already (the demo gives all its users one password and hashes it once:
    scrypt takes most of a second on purpose).
    """
    if role not in ROLES:
        raise AccountError(_("role must be one of %(roles)s", roles=", ".join(ROLES)))
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(_("'%(email)s' is not an email address", email=email))
    user = find_user(email)
    if user is None:
        user = User(email=email, name=(name or email.split("@")[0]).strip())
        if password_hash:
            user.password_hash = password_hash
        else:
            user.set_password(password)
        db.session.add(user)
        db.session.flush()
    membership = user.membership_in(org.id)
    if membership is None:
        membership = Membership(user=user, org_id=org.id, role=role, location_id=location_id)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.flush()
    if role in PLACE_ROLES or membership.places or membership.region_rows:
        set_places(membership, location_ids=location_ids, regions=regions)
    return user


def change_password(user: User, new_password: str) -> None:
    user.set_password(new_password)
    user.session_version = (user.session_version or 1) + 1  # logs out every other session
    record("user.password_changed", user, summary=f"{user.email} changed their password", org_id=_first_org(user))


def create_invite(org: Organisation, email: str, role: str, created_by: User | None, days: int,
                  location_id: int | None = None, *, location_ids=(), regions=()) -> tuple[Invite, str]:
    """A single-use invite; returns it with the raw token (shown once, only its digest is stored).
    A location or regional manager's places come with the invite (checked now, applied on acceptance)."""
    if role not in ROLES:
        raise AccountError(_("role must be one of %(roles)s", roles=", ".join(ROLES)))
    location_ids, regions = check_places(org.id, role, location_ids, regions)
    email = normalise_email(email)
    existing = find_user(email)
    if existing is not None and existing.membership_in(org.id):
        raise AccountError(_("%(email)s is already a member of %(organisation)s", email=email, organisation=org.name))
    token = secrets.token_urlsafe(32)
    invite = Invite(org_id=org.id, email=email, role=role, token_hash=token_digest(token), location_id=location_id,
                    place_ids=list(location_ids) or None, regions=list(regions) or None,
                    expires_at=utcnow() + timedelta(days=days), created_by_id=getattr(created_by, "id", None))
    db.session.add(invite)
    db.session.flush()
    record("user.invited", invite, summary=f"Invited {email} as {role}", org_id=org.id)
    return invite, token


def find_invite(token: str) -> Invite | None:
    """The invite for this token if it is still usable (not used, not expired).

    Expired from `expires_at` on (not after it), as the pending list counts it: revoking sets it to now.
    """
    invite = db.session.scalar(select(Invite).where(Invite.token_hash == token_digest(token or "")))
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        return None
    return invite


def accept_invite(invite: Invite, name: str, password: str) -> User:
    # Mark used in SQL with a guard, so two clicks at the same moment cannot both succeed.
    claimed = db.session.execute(
        Invite.__table__.update()
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise AccountError(_("this invite link has already been used"))
    existing = find_user(invite.email)
    if existing is not None:
        raise AccountError(_("an account with this email exists: log in and ask the admin to add you"))
    user = add_user(invite.organisation, invite.email, name, password, invite.role, location_id=invite.location_id,
                    location_ids=invite.place_ids or (), regions=invite.regions or ())
    record("user.joined", user, summary=f"{user.email} accepted the invite as {invite.role}", org_id=invite.org_id,
           user=user)
    return user


def create_api_token(user: User, org_id: int, name: str = "") -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(user_id=user.id, org_id=org_id, name=(name or "").strip()[:100], prefix=token[:10],
                         token_hash=token_digest(token))
    db.session.add(api_token)
    db.session.flush()
    record("token.created", api_token, summary=f"API token '{api_token.name}' for {user.email}", org_id=org_id)
    return api_token, token


def find_api_token(token: str) -> ApiToken | None:
    # The user and their memberships in the same query: every API request reads both.
    api_token = db.session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_digest(token or ""))
        .options(joinedload(ApiToken.user).joinedload(User.memberships))
    ).unique().first()
    if api_token is None or api_token.revoked_at is not None or not api_token.user.active:
        return None
    if api_token.user.membership_in(api_token.org_id) is None:
        return None
    return api_token


def _first_org(user: User) -> int | None:
    return user.memberships[0].org_id if user.memberships else None
