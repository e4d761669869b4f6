"""Hostile input catalogue, part 6: numbers and dates.

Negative, huge (1e308, integers of 30 digits), NaN and infinite numbers (as the JSON literals NaN/Infinity that
Python's json module accepts, and as strings) are refused with a specific message where they make no sense:
ratings, number answers, durations, ids, builder weights and expected seconds, workbook cells, band settings.
Dates far in the past or future are refused for started_at/finished_at (or, as report filters, simply match
nothing more); assignment windows that end before they start are refused. Nothing of this may be a 500.

Decisions: a number answer may be negative (a question such as "temperature of the coffee" has no sign rule);
only non-finite and over-1e12 values are refused. A negative id is an id that does not exist: 404.
"""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys.models import Journey, Moment, Question
from auditapp.timeutil import local_today

BIG = 10**30
NAN, INF = float("nan"), float("inf")


@pytest.fixture
def world(app, make):
    # A crash must show up as a 500 response here (not as an exception), like a real request would.
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com")
    admin = make.user(org, "admin", email="admin@example.com")
    shopper = make.user(org, "shopper", email="sam@example.com")
    location = make.location(org)
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, admin=admin, shopper=shopper, location=location,
                                  journey=journey, token=make.token(shopper)))


def body(world, **changes) -> dict:
    data = {
        "client_uuid": "numbers-0001", "journey_id": world.journey.id, "location_id": world.location.id,
        "source": "shopper", "started_at": "2025-01-01T10:00:00Z", "finished_at": "2025-01-01T10:20:00Z",
        "answers": [{"moment": m, "question": "verdict", "value": "neutral"} for m in ("greeting", "order", "farewell")]
        + [{"moment": "greeting", "question": "greeted", "value": "yes"}],
    }
    data.update(changes)
    return data


def post_raw(client, world, text: str):
    """Send JSON text as is, so literals such as NaN and Infinity (which json.dumps also writes) arrive."""
    return client.post("/api/v1/evaluations", data=text, content_type="application/json",
                       headers={"Authorization": f"Bearer {world.token}"})


def post(client, world, data: dict):
    return post_raw(client, world, json.dumps(data))  # allow_nan: NaN and Infinity become JSON literals


def with_answer(world, moment: str, question: str, value) -> dict:
    data = body(world)
    data["answers"].append({"moment": moment, "question": question, "value": value})
    return data


def errors_of(response) -> dict[str, str]:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:300]
    return {e["field"]: e["message"] for e in response.json.get("errors", [])}


def nothing_stored() -> bool:
    return db.session.scalar(select(func.count()).select_from(Evaluation)) == 0


@pytest.mark.parametrize("value", [-1, 0, 6, 3.5, 1e308, -1e308, NAN, INF, -INF, "NaN", "Infinity", "-Infinity",
                                   "1e308", "nan", "inf", "3.0000001", True, BIG])
def test_ratings_outside_1_to_5_are_refused(client, world, value):
    response = post(client, world, with_answer(world, "greeting", "smile", value))
    assert response.status_code == 422
    assert errors_of(response)["answers.greeting.smile"] == "Must be a whole number from 1 to 5"
    assert nothing_stored()


@pytest.mark.parametrize("value, message", [
    (NAN, "Must be a finite number"), (INF, "Must be a finite number"), (-INF, "Must be a finite number"),
    (1e308, "Is too large"), (-1e308, "Is too large"), (BIG, "Is too large"), (1e13, "Is too large"),
    ("NaN", "Must be a number"), ("Infinity", "Must be a number"), ("inf", "Must be a number"),
    ("1e999", "Must be a finite number"), ("1_000", "Must be a number"), (True, "Must be a number"),
])
def test_number_answers_that_are_not_finite_or_too_large_are_refused(client, world, value, message):
    response = post(client, world, with_answer(world, "order", "wait", value))
    assert response.status_code == 422
    assert errors_of(response)["answers.order.wait"] == message
    assert nothing_stored()


def test_json_1e999_literal_is_infinity_and_refused(client, world):
    text = json.dumps(with_answer(world, "order", "wait", 1)).replace('"value": 1}', '"value": 1e999}')
    assert "1e999" in text
    response = post_raw(client, world, text)
    assert response.status_code == 422
    assert errors_of(response)["answers.order.wait"] == "Must be a finite number"


@pytest.mark.parametrize("value", [-5, -0.5, 0, 1e12, "-12.5"])
def test_negative_and_large_but_sane_number_answers_are_kept(client, world, value):
    response = post(client, world, with_answer(world, "order", "wait", value))
    assert response.status_code == 201, response.json
    got = client.get(f"/api/v1/evaluations/{response.json['id']}", headers={"Authorization": f"Bearer {world.token}"})
    stored = next(a["value"] for a in got.json["answers"] if a["question"] == "wait")
    assert float(stored) == float(value)


@pytest.mark.parametrize("seconds", [-1, -0.001, 86_401, 1e308, NAN, INF, -INF, "30", "NaN", True, BIG])
def test_durations_outside_0_to_a_day_are_refused(client, world, seconds):
    response = post(client, world, body(world, durations={"greeting": seconds}))
    assert response.status_code == 422
    assert errors_of(response)["durations.greeting"] == "Must be a number of seconds from 0 to 86400"
    assert nothing_stored()


@pytest.mark.parametrize("field", ["journey_id", "location_id", "assignment_id"])
@pytest.mark.parametrize("value", [BIG, 2**63, 1.5, 1e308, NAN, INF, "1e3", "-1", True, "9" * 30])
def test_ids_that_are_not_sane_whole_numbers_are_refused_never_a_500(client, world, field, value):
    response = post(client, world, body(world, **{field: value}))
    assert response.status_code in (404, 422), response.status_code
    errors = errors_of(response)
    assert field in errors and errors[field] in ("Must be a whole number", "No such journey", "No such location",
                                                 "No such visit for you at this location and journey")
    assert nothing_stored()


@pytest.mark.parametrize("field", ["journey_id", "location_id"])
def test_a_negative_id_is_an_unknown_object(client, world, field):
    response = post(client, world, body(world, **{field: -1}))
    assert response.status_code == 404


@pytest.mark.parametrize("when, message", [
    ("1900-01-01T00:00:00Z", "Must not be before 2000-01-01"),
    ("1999-12-31T23:59:59Z", "Must not be before 2000-01-01"),
    ("0001-01-01T00:00:00+14:00", "Must not be before 2000-01-01"),
    ("2100-01-01T00:00:00Z", "Must not be in the future"),
    ("9999-12-31T23:59:59-14:00", "Must not be in the future"),
    ("2025-13-01T00:00:00Z", "Must be a date and time in ISO 8601, e.g. 2024-05-01T14:30:00Z"),
    ("NaN", "Must be a date and time in ISO 8601, e.g. 2024-05-01T14:30:00Z"),
])
@pytest.mark.parametrize("field", ["started_at", "finished_at"])
def test_dates_far_in_the_past_or_future_are_refused(client, world, field, when, message):
    response = post(client, world, body(world, **{field: when}))
    assert response.status_code == 422
    assert errors_of(response)[field] == message
    assert nothing_stored()


def test_a_number_instead_of_a_date_is_refused(client, world):
    response = post(client, world, body(world, started_at=1e308))
    assert response.status_code == 422 and "started_at" in errors_of(response)


@pytest.mark.parametrize("query", ["from=1900-01-01&to=2100-12-31", "from=0001-01-01&to=9999-12-31", "to=9999-12-31",
                                   "from=0001-01-01"])
def test_extreme_report_dates_are_just_wide_filters(client, world, make, query):
    make.evaluation(world.org, world.journey, world.location, world.shopper)
    response = client.get(f"/api/v1/evaluations?{query}", headers={"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 200
    assert len(response.json["items"]) == 1


@pytest.mark.parametrize("query", ["limit=-1", "limit=0", "limit=1e3", "limit=NaN", "limit=99999999999999999999",
                                   "journey_id=99999999999999999999", "location_id=-1", "from=10000-01-01"])
def test_bad_list_parameters_are_422(client, world, query):
    response = client.get(f"/api/v1/evaluations?{query}", headers={"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 422


@pytest.mark.parametrize("grain", ["month", "week"])
def test_wide_report_dates_on_the_dashboard_and_exports(client, auth, world, make, grain):
    make.evaluation(world.org, world.journey, world.location, world.shopper)
    auth.login("boss@example.com")
    query = {"journey_id": world.journey.id, "from": "1900-01-01", "to": "2100-12-31", "grain": grain}
    assert client.get("/exports/scorecard.xlsx", query_string=query).status_code == 200
    assert client.get("/exports/responses.csv", query_string=query).status_code == 200
    assert client.get(f"/results/journeys/{world.journey.id}", query_string=query).status_code == 200


def test_calendar_edge_report_dates_on_the_dashboard_and_exports(client, auth, world, make):
    make.evaluation(world.org, world.journey, world.location, world.shopper)
    auth.login("boss@example.com")
    query = {"journey_id": world.journey.id, "from": "0001-01-01", "to": "9999-12-31"}
    responses = [client.get("/exports/scorecard.xlsx", query_string=query),
                 client.get(f"/results/journeys/{world.journey.id}", query_string=query)]
    assert [r.status_code for r in responses] == [200, 200]


# --- ids and page numbers in URLs ---------------------------------------------------------------------------------------


HUGE = "9" * 25


@pytest.mark.parametrize("url", [
    f"/locations/{HUGE}/edit", f"/journeys/{HUGE}", f"/journeys/1/moments/{HUGE}", f"/visits/review/{HUGE}",
    f"/evaluations/{HUGE}", f"/visits/coaching/{HUGE}", f"/results/journeys/{HUGE}", f"/results/actions/{HUGE}",
    f"/api/v1/evaluations/{HUGE}", f"/evaluations/new?location={HUGE}&journey={HUGE}",
])
def test_huge_ids_in_urls_are_404_not_500(client, auth, world, url):
    auth.login("boss@example.com")
    response = client.get(url)
    assert response.status_code == 404, (url, response.status_code)


@pytest.mark.parametrize("email, url", [
    ("boss@example.com", "/visits/?page=" + HUGE), ("boss@example.com", "/visits/review?page=" + HUGE),
    ("boss@example.com", f"/visits/review?location={HUGE}&evaluator={HUGE}&journey={HUGE}"),
    ("boss@example.com", f"/visits/?location={HUGE}&shopper={HUGE}"),
    ("admin@example.com", "/admin/audit?page=" + HUGE), ("sam@example.com", "/evaluations/mine?page=" + HUGE),
    ("boss@example.com", "/results/journeys/{journey}/evaluations?page=" + HUGE),
])
def test_huge_page_numbers_and_filter_ids_are_not_500(client, auth, world, email, url):
    auth.login(email)
    response = client.get(url.format(journey=world.journey.id))
    assert response.status_code in (200, 400, 404, 422), (url, response.status_code)


# --- the builder, the workbook, settings and visits ----------------------------------------------------------------------


WEIGHT_BAD = ["-1", "nan", "NaN", "inf", "Infinity", "-inf", "1e308", "1e309"]


@pytest.mark.parametrize("weight", WEIGHT_BAD)
def test_builder_weights_that_make_no_sense_are_refused_next_to_the_field(client, auth, world, weight):
    auth.login("boss@example.com")
    j = world.journey.id
    moment = world.journey.current_version.moments[0]
    moments_before = db.session.scalar(select(func.count()).select_from(Moment))
    response = client.post(f"/journeys/{j}/moments/new", data={"name": "Extra", "channel": "phone", "weight": weight})
    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert "Enter a number of 0 or more" in page or "Enter a number from 0 to" in page
    assert f'value="{weight}"' in page  # what was typed stays
    questions_before = db.session.scalar(select(func.count()).select_from(Question))
    response = client.post(f"/journeys/{j}/moments/{moment.id}/questions/new",
                           data={"text": "Extra?", "type": "yes_no", "weight": weight})
    assert response.status_code in (200, 422)
    assert "Enter a number of 0 or more" in response.get_data(as_text=True) or \
        "Enter a number from 0 to" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Moment)) == moments_before
    assert db.session.scalar(select(func.count()).select_from(Question)) == questions_before


@pytest.mark.parametrize("seconds", ["-5", "86401", "1e308", "nan", "inf", "1.5", str(BIG)])
def test_builder_expected_seconds_that_make_no_sense_are_refused(client, auth, world, seconds):
    auth.login("boss@example.com")
    before = db.session.scalar(select(func.count()).select_from(Moment))
    response = client.post(f"/journeys/{world.journey.id}/moments/new",
                           data={"name": "Extra", "channel": "phone", "weight": "1", "expected_seconds": seconds})
    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert "Enter whole seconds from 0 to 86400." in page or "Not a valid integer value." in page
    assert db.session.scalar(select(func.count()).select_from(Moment)) == before


def _book(weight=None, seconds=None, question_weight=None) -> bytes:
    book = Workbook()
    book.remove(book.active)
    book.create_sheet("journey").append(["name", "Numbers"])
    moments = book.create_sheet("moments")
    moments.append(["key", "name", "channel", "weight", "expected_seconds"])
    moments.append(["arrival", "Arrival", "face_to_face", weight, seconds])
    questions = book.create_sheet("questions")
    questions.append(["moment", "key", "text", "type", "weight"])
    questions.append(["arrival", "greeted", "Greeted?", "yes_no", question_weight])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("cells, column", [
    (dict(weight=-1), "moments, row 2, column weight"),
    (dict(weight="nan"), "moments, row 2, column weight"),
    (dict(weight="inf"), "moments, row 2, column weight"),
    (dict(weight=1e308), "moments, row 2, column weight"),
    (dict(question_weight="-Infinity"), "questions, row 2, column weight"),
    (dict(question_weight=1e300), "questions, row 2, column weight"),
    (dict(seconds=-1), "moments, row 2, column expected_seconds"),
    (dict(seconds=1e308), "moments, row 2, column expected_seconds"),
    (dict(seconds=float(2**63)), "moments, row 2, column expected_seconds"),
    (dict(seconds="NaN"), "moments, row 2, column expected_seconds"),
])
def test_workbook_numbers_that_make_no_sense_are_listed_and_nothing_imported(runner, world, tmp_path, cells, column):
    path = tmp_path / "numbers.xlsx"
    path.write_bytes(_book(**cells))
    result = runner.invoke(args=["import-journey", "--org", world.org.slug, str(path)])
    assert result.exit_code != 0
    assert "Nothing imported" in result.output and column in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(Journey)) == 1


@pytest.mark.parametrize("low, high, field_message", [
    ("-1", "80", "The lower band must be more than 0 and less than 100."),
    ("50", "1e308", "The upper band must be more than 0 and at most 100."),
    ("nan", "80", "Type a number from 0 to 100, e.g. 50."),
    ("50", "inf", "Type a number from 0 to 100, e.g. 50."),
    ("-Infinity", "80", "Type a number from 0 to 100, e.g. 50."),
    ("90", "80", "The upper band must be above the lower band (90)."),
])
def test_band_settings_that_make_no_sense_are_refused(client, auth, world, low, high, field_message):
    auth.login("admin@example.com")
    response = client.post("/settings", data={"name": "Org", "timezone": "UTC", "band_low": low, "band_high": high})
    assert response.status_code in (200, 422)
    assert field_message in response.get_data(as_text=True)
    db.session.refresh(world.org)
    assert world.org.bands == (50.0, 80.0)


def test_assignment_window_ending_before_it_starts_is_refused(client, auth, world):
    from auditapp.visits.models import Assignment

    auth.login("boss@example.com")
    today = local_today(world.org.timezone)
    response = client.post("/visits/new", data={
        "location_id": str(world.location.id), "journey_id": str(world.journey.id), "shopper_id": str(world.shopper.id),
        "window_start": (today + timedelta(days=5)).isoformat(), "window_end": today.isoformat()})
    assert response.status_code in (200, 422)
    assert "The last day must be on or after the first day." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Assignment)) == 0


@pytest.mark.parametrize("month", ["0000-01", "2025-13", "2025-00", "-2025-01", "1e308", "NaN"])
def test_bulk_plan_months_that_do_not_exist_are_refused(client, auth, world, month):
    auth.login("boss@example.com")
    response = client.post("/visits/plan", data={"journey_id": str(world.journey.id), "month": month,
                                                 "shopper_ids": [str(world.shopper.id)]})
    assert response.status_code in (200, 422)
    assert "Enter the month as year-month, e.g. 2025-03." in response.get_data(as_text=True)
