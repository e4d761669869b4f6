"""Test data builders. Each returns the flushed object; tests commit when they need to."""
from __future__ import annotations

import itertools

from auditapp.auth.services import add_user, create_api_token, get_or_create_org
from auditapp.extensions import db
from auditapp.locations.models import Location

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


class Factory:
    def org(self, name: str | None = None, slug: str | None = None, timezone: str = "UTC"):
        n = next(_seq)
        org = get_or_create_org(name or f"Org {n}", slug or f"org-{n}", timezone)
        db.session.commit()
        return org

    def user(self, org, role: str = "admin", email: str | None = None, name: str | None = None,
             password: str = PASSWORD, location=None):
        n = next(_seq)
        user = add_user(org, email or f"{role}{n}@example.com", name or f"{role.title()} {n}", password, role,
                        location_id=getattr(location, "id", None))
        db.session.commit()
        return user

    def token(self, user, org=None) -> str:
        _, raw = create_api_token(user, (org or user.memberships[0].organisation).id, "test")
        db.session.commit()
        return raw

    def location(self, org, code: str | None = None, name: str | None = None, region: str = "North"):
        n = next(_seq)
        location = Location(org_id=org.id, code=code or f"L{n:03d}", name=name or f"Branch {n}", region=region)
        db.session.add(location)
        db.session.commit()
        return location
