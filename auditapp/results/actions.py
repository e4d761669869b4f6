"""Action plans: improvement actions on a moment (idea, owner, due date, status). Services flush; views commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, select

from ..audit import record
from ..extensions import db
from .models import ACTION_STATUSES, Action

OPEN_STATUSES = ("open", "in_progress")
FIELDS = ("moment_key", "idea", "owner", "location_id", "started_on", "due_date", "status")


class ActionError(ValueError):
    """A value an action cannot take; `field` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ActionData:
    moment_key: str
    idea: str
    owner: str = ""
    location_id: int | None = None
    started_on: date | None = None
    due_date: date | None = None
    status: str = "open"


def _check(data: ActionData, today: date) -> ActionData:
    idea = (data.idea or "").strip()
    if not idea:
        raise ActionError("idea", "Describe the improvement.")
    if data.status not in ACTION_STATUSES:
        raise ActionError("status", f"Status must be one of {', '.join(ACTION_STATUSES)}.")
    started = data.started_on or today
    if data.due_date and data.due_date < started:
        raise ActionError("due_date", "The due date must be on or after the start date.")
    return ActionData(moment_key=data.moment_key, idea=idea[:2000], owner=(data.owner or "").strip()[:200],
                      location_id=data.location_id or None, started_on=started, due_date=data.due_date,
                      status=data.status)


def create_action(org_id: int, journey_id: int, data: ActionData, *, user=None, today: date) -> Action:
    data = _check(data, today)
    action = Action(org_id=org_id, journey_id=journey_id, moment_key=data.moment_key, idea=data.idea, owner=data.owner,
                    location_id=data.location_id, started_on=data.started_on, due_date=data.due_date,
                    status=data.status, created_by_id=getattr(user, "id", None))
    db.session.add(action)
    db.session.flush()
    record("action.create", action, summary=f"Action on moment {data.moment_key}: {data.idea[:200]}",
           detail={"journey_id": journey_id, "status": data.status}, user=user)
    return action


def update_action(action: Action, data: ActionData, *, user=None, today: date) -> list[str]:
    """Apply the changes; returns the names of the fields that changed (nothing is logged when none did)."""
    data = _check(data, today)
    changes = []
    for name in FIELDS:
        old, new = getattr(action, name), getattr(data, name)
        if old != new:
            changes.append({"field": name, "old": _plain(old), "new": _plain(new)})
            setattr(action, name, new)
    if changes:
        db.session.flush()
        names = ", ".join(c["field"] for c in changes)
        record("action.update", action, summary=f"Action on moment {action.moment_key}: changed {names}",
               detail={"changes": changes}, user=user)
    return [c["field"] for c in changes]


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def journey_actions(org_id: int, journey_id: int, *, open_only: bool = False) -> list[Action]:
    """A journey's actions: open ones first, then by start date, newest first."""
    stmt = select(Action).where(Action.org_id == org_id, Action.journey_id == journey_id)
    if open_only:
        stmt = stmt.where(Action.status.in_(OPEN_STATUSES))
    order = case((Action.status.in_(OPEN_STATUSES), 0), else_=1)
    return list(db.session.scalars(stmt.order_by(order, Action.started_on.desc(), Action.id.desc())))


# Demo step (auditapp/demo.py): a few actions on the demo's weak moments, so the action plan and the trend
# markers show something real. (journey slug, moment key, location code or None, idea, owner, days ago, due in
# days, status)
DEMO_ACTIONS = [
    ("dentist-visit", "payment", "001", "Hand over an itemised quote before treatment and divert the desk phone while "
     "a patient pays", "Practice manager, City Centre", 21, 30, "in_progress"),
    ("dentist-visit", "follow_up_call", None, "Call every patient the next working day before noon, from a short "
     "checklist instead of a script", "Reception team lead", 75, 14, "open"),
    ("airline-trip", "arrival_bags", None, "Show the belt number on the arrival screens as soon as the plane lands",
     "Ground operations", 120, 60, "done"),
]


def add_demo_actions(result, seed: int) -> None:
    from datetime import timedelta

    from ..timeutil import local_today

    today = local_today(result.org.timezone)
    manager = result.users.get("manager@demo.example")
    for slug, key, code, idea, owner, days_ago, due_in, status in DEMO_ACTIONS:
        journey = result.journeys.get(slug)
        if journey is None:
            continue
        location = result.locations.get(code) if code else None
        started = today - timedelta(days=days_ago)
        create_action(result.org.id, journey.id, ActionData(
            moment_key=key, idea=idea, owner=owner, location_id=getattr(location, "id", None), started_on=started,
            due_date=started + timedelta(days=due_in), status=status), user=manager, today=today)
