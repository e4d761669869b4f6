"""Registering webhooks, emitting events, signing and delivering them (a queue task with retries and backoff).

SSRF: a webhook URL is resolved and EVERY address it resolves to must be public, when it is registered and again at
each delivery (DNS can change in between); the request then goes to the address that was checked (never resolved a
second time), and redirects are not followed. Outside debug and testing (or WEBHOOK_ALLOW_PRIVATE), private, loopback,
link-local and reserved addresses are refused; in development http:// is allowed for a loopback receiver only.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from huey.exceptions import RetryTask
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..audit import record
from ..extensions import db
from ..notify.outbox import is_muted
from ..queue import after_commit, sweeper, task
from ..timeutil import utcnow
from .models import Webhook, WebhookDelivery

EVENTS = {
    "evaluation.submitted": "An evaluation was sent (or sent again after a fix).",
    "evaluation.approved": "A reviewer approved an evaluation.",
    "evaluation.critical_fail": "A sent evaluation failed a critical question.",
    "dispute.opened": "Someone disputed an answer.",
    "dispute.decided": "A dispute was accepted or declined.",
    "action.overdue": "A corrective action is past its due date.",
}
TEST_EVENT = "webhook.test"
SIGNATURE_HEADER = "X-Auditapp-Signature"
MAX_URL = 2000
SENDING_LEASE = timedelta(minutes=2)
USER_AGENT = "auditapp-webhooks/1"


class WebhookError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def sign(secret: str, body: bytes) -> str:
    """The X-Auditapp-Signature value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def private_allowed() -> bool:
    app = current_app
    return bool(app.debug or app.testing or app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def resolve(url: str, *, allow_private: bool | None = None) -> tuple[str, str, int, str]:
    """Check `url` and resolve it: (scheme, host, port, address to connect to). Raises WebhookError("url", ...)."""
    allow_private = private_allowed() if allow_private is None else allow_private
    url = (url or "").strip()
    if not url:
        raise WebhookError("url", "is required")
    if len(url) > MAX_URL:
        raise WebhookError("url", f"must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookError("url", "is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookError("url", "must start with https:// and name a host")
    if parts.username or parts.password:
        raise WebhookError("url", "must not contain a user name or password")
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookError("url", f"the host {host} cannot be found") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise WebhookError("url", f"the host {host} cannot be found")
    loopback_only = all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
    if parts.scheme == "http" and not (allow_private and loopback_only):
        raise WebhookError("url", "must use https:// (http:// only for a receiver on this machine, in development)")
    if not allow_private:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise WebhookError("url", f"resolves to a private, loopback or link-local address ({refused[0]}): "
                                      "webhooks go to public addresses only")
    return parts.scheme, host, port, addresses[0]


def create_webhook(org_id: int, url: str, events, user) -> tuple[Webhook, str]:
    """Validate and add a webhook (flushes); returns it with its secret, which is shown this once."""
    chosen = list(dict.fromkeys(events or []))
    if not chosen:
        raise WebhookError("events", "choose at least one event")
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise WebhookError("events", f"unknown event {unknown[0]!r} (one of {', '.join(EVENTS)})")
    resolve(url)
    secret = "whsec_" + secrets.token_hex(24)
    webhook = Webhook(org_id=org_id, url=url.strip(), events=chosen, secret=secret,
                      created_by_id=getattr(user, "id", None))
    db.session.add(webhook)
    db.session.flush()
    record("webhook.created", webhook, user=user, summary=f"Webhook {webhook.id} to {webhook.url} for {', '.join(chosen)}")
    return webhook, secret


def delete_webhook(webhook: Webhook, user) -> None:
    record("webhook.deleted", webhook, user=user, summary=f"Webhook {webhook.id} to {webhook.url} deleted")
    db.session.delete(webhook)
    db.session.flush()


def _body(event_id: str, event: str, data: dict) -> str:
    created = utcnow().replace(microsecond=0).isoformat() + "Z"
    return json.dumps({"id": event_id, "event": event, "created_at": created, "data": data}, separators=(",", ":"),
                      ensure_ascii=False, default=str)


def emit(org_id: int, event: str, data: dict, *, webhooks: list[Webhook] | None = None) -> list[WebhookDelivery]:
    """One delivery per active webhook of the organisation subscribed to `event`, in the caller's transaction
    (flushes, never commits); each is enqueued once that transaction commits."""
    if event not in EVENTS and event != TEST_EVENT:
        raise ValueError(f"unknown webhook event {event!r}")
    if is_muted():
        return []  # made-up data (the demo) announces nothing
    if webhooks is None:
        webhooks = [w for w in db.session.scalars(select(Webhook).where(Webhook.org_id == org_id, Webhook.active))
                    if event in (w.events or [])]
    if not webhooks:
        return []
    event_id = str(uuid.uuid4())
    body = _body(event_id, event, data)
    deliveries = [WebhookDelivery(org_id=org_id, webhook_id=w.id, event_id=event_id, event=event, body=body)
                  for w in webhooks]
    db.session.add_all(deliveries)
    db.session.flush()
    for delivery in deliveries:
        after_commit(deliver, delivery.id)
    return deliveries


def send_test_event(webhook: Webhook, user) -> WebhookDelivery:
    delivery = emit(webhook.org_id, TEST_EVENT, {"webhook_id": webhook.id, "message": "A test event from auditapp."},
                    webhooks=[webhook])[0]
    record("webhook.test", webhook, user=user, summary=f"Test event sent to webhook {webhook.id}")
    return delivery


# --- delivery ----------------------------------------------------------------------------------------------------


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the host's name for SNI and the certificate check."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST once; the status code (redirects are answers, not followed). Raises WebhookError/OSError."""
    scheme, host, port, address = resolve(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, address, port, timeout)
    try:
        connection.request("POST", path, body=body, headers={"Host": parts.netloc.rpartition("@")[2], **headers})
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    finally:
        connection.close()


def backoff_seconds(attempts: int) -> int:
    """Wait after the n-th failed attempt: WEBHOOK_RETRY_SECONDS, doubled each time (30 s, 1, 2, 4, 8 min...)."""
    base = int(current_app.config.get("WEBHOOK_RETRY_SECONDS") or 30)
    return base * 2 ** max(0, attempts - 1)


def _due(now):
    return or_((WebhookDelivery.status == "pending")
               & (WebhookDelivery.next_attempt_at.is_(None) | (WebhookDelivery.next_attempt_at <= now)),
               (WebhookDelivery.status == "sending") & (WebhookDelivery.next_attempt_at <= now))


@task("webhooks.deliver", retries=0)
def deliver(delivery_id: int) -> str:
    """One attempt; on failure Huey retries it (RetryTask) after the backoff. Claimed first: safe to run twice."""
    config = current_app.config
    now = utcnow()
    with Session(db.engine) as session:
        claimed = session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, _due(now))
            .values(status="sending", next_attempt_at=now + SENDING_LEASE)
            .execution_options(synchronize_session=False)).rowcount
        session.commit()
        if claimed != 1:
            return "not due"
        delivery = session.get(WebhookDelivery, delivery_id)
        webhook = delivery.webhook
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, SIGNATURE_HEADER: sign(webhook.secret, body),
                   "X-Auditapp-Event": delivery.event, "X-Auditapp-Delivery": str(delivery.id)}
        error, code = "", None
        try:
            code = post(webhook.url, body, headers, float(config.get("WEBHOOK_TIMEOUT") or 10))
            if not 200 <= code < 300:
                error = f"The receiver answered {code}."
        except WebhookError as refused:
            error = f"Not sent: the URL {refused.message}."
        except (OSError, http.client.HTTPException) as failed:
            error = f"Could not reach the receiver: {type(failed).__name__}: {failed}"
        delivery.attempts = (delivery.attempts or 0) + 1
        delivery.last_status_code = code
        delivery.last_error = error[:2000]
        if not error:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", utcnow(), None
            session.commit()
            return "delivered"
        if delivery.attempts >= int(config.get("WEBHOOK_MAX_ATTEMPTS") or 6):
            delivery.status, delivery.next_attempt_at = "failed", None
            session.commit()
            return "failed"
        wait = backoff_seconds(delivery.attempts)
        delivery.status, delivery.next_attempt_at = "pending", utcnow() + timedelta(seconds=wait)
        session.commit()
    raise RetryTask(f"delivery {delivery_id}: {error}", delay=wait)


@sweeper("webhooks")
def redeliver_lost() -> int:
    """Deliveries whose retry was lost (queue down, worker killed) and are overdue by a minute: enqueue again."""
    overdue = utcnow() - timedelta(minutes=1)
    ids = list(db.session.scalars(select(WebhookDelivery.id).where(_due(overdue), WebhookDelivery.created_at < overdue)
                                 .limit(500)))
    for delivery_id in ids:
        after_commit(deliver, delivery_id)
    return len(ids)


def evaluation_data(evaluation, moment_rows: list[dict] | None = None) -> dict:
    """What the evaluation events carry: ids and results, never the shopper's name or notes.

    `moment_rows`: a new evaluation's moment results as just inserted (not read back)."""
    if moment_rows is None:
        failed = sorted({r.moment_key for r in evaluation.moment_results if r.critical_fail})
    else:
        failed = sorted({r["moment_key"] for r in moment_rows if r["critical_fail"]})
    return {"evaluation_id": evaluation.id, "journey_id": evaluation.journey_id, "location_id": evaluation.location_id,
            "location_code": evaluation.location.code if evaluation.location else None, "source": evaluation.source,
            "status": evaluation.status, "score": evaluation.score, "critical_fail": bool(failed),
            "critical_moments": failed,
            "started_at": evaluation.started_at.isoformat() + "Z" if evaluation.started_at else None}


def emit_evaluation(evaluation, event: str, moment_rows: list[dict] | None = None) -> None:
    """evaluation.submitted / evaluation.approved, plus evaluation.critical_fail for a submitted one that failed."""
    data = evaluation_data(evaluation, moment_rows)
    events = [event] + (["evaluation.critical_fail"] if event == "evaluation.submitted" and data["critical_fail"] else [])
    if is_muted():
        return
    # The organisation's webhooks read once for both events.
    active = list(db.session.scalars(select(Webhook).where(Webhook.org_id == evaluation.org_id, Webhook.active)))
    for name in events:
        emit(evaluation.org_id, name, data, webhooks=[w for w in active if name in (w.events or [])])


def dispute_data(dispute) -> dict:
    """What the dispute events carry: which answer, the decision, the scores; not the thread or the people."""
    return {"dispute_id": dispute.id, "evaluation_id": dispute.evaluation_id, "moment": dispute.moment_key,
            "question": dispute.question_key, "status": dispute.status,
            "value_before": dispute.value_before, "value_after": dispute.value_after,
            "evaluation_score": dispute.evaluation.score if dispute.evaluation is not None else None,
            "location_id": dispute.evaluation.location_id if dispute.evaluation is not None else None}


def emit_dispute(dispute, event: str) -> None:
    """dispute.opened / dispute.decided."""
    emit(dispute.org_id, event, dispute_data(dispute))
