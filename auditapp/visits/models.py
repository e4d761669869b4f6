from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

ASSIGNMENT_STATUSES = ("scheduled", "started", "submitted", "cancelled")


class Assignment(db.Model):
    """A visit a manager asks a shopper to make: where, which journey, within which dates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date, index=True)
    instructions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)

    location = relationship("Location")
    journey = relationship("Journey")
    shopper = relationship("User", foreign_keys=[shopper_id])
