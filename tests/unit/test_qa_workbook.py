"""QA: the printed scorecard shows whole headers and whole moment names (found by opening it in LibreOffice)."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from auditapp.exports.scorecard import Stat
from auditapp.exports.workbook import _header_lines

from .test_export_workbook import moment, sample, written

LONG_NAME = "Shown through and greeted by the nurse"  # 38 characters, from the dentist journey


def test_header_lines_wrap_at_spaces_and_break_long_words():
    assert _header_lines("n", 6) == 1
    assert _header_lines("Score", 9) == 1
    assert _header_lines("95% high", 9) == 1
    assert _header_lines("95% high", 8) == 2
    assert 4 <= _header_lines("Change vs previous period", 9) <= 5
    assert _header_lines("Miserable", 10) == 1
    assert _header_lines("Miserable", 9) == 2


def test_wrapped_header_rows_are_tall_enough_to_show_every_line():
    book = load_workbook(io.BytesIO(written(sample())))
    summary = book["Summary"]
    header = next(r[0].row for r in summary.iter_rows() if r[0].value == "Moment")
    # "Change vs previous period" in a 12-wide column takes three lines: the row must not keep the default height.
    assert summary.row_dimensions[header].height >= 3 * 15
    assert book["Gap"].row_dimensions[1].height >= 3 * 15  # "Gap (staff minus shopper)" in a 12-wide column
    # The ranked Locations sheet wraps its long headers too ("Difference from chain average (points)", 13 wide).
    lines = _header_lines("Difference from chain average (points)", 13)
    assert lines >= 3 and book["Locations"].row_dimensions[1].height >= lines * 15


def test_the_moment_column_fits_long_names_and_the_table_still_fits_one_page():
    data = sample(moments=(moment("nurse", LONG_NAME, 0, Stat(5, 80.0, 70.0, 90.0)),))
    summary = load_workbook(io.BytesIO(written(data)))["Summary"]
    assert summary.column_dimensions["A"].width >= len(LONG_NAME)
    total = sum(summary.column_dimensions[c].width for c in "ABCDEFGHIJKLMNOPQ")
    assert total <= 200 and summary.page_setup.fitToWidth == 1
