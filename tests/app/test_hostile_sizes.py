"""Hostile input catalogue, part 3: oversized fields and requests.

- A megabyte of text in any field of an evaluation sent to the API: 422 naming the field and its limit, nothing
  stored. A body over MAX_CONTENT_LENGTH: 413 as problem+json on the API, as a page on forms, with the limit said.
- Far more answers than the journey has questions: 422 with one clear message (not one error per answer).
- Over-long names and texts typed into the forms: refused next to the field, the typed text kept.
- Over-long names in a journey workbook: every problem listed with sheet, row and column, nothing imported
  (the database columns have limits: PostgreSQL would otherwise fail the whole request).
"""
from __future__ import annotations

import io
import json
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from auditapp.evaluations.models import Answer, Evaluation, Photo
from auditapp.extensions import db
from auditapp.journeys.models import Journey
from auditapp.locations.models import Location

MEGABYTE = "x" * (1024 * 1024)


@pytest.fixture
def world(make):
    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com")
    shopper = make.user(org, "shopper", email="sam@example.com")
    location = make.location(org)
    journey = make.journey(org)
    return type("World", (), dict(org=org, manager=manager, shopper=shopper, location=location, journey=journey,
                                  token=make.token(shopper)))


def payload(world, **changes) -> dict:
    body = {
        "client_uuid": "size-test-0001", "journey_id": world.journey.id, "location_id": world.location.id,
        "source": "shopper", "started_at": "2025-01-01T10:00:00Z",
        "answers": [{"moment": m, "question": "verdict", "value": "neutral"} for m in ("greeting", "order", "farewell")]
        + [{"moment": "greeting", "question": "greeted", "value": "yes"}],
    }
    body.update(changes)
    return body


def post(client, world, body, **headers):
    return client.post("/api/v1/evaluations", data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {world.token}", **headers})


def stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Evaluation)) + db.session.scalar(
        select(func.count()).select_from(Answer))


def test_the_baseline_payload_is_accepted(client, world):
    response = post(client, world, payload(world))
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("where, field", [
    ("notes", "notes"),
    ("answer note", "answers.greeting.greeted"),
    ("text answer", "answers.farewell.comment"),
    ("moment note", "moment_notes.greeting"),
])
def test_a_megabyte_of_text_in_any_field_is_422_and_nothing_stored(client, world, where, field):
    body = payload(world)
    if where == "notes":
        body["notes"] = MEGABYTE
    elif where == "answer note":
        body["answers"][-1]["note"] = MEGABYTE
    elif where == "text answer":
        body["answers"].append({"moment": "farewell", "question": "comment", "value": MEGABYTE})
    else:
        body["moment_notes"] = {"greeting": MEGABYTE}
    response = post(client, world, body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = {e["field"]: e["message"] for e in response.json["errors"]}
    assert list(errors) == [field]
    assert "too long" in errors[field].lower() and "at most" in errors[field]
    assert len(response.data) < 10_000  # the text is not echoed back
    assert stored() == 0


def test_a_body_over_the_limit_is_413_problem_json_and_nothing_stored(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    body = payload(world, notes="y" * (1024 * 1024 + 10))
    response = post(client, world, body)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 413
    assert "too large" in response.json["detail"] and "1 MB" in response.json["detail"]
    assert stored() == 0


def test_a_limit_under_a_megabyte_is_stated_exactly(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = post(client, world, payload(world, notes="y" * 70_000))
    assert response.status_code == 413
    assert "64 KB" in response.json["detail"], response.json["detail"]


def test_a_photo_over_the_request_limit_is_413_problem_json(app, client, world):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    # The body is built here: the test client would spool a big multipart body to a temporary file it never closes.
    boundary, body = encode_multipart({"photo": FileStorage(io.BytesIO(b"\xff\xd8" + b"0" * 2 * 1024 * 1024),
                                                            filename="big.jpg", content_type="image/jpeg")})
    response = client.post("/api/v1/photos", data=body, headers={"Authorization": f"Bearer {world.token}"},
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_a_form_post_over_the_limit_gets_a_413_page(app, client, auth, world):
    auth.login("sam@example.com")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/evaluations/new", query_string={"location": world.location.id, "journey": world.journey.id},
                           data={"client_uuid": "size-test-0002", "notes": "z" * (1024 * 1024 + 10)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "too large" in page and "1 MB" in page
    assert stored() == 0


def test_far_more_answers_than_questions_is_one_clear_422(client, world):
    body = payload(world)
    body["answers"] = body["answers"] * 20_000
    response = post(client, world, body)
    assert response.status_code == 422
    errors = response.json["errors"]
    assert len(errors) <= 5, f"{len(errors)} errors for one problem"
    assert any(e["field"] == "answers" and "too many" in e["message"].lower() for e in errors)
    assert stored() == 0


def test_each_question_answered_once_is_not_too_many(client, world):
    body = payload(world)
    questions = [(m.key, q.key) for m in world.journey.current_version.moments for q in m.questions]
    values = {"yes_no": "yes", "mnm": "neutral", "rating": 3, "number": 4, "choice": "Quick", "text": "ok", "photo": "na"}
    kinds = {(m.key, q.key): q.type for m in world.journey.current_version.moments for q in m.questions}
    body["answers"] = [{"moment": m, "question": q, "value": values[kinds[m, q]]} for m, q in questions]
    response = post(client, world, body)
    assert response.status_code == 201, response.json


# --- forms: over-long text is refused next to its field, and what was typed comes back ---------------------------------


LONG = "L" * 5000


def _page_has_error_and_value(response, message: str, typed: str):
    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert message in page, message
    assert typed in page  # the typed text is not lost


def test_long_texts_in_builder_forms_are_refused_next_to_the_field(client, auth, world):
    auth.login("boss@example.com")
    j = world.journey.id
    moment = world.journey.current_version.moments[0]
    response = client.post("/journeys/new", data={"name": LONG[:201], "description": ""})
    _page_has_error_and_value(response, "200 characters", LONG[:201])
    response = client.post(f"/journeys/{j}/moments/new", data={"name": LONG[:201], "channel": "phone", "weight": "1"})
    _page_has_error_and_value(response, "200 characters", LONG[:201])
    response = client.post(f"/journeys/{j}/moments/{moment.id}/questions/new",
                           data={"text": LONG[:1001], "type": "yes_no", "weight": "1"})
    _page_has_error_and_value(response, "1000 characters", LONG[:1001])
    assert db.session.scalar(select(func.count()).select_from(Journey)) == 1


def test_long_location_fields_are_refused_next_to_the_field(client, auth, world):
    auth.login("boss@example.com")
    response = client.post("/locations/new", data={"code": "C" * 65, "name": LONG, "region": "R" * 201})
    _page_has_error_and_value(response, "At most 64 characters", "C" * 65)
    page = response.get_data(as_text=True)
    assert "At most 200 characters" in page and LONG in page
    assert db.session.scalar(select(func.count()).select_from(Location)) == 1


def test_long_settings_review_comment_and_token_label_are_refused(client, auth, make, world):
    admin = make.user(world.org, "admin", email="admin@example.com")
    auth.login(admin.email)
    response = client.post("/settings", data={"name": LONG[:201], "timezone": "UTC", "band_low": "50", "band_high": "80"})
    _page_has_error_and_value(response, "200 characters", LONG[:201])
    response = client.post("/tokens", data={"name": LONG[:101]})
    assert response.status_code in (200, 422)
    assert "100 characters" in response.get_data(as_text=True)
    evaluation = make.evaluation(world.org, world.journey, world.location, world.shopper)
    response = client.post(f"/visits/review/{evaluation.id}/reject", data={"reject-comment": LONG[:2001]})
    _page_has_error_and_value(response, "2000 characters", LONG[:2001])
    db.session.refresh(evaluation)
    assert evaluation.status == "submitted"


def test_an_over_long_new_password_gets_the_right_message(client, auth, world):
    auth.login("sam@example.com")
    response = client.post("/account", data={"current": "correct horse battery", "new": "p" * 201, "confirm": "p" * 201})
    assert response.status_code in (200, 422)
    page = response.get_data(as_text=True)
    assert "Use at most 200 characters." in page
    assert "Use at least" not in page  # not the message for a password that is too short


# --- journey workbooks with over-long names ------------------------------------------------------------------------------


def _book(name="Visit", moment_key="arrival", moment_name="Arrival", question_key="greeted", text="Greeted?",
          target=None, qtype="yes_no") -> bytes:
    book = Workbook()
    book.remove(book.active)
    book.create_sheet("journey").append(["name", name])
    moments = book.create_sheet("moments")
    moments.append(["key", "name", "channel"])
    moments.append([moment_key, moment_name, "face_to_face"])
    questions = book.create_sheet("questions")
    questions.append(["moment", "key", "text", "type", "target"])
    questions.append([moment_key, question_key, text, qtype, target])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("changes, where", [
    (dict(name="N" * 201), "Sheet journey, row 1, column B: name is too long (201 characters; at most 200)"),
    (dict(moment_name="M" * 201), "Sheet moments, row 2, column name: name is too long (201 characters; at most 200)"),
    (dict(moment_key="k" * 65), "Sheet moments, row 2, column key: key is too long (65 characters; at most 64)"),
    (dict(question_key="q" * 65), "Sheet questions, row 2, column key: key is too long (65 characters; at most 64)"),
    (dict(qtype="number", target="<=" + "9" * 40),
     "Sheet questions, row 2, column target: target is too long (42 characters; at most 32)"),
])
def test_workbook_with_over_long_names_lists_the_problem_and_imports_nothing(client, auth, world, changes, where):
    auth.login("boss@example.com")
    response = client.post("/journeys/import", data={"workbook": (io.BytesIO(_book(**changes)), "long.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code in (200, 422)
    text = " ".join(re.sub(r"<[^>]+>", "", response.get_data(as_text=True)).split())
    assert "Nothing was imported: 1 problem in the workbook" in text
    assert where in text
    assert db.session.scalar(select(func.count()).select_from(Journey)) == 1


def test_cli_import_of_a_workbook_with_a_long_name_fails_cleanly(runner, world, tmp_path):
    path = tmp_path / "long.xlsx"
    path.write_bytes(_book(moment_name="M" * 300))
    result = runner.invoke(args=["import-journey", "--org", world.org.slug, str(path)])
    assert result.exit_code != 0
    assert "too long" in result.output and "moments, row 2, column name" in result.output
    assert db.session.scalar(select(func.count()).select_from(Journey)) == 1
