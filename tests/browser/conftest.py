"""Browser test fixtures: the app on a live server in a thread, Debian's Chromium through Playwright, a phone.

Without Chromium the browser tests are skipped with a message, unless AUDITAPP_REQUIRE_BROWSER=1 (CI), where a
missing browser is a failure. Never `playwright install`: the system Chromium is used.
"""
from __future__ import annotations

import os
import shutil

import pytest

PHONE = "Pixel 7"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        message = "Chromium is not installed (apt-get install chromium); the browser tests need it"
        if os.environ.get("AUDITAPP_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " and AUDITAPP_REQUIRE_BROWSER=1 is set", pytrace=False)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": path,
            "args": ["--disable-background-networking", "--disable-component-update", "--no-first-run"]}


@pytest.fixture
def app_config(app_config):
    """A browser posts real forms: CSRF on, as in production."""
    return {**app_config, "WTF_CSRF_ENABLED": True}


@pytest.fixture
def phone(new_context, playwright):
    """phone(**options) -> a new Pixel 7 context (touch, 412 px wide); closed after the test."""
    device = {k: v for k, v in playwright.devices[PHONE].items() if k != "default_browser_type"}

    def open_context(**options):
        context = new_context(**{**device, **options})
        context.set_default_timeout(15_000)
        return context

    return open_context
