from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
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
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)

    location = relationship("Location")
    journey = relationship("Journey")
    shopper = relationship("User", foreign_keys=[shopper_id])


class NoteFingerprint(db.Model):
    """A digest of one note of 20+ characters (trimmed, case-folded): finds word-for-word copies with one index lookup."""

    __table_args__ = (Index("ix_note_fingerprint_org_digest", "org_id", "digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(200), default="")  # "Asked to pay" or "overall notes", for the flag text
