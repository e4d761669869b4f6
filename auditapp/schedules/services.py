"""Scheduled scorecards: saving a schedule, and the periodic send (exactly once per schedule and period).

Each minute the sweep looks at every active schedule's latest due periods (periods.due_occurrences: the current one
and one before it, so a scheduler that was down catches up). A period is sent by whoever first inserts its
ScheduleRun row (unique on schedule and period, committed on its own): a second scheduler's insert fails and it
moves on. The file is written, then the mails are queued in the outbox and the run marked sent in ONE transaction,
so a crash before that commit leaves the run "claimed"; after CLAIM_LEASE another run takes it over and sends it.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import record
from ..auth.models import Membership, Organisation
from ..exports.models import ExportJob
from ..extensions import db
from ..notify.outbox import queue_to_address
from ..notify.urls import absolute_url
from ..queue import sweeper
from ..results.queries import FilterError, filters_from_args, load_journey
from ..timeutil import utcnow
from .models import ScheduleRun, ScorecardSchedule
from .periods import FREQUENCIES, Occurrence, due_occurrences

CLAIM_LEASE = timedelta(minutes=30)
MAX_RECIPIENTS = 50
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LINK_SALT = "export-link"


class ScheduleError(ValueError):
    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f} {m}" for f, m in errors))
        self.errors = errors


def parse_recipients(text: str) -> list[str]:
    return list(dict.fromkeys(a.strip().lower() for a in re.split(r"[\s,;]+", text or "") if a.strip()))


def save_schedule(membership: Membership, *, journey_id: int, frequency: str, weekday: int, day: int, hour: int,
                  recipients: list[str], filters: dict, grain: str, per_location: bool) -> ScorecardSchedule:
    """Check everything (ScheduleError lists each problem) and add the schedule; flushes."""
    org = membership.organisation
    errors = []
    if frequency not in FREQUENCIES:
        errors.append(("frequency", "must be weekly or monthly"))
    if not 0 <= weekday <= 6:
        errors.append(("weekday", "must be a day of the week"))
    if not 1 <= day <= 28:
        errors.append(("day", "must be a day from 1 to 28 (every month has it)"))
    if not 0 <= hour <= 23:
        errors.append(("hour", "must be an hour from 0 to 23"))
    if not recipients:
        errors.append(("recipients", "enter at least one e-mail address"))
    bad = [a for a in recipients if not EMAIL.match(a)]
    if bad:
        errors.append(("recipients", f"enter e-mail addresses only ({bad[0]} is not one)"))
    if len(recipients) > MAX_RECIPIENTS:
        errors.append(("recipients", f"at most {MAX_RECIPIENTS} addresses"))
    if grain not in ("week", "month"):
        errors.append(("grain", "must be week or month"))
    kept = {k: str(v) for k, v in filters.items() if k in ("location_id", "region", "source", "status") and v}
    try:
        filters_from_args({**kept, "journey_id": str(journey_id)}, org)
        load_journey(org, journey_id)
    except FilterError as error:
        errors.extend((item["field"], item["message"]) for item in error.errors)
    except Exception:  # noqa: BLE001 (NotFound: another organisation's journey is just "not one of yours")
        errors.append(("journey_id", "is not one of your journeys"))
    if errors:
        raise ScheduleError(errors)
    schedule = ScorecardSchedule(org_id=org.id, journey_id=journey_id, created_by_id=membership.user_id,
                                 filters=kept, grain=grain, per_location=per_location, frequency=frequency,
                                 weekday=weekday, day=day, hour=hour, recipients=recipients)
    db.session.add(schedule)
    db.session.flush()
    record("schedule.created", schedule, user=membership.user,
           summary=f"Scorecard schedule {schedule.id}: {describe(schedule)} to {', '.join(recipients)}")
    return schedule


def describe(schedule: ScorecardSchedule) -> str:
    when = (f"every {WEEKDAYS[schedule.weekday]}" if schedule.frequency == "weekly"
            else f"on day {schedule.day} of every month")
    return f"{when} at {schedule.hour:02d}:00"


# --- signed download links for files too large to attach ---------------------------------------------------------


def download_link(job: ExportJob) -> str:
    token = URLSafeTimedSerializer(current_app.secret_key, salt=LINK_SALT).dumps(job.id)
    return absolute_url("schedules.shared_file", token=token)


def job_from_link(token: str) -> ExportJob | None:
    max_age = int(current_app.config.get("EXPORT_KEEP_DAYS") or 7) * 86400
    try:
        job_id = URLSafeTimedSerializer(current_app.secret_key, salt=LINK_SALT).loads(token, max_age=max_age)
    except BadSignature:
        return None
    job = db.session.get(ExportJob, job_id) if isinstance(job_id, int) else None
    return job if job is not None and job.status == "done" else None


# --- sending -----------------------------------------------------------------------------------------------------


def _claim(schedule_id: int, period: str) -> int | None:
    """Insert (or take over a stale) run row in a transaction of its own; its id, or None when someone has it."""
    with Session(db.engine) as session:
        try:
            run = ScheduleRun(schedule_id=schedule_id, period=period, status="claimed", claimed_at=utcnow())
            session.add(run)
            session.commit()
            return run.id
        except IntegrityError:
            session.rollback()
        now = utcnow()
        taken = session.execute(
            update(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id, ScheduleRun.period == period,
                                      ScheduleRun.status == "claimed", ScheduleRun.claimed_at < now - CLAIM_LEASE)
            .values(claimed_at=now).execution_options(synchronize_session=False)).rowcount
        session.commit()
        if taken != 1:
            return None
        return session.scalar(select(ScheduleRun.id).where(ScheduleRun.schedule_id == schedule_id,
                                                           ScheduleRun.period == period))


def send_period(schedule: ScorecardSchedule, occurrence: Occurrence, run_id: int) -> int:
    """Write the scorecard of the period, queue one mail per recipient, mark the run sent; the caller commits."""
    from ..exports.jobs import ExportRequest, write_export
    from ..exports.views import export_options

    org = db.session.get(Organisation, schedule.org_id)
    args = {**schedule.filters, "journey_id": str(schedule.journey_id), "from": occurrence.date_from.isoformat(),
            "to": occurrence.date_to.isoformat(), "grain": schedule.grain,
            "per_location": "yes" if schedule.per_location else ""}
    filters, per_location, grain = export_options(args, org)
    job = ExportJob(org_id=org.id, user_id=schedule.created_by_id, kind="scorecard", status="running",
                    filters={"args": filters.to_args(), "per_location": per_location, "grain": grain,
                             "schedule_id": schedule.id, "period": occurrence.key})
    db.session.add(job)
    db.session.flush()
    target = Path(current_app.config["EXPORT_DIR"]) / str(org.id) / f"schedule-{schedule.id}-{occurrence.key}-{run_id}.xlsx"
    name = write_export(org, ExportRequest("scorecard", filters, per_location, grain), target)
    now = utcnow()
    size = target.stat().st_size
    job.status, job.file_path, job.file_name, job.file_size, job.finished_at = "done", str(target), name, size, now
    job.expires_at = now + timedelta(days=int(current_app.config.get("EXPORT_KEEP_DAYS") or 7))
    attach = size <= int(current_app.config.get("SCHEDULE_ATTACH_MAX_BYTES") or 0)
    journey = schedule.journey.name
    label = f"week {occurrence.key.split('-W')[1]} of {occurrence.key[:4]}" if schedule.frequency == "weekly" \
        else f"{occurrence.date_from:%B %Y}"
    subject = f"{journey} scorecard, {label}"
    body = (f"The {journey} scorecard of {org.name} for {occurrence.date_from} to {occurrence.date_to} "
            f"({label}).\n\n")
    body += ("The Excel file is attached.\n" if attach else
             f"The file is too large to attach ({size // 1024 // 1024 + 1} MB). Download it (until "
             f"{job.expires_at:%Y-%m-%d}):\n{download_link(job)}\n")
    body += f"\nYou get this {describe(schedule)} because a manager of {org.name} subscribed you.\n"
    queued = 0
    for address in schedule.recipients:
        if queue_to_address("scorecard", address, subject, body, org_id=org.id,
                            key=f"scorecard:{schedule.id}:{occurrence.key}:{address}"[:200],
                            attachment=(str(target), name) if attach else None):
            queued += 1
    db.session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id)
                       .values(status="sent", sent_at=now).execution_options(synchronize_session=False))
    record("schedule.sent", schedule, summary=f"Scorecard {occurrence.key} queued to {queued} recipient(s)")
    return queued


def run_due_schedules(now=None) -> int:
    """Send every due, unsent period of every active schedule; returns how many periods this call sent."""
    now = now or utcnow()
    sent = 0
    for schedule in db.session.scalars(select(ScorecardSchedule).where(ScorecardSchedule.active)).all():
        org = db.session.get(Organisation, schedule.org_id)
        occurrences = due_occurrences(now, schedule.frequency, weekday=schedule.weekday, day=schedule.day,
                                      hour=schedule.hour, tz=org.timezone or "UTC")
        for occurrence in reversed(occurrences):  # the older missed one first
            if occurrence.send_at < schedule.created_at:
                continue  # before the schedule existed
            if db.session.scalar(select(ScheduleRun.status).where(ScheduleRun.schedule_id == schedule.id,
                                                                  ScheduleRun.period == occurrence.key)) == "sent":
                continue
            db.session.rollback()  # end the reading transaction before claiming (SQLite: one writer at a time)
            run_id = _claim(schedule.id, occurrence.key)
            if run_id is None:
                continue
            try:
                send_period(schedule, occurrence, run_id)
                db.session.commit()
                sent += 1
            except Exception as error:  # noqa: BLE001 (one schedule's problem must not stop the others)
                db.session.rollback()
                current_app.logger.exception("scheduled scorecard %s %s failed", schedule.id, occurrence.key)
                with Session(db.engine) as session:
                    session.execute(update(ScheduleRun).where(ScheduleRun.id == run_id)
                                    .values(status="failed", error=f"{type(error).__name__}: {error}"[:2000]))
                    session.commit()
    return sent


@sweeper("schedules")
def send_scheduled_scorecards() -> int:
    return run_due_schedules()
