"""A dispute of one answer (evaluation + moment key + question key) and the messages of its thread."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

DISPUTE_STATUSES = ("open", "accepted", "declined")
EVIDENCE_KINDS = ("photo", "pdf")


class Dispute(db.Model):
    """Answers are named by their keys, not by Answer ids: a resubmission replaces an evaluation's Answer rows."""

    __table_args__ = (Index("ix_dispute_org_status", "org_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)  # of the evaluation's version
    moment_key: Mapped[str] = mapped_column(String(64))
    question_key: Mapped[str] = mapped_column(String(64))
    # "<evaluation id>:<moment key>:<question key>" while open, NULL once decided: the database itself keeps one open
    # dispute per answer (NULLs never collide in a unique column, on SQLite and PostgreSQL alike).
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(Text)
    value_before: Mapped[str | None] = mapped_column(Text)  # the answer as it stood when the dispute was opened
    value_after: Mapped[str | None] = mapped_column(Text)  # the answer an accepted dispute set
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    # Evidence: a photo (re-encoded JPEG, metadata stripped) or a PDF, stored under UPLOAD_DIR; none when kind is "".
    evidence_kind: Mapped[str] = mapped_column(String(8), default="")
    evidence_path: Mapped[str] = mapped_column(String(300), default="")  # relative to UPLOAD_DIR
    evidence_name: Mapped[str] = mapped_column(String(200), default="")  # the uploaded file's name, for the download
    evidence_bytes: Mapped[int] = mapped_column(Integer, default=0)

    evaluation = relationship("Evaluation")
    question = relationship("Question")
    opened_by = relationship("User", foreign_keys=[opened_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    messages: Mapped[list[DisputeMessage]] = relationship(
        back_populates="dispute", cascade="all, delete-orphan", order_by="DisputeMessage.id")


class DisputeMessage(db.Model):
    """A comment in a dispute's thread, by either side."""

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body: Mapped[str] = mapped_column(Text)

    dispute: Mapped[Dispute] = relationship(back_populates="messages")
    user = relationship("User")
