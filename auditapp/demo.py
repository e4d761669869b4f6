"""The demo organisation (contract section 5): users, locations, journeys and months of evaluations.

Each step is a function so later features add their part without touching the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from .auth.models import Organisation, User, hash_password
from .auth.services import add_user, get_or_create_org
from .extensions import db
from .locations.models import Location
from .notify.outbox import muted

DEMO_PASSWORD = "demo-password-1"  # noqa: S105 (printed for the demo on purpose)
DEMO_USERS = [
    ("admin@demo.example", "Ada Admin", "admin", None),
    ("manager@demo.example", "Max Manager", "manager", None),
    ("region@demo.example", "Rita Regional", "regional_manager", "North"),  # the North region: 001 and 002
    ("site@demo.example", "Cleo Centre", "location_manager", "001"),  # the manager of City Centre
    ("shopper@demo.example", "Sam Shopper", "shopper", None),
    ("shopper2@demo.example", "Kim Shopper", "shopper", None),
    ("shopper3@demo.example", "Lee Shopper", "shopper", None),
    ("staff@demo.example", "Tess Staff", "staff", "001"),
    ("staff2@demo.example", "Noor Staff", "staff", "002"),
]
DEMO_LOCATIONS = [
    ("001", "City Centre", "North"),
    ("002", "Harbour", "North"),
    ("003", "Airport", "South"),
    ("004", "Old Town", "South"),
]


@dataclass
class DemoResult:
    org: Organisation
    users: dict[str, User] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    journeys: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Organisation))


def build_demo(seed: int = 7) -> DemoResult:
    org = get_or_create_org("Demo Dental & Air", "demo", "Europe/Stockholm")
    result = DemoResult(org=org)
    for code, name, region in DEMO_LOCATIONS:
        location = Location(org_id=org.id, code=code, name=name, region=region)
        db.session.add(location)
        result.locations[code] = location
    db.session.flush()
    password_hash = hash_password(DEMO_PASSWORD)  # once: every demo user has the same password
    for email, name, role, place in DEMO_USERS:
        location = result.locations.get(place) if place else None
        result.users[email] = add_user(
            org, email, name, DEMO_PASSWORD, role, password_hash=password_hash,
            location_id=location.id if role == "staff" and location else None,
            location_ids=[location.id] if role == "location_manager" and location else (),
            regions=[place] if role == "regional_manager" else ())
    with muted():  # months of made-up visits: no critical-fail mail for any of them
        for step in DEMO_STEPS:
            step(result, seed)
    logins = [f"  {role:16} {email}" for email, _, role, _ in DEMO_USERS]
    result.lines[:0] = [f"Demo organisation '{org.name}' ({org.slug}). Log in with any of these "
                        f"(password {DEMO_PASSWORD}):", *logins]
    return result


# Later features append steps: journeys, evaluations, assignments, actions.
DEMO_STEPS: list = []

from .journeys.demo_data import add_demo_journeys  # noqa: E402  (first step: later steps use result.journeys)

DEMO_STEPS.append(add_demo_journeys)

from .visits.demo_data import add_demo_activity  # noqa: E402  (needs the journeys: evaluations, assignments, reviews)

DEMO_STEPS.append(add_demo_activity)

from .results.actions import add_demo_actions  # noqa: E402  (needs the journeys and the manager)

DEMO_STEPS.append(add_demo_actions)

from .disputes.demo_data import add_demo_disputes  # noqa: E402  (needs the approved visits and the location manager)

DEMO_STEPS.append(add_demo_disputes)
