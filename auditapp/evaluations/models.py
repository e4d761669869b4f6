"""Evaluations (one filled journey), their answers, per-moment results, photos, flags and history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

SOURCES = ("shopper", "staff")
STATUSES = ("submitted", "approved", "rejected", "returned")
COUNTED_STATUSES = ("submitted", "approved", "returned")  # rejected evaluations never count
# The rows of the partial index ix_moment_result_magical_notes. A query uses that index only when its WHERE
# repeats these terms with the constants written in (results.queries.magical_with_note), not as parameters.
MAGICAL_NOTE = "verdict = 'magical' AND note IS NOT NULL AND note <> ''"


class Evaluation(db.Model):
    __table_args__ = (
        UniqueConstraint("org_id", "client_uuid"),
        Index("ix_evaluation_journey_started", "journey_id", "started_at"),
        Index("ix_evaluation_journey_location_started", "journey_id", "location_id", "started_at"),
        Index("ix_evaluation_org_submitted", "org_id", "submitted_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    client_uuid: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[int] = mapped_column(ForeignKey("journey.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_version.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16))  # the language the form was shown in
    score: Mapped[float | None] = mapped_column(Float)
    remembered_score: Mapped[float | None] = mapped_column(Float)  # peak-end: first, worst, last moment
    content_hash: Mapped[str] = mapped_column(String(64))  # of the submitted payload: replay vs changed replay
    revision: Mapped[int] = mapped_column(Integer, default=1)
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)

    answers: Mapped[list[Answer]] = relationship(back_populates="evaluation", cascade="all, delete-orphan")
    moment_results: Mapped[list[MomentResult]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="MomentResult.position"
    )
    flags: Mapped[list[EvaluationFlag]] = relationship(back_populates="evaluation", cascade="all, delete-orphan")
    events: Mapped[list[EvaluationEvent]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan", order_by="EvaluationEvent.at"
    )
    journey = relationship("Journey")
    version = relationship("JourneyVersion")
    location = relationship("Location")
    evaluator = relationship("User", foreign_keys=[evaluator_id])
    assignment = relationship("Assignment", foreign_keys=[assignment_id])


class Answer(db.Model):
    __table_args__ = (Index("ix_answer_eval_question", "evaluation_id", "question_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    moment_key: Mapped[str] = mapped_column(String(64))
    question_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)  # canonical text: yes/no/na, verdict word, label, number
    number: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)  # 0..1 or none
    note: Mapped[str] = mapped_column(Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="answers")
    question = relationship("Question")


class MomentResult(db.Model):
    """One moment of one evaluation: its score, verdict, duration and note. Aggregations GROUP BY these rows."""

    __table_args__ = (
        UniqueConstraint("evaluation_id", "moment_key"),
        Index("ix_moment_result_key", "moment_key", "evaluation_id"),
        # Covers the aggregations' join from a period's evaluations (results.queries): no table read per row.
        Index("ix_moment_result_evaluation_scores", "evaluation_id", "moment_key", "score", "verdict", "critical_fail",
              "duration_seconds"),
        # The dashboard's praise quotes (results.queries._praise): the few magical moments with a note, without
        # reading every moment result's note.
        Index("ix_moment_result_magical_notes", "evaluation_id",
              sqlite_where=text(MAGICAL_NOTE), postgresql_where=text(MAGICAL_NOTE)),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"))
    moment_id: Mapped[int] = mapped_column(ForeignKey("moment.id"), index=True)
    moment_key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    critical_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str | None] = mapped_column(String(16))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="moment_results")
    moment = relationship("Moment")


class Photo(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)  # the value a photo answer carries
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation.id", ondelete="SET NULL"), index=True)
    path: Mapped[str] = mapped_column(String(300))  # relative to UPLOAD_DIR
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # of the original bytes: same photo reused
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EvaluationFlag(db.Model):
    """An integrity warning for the reviewer (short visit, reused photo, copied note...)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

    evaluation: Mapped[Evaluation] = relationship(back_populates="flags")


class EvaluationEvent(db.Model):
    """Every change after submission: who, when, what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list | None] = mapped_column(JSON)  # [{"field": ..., "old": ..., "new": ...}]

    evaluation: Mapped[Evaluation] = relationship(back_populates="events")
    user = relationship("User")


class ParkedForm(db.Model):
    """An evaluation form posted after its session ended, kept until the login (evaluations/parking.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # of the token in the browser's cookie
    endpoint: Mapped[str] = mapped_column(String(64))  # evaluations.fill or visits.fix
    path: Mapped[str] = mapped_column(Text)  # where it was posted, to say so
    args: Mapped[list] = mapped_column(JSON)  # the query string, [[name, value], ...]
    fields: Mapped[list] = mapped_column(JSON)  # the posted fields, [[name, value], ...]
    files: Mapped[list] = mapped_column(JSON)  # [{"field", "file", "filename", "mimetype"}], under UPLOAD_DIR/parked/<id>
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))  # who opened the form
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
