"""Corrective actions: create and edit them, move them through their flow (action_rules), and find them.

Services flush; views commit. Every change adds to the audit log; every transition also to the action's own
history (ActionEvent). The status rules themselves are plain functions in action_rules.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, or_, select
from sqlalchemy.orm import joinedload

from ..audit import record
from ..auth.models import Membership, Organisation, User
from ..extensions import db
from ..i18n import N_
from ..places import PlaceScope
from ..timeutil import to_local, utcnow
from . import action_rules as rules
from .action_rules import STATUS_LABELS, TransitionError
from .models import Action, ActionEvent

OPEN_STATUSES = ("open",)
ACTIVE_STATUSES = ("open", "done")  # not finished yet: shown on the dashboard and in the action plan
# Who may own an action: the members who can see actions (a shopper or a staff member never owns one).
OWNER_ROLES = ("admin", "manager", "regional_manager", "location_manager")
MANAGER_ROLES = ("admin", "manager")
FIELDS = ("moment_key", "question_key", "idea", "definition_of_done", "owner_id", "location_id", "started_on",
          "due_date")


class ActionError(ValueError):
    """A value an action cannot take, or a change it cannot make; `field` names the form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ActionData:
    moment_key: str
    idea: str
    definition_of_done: str = ""
    owner_id: int | None = None
    location_id: int | None = None
    question_key: str | None = None
    evaluation_id: int | None = None
    started_on: date | None = None
    due_date: date | None = None


# --- owners ----------------------------------------------------------------------------------------------------


def owner_candidates(org_id: int, location_id: int | None) -> tuple[list[User], list[User]]:
    """(those who look after the location, everyone else who may own an action): active members with an owner
    role. The location's own managers come first: they usually own what is to be done there."""
    from ..notify.recipients import site_managers

    first = site_managers(org_id, location_id) if location_id else []
    people = list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id, Membership.role.in_(OWNER_ROLES), User.active.is_(True))
        .order_by(User.name, User.id)).unique())
    ids = {u.id for u in first}
    return first, [u for u in people if u.id not in ids]


def _scope_for(user: User, org_id: int) -> PlaceScope | None:
    from ..tenancy import scope_of

    return scope_of(user.membership_in(org_id))


def _check_owner(org_id: int, owner_id: int | None, location_id: int | None) -> User:
    if not owner_id:
        raise ActionError("owner_id", "Choose who owns the action.")
    owner = db.session.get(User, owner_id)
    membership = owner.membership_in(org_id) if owner is not None else None
    if membership is None or not owner.active:
        raise ActionError("owner_id", "Choose an active member of the organisation as the owner.")
    if membership.role not in OWNER_ROLES:
        raise ActionError("owner_id", f"{owner.name} cannot own actions: choose a manager, location manager or "
                                      "regional manager.")
    scope = _scope_for(owner, org_id)
    if scope is not None and location_id is not None and not scope.allows(location_id):
        raise ActionError("owner_id", f"{owner.name} does not look after this location: choose someone who does, "
                                      "or another location.")
    return owner


# --- create and edit -------------------------------------------------------------------------------------------


def _check(org_id: int, data: ActionData, today: date, *, creating: bool) -> ActionData:
    idea = (data.idea or "").strip()
    if not idea:
        raise ActionError("idea", "Describe the improvement.")
    if len(idea) > rules.MAX_NOTE:
        raise ActionError("idea", f"Keep the idea under {rules.MAX_NOTE} characters.")
    done_means = (data.definition_of_done or "").strip()
    if not done_means:
        raise ActionError("definition_of_done", "Say what \"done\" means, so the owner and the verifier agree.")
    if len(done_means) > rules.MAX_NOTE:
        raise ActionError("definition_of_done", f"Keep it under {rules.MAX_NOTE} characters.")
    if data.location_id is not None:
        from ..locations.models import Location

        location = db.session.get(Location, data.location_id)
        if location is None or location.org_id != org_id:
            raise ActionError("location_id", "Choose a location from the list.")
    _check_owner(org_id, data.owner_id, data.location_id)
    started = data.started_on or today
    try:
        rules.check_due_date(data.due_date, started_on=started, today=today, creating=creating)
    except TransitionError as error:
        raise ActionError(error.field, error.message) from None
    return ActionData(moment_key=data.moment_key, idea=idea, definition_of_done=done_means, owner_id=data.owner_id,
                      location_id=data.location_id or None, question_key=data.question_key or None,
                      evaluation_id=data.evaluation_id or None, started_on=started, due_date=data.due_date)


def _event(action: Action, user, kind: str, from_status: str, note: str = "", photo=None) -> ActionEvent:
    event = ActionEvent(action=action, user_id=getattr(user, "id", None), kind=kind, from_status=from_status,
                        to_status=action.status, note=note, photo_id=getattr(photo, "id", None), at=utcnow())
    db.session.add(event)
    return event


def create_action(org_id: int, journey_id: int, data: ActionData, *, user=None, today: date) -> Action:
    data = _check(org_id, data, today, creating=True)
    action = Action(org_id=org_id, journey_id=journey_id, moment_key=data.moment_key, question_key=data.question_key,
                    idea=data.idea, definition_of_done=data.definition_of_done, owner_id=data.owner_id,
                    location_id=data.location_id, evaluation_id=data.evaluation_id, started_on=data.started_on,
                    due_date=data.due_date, status="open", created_by_id=getattr(user, "id", None))
    db.session.add(action)
    _event(action, user, "created", "")
    db.session.flush()
    owner = db.session.get(User, data.owner_id)
    record("action.create", action, summary=f"Action on moment {data.moment_key} for {owner.name}, due "
                                            f"{data.due_date.isoformat()}: {data.idea[:200]}",
           detail={"journey_id": journey_id, "owner_id": data.owner_id, "due_date": data.due_date.isoformat(),
                   "question_key": data.question_key, "evaluation_id": data.evaluation_id}, user=user)
    return action


def update_action(action: Action, data: ActionData, *, user=None, today: date) -> list[str]:
    """Apply the changes; returns the names of the fields that changed (nothing is logged when none did)."""
    data = _check(action.org_id, ActionData(**{**_as_dict(data), "started_on": data.started_on or action.started_on}),
                  today, creating=False)
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


def _as_dict(data: ActionData) -> dict:
    return {name: getattr(data, name) for name in ActionData.__slots__}


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


# --- the flow --------------------------------------------------------------------------------------------------


def is_manager(user, org_id: int) -> bool:
    membership = user.membership_in(org_id) if user is not None else None
    return membership is not None and membership.role in MANAGER_ROLES


def transition(action: Action, name: str, *, user, note: str = "", photo_upload=None, config=None) -> ActionEvent:
    """Move the action on: "done" (with a note and/or a photo), "verify", "reopen" or "drop" (with a reason).

    Refused with ActionError (field "who": this person may not; "status": not from this state; "note"/"photo":
    the evidence or reason). The photo goes through the evaluations' photo service (re-encoded JPEG, no EXIF)."""
    has_photo = photo_upload is not None and bool(getattr(photo_upload, "filename", "") or
                                                  isinstance(photo_upload, (bytes, bytearray)))
    note = (note or "").strip()
    old = action.status
    try:
        new = rules.check_transition(old, name, is_manager=is_manager(user, action.org_id),
                                     is_owner=user is not None and action.owner_id == user.id, note=note,
                                     has_photo=has_photo)
    except TransitionError as error:
        raise ActionError(error.field, error.message) from None
    photo = None
    if has_photo and name == "done":
        from ..evaluations.photos import PhotoError, save_photo

        try:
            photo = save_photo(action.org_id, user, photo_upload, config)
        except PhotoError as error:
            raise ActionError("photo", str(error)) from None
    now = utcnow()
    action.status = new
    if new == "done":
        action.done_at = now
    elif new == "verified":
        action.verified_at = now
    elif new == "open":
        action.done_at = None
    event = _event(action, user, rules.EVENT_KINDS[name], old, note, photo)
    db.session.flush()
    verb = rules.TRANSITIONS[name].verb
    record(f"action.{rules.EVENT_KINDS[name]}", action, user=user,
           summary=f"Action {action.id} {verb}" + (f": {note[:300]}" if note else "") + (" (photo)" if photo else ""),
           detail={"from": old, "to": new, "event_id": event.id, "photo_id": getattr(photo, "public_id", None)})
    return event


# --- finding actions ---------------------------------------------------------------------------------------------


def visible_to(action: Action, scope: PlaceScope | None, user_id: int | None) -> bool:
    """Managers (no scope) see every action; a place-scoped manager those of their places, those for every
    location, and those they own."""
    return scope is None or action.owner_id == user_id or action.location_id is None or scope.allows(action.location_id)


def _visible(stmt, scope: PlaceScope | None, user_id: int | None):
    if scope is None:
        return stmt
    return stmt.where(or_(Action.owner_id == user_id, Action.location_id.is_(None),
                          Action.location_id.in_(sorted(scope.location_ids) or [-1])))


def _loaded(stmt):
    return stmt.options(joinedload(Action.owner), joinedload(Action.location), joinedload(Action.journey))


def journey_actions(org_id: int, journey_id: int, *, open_only: bool = False, scope: PlaceScope | None = None,
                    user_id: int | None = None) -> list[Action]:
    """A journey's actions: open, then done (awaiting verification), then the rest, by due date."""
    stmt = _visible(select(Action).where(Action.org_id == org_id, Action.journey_id == journey_id), scope, user_id)
    if open_only:
        stmt = stmt.where(Action.status.in_(ACTIVE_STATUSES))
    order = case((Action.status == "open", 0), (Action.status == "done", 1), else_=2)
    return list(db.session.scalars(_loaded(stmt).order_by(order, Action.due_date.is_(None), Action.due_date,
                                                          Action.id.desc())).unique())


def overdue_actions(org_id: int, today: date, *, scope: PlaceScope | None = None, user_id: int | None = None,
                    journey_id: int | None = None) -> list[Action]:
    """THE overdue rule in SQL (action_rules.is_overdue): still open, due before `today` (the organisation's local
    date). Pages, the dashboard count and the reminders all ask here; most overdue first."""
    stmt = select(Action).where(Action.org_id == org_id, Action.status == "open", Action.due_date.is_not(None),
                                Action.due_date < today)
    if journey_id is not None:
        stmt = stmt.where(Action.journey_id == journey_id)
    stmt = _visible(stmt, scope, user_id)
    return list(db.session.scalars(_loaded(stmt).order_by(Action.due_date, Action.id)).unique())


def my_actions(org_id: int, user_id: int, today: date, *, include_done: bool = False) -> list[Action]:
    """The actions `user_id` owns that still need them (open; done too when asked), overdue first."""
    statuses = ACTIVE_STATUSES if include_done else OPEN_STATUSES
    found = db.session.scalars(_loaded(select(Action).where(Action.org_id == org_id, Action.owner_id == user_id,
                                                            Action.status.in_(statuses)))).unique()
    return sorted(found, key=lambda a: rules.mine_order(a.status, a.due_date, a.id, today))


def verified_on(action: Action, tz_name: str | None) -> date | None:
    """The local date an action was verified (what the trend charts mark)."""
    local = to_local(action.verified_at, tz_name)
    return local.date() if local else None


def history(action: Action) -> list[dict]:
    labels = {"created": N_("Created"), "done": N_("Marked done"), "verified": N_("Verified"), "reopened": N_("Reopened"),
              "dropped": N_("Dropped")}
    return [{"at": e.at, "who": e.user.name if e.user else None, "kind": e.kind,
             "label": labels.get(e.kind, e.kind.capitalize()), "note": e.note or "",
             "photo": e.photo, "to": STATUS_LABELS.get(e.to_status, e.to_status)} for e in action.events]


# --- reminders (flask send-reminders) -------------------------------------------------------------------------------

OVERDUE_REPEAT_DAYS = 7  # an overdue action reminds its owner on the first day late, then once a week


def _reminder_link(action: Action) -> str:
    from ..notify.urls import absolute_url

    return absolute_url("results.action_detail", action_id=action.id)


def _last_overdue_day(action: Action, owner_id: int) -> date | None:
    from ..notify.models import OutboxMessage

    prefix = f"action_overdue:{action.id}:"
    keys = db.session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like(prefix + "%"),
                                                                     OutboxMessage.user_id == owner_id))
    days = []
    for key in keys:
        try:
            days.append(date.fromisoformat(key.split(":")[2]))
        except (IndexError, ValueError):
            continue
    return max(days, default=None)


def queue_action_reminders(now: datetime) -> int:
    """For every organisation, at its local date: "due" for open actions due today or tomorrow (once per due date),
    "overdue" for overdue ones (on the first day late, then every OVERDUE_REPEAT_DAYS). To the owner only."""
    from ..notify.notices import notify_action_due, notify_action_overdue

    queued = 0
    for org in db.session.scalars(select(Organisation).order_by(Organisation.id)):
        today = to_local(now, org.timezone).date()
        soon = db.session.scalars(_loaded(select(Action).where(
            Action.org_id == org.id, Action.status == "open", Action.owner_id.is_not(None),
            Action.due_date >= today, Action.due_date <= today + timedelta(days=rules.DUE_SOON_DAYS)))).unique()
        for action in soon:
            queued += notify_action_due(action, action.owner, link=_reminder_link(action)) is not None
        for action in overdue_actions(org.id, today):
            announce_overdue(action, today)
            if action.owner is None:
                continue
            last = _last_overdue_day(action, action.owner_id)
            if last is not None and (today - last).days < OVERDUE_REPEAT_DAYS:
                continue
            queued += notify_action_overdue(action, action.owner, today=today,
                                            link=_reminder_link(action)) is not None
    return queued


def announce_overdue(action: Action, today: date) -> bool:
    """The action.overdue webhook, once per due date of an overdue action (a new due date can be missed again)."""
    from ..webhooks import emit

    if action.overdue_announced_for == action.due_date:
        return False
    emit(action.org_id, "action.overdue", {
        "action_id": action.id, "journey_id": action.journey_id, "moment": action.moment_key,
        "question": action.question_key, "location_id": action.location_id, "owner_id": action.owner_id,
        "due_date": action.due_date.isoformat() if action.due_date else None,
        "days_late": (today - action.due_date).days if action.due_date else None})
    action.overdue_announced_for = action.due_date
    db.session.flush()
    return True


def _register_reminders() -> None:
    from ..notify.reminders import reminder_provider

    reminder_provider("actions")(queue_action_reminders)


_register_reminders()


# --- demo --------------------------------------------------------------------------------------------------------

# Demo step (auditapp/demo.py): actions on the demo's weak moments owned by the demo's location manager (and one by
# the regional manager), one in each state, so the action plan, "My actions", the overdue list and the trend's
# verified mark show something real. (journey slug, moment key, question key, location code or None, idea,
# definition of done, owner e-mail, days ago started, due in days, final state, days ago of the last step)
DEMO_ACTIONS = [
    ("dentist-visit", "follow_up_call", None, "001", "Call every patient the next working day before noon, from a short "
     "checklist instead of a script", "The call log shows a call before noon the next working day for 9 in 10 "
     "patients.", "site@demo.example", 120, 30, "verified", 60),
    ("dentist-visit", "payment", None, "001", "Hand over an itemised quote before treatment and divert the desk phone "
     "while a patient pays", "Every patient gets a printed quote; the desk phone rings through to the back office "
     "during payment.", "site@demo.example", 30, 21, "open", None),
    ("dentist-visit", "arrival", None, "001", "Greet every patient by name within ten seconds of the door opening",
     "Reception greets by name; the morning briefing covers the day's appointments.", "site@demo.example", 10, 14,
     "done", 2),
    ("airline-trip", "arrival_bags", None, None, "Show the belt number on the arrival screens as soon as the plane "
     "lands", "The belt number is on screen within two minutes of landing.", "region@demo.example", 10, 60, "open",
     None),
]


def add_demo_actions(result, seed: int) -> None:
    from ..timeutil import local_today

    tz = result.org.timezone
    today = local_today(tz)
    manager = result.users.get("manager@demo.example")
    for slug, key, question, code, idea, done_means, owner_email, days_ago, due_in, state, step_ago in DEMO_ACTIONS:
        journey = result.journeys.get(slug)
        owner = result.users.get(owner_email)
        if journey is None or owner is None:
            continue
        moments = {m.key for m in journey.current_version.moments}
        if key not in moments:
            key = sorted(moments)[0]
        location = result.locations.get(code) if code else None
        started = today - timedelta(days=days_ago)
        # Created as of its start date (the due date was not in the past then).
        action = create_action(result.org.id, journey.id, ActionData(
            moment_key=key, question_key=question, idea=idea, definition_of_done=done_means, owner_id=owner.id,
            location_id=getattr(location, "id", None), started_on=started, due_date=started + timedelta(days=due_in)),
            user=manager, today=started)
        _backdate(action.events[-1], started)
        if state in ("done", "verified"):
            transition(action, "done", user=owner, note="Done: briefed the team and changed the routine.")
            when = today - timedelta(days=step_ago + (3 if state == "verified" else 0))
            action.done_at = _backdate(action.events[-1], when)
        if state == "verified":
            transition(action, "verify", user=manager, note="Checked on a visit: it holds.")
            action.verified_at = _backdate(action.events[-1], today - timedelta(days=step_ago))
    db.session.flush()


def _backdate(event: ActionEvent, day: date) -> datetime:
    """Put a demo event at noon UTC of `day` (the demo tells a story over months)."""
    event.at = datetime(day.year, day.month, day.day, 12, 0)
    return event.at
