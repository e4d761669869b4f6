"""Organisations (tenants), users, their memberships and roles, invites, API tokens, audit log."""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..timeutil import utcnow

ROLES = ("admin", "manager", "regional_manager", "location_manager", "shopper", "staff")
# Lazy: a page shows them in its reader's language; outside a request (the CLI) they are English.
ROLE_LABELS = {"admin": _l("Admin"), "manager": _l("Manager"), "regional_manager": _l("Regional manager"),
               "location_manager": _l("Location manager"), "shopper": _l("Secret shopper"), "staff": _l("Staff")}
# Roles scoped to places: they see their own locations (location_manager) or regions (regional_manager) only.
PLACE_ROLES = ("regional_manager", "location_manager")


def hash_password(password: str) -> str:
    """The stored form of a password, by the app's PASSWORD_HASH_METHOD (scrypt unless a test suite says else)."""
    method = current_app.config.get("PASSWORD_HASH_METHOD") if has_app_context() else None
    return generate_password_hash(password, method=method or "scrypt")


def token_digest(token: str) -> str:
    """Tokens and invite links are stored only as a SHA-256 digest; they are long random strings."""
    return hashlib.sha256(token.encode()).hexdigest()


class Organisation(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    band_low: Mapped[float] = mapped_column(Float, default=50.0)  # under this: miserable (red)
    band_high: Mapped[float] = mapped_column(Float, default=80.0)  # from this: magical (green)
    # How visit reports name the shopper: "code" or "first_name" (auditapp.reports.visit.SHOPPER_NAME_CHOICES).
    report_shopper_name: Mapped[str] = mapped_column(String(16), default="code", server_default="code")
    # Days after a visit's approval in which its site's managers may dispute an answer (auditapp.disputes); 0: never.
    dispute_window_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def bands(self) -> tuple[float, float]:
        return (self.band_low, self.band_high)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped on password change: the login session id carries it, so old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    language: Mapped[str | None] = mapped_column(String(16))  # the interface's language; None follows the browser

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def membership_in(self, org_id: int) -> Membership | None:
        return next((m for m in self.memberships if m.org_id == org_id), None)


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "org_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # Staff self-assess the moments of one location; shoppers and managers have none.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship()
    # A location manager's locations; a regional manager's regions (Location.region names).
    places: Mapped[list[MembershipLocation]] = relationship(cascade="all, delete-orphan")
    region_rows: Mapped[list[MembershipRegion]] = relationship(cascade="all, delete-orphan")

    @property
    def place_location_ids(self) -> list[int]:
        return sorted(p.location_id for p in self.places)

    @property
    def region_names(self) -> list[str]:
        return sorted(r.region for r in self.region_rows)


class MembershipLocation(db.Model):
    """A location a location manager looks after."""

    __table_args__ = (UniqueConstraint("membership_id", "location_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)


class MembershipRegion(db.Model):
    """A region a regional manager looks after (the locations whose region has this name)."""

    __table_args__ = (UniqueConstraint("membership_id", "region"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    region: Mapped[str] = mapped_column(String(200))


class Invite(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="SET NULL"))
    # Scoped roles: the location ids or region names the new member will look after.
    place_ids: Mapped[list | None] = mapped_column(JSON)
    regions: Mapped[list | None] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(12))  # shown in the UI to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class AuditLog(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(64), default="")
    summary: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()
