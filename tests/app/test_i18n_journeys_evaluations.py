"""The journey builder and the phone form in Swedish: pages, form errors, flash messages and the words the phone
script shows; without Accept-Language they stay English, and spec's English labels (workbooks, exports, the API)
are not touched."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from auditapp.journeys import labels, spec

SV = {"Accept-Language": "sv"}


@pytest.fixture
def manager(make, auth):
    org = make.org()
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


@pytest.fixture
def shopper_world(make, auth):
    org = make.org()
    make.user(org, "shopper", email="shopper@example.com")
    location = make.location(org, name="Harbour")
    journey = make.journey(org)
    auth.login("shopper@example.com")
    return location, journey


def _ui_text(html: str, block: str) -> dict:
    found = re.search(rf"<meta name=\"{block}\" content='(.*?)'>", html, re.S)
    assert found, f"no {block} tag"
    return json.loads(unescape(found.group(1)))


def test_page_labels_have_the_same_keys_as_the_english_ones():
    assert labels.CHANNEL_LABELS.keys() == spec.CHANNELS.keys()
    assert labels.KIND_LABELS.keys() == spec.KINDS.keys()
    assert labels.QUESTION_TYPE_LABELS.keys() == spec.QUESTION_TYPES.keys()


def test_journey_list_and_timeline_in_swedish_and_english(client, make, manager):
    journey = make.journey(manager, name="Café order")
    swedish = client.get("/journeys/", headers=SV).get_data(as_text=True)
    assert "Kundresor" in swedish and "Publicerad v1" in swedish and "3 ögonblick" in swedish
    english = client.get("/journeys/").get_data(as_text=True)
    assert "Published v1" in english and "3 moments" in english and "Kundresor" not in english

    timeline = client.get(f"/journeys/{journey.id}", headers=SV).get_data(as_text=True)
    assert "Lägg till ett ögonblick" in timeline and "Ansikte mot ansikte" in timeline and "Tidslinje" in timeline
    assert "Café order" in timeline  # the journey's own name is content, not interface
    assert _ui_text(timeline, "ui-text-journeys")["moment"] == "Ögonblick {n}"
    assert _ui_text(client.get(f"/journeys/{journey.id}").get_data(as_text=True), "ui-text-journeys")["moment"] == "Moment {n}"


def test_moment_form_choices_and_errors_in_swedish(client, make, manager):
    journey = make.journey(manager)
    page = client.get(f"/journeys/{journey.id}/moments/new", headers=SV).get_data(as_text=True)
    assert "Nytt ögonblick" in page and ">Kanal<" in page and ">Avgörande<" in page
    assert 'value="face_to_face"' in page  # posted values stay the keys
    response = client.post(f"/journeys/{journey.id}/moments/new", headers=SV,
                           data={"name": "", "channel": "phone", "weight": "-1"})
    html = response.get_data(as_text=True)
    assert "Ge ögonblicket ett namn." in html and "Ange ett tal från 0 och uppåt (högst 1000)" in html


def test_a_flash_message_in_swedish(client, manager):
    response = client.post("/journeys/new", headers=SV, data={"name": "Bankbesök", "description": ""},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Kundresan ”Bankbesök” har skapats. Lägg till dess ögonblick och publicera den sedan." in html
    english = client.post("/journeys/new", data={"name": "Bank visit", "description": ""}, follow_redirects=True)
    assert "Journey &#39;Bank visit&#39; created." in english.get_data(as_text=True)


def test_the_workbook_stays_english_whatever_the_language(client, make, manager):
    from io import BytesIO

    from openpyxl import load_workbook

    journey = make.journey(manager)
    data = client.get(f"/journeys/{journey.id}/workbook.xlsx", headers=SV).data
    cells = {str(c.value) for ws in load_workbook(BytesIO(data)).worksheets for row in ws.iter_rows() for c in row}
    assert not any("ögonblick" in value.lower() or "kundresa" in value.lower() for value in cells)


def test_phone_form_in_swedish_with_the_script_words(client, shopper_world):
    location, journey = shopper_world
    url = f"/evaluations/new?location={location.id}&journey={journey.id}"
    html = client.get(url, headers=SV).get_data(as_text=True)
    assert "Skicka utvärderingen" in html and "Ögonblick 1 av 3" in html and ">Usel<" in html.replace("</svg>", ">")
    assert "Ansikte mot ansikte" in html and "Ej tillämpligt" in html
    words = _ui_text(html, "ui-text-evaluate")
    assert words["states"]["draft"] == "Sparad på den här telefonen"
    assert words["fixProblems"] == ["Rätta {n} problem", "Rätta {n} problem"]
    assert words["queueWaiting"][1].startswith("{n} utvärderingar väntar")

    english = client.get(url).get_data(as_text=True)
    assert "Send evaluation" in english and "Moment 1 of 3" in english
    english_words = _ui_text(english, "ui-text-evaluate")
    assert english_words["states"]["draft"] == "Saved on this phone"
    assert english_words["missing"][0] == "{n} required answer still missing: go back, or press Send to see where"


def test_evaluation_flash_and_start_page_errors_in_swedish(client, shopper_world):
    response = client.get("/evaluations/new", headers=SV, follow_redirects=True)
    assert "Välj först en enhet och en kundresa." in response.get_data(as_text=True)
    page = client.get("/evaluations/start?location=999999", headers=SV).get_data(as_text=True)
    assert "Den här enheten är inte tillgänglig: välj en annan." in page and "Starta en utvärdering" in page
    mine = client.get("/evaluations/mine", headers=SV).get_data(as_text=True)
    assert "Mina utvärderingar" in mine and "Inget skickat än." in mine
