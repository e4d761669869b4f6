"""Organisation settings: name, time zone, score bands; admins only; audit-logged."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog, Organisation
from auditapp.extensions import db

GOOD = {"name": "Acme Dental", "timezone": "Europe/Stockholm", "band_low": "40", "band_high": "75.5",
        "report_shopper_name": "code"}


@pytest.fixture
def admin_org(make, auth):
    org = make.org(name="Acme")
    make.user(org, "admin", email="a@example.com")
    auth.login("a@example.com")
    return org


def reload(org) -> Organisation:
    db.session.expire_all()
    return db.session.get(Organisation, org.id)


def test_page_shows_current_values_and_is_in_the_admin_menu(client, admin_org):
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="Acme"' in page and 'value="UTC"' in page and 'value="50"' in page and 'value="80"' in page
    assert '<option value="Europe/Stockholm">' in page and 'list="tz-options"' in page
    assert 'href="/settings"' in page


def test_save_settings_and_audit_log(client, admin_org):
    response = client.post("/settings", data=GOOD)
    assert response.status_code == 302
    org = reload(admin_org)
    assert (org.name, org.timezone, org.band_low, org.band_high) == ("Acme Dental", "Europe/Stockholm", 40.0, 75.5)
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.settings_changed"))
    assert entry.org_id == org.id and entry.object_id == org.id
    assert entry.detail["band_low"] == [50.0, 40.0] and entry.detail["timezone"] == ["UTC", "Europe/Stockholm"]
    # Saving the same again changes nothing and logs nothing.
    client.post("/settings", data=GOOD)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.settings_changed")
                             .order_by(AuditLog.id.desc())).id == entry.id


def test_time_zone_spelling_is_normalised_and_decimal_comma_accepted(client, admin_org):
    client.post("/settings", data={**GOOD, "timezone": " europe/london ", "band_low": "45,5"})
    org = reload(admin_org)
    assert org.timezone == "Europe/London" and org.band_low == 45.5


@pytest.mark.parametrize(("changes", "message"), [
    ({"timezone": "Mars/Olympus"}, "&#39;Mars/Olympus&#39; is not a known time zone"),
    ({"timezone": ""}, "Choose a time zone"),
    ({"band_low": "80", "band_high": "80"}, "The upper band must be above the lower band (80)."),
    ({"band_low": "90", "band_high": "60"}, "The upper band must be above the lower band (90)."),
    ({"band_low": "0"}, "The lower band must be more than 0 and less than 100."),
    ({"band_high": "101"}, "The upper band must be more than 0 and at most 100."),
    ({"band_low": "fifty"}, "Type a number from 0 to 100, e.g. 50."),
    ({"band_high": "nan"}, "Type a number from 0 to 100, e.g. 50."),
    ({"name": "  "}, "Give the organisation a name."),
    ({"report_shopper_name": "email"}, "Choose how visit reports name the shopper: &#39;A code per shopper (S-…)&#39; or "
                                       "&#39;First name&#39;."),
])
def test_bad_settings_are_refused_next_to_the_field_and_keep_input(client, admin_org, changes, message):
    data = {**GOOD, **changes}
    response = client.post("/settings", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'class="error"' in page
    for key, value in data.items():  # what was typed is still there
        if key == "report_shopper_name":
            continue  # a radio button: checked, below
        assert re.search(rf'<input[^>]*name="{key}"[^>]*value="{re.escape(value)}"', page) or not value.strip(), key
    if data["report_shopper_name"] == "code":
        assert re.search(r'<input checked[^>]*name="report_shopper_name"[^>]*value="code"', page)
    org = reload(admin_org)
    assert (org.name, org.timezone, org.band_low, org.band_high) == ("Acme", "UTC", 50.0, 80.0)
    assert org.report_shopper_name == "code"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.settings_changed")) is None


@pytest.mark.parametrize("role", ["manager", "shopper", "staff"])
def test_only_admins(client, auth, make, role):
    org = make.org(name="Acme")
    make.user(org, role, email="u@example.com")
    auth.login("u@example.com")
    assert client.get("/settings").status_code == 403
    assert client.post("/settings", data=GOOD).status_code == 403
    assert reload(org).name == "Acme"


def test_admin_changes_only_their_own_organisation(client, admin_org, make):
    other = make.org(name="Other")
    client.post("/settings", data=GOOD)
    assert reload(other).name == "Other" and reload(other).timezone == "UTC"


def test_how_reports_name_the_shopper_is_a_setting_and_audit_logged(client, admin_org):
    page = client.get("/settings").get_data(as_text=True)
    assert "Shopper in visit reports" in page
    assert re.search(r'<input checked[^>]*name="report_shopper_name"[^>]*value="code"', page)  # the default
    assert 'value="first_name"' in page
    response = client.post("/settings", data={**GOOD, "report_shopper_name": "first_name"})
    assert response.status_code == 302
    assert reload(admin_org).report_shopper_name == "first_name"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "organisation.settings_changed")
                              .order_by(AuditLog.id.desc()))
    assert entry.detail["report_shopper_name"] == ["code", "first_name"]
    assert "report_shopper_name code -> first_name" in entry.summary
    page = client.get("/settings").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="report_shopper_name"[^>]*value="first_name"', page)


def test_a_form_without_the_shopper_choice_keeps_the_current_one(client, admin_org):
    admin_org.report_shopper_name = "first_name"
    db.session.commit()
    data = {key: value for key, value in GOOD.items() if key != "report_shopper_name"}
    assert client.post("/settings", data=data).status_code == 302
    org = reload(admin_org)
    assert org.name == "Acme Dental" and org.report_shopper_name == "first_name"
