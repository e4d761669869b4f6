"""Journey workbooks through the CLI (import-journey, export-journey) and the builder's upload and download."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook

from auditapp.extensions import db
from auditapp.journeys import versioning
from auditapp.journeys.library import get_library_journey
from auditapp.journeys.models import Journey, JourneyVersion, Moment, Question
from auditapp.journeys.services import version_to_spec
from auditapp.journeys.spec import VERDICT_KEY
from auditapp.journeys.workbook import read_journey_workbook, write_journey_workbook
from tests.factories import sample_spec

MOMENTS = ["key", "name", "channel", "kind", "priority", "weight", "expected_seconds", "description"]
QUESTIONS = ["moment", "key", "text", "type", "required", "weight", "critical", "options", "target", "help"]


def _book(moments=None, questions=None, sheets=("journey", "moments", "questions")) -> bytes:
    content = {
        "journey": [["name", "Dentist visit"], ["description", "A checkup"]],
        "moments": [MOMENTS] + (moments or [["arrival", "Arrival", "face_to_face", "basic", "yes", 1, 60, "In"]]),
        "questions": [QUESTIONS] + (questions or [["arrival", "greeted", "Greeted?", "yes_no", "yes", 1, "no"]]),
    }
    book = Workbook()
    book.remove(book.active)
    for title in sheets:
        sheet = book.create_sheet(title)
        for row in content[title]:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BAD_BOOKS = {
    "missing sheet": (dict(sheets=("journey", "moments")), ["questions", "sheet 'questions' is missing"]),
    "duplicate keys": (dict(moments=[["arrival", "Arrival", "face_to_face"], ["arrival", "Again", "phone"]]),
                       ["moments", "row 3", "column key", "duplicate moment key 'arrival'"]),
    "unknown type": (dict(questions=[["arrival", "greeted", "Greeted?", "yes_or_no"]]),
                     ["questions", "row 2", "column type", "unknown type 'yes_or_no'"]),
}


@pytest.fixture
def org(make):
    return make.org(slug="acme")


def _write(tmp_path, data: bytes, name: str = "journey.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------------- CLI


def test_cli_import_publishes_and_prints_the_id_last(runner, org, tmp_path):
    path = _write(tmp_path, write_journey_workbook(get_library_journey("dentist-visit")))
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert result.exit_code == 0, result.output
    journey_id = int(result.output.strip().splitlines()[-1])
    journey = db.session.get(Journey, journey_id)
    assert journey.org_id == org.id and journey.name == "Dentist visit"
    assert journey.current_version.status == "published" and journey.current_version.number == 1
    assert [m.key for m in journey.current_version.moments][0] == "booking_call"
    assert all(m.questions[-1].key == VERDICT_KEY for m in journey.current_version.moments)


def test_cli_import_adds_missing_verdicts(runner, org, tmp_path):
    path = _write(tmp_path, _book())
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert result.exit_code == 0, result.output
    moment = Moment.query.one()
    assert [q.key for q in moment.questions] == ["greeted", VERDICT_KEY]


@pytest.mark.parametrize("case", list(BAD_BOOKS))
def test_cli_import_of_a_bad_workbook_lists_problems_and_imports_nothing(runner, org, tmp_path, case):
    kwargs, expected = BAD_BOOKS[case]
    path = _write(tmp_path, _book(**kwargs))
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert result.exit_code != 0
    for text in expected:
        assert text in result.output
    assert Journey.query.count() == 0 and Moment.query.count() == 0 and JourneyVersion.query.count() == 0


def test_cli_import_reports_every_problem_at_once(runner, org, tmp_path):
    path = _write(tmp_path, _book(
        moments=[["arrival", "Arrival", "by_pigeon"], ["Bad Key", "X", "phone"]],
        questions=[["arrival", "q1", "Q?", "choice", "no", "heavy", "no", "Yes=3"], ["ghost", "q2", "Q?", "text"]]))
    result = runner.invoke(args=["import-journey", "--org", "acme", str(path)])
    assert result.exit_code != 0
    for text in ["unknown channel 'by_pigeon'", "key 'Bad Key'", "weight must be a number", "scores must be between 0 and 1",
                 "no moment has the key 'ghost'"]:
        assert text in result.output
    assert Journey.query.count() == 0


def test_cli_import_unknown_org(runner, tmp_path):
    path = _write(tmp_path, _book())
    result = runner.invoke(args=["import-journey", "--org", "nobody", str(path)])
    assert result.exit_code != 0 and "no organisation" in result.output


def test_cli_round_trip_import_export_import_gives_the_same_journey(runner, org, tmp_path):
    first = _write(tmp_path, write_journey_workbook(get_library_journey("airline-trip")), "first.xlsx")
    id1 = int(runner.invoke(args=["import-journey", "--org", "acme", str(first)]).output.strip().splitlines()[-1])
    exported = tmp_path / "exported.xlsx"
    result = runner.invoke(args=["export-journey", str(id1), str(exported)])
    assert result.exit_code == 0, result.output
    # The name is taken now: as a copy it is a second journey, as a new version the same journey's version 2.
    result = runner.invoke(args=["import-journey", "--org", "acme", "--if-exists", "copy", str(exported)])
    id2 = int(result.output.strip().splitlines()[-1])
    result = runner.invoke(args=["import-journey", "--org", "acme", "--if-exists", "new-version", str(exported)])
    assert int(result.output.strip().splitlines()[-1]) == id1
    assert id1 != id2
    db.session.expire_all()
    j1, j2 = db.session.get(Journey, id1), db.session.get(Journey, id2)
    spec1, spec2 = version_to_spec(j1, j1.versions[0]), version_to_spec(j2, j2.current_version)
    assert j2.name == "Airline trip (2)"
    spec2.name = spec1.name
    assert spec1 == spec2 == get_library_journey("airline-trip")
    assert j1.current_version.number == 2 and version_to_spec(j1, j1.current_version) == spec1
    # the export lists every question, verdicts included
    book = load_workbook(exported, read_only=True)  # read-only books keep the file open until closed
    rows = list(book["questions"].iter_rows(values_only=True))[1:]
    book.close()
    assert len(rows) == sum(len(m.questions) for m in spec1.moments)
    assert sum(1 for r in rows if r[1] == VERDICT_KEY) == len(spec1.moments)


def test_cli_export_of_an_unknown_journey_fails(runner, tmp_path):
    result = runner.invoke(args=["export-journey", "999", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 and "no journey" in result.output


def test_cli_export_writes_the_current_version_not_the_draft(runner, make, org, tmp_path):
    journey = make.journey(org)
    draft = versioning.clone_version(journey, journey.current_version)
    draft.moments[0].name = "Changed in the draft"
    db.session.commit()
    path = tmp_path / "out.xlsx"
    assert runner.invoke(args=["export-journey", str(journey.id), str(path)]).exit_code == 0
    assert read_journey_workbook(path).moments[0].name == "Greeting at the door"


# --------------------------------------------------------------------------------------------------- UI


@pytest.fixture
def manager(org, make, auth):
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def _upload(client, url: str, data: bytes, name: str = "journey.xlsx"):
    return client.post(url, data={"workbook": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_ui_import_creates_a_published_journey(client, manager):
    response = _upload(client, "/journeys/import", write_journey_workbook(sample_spec("Uploaded café")))
    journey = Journey.query.one()
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{journey.id}")
    assert journey.name == "Uploaded café" and journey.org_id == manager.id
    assert journey.current_version.status == "published"
    expected = read_journey_workbook(write_journey_workbook(sample_spec("Uploaded café")))
    assert version_to_spec(journey, journey.current_version) == expected
    assert [m.key for m in journey.current_version.moments] == ["greeting", "order", "farewell"]


@pytest.mark.parametrize("case", list(BAD_BOOKS))
def test_ui_import_of_a_bad_workbook_lists_every_problem_and_imports_nothing(client, manager, case):
    kwargs, expected = BAD_BOOKS[case]
    response = _upload(client, "/journeys/import", _book(**kwargs))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Nothing was imported" in page
    assert f"Sheet <strong>{expected[0]}</strong>" in page
    assert expected[-1].replace("'", "&#39;") in page
    assert Journey.query.count() == 0 and Question.query.count() == 0


def test_ui_import_lists_each_problem_with_sheet_row_and_column(client, manager):
    page = _upload(client, "/journeys/import", _book(
        moments=[["arrival", "Arrival", "by_pigeon"]],
        questions=[["arrival", "q1", "Q?", "number", "no", 1, "no", None, "about 5"]])).get_data(as_text=True)
    assert "2 problems" in page
    assert "Sheet <strong>moments</strong>, row <strong>2</strong>, column <strong>channel</strong>:</span> unknown channel" in page
    assert "Sheet <strong>questions</strong>, row <strong>2</strong>, column <strong>target</strong>:</span> target" in page


def test_ui_import_refuses_other_files(client, manager):
    page = _upload(client, "/journeys/import", b"key,name\n", name="journey.csv").get_data(as_text=True)
    assert "Only .xlsx workbooks" in page
    page = _upload(client, "/journeys/import", b"not a zip", name="journey.xlsx").get_data(as_text=True)
    assert "not an .xlsx workbook" in page
    assert Journey.query.count() == 0


def test_ui_download_and_reimport_round_trip(client, make, manager):
    journey = make.journey(manager)
    response = client.get(f"/journeys/{journey.id}/workbook.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "cafe-order-v1.xlsx" in response.headers["Content-Disposition"]
    page = _upload(client, "/journeys/import", response.data).get_data(as_text=True)
    assert "exists already" in page and Journey.query.count() == 1  # the name is taken: asked, not imported
    token = re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/journeys/import/choose", data={"upload": token, "choice": "copy", "copy_name": "Café order (2)"})
    copy = Journey.query.filter(Journey.id != journey.id).one()
    expected = version_to_spec(journey, journey.current_version)
    expected.name = "Café order (2)"
    assert version_to_spec(copy, copy.current_version) == expected


def test_ui_blank_template_downloads(client, manager):
    response = client.get("/journeys/template.xlsx")
    assert response.status_code == 200
    assert {"journey", "moments", "questions"} <= set(load_workbook(io.BytesIO(response.data)).sheetnames)
    assert read_journey_workbook(response.data).name  # the template itself imports


def test_ui_upload_to_an_existing_journey_makes_a_draft(client, make, manager):
    journey = make.journey(manager)
    spec = sample_spec("Café order, revised")
    spec.moments[0].name = "Welcome at the door"
    del spec.moments[2]
    response = _upload(client, f"/journeys/{journey.id}/import", write_journey_workbook(spec))
    assert response.status_code == 302
    db.session.expire_all()
    journey = db.session.get(Journey, journey.id)
    draft = versioning.draft_version(journey)
    assert draft.number == 2 and [m.name for m in draft.moments] == ["Welcome at the door", "Ordering"]
    assert [m.key for m in journey.current_version.moments] == ["greeting", "order", "farewell"]
    assert "Unpublished changes" in client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    # uploading again replaces the draft rather than stacking drafts
    _upload(client, f"/journeys/{journey.id}/import", write_journey_workbook(sample_spec("Café order")))
    db.session.expire_all()
    assert JourneyVersion.query.filter_by(journey_id=journey.id, status="draft").count() == 1
    assert len(versioning.draft_version(db.session.get(Journey, journey.id)).moments) == 3


def test_ui_upload_to_an_existing_journey_with_problems_changes_nothing(client, make, manager):
    journey = make.journey(manager)
    page = _upload(client, f"/journeys/{journey.id}/import", _book(sheets=("journey",))).get_data(as_text=True)
    assert "Nothing was imported" in page and "sheet &#39;moments&#39; is missing" in page
    assert versioning.draft_version(db.session.get(Journey, journey.id)) is None
