"""Part b of the interface in Swedish (issue 16): accounts, locations, disputes, notifications, webhooks, sites,
exports, schedules, settings and the error pages follow the browser's language; English stays the default, and the
API, the CLI and the audit log stay English."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog
from auditapp.extensions import db

SV = {"Accept-Language": "sv"}


@pytest.fixture
def admin(make, auth):
    org = make.org(name="Acme")
    make.user(org, "admin", email="a@example.com", name="Ada")
    auth.login("a@example.com")
    return org


def _page(client, url: str, headers=None) -> str:
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.mark.parametrize(("url", "english", "swedish"), [
    ("/account", "Your account", "Ditt konto"),
    ("/tokens", "Your tokens", "Dina nycklar"),
    ("/admin/users", "Invite someone", "Bjud in någon"),
    ("/locations/", "New location", "Ny enhet"),
    ("/settings", "Organisation settings", "Organisationens inställningar"),
    ("/account/notifications", "Send me a mail when", "Skicka ett mejl till mig när"),
    ("/admin/outbox", "Outbox", "Utkorg"),
    ("/admin/webhooks", "Add a webhook", "Lägg till en webhook"),
])
def test_pages_follow_the_browser_language(client, admin, url, english, swedish):
    assert english in _page(client, url) and swedish not in _page(client, url)
    page = _page(client, url, SV)
    assert swedish in page and '<html lang="sv">' in page
    assert "Logga ut" in page and "Händelselogg" in page  # the menu and the navigation too


def test_role_labels_and_form_labels_are_swedish(client, admin):
    page = _page(client, "/admin/users", SV)
    assert ">Administratör<" in page and ">Testkund<" in page and ">Regionchef<" in page
    assert "Enheter de ansvarar för (enhetschefer)" in page  # a WTForms label


def test_a_flash_message_and_a_form_error_are_swedish(client, admin):
    response = client.post("/locations/new", data={"code": "001", "name": "Centrum", "region": ""}, headers=SV,
                           follow_redirects=True)
    assert "Enheten 001 Centrum har skapats." in response.get_data(as_text=True)
    response = client.post("/locations/new", data={"code": "001", "name": "Igen", "region": ""}, headers=SV)
    page = response.get_data(as_text=True)
    assert "Koden 001 används redan av Centrum." in page and "Åtgärda 1 problem" in page
    response = client.post("/locations/new", data={"code": "", "name": "", "region": ""}, headers=SV)
    assert "Ge enheten en kod." in response.get_data(as_text=True)


def test_login_error_is_swedish_and_english_by_default(client, make):
    org = make.org()
    make.user(org, "admin", email="b@example.com")
    wrong = {"email": "b@example.com", "password": "not the password"}
    assert "Fel e-postadress eller lösenord" in client.post("/login", data=wrong, headers=SV).get_data(as_text=True)
    assert "Wrong email or password" in client.post("/login", data=wrong).get_data(as_text=True)


def test_error_pages_are_swedish(client, admin):
    response = client.get("/locations/999999/edit", headers=SV)
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Hittades inte" in page and "Gå till startsidan" in page
    assert "Not found" in client.get("/locations/999999/edit").get_data(as_text=True)


def test_the_api_and_the_audit_log_stay_english(client, admin):
    response = client.get("/api/v1/nothing-here", headers={**SV, "Accept": "application/json"})
    assert response.status_code == 404 and response.get_json()["title"] == "Not Found"
    client.post("/locations/new", data={"code": "002", "name": "Hamnen", "region": ""}, headers=SV)
    summaries = db.session.scalars(select(AuditLog.summary).where(AuditLog.action == "location.created")).all()
    assert summaries == ["Location 002 Hamnen created"]


def test_the_cli_prints_english_role_labels(app, runner, make):
    make.org(name="Acme", slug="acme")
    result = runner.invoke(args=["create-user", "--org", "acme", "--email", "s@example.com", "--role", "shopper",
                                 "--password", "correct horse battery staple"])
    assert result.exit_code == 0, result.output
    assert "Secret shopper s@example.com" in result.output


def test_the_export_job_page_hands_its_texts_to_the_script(client, admin):
    from auditapp.auth.models import User
    from auditapp.exports.models import ExportJob

    user = db.session.scalar(select(User).where(User.email == "a@example.com"))
    job = ExportJob(org_id=admin.id, user_id=user.id, kind="scorecard", status="running", rows_done=3, rows_total=9)
    db.session.add(job)
    db.session.commit()
    page = _page(client, f"/exports/jobs/{job.id}", SV)
    assert "Resultatkort i Excel" in page and "Skriver: 3 av 9 svar" in page
    assert 'data-text-running="Skriver: {done} av {total} svar"' in page and 'data-text-done="Klar."' in page
    assert "Skriv ut" not in page and "köad" not in page
    assert "pågår" in _page(client, "/exports/jobs", SV)
