"""Webhooks: registered by admins (secret shown once), events signed and delivered to a real receiver on loopback,
retried with a growing wait, logged; URLs on private addresses refused outside development (SSRF)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from auditapp.extensions import db
from auditapp.queue import run_pending, run_sweeps
from auditapp.webhooks import emit
from auditapp.webhooks.models import Webhook, WebhookDelivery
from auditapp.webhooks.services import WebhookError, resolve
from tests.queueing import Worker, queue_config, queue_modes, use_queue, wait_for


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST; `fail` answers 500 to the next n requests."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.fail = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail:
                    outer.fail -= 1
                    self.send_response(500)
                else:
                    outer.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def scene(app, make):
    org = make.org()
    admin = make.user(org, "admin")
    manager = make.user(org, "manager")
    shopper = make.user(org, "shopper")
    location = make.location(org)
    journey = make.journey(org)
    return {"org": org, "admin": admin, "manager": manager, "shopper": shopper, "location": location, "journey": journey}


def login(client, user):
    assert client.post("/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302


def verified(secret: str, headers: dict, body: bytes) -> dict:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Auditapp-Signature"], expected)
    return json.loads(body)


def register(client, make, scene, url, events):
    token = make.token(scene["admin"])
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_evaluation_is_announced_signed_to_the_receiver(app, client, make, scene, receiver):
    created = register(client, make, scene, receiver.url,
                       ["evaluation.submitted", "evaluation.approved", "evaluation.critical_fail"])
    assert created["secret"].startswith("whsec_") and set(created) == {"id", "url", "events", "secret"}
    evaluation = make.evaluation(scene["org"], scene["journey"], scene["location"], scene["shopper"],
                                 answers={"order.clean": "no"})
    run_pending()  # the webhooks and the critical-fail mails (mail is not configured here: they wait in the outbox)
    assert len(receiver.received) == 2  # submitted, and critical_fail (the counter was not clean)
    events = [verified(created["secret"], h, b) for h, b in receiver.received]
    assert sorted(e["event"] for e in events) == ["evaluation.critical_fail", "evaluation.submitted"]
    body = next(e for e in events if e["event"] == "evaluation.submitted")
    assert set(body) == {"id", "event", "created_at", "data"} and body["created_at"].endswith("Z")
    assert body["data"]["evaluation_id"] == evaluation.id and body["data"]["critical_fail"] is True
    assert body["data"]["critical_moments"] == ["order"]
    assert events[0]["id"] != events[1]["id"]
    assert receiver.received[0][0]["Content-Type"] == "application/json"

    from auditapp.visits.review import approve

    approve(evaluation, scene["manager"])
    db.session.commit()
    run_pending()
    approved = verified(created["secret"], *receiver.received[-1])
    assert approved["event"] == "evaluation.approved" and approved["data"]["status"] == "approved"
    assert all(d.status == "delivered" and d.attempts == 1 for d in db.session.scalars(db.select(WebhookDelivery)))


def test_emit_records_in_the_callers_transaction(app, make, scene, receiver):
    webhook = Webhook(org_id=scene["org"].id, url=receiver.url, events=["dispute.opened"], secret="s")
    db.session.add(webhook)
    db.session.commit()
    assert emit(scene["org"].id, "dispute.decided", {"dispute_id": 1}) == []  # not subscribed
    deliveries = emit(scene["org"].id, "dispute.opened", {"dispute_id": 1})
    assert len(deliveries) == 1
    db.session.rollback()  # the change was undone: nothing recorded, nothing enqueued
    assert db.session.scalar(db.select(db.func.count(WebhookDelivery.id))) == 0
    assert run_pending() == 0 and receiver.received == []
    emit(scene["org"].id, "dispute.opened", {"dispute_id": 2})
    assert run_pending() == 0  # not before the commit
    db.session.commit()
    assert run_pending() == 1
    assert json.loads(receiver.received[0][1])["data"] == {"dispute_id": 2}
    with pytest.raises(ValueError):
        emit(scene["org"].id, "dispute.nonsense", {})
    other = make.org()
    assert emit(other.id, "dispute.opened", {"dispute_id": 3}) == []  # another organisation's webhooks only


def test_a_failing_receiver_is_retried_with_a_growing_wait_then_given_up(app, make, scene, receiver, frozen_clock):
    app.config.update(WEBHOOK_RETRY_SECONDS=30, WEBHOOK_MAX_ATTEMPTS=4)
    db.session.add(Webhook(org_id=scene["org"].id, url=receiver.url, events=["action.overdue"], secret="s"))
    db.session.commit()
    emit(scene["org"].id, "action.overdue", {"action_id": 9})
    db.session.commit()
    receiver.fail = 2
    run_pending()
    delivery = db.session.scalars(db.select(WebhookDelivery)).one()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error == "The receiver answered 500."
    first_wait = delivery.next_attempt_at - delivery.created_at
    assert timedelta(seconds=29) < first_wait <= timedelta(seconds=31)
    assert run_pending() == 0  # not before the wait
    frozen_clock.shift(timedelta(seconds=31))
    run_pending()
    assert delivery.attempts == 2 and delivery.status == "pending"
    frozen_clock.shift(timedelta(seconds=59))
    assert run_pending() == 0  # the second wait is twice the first
    frozen_clock.shift(timedelta(seconds=2))
    run_pending()
    assert delivery.status == "delivered" and delivery.attempts == 3 and len(receiver.received) == 1

    emit(scene["org"].id, "action.overdue", {"action_id": 10})
    db.session.commit()
    receiver.fail = 10
    for wait in (0, 31, 61, 121):
        frozen_clock.shift(timedelta(seconds=wait))
        run_pending()
    last = db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()
    assert last.status == "failed" and last.attempts == 4


def test_a_lost_retry_is_picked_up_by_the_sweep(app, make, scene, receiver, frozen_clock):
    db.session.add(Webhook(org_id=scene["org"].id, url=receiver.url, events=["action.overdue"], secret="s"))
    db.session.commit()
    emit(scene["org"].id, "action.overdue", {"action_id": 9})
    db.session.commit()
    from auditapp.queue import huey

    huey.storage.flush_queue()  # the queue lost it (Redis restarted without its data)
    frozen_clock.shift(timedelta(minutes=2))
    run_sweeps()
    run_pending()
    assert len(receiver.received) == 1


def test_admin_pages_show_the_secret_once_and_the_log_with_a_test_button(app, client, scene, receiver):
    login(client, scene["admin"])
    page = client.post("/admin/webhooks", data={"url": receiver.url, "events": ["dispute.opened", "action.overdue"]})
    html = page.get_data(as_text=True)
    webhook = db.session.scalars(db.select(Webhook)).one()
    assert page.status_code == 200 and webhook.secret in html and "shown only now" in html
    assert webhook.secret not in client.get("/admin/webhooks").get_data(as_text=True)
    assert webhook.secret not in client.get(f"/admin/webhooks/{webhook.id}").get_data(as_text=True)
    response = client.post(f"/admin/webhooks/{webhook.id}/test")
    assert response.status_code == 302
    run_pending()
    test_event = verified(webhook.secret, *receiver.received[0])
    assert test_event["event"] == "webhook.test"
    log = client.get(f"/admin/webhooks/{webhook.id}").get_data(as_text=True)
    assert "webhook.test" in log and "delivered" in log and "Send a test event" in log

    refused = client.post("/admin/webhooks", data={"url": "ftp://example.com/x", "events": ["dispute.opened"]})
    html = refused.get_data(as_text=True)
    assert "The URL must start with https://" in html and 'value="ftp://example.com/x"' in html
    assert "Choose at least one event." in client.post("/admin/webhooks", data={"url": receiver.url}).get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 1
    assert client.post(f"/admin/webhooks/{webhook.id}/delete").status_code == 302
    assert db.session.scalar(db.select(db.func.count(Webhook.id))) == 0


def test_only_admins_register_webhooks(app, client, make, scene):
    token = make.token(scene["manager"])
    response = client.post("/api/v1/webhooks", json={"url": "https://example.com/x", "events": ["dispute.opened"]},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    admin_token = make.token(scene["admin"])
    bad = client.post("/api/v1/webhooks", json={"url": "https://example.com/x", "events": ["nope"]},
                      headers={"Authorization": f"Bearer {admin_token}"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "events"


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:9/x", "must use https://"),
    ("https://127.0.0.1/x", "loopback"),
    ("https://localhost/x", "loopback"),
    ("https://10.1.2.3/x", "private"),
    ("https://192.168.0.10/x", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[::1]/x", "loopback"),
    ("https://[::ffff:10.0.0.1]/x", "private"),
    ("https://0.0.0.0/x", "private"),
    ("https://user:pw@example.com/x", "user name"),
    ("https://no-such-host.invalid/x", "cannot be found"),
])
def test_private_addresses_are_refused_in_production(app, url, reason):
    with pytest.raises(WebhookError) as refused:
        resolve(url, allow_private=False)
    assert refused.value.field == "url"
    assert reason in refused.value.message or (reason in ("loopback", "private", "link-local")
                                               and "private, loopback or link-local" in refused.value.message)


def test_public_addresses_pass_and_production_refuses_a_loopback_receiver(app, client, scene, receiver):
    assert resolve("https://93.184.215.14/hook", allow_private=False)[3] == "93.184.215.14"
    login(client, scene["admin"])
    app.config["TESTING"] = False  # production rules: the loopback receiver is refused, at registration...
    try:
        page = client.post("/admin/webhooks", data={"url": receiver.url, "events": ["dispute.opened"]})
        assert "must use https://" in page.get_data(as_text=True)
        # ... and at delivery, for one registered while it was allowed (or whose DNS changed since)
        db.session.add(Webhook(org_id=scene["org"].id, url=receiver.url, events=["dispute.opened"], secret="s"))
        db.session.commit()
        emit(scene["org"].id, "dispute.opened", {})
        db.session.commit()
        run_pending()
    finally:
        app.config["TESTING"] = True
    delivery = db.session.scalars(db.select(WebhookDelivery)).one()
    assert receiver.received == [] and delivery.last_error.startswith("Not sent: the URL must use https://")


@pytest.mark.real_clock
@pytest.mark.slow
@queue_modes()
def test_a_real_worker_delivers(app, make, scene, receiver, tmp_path, queue_mode):
    use_queue(app, queue_config(queue_mode, tmp_path))
    app.config["WEBHOOK_RETRY_SECONDS"] = 1
    db.session.add(Webhook(org_id=scene["org"].id, url=receiver.url, events=["evaluation.submitted"], secret="s"))
    db.session.commit()
    receiver.fail = 1  # the first attempt fails: Huey's retry (in the worker) delivers it a second later
    make.evaluation(scene["org"], scene["journey"], scene["location"], scene["shopper"])
    with Worker(app, log=tmp_path / "worker.log") as worker:
        wait_for(lambda: receiver.received, 30, what=f"the delivery; log:\n{worker.output()}")
    body = verified("s", *receiver.received[0])
    assert body["event"] == "evaluation.submitted"
    db.session.expire_all()
    delivery = db.session.scalars(db.select(WebhookDelivery)).one()
    assert delivery.attempts == 2 and delivery.status == "delivered"


def test_outbox_mail_goes_through_the_queue_with_retries(app, make, scene, smtp_server, frozen_clock):
    """Notification mail: the row is the record; a queue task sends it, and retries after the outbox's backoff."""
    from auditapp.notify import outbox
    from auditapp.notify.models import OutboxMessage

    app.config["MAIL_SEND_AFTER_REQUEST"] = False
    smtp_server.refuse.add(scene["manager"].email)
    smtp_server.stop()  # down: the first attempt fails
    outbox.queue("critical_fail", scene["manager"], "Critical fail", "Body", key="t:1", org_id=scene["org"].id)
    db.session.commit()
    assert run_pending() == 1
    message = db.session.scalars(db.select(OutboxMessage)).one()
    assert message.status == "pending" and message.attempts == 1 and message.last_error
    smtp_server.refuse.clear()
    smtp_server.start()
    assert run_pending() == 0  # the retry waits for the backoff
    frozen_clock.shift(timedelta(minutes=1, seconds=2))
    assert run_pending() == 1
    assert message.status == "sent" and smtp_server.to_addresses() == [scene["manager"].email]
