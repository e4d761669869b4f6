"""Hostile input catalogue, part 5: unicode round trips.

Emoji (with skin tones and zero-width-joiner families), right-to-left Arabic and Hebrew, combining characters (a
decomposed é, stacked diacritics) and the zero-width characters U+200B, U+200D and U+FEFF come back exactly as
sent: through the API (POST then GET), on the pages (escaped but present), through the journey workbook (export
then import), the locations CSV (export then import) and the Excel scorecard. Nothing is normalised (NFC) or
stripped on the way.
"""
from __future__ import annotations

import csv
import html
import io
import json
import re
import unicodedata
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from auditapp.evaluations.models import Evaluation
from auditapp.extensions import db
from auditapp.journeys.spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec
from auditapp.locations.models import Location

EMOJI = "Coffee ☕️ great 👍🏽 family 👨\u200d👩\u200d👧 flag 🇸🇪"
ARABIC = "خدمة ممتازة، شكراً"
HEBREW = "שירות מצוין, תודה"
COMBINING = "Cafe\u0301 Z\u0337\u0322a\u0334l\u0336g\u0338o"  # decomposed é; stacked marks
ZERO_WIDTH = "zero\u200bwidth\u200djoin\ufeffbom"
MIXED = f"{ARABIC} (RTL) then {HEBREW}, {EMOJI}, {COMBINING}, {ZERO_WIDTH}"
SAMPLES = [EMOJI, ARABIC, HEBREW, COMBINING, ZERO_WIDTH, MIXED]


def test_the_samples_are_what_they_claim():
    assert unicodedata.normalize("NFC", COMBINING) != COMBINING  # would change if normalised
    assert all(ch in ZERO_WIDTH for ch in "\u200b\u200d\ufeff")
    assert unicodedata.bidirectional(ARABIC[0]) == "AL" and unicodedata.bidirectional(HEBREW[0]) == "R"


@pytest.fixture
def world(make):
    from auditapp.journeys.services import create_journey_from_spec

    org = make.org(name=f"Org {EMOJI}")
    manager = make.user(org, "manager", email="boss@example.com", name=f"Boss {HEBREW}")
    shopper = make.user(org, "shopper", email="sam@example.com", name=f"Sam {ARABIC} {EMOJI}")
    location = Location(org_id=org.id, code="LOC-\u200b1", name=f"Branch {MIXED}", region=f"Region {COMBINING}")
    db.session.add(location)
    spec = JourneySpec(name=f"Journey {MIXED}", description=ZERO_WIDTH, moments=[
        MomentSpec(key="greeting", name=f"Greeting {ARABIC}", channel="face_to_face", description=COMBINING, questions=[
            QuestionSpec(key="greeted", text=f"Greeted? {HEBREW}", type="yes_no", required=True, help=EMOJI),
            QuestionSpec(key="pick", text=f"Pick {ZERO_WIDTH}", type="choice",
                         options=(OptionSpec(f"Fast {EMOJI}", 1.0), OptionSpec(f"Slow {ARABIC}", 0.0))),
            QuestionSpec(key="comment", text=f"Comment {COMBINING}", type="text"),
        ]),
    ])
    journey = create_journey_from_spec(org.id, spec)
    db.session.commit()
    return type("World", (), dict(org=org, manager=manager, shopper=shopper, location=location, journey=journey,
                                  token=make.token(shopper), manager_token=make.token(manager)))


def evaluation_body(world, uuid="unicode-0001") -> dict:
    return {
        "client_uuid": uuid, "journey_id": world.journey.id, "location_id": world.location.id, "source": "shopper",
        "started_at": "2025-01-01T10:00:00Z", "notes": MIXED,
        "answers": [
            {"moment": "greeting", "question": "greeted", "value": "yes", "note": EMOJI},
            {"moment": "greeting", "question": "pick", "value": f"Fast {EMOJI}", "note": ZERO_WIDTH},
            {"moment": "greeting", "question": "comment", "value": COMBINING, "note": ARABIC},
            {"moment": "greeting", "question": "verdict", "value": "magical", "note": HEBREW},
        ],
        "moment_notes": {"greeting": f"{ZERO_WIDTH} {MIXED}"},
    }


def test_api_post_then_get_returns_every_character(client, world):
    body = evaluation_body(world)
    created = client.post("/api/v1/evaluations", data=json.dumps(body, ensure_ascii=False).encode(),
                          content_type="application/json; charset=utf-8",
                          headers={"Authorization": f"Bearer {world.token}"})
    assert created.status_code == 201, created.json
    got = client.get(f"/api/v1/evaluations/{created.json['id']}", headers={"Authorization": f"Bearer {world.token}"}).json
    assert got["notes"] == MIXED
    answers = {a["question"]: a for a in got["answers"]}
    assert answers["greeted"]["note"] == EMOJI
    assert answers["pick"]["value"] == f"Fast {EMOJI}" and answers["pick"]["note"] == ZERO_WIDTH
    assert answers["comment"]["value"] == COMBINING and answers["comment"]["note"] == ARABIC
    assert answers["verdict"]["note"] == HEBREW
    assert got["moments"][0]["note"] == f"{ZERO_WIDTH} {MIXED}"
    # The same content sent again (escaped as \\uXXXX this time) is a replay of the same evaluation.
    again = client.post("/api/v1/evaluations", data=json.dumps(body), content_type="application/json",
                        headers={"Authorization": f"Bearer {world.token}"})
    assert again.status_code == 200 and again.json["id"] == created.json["id"]
    # And it is found with its text in the list.
    listed = client.get("/api/v1/evaluations", headers={"Authorization": f"Bearer {world.token}"}).json
    assert [e["notes"] for e in listed["items"]] == [MIXED]


def test_api_lists_journeys_and_locations_with_every_character(client, world):
    headers = {"Authorization": f"Bearer {world.token}"}
    journey = client.get("/api/v1/journeys", headers=headers).json[0]
    assert journey["name"] == f"Journey {MIXED}" and journey["description"] == ZERO_WIDTH
    moment = journey["moments"][0]
    assert moment["name"] == f"Greeting {ARABIC}" and moment["description"] == COMBINING
    assert [c["label"] for c in moment["questions"][1]["choices"]] == [f"Fast {EMOJI}", f"Slow {ARABIC}"]
    location = client.get("/api/v1/locations", headers=headers).json[0]
    assert location == {"id": world.location.id, "code": "LOC-\u200b1", "name": f"Branch {MIXED}",
                        "region": f"Region {COMBINING}"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        self.parts.extend(v for _, v in attrs if v)


def page_text(response) -> str:
    assert response.status_code == 200, response.request.path
    assert response.mimetype == "text/html" and response.mimetype_params.get("charset") == "utf-8"
    parser = _Text()
    parser.feed(response.get_data(as_text=True))
    return "\n".join(parser.parts)


def test_pages_show_every_character(client, auth, world, make):
    evaluation = make.evaluation(world.org, world.journey, world.location, world.shopper,
                                 answers={"greeting.comment": (COMBINING, ARABIC), "greeting.pick": f"Fast {EMOJI}"},
                                 notes=MIXED, moment_notes={"greeting": ZERO_WIDTH})
    auth.login("boss@example.com")
    j = world.journey.id
    assert f"Journey {MIXED}" in page_text(client.get("/journeys/"))
    text = page_text(client.get(f"/journeys/{j}/moments/{world.journey.current_version.moments[0].id}"))
    assert f"Greeting {ARABIC}" in text and f"Greeted? {HEBREW}" in text and EMOJI in text and COMBINING in text
    text = page_text(client.get("/locations/"))
    assert f"Branch {MIXED}" in text and "LOC-\u200b1" in text and f"Region {COMBINING}" in text
    text = page_text(client.get(f"/visits/review/{evaluation.id}"))
    assert MIXED in text and ARABIC in text and ZERO_WIDTH in text and f"Sam {ARABIC} {EMOJI}" in text
    auth.logout()
    auth.login("sam@example.com")
    text = page_text(client.get(f"/evaluations/{evaluation.id}"))
    assert MIXED in text and COMBINING in text and f"Fast {EMOJI}" in text
    text = page_text(client.get("/evaluations/new", query_string={"location": world.location.id, "journey": j}))
    assert f"Pick {ZERO_WIDTH}" in text and f"Slow {ARABIC}" in text


def test_the_phone_form_stores_every_character(client, auth, world):
    auth.login("sam@example.com")
    response = client.post("/evaluations/new", query_string={"location": world.location.id, "journey": world.journey.id},
                           data={"client_uuid": "unicode-form-1", "started_at": "2025-01-01T10:00:00Z",
                                 "location_id": str(world.location.id), "notes": MIXED,
                                 "answers.greeting.greeted": "yes", "answers.greeting.verdict": "neutral",
                                 "answers.greeting.comment": COMBINING, "answer_notes.greeting.comment": EMOJI,
                                 "moment_notes.greeting": ZERO_WIDTH})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stored = db.session.scalar(select(Evaluation))
    assert stored.notes == MIXED
    comment = next(a for a in stored.answers if a.question_key == "comment")
    assert comment.value == COMBINING and comment.note == EMOJI
    assert stored.moment_results[0].note == ZERO_WIDTH


def test_journey_workbook_export_then_import_gives_the_same_text(client, auth, world):
    from auditapp.journeys.services import version_to_spec
    from auditapp.journeys.workbook import read_journey_workbook

    auth.login("boss@example.com")
    response = client.get(f"/journeys/{world.journey.id}/workbook.xlsx")
    assert response.status_code == 200
    read = read_journey_workbook(response.data)
    original = version_to_spec(world.journey, world.journey.current_version)
    assert read.name == original.name and read.description == original.description
    assert [(m.name, m.description) for m in read.moments] == [(m.name, m.description) for m in original.moments]
    assert [(q.text, q.help, q.options) for q in read.moments[0].questions] == \
        [(q.text, q.help, q.options) for q in original.moments[0].questions]
    # And the import page takes it back: the name is taken, so it asks, offering a free name for a copy.
    upload = client.post("/journeys/import", data={"workbook": (io.BytesIO(response.data), "unicode.xlsx")},
                         content_type="multipart/form-data")
    page = upload.get_data(as_text=True)
    assert upload.status_code == 200 and "exists already" in page
    token = re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1)
    suggested = html.unescape(re.search(r'name="copy_name" type="text" value="([^"]*)"', page).group(1))
    assert suggested == f"Journey {MIXED} (2)"
    chosen = client.post("/journeys/import/choose", data={"upload": token, "choice": "copy", "copy_name": suggested})
    assert chosen.status_code == 302
    from auditapp.journeys.models import Journey

    names = sorted(db.session.scalars(select(Journey.name)))
    assert names == [f"Journey {MIXED}", f"Journey {MIXED} (2)"]
    copy = db.session.scalars(select(Journey).where(Journey.name == suggested)).one()
    assert [(m.name, m.description) for m in copy.current_version.moments] == \
        [(m.name, m.description) for m in original.moments]


def test_locations_csv_export_then_import_changes_nothing(client, auth, world):
    auth.login("boss@example.com")
    exported = client.get("/locations/export.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"), newline="")))
    assert rows[1] == ["LOC-\u200b1", f"Branch {MIXED}", f"Region {COMBINING}"]
    response = client.post("/locations/import", data={"file": (io.BytesIO(exported.data), "locations.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    locations = db.session.scalars(select(Location)).all()
    assert [(loc.code, loc.name, loc.region) for loc in locations] == [("LOC-\u200b1", f"Branch {MIXED}", f"Region {COMBINING}")]


def test_scorecard_and_responses_csv_keep_every_character(client, auth, world, make):
    make.evaluation(world.org, world.journey, world.location, world.shopper, notes=MIXED,
                    answers={"greeting.comment": (COMBINING, ARABIC), "greeting.greeted": ("yes", EMOJI)},
                    moment_notes={"greeting": ZERO_WIDTH})
    auth.login("boss@example.com")
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": world.journey.id})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    texts = {c.value for ws in book for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for wanted in (MIXED, COMBINING, ARABIC, EMOJI, ZERO_WIDTH, f"Branch {MIXED}", f"Greeting {ARABIC}",
                   f"Comment {COMBINING}", f"Sam {ARABIC} {EMOJI}"):
        assert wanted in texts, wanted
    response = client.get("/exports/responses.csv", query_string={"journey_id": world.journey.id})
    fields = {f for row in csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"), newline=""))
              for f in row}
    for wanted in (COMBINING, ARABIC, EMOJI, f"Branch {MIXED}", f"Sam {ARABIC} {EMOJI}", "LOC-\u200b1"):
        assert wanted in fields, wanted
