"""The start page lists a shopper's planned visits the way My visits does, and speaks to staff as staff."""
from datetime import date, timedelta

from auditapp.extensions import db
from auditapp.timeutil import local_today
from auditapp.visits.models import Assignment
from tests.clock import in_org_zones, on_frozen_dates


def _visit(org, journey, location, shopper, start: date, end: date) -> Assignment:
    visit = Assignment(org_id=org.id, location_id=location.id, journey_id=journey.id, shopper_id=shopper.id,
                       window_start=start, window_end=end)
    db.session.add(visit)
    db.session.commit()
    return visit


@on_frozen_dates
@in_org_zones
def test_planned_visits_show_overdue_and_not_yet_open(client, auth, make, tz):
    org = make.org(timezone=tz)
    shopper = make.user(org, "shopper", email="s@example.com")
    journey = make.journey(org)
    today = local_today(org.timezone)
    late = _visit(org, journey, make.location(org, name="Late branch"), shopper, today - timedelta(days=9),
                  today - timedelta(days=2))
    future = _visit(org, journey, make.location(org, name="Future branch"), shopper, today + timedelta(days=3),
                    today + timedelta(days=9))
    auth.login("s@example.com")
    page = client.get("/evaluations/start").get_data(as_text=True)
    assert "Overdue · 2 days late" in page
    assert f"/visits/{late.id}/start" in page
    assert f"You can start it from {future.window_start.isoformat()}" in page
    assert f"/visits/{future.id}/start" not in page  # no start button before the window opens
    assert page.index("Late branch") < page.index("Future branch")


def test_staff_see_a_self_assessment_heading(client, auth, make):
    org = make.org()
    make.user(org, "staff", email="t@example.com", location=make.location(org))
    make.journey(org)
    auth.login("t@example.com")
    page = client.get("/evaluations/start").get_data(as_text=True)
    assert "<h1>Self-assessment after your shift</h1>" in page
