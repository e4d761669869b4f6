"""Helpers for the browser tests: log in, poll, answer radio questions like a thumb would."""
from __future__ import annotations

import time
from urllib.parse import quote

from sqlalchemy import func, select

from auditapp.extensions import db
from tests.factories import PASSWORD


def login(page, base: str, email: str, next_path: str = "") -> None:
    page.goto(f"{base}/login" + (f"?next={quote(next_path)}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def eventually(check, timeout: float = 15.0, interval: float = 0.2):
    """Poll `check()` until it returns something truthy; its last value is returned (or the test fails)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"not true after {timeout} s"
    return value


def count(model) -> int:
    """Rows as the live server left them (end this thread's read transaction first, to see its commits)."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def choose(page, name: str, value: str) -> None:
    """Tap the big button of one answer (the label around the visually hidden radio input)."""
    page.locator(f"[data-q='{name}'] input[value='{value}']").locator("xpath=..").click()
