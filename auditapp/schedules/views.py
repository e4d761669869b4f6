"""Managers: scheduled scorecards (list, add, stop), and the signed download link for files too large to attach."""
from __future__ import annotations

from pathlib import Path

from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..journeys.models import Journey
from ..locations.models import Location
from ..tenancy import current_org_id, get_scoped_or_404, load_membership, managers_only, scoped
from . import bp
from .forms import WEEKDAY_NAMES, ScheduleForm
from .models import ScheduleRun, ScorecardSchedule
from .services import ScheduleError, job_from_link, parse_recipients, save_schedule


def _form() -> ScheduleForm:
    form = ScheduleForm()
    org_id = current_org_id()
    form.journey_id.choices = [(j.id, j.name) for j in db.session.scalars(
        select(Journey).where(Journey.org_id == org_id).order_by(Journey.name))]
    form.location_id.choices = [("", _("All locations"))] + [(str(loc.id), f"{loc.code} {loc.name}") for loc in db.session.scalars(
        select(Location).where(Location.org_id == org_id).order_by(Location.code))]
    return form


@bp.route("", methods=["GET", "POST"])
@managers_only
def index():
    form = _form()
    if form.validate_on_submit():
        try:
            save_schedule(load_membership(), journey_id=form.journey_id.data, frequency=form.frequency.data,
                          weekday=form.weekday.data, day=form.day.data, hour=form.hour.data,
                          recipients=parse_recipients(form.recipients.data),
                          filters={"location_id": form.location_id.data, "source": form.source.data},
                          grain=form.grain.data, per_location=form.per_location.data)
        except ScheduleError as error:
            db.session.rollback()
            for field, message in error.errors:
                target = getattr(form, field, None) or form.journey_id
                target.errors = [*target.errors, message[:1].upper() + message[1:] + "."]
        else:
            db.session.commit()
            flash(_("Scheduled: the scorecard goes out by itself from now on."), "success")
            return redirect(url_for(".index"))
    schedules = db.session.scalars(scoped(ScorecardSchedule).order_by(ScorecardSchedule.id)).all()
    last_runs = {run.schedule_id: run for run in db.session.scalars(
        select(ScheduleRun).where(ScheduleRun.schedule_id.in_([s.id for s in schedules] or [-1]))
        .order_by(ScheduleRun.id))}
    return render_template("schedules/index.html", form=form, schedules=schedules, last_runs=last_runs,
                           describe=_describe, confirm=FlaskForm())


def _describe(schedule: ScorecardSchedule) -> str:
    """services.describe in the reader's language: "weekly, every Monday at 07:00"."""
    hour = f"{schedule.hour:02d}:00"
    if schedule.frequency == "weekly":
        return _("weekly, every %(weekday)s at %(hour)s", weekday=WEEKDAY_NAMES[schedule.weekday], hour=hour)
    return _("monthly, on day %(day)d of every month at %(hour)s", day=schedule.day, hour=hour)


@bp.post("/<int:schedule_id>/delete")
@managers_only
def delete(schedule_id: int):
    schedule = get_scoped_or_404(ScorecardSchedule, schedule_id)
    record("schedule.deleted", schedule, summary=f"Scorecard schedule {schedule.id} stopped")
    db.session.delete(schedule)
    db.session.commit()
    flash(_("Schedule stopped: no more scorecards go out for it."), "success")
    return redirect(url_for(".index"))


@bp.get("/file/<token>")
def shared_file(token: str):
    """A scheduled scorecard too large to attach: the signed link in the mail (anyone holding it, until it expires)."""
    job = job_from_link(token)
    if job is None or not job.file_path or not Path(job.file_path).is_file():
        abort(404)
    response = send_file(job.file_path, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         max_age=0)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.file_name}"'
    return response
