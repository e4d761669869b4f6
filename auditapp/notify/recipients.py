"""Who receives which notice. Every choice of recipients for a location lives here, in one place."""
from __future__ import annotations

from sqlalchemy import select

from ..auth.models import Membership, User
from ..extensions import db

ORG_MANAGER_ROLES = ("admin", "manager")


def location_managers(org_id: int, location_id: int | None) -> list[User]:
    """Everyone who looks after location `location_id`: the organisation's admins and managers and its site managers
    (site_managers). Always the organisation's own active members, each user once, ordered by id."""
    people = {u.id: u for u in org_managers(org_id)}
    people.update({u.id: u for u in site_managers(org_id, location_id)})
    return [people[k] for k in sorted(people)]


def site_managers(org_id: int, location_id: int | None) -> list[User]:
    """The location's own managers: location managers of this location and regional managers of its region. They
    see approved visits only, so they hear of a visit when it is approved (notify_critical_fail_approved)."""
    from ..auth.models import MembershipLocation, MembershipRegion
    from ..locations.models import Location

    if location_id is None:
        return []
    location = db.session.get(Location, location_id)
    if location is None or location.org_id != org_id:
        return []
    by_location = (select(Membership.user_id).join(MembershipLocation, MembershipLocation.membership_id == Membership.id)
                   .where(Membership.org_id == org_id, Membership.role == "location_manager",
                          MembershipLocation.location_id == location_id))
    by_region = (select(Membership.user_id).join(MembershipRegion, MembershipRegion.membership_id == Membership.id)
                 .where(Membership.org_id == org_id, Membership.role == "regional_manager",
                        MembershipRegion.region == location.region, location.region != ""))
    return list(db.session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(by_location.union(by_region))).order_by(User.id)))


def org_managers(org_id: int) -> list[User]:
    """The organisation's active admins and managers: the side that decides disputes."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role.in_(ORG_MANAGER_ROLES), User.active.is_(True))
        .order_by(User.id)
    ).unique())
