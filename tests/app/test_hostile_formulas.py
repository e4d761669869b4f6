"""Hostile input catalogue, part 2: formula injection in every exported text field.

Each injection string goes into journey, moment and question texts, choice labels, help, location codes, names and
regions, evaluator names, notes, moment notes, answer notes and text answers. Then:
- .xlsx files (the journey workbook and the Excel scorecard, every sheet, also per location): no cell is a formula
  (openpyxl data_type "f") and each string reads back as the same literal text (contract section 6);
- CSV files (locations and responses): the exporters' documented rule (exports/safety.py, locations/services.py):
  text that starts with =, +, -, @, a tab or a carriage return gets one leading apostrophe; every other field,
  and real numbers, are written as they are.
"""
from __future__ import annotations

import csv
import io
import itertools
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from auditapp.extensions import db
from auditapp.journeys.spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec
from auditapp.locations.models import Location
from auditapp.timeutil import utcnow

INJECTIONS = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://evil.example","x")']
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def tagged(index: int, where: str) -> str:
    """The injection string `index`, followed by where it was put (so every field is told apart)."""
    return f"{INJECTIONS[index % len(INJECTIONS)]} {where}"


def csv_guarded(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


@pytest.fixture
def scene(app, make):
    from auditapp.journeys.services import create_journey_from_spec

    org = make.org()
    manager = make.user(org, "manager", email="boss@example.com", name="Boss")
    counter = itertools.count()
    texts: dict[str, str] = {}

    def t(where: str, *, strip: bool = False) -> str:
        texts[where] = tagged(next(counter), where)
        if strip:  # choice labels are trimmed by the builder and the workbook, so none starts with a tab or CR
            texts[where] = texts[where].strip()
        return texts[where]

    moments = []
    for m in range(len(INJECTIONS)):
        moments.append(MomentSpec(key=f"m{m}", name=t(f"moment {m}"), channel="face_to_face", description=t(f"mdesc {m}"),
                                  questions=[
                                      QuestionSpec(key="q", text=t(f"question {m}"), type="text", help=t(f"help {m}")),
                                      QuestionSpec(key="c", text=t(f"choice question {m}"), type="choice",
                                                   options=(OptionSpec(t(f"option {m}", strip=True), 1.0), OptionSpec("Plain", 0.0))),
                                      QuestionSpec(key="n", text="Seconds", type="number"),
                                  ]))
    journey = create_journey_from_spec(org.id, JourneySpec(name=t("journey"), description=t("description"), moments=moments))
    locations = []
    for n in range(3):
        location = Location(org_id=org.id, code=t(f"code {n}")[:64], name=t(f"location {n}"), region=t(f"region {n}"))
        db.session.add(location)
        locations.append(location)
    db.session.commit()
    shoppers = [make.user(org, "shopper", email=f"s{n}@example.com", name=t(f"shopper {n}")) for n in range(2)]
    staff = make.user(org, "staff", email="staff@example.com", name=t("staff"), location=locations[0])
    for n, user in enumerate(shoppers):  # account names are trimmed when stored: a leading tab or CR goes
        texts[f"shopper {n}"] = user.name
    texts["staff"] = staff.name
    started = utcnow() - timedelta(days=2)
    for n, (user, location) in enumerate([(shoppers[0], locations[0]), (shoppers[1], locations[1]),
                                          (shoppers[0], locations[2]), (staff, locations[0])]):
        answers = {}
        for m in range(len(INJECTIONS)):
            answers[f"m{m}.verdict"] = ("magical", t(f"verdict note {n}.{m}"))
            answers[f"m{m}.q"] = (t(f"answer {n}.{m}"), t(f"answer note {n}.{m}"))
            answers[f"m{m}.c"] = texts[f"option {m}"]
            answers[f"m{m}.n"] = -5
        make.evaluation(org, journey, location, user, answers=answers, notes=t(f"notes {n}"),
                        moment_notes={f"m{m}": t(f"moment note {n}.{m}") for m in range(len(INJECTIONS))},
                        started_at=started + timedelta(hours=n))
    return type("Scene", (), dict(org=org, manager=manager, journey=journey, locations=locations, texts=texts))


def login(client, email="boss@example.com"):
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302


def workbook_cells(data: bytes):
    workbook = load_workbook(io.BytesIO(data))
    return [(ws.title, cell) for ws in workbook for row in ws.iter_rows() for cell in row]


def assert_no_formulas_and_verbatim(data: bytes, expected: list[str]) -> set[str]:
    cells = workbook_cells(data)
    formulas = [(title, cell.coordinate, cell.value) for title, cell in cells if cell.data_type == "f"]
    assert formulas == []
    texts = {cell.value for _, cell in cells if isinstance(cell.value, str)}
    missing = [text for text in expected if text not in texts]
    assert missing == []
    return texts


def test_every_injection_string_is_in_the_scene(scene):
    for injection in INJECTIONS:
        assert any(text.startswith(injection + " ") for text in scene.texts.values()), injection


def test_journey_workbook_export_writes_text_not_formulas(client, scene):
    login(client)
    response = client.get(f"/journeys/{scene.journey.id}/workbook.xlsx")
    assert response.status_code == 200
    wanted = [v for k, v in scene.texts.items() if k.split()[0] in ("journey", "description", "moment", "mdesc",
                                                                     "question", "help", "choice")
              and not k.startswith("moment note")]
    texts = assert_no_formulas_and_verbatim(response.data, wanted)
    # Options are written as Label=score|Label=score; the injected label leads the cell.
    for m in range(len(INJECTIONS)):
        assert f"{scene.texts[f'option {m}']}=1|Plain=0" in texts


def test_journey_workbook_cli_export_writes_text_not_formulas(runner, scene, tmp_path):
    target = tmp_path / "journey.xlsx"
    result = runner.invoke(args=["export-journey", str(scene.journey.id), str(target)])
    assert result.exit_code == 0, result.output
    assert_no_formulas_and_verbatim(target.read_bytes(), [scene.texts["journey"], scene.texts["moment 0"]])


@pytest.mark.parametrize("per_location", ["no", "yes"])
def test_scorecard_xlsx_every_sheet_writes_text_not_formulas(client, scene, per_location):
    login(client)
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene.journey.id, "source": "all",
                                                                  "per_location": per_location})
    assert response.status_code == 200
    wanted = [v for k, v in scene.texts.items()
              if k.split()[0] in ("location", "moment", "question", "choice", "shopper", "staff", "notes", "answer",
                                  "option", "verdict")
              or k.startswith("moment note")]
    texts = assert_no_formulas_and_verbatim(response.data, wanted)
    assert scene.texts["journey"] in " ".join(texts)  # the Summary names the journey (perhaps with more words)
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:6] == ["Summary", "Locations", "Trend", "Gap", "Responses", "Notes"]
    if per_location == "yes":
        assert len(workbook.sheetnames) > 6  # a sheet per location, named after hostile names


def test_scorecard_xlsx_from_the_api_is_the_same_safe_file(client, make, scene):
    token = make.token(scene.manager)
    response = client.get("/api/v1/scorecard.xlsx", query_string={"journey_id": scene.journey.id, "source": "all"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert_no_formulas_and_verbatim(response.data, [scene.texts["notes 0"], scene.texts["location 1"]])


def test_locations_csv_guards_every_formula_like_field(client, scene):
    login(client)
    response = client.get("/locations/export.csv")
    assert response.status_code == 200
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["code", "name", "region"]
    by_name = {row[1]: row for row in rows[1:]}
    for location in scene.locations:
        row = by_name[csv_guarded(location.name)]
        assert row == [csv_guarded(location.code), csv_guarded(location.name), csv_guarded(location.region)]
    for row in rows[1:]:
        for field in row:
            assert not field.startswith(FORMULA_START), row


def test_responses_csv_guards_every_formula_like_field(client, scene):
    login(client)
    response = client.get("/exports/responses.csv", query_string={"journey_id": scene.journey.id, "source": "all"})
    assert response.status_code == 200
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert body
    for row in body:
        for field in row:
            assert not field.startswith(FORMULA_START) or _is_number(field), row
    fields = {field for row in body for field in row}
    for key, value in scene.texts.items():
        if key.split()[0] in ("location", "moment", "question", "choice", "shopper", "staff", "answer", "verdict",
                              "option") and not key.startswith("moment note"):
            assert csv_guarded(value) in fields, key
    # A real negative number is a number: written unquoted, never prefixed.
    raw_lines = text.splitlines()
    column = header.index("Answer")
    numbers = [row[column] for row in body if row[header.index("Question key")] == "n"]
    assert numbers and {float(n) for n in numbers} == {-5.0}
    assert any(f",{numbers[0]}," in line for line in raw_lines)  # unquoted


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
