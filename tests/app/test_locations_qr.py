"""Printable QR codes: one per published journey and location, linking to the evaluation start page."""
from __future__ import annotations

import html
import re

import pytest

import auditapp.locations.views as location_views
from auditapp.extensions import db
from auditapp.locations.services import qr_svg


@pytest.fixture
def start_endpoint(app):
    """The QR codes link to evaluations.start; stand in for it while that page is not in the tree."""
    if "evaluations.start" not in app.view_functions:
        app.add_url_rule("/evaluations/start", "evaluations.start", lambda: "start")


@pytest.fixture
def setup(start_endpoint, make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    location = make.location(org, code="007", name="Harbour <Front>")
    auth.login("m@example.com")
    return org, location


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def test_qr_page_has_one_svg_per_journey_with_the_start_url(client, setup, make):
    org, location = setup
    cafe = make.journey(org, name="Café order")
    dentist = make.journey(org, name="Dentist visit")
    retired = make.journey(org, name="Old journey")
    retired.archived = True
    db.session.commit()
    response = client.get(f"/locations/{location.id}/qr")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    codes = svgs(page)
    assert len(codes) == 2
    assert "Old journey" not in page
    for journey, svg in zip((cafe, dentist), codes, strict=True):
        url = f"http://localhost/evaluations/start?location={location.id}&journey={journey.id}"
        assert html.escape(url) in page  # printed as text under the code
        # The drawn code is exactly the QR code of that URL.
        assert svg == qr_svg(url, f"QR code: {journey.name} at {location.name} ({location.code})")
        assert '<svg role="img"' in svg and "style=" not in svg
    assert "Harbour &lt;Front&gt;" in page and "<Front>" not in page
    assert "<script>" not in page


def test_print_all_has_a_sheet_per_active_location(client, setup, make):
    org, location = setup
    other = make.location(org, code="008", name="Airport")
    closed = make.location(org, code="009", name="Closed Shop")
    closed.archived = True
    make.journey(org)
    db.session.commit()
    page = client.get("/locations/qr").get_data(as_text=True)
    assert len(svgs(page)) == 2
    assert f"location={location.id}&amp;" in page and f"location={other.id}&amp;" in page
    assert "Closed Shop" not in page
    assert page.count('class="qr-sheet"') == 2


def test_without_published_journeys_the_page_says_so(client, setup):
    _, location = setup
    page = client.get(f"/locations/{location.id}/qr").get_data(as_text=True)
    assert "No journey is published yet" in page and "<svg" not in page


def test_without_the_start_page_the_qr_page_says_so(client, setup, make, monkeypatch):
    org, location = setup
    make.journey(org)
    monkeypatch.setattr(location_views, "START_ENDPOINT", "evaluations.not_there")
    page = client.get(f"/locations/{location.id}/qr").get_data(as_text=True)
    assert "evaluation start page is not available" in page and "<svg" not in page


def test_other_organisations_location_qr_is_404_and_print_all_is_scoped(client, setup, make):
    org, _ = setup
    other_org = make.org()
    theirs = make.location(other_org, name="Their Shop")
    make.journey(org)
    assert client.get(f"/locations/{theirs.id}/qr").status_code == 404
    assert "Their Shop" not in client.get("/locations/qr").get_data(as_text=True)


def test_archived_location_has_no_codes(client, setup, make):
    org, location = setup
    make.journey(org)
    location.archived = True
    db.session.commit()
    page = client.get(f"/locations/{location.id}/qr").get_data(as_text=True)
    assert "is archived: it takes no new evaluations" in page and "<svg" not in page
