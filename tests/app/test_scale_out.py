"""Scale-out: two gunicorn instances on one PostgreSQL database behave as one service.

Both instances share SECRET_KEY and UPLOAD_DIR through the environment, as two hosts behind a load balancer would.
The same submissions go alternately, and sometimes at the same instant, to both: each client_uuid must end up as
exactly one evaluation, and every replay must answer with that evaluation. A session cookie made by one instance
must be accepted by the other.
"""
from __future__ import annotations

import http.client
import io
import json
import re
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.evaluations.models import Answer, Evaluation
from auditapp.extensions import db
from auditapp.timeutil import utcnow
from bench._servers import start_gunicorn

from ..factories import PASSWORD

# The gunicorn instances keep the real clock, so the submissions made here must too.
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]

SUBMISSIONS = 24


@pytest.fixture(scope="module")
def instances(database_url, _schema, tmp_path_factory):
    if not database_url.startswith("postgresql"):
        pytest.skip("scale-out needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test")
    shared = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("shared-uploads")),
        "AUDITAPP_ENV": "development",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    first = start_gunicorn("wsgi:app", env=shared, workers=2, ready_path="/login")
    try:
        second = start_gunicorn("wsgi:app", env=shared, workers=2, ready_path="/login")
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def request(server, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        sent = dict(headers or {})
        if isinstance(body, (dict, list)):
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def submission(journey, location, n: int) -> dict:
    started = utcnow() - timedelta(hours=2, minutes=n)
    return {
        "client_uuid": str(uuid.uuid4()),
        "journey_id": journey.id,
        "location_id": location.id,
        "source": "shopper",
        "started_at": started.isoformat() + "Z",
        "finished_at": (started + timedelta(minutes=20)).isoformat() + "Z",
        "notes": f"Visit {n}: Très bien ☕",
        "answers": [
            {"moment": "greeting", "question": "greeted", "value": "yes" if n % 2 else "no"},
            {"moment": "greeting", "question": "smile", "value": 1 + n % 5},
            {"moment": "greeting", "question": "verdict", "value": "magical"},
            {"moment": "order", "question": "wait", "value": 30 + n},
            {"moment": "order", "question": "speed", "value": "Quick"},
            {"moment": "order", "question": "verdict", "value": "neutral"},
            {"moment": "farewell", "question": "comment", "value": "See you", "note": "said at the door"},
            {"moment": "farewell", "question": "verdict", "value": "miserable" if n % 3 else "magical"},
        ],
        "durations": {"greeting": 20 + n, "order": 90},
    }


def test_same_submissions_to_two_instances_store_each_exactly_once(instances, make):
    first, second = instances
    org = make.org()
    token = make.token(make.user(org, "shopper"))
    journey = make.journey(org)
    location = make.location(org)
    auth = {"Authorization": f"Bearer {token}"}
    bodies = [submission(journey, location, n) for n in range(SUBMISSIONS)]
    replies: dict[str, list[tuple[int, dict]]] = {b["client_uuid"]: [] for b in bodies}
    lock = threading.Lock()

    def post(server, body, barrier=None):
        if barrier is not None:
            barrier.wait(timeout=10)
        status, _, raw = request(server, "POST", "/api/v1/evaluations", body, auth)
        with lock:
            replies[body["client_uuid"]].append((status, json.loads(raw)))

    with ThreadPoolExecutor(max_workers=8) as pool:
        for n, body in enumerate(bodies):
            if n % 3 == 0:  # the same submission to both instances at the same instant
                barrier = threading.Barrier(2)
                futures = [pool.submit(post, server, body, barrier) for server in (first, second)]
                for future in futures:
                    future.result()
            else:  # one after the other, alternating which instance sees it first
                order = (first, second) if n % 2 else (second, first)
                post(order[0], body)
                post(order[1], body)
        # and every submission once more, to the other instance, concurrently with the rest
        list(pool.map(lambda nb: post((first, second)[nb[0] % 2], nb[1]), enumerate(bodies)))

    for client_uuid, got in replies.items():
        statuses = sorted(status for status, _ in got)
        assert statuses == [200, 200, 201], (client_uuid, got)
        assert len({data["id"] for _, data in got}) == 1, got
        assert all(data["client_uuid"] == client_uuid for _, data in got)
        first_reply = got[0][1]
        assert all(data == first_reply for _, data in got), "a replay answered differently"

    db.session.expire_all()
    counts = dict(db.session.execute(
        select(Evaluation.client_uuid, func.count()).where(Evaluation.org_id == org.id).group_by(Evaluation.client_uuid)
    ).all())
    assert counts == {b["client_uuid"]: 1 for b in bodies}
    stored_answers = db.session.scalar(select(func.count(Answer.id)).join(Evaluation).where(Evaluation.org_id == org.id))
    assert stored_answers == SUBMISSIONS * len(bodies[0]["answers"])

    # What one instance stored, the other serves identically.
    some = replies[bodies[1]["client_uuid"]][0][1]
    status_a, _, raw_a = request(first, "GET", f"/api/v1/evaluations/{some['id']}", headers=auth)
    status_b, _, raw_b = request(second, "GET", f"/api/v1/evaluations/{some['id']}", headers=auth)
    assert status_a == status_b == 200
    assert json.loads(raw_a) == json.loads(raw_b)
    assert json.loads(raw_a)["notes"] == bodies[1]["notes"]


def test_changed_content_is_a_conflict_on_either_instance(instances, make):
    first, second = instances
    org = make.org()
    auth = {"Authorization": f"Bearer {make.token(make.user(org, 'shopper'))}"}
    body = submission(make.journey(org), make.location(org), 7)
    assert request(first, "POST", "/api/v1/evaluations", body, auth)[0] == 201
    changed = {**body, "notes": "something else"}
    assert request(second, "POST", "/api/v1/evaluations", changed, auth)[0] == 409
    db.session.expire_all()
    stored = db.session.scalars(select(Evaluation).where(Evaluation.org_id == org.id)).all()
    assert [e.notes for e in stored] == [body["notes"]]


def _session_cookie(headers: dict) -> str:
    found = re.search(r"(?:^|,\s*)(session=[^;]+)", headers.get("set-cookie", ""))
    assert found, headers
    return found.group(1)


def _csrf_token(html: bytes) -> str:
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1).decode()


def test_a_session_from_one_instance_works_on_the_other(instances, make):
    first, second = instances
    org = make.org()
    user = make.user(org, "manager", email=f"scale-{secrets.token_hex(3)}@example.com")

    # Not logged in: the second instance sends us to the login page.
    status, headers, _ = request(second, "GET", "/account")
    assert status == 302 and "/login" in headers["location"]

    status, headers, html = request(first, "GET", "/login")
    assert status == 200
    cookie = _session_cookie(headers)
    form = urlencode({"email": user.email, "password": PASSWORD, "csrf_token": _csrf_token(html)})
    status, headers, _ = request(first, "POST", "/login", form.encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    assert status == 302 and "/login" not in headers["location"], headers
    logged_in = _session_cookie(headers)

    status, _, html = request(second, "GET", "/account", headers={"Cookie": logged_in})
    assert status == 200
    assert user.email.encode() in html
    status, _, raw = request(second, "GET", "/api/v1/locations", headers={"Cookie": logged_in})
    assert status == 200 and json.loads(raw) == []

    # A CSRF token from a form rendered by the second instance is accepted by the first: log out there.
    # (The session keeps the CSRF secret, so the browser sends the cookie the second instance updated.)
    status, headers, html = request(second, "GET", "/account", headers={"Cookie": logged_in})
    updated = _session_cookie(headers) if "set-cookie" in headers else logged_in
    status, headers, _ = request(first, "POST", "/logout", urlencode({"csrf_token": _csrf_token(html)}).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded", "Cookie": updated})
    assert status == 302, status
    status, headers, _ = request(second, "GET", "/account", headers={"Cookie": _session_cookie(headers)})
    assert status == 302 and "/login" in headers["location"]

    # A forged cookie is not accepted by either instance.
    forged = logged_in[:-4] + ("AAAA" if not logged_in.endswith("AAAA") else "BBBB")
    for server in (first, second):
        status, _, _ = request(server, "GET", "/api/v1/locations", headers={"Cookie": forged})
        assert status == 401


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_photo_uploaded_to_one_instance_is_served_and_usable_on_the_other(instances, make):
    """UPLOAD_DIR is shared (a volume in production): the file written by one host is there for the other."""
    first, second = instances
    org = make.org()
    auth = {"Authorization": f"Bearer {make.token(make.user(org, 'shopper'))}"}
    boundary = secrets.token_hex(8)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"receipt.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + _png() + f"\r\n--{boundary}--\r\n".encode()
    status, _, raw = request(first, "POST", "/api/v1/photos", body,
                             {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 201, raw
    photo_id = json.loads(raw)["id"]

    status_a, headers_a, image_a = request(first, "GET", f"/api/v1/photos/{photo_id}", headers=auth)
    status_b, headers_b, image_b = request(second, "GET", f"/api/v1/photos/{photo_id}", headers=auth)
    assert status_a == status_b == 200
    assert headers_b["content-type"] == "image/jpeg"
    assert image_b == image_a and image_b[:3] == b"\xff\xd8\xff"

    evaluation = submission(make.journey(org), make.location(org), 3)
    evaluation["answers"].append({"moment": "farewell", "question": "receipt", "value": photo_id})
    status, _, raw = request(second, "POST", "/api/v1/evaluations", evaluation, auth)
    assert status == 201, raw
