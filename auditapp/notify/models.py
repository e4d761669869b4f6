"""The outbox (one row per e-mail, queued in the transaction that caused it) and the kinds each user turned off."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# pending: waits to be sent (again, from next_attempt_at on); sending: claimed by one process right now;
# sent: the SMTP server accepted it; failed: given up (a permanent refusal, or too many attempts).
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(db.Model):
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_message_org_created", "org_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    # None for mail to an address that has no account yet (an invite).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # The same notice is never queued twice, e.g. "critical_fail:<evaluation id>:<user id>".
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Bodies holding a single-use link (invites) are blanked once sent: the database keeps no usable link.
    secret_body: Mapped[bool] = mapped_column(default=False)
    # A file sent along (a scheduled scorecard): read when the mail is built, so the row stays small.
    attachment_path: Mapped[str | None] = mapped_column(String(500))
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # pending: not before this time (backoff after a failure); sending: the claim expires then (a crashed sender).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship("User")


class NotificationOptOut(db.Model):
    """A kind of notification one user turned off (no row: they get it)."""

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
