"""Corrective actions: the status flow and the date rules, as plain functions (no Flask, no database).

open --(owner marks it done, with evidence: a note and/or a photo)--> done
done --(a manager verifies it)--> verified                          (final: the trend charts mark this date)
done --(a manager reopens it, with a reason)--> open
open or done --(a manager drops it, with a reason)--> dropped
dropped --(a manager reopens it, with a reason)--> open

An action is overdue when it is still open and its due date is before today (the organisation's local date); an
action marked done waits for the manager, so it is not overdue. Overdue detection is `is_overdue` here and
`actions.overdue_actions` in SQL (the same rule), the one place reminders, pages and hooks ask.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

N_ = str  # marks text for the catalogue (what auditapp.i18n.N_ does) without importing Flask; pages translate it

STATUSES = ("open", "done", "verified", "dropped")
STATUS_LABELS = {"open": N_("Open"), "done": N_("Done, waiting for verification"), "verified": N_("Verified"),
                 "dropped": N_("Dropped")}
DUE_SOON_DAYS = 1  # "due" reminder: the due date is today or tomorrow
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class Transition:
    name: str
    to: str
    allowed_from: tuple[str, ...]
    managers_only: bool  # False: the owner may do it too (managers always may)
    needs_reason: bool = False
    verb: str = ""  # "marked done", for messages and the audit log


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("done", "done", ("open",), managers_only=False, verb="marked done"),
    Transition("verify", "verified", ("done",), managers_only=True, verb="verified"),
    Transition("reopen", "open", ("done", "dropped"), managers_only=True, needs_reason=True, verb="reopened"),
    Transition("drop", "dropped", ("open", "done"), managers_only=True, needs_reason=True, verb="dropped"),
)}
# The event kind each transition leaves in the action's history.
EVENT_KINDS = {"done": "done", "verify": "verified", "reopen": "reopened", "drop": "dropped"}


class TransitionError(ValueError):
    """A transition that is not allowed; `field` names the form field to show it at ("status" for the state,
    "who" for a person who may not do it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_transition(status: str, name: str, *, is_manager: bool, is_owner: bool, note: str = "",
                     has_photo: bool = False) -> str:
    """The status after transition `name` from `status`, or TransitionError saying why not.

    `note` is the evidence (done) or the reason (reopen, drop); `has_photo`: a photo comes with it (done)."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise TransitionError("status", f"Unknown change '{name}'.")
    if transition.managers_only and not is_manager:
        raise TransitionError("who", f"Only the organisation's managers can {_infinitive(name)} an action.")
    if not transition.managers_only and not (is_manager or is_owner):
        raise TransitionError("who", "Only the action's owner or a manager can mark it done.")
    if status not in transition.allowed_from:
        raise TransitionError("status", f"This action is {STATUS_LABELS.get(status, status).lower()}: "
                                        f"it cannot be {transition.verb} now.")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise TransitionError("note", f"Keep it under {MAX_NOTE} characters (it has {len(text)}).")
    if name == "done" and not text and not has_photo:
        raise TransitionError("note", "Show that it is done: write what was done, add a photo, or both.")
    if transition.needs_reason and not text:
        raise TransitionError("note", f"Give a reason: the owner sees why it was {transition.verb}.")
    return transition.to


def _infinitive(name: str) -> str:
    return {"verify": "verify", "reopen": "reopen", "drop": "drop", "done": "mark done"}.get(name, name)


def allowed_transitions(status: str, *, is_manager: bool, is_owner: bool) -> list[str]:
    """The transitions this person may make now, in TRANSITIONS order (the buttons a page shows)."""
    found = []
    for name, transition in TRANSITIONS.items():
        if status not in transition.allowed_from:
            continue
        if transition.managers_only and not is_manager:
            continue
        if not (is_manager or is_owner):
            continue
        found.append(name)
    return found


def is_overdue(status: str, due_date: date | None, today: date) -> bool:
    """Still open and due before `today` (the organisation's local date)."""
    return status == "open" and due_date is not None and due_date < today


def is_due_soon(status: str, due_date: date | None, today: date, days: int = DUE_SOON_DAYS) -> bool:
    """Open and due today or within `days` days (not overdue yet)."""
    return status == "open" and due_date is not None and today <= due_date <= today + timedelta(days=days)


def days_late(due_date: date | None, today: date) -> int:
    return max(0, (today - due_date).days) if due_date else 0


def check_due_date(due_date: date | None, *, started_on: date, today: date, creating: bool) -> None:
    """A due date is required, on or after the start date, and (for a new action) not in the past."""
    if due_date is None:
        raise TransitionError("due_date", "Give a due date, YYYY-MM-DD.")
    if due_date < started_on:
        raise TransitionError("due_date", f"The due date must be on or after the start date ({started_on.isoformat()}).")
    if creating and due_date < today:
        raise TransitionError("due_date", f"The due date is in the past: choose {today.isoformat()} or later.")


def mine_order(status: str, due_date: date | None, action_id: int, today: date) -> tuple:
    """Sort key of "My actions": overdue first, then by due date (none last), then oldest first."""
    return (0 if is_overdue(status, due_date, today) else 1, due_date or date.max, action_id)
