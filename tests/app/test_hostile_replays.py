"""Hostile input catalogue, part 7: replayed and concurrent submissions with the same client_uuid.

Phones resend when a connection drops, users tap twice, and an attacker may replay or race requests. Whatever
arrives, one client_uuid gives exactly one evaluation: a replay with the same content answers 200 with the stored
evaluation, different content is 409 and changes nothing, and requests racing each other on a live threaded server
(separate connections, sessions and transactions, on SQLite and on PostgreSQL) store one row.
"""
from __future__ import annotations

import http.client
import json
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from auditapp.evaluations.models import Answer, Evaluation, EvaluationEvent, MomentResult
from auditapp.extensions import db

THREADS = 8


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="sam@example.com")
    other = make.user(org, "shopper", email="kim@example.com")
    location = make.location(org)
    journey = make.journey(org)
    return type("World", (), dict(org=org, shopper=shopper, other=other, location=location, journey=journey,
                                  token=make.token(shopper), other_token=make.token(other)))


def payload(world, uuid="replay-0001", **changes) -> dict:
    data = {
        "client_uuid": uuid, "journey_id": world.journey.id, "location_id": world.location.id, "source": "shopper",
        "started_at": "2025-01-01T10:00:00Z", "finished_at": "2025-01-01T10:20:00Z", "notes": "First visit",
        "answers": [{"moment": m, "question": "verdict", "value": "neutral"} for m in ("greeting", "order", "farewell")]
        + [{"moment": "greeting", "question": "greeted", "value": "yes", "note": "At the door"}],
    }
    data.update(changes)
    return data


def counts() -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Evaluation, Answer, MomentResult, EvaluationEvent))


def post(client, token, data, raw: str | None = None):
    return client.post("/api/v1/evaluations", data=raw if raw is not None else json.dumps(data),
                       content_type="application/json", headers={"Authorization": f"Bearer {token}"})


def test_the_same_submission_five_times_stores_one(client, world):
    first = post(client, world.token, payload(world))
    assert first.status_code == 201
    stored = counts()
    for _ in range(4):
        again = post(client, world.token, payload(world))
        assert again.status_code == 200
        assert again.json["id"] == first.json["id"] and again.json["score"] == first.json["score"]
    assert counts() == stored and stored[0] == 1


def test_the_same_content_with_keys_in_another_order_and_spacing_is_a_replay(client, world):
    first = post(client, world.token, payload(world))
    reordered = json.dumps(dict(reversed(list(payload(world).items()))), indent=3)
    again = post(client, world.token, None, raw=reordered)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert counts()[0] == 1


@pytest.mark.parametrize("change", [
    {"notes": "Changed notes"},
    {"location_id": None},  # filled in below: another location
    {"answers": [{"moment": m, "question": "verdict", "value": "magical"} for m in ("greeting", "order", "farewell")]
     + [{"moment": "greeting", "question": "greeted", "value": "no"}]},
    {"started_at": "2025-01-01T10:00:01Z"},
])
def test_the_same_uuid_with_different_content_is_409_and_changes_nothing(client, make, world, change):
    first = post(client, world.token, payload(world))
    before = client.get(f"/api/v1/evaluations/{first.json['id']}", headers={"Authorization": f"Bearer {world.token}"}).json
    if "location_id" in change:
        change = {"location_id": make.location(world.org).id}
    response = post(client, world.token, payload(world, **change))
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["field"] == "client_uuid"
    after = client.get(f"/api/v1/evaluations/{first.json['id']}", headers={"Authorization": f"Bearer {world.token}"}).json
    assert after == before
    assert counts()[0] == 1


def test_another_users_replay_of_my_uuid_is_409_and_reveals_nothing(client, world):
    first = post(client, world.token, payload(world))
    response = post(client, world.other_token, payload(world))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert str(first.json["id"]) not in body.replace("409", "") and "First visit" not in body
    assert counts()[0] == 1


def test_a_phone_form_posted_twice_stores_one_and_shows_it(client, auth, world):
    auth.login("sam@example.com")
    form = {"client_uuid": "form-replay-0001", "started_at": "2025-01-01T10:00:00Z",
            "location_id": str(world.location.id), "answers.greeting.greeted": "yes",
            "answers.greeting.verdict": "magical", "answers.order.verdict": "neutral",
            "answers.farewell.verdict": "neutral"}
    where = {"location": world.location.id, "journey": world.journey.id}
    first = client.post("/evaluations/new", query_string=where, data=form)
    second = client.post("/evaluations/new", query_string=where, data=form)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert counts()[0] == 1
    # The same uuid sent through the API afterwards (the offline queue catching up) is not a second one either.
    evaluation = db.session.scalar(select(Evaluation))
    assert evaluation.client_uuid == "form-replay-0001"


# --- races on a live threaded server ------------------------------------------------------------------------------------


@pytest.fixture
def server(app):
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv.server_port
    srv.shutdown()
    thread.join(timeout=10)
    srv.server_close()


def race(port: int, bodies: list[tuple[str, str]]) -> list[tuple[int, dict]]:
    """Send each (token, json text) at the same moment from its own thread and connection."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, dict] | None] = [None] * len(bodies)

    def send(index: int, token: str, text: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            barrier.wait(timeout=30)
            connection.request("POST", "/api/v1/evaluations", body=text.encode(),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            response = connection.getresponse()
            results[index] = (response.status, json.loads(response.read() or b"{}"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, token, text)) for i, (token, text) in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert all(r is not None for r in results), results
    return results  # type: ignore[return-value]


def test_concurrent_identical_submissions_store_exactly_one(server, world):
    text = json.dumps(payload(world, uuid="race-same-0001"))
    results = race(server, [(world.token, text)] * THREADS)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (THREADS - 1) + [201], results
    assert len({body["id"] for _, body in results}) == 1
    evaluations, answers, moments, events = counts()
    assert evaluations == 1 and moments == 3 and answers == 4 and events == 1


def test_concurrent_conflicting_submissions_store_exactly_one(server, world):
    bodies = [(world.token, json.dumps(payload(world, uuid="race-conflict-01", notes=f"Version {n}")))
              for n in range(THREADS)]
    results = race(server, bodies)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (THREADS - 1), results
    winner = next(body for status, body in results if status == 201)
    db.session.expire_all()
    stored = db.session.scalar(select(Evaluation))
    assert counts()[0] == 1 and stored.id == winner["id"]
    assert stored.notes in {f"Version {n}" for n in range(THREADS)}


def test_concurrent_submissions_by_two_users_with_one_uuid_store_one(server, world):
    bodies = [(world.token if n % 2 else world.other_token, json.dumps(payload(world, uuid="race-users-0001")))
              for n in range(THREADS)]
    results = race(server, bodies)
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, results
    assert counts()[0] == 1
    winner = db.session.scalar(select(Evaluation))
    # Only the winner's own later copies are replays; the other user is told it is taken.
    for (token, _), (status, _) in zip(bodies, results, strict=True):
        mine = (token == world.token) == (winner.evaluator_id == world.shopper.id)
        assert status in ((200, 201) if mine else (409,))


def test_many_distinct_uuids_at_once_are_all_kept(server, world):
    bodies = [(world.token, json.dumps(payload(world, uuid=f"race-distinct-{n:03d}"))) for n in range(THREADS)]
    results = race(server, bodies)
    assert sorted(status for status, _ in results) == [201] * THREADS
    assert counts()[0] == THREADS
