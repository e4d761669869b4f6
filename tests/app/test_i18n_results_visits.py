"""The results and visits pages in Swedish (issue 16): a browser asking for Swedish gets the pages, form errors and
flash messages in Swedish; without Accept-Language they stay English."""
from __future__ import annotations

from datetime import timedelta

import pytest

from auditapp.extensions import db
from auditapp.timeutil import local_today
from auditapp.visits.services import create_assignment

SWEDISH = {"Accept-Language": "sv"}


@pytest.fixture
def world(make):
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager", email="boss@example.com", name="Boss")
    sam = make.user(org, "shopper", email="sam@example.com", name="Sam")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, sam=sam, location=location, journey=journey,
                                  today=local_today(org.timezone)))


def _page(client, url, **kw) -> str:
    response = client.get(url, **kw)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_results_pages_follow_the_browser_language(world, make, client, auth):
    make.evaluation(world.org, world.journey, world.location, world.sam,
                    answers={"greeting.verdict": "miserable", "order.verdict": "magical"})
    auth.login("boss@example.com")
    index_en, index_sv = _page(client, "/results/"), _page(client, "/results/", headers=SWEDISH)
    assert "<h1>Dashboard</h1>" in index_en and "Action plan" in index_en
    assert "<h1>Översikt</h1>" in index_sv and "Åtgärdsplan" in index_sv and "Action plan" not in index_sv
    assert "Utvärderingar av" in index_sv and "Testkunder" in index_sv  # the filters stated, translated for the page

    url = f"/results/journeys/{world.journey.id}"
    dashboard_en, dashboard_sv = _page(client, url), _page(client, url, headers=SWEDISH)
    assert "Moments of truth, in timeline order" in dashboard_en and "Show results" in dashboard_en
    assert "Sanningens ögonblick, i tidsordning" in dashboard_sv and "Visa resultat" in dashboard_sv
    assert "Senaste 90 dagarna" in dashboard_sv and "Last 90 days" not in dashboard_sv  # the period list

    actions_sv = _page(client, f"/results/journeys/{world.journey.id}/actions", headers=SWEDISH)
    assert "Åtgärder: " in actions_sv and "Lägg till en åtgärd" in actions_sv


def test_visits_pages_follow_the_browser_language(world, client, auth):
    create_assignment(world.org.id, location=world.location, journey=world.journey, shopper=world.sam,
                      window_start=world.today - timedelta(days=9), window_end=world.today - timedelta(days=2),
                      user=world.manager)
    db.session.commit()
    auth.login("boss@example.com")
    manage_en, manage_sv = _page(client, "/visits/"), _page(client, "/visits/", headers=SWEDISH)
    assert "Schedule a visit" in manage_en and "1 overdue visit</strong>" in manage_en
    assert "Planera in ett besök" in manage_sv and "1 försenat besök</strong>" in manage_sv
    assert "Försenat · 2 dagar sent" in manage_sv  # the status label from visits.services, and the plural
    calendar_sv = _page(client, "/visits/calendar", headers=SWEDISH)
    assert "Besök i " in calendar_sv and "Föregående månad" in calendar_sv
    review_sv = _page(client, "/visits/review", headers=SWEDISH)
    assert "<h1>Granskning</h1>" in review_sv and "Någon eller ingen" in review_sv


def test_form_errors_and_flash_messages_in_swedish(world, client, auth):
    auth.login("boss@example.com")
    response = client.post("/visits/new", data={"location_id": "", "journey_id": "", "shopper_id": "",
                                                "window_start": "", "window_end": ""}, headers=SWEDISH)
    html = response.get_data(as_text=True)
    assert "Välj en enhet." in html and "Ange ett datum." in html and "Pick a location." not in html
    english = client.post("/visits/new", data={"location_id": ""}).get_data(as_text=True)
    assert "Pick a location." in english

    response = client.post("/visits/new", data={
        "location_id": world.location.id, "journey_id": world.journey.id, "shopper_id": world.sam.id,
        "window_start": "2030-03-01", "window_end": "2030-03-31"}, headers=SWEDISH, follow_redirects=True)
    assert "Besöket är inplanerat: Harbour" in response.get_data(as_text=True)


def test_the_dashboards_sentences_and_charts_are_in_swedish_too(world, make, client, auth):
    make.evaluation(world.org, world.journey, world.location, world.sam,
                    answers={"greeting.verdict": "miserable", "order.verdict": "magical"})
    auth.login("boss@example.com")
    page = _page(client, f"/results/journeys/{world.journey.id}", headers=SWEDISH)
    assert "Inga tidigare poäng att jämföra med" in page  # the change column, built in results/dashboard.py
    assert "Omdömen: Greeting at the door" in page  # a chart's title; the moment's name is the journey's own
    assert "Inga omdömen än" in page or "omdöme" in page  # the verdict bars' words (charts/svg.py)
    english = _page(client, f"/results/journeys/{world.journey.id}")
    assert "No earlier scores to compare" in english and "Verdicts: Greeting at the door" in english


def test_the_dashboard_trend_marks_the_month_the_date_filter_cuts(world, make, client, auth):
    make.evaluation(world.org, world.journey, world.location, world.sam, answers={"greeting.verdict": "magical"})
    auth.login("boss@example.com")
    start = world.today.replace(day=1) - timedelta(days=20)  # inside last month, not its first day
    page = _page(client, f"/results/journeys/{world.journey.id}?period=custom&from={start.isoformat()}"
                         f"&to={world.today.isoformat()}")
    assert "holds only part of its days (from " in page
    swedish = _page(client, f"/results/journeys/{world.journey.id}?period=custom&from={start.isoformat()}"
                            f"&to={world.today.isoformat()}", headers=SWEDISH)
    assert "har bara en del av sina dagar (från " in swedish
