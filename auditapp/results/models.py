from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .action_rules import STATUSES

ACTION_STATUSES = STATUSES


class Action(db.Model):
    """A corrective action on a moment (optionally one question, at one location): the idea, its owner (a member
    of the organisation), the due date, what "done" means, and where it is in the flow (action_rules)."""

    __table_args__ = (Index("ix_action_org_id_status", "org_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"), index=True)
    moment_key: Mapped[str] = mapped_column(String(64))
    question_key: Mapped[str | None] = mapped_column(String(64))  # the failed checklist item, when there is one
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id", ondelete="SET NULL"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id", ondelete="SET NULL"))  # the visit
    idea: Mapped[str] = mapped_column(Text)
    definition_of_done: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # The owner as free text from before owners were users, kept where no user matched it.
    owner_note: Mapped[str] = mapped_column(String(200), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    started_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The due date for which the action.overdue webhook went out: once per due date, even if reminders run hourly.
    overdue_announced_for: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    journey = relationship("Journey")
    location = relationship("Location")
    owner = relationship("User", foreign_keys=[owner_id])
    events: Mapped[list[ActionEvent]] = relationship(back_populates="action", cascade="all, delete-orphan",
                                                     order_by=lambda: (ActionEvent.at, ActionEvent.id))


class ActionEvent(db.Model):
    """One step in an action's history: created, done (with evidence), verified, reopened or dropped (a reason)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")  # the evidence or the reason
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photo.id", ondelete="SET NULL"))

    action: Mapped[Action] = relationship(back_populates="events")
    user = relationship("User")
    photo = relationship("Photo")
