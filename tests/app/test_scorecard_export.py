"""The Excel scorecard end to end: download, API and CLI give one file whose numbers match results.queries.

Workbooks are read back twice, with openpyxl and with python-calamine (an independent reader), and once more by
LibreOffice when it is installed.
"""
from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from auditapp.exports.queries import load_scorecard
from auditapp.exports.workbook import MOMENT_COLUMNS, SHEET_ORDER, write_scorecard
from auditapp.extensions import db
from auditapp.journeys.spec import JourneySpec, MomentSpec, QuestionSpec
from auditapp.results import queries as rq
from auditapp.results.queries import Filters
from tests.clock import in_org_zones, on_frozen_dates

INJECTIONS = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil")']
EVIL_LOCATION = '=HYPERLINK("http://evil")'
EVIL_QUESTION = "@SUM(A1) was the counter clean?"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def injection_spec() -> JourneySpec:
    return JourneySpec(name="Café visit", moments=[
        MomentSpec(key="greeting", name="Greeting", channel="face_to_face", kind="basic", priority=True, questions=[
            QuestionSpec(key="greeted", text="Were you greeted?", type="yes_no", required=True),
            QuestionSpec(key="smile", text="How warm was the welcome?", type="rating"),
        ]),
        MomentSpec(key="order", name="+Ordering", channel="face_to_face", kind="decisive", questions=[
            QuestionSpec(key="clean", text=EVIL_QUESTION, type="yes_no", critical=True),
            QuestionSpec(key="said", text="What did they say?", type="text"),
        ]),
        MomentSpec(key="pay", name="Paying", channel="phone", questions=[
            QuestionSpec(key="wait", text="Seconds waited", type="number", target="<=60"),
        ]),
    ])


@pytest.fixture
def scene(make):
    org = make.org(timezone="Europe/Stockholm")
    manager = make.user(org, "manager")
    shopper = make.user(org, "shopper", name="Sam =Shopper")
    evil = make.location(org, code="007", name=EVIL_LOCATION)
    plain = make.location(org, code="010", name="Harbour")
    staff = make.user(org, "staff", location=plain)
    journey = make.journey(org, injection_spec())
    visits = [
        # (location, user, started_at UTC, answers, evaluation notes)
        (evil, shopper, datetime(2026, 1, 5, 9, 30), {"greeting.greeted": "yes", "greeting.smile": 5,
                                                      "greeting.verdict": "magical", "order.said": "-2",
                                                      "order.clean": ("yes", "=1+1"), "pay.wait": 30}, "+cmd"),
        (evil, shopper, datetime(2026, 1, 20, 23, 30), {"greeting.greeted": "no", "greeting.smile": 2,
                                                        "greeting.verdict": "miserable", "order.said": "\rx",
                                                        "order.clean": "no", "pay.wait": 90}, "@SUM(A1)"),
        (plain, shopper, datetime(2026, 2, 3, 12, 0), {"greeting.smile": 4, "order.said": "\tx",
                                                       "order.verdict": ("magical", '=HYPERLINK("http://evil")')},
         ""),
        (plain, staff, datetime(2026, 2, 10, 8, 0), {"greeting.smile": 5, "greeting.verdict": "magical"}, "fine"),
        (plain, staff, datetime(2026, 2, 11, 8, 0), {"greeting.smile": 3}, ""),
        (plain, shopper, datetime(2026, 2, 12, 8, 0), {"greeting.smile": 1, "order.clean": "no"}, ""),
    ]
    evaluations = [
        make.evaluation(org, journey, location, user, answers=answers, notes=notes, started_at=started,
                        moment_notes={"greeting": "\tx"} if index == 0 else None)
        for index, (location, user, started, answers, notes) in enumerate(visits)
    ]
    rejected = make.evaluation(org, journey, plain, shopper, started_at=datetime(2026, 2, 13, 8, 0),
                               answers={"order.said": "REJECTED"}, status="rejected")
    return {"org": org, "manager": manager, "shopper": shopper, "journey": journey, "evil": evil, "plain": plain,
            "evaluations": evaluations, "rejected": rejected}


def download(client, auth, scene, **params):
    auth.login(scene["manager"].email)
    # Shoppers and staff: the scene has both, and these tests read every row of the file.
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene["journey"].id, "source": "all",
                                                                     **params})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    return response.data


def by_openpyxl(data: bytes) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb}


def by_calamine(data: bytes) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def table(rows, header_first: str) -> tuple[list, list[list]]:
    """The header row starting with `header_first` and the rows below it down to the first empty one."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == header_first)
    body = []
    for row in rows[start + 1:]:
        if not row or row[0] in (None, ""):
            break
        body.append(list(row))
    return list(rows[start]), body


def close(a, b) -> bool:
    if a is None or b is None or a == "" or b == "":
        return a in (None, "") and b in (None, "")
    return abs(float(a) - float(b)) < 1e-9


def test_sheets_in_contract_order_and_summary_matches_the_scorecard(app, client, auth, scene):
    data = download(client, auth, scene)
    org, journey = scene["org"], scene["journey"]
    expected = rq.scorecard(org, Filters(journey_id=journey.id, source=None))
    for reader in (by_openpyxl, by_calamine):
        sheets = reader(data)
        assert list(sheets) == list(SHEET_ORDER)
        summary = sheets["Summary"]
        overall = next(row for row in summary if row and row[0] == "Overall")
        assert close(overall[1], expected.score) and overall[2] == expected.estimate.n
        assert close(overall[3], expected.estimate.low) and close(overall[4], expected.estimate.high)
        assert overall[5] in ("Miserable", "Neutral", "Magical")
        evaluations = next(row for row in summary if row and row[0] == "Evaluations")
        assert evaluations[1] == expected.evaluations == 6  # the rejected one never counts
        header, rows = table(summary, "Moment")
        assert header == [label for label, _ in MOMENT_COLUMNS]
        col = {label: i for i, label in enumerate(header)}
        assert [r[col["Key"]] for r in rows] == [m.key for m in expected.moments]
        for row, m in zip(rows, expected.moments, strict=True):
            assert row[col["n"]] == m.n
            for label, value in (("Score", m.score), ("95% low", m.low), ("95% high", m.high),
                                 ("Change vs previous period", m.change)):
                assert close(row[col[label]], value), (m.key, label, row[col[label]], value)
            counts = [row[col[c]] for c in ("Magical", "Neutral", "Miserable", "Critical fails")]
            assert counts == [m.magical, m.neutral, m.miserable, m.critical_fails]
        ordering = next(r for r in rows if r[col["Key"]] == "order")
        assert ordering[col["Moment"]] == "+Ordering"
        assert ordering[col["Critical fails"]] == 2


def test_api_scorecard_json_and_xlsx_agree(client, make, scene):
    if "/api/v1/scorecard" not in {rule.rule for rule in client.application.url_map.iter_rules()}:
        pytest.skip("GET /api/v1/scorecard is not there yet; the function test above covers the numbers")
    token = make.token(scene["manager"])
    headers = {"Authorization": f"Bearer {token}"}
    params = {"journey_id": scene["journey"].id, "source": "shopper"}
    body = client.get("/api/v1/scorecard", query_string=params, headers=headers).get_json()
    data = client.get("/api/v1/scorecard.xlsx", query_string=params, headers=headers).data
    header, rows = table(by_calamine(data)["Summary"], "Moment")
    col = {label: i for i, label in enumerate(header)}
    assert [r[col["Key"]] for r in rows] == [m["key"] for m in body["moments"]]
    for row, m in zip(rows, body["moments"], strict=True):
        assert row[col["n"]] == m["n"] and close(row[col["Score"]], m["score"])
        assert [row[col[c]] for c in ("Magical", "Neutral", "Miserable", "Critical fails")] == [
            m["magical"], m["neutral"], m["miserable"], m["critical_fails"]]


def test_locations_trend_and_gap_match_results_queries(app, client, auth, scene):
    org, journey = scene["org"], scene["journey"]
    filters = Filters(journey_id=journey.id, source=None)
    data = download(client, auth, scene, grain="month")
    sheets = by_calamine(data)
    moments = [m.key for m in rq.scorecard(org, filters).moments]

    heat = rq.heatmap(org, filters)
    rows = [r for r in sheets["Location matrix"][1:] if r and r[0] != ""]
    assert [r[0] for r in rows] == [loc.code for loc in heat.locations]
    assert "007" in [r[0] for r in rows]  # leading zeros kept: the code is text
    for row, loc in zip(rows, heat.locations, strict=True):
        assert row[1] == loc.name
        total = heat.totals[loc.id]
        assert close(row[3], total.score) and row[4] == total.n
        for block, key in enumerate(moments, start=1):
            cell = heat.cell(loc.id, key)
            assert close(row[3 + 2 * block], cell.score) and row[4 + 2 * block] == cell.n

    # Locations: one row per location, best first, each against the chain average (the overall score).
    card = rq.scorecard(org, filters)
    chain = sheets["Locations"][1]
    assert chain[2] == "Chain average (all locations)" and close(chain[5], card.score)
    ranked = [r for r in sheets["Locations"][2:] if r and r[1] != ""]
    assert sorted(r[1] for r in ranked) == sorted(loc.code for loc in heat.locations)
    scores = [r[5] for r in ranked if isinstance(r[0], (int, float))]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        if isinstance(r[0], (int, float)):
            assert close(r[9], r[5] - card.score)

    trend = rq.trend(org, filters, "month")
    rows = [r for r in sheets["Trend"][2:] if r and r[0] != ""]
    assert [r[0] for r in rows] == [p.label for p in trend.periods] == ["2026-01", "2026-02"]
    for row, period in zip(rows, trend.periods, strict=True):
        assert row[1] == period.start  # a real date
        for block, key in enumerate(moments, start=1):
            cell = trend.cell(period.key, key)
            assert close(row[2 + 4 * block], cell.score) and row[3 + 4 * block] == cell.n

    gap = rq.perception_gap(org, filters)
    rows = [r for r in sheets["Gap"][1:] if r and r[0] != ""]
    assert [r[2] for r in rows] == [g.key for g in gap]
    for row, g in zip(rows, gap, strict=True):
        assert row[3] == g.shopper.n and close(row[4], g.shopper.mean)
        assert row[7] == g.staff.n and close(row[8], g.staff.mean)
        assert close(row[11], g.gap)


def test_intervals_beside_grid_scores_agree_with_their_means(app, scene):
    """The heatmap's 95% intervals come from a second query: they must bracket the heatmap's own means."""
    data = load_scorecard(scene["org"], Filters(journey_id=scene["journey"].id, source=None))
    for row in (*data.locations, *data.trend):
        for stat in (row.overall, *row.cells):
            if stat.n:
                assert stat.low <= stat.score <= stat.high
            else:
                assert stat.score is None and stat.low is None


def test_no_formulas_and_injection_strings_come_back_verbatim(app, client, auth, scene):
    data = download(client, auth, scene)
    wb = load_workbook(io.BytesIO(data))
    formulas = [(ws.title, c.coordinate) for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    texts_openpyxl = {c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    texts_calamine = {v for rows in by_calamine(data).values() for row in rows for v in row if isinstance(v, str)}
    for texts in (texts_openpyxl, texts_calamine):
        assert EVIL_LOCATION in texts and EVIL_QUESTION in texts and "+Ordering" in texts
        for text in INJECTIONS:
            assert text in texts, text
        assert "Sam =Shopper" in texts
        assert "REJECTED" not in texts
    assert b"externalLink" not in data and b"http://evil" not in _relationships(data)


def _relationships(data: bytes) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist() if name.endswith(".rels"))


def test_responses_and_notes_rows(app, client, auth, scene):
    data = download(client, auth, scene)
    sheets = by_openpyxl(data)
    header, *rows = sheets["Responses"]
    assert header[0] == "Visit started (Europe/Stockholm)"
    col = {label: i for i, label in enumerate(header)}
    from auditapp.evaluations.models import Answer, Evaluation

    counted = [e.id for e in scene["evaluations"]]
    stored = db.session.query(Answer).join(Evaluation).filter(Evaluation.id.in_(counted)).count()
    assert len(rows) == stored
    first = rows[0]
    assert first[col["Visit started (Europe/Stockholm)"]] == datetime(2026, 1, 5, 10, 30)  # local, a real datetime
    assert first[col["Location code"]] == "007" and first[col["Location"]] == EVIL_LOCATION
    assert first[col["Journey version"]] == 1 and first[col["Evaluator"]] == "Sam =Shopper"
    said = [r for r in rows if r[col["Question key"]] == "said"]
    assert [r[col["Answer"]] for r in said] == ["-2", "\rx", "\tx"]
    smile = next(r for r in rows if r[col["Question key"]] == "smile")
    assert smile[col["Answer"]] == 5 and smile[col["Score"]] == 1.0  # numbers stay numbers
    clean = next(r for r in rows if r[col["Question key"]] == "clean")
    assert clean[col["Question"]] == EVIL_QUESTION and clean[col["Note"]] == "=1+1"

    header, *rows = sheets["Notes"]
    col = {label: i for i, label in enumerate(header)}
    found = {(r[col["Evaluation"]], r[col["Note on"]], r[col["Note"]]) for r in rows}
    first_id, second_id, third_id = (e.id for e in scene["evaluations"][:3])
    assert {(first_id, "Evaluation", "+cmd"), (first_id, "Moment", "\tx"), (first_id, "Answer", "=1+1"),
            (second_id, "Evaluation", "@SUM(A1)"), (third_id, "Answer", '=HYPERLINK("http://evil")')} <= found


def test_responses_spill_into_more_sheets_with_a_small_limit(app, scene, tmp_path):
    data = load_scorecard(scene["org"], Filters(journey_id=scene["journey"].id, source=None))
    total = sum(1 for _ in data.responses())
    path = tmp_path / "spill.xlsx"
    write_scorecard(path, data, max_rows=11)  # a header and 10 answers per sheet
    book = load_workbook(path, read_only=True)  # read-only books keep the file open until closed
    names = book.sheetnames
    book.close()
    parts = [n for n in names if n.startswith("Responses")]
    assert parts[:2] == ["Responses", "Responses (2)"] and len(parts) == -(-total // 10)
    assert names.index(parts[-1]) + 1 == names.index("Notes")
    sheets = by_calamine(path.read_bytes())
    rows = [r for name in parts for r in sheets[name][1:] if any(v != "" for v in r)]
    assert len(rows) == total
    assert all(sheets[name][0][0].startswith("Visit started") for name in parts)


def test_filters_apply_to_every_sheet(app, client, auth, scene):
    data = download(client, auth, scene, location_id=scene["plain"].id, source="shopper",
                    **{"from": "2026-02-01", "to": "2026-02-28"})
    sheets = by_openpyxl(data)
    summary = sheets["Summary"]
    assert next(r for r in summary if r[0] == "Evaluations")[1] == 2
    assert next(r for r in summary if r[0] == "From")[1] == datetime(2026, 2, 1)
    assert "Location: 010 Harbour" in next(r for r in summary if r[0] == "Filters")[1]
    evaluation_ids = {r[1] for r in sheets["Responses"][1:] if r[1] is not None}
    assert evaluation_ids == {scene["evaluations"][2].id, scene["evaluations"][5].id}


def test_per_location_sheets(app, client, auth, scene):
    data = download(client, auth, scene, per_location="yes")
    book = load_workbook(io.BytesIO(data), read_only=True)
    names = book.sheetnames
    book.close()
    assert names[:len(SHEET_ORDER)] == list(SHEET_ORDER)
    extra = names[len(SHEET_ORDER):]
    assert extra == ["007 =HYPERLINK(\"http evil\")", "010 Harbour"]  # sanitised for a sheet name
    sheet = by_calamine(data)["010 Harbour"]
    plain = replace(Filters(journey_id=scene["journey"].id, source=None), location_id=scene["plain"].id)
    expected = rq.scorecard(scene["org"], plain)
    header, rows = table(sheet, "Moment")
    col = {label: i for i, label in enumerate(header)}
    for row, m in zip(rows, expected.moments, strict=True):
        assert row[col["n"]] == m.n and close(row[col["Score"]], m.score)


def _comparable(data: bytes) -> dict:
    sheets = by_calamine(data)
    sheets["Summary"] = [r for r in sheets["Summary"] if not (r and str(r[0]).startswith("Generated"))]
    return sheets


def test_download_api_and_cli_give_the_same_file(app, client, auth, make, scene, runner, tmp_path):
    params = {"journey_id": scene["journey"].id, "source": "shopper", "from": "2026-01-01", "to": "2026-02-28"}
    web = download(client, auth, scene, **{k: v for k, v in params.items() if k != "journey_id"})
    token = make.token(scene["manager"])
    api = client.get("/api/v1/scorecard.xlsx", query_string=params, headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.mimetype == XLSX
    path = tmp_path / "cli.xlsx"
    result = runner.invoke(args=["export-scorecard", "--org", scene["org"].slug, "--journey", str(scene["journey"].id),
                                 "--source", "shopper", "--from", "2026-01-01", "--to", "2026-02-28", str(path)])
    assert result.exit_code == 0, result.output
    assert _comparable(web) == _comparable(api.data) == _comparable(path.read_bytes())
    generated = next(r for r in by_calamine(web)["Summary"] if str(r[0]).startswith("Generated"))
    assert isinstance(generated[1], datetime)


def test_cli_location_by_code_and_bad_options(app, runner, scene, tmp_path):
    path = tmp_path / "one.xlsx"
    ok = runner.invoke(args=["export-scorecard", "--org", scene["org"].slug, "--journey", str(scene["journey"].id),
                             "--location", "007", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "Location: 007" in next(r for r in by_calamine(path.read_bytes())["Summary"] if r[0] == "Filters")[1]
    bad = runner.invoke(args=["export-scorecard", "--org", scene["org"].slug, "--journey", str(scene["journey"].id),
                              "--from", "2026-13-01", "--source", "robots", str(tmp_path / "bad.xlsx")])
    assert bad.exit_code != 0
    assert "--from: must be a date" in bad.output and "--source" in bad.output
    assert not (tmp_path / "bad.xlsx").exists()
    missing = runner.invoke(args=["export-scorecard", "--org", "nope", "--journey", "1", str(tmp_path / "x.xlsx")])
    assert missing.exit_code != 0 and "no organisation" in missing.output


def test_access_rules(app, client, auth, make, scene):
    url = "/exports/scorecard.xlsx"
    params = {"journey_id": scene["journey"].id}
    anonymous = client.get(url, query_string=params)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    auth.login(scene["shopper"].email)
    assert client.get(url, query_string=params).status_code == 403
    assert client.get("/exports/responses.csv", query_string=params).status_code == 403
    auth.logout()

    other = make.org()
    outsider = make.user(other, "manager")
    auth.login(outsider.email)
    assert client.get(url, query_string=params).status_code == 404
    assert client.get("/exports/responses.csv", query_string=params).status_code == 404
    assert client.get(url, query_string={"journey_id": "abc"}).status_code == 400


def test_api_errors(app, client, make, scene):
    url = "/api/v1/scorecard.xlsx"
    assert client.get(url, query_string={"journey_id": scene["journey"].id}).status_code == 401
    headers = {"Authorization": f"Bearer {make.token(scene['manager'])}"}
    bad = client.get(url, query_string={"journey_id": scene["journey"].id, "from": "yesterday", "source": "x",
                                        "per_location": "maybe"}, headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert {e["field"] for e in bad.get_json()["errors"]} == {"from", "source", "per_location"}
    other = make.org()
    foreign = make.journey(other)
    missing = client.get(url, query_string={"journey_id": foreign.id}, headers=headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    shopper = {"Authorization": f"Bearer {make.token(scene['shopper'])}"}
    assert client.get(url, query_string={"journey_id": scene["journey"].id}, headers=shopper).status_code == 403


def test_responses_csv(app, client, auth, scene):
    auth.login(scene["manager"].email)
    response = client.get("/exports/responses.csv", query_string={"journey_id": scene["journey"].id, "source": "all"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert header[0] == "Visit started (Europe/Stockholm)"
    col = {label: i for i, label in enumerate(header)}
    assert body[0][col["Visit started (Europe/Stockholm)"]] == "2026-01-05 10:30:00"
    assert body[0][col["Location code"]] == "007" and body[0][col["Location"]] == "'" + EVIL_LOCATION
    said = [r[col["Answer"]] for r in body if r[col["Question key"]] == "said"]
    assert said == ["'-2", "'\rx", "'\tx"]
    smile = next(r for r in body if r[col["Question key"]] == "smile")
    assert smile[col["Answer"]] == "5.0" and smile[col["Score"]] == "1.0"  # numbers, not prefixed
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for r in body for v in r)
    assert "REJECTED" not in raw.decode("utf-8-sig")
    workbook_rows = by_calamine(download(client, auth, scene))["Responses"][1:]
    assert len(body) == len([r for r in workbook_rows if r[1] != ""])


def test_cli_export_responses(app, runner, scene, tmp_path):
    path = tmp_path / "answers.csv"
    result = runner.invoke(args=["export-responses", "--org", scene["org"].slug, "--journey", str(scene["journey"].id),
                                 "--source", "staff", str(path)])
    assert result.exit_code == 0, result.output
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))[1:]
    assert rows and {r[4] for r in rows} == {"staff"}


def test_empty_journey_exports_headers_only(app, client, auth, make, scene):
    empty = make.journey(scene["org"], name="Nothing yet")
    auth.login(scene["manager"].email)
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": empty.id})
    assert response.status_code == 200
    sheets = by_openpyxl(response.data)
    assert list(sheets) == list(SHEET_ORDER)
    assert len(sheets["Responses"]) == 1 and len(sheets["Notes"]) == 1
    assert next(r for r in sheets["Summary"] if r[0] == "Evaluations")[1] == 0
    assert "scorecard-nothing-yet" in response.headers["Content-Disposition"]


@on_frozen_dates
@in_org_zones
def test_generated_time_is_the_organisations_local_time(client, auth, make, frozen_at, tz):
    from zoneinfo import ZoneInfo

    org = make.org(timezone=tz)
    manager = make.user(org, "manager")
    journey = make.journey(org)
    auth.login(manager.email)
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": journey.id})
    assert response.status_code == 200
    generated = next(r for r in by_openpyxl(response.data)["Summary"] if r[0] == f"Generated ({tz})")
    assert generated[1] == frozen_at.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def test_opens_in_libreoffice(app, scene, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        if os.environ.get("AUDITAPP_REQUIRE_BROWSER") == "1":
            pytest.fail("LibreOffice (soffice) is required here: apt-get install libreoffice-calc")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install --no-install-recommends libreoffice-calc")
    data = load_scorecard(scene["org"], Filters(journey_id=scene["journey"].id, source=None))
    source = tmp_path / "scorecard.xlsx"
    write_scorecard(source, data, per_location=True)
    out = tmp_path / "out"
    profile = f"file:///tmp/lo_profile_{secrets.token_hex(6)}"
    try:
        # The CSV filter writes the first sheet (Summary); UTF-8, comma separated.
        subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                        "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(source)],
                       check=True, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    text = (out / "scorecard.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Café visit scorecard"
    moment_rows = {r[1]: r for r in rows if len(r) > 7 and r[1] in ("greeting", "order", "pay")}
    assert set(moment_rows) == {"greeting", "order", "pay"}
    assert moment_rows["order"][0] == "+Ordering"  # text, not a formula evaluated by LibreOffice
    expected = rq.scorecard(scene["org"], Filters(journey_id=scene["journey"].id, source=None))
    greeting = expected.moment("greeting")
    assert moment_rows["greeting"][7] == str(int(greeting.score + 0.5))  # shown rounded, as on screen
    assert "Err:" not in text and "#NAME" not in text
