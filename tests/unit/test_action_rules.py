"""The corrective actions' flow and date rules (auditapp.results.action_rules): pure functions, no app."""
from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from auditapp.results import action_rules as rules
from auditapp.results.action_rules import TransitionError, check_transition
from auditapp.timeutil import local_today
from tests.clock import FROZEN_INSTANTS, on_frozen_dates

MANAGER = {"is_manager": True, "is_owner": False}
OWNER = {"is_manager": False, "is_owner": True}
BYSTANDER = {"is_manager": False, "is_owner": False}


@pytest.mark.parametrize(("status", "name", "who", "kw", "to"), [
    ("open", "done", OWNER, {"note": "Briefed the team"}, "done"),
    ("open", "done", OWNER, {"has_photo": True}, "done"),
    ("open", "done", MANAGER, {"note": "Done for them"}, "done"),
    ("done", "verify", MANAGER, {}, "verified"),
    ("done", "reopen", MANAGER, {"note": "Not on the late shift"}, "open"),
    ("dropped", "reopen", MANAGER, {"note": "Needed after all"}, "open"),
    ("open", "drop", MANAGER, {"note": "The desk moved"}, "dropped"),
    ("done", "drop", MANAGER, {"note": "Replaced by another action"}, "dropped"),
])
def test_allowed_transitions(status, name, who, kw, to):
    assert check_transition(status, name, **who, **kw) == to


@pytest.mark.parametrize(("status", "name", "who", "kw", "field", "words"), [
    # Wrong state: said in words, never a silent change.
    ("done", "done", OWNER, {"note": "again"}, "status", "done, waiting for verification: it cannot be marked done"),
    ("verified", "done", OWNER, {"note": "x"}, "status", "verified: it cannot be marked done"),
    ("open", "verify", MANAGER, {}, "status", "open: it cannot be verified"),
    ("verified", "verify", MANAGER, {}, "status", "cannot be verified"),
    ("open", "reopen", MANAGER, {"note": "why"}, "status", "open: it cannot be reopened"),
    ("verified", "reopen", MANAGER, {"note": "why"}, "status", "verified: it cannot be reopened"),
    ("verified", "drop", MANAGER, {"note": "why"}, "status", "cannot be dropped"),
    ("dropped", "drop", MANAGER, {"note": "why"}, "status", "cannot be dropped"),
    # Who: the owner marks done; only managers verify, reopen and drop.
    ("open", "done", BYSTANDER, {"note": "x"}, "who", "owner or a manager"),
    ("done", "verify", OWNER, {}, "who", "Only the organisation's managers can verify"),
    ("done", "reopen", OWNER, {"note": "x"}, "who", "can reopen"),
    ("open", "drop", OWNER, {"note": "x"}, "who", "can drop"),
    # Evidence and reasons.
    ("open", "done", OWNER, {"note": "   "}, "note", "write what was done, add a photo, or both"),
    ("done", "reopen", MANAGER, {"note": ""}, "note", "Give a reason"),
    ("open", "drop", MANAGER, {}, "note", "Give a reason"),
    ("open", "done", OWNER, {"note": "x" * 2001}, "note", "under 2000 characters"),
    ("open", "fly", MANAGER, {}, "status", "Unknown change"),
])
def test_refused_transitions_say_why(status, name, who, kw, field, words):
    with pytest.raises(TransitionError) as caught:
        check_transition(status, name, **who, **kw)
    assert caught.value.field == field
    assert words in caught.value.message


def test_who_is_checked_before_the_state():
    """A bystander learns nothing about the state of an action they may not change."""
    with pytest.raises(TransitionError) as caught:
        check_transition("verified", "verify", **OWNER)
    assert caught.value.field == "who"


@pytest.mark.parametrize(("status", "who", "expected"), [
    ("open", OWNER, ["done"]),
    ("open", MANAGER, ["done", "drop"]),
    ("done", OWNER, []),
    ("done", MANAGER, ["verify", "reopen", "drop"]),
    ("verified", MANAGER, []),
    ("dropped", MANAGER, ["reopen"]),
    ("open", BYSTANDER, []),
])
def test_allowed_transitions_are_the_buttons_shown(status, who, expected):
    assert rules.allowed_transitions(status, **who) == expected
    for name in expected:  # every button shown is one the rules accept
        check_transition(status, name, **who, note="because", has_photo=True)


@on_frozen_dates
@pytest.mark.parametrize("tz", ["UTC", "Europe/Stockholm", "Pacific/Auckland", "America/Los_Angeles"])
def test_overdue_is_before_the_organisations_today(frozen_at, tz):
    today = local_today(tz)
    assert today == frozen_at.astimezone(ZoneInfo(tz)).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert rules.is_overdue("open", yesterday, today)
    assert not rules.is_overdue("open", today, today)  # due today: still on time
    assert not rules.is_overdue("open", tomorrow, today)
    assert not rules.is_overdue("open", None, today)
    for status in ("done", "verified", "dropped"):  # done waits for the manager: not the owner's delay
        assert not rules.is_overdue(status, yesterday, today)
    assert rules.days_late(yesterday - timedelta(days=2), today) == 3
    assert rules.days_late(tomorrow, today) == 0
    assert rules.is_due_soon("open", today, today) and rules.is_due_soon("open", tomorrow, today)
    assert not rules.is_due_soon("open", tomorrow + timedelta(days=1), today)
    assert not rules.is_due_soon("open", yesterday, today)  # that one is overdue, not due
    assert not rules.is_due_soon("done", today, today)


def test_the_same_instant_is_overdue_in_one_zone_and_not_yet_in_another():
    """31 Jan 23:30 UTC: a 31 Jan due date is on time in UTC and already a day late in Stockholm (1 Feb)."""
    instant = FROZEN_INSTANTS["2026-01-31_month_end"]
    due = date(2026, 1, 31)
    utc_today = instant.date()
    stockholm_today = instant.astimezone(ZoneInfo("Europe/Stockholm")).date()
    assert not rules.is_overdue("open", due, utc_today)
    assert rules.is_overdue("open", due, stockholm_today)


def test_due_dates():
    today = date(2026, 6, 17)
    rules.check_due_date(today, started_on=today, today=today, creating=True)
    rules.check_due_date(today - timedelta(days=3), started_on=today - timedelta(days=10), today=today,
                         creating=False)  # editing an overdue action keeps its past due date
    for due, started, creating, words in [
        (None, today, True, "Give a due date"),
        (today - timedelta(days=1), today, False, "on or after the start date (2026-06-17)"),
        (today - timedelta(days=1), today - timedelta(days=5), True, "in the past: choose 2026-06-17 or later"),
    ]:
        with pytest.raises(TransitionError) as caught:
            rules.check_due_date(due, started_on=started, today=today, creating=creating)
        assert caught.value.field == "due_date" and words in caught.value.message


def test_my_actions_order_puts_overdue_first():
    today = date(2026, 6, 17)
    rows = [(1, "open", today + timedelta(days=1)), (2, "open", today - timedelta(days=1)), (3, "done", today - timedelta(days=9)),
            (4, "open", None), (5, "open", today - timedelta(days=5)), (6, "open", today)]
    ordered = [i for i, status, due in sorted(rows, key=lambda r: rules.mine_order(r[1], r[2], r[0], today))]
    assert ordered == [5, 2, 3, 6, 1, 4]


def test_rules_import_no_framework():
    tree = ast.parse(Path(rules.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"flask", "sqlalchemy", "wtforms", "flask_sqlalchemy"}
