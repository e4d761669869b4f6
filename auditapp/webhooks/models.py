"""Webhook subscriptions and their deliveries (the log an admin reads)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

# pending: waits for (another) attempt from next_attempt_at; sending: claimed by a worker until next_attempt_at;
# delivered: the receiver answered 2xx; failed: given up after WEBHOOK_MAX_ATTEMPTS.
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")


class Webhook(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=list)
    # Kept to sign each body (an HMAC needs the secret itself); shown once, when the webhook is made.
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    deliveries = relationship("WebhookDelivery", back_populates="webhook", cascade="all, delete-orphan",
                              passive_deletes=True)


class WebhookDelivery(db.Model):
    __table_args__ = (Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
                      Index("ix_webhook_delivery_hook_created", "webhook_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))  # the body's "id": the same for every webhook of one event
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent, every attempt
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    webhook = relationship("Webhook", back_populates="deliveries")
