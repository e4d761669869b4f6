"""Journeys, their versions, moments of truth and checklist questions.

A journey points at its current published version. Evaluations point at the exact version they answered, so
editing never changes what was collected; results across versions join by moment key and question key.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow
from .spec import OptionSpec


class Journey(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("journey_version.id", use_alter=True, ondelete="SET NULL")
    )
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    library_slug: Mapped[str | None] = mapped_column(String(64))  # copied from the starter library
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    current_version: Mapped[JourneyVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[JourneyVersion]] = relationship(
        foreign_keys="JourneyVersion.journey_id", back_populates="journey", order_by="JourneyVersion.number"
    )


ONE_DRAFT_WHERE = text("status = 'draft'")


class JourneyVersion(db.Model):
    __table_args__ = (
        UniqueConstraint("journey_id", "number"),
        # At most one draft per journey, even when two managers start one at the same instant (auditapp.journeys
        # .versioning turns the loser's failed insert into a clear message).
        Index("uq_journey_version_one_draft", "journey_id", unique=True, sqlite_where=ONE_DRAFT_WHERE,
              postgresql_where=ONE_DRAFT_WHERE),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft, published, retired
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # The language the texts are written in, and the others they are translated into: [{"code", "name"}, ...].
    default_language: Mapped[str] = mapped_column(String(16), default="en", server_default="en")
    default_language_name: Mapped[str] = mapped_column(String(64), default="English", server_default="English")
    languages: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")

    journey: Mapped[Journey] = relationship(foreign_keys=[journey_id], back_populates="versions")
    moments: Mapped[list[Moment]] = relationship(
        back_populates="version", order_by="Moment.position", cascade="all, delete-orphan"
    )


class Moment(db.Model):
    __table_args__ = (UniqueConstraint("version_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_version.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    expected_seconds: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {language code: {"name": ..., "description": ...}}; what is missing shows in the default language
    translations: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    version: Mapped[JourneyVersion] = relationship(back_populates="moments")
    questions: Mapped[list[Question]] = relationship(
        back_populates="moment", order_by="Question.position", cascade="all, delete-orphan"
    )


class Question(db.Model):
    __table_args__ = (UniqueConstraint("moment_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    moment_id: Mapped[int] = mapped_column(ForeignKey("moment.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    help: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list | None] = mapped_column(JSON)  # [[label, score or null], ...] for choice questions
    target: Mapped[str | None] = mapped_column(String(32))  # "<=N" or ">=N" for number questions
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {language code: {"text": ..., "help": ..., "options": [a label per option, in order]}}
    translations: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")

    moment: Mapped[Moment] = relationship(back_populates="questions")

    @property
    def option_specs(self) -> tuple[OptionSpec, ...]:
        return tuple(OptionSpec(label=label, score=score) for label, score in (self.options or []))
