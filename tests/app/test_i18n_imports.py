"""The import pages' problems in the reader's language (issue 16): a journey workbook's and an XLSForm's problems,
the parts an XLSForm leaves out, and the locations import report follow the browser's language; English stays the
default, and the CLI (outside a request) stays English."""
from __future__ import annotations

import io

import pytest

from auditapp.journeys.models import Journey
from auditapp.locations.models import Location
from tests.app.test_journeys_workbook import _book
from tests.xlsform_forms import build, restaurant_checklist

SV = {"Accept-Language": "sv"}
BAD_MOMENTS = [["arrival", "Arrival", "by_pigeon"], ["arrival", "Again", "phone"]]


@pytest.fixture
def manager(make, auth):
    org = make.org(slug="acme")
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def _upload_journey(client, data: bytes, headers=None) -> str:
    response = client.post("/journeys/import", data={"workbook": (io.BytesIO(data), "journey.xlsx")},
                           content_type="multipart/form-data", headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _upload_locations(client, data: bytes, filename: str = "list.csv", headers=None) -> str:
    response = client.post("/locations/import", data={"file": (io.BytesIO(data), filename)},
                           content_type="multipart/form-data", headers=headers or {})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_journey_workbook_problems_are_swedish_for_a_swedish_browser(client, manager):
    page = _upload_journey(client, _book(moments=BAD_MOMENTS), SV)
    assert "Ingenting importerades: 2 problem i arbetsboken" in page
    assert "Blad <strong>moments</strong>, rad <strong>2</strong>, kolumn <strong>channel</strong>:</span> okänt värde i " \
           "channel: &#39;by_pigeon&#39; (använd något av face_to_face" in page
    assert "ögonblicksnyckeln &#39;arrival&#39; finns redan (används på rad 2)" in page
    assert "unknown channel" not in page and "duplicate moment key" not in page
    assert Journey.query.count() == 0


def test_journey_workbook_problems_stay_english_by_default(client, manager):
    page = _upload_journey(client, _book(moments=BAD_MOMENTS))
    assert "unknown channel &#39;by_pigeon&#39; (use one of face_to_face" in page
    assert "duplicate moment key &#39;arrival&#39; (already used on row 2)" in page
    assert "okänt värde" not in page


def test_not_a_workbook_and_a_missing_sheet_in_swedish(client, manager):
    page = _upload_journey(client, b"not a zip", SV)
    assert "ingen .xlsx-arbetsbok; spara filen från Excel eller LibreOffice" in page
    page = _upload_journey(client, _book(sheets=("journey", "moments")), SV)
    assert "bladet &#39;questions&#39; saknas; alla tre bladen (journey, moments, questions) krävs" in page


def test_xlsform_problems_and_left_out_parts_in_swedish(client, manager):
    page = _upload_journey(client, build([["type", "name", "label"], ["select_one nope", "a", "A?"]]), SV)
    assert "vallistan &#39;nope&#39; finns inte på bladet choices" in page
    page = _upload_journey(client, restaurant_checklist(), SV)
    assert "upprepningen &#39;dishes&#39; (rad 8-11, 2 frågor i den)" in page
    assert "upprepningar stöds inte: ett ögonblick besvaras en gång per besök" in page
    assert "beräkningar ingår inte i en kundresa" in page
    english = _upload_journey(client, restaurant_checklist())
    assert "repeat &#39;dishes&#39; (rows 8-11, 2 questions in it)" in english
    assert "repeats are not supported: a moment is answered once per visit" in english


def test_locations_import_report_in_swedish_and_in_english(client, manager, make):
    make.location(manager, code="001", name="City")
    data = b"code,name,region,extra\n001,City Renamed,North,x\n,No code,North,\n001,Twice,North,\n"
    page = _upload_locations(client, data, headers=SV)
    assert '<td class="num">3</td><td>code</td><td>code måste fyllas i</td>' in page
    assert "koden &#39;001&#39; finns också på rad 2" in page
    assert "<li>rad 1, extra: okänd kolumn, hoppas över</li>" in page  # a note, fixed automatically
    page = _upload_locations(client, data)
    assert '<td class="num">3</td><td>code</td><td>code is required</td>' in page
    assert "code &#39;001&#39; is also on row 2" in page
    assert "<li>row 1, extra: unknown column, ignored</li>" in page
    assert Location.query.filter_by(name="City").count() == 1


def test_locations_file_problems_in_swedish(client, manager):
    page = _upload_locations(client, b"\xff\xfe code", headers=SV)
    assert "filen är inte UTF-8-text (rad 1); välj &#39;CSV UTF-8&#39;" in page
    page = _upload_locations(client, b"code,name\n", headers=SV)
    assert "filen har en rubrikrad men inga enheter" in page


def test_cli_import_journey_stays_english_after_a_swedish_page(client, manager, runner, tmp_path):
    _upload_journey(client, _book(moments=BAD_MOMENTS), SV)  # the tests' app context outlives the request
    path = tmp_path / "journey.xlsx"
    path.write_bytes(_book(moments=BAD_MOMENTS))
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert result.exit_code != 0
    assert "Nothing imported: 2 problems in the workbook:" in result.output
    assert "- moments, row 2, column channel: unknown channel 'by_pigeon'" in result.output
    assert "- moments, row 3, column key: duplicate moment key 'arrival' (already used on row 2)" in result.output
    path.write_bytes(restaurant_checklist())
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert "- survey, row 8: repeat 'dishes' (rows 8-11, 2 questions in it): repeats are not supported" in result.output


def test_cli_import_locations_stays_english_after_a_swedish_page(client, manager, runner, tmp_path):
    _upload_locations(client, b"code,name\n,No code\n", headers=SV)
    path = tmp_path / "list.csv"
    path.write_bytes(b"code,name,extra\n,No code,x\n")
    result = runner.invoke(args=["import-locations", "--org", "acme", str(path)])
    assert result.exit_code != 0
    assert "note: row 1, extra: unknown column, ignored" in result.output
    assert "list.csv: row 2, code: code is required" in result.output
