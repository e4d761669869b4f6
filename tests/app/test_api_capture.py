"""The capture API of contract section 4: journeys, locations, submitting and listing evaluations."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from auditapp.evaluations.models import Answer, Evaluation, MomentResult
from auditapp.extensions import db
from auditapp.timeutil import utcnow

from .test_submit_service import full_payload


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="shopper@example.com")
    journey = make.journey(org)
    location = make.location(org, name="Harbour")
    return org, shopper, journey, location, make.token(shopper)


def test_journeys_list_the_current_version_with_verdicts(client, world, make):
    org, _, journey, _, token = world
    archived = make.journey(org, name="Old")
    archived.archived = True
    other = make.org()
    make.journey(other, name="Foreign")
    db.session.commit()
    response = client.get("/api/v1/journeys", headers=bearer(token))
    assert response.status_code == 200
    data = response.get_json()
    assert [j["name"] for j in data] == ["Café order"]
    (j,) = data
    assert j["id"] == journey.id
    assert [m["key"] for m in j["moments"]] == ["greeting", "order", "farewell"]
    greeting = j["moments"][0]
    assert {k: greeting[k] for k in ("position", "channel", "kind", "priority", "weight", "expected_seconds")} == {
        "position": 0, "channel": "face_to_face", "kind": "basic", "priority": True, "weight": 2.0, "expected_seconds": 30}
    assert isinstance(greeting["id"], int)
    assert greeting["questions"][-1] == {"key": "verdict", "text": greeting["questions"][-1]["text"], "type": "mnm",
                                         "required": True, "weight": 1.0, "critical": False, "options": None,
                                         "choices": None, "target": None, "help": ""}
    order = {q["key"]: q for q in j["moments"][1]["questions"]}
    assert order["speed"]["options"] == "Quick=1|Slow=0|Did not notice"
    assert order["speed"]["choices"] == [{"label": "Quick", "score": 1.0}, {"label": "Slow", "score": 0.0},
                                         {"label": "Did not notice", "score": None}]
    assert order["wait"]["target"] == "<=120"
    assert order["clean"]["critical"] is True


def test_locations_list_active_ones_of_the_org(client, world, make):
    org, _, _, location, token = world
    gone = make.location(org, name="Closed")
    gone.archived = True
    make.location(make.org(), name="Foreign")
    db.session.commit()
    data = client.get("/api/v1/locations", headers=bearer(token)).get_json()
    assert data == [{"id": location.id, "code": location.code, "name": "Harbour", "region": "North"}]


def test_valid_submission_then_replay_then_changed_replay(client, world):
    _, _, journey, location, token = world
    payload = full_payload(journey, location)
    response = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["client_uuid"] == payload["client_uuid"]
    assert body["score"] == pytest.approx(65.625)
    assert [(m["key"], m["score"], m["critical_fail"]) for m in body["moments"]] == [
        ("greeting", 87.5, False), ("order", 62.5, False), ("farewell", 25.0, False)]
    assert response.headers["Location"].endswith(f"/api/v1/evaluations/{body['id']}")

    again = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
    assert again.status_code == 200 and again.get_json()["id"] == body["id"]
    assert count(Evaluation) == 1

    changed = dict(payload, notes="something else")
    conflict = client.post("/api/v1/evaluations", json=changed, headers=bearer(token))
    assert conflict.status_code == 409
    assert conflict.mimetype == "application/problem+json"
    assert db.session.get(Evaluation, body["id"]).notes == "Busy lunchtime"

    shown = client.get(response.headers["Location"], headers=bearer(token)).get_json()
    assert shown["id"] == body["id"] and len(shown["answers"]) == 10


def _drop_greeted(p):
    p["answers"] = [a for a in p["answers"] if a["question"] != "greeted"]


@pytest.mark.parametrize(("change", "field"), [
    (_drop_greeted, "answers.greeting.greeted"),
    (lambda p: p["answers"].append({"moment": "lobby", "question": "x", "value": 1}), "answers.lobby.x"),
    (lambda p: p["answers"].append({"moment": "order", "question": "x", "value": 1}), "answers.order.x"),
    (lambda p: p["answers"][0].update(value=5), "answers.greeting.greeted"),
    (lambda p: p["answers"][1].update(value=6), "answers.greeting.smile"),
    (lambda p: p["answers"][3].update(value="NaN"), "answers.order.wait"),
    (lambda p: p["answers"][4].update(value="Instant"), "answers.order.speed"),
    (lambda p: p["answers"][2].update(value="na"), "answers.greeting.verdict"),
    (lambda p: p.update(started_at="31/12/2024 10:00"), "started_at"),
    (lambda p: p.update(started_at=(utcnow() + timedelta(days=3)).isoformat() + "Z"), "started_at"),
    (lambda p: p.update(client_uuid="not a uuid!"), "client_uuid"),
    (lambda p: p["answers"].append(dict(p["answers"][0])), "answers.greeting.greeted"),
])
def test_invalid_input_is_422_problem_and_nothing_stored(client, world, change, field):
    _, _, journey, location, token = world
    payload = full_payload(journey, location)
    change(payload)
    response = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 422 and body["title"] and body["detail"]
    assert field in {e["field"] for e in body["errors"]}, body["errors"]
    assert count(Evaluation) == count(Answer) == count(MomentResult) == 0


def test_a_literal_nan_number_is_422(client, world):
    _, _, journey, location, token = world
    payload = full_payload(journey, location)
    payload["answers"][3]["value"] = float("nan")
    text = json.dumps(payload)
    assert '"value": NaN' in text  # what a careless client sends; Python's json reads it back as nan
    response = client.post("/api/v1/evaluations", data=text, content_type="application/json", headers=bearer(token))
    assert response.status_code == 422
    assert "answers.order.wait" in {e["field"] for e in response.get_json()["errors"]}


def test_non_json_body_is_400(client, world):
    token = world[-1]
    response = client.post("/api/v1/evaluations", data="client_uuid=1", headers=bearer(token),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    response = client.post("/api/v1/evaluations", json=[1, 2], headers=bearer(token))
    assert response.status_code == 422
    assert count(Evaluation) == 0


def test_foreign_journey_or_location_is_404_and_nothing_stored(client, world, make):
    _, _, journey, location, token = world
    other = make.org()
    foreign_journey, foreign_location = make.journey(other, name="Secret plan"), make.location(other, name="Secret shop")
    for payload in (full_payload(journey, location, journey_id=foreign_journey.id),
                    full_payload(journey, location, location_id=foreign_location.id)):
        response = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
        assert response.status_code == 404
        assert b"Secret" not in response.data
    assert count(Evaluation) == 0


def test_missing_or_bad_token_is_401_json_never_a_redirect(client, world):
    _, _, journey, location, _ = world
    for headers in ({}, bearer("aud_wrong"), {"Authorization": "Bearer "}):
        for method, url in (("get", "/api/v1/journeys"), ("post", "/api/v1/evaluations"), ("get", "/api/v1/evaluations")):
            response = getattr(client, method)(url, headers=headers, json=full_payload(journey, location)
                                               if method == "post" else None)
            assert response.status_code == 401, (url, headers)
            assert response.mimetype == "application/problem+json"
            assert "Location" not in response.headers
    assert count(Evaluation) == 0


def test_session_cookie_writes_need_x_requested_with(client, auth, world):
    _, _, journey, location, _ = world
    auth.login("shopper@example.com")
    payload = full_payload(journey, location)
    response = client.post("/api/v1/evaluations", json=payload)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert count(Evaluation) == 0
    response = client.post("/api/v1/evaluations", json=payload, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 201
    assert client.get("/api/v1/journeys").status_code == 200


def test_expired_session_is_401_json(client, auth, world):
    _, shopper, journey, location, _ = world
    auth.login("shopper@example.com")
    shopper.session_version += 1  # what a password change elsewhere does: this session is over
    db.session.commit()
    response = client.post("/api/v1/evaluations", json=full_payload(journey, location),
                           headers={"X-Requested-With": "fetch"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "Location" not in response.headers
    assert count(Evaluation) == 0


def test_list_pages_oldest_first_following_next_until_null(client, world, make):
    org, shopper, journey, location, token = world
    start = datetime(2024, 3, 1, 9, 0)
    made = []
    for i in range(7):
        # two share a start time: the id breaks the tie, no item is skipped or repeated across pages
        when = start + timedelta(hours=i if i != 4 else 3)
        made.append(make.evaluation(org, journey, location, shopper, started_at=when.isoformat()).id)
    seen, pages = [], 0
    url = "/api/v1/evaluations?limit=3"
    while url:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += [item["id"] for item in body["items"]]
        assert all("answers" in item for item in body["items"])
        pages += 1
        url = body["next"]
        if url:
            assert url.startswith("http://localhost/api/v1/evaluations?") and "limit=3" in url
    assert pages == 3
    expected = sorted(made, key=lambda i: (db.session.get(Evaluation, i).started_at, i))
    assert seen == expected


def test_list_filters_and_default_limit(client, world, make):
    org, shopper, journey, location, token = world
    other_location = make.location(org)
    other_journey = make.journey(org, name="Other")
    manager = make.user(org, "manager")
    a = make.evaluation(org, journey, location, shopper, started_at="2024-03-01T10:00:00Z")
    b = make.evaluation(org, journey, other_location, shopper, started_at="2024-03-02T23:30:00Z")
    c = make.evaluation(org, other_journey, location, manager, source="staff", started_at="2024-03-05T10:00:00Z")
    c.status = "rejected"
    db.session.commit()
    mtoken = make.token(manager)

    def ids(query):
        response = client.get("/api/v1/evaluations" + query, headers=bearer(mtoken))
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [a.id, b.id, c.id]  # rejected evaluations are still listed, with their status
    assert ids(f"?journey_id={journey.id}") == [a.id, b.id]
    assert ids(f"?location_id={location.id}") == [a.id, c.id]
    assert ids("?source=staff") == [c.id]
    assert ids("?from=2024-03-02&to=2024-03-02") == [b.id]
    assert ids("?to=2024-03-01") == [a.id]
    assert client.get("/api/v1/evaluations", headers=bearer(mtoken)).get_json()["next"] is None


def test_from_to_use_the_organisation_time_zone(client, make):
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager")
    journey, location = make.journey(org), make.location(org)
    # 23:30 UTC on 2 March is 00:30 on 3 March in Stockholm
    late = make.evaluation(org, journey, location, manager, source="shopper", started_at="2024-03-02T23:30:00Z")
    body = client.get("/api/v1/evaluations?from=2024-03-03&to=2024-03-03", headers=bearer(make.token(manager))).get_json()
    assert [item["id"] for item in body["items"]] == [late.id]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=ten", "from=2024-13-01", "to=yesterday",
                                   "from=2024-03-05&to=2024-03-01", "source=robot", "journey_id=x", "after=garbage"])
def test_list_bad_parameters_are_422(client, world, query):
    response = client.get("/api/v1/evaluations?" + query, headers=bearer(world[-1]))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"]


def test_list_limit_1000_is_allowed_and_foreign_filters_are_404(client, world, make):
    token = world[-1]
    assert client.get("/api/v1/evaluations?limit=1000", headers=bearer(token)).status_code == 200
    other = make.org()
    assert client.get(f"/api/v1/evaluations?journey_id={make.journey(other).id}", headers=bearer(token)).status_code == 404
    assert client.get(f"/api/v1/evaluations?location_id={make.location(other).id}", headers=bearer(token)).status_code == 404


def test_shopper_sees_only_their_own_and_staff_their_location(client, world, make):
    org, shopper, journey, location, token = world
    other_location = make.location(org)
    shopper2 = make.user(org, "shopper")
    staff = make.user(org, "staff", location=location)
    mine = make.evaluation(org, journey, location, shopper)
    theirs = make.evaluation(org, journey, other_location, shopper2)
    other = make.org()
    foreign = make.evaluation(other, make.journey(other), make.location(other), make.user(other, "shopper"))

    items = client.get("/api/v1/evaluations", headers=bearer(token)).get_json()["items"]
    assert [i["id"] for i in items] == [mine.id]
    assert client.get(f"/api/v1/evaluations/{theirs.id}", headers=bearer(token)).status_code == 404
    assert client.get(f"/api/v1/evaluations/{foreign.id}", headers=bearer(token)).status_code == 404
    staff_items = client.get("/api/v1/evaluations", headers=bearer(make.token(staff))).get_json()["items"]
    assert [i["id"] for i in staff_items] == [mine.id]


def test_resubmission_through_the_api(client, world, make):
    org, shopper, journey, location, token = world
    payload = full_payload(journey, location, client_uuid=str(uuid.uuid4()))
    first = client.post("/api/v1/evaluations", json=payload, headers=bearer(token)).get_json()
    db.session.get(Evaluation, first["id"]).status = "returned"
    db.session.commit()
    payload["notes"] = "Corrected"
    response = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == first["id"] and body["resubmitted"] is True and body["status"] == "submitted"
    assert body["revision"] == 2
