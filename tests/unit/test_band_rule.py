"""One band rule everywhere: the band comes from the unrounded score, and no displayed number contradicts it.

A moment at 49.88 once showed as "50 Neutral" on the dashboard and as "50 Miserable" in Excel, whose legend says
miserable is under 50. Here every place that shows a score beside a band (the pure rule, the dashboard's text, the
SVG charts, the Excel cells with their number formats) is checked at and around every band edge, for the
default bands and for an organisation's own (including edges with decimals).
"""
from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from openpyxl import load_workbook

from auditapp.charts import heatmap, score_bars
from auditapp.exports.scorecard import Stat
from auditapp.exports.workbook import MOMENT_COLUMNS, write_scorecard
from auditapp.results.dashboard import band_of
from auditapp.results.dashboard import score_text as dashboard_score_text
from auditapp.scoring.rules import score_band, score_text, shown_places, shown_score

from .test_export_workbook import moment, sample

BANDS = [(50.0, 80.0), (60.0, 85.0), (49.5, 79.5), (50.3, 80.7)]


def around(edge: float) -> list[float]:
    offsets = (-0.6, -0.5, -0.49, -0.12, -0.05, -0.049, -0.005, -0.004, -0.0001, 0.0, 0.0001, 0.004, 0.005, 0.049,
               0.05, 0.12, 0.49, 0.5, 0.6)
    return [round(edge + d, 6) for d in offsets]


def cases():
    for bands in BANDS:
        for edge in bands:
            for score in around(edge):
                yield pytest.param(score, bands, id=f"{score}-{bands[0]:g}-{bands[1]:g}")
    for score in (0.0, 0.4, 99.5, 99.96, 100.0):
        yield pytest.param(score, (50.0, 80.0), id=f"{score}-ends")


def _number(text: str) -> float:
    return float(text)


@pytest.mark.parametrize(("score", "bands"), list(cases()))
def test_the_shown_number_lies_in_the_band_of_the_unrounded_score(score, bands):
    band = score_band(score, bands)
    text = score_text(score, bands)
    assert score_band(_number(text), bands) == band, (score, text, band)
    assert abs(_number(text) - score) <= 0.5  # never further off than whole-point rounding
    assert shown_places(score, bands) == (len(text.split(".")[1]) if "." in text else 0)
    # the dashboard uses the same rule
    assert dashboard_score_text(score, bands) == text and band_of(score, bands) == band


@pytest.mark.parametrize(("score", "expected"), [
    (49.88, "49.9"), (49.95, "49.95"), (49.9999, "49.99"), (50.0, "50"), (50.4, "50"), (79.5, "79.5"),
    (79.96, "79.96"), (80.0, "80"), (80.5, "81"), (12.5, "13"), (None, "–"),
])
def test_whole_points_unless_an_edge_is_near(score, expected):
    assert score_text(score, (50.0, 80.0)) == expected


def test_band_edges_belong_to_the_upper_band():
    assert score_band(50.0) == "neutral" and score_band(49.999999) == "miserable"
    assert score_band(80.0) == "magical" and score_band(79.999999) == "neutral"
    assert score_band(None) is None


@pytest.mark.parametrize(("score", "bands"), list(cases()))
def test_charts_write_the_shown_number_and_colour_by_the_band(score, bands):
    svg = str(heatmap(["City"], ["Greeting"], {(0, 0): (score, 9)}, title="Heat", bands=bands))
    band = score_band(score, bands)
    assert f'class="cell band-{band}"' in svg
    assert f">{score_text(score, bands)}</text>" in svg
    bars = str(score_bars([("Greeting", score, 9)], title="Bars", bands=bands))
    assert f'data-band="{band}"' in bars and f">{score_text(score, bands)} {band}</text>" in bars


def _excel_shows(value: float, number_format: str) -> str:
    """What Excel and LibreOffice display for a number with the formats the scorecard uses ("0", "0.0", "0.00")."""
    places = len(number_format.split(".")[1]) if "." in number_format else 0
    return str(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("bands", BANDS)
def test_excel_shows_numbers_that_agree_with_their_band_column(bands):
    scores = [s for edge in bands for s in around(edge)]
    moments = tuple(moment(f"m{i}", f"Moment {i}", i, Stat(9, s, s - 5, s + 5)) for i, s in enumerate(scores))
    out = io.BytesIO()
    write_scorecard(out, sample(moments=moments, bands=bands, locations=(), trend=(), gap=()))
    ws = load_workbook(io.BytesIO(out.getvalue()))["Summary"]
    column = {label: i for i, (label, _) in enumerate(MOMENT_COLUMNS)}
    header = next(r[0].row for r in ws.iter_rows() if r[0].value == "Moment")
    rows = [row for row in ws.iter_rows(min_row=header + 1) if row[0].value][: len(scores)]
    assert len(rows) == len(scores)
    for score, row in zip(scores, rows, strict=True):
        cell, band = row[column["Score"]], row[column["Band"]].value
        shown = _excel_shows(cell.value, cell.number_format)
        assert band == score_band(score, bands).capitalize()
        assert score_band(float(shown), bands).capitalize() == band, (score, cell.value, cell.number_format, band)
        assert shown == str(shown_score(score, bands))  # the same text as the dashboard
