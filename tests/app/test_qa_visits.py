"""QA: archiving a location or a journey cancels the visits planned there (found with the demo data)."""
from __future__ import annotations

from datetime import timedelta

from auditapp.extensions import db
from auditapp.timeutil import utcnow
from auditapp.visits.models import Assignment
from auditapp.visits.services import create_assignment


def _visit(org, location, journey, shopper, manager, status="scheduled"):
    today = utcnow().date()
    assignment = create_assignment(org.id, location=location, journey=journey, shopper=shopper,
                                   window_start=today + timedelta(days=3), window_end=today + timedelta(days=10),
                                   instructions="", user=manager)
    assignment.status = status
    db.session.commit()
    return assignment


def _status(assignment) -> str:
    db.session.expire_all()
    return db.session.get(Assignment, assignment.id).status


def test_archiving_a_location_cancels_its_planned_visits(client, auth, make):
    org = make.org()
    manager = make.user(org, "manager", email="m@example.com")
    shopper = make.user(org, "shopper", email="s@example.com")
    closing, other = make.location(org, name="Riverside"), make.location(org, name="Harbour")
    journey = make.journey(org)
    planned = _visit(org, closing, journey, shopper, manager)
    started = _visit(org, closing, journey, shopper, manager, status="started")
    elsewhere = _visit(org, other, journey, shopper, manager)
    auth.login("m@example.com")
    response = client.post(f"/locations/{closing.id}/archive", follow_redirects=True)
    assert "1 planned visit there was cancelled." in response.get_data(as_text=True)
    assert (_status(planned), _status(started), _status(elsewhere)) == ("cancelled", "started", "scheduled")
    auth.logout()
    auth.login("s@example.com")
    mine = client.get("/visits/mine").get_data(as_text=True)
    assert mine.count("Riverside") == 1  # only the started one, which the shopper may be filling in


def test_archiving_a_journey_cancels_its_planned_visits(client, auth, make):
    org = make.org()
    manager = make.user(org, "manager", email="m@example.com")
    shopper = make.user(org, "shopper")
    location = make.location(org)
    journey, other = make.journey(org), make.journey(org, name="Other")
    planned = _visit(org, location, journey, shopper, manager)
    kept = _visit(org, location, other, shopper, manager)
    auth.login("m@example.com")
    response = client.post(f"/journeys/{journey.id}/archive", follow_redirects=True)
    assert "1 planned visit cancelled." in response.get_data(as_text=True)
    assert (_status(planned), _status(kept)) == ("cancelled", "scheduled")
