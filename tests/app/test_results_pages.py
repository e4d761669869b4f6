"""Results pages and GET /api/v1/scorecard: access, filters, the numbers shown, drill-down and action plans."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.results.models import Action
from auditapp.timeutil import local_today, to_local, utcnow
from tests.clock import in_org_zones, on_frozen_dates

from .test_results_queries import ALL_MAGICAL, ALL_MISERABLE, ANSWERS_A, ANSWERS_B, ANSWERS_C


def moment_card(page: str, key: str) -> str:
    """The HTML of one moment's card on the dashboard."""
    rest = page.split(f'id="moment-{key}"', 1)[1]
    return re.split(r'<li id="moment-|</ol>', rest, maxsplit=1)[0]


@pytest.fixture
def site(make, auth, tz):
    org = make.org(timezone=tz)
    manager = make.user(org, "manager", email="boss@example.com")
    north = make.location(org, name="Harbour", region="North")
    south = make.location(org, name="Airport", region="South")
    journey = make.journey(org)

    class Site:
        pass

    s = Site()
    s.org, s.manager, s.north, s.south, s.journey, s.make, s.auth = org, manager, north, south, journey, make, auth

    def evaluate(answers, when=None, *, location=None, source="shopper", **kw):
        return make.evaluation(org, journey, location or north, manager, answers, source=source,
                               started_at=when or utcnow() - timedelta(days=2), **kw)

    s.evaluate = evaluate
    return s


def test_dashboard_and_api_are_for_managers_only(client, site, make):
    shopper = make.user(site.org, "shopper", email="shop@example.com")
    staff = make.user(site.org, "staff", email="staff@example.com", location=site.north)
    urls = ["/results/", f"/results/journeys/{site.journey.id}", f"/results/journeys/{site.journey.id}/evaluations",
            f"/results/journeys/{site.journey.id}/actions", f"/results/journeys/{site.journey.id}/actions/new"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url
    for user in (shopper, staff):
        site.auth.login(user.email)
        for url in urls:
            assert client.get(url).status_code == 403, (user.email, url)
        assert client.get(f"/api/v1/scorecard?journey_id={site.journey.id}").status_code == 403
        site.auth.logout()
    token = make.token(shopper)
    response = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert client.get(f"/api/v1/scorecard?journey_id={site.journey.id}").status_code == 401
    site.auth.login("boss@example.com")
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_another_organisations_journey_and_action_are_404(client, site, make):
    other = make.org()
    foreign_journey = make.journey(other)
    foreign_action = Action(org_id=other.id, journey_id=foreign_journey.id, moment_key="greeting", idea="Theirs",
                            started_on=date(2025, 1, 1))
    db.session.add(foreign_action)
    db.session.commit()
    site.auth.login("boss@example.com")
    for url in (f"/results/journeys/{foreign_journey.id}", f"/results/journeys/{foreign_journey.id}/evaluations",
                f"/results/journeys/{foreign_journey.id}/actions", f"/results/journeys/{foreign_journey.id}/actions/new",
                f"/results/actions/{foreign_action.id}", f"/results/actions/{foreign_action.id}/edit"):
        assert client.get(url).status_code == 404, url
    response = client.get(f"/api/v1/scorecard?journey_id={foreign_journey.id}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert b"Theirs" not in client.get(f"/results/journeys/{site.journey.id}/actions?show=all").data


def test_api_scorecard_equals_the_dashboard(client, site):
    site.evaluate(ANSWERS_A, datetime(2025, 1, 10, 10))
    site.evaluate(ANSWERS_B, datetime(2025, 1, 11, 10), location=site.south)
    site.evaluate(ANSWERS_C, datetime(2025, 1, 12, 10), source="staff")
    site.evaluate(ALL_MAGICAL, datetime(2025, 1, 12, 11), status="rejected")
    site.auth.login("boss@example.com")
    # By default the headline is the secret shoppers' alone; the staff self-assessment is not mixed in.
    shoppers = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}&from=2025-01-01&to=2025-01-31").get_json()
    assert shoppers["evaluations"] == 2 and shoppers["source"] == "shopper" and shoppers["status"] == "counted"
    assert shoppers["score"] == pytest.approx((65.625 + 37.5) / 2)
    query = "from=2025-01-01&to=2025-01-31&source=all"  # shoppers and staff, as the manager may choose
    body = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}&{query}").get_json()
    assert body["source"] == "all"
    assert set(body) >= {"journey_id", "evaluations", "score", "moments"}
    assert body["journey_id"] == site.journey.id and body["evaluations"] == 3
    assert body["score"] == pytest.approx((65.625 + 37.5 + 68.75) / 3)
    assert [m["key"] for m in body["moments"]] == ["greeting", "order", "farewell"]
    order = body["moments"][1]
    assert {k: order[k] for k in ("key", "name", "position", "n", "magical", "neutral", "miserable", "critical_fails")} \
        == {"key": "order", "name": "Ordering", "position": 1, "n": 3, "magical": 1, "neutral": 1, "miserable": 1,
            "critical_fails": 1}
    assert order["score"] == pytest.approx((62.5 + 0 + 100) / 3)  # unrounded

    page = client.get(f"/results/journeys/{site.journey.id}?{query}").get_data(as_text=True)
    # The dashboard shows the same numbers, rounded half up.
    head = re.search(r'<p class="res-tile-value"><span class="score-pill[^"]*">(\d+)</span>', page)
    assert int(head.group(1)) == round(body["score"])
    for moment in body["moments"]:
        card = moment_card(page, moment["key"])
        assert f'>{int(moment["score"] + 0.5)}</span>' in card
        assert f'n={moment["n"]} ' in card
        assert f'<dt>Critical fails</dt><dd>{moment["critical_fails"]}</dd>' in card
        for word in ("magical", "neutral", "miserable"):
            assert f'data-count="{moment[word]}"' in card or moment[word] == 0

    staff_only = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}&from=2025-01-01&to=2025-01-31&source=staff").get_json()
    assert staff_only["evaluations"] == 1 and staff_only["score"] == pytest.approx(68.75)
    south = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}&location_id={site.south.id}&source=all").get_json()
    assert south["evaluations"] == 1 and south["score"] == pytest.approx(37.5)


def test_api_rejects_bad_parameters_with_every_field(client, site):
    site.auth.login("boss@example.com")
    response = client.get("/api/v1/scorecard?journey_id=abc&from=2025-02-30&source=robots")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"journey_id", "from", "source"}
    assert client.get("/api/v1/scorecard").status_code == 422
    assert client.get("/api/v1/scorecard?journey_id=999999").status_code == 404


def test_api_with_a_manager_token(client, site, make):
    site.evaluate(ALL_MAGICAL)
    token = make.token(site.manager)
    response = client.get(f"/api/v1/scorecard?journey_id={site.journey.id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["score"] == pytest.approx(100.0)


@on_frozen_dates
def test_dashboard_shows_weakest_priority_warning_and_low_n(client, site):
    today = utcnow()
    for days in (40, 41, 42, 43, 44, 45):  # previous 30-day window: greeting magical
        site.evaluate({**ALL_MAGICAL, "greeting.smile": 4 + days % 2}, today - timedelta(days=days))
    for days in (2, 3, 4, 5, 6, 7):  # last 30 days: greeting miserable
        site.evaluate({**ALL_MAGICAL, "greeting.greeted": "no", "greeting.smile": 1 + days % 2,
                       "greeting.verdict": "miserable"}, today - timedelta(days=days))
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}?period=all").get_data(as_text=True)
    assert "Weakest priority moment: <a href=\"#moment-greeting\">Greeting at the door</a>" in page
    greeting = moment_card(page, "greeting")
    assert "⚠ Warning" in greeting and "Fell" in greeting
    farewell = moment_card(page, "farewell")
    assert "Warning" not in farewell
    assert "Remembered experience" in page and "peak-end" in page
    assert "two evaluations never raise an alarm" in page
    assert 'class="chart chart-heatmap"' in page and 'class="chart chart-trend"' in page

    # Only two evaluations in the period: every moment greyed, nothing ranked, no warning.
    page = client.get(f"/results/journeys/{site.journey.id}?from={(today - timedelta(days=3)).date()}"
                      f"&to={today.date()}").get_data(as_text=True)
    assert page.count("res-moment res-low-n") == 3
    assert "Weakest priority moment" not in page
    assert "⚠ Warning" not in page


def test_dashboard_filter_errors_keep_what_was_typed(client, site):
    site.auth.login("boss@example.com")
    response = client.get(f"/results/journeys/{site.journey.id}?period=custom&from=2025-01-31&to=2025-01-01&source=robot")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Must be on or after the from date." in page
    assert "Must be shopper, staff or all." in page
    assert 'value="2025-01-31"' in page and 'value="2025-01-01"' in page
    assert "Fix the filters" in page


def test_typed_dates_mean_custom_dates_and_presets_leave_the_boxes_empty(client, site):
    site.evaluate(ALL_MAGICAL, datetime(2025, 1, 10))
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    assert '<option selected value="90d">' in page and 'name="from" type="date" value=""' in page
    assert "No evaluations match these filters yet." in page  # January 2025 is long before the last 90 days
    # A date typed while a preset is still selected: the dates win.
    page = client.get(f"/results/journeys/{site.journey.id}?period=30d&from=2025-01-01&to=2025-01-31").get_data(as_text=True)
    assert '<option selected value="custom">' in page and 'value="2025-01-01"' in page
    assert "2025-01-01 to 2025-01-31" in page and "No evaluations match" not in page
    # Another preset chosen with empty date boxes: the preset applies.
    page = client.get(f"/results/journeys/{site.journey.id}?period=all&from=&to=").get_data(as_text=True)
    assert '<option selected value="all">' in page and "all time" in page and "No evaluations match" not in page


def test_dashboard_links_the_export_with_the_current_filters(client, site, app):
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}?period=custom&from=2025-01-01&to=2025-01-31&source=staff")
    text = page.get_data(as_text=True)
    if "exports.scorecard" in app.view_functions:
        link = re.search(r'href="([^"]*)">Download scorecard', text).group(1).replace("&amp;", "&")
        assert f"journey_id={site.journey.id}" in link and "from=2025-01-01" in link and "source=staff" in link
        # The trend grain chosen on the page goes along, and branch managers get a sheet each on request.
        page = client.get(f"/results/journeys/{site.journey.id}?period=custom&from=2025-01-01&to=2025-01-31&grain=month")
        text = page.get_data(as_text=True)
        link = re.search(r'href="([^"]*)">Download scorecard', text).group(1).replace("&amp;", "&")
        assert "grain=month" in link
        per_location = re.search(r'href="([^"]*)">Scorecard with a sheet per location', text).group(1).replace("&amp;", "&")
        assert "per_location=yes" in per_location and "grain=month" in per_location
        response = client.get(per_location)
        assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    else:
        assert "Download scorecard" not in text


def test_gap_and_magical_sections(client, site):
    for day in (2, 3, 4):
        site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=day), source="staff",
                      moment_notes={"farewell": f"Waved goodbye <b>{day}</b>"})
        site.evaluate({**ALL_MAGICAL, "greeting.greeted": "no", "greeting.smile": 1, "greeting.verdict": "miserable"},
                      utcnow() - timedelta(days=day), source="shopper")
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    gap = page.split('id="gap"', 1)[1].split("</section>", 1)[0]
    assert "<strong>Flagged:</strong> Greeting at the door" in gap
    # The page says whose opinion its headline is, and shows the staff's own score beside it, not in it.
    assert "<span class=\"muted\">Evaluations by:</span> <strong>Secret shoppers</strong>" in page
    assert "Staff self-assessments: 100 magical (n=3), shown beside this score, not in it." in page
    magical = page.split('id="magical"', 1)[1].split("</section>", 1)[0]
    assert "Waved goodbye" not in magical  # the staff's praise of themselves is not the shoppers'
    page = client.get(f"/results/journeys/{site.journey.id}?source=all").get_data(as_text=True)
    magical = page.split('id="magical"', 1)[1].split("</section>", 1)[0]
    assert "Harbour" in magical and "Waved goodbye &lt;b&gt;2&lt;/b&gt;" in magical  # escaped, newest first


def test_drilldown_from_a_cell(client, site):
    site.evaluate(ANSWERS_A, datetime(2025, 1, 10), moment_notes={"order": "Slow queue"})
    site.evaluate({**ANSWERS_B, "order.clean": ("no", "Sticky <counter>")}, datetime(2025, 1, 11), location=site.south)
    site.auth.login("boss@example.com")
    url = f"/results/journeys/{site.journey.id}/evaluations?moment=order&from=2025-01-01&to=2025-01-31"
    page = client.get(url).get_data(as_text=True)
    assert page.index("Sticky &lt;counter&gt;") < page.index("Slow queue")  # newest first, escaped
    assert "Critical fail" in page
    # Each evaluation behind the cell opens in full (answers, photos, review) from the drill-down.
    opened = re.findall(r'<a href="(/visits/review/\d+)"', page)
    assert len(opened) == 2 and client.get(opened[0]).status_code == 200
    page = client.get(url + f"&location_id={site.south.id}").get_data(as_text=True)
    assert "Sticky" in page and "Slow queue" not in page
    assert client.get(f"/results/journeys/{site.journey.id}/evaluations?moment=nope").status_code == 404
    assert client.get(f"/results/journeys/{site.journey.id}/evaluations?from=bad").status_code == 400


def test_heatmap_cells_link_to_the_drilldown(client, site):
    site.evaluate(ALL_MAGICAL)
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    heat = page.split('id="locations"', 1)[1].split("</section>", 1)[0]
    links = re.findall(r'<a href="([^"]+)"', heat)
    assert any("moment=greeting" in link and f"location_id={site.north.id}" in link for link in links)
    assert client.get(links[0].replace("&amp;", "&")).status_code == 200


def test_actions_are_created_edited_listed_and_audited(client, site):
    site.evaluate(ALL_MISERABLE)
    site.auth.login("boss@example.com")
    today = local_today(site.org.timezone)
    new_url = f"/results/journeys/{site.journey.id}/actions/new?moment=order"
    form = client.get(new_url).get_data(as_text=True)
    assert '<option selected value="order">' in form or 'value="order" selected' in form
    response = client.post(new_url, data={"moment_key": "order", "idea": "", "owner_id": "",
                                          "definition_of_done": "Counter wiped, logged on the sheet",
                                          "started_on": today.isoformat(),
                                          "due_date": (today - timedelta(days=1)).isoformat()})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Describe the improvement." in text and "on or after the start date" in text
    assert "Choose who owns the action." in text
    assert "Counter wiped, logged on the sheet" in text  # what was typed is kept
    assert Action.query.count() == 0

    due = today + timedelta(days=14)
    response = client.post(new_url, data={"moment_key": "order", "idea": "Wipe the counter every hour",
                                          "definition_of_done": "Counter wiped, logged on the sheet",
                                          "owner_id": str(site.manager.id), "location_id": str(site.north.id),
                                          "started_on": today.isoformat(), "due_date": due.isoformat()})
    assert response.status_code == 302
    action = Action.query.one()
    assert (action.org_id, action.journey_id, action.moment_key, action.location_id, action.owner_id, action.status) == \
        (site.org.id, site.journey.id, "order", site.north.id, site.manager.id, "open")
    assert response.location.endswith(f"/results/actions/{action.id}")
    assert AuditLog.query.filter_by(action="action.create", object_id=action.id).count() == 1

    listing = client.get(f"/results/journeys/{site.journey.id}/actions").get_data(as_text=True)
    assert "Wipe the counter every hour" in listing
    dash = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    assert "Wipe the counter every hour" in moment_card(dash, "order")

    response = client.post(f"/results/actions/{action.id}/edit", data={
        "moment_key": "order", "idea": "Wipe the counter every hour", "owner_id": str(site.manager.id),
        "definition_of_done": "Counter wiped, logged on the sheet", "location_id": "",
        "started_on": today.isoformat(), "due_date": (due + timedelta(days=7)).isoformat()})
    assert response.status_code == 302
    db.session.refresh(action)
    assert action.location_id is None and action.due_date == due + timedelta(days=7)
    entry = AuditLog.query.filter_by(action="action.update", object_id=action.id).one()
    assert {c["field"] for c in entry.detail["changes"]} == {"due_date", "location_id"}
    client.post(f"/results/actions/{action.id}/done", data={"done-note": "Sheet on the wall, signed hourly"})
    client.post(f"/results/actions/{action.id}/verify", data={"verify-note": ""})
    db.session.refresh(action)
    assert action.status == "verified"
    assert "Wipe the counter" not in client.get(f"/results/journeys/{site.journey.id}/actions").get_data(as_text=True)
    assert "Wipe the counter" in client.get(f"/results/journeys/{site.journey.id}/actions?show=all").get_data(as_text=True)


@on_frozen_dates
@in_org_zones
def test_trend_chart_marks_when_actions_were_verified(client, site):
    """The trend marks the day an action was verified (not when it was planned): the scores after it show its
    effect. An action that is open, or only done, leaves no mark."""
    for days in (70, 40, 10):
        site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=days))
    today = local_today(site.org.timezone)
    verified = Action(org_id=site.org.id, journey_id=site.journey.id, moment_key="greeting", idea="Greet at the door",
                      started_on=today - timedelta(days=80), due_date=today - timedelta(days=50), status="verified",
                      owner_id=site.manager.id, verified_at=utcnow() - timedelta(days=35))
    planned = Action(org_id=site.org.id, journey_id=site.journey.id, moment_key="order", idea="Faster orders",
                     started_on=today - timedelta(days=60), due_date=today + timedelta(days=5), status="done",
                     owner_id=site.manager.id)
    db.session.add_all([verified, planned])
    db.session.commit()
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}?period=90d&grain=month").get_data(as_text=True)
    trend = page.split('id="trend"', 1)[1].split("</section>", 1)[0]
    assert trend.count('class="marker"') == 1 and "Greet at the door" in trend and "Faster orders" not in trend
    local = to_local(verified.verified_at, site.org.timezone)
    month = local.strftime("%b")
    assert f'data-period="{month}' in trend and f"Greet at the door verified in {month}" in trend
    assert 'class="marker"' in moment_card(page, "greeting")
    assert 'class="marker"' not in moment_card(page, "order")


@on_frozen_dates
@in_org_zones
def test_index_lists_journeys_with_headline_scores(client, site, make):
    site.evaluate(ALL_MAGICAL)
    site.evaluate(ALL_MISERABLE)
    site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=200))
    make.journey(site.org, name="Second journey")
    site.auth.login("boss@example.com")
    page = client.get("/results/").get_data(as_text=True)
    assert "Café order" in page and "Second journey" in page
    first = page.split("Café order", 1)[1].split("</li>", 1)[0]
    assert ">50</span>" in first and "n=2" in first and "(too few to judge)" in first
    assert "from 3 evaluations" in first
    second = page.split("Second journey", 1)[1].split("</li>", 1)[0]
    assert "no evaluations yet" in second and "from 0 evaluations" not in second


def test_dashboard_ids_are_unique(client, site):
    """Every section and chart on one page has its own id (a repeated id breaks links and aria references)."""
    import re
    from collections import Counter

    for day in (2, 3, 4):
        site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=day), source="staff")
        site.evaluate(ALL_MAGICAL, utcnow() - timedelta(days=day), source="shopper")
    site.auth.login("boss@example.com")
    body = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    ids = Counter(re.findall(r'\sid="([^"]+)"', body))
    assert len(ids) > 20
    assert [i for i, n in ids.items() if n > 1] == []


@on_frozen_dates
@in_org_zones
def test_dashboard_and_index_open_on_the_organisations_last_90_days(client, site, frozen_at, tz):
    """The 90 days are local calendar days ending today: the first minute of day 1 counts, the minute before not."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    first_day = frozen_at.astimezone(zone).date() - timedelta(days=89)

    def utc(day: date, hour: int, minute: int) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    site.evaluate(ALL_MAGICAL, utc(first_day, 0, 0))
    site.evaluate(ALL_MISERABLE, utc(first_day - timedelta(days=1), 23, 59))
    site.auth.login("boss@example.com")
    page = client.get(f"/results/journeys/{site.journey.id}").get_data(as_text=True)
    assert '<option selected value="90d">' in page
    head = re.search(r'<p class="res-tile-value"><span class="score-pill[^"]*">(\d+)</span>', page)
    assert head.group(1) == "100"
    index = client.get("/results/").get_data(as_text=True).split("Café order", 1)[1].split("</li>", 1)[0]
    assert ">100</span>" in index and "n=1" in index and "from 2 evaluations" in index
