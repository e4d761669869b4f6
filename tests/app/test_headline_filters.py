"""Whose opinion a headline is, which evaluations count, and one band rule, across screen, API, Excel, CSV and CLI.

- The dashboard, the journeys overview, the scorecard (download, API, CLI) and the responses CSV default to secret
  shoppers' evaluations; staff self-assessments are shown beside the score, mixed in only with source=all.
- status=approved counts only reviewed and approved evaluations; the default counts every one that counts.
- Every screen and file states the filters it used.
- A moment at 49.88 (miserable under 50) reads "49.9" and "miserable" everywhere, never "50".
"""
from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from auditapp.evaluations.models import MomentResult
from auditapp.extensions import db

from .test_results_pages import ALL_MAGICAL, ALL_MISERABLE, site  # noqa: F401 (fixture)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def scene(site):  # noqa: F811
    site.evaluate(ALL_MISERABLE, datetime(2025, 1, 10, 10), status="approved")
    site.evaluate(ALL_MISERABLE, datetime(2025, 1, 11, 10))  # waiting for review
    site.evaluate(ALL_MAGICAL, datetime(2025, 1, 12, 10), source="staff")
    site.auth.login("boss@example.com")
    return site


def _summary(data: bytes) -> dict[str, object]:
    ws = load_workbook(io.BytesIO(data))["Summary"]
    return {row[0].value: row[1].value for row in ws.iter_rows() if row[0].value and len(row) > 1}


def test_api_defaults_to_shoppers_and_says_so(client, scene):
    base = f"/api/v1/scorecard?journey_id={scene.journey.id}"
    default = client.get(base).get_json()
    assert (default["source"], default["status"], default["evaluations"]) == ("shopper", "counted", 2)
    assert default["score"] == pytest.approx(0.0)
    mixed = client.get(base + "&source=all").get_json()
    assert mixed["evaluations"] == 3 and mixed["score"] > 0
    approved = client.get(base + "&status=approved").get_json()
    assert approved["evaluations"] == 1 and approved["status"] == "approved"
    bad = client.get(base + "&status=maybe&source=everyone")
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"status", "source"}


def test_dashboard_and_overview_state_whose_opinion(client, scene):
    page = client.get(f"/results/journeys/{scene.journey.id}?period=all").get_data(as_text=True)
    stated = re.search(r'<p class="res-stated">(.*?)</p>', page, re.S).group(1)
    assert "Secret shoppers" in stated and "All that count" in stated
    assert "Staff self-assessments: 100 magical (n=1), shown beside this score, not in it." in page
    page = client.get(f"/results/journeys/{scene.journey.id}?period=all&status=approved").get_data(as_text=True)
    assert "Approved only" in re.search(r'<p class="res-stated">(.*?)</p>', page, re.S).group(1)
    assert re.search(r'n=1 of 1 evaluation\b', page)
    page = client.get(f"/results/journeys/{scene.journey.id}?period=all&source=all").get_data(as_text=True)
    assert "Shoppers and staff" in re.search(r'<p class="res-stated">(.*?)</p>', page, re.S).group(1)
    assert "shown beside this score" not in page  # nothing beside: both are in the headline
    overview = client.get("/results/").get_data(as_text=True)
    assert "Secret shoppers" in re.search(r'<p class="res-stated">(.*?)</p>', overview, re.S).group(1)


def test_files_state_their_filters(client, scene, runner, tmp_path):
    response = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene.journey.id})
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "-shoppers.xlsx" in response.headers["Content-Disposition"]
    summary = _summary(response.data)
    assert "Evaluations by: Secret shoppers" in summary["Filters"]
    assert "Status: All that count" in summary["Filters"] and summary["Evaluations"] == 2
    response = client.get("/exports/scorecard.xlsx",
                          query_string={"journey_id": scene.journey.id, "source": "all", "status": "approved"})
    assert "-shoppers-and-staff-approved-only.xlsx" in response.headers["Content-Disposition"]
    summary = _summary(response.data)
    assert "Shoppers and staff" in summary["Filters"] and "Approved only" in summary["Filters"]
    csv = client.get("/exports/responses.csv", query_string={"journey_id": scene.journey.id, "source": "staff"})
    assert csv.status_code == 200 and "-staff.csv" in csv.headers["Content-Disposition"]
    assert b"shopper" not in csv.data.split(b"\n", 1)[1]  # only the staff's rows

    out = tmp_path / "card.xlsx"
    result = runner.invoke(args=["export-scorecard", "--org", scene.org.slug, "--journey", str(scene.journey.id),
                                 "--status", "approved", str(out)])
    assert result.exit_code == 0, result.output
    assert "evaluations by secret shoppers, status approved only" in result.output
    assert _summary(out.read_bytes())["Evaluations"] == 1


def test_a_score_just_under_an_edge_reads_the_same_everywhere(client, scene):
    # 49.88 for the greeting moment in every shopper evaluation: under 50, so miserable (n=3, not greyed).
    scene.evaluate(ALL_MAGICAL, datetime(2025, 1, 13, 10))
    db.session.execute(update(MomentResult).where(MomentResult.moment_key == "greeting").values(score=49.88))
    db.session.commit()
    api = client.get(f"/api/v1/scorecard?journey_id={scene.journey.id}").get_json()
    greeting = next(m for m in api["moments"] if m["key"] == "greeting")
    assert greeting["score"] == pytest.approx(49.88)  # the API is unrounded
    page = client.get(f"/results/journeys/{scene.journey.id}?period=all").get_data(as_text=True)
    card = page.split('id="moment-greeting"', 1)[1].split("</li>", 1)[0]
    assert re.search(r'<span class="score-pill[^"]*band-miserable[^"]*">49\.9</span>', card)
    assert '<span class="res-band-word">miserable</span>' in card
    heat = page.split('id="locations"', 1)[1].split("</section>", 1)[0]
    assert ">49.9</text>" in heat and ">50</text>" not in heat

    data = client.get("/exports/scorecard.xlsx", query_string={"journey_id": scene.journey.id}).data
    ws = load_workbook(io.BytesIO(data))["Summary"]
    row = next(r for r in ws.iter_rows() if r[1].value == "greeting")
    header = next(r for r in ws.iter_rows() if r[0].value == "Moment")
    col = {c.value: i for i, c in enumerate(header)}
    score, band = row[col["Score"]], row[col["Band"]].value
    assert score.value == pytest.approx(49.88) and score.number_format == "0.0"  # Excel shows 49.9
    assert band == "Miserable"
