"""Queuing mail: one outbox row per message, added in the caller's transaction (flush, never commit)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.models import User
from ..extensions import db
from .kinds import KINDS, SYSTEM_KINDS
from .models import NotificationOptOut, OutboxMessage

MAX_SUBJECT = 300
_SPACES = re.compile(r"\s+")
_muted: ContextVar[bool] = ContextVar("notify_muted", default=False)


@contextmanager
def muted() -> Iterator[None]:
    """Queue nothing inside this block: made-up data (the demo's months of visits) must not mail anyone."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def is_muted() -> bool:
    """Inside muted(): notices need not even be written (the demo builds hundreds of them otherwise)."""
    return _muted.get()


def queue(kind: str, user: User, subject: str, body: str, *, key: str, org_id: int,
          html: str | None = None) -> OutboxMessage | None:
    """Queue one notification for `user` about something in organisation `org_id`; flushes, never commits.

    Returns None, queuing nothing, when: the user turned this kind off, the account is inactive, the user is not a
    member of `org_id` (mail about one organisation never goes to another's users), or a message with this `key`
    was queued before (a notice is never queued twice).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind '{kind}' (one of {', '.join(KINDS)})")
    if _muted.get() or not user.active or user.membership_in(org_id) is None or turned_off(user.id, kind):
        return None
    return _add(OutboxMessage(org_id=org_id, user_id=user.id, to_address=user.email, kind=kind,
                              subject=clean_subject(subject), body_text=body, body_html=html, dedupe_key=key))


def queue_to_address(kind: str, address: str, subject: str, body: str, *, key: str, org_id: int,
                     secret_body: bool = False, attachment: tuple[str, str] | None = None) -> OutboxMessage | None:
    """Queue account mail (an invite) to an address that may have no account yet; it cannot be turned off.

    `secret_body`: the body holds a single-use link, blanked once the message is sent. `attachment`: (path, file
    name) of a file to attach when the mail is sent."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"'{kind}' is not account mail (one of {', '.join(SYSTEM_KINDS)}): use queue()")
    if _muted.get():
        return None
    path, name = attachment or (None, None)
    return _add(OutboxMessage(org_id=org_id, user_id=None, to_address=address.strip(), kind=kind,
                              subject=clean_subject(subject), body_text=body, dedupe_key=key, secret_body=secret_body,
                              attachment_path=path, attachment_name=name))


def turned_off(user_id: int, kind: str) -> bool:
    return db.session.get(NotificationOptOut, (user_id, kind)) is not None


def clean_subject(subject: str) -> str:
    """One line (a header cannot hold a line break), at most MAX_SUBJECT characters."""
    text = _SPACES.sub(" ", subject or "").strip()
    return text if len(text) <= MAX_SUBJECT else text[: MAX_SUBJECT - 1] + "…"


def _add(message: OutboxMessage) -> OutboxMessage | None:
    if len(message.dedupe_key) > 200:
        raise ValueError("dedupe key longer than 200 characters")
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == message.dedupe_key)) is not None:
        return None
    _begin_sqlite_transaction()
    try:
        # A savepoint: when another transaction queued the same key a moment ago, only this row is undone and the
        # caller's change still goes through.
        with db.session.begin_nested():
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        return None
    if has_request_context():
        # Sent right after this request commits (notify.views.deliver_after_request).
        g.setdefault("notify_outbox_ids", []).append(message.id)
    from ..queue import after_commit
    from .tasks import send_message

    after_commit(send_message, message.id)  # and by a worker, with retries (whichever claims it first sends it)
    return message


def _begin_sqlite_transaction() -> None:
    """pysqlite starts a transaction only at the first write, so a SAVEPOINT before any write would be the outermost
    one and its RELEASE would commit by itself. Open the transaction first, so the caller's commit or rollback decides
    (the same care as evaluations.services)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")
