"""Review: bulk approval of unflagged evaluations after a confirmation, and pages of the review list.
Visits: the compact, paginated table and the month calendar."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from auditapp.auth.models import AuditLog
from auditapp.evaluations.models import Evaluation, EvaluationEvent
from auditapp.extensions import db
from auditapp.timeutil import local_today, utcnow
from auditapp.visits.models import Assignment
from auditapp.visits.review import ReviewFilters, bulk_approve, bulk_candidates
from auditapp.visits.services import AssignmentFilters, calendar_day_of, month_calendar
from tests.clock import on_frozen_dates


@pytest.fixture
def world(make):
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager", email="boss@example.com", name="Boss")
    sam = make.user(org, "shopper", email="sam@example.com", name="Sam")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, sam=sam, location=location, journey=journey))


def _waiting(make, world, n=1, **kw):
    return [make.evaluation(world.org, world.journey, world.location, world.sam, **kw) for _ in range(n)]


def _flagged(make, world):
    start = utcnow() - timedelta(hours=3)
    return make.evaluation(world.org, world.journey, world.location, world.sam, started_at=start,
                           finished_at=start + timedelta(seconds=20))  # a 20-second visit: short_visit


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="evaluation_id" value="(\d+)"', html)]


def test_bulk_candidates_are_the_waiting_unflagged_ones_oldest_first(world, make):
    plain = _waiting(make, world, 3)
    flagged = _flagged(make, world)
    assert flagged.flags
    approved = _waiting(make, world, status="approved")[0]
    rows, total = bulk_candidates(world.org.id, ReviewFilters())
    assert [e.id for e in rows] == [e.id for e in plain] and total == 3
    assert flagged.id not in [e.id for e in rows] and approved.id not in [e.id for e in rows]
    # A list filtered to flagged evaluations offers nothing to approve in bulk.
    assert bulk_candidates(world.org.id, ReviewFilters(flag="any")) == ([], 0)
    assert bulk_candidates(world.org.id, ReviewFilters(location_id=world.location.id + 999)) == ([], 0)
    rows, total = bulk_candidates(world.org.id, ReviewFilters(), limit=2)
    assert len(rows) == 2 and total == 3


def test_bulk_approval_takes_only_confirmed_ids_still_waiting_and_unflagged(world, make):
    first, second, third = _waiting(make, world, 3)
    flagged = _flagged(make, world)
    other_org = make.org()
    foreign = make.evaluation(other_org, make.journey(other_org), make.location(other_org),
                              make.user(other_org, "shopper"))
    second.status = "rejected"  # decided by someone else after the confirmation page was shown
    db.session.commit()
    result = bulk_approve(world.org.id, [first.id, second.id, flagged.id, foreign.id, first.id], world.manager)
    db.session.commit()
    assert result.approved == [first.id]
    assert sorted(result.skipped) == sorted([second.id, flagged.id, foreign.id])
    assert db.session.get(Evaluation, first.id).status == "approved"
    assert db.session.get(Evaluation, second.id).status == "rejected"
    assert db.session.get(Evaluation, flagged.id).status == "submitted"
    assert db.session.get(Evaluation, foreign.id).status == "submitted"
    assert db.session.get(Evaluation, third.id).status == "submitted"  # not confirmed: untouched
    events = db.session.scalars(select(EvaluationEvent).where(EvaluationEvent.action == "approved")).all()
    assert [e.evaluation_id for e in events] == [first.id] and events[0].user_id == world.manager.id
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "evaluation.bulk_approved")).one()
    assert log.org_id == world.org.id and log.detail["approved"] == [first.id]


def test_bulk_approval_page_confirms_then_approves(world, make, client, auth):
    plain = _waiting(make, world, 2)
    flagged = _flagged(make, world)
    auth.login("boss@example.com")
    listing = client.get("/visits/review").get_data(as_text=True)
    assert "Approve the 2 unflagged waiting evaluations" in listing
    page = client.get("/visits/review/approve-unflagged")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _ids(html) == [e.id for e in plain]
    assert f"#{flagged.id}<" not in html and "Approve these 2" in html
    assert db.session.scalar(select(func.count()).where(Evaluation.status == "approved")) == 0  # a GET changes nothing
    done = client.post("/visits/review/approve-unflagged", data={"evaluation_id": [str(e.id) for e in plain]},
                       follow_redirects=True)
    assert "2 evaluations approved." in done.get_data(as_text=True)
    assert {e.status for e in db.session.scalars(select(Evaluation))} == {"approved", "submitted"}
    assert db.session.get(Evaluation, flagged.id).status == "submitted"
    # Sent again (a double tap, a back button): nothing more happens, and it says why.
    again = client.post("/visits/review/approve-unflagged", data={"evaluation_id": [str(e.id) for e in plain]},
                        follow_redirects=True).get_data(as_text=True)
    assert "0 evaluations approved. 2 left alone" in again


def test_bulk_approval_keeps_the_filters(world, make, client, auth):
    elsewhere = make.location(world.org, name="Airport")
    here = _waiting(make, world, 1)[0]
    there = make.evaluation(world.org, world.journey, elsewhere, world.sam)
    auth.login("boss@example.com")
    html = client.get(f"/visits/review/approve-unflagged?location={elsewhere.id}").get_data(as_text=True)
    assert _ids(html) == [there.id]
    assert f'action="/visits/review/approve-unflagged?location={elsewhere.id}"' in html
    response = client.post(f"/visits/review/approve-unflagged?location={elsewhere.id}",
                           data={"evaluation_id": [str(there.id)]})
    assert response.status_code == 302 and f"location={elsewhere.id}" in response.headers["Location"]
    assert db.session.get(Evaluation, here.id).status == "submitted"


@pytest.mark.parametrize("role", ["shopper", "staff", "location_manager", "regional_manager"])
def test_only_reviewers_may_approve_in_bulk(world, make, client, auth, role):
    waiting = _waiting(make, world, 1)[0]
    places = {"staff": {"location": world.location}, "location_manager": {"places": [world.location]},
              "regional_manager": {"regions": [world.location.region]}}.get(role, {})
    make.user(world.org, role, email=f"{role}@example.com", **places)
    auth.login(f"{role}@example.com")
    assert client.get("/visits/review/approve-unflagged").status_code in (403, 404)
    assert client.post("/visits/review/approve-unflagged", data={"evaluation_id": [str(waiting.id)]}).status_code in (403, 404)
    assert db.session.get(Evaluation, waiting.id).status == "submitted"


def test_bulk_approval_needs_the_csrf_token(world, make, client, auth, app):
    waiting = _waiting(make, world, 1)[0]
    auth.login("boss@example.com")
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/visits/review/approve-unflagged", data={"evaluation_id": [str(waiting.id)]})
    assert response.status_code in (302, 400)
    assert db.session.get(Evaluation, waiting.id).status == "submitted"


def test_the_review_list_pages_by_ten_and_says_where_it_is(world, make, client, auth):
    made = _waiting(make, world, 45)
    auth.login("boss@example.com")
    first = client.get("/visits/review").get_data(as_text=True)
    assert first.count('class="card review-item"') == 10
    assert "45 evaluations · page 1 of 5" in first and "Page 1 of 5" in first
    last = client.get("/visits/review?page=99").get_data(as_text=True)  # past the end: the last page
    assert last.count('class="card review-item"') == 5 and "page 5 of 5" in last
    pages = [client.get(f"/visits/review?page={n}").get_data(as_text=True) for n in range(1, 6)]
    shown = re.findall(r'/visits/review/(\d+)"', "".join(pages))
    assert sorted({int(x) for x in shown}) == sorted(e.id for e in made)


def _assignment(world, start: date, end: date, **kw) -> Assignment:
    assignment = Assignment(org_id=world.org.id, location_id=world.location.id, journey_id=world.journey.id,
                            shopper_id=world.sam.id, window_start=start, window_end=end, **kw)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def test_the_visits_table_is_compact_and_paginated(world, make, client, auth):
    today = local_today(world.org.timezone)
    for n in range(30):
        _assignment(world, today, today + timedelta(days=n), instructions=f"Visit number {n}")
    auth.login("boss@example.com")
    html = client.get("/visits/").get_data(as_text=True)
    assert html.count('<tr id="visit-') == 25 and "30 visits · page 1 of 2" in html
    second = client.get("/visits/?page=2").get_data(as_text=True)
    assert second.count('<tr id="visit-') == 5
    assert 'href="/visits/calendar"' in html


@on_frozen_dates
def test_the_calendar_puts_made_visits_on_their_local_day_and_open_ones_on_their_last_day(world, make):
    today = local_today(world.org.timezone)
    open_one = _assignment(world, today, today + timedelta(days=3))
    # Started at 23:30 UTC: in Stockholm that is already the next day (or 01:30 in summer).
    started_utc = datetime.combine(today - timedelta(days=1), datetime.min.time()) + timedelta(hours=23, minutes=30)
    made = _assignment(world, today - timedelta(days=5), today, status="submitted", started_at=started_utc)
    assert calendar_day_of(made, "Europe/Stockholm") == today
    assert calendar_day_of(made, "UTC") == today - timedelta(days=1)
    weeks = month_calendar(world.org.id, AssignmentFilters(), today.year, today.month, today, world.org.timezone)
    assert all(len(week) == 7 and week[0].day.weekday() == 0 for week in weeks)
    days = {d.day: [r["assignment"].id for r in d.visits] for week in weeks for d in week}
    assert made.id in days[today]
    due = today + timedelta(days=3)
    if due in days:  # the window may end in the next month, beyond this month's last week
        assert open_one.id in days[due]
    # Every day of the month is there once, in order.
    month_days = [d.day for week in weeks for d in week if d.in_month]
    assert month_days[0] == today.replace(day=1) and len(month_days) == len(set(month_days))
    assert all(b - a == timedelta(days=1) for a, b in zip(month_days, month_days[1:], strict=False))


def test_the_calendar_page_moves_by_month_and_keeps_filters(world, make, client, auth):
    today = local_today(world.org.timezone)
    nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=15)
    later = _assignment(world, nxt, nxt)
    auth.login("boss@example.com")
    this_month = client.get("/visits/calendar").get_data(as_text=True)
    assert f"Visits in {today.strftime('%B %Y')}" in this_month and f"#visit-{later.id}" not in this_month
    following = client.get(f"/visits/calendar?month={nxt.strftime('%Y-%m')}&location={world.location.id}")
    html = following.get_data(as_text=True)
    assert following.status_code == 200 and f"#visit-{later.id}" in html
    assert f"location={world.location.id}" in html  # the month links keep the filter
    other = make.location(world.org, name="Airport")
    assert f"#visit-{later.id}" not in client.get(
        f"/visits/calendar?month={nxt.strftime('%Y-%m')}&location={other.id}").get_data(as_text=True)
    for bad in ("2026-13", "garbage", "99999-01", "1000-01"):
        response = client.get(f"/visits/calendar?month={bad}")
        assert response.status_code == 200 and f"Visits in {today.strftime('%B %Y')}" in response.get_data(as_text=True)
