"""Assignments: schedule visits one by one or in bulk, start them, cancel them, list them per manager and shopper.

Lifecycle: scheduled -> started (the shopper opened it) -> submitted (set by the submission service) or cancelled.
"Overdue" is derived, never stored: still scheduled or started after the last day of its window, in the
organisation's time zone. Services flush; views and CLI commands commit.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from ..audit import record
from ..auth.models import Membership, User
from ..evaluations.models import Evaluation
from ..extensions import db
from ..i18n import N_
from ..journeys.models import Journey
from ..locations.models import Location
from ..timeutil import local_day_bounds, to_local, utcnow
from .models import Assignment
from .scheduling import PlannedVisit, plan_visits

OPEN_STATUSES = ("scheduled", "started")
STATUS_LABELS = {"scheduled": N_("Scheduled"), "started": N_("Started"), "submitted": N_("Submitted"),
                 "cancelled": N_("Cancelled"), "overdue": N_("Overdue")}  # pages translate them: _(label)
MAX_INSTRUCTIONS = 2000


class VisitError(Exception):
    """A refused change, with the form field it belongs to (None: the whole form)."""

    def __init__(self, field_name: str | None, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def overdue_clause(today: date):
    """SQL condition for overdue assignments (open after the last day of the window)."""
    return and_(Assignment.status.in_(OPEN_STATUSES), Assignment.window_end < today)


def is_overdue(assignment: Assignment, today: date) -> bool:
    return assignment.status in OPEN_STATUSES and assignment.window_end < today


def display_status(assignment: Assignment, today: date) -> str:
    return "overdue" if is_overdue(assignment, today) else assignment.status


# --- who and what can be scheduled ----------------------------------------------------------------------------


def org_shoppers(org_id: int) -> list[User]:
    """Active secret shoppers of the organisation, by name."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role == "shopper", User.active.is_(True))
        .order_by(User.name, User.id)
    ))


def active_locations(org_id: int) -> list[Location]:
    return list(db.session.scalars(
        select(Location).where(Location.org_id == org_id, Location.archived.is_(False)).order_by(Location.code)
    ))


def _check_assignable(org_id: int, location: Location, journey: Journey, shopper: User) -> None:
    if location.org_id != org_id or location.archived:
        raise VisitError("location_id", "Pick one of the active locations.")
    if journey.org_id != org_id or journey.archived or journey.current_version_id is None:
        raise VisitError("journey_id", "Pick a published journey.")
    membership = shopper.membership_in(org_id)
    if membership is None or membership.role != "shopper" or not shopper.active:
        raise VisitError("shopper_id", "Pick an active secret shopper of this organisation.")


def _check_window(window_start: date | None, window_end: date | None) -> None:
    if window_start is None:
        raise VisitError("window_start", "Enter the first day of the visit window.")
    if window_end is None:
        raise VisitError("window_end", "Enter the last day of the visit window.")
    if window_end < window_start:
        raise VisitError("window_end", "The last day must be on or after the first day.")


# --- scheduling -----------------------------------------------------------------------------------------------


def create_assignment(org_id: int, *, location: Location, journey: Journey, shopper: User, window_start: date,
                      window_end: date, instructions: str = "", user: User | None = None) -> Assignment:
    """One visit for one shopper; raises VisitError."""
    _check_assignable(org_id, location, journey, shopper)
    _check_window(window_start, window_end)
    instructions = (instructions or "").strip()
    if len(instructions) > MAX_INSTRUCTIONS:
        raise VisitError("instructions", f"Keep the instructions under {MAX_INSTRUCTIONS} characters.")
    assignment = Assignment(org_id=org_id, location_id=location.id, journey_id=journey.id, shopper_id=shopper.id,
                            window_start=window_start, window_end=window_end, instructions=instructions,
                            status="scheduled", created_by_id=getattr(user, "id", None))
    db.session.add(assignment)
    db.session.flush()
    record("assignment.created", assignment, user=user,
           summary=f"Visit to {location.code} {location.name} for {journey.name} by {shopper.name}, "
                   f"{window_start.isoformat()} to {window_end.isoformat()}")
    return assignment


@dataclass
class BulkPlan:
    """A bulk plan for the manager to look at before it is created."""

    journey: Journey
    window: tuple[date, date]
    visits: list[PlannedVisit] = field(default_factory=list)
    skipped: list[Location] = field(default_factory=list)  # already have a visit for this journey in the window
    locations: dict[int, Location] = field(default_factory=dict)
    shoppers: dict[int, User] = field(default_factory=dict)  # the ones picked, in order
    previous: dict[int, int] = field(default_factory=dict)  # location id -> shopper id of its previous visit
    names: dict[int, User] = field(default_factory=dict)  # every shopper mentioned

    @property
    def rows(self) -> list[dict]:
        return [{
            "location": self.locations[v.location_id],
            "shopper": self.shoppers[v.shopper_id],
            "previous": self.names.get(self.previous.get(v.location_id)),
            "repeat": v.repeat,
        } for v in self.visits]

    @property
    def load(self) -> list[tuple[User, int]]:
        counts: dict[int, int] = {}
        for v in self.visits:
            counts[v.shopper_id] = counts.get(v.shopper_id, 0) + 1
        return [(shopper, counts.get(shopper_id, 0)) for shopper_id, shopper in self.shoppers.items()]


def previous_shoppers(org_id: int, journey_id: int, before: date) -> dict[int, int]:
    """Location id -> shopper of its latest visit for this journey that started before `before` (cancelled ones
    do not count: nobody went)."""
    rows = db.session.execute(
        select(Assignment.location_id, Assignment.shopper_id)
        .where(Assignment.org_id == org_id, Assignment.journey_id == journey_id, Assignment.status != "cancelled",
               Assignment.window_start < before)
        .order_by(Assignment.window_start, Assignment.id)
    )
    return {location_id: shopper_id for location_id, shopper_id in rows}  # later rows win


def _overlapping(org_id: int, window: tuple[date, date]):
    return and_(Assignment.org_id == org_id, Assignment.status != "cancelled",
                Assignment.window_start <= window[1], Assignment.window_end >= window[0])


def plan_bulk(org_id: int, journey: Journey, shopper_ids: list[int], window: tuple[date, date]) -> BulkPlan:
    """Every active location once in the window, spread over the shoppers (see scheduling.plan_visits)."""
    if journey.org_id != org_id or journey.archived or journey.current_version_id is None:
        raise VisitError("journey_id", "Pick a published journey.")
    _check_window(*window)
    by_id = {s.id: s for s in org_shoppers(org_id)}
    chosen = [by_id[i] for i in dict.fromkeys(shopper_ids) if i in by_id]
    if not chosen:
        raise VisitError("shopper_ids", "Pick at least one secret shopper.")
    locations = active_locations(org_id)
    if not locations:
        raise VisitError(None, "There are no active locations to visit.")
    already = set(db.session.scalars(
        select(Assignment.location_id).where(_overlapping(org_id, window), Assignment.journey_id == journey.id)
    ))
    todo = [loc for loc in locations if loc.id not in already]
    load = dict(db.session.execute(
        select(Assignment.shopper_id, func.count()).where(_overlapping(org_id, window))
        .group_by(Assignment.shopper_id)
    ).all())
    previous = previous_shoppers(org_id, journey.id, window[0])
    plan = BulkPlan(journey=journey, window=window, skipped=[loc for loc in locations if loc.id in already],
                    locations={loc.id: loc for loc in locations}, shoppers={s.id: s for s in chosen}, previous=previous)
    plan.names = dict(plan.shoppers)
    unnamed = set(previous.values()) - set(plan.names)
    if unnamed:  # previous shoppers not picked this time still get their name on the preview
        plan.names.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(unnamed)))})
    if todo:
        plan.visits = plan_visits([loc.id for loc in todo], [s.id for s in chosen], previous, window,
                                  {s.id: load.get(s.id, 0) for s in chosen})
    return plan


def create_bulk(org_id: int, plan: BulkPlan, instructions: str = "", user: User | None = None) -> list[Assignment]:
    created = [
        create_assignment(org_id, location=plan.locations[v.location_id], journey=plan.journey,
                          shopper=plan.shoppers[v.shopper_id], window_start=v.window_start, window_end=v.window_end,
                          instructions=instructions, user=user)
        for v in plan.visits
    ]
    return created


# --- lifecycle ------------------------------------------------------------------------------------------------


def start_assignment(assignment: Assignment, user: User, today: date | None = None) -> bool:
    """The shopper opens the visit: scheduled -> started (once). Returns whether anything changed."""
    if assignment.shopper_id != user.id:
        raise VisitError(None, "This visit is not yours.")
    if assignment.status == "cancelled":
        raise VisitError(None, "This visit was cancelled.")
    if assignment.status == "submitted":
        raise VisitError(None, "This visit was already sent.")
    if today is not None and today < assignment.window_start:
        raise VisitError(None, f"This visit opens on {assignment.window_start.isoformat()}: start it then.")
    if assignment.status != "scheduled":
        return False
    assignment.status = "started"
    assignment.started_at = utcnow()
    record("assignment.started", assignment, user=user, summary=f"Visit {assignment.id} started")
    db.session.flush()
    return True


def cancel_assignment(assignment: Assignment, user: User | None = None) -> None:
    if assignment.status == "submitted":
        raise VisitError(None, "This visit was already made and sent; review the evaluation instead.")
    if assignment.status == "cancelled":
        return
    assignment.status = "cancelled"
    assignment.cancelled_at = utcnow()
    record("assignment.cancelled", assignment, user=user, summary=f"Visit {assignment.id} cancelled")
    db.session.flush()


def cancel_planned_visits(org_id: int, *, location_id: int | None = None, journey_id: int | None = None,
                          user: User | None = None) -> int:
    """Cancel the visits not yet started at a location or for a journey that is being archived; returns how many.

    Without this a shopper kept a due visit whose form no longer opens (an archived location or journey is not
    offered any more). Started visits stay: the shopper may be filling the form right now.
    """
    if location_id is None and journey_id is None:
        raise ValueError("give a location or a journey")
    query = select(Assignment).where(Assignment.org_id == org_id, Assignment.status == "scheduled")
    if location_id is not None:
        query = query.where(Assignment.location_id == location_id)
    if journey_id is not None:
        query = query.where(Assignment.journey_id == journey_id)
    planned = list(db.session.scalars(query))
    for assignment in planned:
        cancel_assignment(assignment, user)
    return len(planned)


# --- lists ----------------------------------------------------------------------------------------------------


@dataclass
class AssignmentFilters:
    status: str = ""  # one of STATUS_LABELS or "" for all
    shopper_id: int | None = None
    location_id: int | None = None
    journey_id: int | None = None


def _with_relations(query):
    return query.options(joinedload(Assignment.location), joinedload(Assignment.journey),
                         joinedload(Assignment.shopper))


def _filtered(org_id: int, filters: AssignmentFilters, today: date):
    query = select(Assignment).where(Assignment.org_id == org_id)
    if filters.status == "overdue":
        query = query.where(overdue_clause(today))
    elif filters.status in STATUS_LABELS:
        query = query.where(Assignment.status == filters.status)
    if filters.shopper_id:
        query = query.where(Assignment.shopper_id == filters.shopper_id)
    if filters.location_id:
        query = query.where(Assignment.location_id == filters.location_id)
    if filters.journey_id:
        query = query.where(Assignment.journey_id == filters.journey_id)
    return query


def count_assignments(org_id: int, filters: AssignmentFilters, today: date) -> int:
    return db.session.scalar(select(func.count()).select_from(_filtered(org_id, filters, today).subquery())) or 0


def list_assignments(org_id: int, filters: AssignmentFilters, today: date, *, limit: int = 200,
                     offset: int = 0) -> list[dict]:
    """The manager's list: overdue first, then by the window's end; rows ready for the template."""
    query = _filtered(org_id, filters, today)
    overdue_first = overdue_clause(today).desc()
    open_first = Assignment.status.in_(OPEN_STATUSES).desc()
    query = _with_relations(query).order_by(overdue_first, open_first, Assignment.window_end, Assignment.id)
    assignments = list(db.session.scalars(query.limit(limit).offset(offset)).unique())
    evaluations = _evaluations_of([a.id for a in assignments])
    return [_row(a, today, evaluations.get(a.id)) for a in assignments]


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    visits: list[dict] = field(default_factory=list)


def calendar_day_of(assignment: Assignment, tz_name: str | None) -> date:
    """Where a visit sits on the calendar: the day it was made, or while not made yet, the last day of its window."""
    if assignment.started_at is not None:
        return to_local(assignment.started_at, tz_name).date()
    return assignment.window_end


def month_calendar(org_id: int, filters: AssignmentFilters, year: int, month: int, today: date,
                   tz_name: str | None) -> list[list[CalendarDay]]:
    """The month's weeks (Monday first), each day with its visits (calendar_day_of) as list rows."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    start_utc, end_utc = local_day_bounds(grid_start, grid_end, tz_name)
    query = _filtered(org_id, filters, today).where(or_(
        and_(Assignment.started_at >= start_utc, Assignment.started_at < end_utc),
        and_(Assignment.started_at.is_(None), Assignment.window_end.between(grid_start, grid_end))))
    assignments = list(db.session.scalars(_with_relations(query).order_by(Assignment.window_end, Assignment.id)).unique())
    evaluations = _evaluations_of([a.id for a in assignments])
    days = {grid_start + timedelta(days=n): CalendarDay(grid_start + timedelta(days=n),
                                                        (grid_start + timedelta(days=n)).month == month)
            for n in range((grid_end - grid_start).days + 1)}
    for assignment in assignments:
        day = days.get(calendar_day_of(assignment, tz_name))
        if day is not None:
            day.visits.append(_row(assignment, today, evaluations.get(assignment.id)))
    ordered = [days[key] for key in sorted(days)]
    return [ordered[i:i + 7] for i in range(0, len(ordered), 7)]


def count_overdue(org_id: int, today: date) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Assignment).where(Assignment.org_id == org_id, overdue_clause(today))
    ) or 0


def _evaluations_of(assignment_ids: list[int]) -> dict[int, Evaluation]:
    if not assignment_ids:
        return {}
    rows = db.session.scalars(select(Evaluation).where(Evaluation.assignment_id.in_(assignment_ids))
                              .order_by(Evaluation.id))
    return {e.assignment_id: e for e in rows}


def _row(assignment: Assignment, today: date, evaluation: Evaluation | None) -> dict:
    status = display_status(assignment, today)
    return {
        "assignment": assignment,
        "status": status,
        "status_label": STATUS_LABELS[status],
        "overdue": status == "overdue",
        "days_late": (today - assignment.window_end).days if status == "overdue" else 0,
        "evaluation": evaluation,
        "can_cancel": assignment.status in OPEN_STATUSES,
    }


@dataclass
class MyVisits:
    due: list[dict] = field(default_factory=list)
    overdue: list[dict] = field(default_factory=list)
    done: list[dict] = field(default_factory=list)
    returned: list[Evaluation] = field(default_factory=list)


def shopper_visits(org_id: int, user: User, today: date, *, done_limit: int = 20) -> MyVisits:
    """A shopper's own visits, in the three groups of their phone screen, plus evaluations returned to them."""
    mine = select(Assignment).where(Assignment.org_id == org_id, Assignment.shopper_id == user.id)
    result = MyVisits()
    open_rows = db.session.scalars(_with_relations(mine.where(Assignment.status.in_(OPEN_STATUSES)))
                                   .order_by(Assignment.window_end, Assignment.id)).unique()
    for assignment in open_rows:
        row = _row(assignment, today, None)
        row["not_yet"] = assignment.window_start > today
        (result.overdue if row["overdue"] else result.due).append(row)
    done = list(db.session.scalars(_with_relations(mine.where(Assignment.status == "submitted"))
                                   .order_by(Assignment.window_end.desc(), Assignment.id.desc()).limit(done_limit)).unique())
    evaluations = _evaluations_of([a.id for a in done])
    result.done = [_row(a, today, evaluations.get(a.id)) for a in done]
    result.returned = returned_to(org_id, user)
    return result


def returned_to(org_id: int, user: User) -> list[Evaluation]:
    """Evaluations a reviewer sent back to this user for a fix, newest first."""
    return list(db.session.scalars(
        select(Evaluation).options(joinedload(Evaluation.location), joinedload(Evaluation.journey))
        .where(Evaluation.org_id == org_id, Evaluation.evaluator_id == user.id, Evaluation.status == "returned")
        .order_by(Evaluation.reviewed_at.desc(), Evaluation.id.desc())
    ).unique())
