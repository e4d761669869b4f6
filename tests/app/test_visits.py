"""Assignments: scheduling one by one and in bulk, the lifecycle, overdue, the shopper's phone, access."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.timeutil import local_today
from auditapp.visits.models import Assignment
from auditapp.visits.services import (
    AssignmentFilters,
    VisitError,
    create_assignment,
    is_overdue,
    list_assignments,
    plan_bulk,
    shopper_visits,
)
from tests.clock import in_org_zones, on_frozen_dates


@pytest.fixture
def world(make):
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager", email="boss@example.com")
    sam = make.user(org, "shopper", email="sam@example.com", name="Sam")
    kim = make.user(org, "shopper", email="kim@example.com", name="Kim")
    staff = make.user(org, "staff", email="staff@example.com")
    locations = [make.location(org, code=f"00{i}") for i in range(1, 4)]
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, sam=sam, kim=kim, staff=staff, locations=locations,
                                  journey=journey, today=local_today(org.timezone)))


def assign(world, shopper=None, location=None, start=None, end=None, **kw):
    start = start or world.today
    assignment = create_assignment(world.org.id, location=location or world.locations[0], journey=world.journey,
                                   shopper=shopper or world.sam, window_start=start, window_end=end or start + timedelta(days=7),
                                   user=world.manager, **kw)
    db.session.commit()
    return assignment


def test_manager_schedules_a_visit_through_the_form(world, client, auth):
    auth.login("boss@example.com")
    page = client.get("/visits/new")
    assert page.status_code == 200 and b"Sam" in page.data
    response = client.post("/visits/new", data={
        "location_id": world.locations[1].id, "journey_id": world.journey.id, "shopper_id": world.kim.id,
        "window_start": "2030-03-01", "window_end": "2030-03-31", "instructions": "Pay by card"})
    assert response.status_code == 302
    assignment = db.session.scalar(select(Assignment))
    assert (assignment.shopper_id, assignment.location_id, assignment.status) == (world.kim.id, world.locations[1].id, "scheduled")
    assert (assignment.window_start, assignment.window_end, assignment.instructions) == (date(2030, 3, 1), date(2030, 3, 31), "Pay by card")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "assignment.created")) is not None


def test_bad_window_is_shown_next_to_the_field_and_input_kept(world, client, auth):
    auth.login("boss@example.com")
    response = client.post("/visits/new", data={
        "location_id": world.locations[1].id, "journey_id": world.journey.id, "shopper_id": world.kim.id,
        "window_start": "2030-03-10", "window_end": "2030-03-01", "instructions": "Keep me"})
    assert response.status_code == 200
    assert b"The last day must be on or after the first day." in response.data
    assert b"Keep me" in response.data and b'value="2030-03-10"' in response.data
    assert db.session.scalar(select(Assignment)) is None


def test_only_shoppers_can_be_assigned(world):
    with pytest.raises(VisitError) as error:
        create_assignment(world.org.id, location=world.locations[0], journey=world.journey, shopper=world.staff,
                          window_start=world.today, window_end=world.today)
    assert error.value.field == "shopper_id"


@on_frozen_dates
def test_lifecycle_scheduled_started_submitted(world, client, auth, make):
    assignment = assign(world)
    auth.login("sam@example.com")
    mine = client.get("/visits/mine")
    assert b"Due (1)" in mine.data and b"Start this visit" in mine.data
    response = client.post(f"/visits/{assignment.id}/start")
    assert response.status_code == 302
    db.session.refresh(assignment)
    assert assignment.status == "started" and assignment.started_at is not None
    if "evaluations.fill" in client.application.view_functions:
        assert f"assignment={assignment.id}" in response.headers["Location"]
    first_start = assignment.started_at
    client.post(f"/visits/{assignment.id}/start")  # opening it again changes nothing
    db.session.refresh(assignment)
    assert assignment.started_at == first_start
    assert b"Continue this visit" in client.get("/visits/mine").data

    evaluation = make.evaluation(world.org, world.journey, world.locations[0], world.sam, assignment_id=assignment.id)
    db.session.refresh(assignment)
    assert assignment.status == "submitted" and evaluation.assignment_id == assignment.id
    page = client.get("/visits/mine").data
    assert b"Done (1)" in page and b"Due (0)" in page


@on_frozen_dates
def test_overdue_is_derived_from_the_window_in_the_org_time_zone(world, client, auth):
    late = assign(world, start=world.today - timedelta(days=10), end=world.today - timedelta(days=2))
    on_time = assign(world, location=world.locations[1], start=world.today - timedelta(days=3), end=world.today)
    assert is_overdue(late, world.today) and not is_overdue(on_time, world.today)
    assert late.status == "scheduled"  # not stored

    rows = list_assignments(world.org.id, AssignmentFilters(status="overdue"), world.today)
    assert [r["assignment"].id for r in rows] == [late.id]
    all_rows = list_assignments(world.org.id, AssignmentFilters(), world.today)
    assert all_rows[0]["assignment"].id == late.id and all_rows[0]["overdue"]  # overdue first

    auth.login("boss@example.com")
    page = client.get("/visits/").data
    assert b"1 overdue visit" in page and b"visit-overdue" in page and b"2 days late" in page
    auth.logout()
    auth.login("sam@example.com")
    page = client.get("/visits/mine").data.decode()
    assert "Overdue (1)" in page and "Due (1)" in page


def test_cancel(world, client, auth):
    assignment = assign(world)
    auth.login("boss@example.com")
    assert client.post(f"/visits/{assignment.id}/cancel").status_code == 302
    db.session.refresh(assignment)
    assert assignment.status == "cancelled" and assignment.cancelled_at is not None
    assert not is_overdue(assignment, world.today + timedelta(days=30))
    auth.logout()
    auth.login("sam@example.com")
    assert b"Due (0)" in client.get("/visits/mine").data
    assert client.post(f"/visits/{assignment.id}/start").status_code == 302  # refused with a message
    db.session.refresh(assignment)
    assert assignment.status == "cancelled"


def test_manager_filters(world, client, auth):
    a = assign(world, shopper=world.sam, location=world.locations[0])
    b = assign(world, shopper=world.kim, location=world.locations[1])
    auth.login("boss@example.com")
    page = client.get(f"/visits/?shopper={world.kim.id}").data.decode()
    assert f'id="visit-{b.id}"' in page and f'id="visit-{a.id}"' not in page
    page = client.get(f"/visits/?location={world.locations[0].id}").data.decode()
    assert f'id="visit-{a.id}"' in page and f'id="visit-{b.id}"' not in page
    page = client.get("/visits/?status=cancelled").data.decode()
    assert "No visits match" in page and 'id="visit-' not in page


def test_shoppers_see_only_their_own_visits(world, client, auth):
    mine = assign(world, shopper=world.sam)
    theirs = assign(world, shopper=world.kim, location=world.locations[1])
    visits = shopper_visits(world.org.id, world.sam, world.today)
    assert [r["assignment"].id for r in visits.due] == [mine.id]
    auth.login("sam@example.com")
    page = client.get("/visits/mine").data.decode()
    assert world.locations[0].name in page and world.locations[1].name not in page
    assert client.post(f"/visits/{theirs.id}/start").status_code == 404
    db.session.refresh(theirs)
    assert theirs.status == "scheduled"


def test_bulk_plan_preview_then_create(world, client, auth):
    # Last month location 1 was Sam's: this month it must be Kim's.
    assign(world, shopper=world.sam, location=world.locations[0], start=date(2030, 2, 1), end=date(2030, 2, 28))
    auth.login("boss@example.com")
    data = {"journey_id": world.journey.id, "month": "2030-03", "shopper_ids": [world.sam.id, world.kim.id],
            "instructions": "Monthly check"}
    preview = client.post("/visits/plan", data={**data, "action": "preview"})
    assert preview.status_code == 200 and b"Schedule 3 visits" in preview.data
    assert db.session.scalar(select(Assignment).where(Assignment.window_start == date(2030, 3, 1))) is None
    created = client.post("/visits/plan", data={**data, "action": "create"})
    assert created.status_code == 302
    march = list(db.session.scalars(select(Assignment).where(Assignment.window_start == date(2030, 3, 1))))
    assert len(march) == 3
    assert all(a.window_end == date(2030, 3, 31) and a.instructions == "Monthly check" for a in march)
    by_location = {a.location_id: a.shopper_id for a in march}
    assert by_location[world.locations[0].id] == world.kim.id
    counts = sorted(list(by_location.values()).count(s.id) for s in (world.sam, world.kim))
    assert counts == [1, 2]
    # Planning the same month again finds nothing left to plan.
    again = plan_bulk(world.org.id, world.journey, [world.sam.id, world.kim.id], (date(2030, 3, 1), date(2030, 3, 31)))
    assert again.visits == [] and len(again.skipped) == 3


def test_bulk_plan_errors(world, client, auth):
    auth.login("boss@example.com")
    response = client.post("/visits/plan", data={"journey_id": world.journey.id, "month": "March", "action": "preview"})
    assert b"Enter the month as year-month" in response.data
    assert b"Pick at least one secret shopper." in response.data


@pytest.mark.parametrize("path", ["/visits/", "/visits/new", "/visits/plan", "/visits/review"])
def test_manager_pages_are_403_for_shoppers_and_staff(world, client, auth, path):
    for email in ("sam@example.com", "staff@example.com"):
        auth.login(email)
        assert client.get(path).status_code == 403
        auth.logout()


def test_my_visits_is_for_shoppers(world, client, auth):
    auth.login("staff@example.com")
    assert client.get("/visits/mine").status_code == 403


def test_other_organisation_gets_404(world, client, auth, make):
    assignment = assign(world)
    other = make.org()
    make.user(other, "manager", email="other@example.com")
    make.user(other, "shopper", email="othershopper@example.com")
    auth.login("other@example.com")
    assert client.post(f"/visits/{assignment.id}/cancel").status_code == 404
    auth.logout()
    auth.login("othershopper@example.com")
    assert client.post(f"/visits/{assignment.id}/start").status_code == 404
    db.session.refresh(assignment)
    assert assignment.status == "scheduled"


@on_frozen_dates
@in_org_zones
def test_bulk_plan_proposes_the_month_after_the_organisations_today(client, auth, make, frozen_at, tz):
    from zoneinfo import ZoneInfo

    org = make.org(timezone=tz)
    make.user(org, "manager", email="planner@example.com")
    today = frozen_at.astimezone(ZoneInfo(tz)).date()
    following = date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)
    auth.login("planner@example.com")
    page = client.get("/visits/plan").get_data(as_text=True)
    assert f'value="{following:%Y-%m}"' in page
