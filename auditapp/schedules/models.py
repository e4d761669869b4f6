from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow


class ScorecardSchedule(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The dashboard's filters but the dates (each send reports its own period): location_id, region, source, status.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    grain: Mapped[str] = mapped_column(String(8), default="week")
    per_location: Mapped[bool] = mapped_column(Boolean, default=False)
    frequency: Mapped[str] = mapped_column(String(8))  # weekly | monthly
    weekday: Mapped[int] = mapped_column(Integer, default=0)  # weekly: 0 = Monday
    day: Mapped[int] = mapped_column(Integer, default=1)  # monthly: 1-28
    hour: Mapped[int] = mapped_column(Integer, default=7)  # local hour of the organisation
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # e-mail addresses
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    journey = relationship("Journey")


class ScheduleRun(db.Model):
    """One send of one period: the unique row is the claim, so two schedulers never both send it."""

    __table_args__ = (UniqueConstraint("schedule_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("scorecard_schedule.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="claimed")  # claimed | sent | failed
    claimed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str] = mapped_column(Text, default="")
