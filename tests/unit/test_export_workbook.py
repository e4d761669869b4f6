"""The scorecard workbook writer on hand-made data: layout, formats, colour scale, grey n < 3, print setup, spill."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from auditapp.exports.scorecard import (
    GapLine,
    GridRow,
    LocationCard,
    MomentLine,
    NoteRow,
    ResponseRow,
    Scorecard,
    Stat,
)
from auditapp.exports.workbook import (
    BAND_FILLS,
    DATETIME_FORMAT,
    FRACTION_FORMAT,
    MOMENT_COLUMNS,
    SCORE_FORMAT,
    SHEET_ORDER,
    write_scorecard,
)

COLUMN = {label: i for i, (label, _) in enumerate(MOMENT_COLUMNS, start=1)}


def moment(key, name, position, stat, **kw):
    return MomentLine(key=key, name=name, position=position, channel="Face to face", kind="Basic", stat=stat, **kw)


def response(i: int, answer="yes") -> ResponseRow:
    return ResponseRow(datetime(2026, 1, 2, 10, i % 60), i, "001", "City", "shopper", "Sam", 1, "greet", "Greeting",
                       "q", "Was it =fine?", answer, 0.5, "", "submitted", "")


def sample(count: int = 3, **kw) -> Scorecard:
    moments = (
        moment("greet", "Greeting", 0, Stat(10, 85.0, 75.0, 95.0), magical=6, neutral=3, miserable=1, change=-12.5,
               change_flagged=True, change_reason="Fell 12.5 points"),
        moment("order", "Ordering", 1, Stat(2, 30.0, 0.0, 100.0)),
        moment("pay", "Paying", 2, Stat(0)),
        moment("leave", "Farewell", 3, Stat(5, 60.0, 50.0, 70.0)),
    )
    values = dict(
        title="Café scorecard", organisation="Org & Co", journey="Café", generated_at=datetime(2026, 3, 1, 12, 5),
        timezone="Europe/Stockholm", filters=(("Location", "All locations"),), period_from=date(2026, 1, 1),
        period_to=date(2026, 2, 28), bands=(50.0, 80.0), evaluations=10, overall=Stat(10, 66.0, 55.0, 77.0),
        moments=moments,
        locations=(GridRow("City", Stat(8, 70.0, 60.0, 80.0), (Stat(8, 90.0, 80.0, 100.0), Stat(1, 20.0, 0.0, 100.0),
                                                              Stat(0), Stat(4, 50.0, 40.0, 60.0)),
                           code="001", region="North"),),
        trend=(GridRow("2026-01", Stat(5, 70.0, 60.0, 80.0), (Stat(5, 80.0, 70.0, 90.0),) * 4, start=date(2026, 1, 1)),
               GridRow("2026-02", Stat(5, 60.0, 50.0, 70.0), (Stat(5, 60.0, 50.0, 70.0),) * 4, start=date(2026, 2, 1))),
        gap=(GapLine("greet", "Greeting", Stat(5, 60.0, 50.0, 70.0), Stat(4, 90.0, 80.0, 100.0), 30.0, True),),
        responses=lambda: (response(i) for i in range(count)),
        notes=lambda: [NoteRow(datetime(2026, 1, 2, 10, 0), 1, "001", "City", "shopper", "Sam", "Answer", "greet",
                               "Greeting", "q", "Q?", "@SUM(A1)")],
        location_cards=lambda: [LocationCard("001", "City/North", "North", 8, Stat(8, 70.0, 60.0, 80.0), moments)],
    )
    values.update(kw)
    return Scorecard(**values)


def written(data: Scorecard, **kw) -> bytes:
    out = io.BytesIO()
    write_scorecard(out, data, **kw)
    return out.getvalue()


def moment_rows(ws):
    header = next(r[0].row for r in ws.iter_rows() if r[0].value == "Moment")
    return header, [row for row in ws.iter_rows(min_row=header + 1) if row[0].value]


def test_sheet_order_and_no_formulas():
    data = written(sample())
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == list(SHEET_ORDER)
    assert not [c for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert not [n for n in names if "externalLink" in n]
        assert any(n.startswith("xl/charts/chart") for n in names)  # the bar chart and the line chart
        assert len([n for n in names if n.startswith("xl/charts/chart")]) == 2


def test_summary_numbers_formats_and_bands():
    ws = load_workbook(io.BytesIO(written(sample())))["Summary"]
    _, rows = moment_rows(ws)
    assert [r[COLUMN["Key"] - 1].value for r in rows] == ["greet", "order", "pay", "leave"]
    greet = rows[0]
    score = greet[COLUMN["Score"] - 1]
    assert score.value == 85.0 and score.data_type == "n" and score.number_format == SCORE_FORMAT
    assert greet[COLUMN["Band"] - 1].value == "Magical"
    assert greet[COLUMN["Change vs previous period"] - 1].value == -12.5
    assert greet[COLUMN["Change signal"] - 1].value.startswith("Flagged")
    assert greet[COLUMN["Step"] - 1].value == 1
    order = rows[1]
    assert order[COLUMN["Band"] - 1].value == "Miserable (n < 3)"
    assert order[COLUMN["Score"] - 1].fill.fgColor.rgb.endswith("E9ECEF")  # greyed: n = 2
    assert rows[2][COLUMN["Band"] - 1].value == "No score" and rows[2][COLUMN["Score"] - 1].value is None
    assert rows[3][COLUMN["Band"] - 1].value == "Neutral"
    generated = next(r for r in ws.iter_rows() if str(r[0].value).startswith("Generated"))[1]
    assert generated.value == datetime(2026, 3, 1, 12, 5) and generated.is_date


def test_colour_scale_uses_band_limits_and_skips_low_n():
    wb = load_workbook(io.BytesIO(written(sample(bands=(40.0, 90.0)))))
    ws = wb["Summary"]
    header, rows = moment_rows(ws)
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    assert len(ranges) == 1
    sqref, rules = next(iter(ranges.items()))
    cells = set(sqref.replace(":", " ").split())
    score_letter = "H"
    assert f"{score_letter}{header + 1}" in sqref  # greet, n = 10
    assert f"{score_letter}{header + 2}" not in cells  # order, n = 2: grey instead
    # Flat band fills at the organisation's edges, decided like score_band (never a gradient across a band).
    assert [(r.type, r.operator, r.formula, r.stopIfTrue) for r in rules] == [
        ("cellIs", "greaterThanOrEqual", ["90"], True), ("cellIs", "lessThan", ["40"], True),
        ("cellIs", "between", ["40", "90"], True)]
    assert [r.dxf.fill.fgColor.rgb[-6:] for r in rules] == [BAND_FILLS["magical"], BAND_FILLS["miserable"],
                                                            BAND_FILLS["neutral"]]
    (sqref,) = [str(cf.sqref) for cf in wb["Locations"].conditional_formatting]
    # The ranked sheet: the location's score (F), then a score per moment from M on (Ordering, n = 1, is grey; Paying
    # has none).
    assert sqref.split() == ["F3", "M3", "P3"]
    header = [c.value for c in wb["Locations"][1]]
    assert header[11:] == ["Its score", "Greeting", "Ordering", "Paying", "Farewell"]  # locations x moments
    (sqref,) = [str(cf.sqref) for cf in wb["Location matrix"].conditional_formatting]
    # Lead columns A-C, then pairs of score and n: Overall D, Greeting F, Ordering H (n = 1), Paying J (none), Farewell L.
    assert sqref.split() == ["D2", "F2", "L2"]


def test_layout_frozen_filtered_and_printable():
    wb = load_workbook(io.BytesIO(written(sample(count=5))))
    for ws in wb:
        assert ws.page_setup.orientation == "landscape"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == (1 if ws.title == "Summary" else 0)
        assert ws.print_options.gridLines is not True  # no printed gridlines
        assert ws.print_title_rows  # header rows repeated on every page
        assert "Page &P of &N" in ws.oddFooter.right.text
        assert ws.oddFooter.left.text == "Filters: All locations"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert "Café scorecard" in ws.oddHeader.center.text
        assert ws.freeze_panes is not None
        assert ws.auto_filter.ref
    assert wb["Responses"].freeze_panes == "A2" and wb["Responses"].auto_filter.ref == "A1:P6"
    assert wb["Locations"].freeze_panes == "D3" and wb["Location matrix"].freeze_panes == "D2"
    assert wb["Summary"].page_setup.fitToWidth == 1  # the summary prints one page wide
    assert wb["Locations"].print_title_cols == "$A:$C" and wb["Locations"].print_title_rows == "$1:$2"
    assert wb["Summary"].page_setup.fitToWidth == 1 and wb["Summary"].page_setup.fitToHeight == 1
    assert wb["Summary"].oddHeader.center.text.startswith("Café scorecard (Summary)")
    assert wb["Summary"].column_dimensions["A"].width >= 20


def test_header_text_escapes_ampersand():
    ws = load_workbook(io.BytesIO(written(sample(title="R&D scorecard"))))["Gap"]
    assert ws.oddHeader.center.text == "R&&D scorecard (Gap)"


def test_responses_cells_are_typed():
    rows = list(load_workbook(io.BytesIO(written(sample(count=2))))["Responses"].iter_rows(min_row=2))
    started, score, question = rows[0][0], rows[0][12], rows[0][10]
    assert started.is_date and started.number_format == DATETIME_FORMAT
    assert score.value == 0.5 and score.number_format == FRACTION_FORMAT
    assert question.value == "Was it =fine?" and question.data_type == "s"
    assert rows[0][2].value == "001"


def test_numbers_answers_stay_numbers_and_text_answers_text():
    data = sample(responses=lambda: [response(1, 4.0), response(2, "=2+2"), response(3, "-5")])
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(written(data))).get_sheet_by_name("Responses").to_python()
    assert [row[11] for row in sheet[1:4]] == [4.0, "=2+2", "-5"]


@pytest.mark.parametrize(("count", "limit", "sheets"), [(0, 5, 1), (4, 5, 1), (5, 5, 2), (9, 5, 3), (12, 4, 4)])
def test_responses_spill(count, limit, sheets):
    wb = load_workbook(io.BytesIO(written(sample(count=count), max_rows=limit)), read_only=True)
    names = [n for n in wb.sheetnames if n.startswith("Responses")]
    assert names == ["Responses"] + [f"Responses ({i})" for i in range(2, sheets + 1)]
    ids = [row[1] for name in names for row in wb[name].iter_rows(min_row=2, values_only=True) if row[1] is not None]
    assert ids == list(range(count))
    assert wb.sheetnames.index("Notes") == wb.sheetnames.index(names[-1]) + 1


def test_max_rows_must_leave_room():
    with pytest.raises(ValueError):
        written(sample(), max_rows=1)


def test_per_location_sheet_names_are_sanitised():
    wb = load_workbook(io.BytesIO(written(sample(), per_location=True)))
    assert wb.sheetnames == [*SHEET_ORDER, "001 City North"]
    card = wb["001 City North"]
    assert card["A1"].value == "Café scorecard: 001 City/North"
    _, rows = moment_rows(card)
    assert len(rows) == 4


def test_long_header_text_is_cut_before_escaping():
    ws = load_workbook(io.BytesIO(written(sample(title="&" * 300))))["Gap"]
    text = ws.oddHeader.center.text
    assert len(text) <= 255 and len(text) % 2 == 0 and set(text) == {"&"}


def test_queries_sheet_lists_the_rate_per_location_with_the_baseline():
    from dataclasses import replace

    from auditapp.exports.scorecard import QueryLine

    lines = (QueryLine("001", "=City", "North", 20, 1, 0.05, "Within the 3–5% baseline"),
             QueryLine("002", "Harbour", "North", 0, 0, None, "No approved visits"))
    total = QueryLine("", "All locations", "", 20, 1, 0.05, "Within the 3–5% baseline")
    data = replace(sample(count=1), queries=lines, query_total=total,
                   query_baseline="The industry baseline is 3–5% of evaluations queried.")
    ws = load_workbook(io.BytesIO(written(data)))["Queries"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[1][0] == "The industry baseline is 3–5% of evaluations queried."
    assert rows[2][:4] == ["Code", "Location", "Region", "Approved shopper evaluations"]
    assert rows[3][:6] == ["001", "=City", "North", 20, 1, 0.05] and ws["B4"].data_type == "s"  # text, no formula
    assert ws["F4"].number_format == "0.0%" and rows[4][5] is None and rows[4][6] == "No approved visits"
    assert rows[5][1] == "All locations" and ws["B6"].font.bold
    assert ws.auto_filter.ref == "A3:G6" and ws.freeze_panes == "A4"


# --- printing, fonts, period, findings, ranked locations, "so far" ----------------------------------------------


def test_one_font_throughout():
    wb = load_workbook(io.BytesIO(written(sample(), per_location=True)))
    names = {c.font.name for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}
    assert names == {"Arial"}
    with zipfile.ZipFile(io.BytesIO(written(sample()))) as archive:
        styles = archive.read("xl/styles.xml").decode()
    assert "Calibri" not in styles and "Cambria" not in styles


def test_long_sheets_print_their_first_rows_only():
    wb = load_workbook(io.BytesIO(written(sample(count=100))))
    ws = wb["Responses"]
    assert ws.print_area == "'Responses'!$A$1:$P$41"
    assert "first 40 of 100 rows" in ws.oddFooter.center.text
    assert wb["Notes"].print_area == "'Notes'!$A$1:$L$2"  # one note: all of it


def test_period_shows_real_dates_when_the_filter_has_none():
    ws = load_workbook(io.BytesIO(written(sample(period_from=None, period_to=None, first_day=date(2026, 1, 3),
                                                 last_day=date(2026, 2, 27)))))["Summary"]
    rows = {r[0].value: [c.value for c in r[1:3]] for r in ws.iter_rows() if r[0].value}
    assert rows["Period"][0] == "2026-01-03 to 2026-02-27"
    assert rows["From"] == [datetime(2026, 1, 3), "the first evaluation"]
    assert rows["To"] == [datetime(2026, 2, 27), "the last evaluation"]
    texts = " ".join(str(c.value) for r in ws.iter_rows() for c in r if c.value)
    assert "the first evaluation" in texts and "first evaluation" not in str(rows["From"][0])


def test_summary_opens_with_the_findings():
    found = ("Weakest moment: Farewell, 60 (neutral, n=5).", "Most failed checklist item: “Smiled” (Greeting), "
             "failed 3 of 9 times (33%).", "Best location: City, 70 (neutral, n=8) of 2 compared.")
    ws = load_workbook(io.BytesIO(written(sample(findings=found))))["Summary"]
    assert ws["A2"].value == "Findings"
    assert [ws[f"A{r}"].value for r in (3, 4, 5)] == [f"• {f}" for f in found]
    header, rows = moment_rows(ws)
    assert len(rows) == 4  # the moments table follows, intact


def test_bars_coloured_by_band_with_values():
    data = written(sample())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]
    bar = next(c for c in charts if "barChart" in c)
    assert bar.count("<dPt>") == 4
    from auditapp.exports.workbook import BAR_FILLS, GREY_BAR
    assert BAR_FILLS["magical"] in bar and BAR_FILLS["neutral"] in bar  # greet 85, leave 60
    assert GREY_BAR in bar  # ordering, n = 2
    assert '<showVal val="1"/>' in bar


def test_locations_ranked_against_the_chain_average():
    cells = (Stat(0),) * 4
    rows = (GridRow("Low", Stat(6, 40.0, 30.0, 50.0), cells, code="003"),
            GridRow("High", Stat(9, 90.0, 85.0, 95.0), (Stat(9, 95.0), Stat(9, 70.0), Stat(0), Stat(2, 10.0)),
                    code="001"),
            GridRow("Few", Stat(2, 99.0, 0.0, 100.0), cells, code="002"),
            GridRow("Mid", Stat(7, 66.0, 55.0, 77.0), cells, code="004"))
    ws = load_workbook(io.BytesIO(written(sample(locations=rows))))["Locations"]
    assert ws["C2"].value == "Chain average (all locations)" and ws["F2"].value == 66.0  # under the header
    header = [c.value for c in ws[1]]
    assert header[:7] == ["Rank", "Code", "Location", "Region", "n", "Score", "Band"]
    body = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert [(r[0], r[2]) for r in body] == [(1, "High"), (2, "Mid"), (3, "Low"), ("n < 3", "Few")]
    col = header.index("Difference from chain average (points)")
    assert [r[col] for r in body] == [24.0, 0.0, -26.0, None]
    assert body[0][header.index("Weakest moment (n ≥ 3)")] == "Ordering"  # 70; Farewell's 10 has n = 2
    assert ws.row_dimensions[1].height and ws.row_dimensions[1].height > 15  # the long headers wrap


def test_matrix_header_wraps_moment_names():
    long = moment("long", "Escorted back to reception after the examination", 4, Stat(5, 60.0))
    data = sample()
    data.moments = (*data.moments, long)
    data.locations = (GridRow("City", Stat(8, 70.0), (Stat(0),) * 5, code="001"),)
    ws = load_workbook(io.BytesIO(written(data)))["Location matrix"]
    header = [c.value for c in ws[1]]
    assert "Escorted back to reception after the examination" in header
    cell = ws.cell(row=1, column=header.index("Escorted back to reception after the examination") + 1)
    assert cell.alignment.wrap_text
    assert ws.row_dimensions[1].height >= 45  # four lines or so, all shown


def test_unfinished_period_is_marked_so_far():
    trend = (GridRow("2026-01", Stat(5, 70.0), (Stat(5, 80.0),) * 4, start=date(2026, 1, 1)),
             GridRow("2026-02", Stat(2, 20.0), (Stat(2, 20.0),) * 4, start=date(2026, 2, 1), partial=True))
    data = written(sample(trend=trend))
    ws = load_workbook(io.BytesIO(data))["Trend"]
    assert [ws["A3"].value, ws["A4"].value] == ["2026-01", "2026-02 (so far, n=2)"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        line = next(archive.read(n).decode() for n in archive.namelist()
                    if n.startswith("xl/charts/chart") and "lineChart" in archive.read(n).decode())
    assert line.count("<dPt><idx val=\"1\"/>") == 4 and 'prstDash val="sysDot"' in line


def test_a_period_the_date_filter_cuts_is_marked_like_one_not_over_yet():
    from auditapp.exports.queries import _partial_note
    from auditapp.results.queries import Filters, Period

    march, week = Period("2026-03", "2026-03", date(2026, 3, 1)), Period("2026-03-09", "2026-W11", date(2026, 3, 9))
    whole = Filters(journey_id=1)
    assert _partial_note(march, "month", "2026-04", whole) == ""
    assert _partial_note(march, "month", "2026-03", whole) == "so far"  # today is in it
    assert _partial_note(march, "month", "2026-04", Filters(journey_id=1, date_from=date(2026, 3, 10))) == "from 2026-03-10"
    assert _partial_note(march, "month", "2026-04", Filters(journey_id=1, date_to=date(2026, 3, 20))) == "to 2026-03-20"
    assert _partial_note(march, "month", "2026-04", Filters(journey_id=1, date_from=date(2026, 3, 1),
                                                            date_to=date(2026, 3, 31))) == ""  # the whole month
    assert _partial_note(week, "week", "2026-03-16", Filters(journey_id=1, date_from=date(2026, 3, 11))) == "from 2026-03-11"
    assert _partial_note(week, "week", "2026-03-16", Filters(journey_id=1, date_to=date(2026, 3, 15))) == ""  # Sunday
    trend = (GridRow("2026-03", Stat(5, 70.0), (Stat(5, 80.0),) * 4, start=date(2026, 3, 1), partial=True,
                     partial_note="from 2026-03-10"),)
    ws = load_workbook(io.BytesIO(written(sample(trend=trend))))["Trend"]
    assert ws["A3"].value == "2026-03 (from 2026-03-10, n=5)"
