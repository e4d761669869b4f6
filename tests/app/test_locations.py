"""Locations pages: list and filter, create, edit, archive, import (UI and CLI), CSV download, access."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.locations.models import Location


def locations_of(org) -> dict[str, tuple[str, str, bool]]:
    db.session.expire_all()
    rows = db.session.scalars(select(Location).where(Location.org_id == org.id))
    return {loc.code: (loc.name, loc.region, loc.archived) for loc in rows}


@pytest.fixture
def manager(make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def upload(client, data: bytes, filename: str):
    return client.post("/locations/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_list_shows_active_and_archived_under_a_toggle(client, manager, make):
    make.location(manager, code="001", name="City Centre", region="North")
    gone = make.location(manager, code="002", name="Closed Branch", region="South")
    gone.archived = True
    db.session.commit()
    page = client.get("/locations/").get_data(as_text=True)
    assert "City Centre" in page
    active_part, archived_part = page.split("Archived locations (1)")
    assert "Closed Branch" not in active_part and "Closed Branch" in archived_part
    assert "<details class=\"archived-locations\">" in page
    assert "<details class=\"archived-locations\" open>" in client.get("/locations/?archived=1").get_data(as_text=True)


def test_filter_by_region_and_search(client, manager, make):
    make.location(manager, code="001", name="City Centre", region="North")
    make.location(manager, code="002", name="Harbour", region="South")
    make.location(manager, code="003", name="Airport 100%", region="South")
    page = client.get("/locations/?region=South").get_data(as_text=True)
    assert "Harbour" in page and "Airport" in page and "City Centre" not in page
    page = client.get("/locations/?q=harb").get_data(as_text=True)
    assert "Harbour" in page and "City Centre" not in page and "Airport" not in page
    page = client.get("/locations/?q=100%25").get_data(as_text=True)  # % is literal, not a wildcard
    assert "Airport" in page and "Harbour" not in page


def test_create_keeps_leading_zeros_and_is_audited(client, manager):
    response = client.post("/locations/new", data={"code": " 007 ", "name": "Old Town", "region": "South"})
    assert response.status_code == 302
    assert locations_of(manager) == {"007": ("Old Town", "South", False)}
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "location.created")).org_id == manager.id


def test_create_with_errors_keeps_what_was_typed(client, manager, make):
    make.location(manager, code="001", name="City Centre")
    response = client.post("/locations/new", data={"code": "001", "name": "Second City", "region": "West"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Code 001 is already used by City Centre." in page
    assert 'value="Second City"' in page and 'value="West"' in page
    response = client.post("/locations/new", data={"code": "", "name": "=cmd()", "region": ""})
    page = response.get_data(as_text=True)
    assert "Give the location a code." in page
    assert "Starts with &#39;=&#39; and would be a spreadsheet formula" in page
    assert locations_of(manager) == {"001": ("City Centre", "North", False)}


def test_edit_and_archive_unarchive(client, manager, make):
    location = make.location(manager, code="001", name="City", region="North")
    page = client.get(f"/locations/{location.id}/edit").get_data(as_text=True)
    assert 'value="City"' in page and 'list="region-options"' in page
    response = client.post(f"/locations/{location.id}/edit", data={"code": "001", "name": "City Centre", "region": "Central"})
    assert response.status_code == 302
    assert locations_of(manager) == {"001": ("City Centre", "Central", False)}
    assert client.post(f"/locations/{location.id}/archive").status_code == 302
    assert locations_of(manager)["001"][2] is True
    assert client.post(f"/locations/{location.id}/unarchive").status_code == 302
    assert locations_of(manager)["001"][2] is False
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.object_id == location.id)).all()
    assert {"location.updated", "location.archived", "location.unarchived"} <= set(actions)


def test_edit_to_a_code_in_use_is_refused(client, manager, make):
    make.location(manager, code="001", name="City")
    other = make.location(manager, code="002", name="Harbour")
    response = client.post(f"/locations/{other.id}/edit", data={"code": "001", "name": "Harbour", "region": ""})
    assert "Code 001 is already used by City." in response.get_data(as_text=True)
    assert set(locations_of(manager)) == {"001", "002"}


@pytest.mark.parametrize("role", ["shopper", "staff"])
def test_shoppers_and_staff_get_403(client, auth, make, role):
    org = make.org()
    location = make.location(org)
    make.user(org, role, email="u@example.com")
    auth.login("u@example.com")
    for url in ("/locations/", "/locations/new", f"/locations/{location.id}/edit", "/locations/import",
                "/locations/export.csv", f"/locations/{location.id}/qr", "/locations/qr"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/locations/{location.id}/archive").status_code == 403
    assert locations_of(org)[location.code][2] is False


def test_other_organisations_location_is_404(client, manager, make):
    other_org = make.org()
    theirs = make.location(other_org, code="X1", name="Their Shop")
    for url in (f"/locations/{theirs.id}/edit", f"/locations/{theirs.id}/qr"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/locations/{theirs.id}/edit", data={"code": "X1", "name": "Mine now"}).status_code == 404
    assert client.post(f"/locations/{theirs.id}/archive").status_code == 404
    assert locations_of(other_org) == {"X1": ("Their Shop", "North", False)}
    assert "Their Shop" not in client.get("/locations/").get_data(as_text=True)
    assert b"Their Shop" not in client.get("/locations/export.csv").data


def test_logged_out_is_sent_to_login(client):
    response = client.get("/locations/")
    assert response.status_code == 302 and "/login" in response.location


def test_import_csv_then_reimport_updates_by_code(client, manager):
    response = upload(client, "code;name;region\n001;Café Nord;North\n002;Harbour;\n".encode(), "list.csv")
    assert response.status_code == 302
    assert locations_of(manager) == {"001": ("Café Nord", "North", False), "002": ("Harbour", "", False)}
    flashed = client.get("/locations/").get_data(as_text=True)
    assert "created 2, updated 0" in flashed
    response = upload(client, b"\xef\xbb\xbfCODE,NAME,REGION\n002,Harbour Front,West\n003,Airport,South\n", "list.csv")
    assert response.status_code == 302
    assert locations_of(manager) == {"001": ("Café Nord", "North", False), "002": ("Harbour Front", "West", False),
                                     "003": ("Airport", "South", False)}
    assert "created 1, updated 1" in client.get("/locations/").get_data(as_text=True)


def test_import_xlsx(client, manager):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["code", "name", "region"], ["0100", "Web shop", "Online"], [5, "Desk", "North"]):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(client, buffer.getvalue(), "list.xlsx").status_code == 302
    assert locations_of(manager) == {"0100": ("Web shop", "Online", False), "5": ("Desk", "North", False)}


def test_import_with_a_bad_row_imports_nothing_and_reports_rows(client, manager, make):
    make.location(manager, code="001", name="City")
    data = b"code,name,region\n001,City Renamed,North\n,No code,North\n003,,South\n001,Twice,North\n"
    response = upload(client, data, "list.csv")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing was imported: 3 problems in the file" in page
    assert '<td class="num">3</td><td>code</td><td>code is required</td>' in page
    assert '<td class="num">4</td><td>name</td><td>name is required</td>' in page
    assert '<td class="num">5</td><td>code</td><td>code &#39;001&#39; is also on row 2</td>' in page
    assert locations_of(manager) == {"001": ("City", "North", False)}


def test_import_form_needs_a_csv_or_xlsx(client, manager):
    page = client.post("/locations/import", data={}, content_type="multipart/form-data").get_data(as_text=True)
    assert "Choose a .csv or .xlsx file." in page
    page = upload(client, b"%PDF", "list.pdf").get_data(as_text=True)
    assert "The file must be a .csv or an .xlsx file." in page


def test_csv_download_round_trips_and_guards_formulas(client, manager, make):
    make.location(manager, code="007", name="-Lower deck", region="Ships")
    make.location(manager, code="010", name="Desk, Upper", region="")
    archived = make.location(manager, code="099", name="Closed")
    archived.archived = True
    db.session.commit()
    response = client.get("/locations/export.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeffcode,name,region\r\n")
    assert "007,'-Lower deck,Ships" in text and '010,"Desk, Upper",' in text and "099" not in text
    assert "099,Closed" in client.get("/locations/export.csv?archived=1").data.decode()
    # Edited and imported back: nothing changes, the guard apostrophe is not kept.
    assert upload(client, response.data, "locations.csv").status_code == 302
    assert locations_of(manager)["007"] == ("-Lower deck", "Ships", False)
    assert "created 0, updated 0, unchanged 2" in client.get("/locations/").get_data(as_text=True)


def test_cli_import_locations(app, runner, make, tmp_path):
    org = make.org(slug="acme")
    good = tmp_path / "places.csv"
    good.write_text("code,name,region\n001,City,North\n002,Harbour,South\n", encoding="utf-8")
    result = runner.invoke(args=["import-locations", "--org", "acme", str(good)])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0" in result.output
    good.write_text("code,name,region\n002,Harbour Front,South\n", encoding="utf-8")
    result = runner.invoke(args=["import-locations", "--org", "acme", str(good)])
    assert result.exit_code == 0 and "created 0, updated 1" in result.output
    assert locations_of(org) == {"001": ("City", "North", False), "002": ("Harbour Front", "South", False)}


def test_cli_import_locations_lists_every_problem_and_imports_nothing(app, runner, make, tmp_path):
    org = make.org(slug="acme")
    bad = tmp_path / "places.csv"
    bad.write_text("code,name\n,No code\n004,\n005,Fine\n", encoding="utf-8")
    result = runner.invoke(args=["import-locations", "--org", "acme", str(bad)])
    assert result.exit_code != 0
    assert "places.csv: row 2, code: code is required" in result.output
    assert "places.csv: row 3, name: name is required" in result.output
    assert "2 problems found: nothing was imported" in result.output
    assert locations_of(org) == {}
    result = runner.invoke(args=["import-locations", "--org", "nope", str(bad)])
    assert result.exit_code != 0 and "no organisation with slug 'nope'" in result.output
