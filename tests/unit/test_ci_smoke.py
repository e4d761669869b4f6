"""The parts of .ci/smoke_make_run.py that read make run's output and the pages, without starting anything."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "smoke_make_run.py"


@pytest.fixture(scope="module")
def smoke():
    spec = importlib.util.spec_from_file_location("smoke_make_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


MAKE_RUN_LOG = """\
.venv/bin/flask --app auditapp demo --if-empty
Demo organisation 'Demo Dental & Air' (demo). Log in with any of these (password demo-password-1):
  admin    admin@demo.example
  manager  manager@demo.example
  regional_manager north@demo.example (North)
  shopper  shopper@demo.example
  shopper  shopper2@demo.example
Journeys: Dentist visit, Airline trip, Café order.
  staff    not-a-login@demo.example
127.0.0.1 - - [03/Dec/2026 07:38:48] "POST /login HTTP/1.1" 302 -
"""


def test_logins_are_read_from_the_block_after_the_password_line(smoke):
    logins = smoke.find_logins(MAKE_RUN_LOG)
    assert logins.password == "demo-password-1"
    assert logins.by_role == {
        "admin": ["admin@demo.example"],
        "manager": ["manager@demo.example"],
        "regional_manager": ["north@demo.example"],
        "shopper": ["shopper@demo.example", "shopper2@demo.example"],
    }
    assert logins.first(("manager", "admin")) == ("manager", "manager@demo.example")
    assert logins.first(("location_manager", "admin")) == ("admin", "admin@demo.example")


def test_no_logins_printed_is_a_clear_failure(smoke):
    log = ".venv/bin/flask --app auditapp demo --if-empty\nThe database has data already: demo data not added.\n"
    assert smoke.find_logins(log) is None
    with pytest.raises(smoke.SmokeFailure, match="printed no demo logins"):
        smoke.printed_logins(log)
    with pytest.raises(smoke.SmokeFailure, match="no login with a role among shopper .*it printed: admin"):
        smoke.Logins("p", {"admin": ["a@demo.example"]}).first(("shopper",))


def test_form_fields_are_what_a_browser_would_send(smoke):
    page = smoke.parse("""
      <form method="get" action="/evaluations/new">
        <input type="hidden" name="csrf_token" value="tok">
        <input name="email" value="a@b.example"><input type="checkbox" name="remember" value="y">
        <select name="location"><option value="">Choose</option><option value="3">Airport</option></select>
        <select name="journey"><option value="1">Dentist</option><option value="2" selected>Airline</option></select>
        <button type="submit" name="go">Start</button>
      </form>""")
    form = page.find("form")
    assert smoke.form_fields(form) == {"csrf_token": "tok", "email": "a@b.example", "location": "", "journey": "2"}
    assert [o.text() for o in form.find("select", name="journey").find_all("option")] == ["Dentist", "Airline"]
