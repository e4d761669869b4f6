"""Mail through the task queue: each outbox row is sent by a worker soon after its commit, failures are retried
(Huey's RetryTask at the outbox's backoff), and the minutely sweep sends whatever is due (lost tasks included).

The outbox stays the record: a message is a row before anything is enqueued, claimed before it is sent, so the
request's own after-commit send, `flask send-mail` and the workers never send one twice.
"""
from __future__ import annotations

from huey.exceptions import RetryTask

from ..extensions import db
from ..queue import sweeper, task
from ..timeutil import utcnow
from .delivery import deliver_pending, mail_configured
from .models import OutboxMessage


@task("notify.send")
def send_message(message_id: int) -> str:
    if not mail_configured():
        return "mail not configured"  # it waits in the outbox; the sweep sends it once MAIL_SERVER is set
    report = deliver_pending(limit=1, ids=[message_id])
    if report.retry_later:
        message = db.session.get(OutboxMessage, message_id)
        if message is not None and message.next_attempt_at is not None:
            raise RetryTask(f"outbox message {message_id}: {message.last_error}",
                            delay=max(1, int((message.next_attempt_at - utcnow()).total_seconds()) + 1))
    return str(report)


@sweeper("mail")
def send_due_mail() -> int:
    if not mail_configured():
        return 0
    return deliver_pending(limit=500).sent
