"""XLSForm through the CLI (import-journey, export-journey --format xlsform) and the import page's confirmation step."""
from __future__ import annotations

import io
import re

import pytest
from pyxform.xls2xform import convert

from auditapp.auth.models import AuditLog
from auditapp.extensions import db
from auditapp.journeys.models import Journey
from auditapp.journeys.services import version_to_spec
from auditapp.journeys.xlsform import read_xlsform
from tests.xlsform_forms import build, clinic_patient_experience, restaurant_checklist, retail_mystery_shop

CLEAN_FORM = build([["type", "name", "label"], ["begin_group", "arrival", "Arrival"],
                    ["select_one yn", "greeted", "Greeted?"], ["end_group"]],
                   [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]],
                   [["form_title"], ["Clean form"]])


@pytest.fixture
def org(make):
    return make.org(slug="acme")


@pytest.fixture
def manager(org, make, auth):
    make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    return org


def _write(tmp_path, data: bytes, name: str = "form.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _keys(journey: Journey) -> list:
    return [(m.key, [q.key for q in m.questions]) for m in journey.current_version.moments]


# --------------------------------------------------------------------------------------------------- CLI


def test_cli_imports_a_clean_xlsform_at_once(runner, org, tmp_path):
    result = runner.invoke(args=["import-journey", "--org", "acme", str(_write(tmp_path, CLEAN_FORM))])
    assert result.exit_code == 0, result.output
    journey = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert journey.name == "Clean form" and journey.current_version.status == "published"
    assert _keys(journey) == [("arrival", ["greeted", "verdict"])]
    assert journey.current_version.moments[0].questions[0].type == "yes_no"


def test_cli_refuses_unsupported_parts_without_the_flag_and_lists_them(runner, org, tmp_path):
    result = runner.invoke(args=["import-journey", "--org", "acme", str(_write(tmp_path, restaurant_checklist()))])
    assert result.exit_code == 1
    assert "Nothing imported: 5 parts of the XLSForm cannot be part of a journey" in result.output
    assert "- survey, row 8: repeat 'dishes' (rows 8-11, 2 questions in it): repeats are not supported" in result.output
    assert "- survey, row 15: calculate 'food_score'" in result.output
    assert "- survey, row 4: relevant '${greeted} = 'yes'' of question 'seated_fast'" in result.output
    assert "--accept-unsupported" in result.output
    assert Journey.query.count() == 0


def test_cli_imports_without_them_with_the_flag(runner, org, tmp_path):
    path = _write(tmp_path, restaurant_checklist())
    result = runner.invoke(args=["import-journey", "--org", "acme", "--accept-unsupported", str(path)])
    assert result.exit_code == 0, result.output
    assert "Left out of the journey (--accept-unsupported), 5 parts:" in result.output
    journey = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert journey.name == "Restaurant checklist"
    assert _keys(journey) == [("arrival", ["greeted", "seated_fast", "verdict"]),
                              ("food", ["hot_food_hot", "minutes_to_food", "verdict"])]
    assert journey.current_version.moments[1].questions[1].target == "<=20"
    assert AuditLog.query.filter_by(action="journey.import").count() == 1


@pytest.mark.parametrize("form", [retail_mystery_shop, clinic_patient_experience])
def test_cli_imports_the_other_real_forms(runner, org, tmp_path, form):
    result = runner.invoke(args=["import-journey", "--org", "acme", "--accept-unsupported",
                                 str(_write(tmp_path, form()))])
    assert result.exit_code == 0, result.output
    journey = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    assert version_to_spec(journey, journey.current_version) == read_xlsform(form()).spec


def test_cli_bad_xlsform_lists_problems_with_sheet_row_and_column(runner, org, tmp_path):
    data = build([["type", "name", "label"], ["select_one nope", "a", "A?"], ["begin_group", "g", "G"]])
    result = runner.invoke(args=["import-journey", "--org", "acme", "--accept-unsupported", str(_write(tmp_path, data))])
    assert result.exit_code == 1
    assert "survey, row 2, column type: choice list 'nope' is not on the choices sheet" in result.output
    assert "survey, row 3, column type: 1 group is never closed" in result.output
    assert Journey.query.count() == 0


def test_cli_export_xlsform_converts_with_pyxform_and_round_trips(runner, org, tmp_path):
    first = _write(tmp_path, retail_mystery_shop(), "retail.xlsx")
    journey_id = int(runner.invoke(args=["import-journey", "--org", "acme", "--accept-unsupported",
                                         str(first)]).output.strip().splitlines()[-1])
    exported = tmp_path / "out.xlsx"
    result = runner.invoke(args=["export-journey", "--format", "xlsform", str(journey_id), str(exported)])
    assert result.exit_code == 0, result.output
    assert "as an XLSForm" in result.output
    warnings: list[str] = []
    xform = convert(exported.read_bytes(), warnings=warnings).xform
    assert warnings == []
    assert '<group appearance="field-list" ref="/data/store_entrance">' in xform
    assert 'nodeset="/data/checkout/wait_minutes" type="decimal" constraint=". &lt;= 5"' in xform
    journey = db.session.get(Journey, journey_id)
    # export then import gives the same journey (no unsupported parts: no flag needed)
    result = runner.invoke(args=["import-journey", "--org", "acme", "--if-exists", "copy", "--copy-name", "Again",
                                 str(exported)])
    assert result.exit_code == 0, result.output
    again = db.session.get(Journey, int(result.output.strip().splitlines()[-1]))
    expected = version_to_spec(journey, journey.current_version)
    expected.name = "Again"
    assert version_to_spec(again, again.current_version) == expected


def test_cli_export_default_format_is_still_the_journey_workbook(runner, make, org, tmp_path):
    journey = make.journey(org)
    path = tmp_path / "j.xlsx"
    assert runner.invoke(args=["export-journey", str(journey.id), str(path)]).exit_code == 0
    from openpyxl import load_workbook

    assert load_workbook(path).sheetnames[:3] == ["journey", "moments", "questions"]


def test_cli_help_documents_both(runner):
    assert "--accept-unsupported" in runner.invoke(args=["import-journey", "--help"]).output
    assert "xlsform" in runner.invoke(args=["export-journey", "--help"]).output


# --------------------------------------------------------------------------------------------------- page


def _upload(client, url: str, data: bytes, name: str = "form.xlsx"):
    return client.post(url, data={"workbook": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _token(page: str) -> str:
    return re.search(r'name="upload" type="hidden" value="([^"]+)"', page).group(1)


def test_page_lists_unsupported_parts_and_imports_nothing_until_confirmed(client, manager):
    response = _upload(client, "/journeys/import", restaurant_checklist())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "5 parts of this XLSForm cannot be imported" in page and "Nothing has been imported yet" in page
    assert "<td>survey</td><td class=\"num\">8</td><td>repeat &#39;dishes&#39; (rows 8-11, 2 questions in it)</td>" in page
    assert "calculate &#39;food_score&#39;" in page
    assert Journey.query.count() == 0
    response = client.post("/journeys/import/confirm", data={"upload": _token(page)})
    journey = Journey.query.one()
    assert response.status_code == 302 and response.location.endswith(f"/journeys/{journey.id}")
    assert _keys(journey) == [("arrival", ["greeted", "seated_fast", "verdict"]),
                              ("food", ["hot_food_hot", "minutes_to_food", "verdict"])]
    assert "5 parts of the XLSForm left out" in client.get(response.location).get_data(as_text=True)


def test_page_imports_a_clean_xlsform_at_once(client, manager):
    response = _upload(client, "/journeys/import", CLEAN_FORM)
    assert response.status_code == 302
    assert Journey.query.one().name == "Clean form"


def test_page_confirmation_then_a_taken_name_asks_new_version_or_copy(client, manager, make):
    make.journey(manager, name="Restaurant checklist")
    page = _upload(client, "/journeys/import", restaurant_checklist()).get_data(as_text=True)
    page = client.post("/journeys/import/confirm", data={"upload": _token(page)}).get_data(as_text=True)
    assert "exists already" in page and Journey.query.count() == 1
    client.post("/journeys/import/choose", data={"upload": _token(page), "choice": "copy", "copy_name": "Second"})
    assert Journey.query.filter_by(name="Second").one().current_version.status == "published"


def test_page_confirmation_tokens_cannot_skip_a_step(client, manager, make):
    make.journey(manager, name="Restaurant checklist")
    confirm = _token(_upload(client, "/journeys/import", restaurant_checklist()).get_data(as_text=True))
    # a confirmation token is no answer to the name question, and a tampered one is refused
    response = client.post("/journeys/import/choose", data={"upload": confirm, "choice": "copy", "copy_name": "X"})
    assert response.status_code == 400 and "another step" in response.get_data(as_text=True)
    response = client.post("/journeys/import/confirm", data={"upload": confirm[:-3] + "abc"})
    assert response.status_code == 400 and Journey.query.count() == 1


def test_page_bad_xlsform_lists_problems(client, manager):
    page = _upload(client, "/journeys/import", build([["type", "name", "label"], ["select_one nope", "a", "A?"]]))
    text = page.get_data(as_text=True)
    assert "Nothing was imported: 1 problem" in text
    assert "Sheet <strong>survey</strong>, row <strong>2</strong>, column <strong>type</strong>" in text


def test_page_xlsform_as_a_draft_of_an_existing_journey(client, manager, make):
    journey = make.journey(manager)
    page = _upload(client, f"/journeys/{journey.id}/import", restaurant_checklist()).get_data(as_text=True)
    assert "to become a draft of" in page
    response = client.post("/journeys/import/confirm", data={"upload": _token(page)})
    assert response.status_code == 302
    db.session.refresh(journey)
    draft = [v for v in journey.versions if v.status == "draft"]
    assert len(draft) == 1 and [m.key for m in draft[0].moments] == ["arrival", "food"]
    assert journey.current_version.number == 1  # the published version is untouched


def test_page_download_xlsform(client, manager, make):
    journey = make.journey(manager)
    response = client.get(f"/journeys/{journey.id}/xlsform.xlsx")
    assert response.status_code == 200 and "cafe-order-v1-xlsform.xlsx" in response.headers["Content-Disposition"]
    assert "<h:title>" in convert(response.data, warnings=[]).xform
    assert read_xlsform(response.data).spec == version_to_spec(journey, journey.current_version)
    assert "Download XLSForm" in client.get(f"/journeys/{journey.id}").get_data(as_text=True)
