"""Sending the outbox over SMTP: claim a row, send it, mark it sent or note the error and retry later.

Rows are claimed one at a time with a guarded UPDATE (status pending -> sending, checked by rowcount) committed on
its own, so two processes (a request and `flask send-mail`, or two cron runs) never send the same row twice. A
sender that dies between the SMTP server's "250 OK" and marking the row sent leaves it "sending"; after
SENDING_LEASE it is tried again (at least once, then: the Message-ID stays the same, so mail servers can spot it).

Delivery uses a session of its own: it commits only its own updates, never the half-done work of the request
that called it.
"""
from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from flask import current_app, g, has_request_context
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..timeutil import utcnow
from .models import OutboxMessage

# Wait after the 1st, 2nd, ... failed attempt; after MAX_ATTEMPTS failures the message is given up ("failed").
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=3), timedelta(hours=6), timedelta(hours=12))
MAX_ATTEMPTS = len(BACKOFF) + 1
SENDING_LEASE = timedelta(minutes=15)
# 7bit: non-ASCII bodies go quoted-printable, fit for any SMTP server. Lines up to SMTP's 998: a subject with an
# accented word folded at 78 would read with a doubled space (the folder keeps the space before the fold).
MAIL_POLICY = default_policy.clone(cte_type="7bit", max_line_length=998)
SECRET_BODY_SENT = "(Removed after sending: this message held a single-use link.)"  # noqa: S105 (not a password)


class _ConnectionFailed(Exception):
    """The SMTP server could not be reached or refused the session (connect, STARTTLS, login)."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retry_later: int = 0  # failed this time, will be tried again
    given_up: int = 0  # failed for good (refused permanently, or too many attempts)
    not_configured: bool = False  # MAIL_SERVER is not set: nothing was tried, the messages wait in the outbox
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.not_configured:
            return "MAIL_SERVER is not set: nothing sent, the messages wait in the outbox."
        text = f"sent {self.sent}, retry later {self.retry_later}, given up {self.given_up}"
        return text + "".join(f"\n  {error}" for error in self.errors)


def mail_configured(config=None) -> bool:
    return bool((config or current_app.config).get("MAIL_SERVER"))


def deliver_pending(limit: int = 100, *, ids: list[int] | None = None) -> DeliveryReport:
    """Send up to `limit` due messages (only those of `ids` when given); commits its own session."""
    config = current_app.config
    if not mail_configured(config):
        return DeliveryReport(not_configured=True)
    report = DeliveryReport()
    with Session(db.engine) as session:
        query = select(OutboxMessage.id).where(_due(utcnow())).order_by(OutboxMessage.id).limit(limit)
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        candidates = list(session.scalars(query))
        session.commit()
        smtp = None
        try:
            for message_id in candidates:
                if not _claim(session, message_id):
                    continue  # another process took it
                message = session.get(OutboxMessage, message_id)
                try:
                    if smtp is None:
                        smtp = _connect(config)
                    smtp.send_message(build_email(config, message), from_addr=_sender(config),
                                      to_addrs=[message.to_address])
                except _ConnectionFailed as error:
                    _failed(session, message, error.__cause__ or error, report, about_message=False)
                    break  # the server is down: the other messages wait for the next run, untouched
                except smtplib.SMTPServerDisconnected as error:
                    _failed(session, message, error, report)
                    smtp = None  # reconnect for the next one
                except (smtplib.SMTPException, OSError, ValueError) as error:
                    _failed(session, message, error, report)
                else:
                    _sent(session, message)
                    report.sent += 1
        finally:
            if smtp is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
    return report


def deliver_request_queue() -> DeliveryReport | None:
    """Send what this request queued (call it after the commit) and forget it; None when it queued nothing."""
    ids = g.pop("notify_outbox_ids", None) if has_request_context() else None
    if not ids:
        return None
    return deliver_pending(limit=len(ids), ids=ids)


def _due(now):
    return or_(
        and_(OutboxMessage.status == "pending",
             or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)),
        and_(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at <= now),  # claim of a crashed sender
    )


def _claim(session: Session, message_id: int) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id, _due(now))
        .values(status="sending", next_attempt_at=now + SENDING_LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return claimed == 1


def _sent(session: Session, message: OutboxMessage) -> None:
    message.status = "sent"
    message.sent_at = utcnow()
    message.attempts = (message.attempts or 0) + 1
    message.last_error = ""
    message.next_attempt_at = None
    if message.secret_body:
        message.body_text = SECRET_BODY_SENT
        message.body_html = None
    session.commit()


def _failed(session: Session, message: OutboxMessage, error: BaseException, report: DeliveryReport, *,
            about_message: bool = True) -> None:
    """`about_message`: False when the server could not be reached or refused the session: never this message's fault."""
    message.attempts = (message.attempts or 0) + 1
    message.last_error = describe_error(error)[:2000]
    if (about_message and _permanent(error)) or message.attempts >= MAX_ATTEMPTS:
        message.status = "failed"
        message.next_attempt_at = None
        report.given_up += 1
    else:
        message.status = "pending"
        message.next_attempt_at = utcnow() + BACKOFF[min(message.attempts, len(BACKOFF)) - 1]
        report.retry_later += 1
    report.errors.append(f"message {message.id} to {message.to_address}: {message.last_error}")
    session.commit()


def _permanent(error: BaseException) -> bool:
    """A 5xx answer about this message (unknown recipient, rejected content) will not change by retrying. A refused
    sender is our configuration (MAIL_FROM), not the message: retried, so fixing MAIL_FROM sends it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, ValueError)  # the message itself cannot be built (a malformed address)


def describe_error(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{address} refused: {code} {_text(reply)}" for address, (code, reply) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _sender(config) -> str:
    return config.get("MAIL_FROM") or "auditapp@localhost"


def _connect(config) -> smtplib.SMTP:
    """An SMTP session: STARTTLS (with certificate checks) and login when configured."""
    host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    username = config.get("MAIL_USERNAME")
    starttls = config.get("MAIL_STARTTLS")
    if starttls is None:
        starttls = bool(username)  # never send a password in the clear unless told to
    try:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise _ConnectionFailed from error
    try:
        smtp.ehlo()
        if starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if username:
            smtp.login(username, config.get("MAIL_PASSWORD") or "")
    except (OSError, smtplib.SMTPException) as error:
        smtp.close()
        raise _ConnectionFailed from error
    return smtp


def build_email(config, message: OutboxMessage) -> EmailMessage:
    email = EmailMessage(policy=MAIL_POLICY)
    sender = _sender(config)
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    email["Subject"] = message.subject
    email["From"] = sender
    email["To"] = message.to_address
    email["Date"] = format_datetime((message.created_at or utcnow()).replace(tzinfo=UTC))
    # Stable per row: a message sent again after a crash keeps its Message-ID.
    email["Message-ID"] = f"<auditapp.outbox.{message.id}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # no out-of-office replies
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    if message.attachment_path:
        from pathlib import Path

        from ..exports.jobs import MIMETYPES

        data = Path(message.attachment_path).read_bytes()  # gone: OSError, retried and then given up, said why
        maintype, _, subtype = MIMETYPES["scorecard"].partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=message.attachment_name or "scorecard.xlsx")
    return email
