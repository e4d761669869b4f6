"""Export jobs: a scorecard or responses file written in the background, with its progress and its file."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

EXPORT_KINDS = ("scorecard", "responses")
# queued: waits for a worker (again, after a worker died); running: a worker writes it (its claim holds until
# lease_until, renewed while it writes); done: the file is ready until expires_at; failed: `error` says why.
EXPORT_STATUSES = ("queued", "running", "done", "failed")


class ExportJob(db.Model):
    __table_args__ = (Index("ix_export_job_status_lease", "status", "lease_until"),
                      Index("ix_export_job_org_user", "org_id", "user_id", "created_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    # The user who asked: only they see the job and its file; their role's scope applies when it runs.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    # The filters made concrete (Filters.to_args(): dates, not "last 30 days") plus per_location and grain.
    filters: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")  # in plain words, for the person who asked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str] = mapped_column(String(32), default="")  # the running attempt's token
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    file_path: Mapped[str] = mapped_column(String(500), default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)

    user = relationship("User")

    @property
    def progress(self) -> float:
        if self.status == "done":
            return 1.0
        if not self.rows_total:
            return 0.0
        return max(0.0, min(1.0, self.rows_done / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")
