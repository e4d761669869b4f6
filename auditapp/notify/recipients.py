"""Who receives which notice. Every choice of recipients for a location lives here, in one place."""
from __future__ import annotations

from sqlalchemy import select

from ..auth.models import Membership, User
from ..extensions import db

ORG_MANAGER_ROLES = ("admin", "manager")


def location_managers(org_id: int, location_id: int | None) -> list[User]:
    """The people who look after location `location_id` of organisation `org_id`: they hear about its critical fails.

    Today that is every active admin and manager of the organisation. The scoped roles extend it HERE (and nowhere
    else) with the active `location_manager` members of this location and the `regional_manager` members of its
    region. Always the organisation's own members, each user once, ordered by id.
    """
    return org_managers(org_id)


def org_managers(org_id: int) -> list[User]:
    """The organisation's active admins and managers: the side that decides disputes."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role.in_(ORG_MANAGER_ROLES), User.active.is_(True))
        .order_by(User.id)
    ).unique())
