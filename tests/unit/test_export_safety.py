"""Spreadsheet safety helpers: forbidden characters, formula-like text, sheet names, CSV escaping."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell

from auditapp.exports.safety import (
    MAX_CELL_TEXT,
    SHEET_TITLE_MAX,
    csv_text,
    csv_value,
    is_formula_like,
    safe_text,
    sheet_title,
    text_cell,
    text_value,
)

INJECTIONS = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil")', "#N/A", "#DIV/0!"]


@pytest.mark.parametrize(("raw", "expected"), [
    (None, ""),
    ("plain", "plain"),
    ("a\x00b\x07c\x0bd\x0ce\x1ff", "abcdef"),
    ("tab\tline\nreturn\r", "tab\tline\nreturn\r"),  # the three control characters Excel accepts stay
    ("bad \ud800 surrogate", "bad  surrogate"),
    ("x\ufffey\uffff", "xy"),
    (42, "42"),
    ("åäö ñ 日本 🙂", "åäö ñ 日本 🙂"),
])
def test_safe_text(raw, expected):
    assert safe_text(raw) == expected


def test_safe_text_cuts_at_excel_cell_limit():
    assert len(safe_text("x" * (MAX_CELL_TEXT + 10))) == MAX_CELL_TEXT


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_like(text):
    assert is_formula_like(text)


@pytest.mark.parametrize("text", ["plain", "a=b", "1+1", " =x", "", "N/A"])
def test_not_formula_like(text):
    assert not is_formula_like(text)


def test_text_cell_keeps_plain_text_cheap_and_forces_text_type_otherwise():
    ws = Workbook(write_only=True).create_sheet("S")
    assert text_cell(ws, "plain") == "plain"
    cell = text_cell(ws, "=1+1")
    assert isinstance(cell, Cell)
    assert cell.data_type == "s" and cell.value == "=1+1"
    error_lookalike = text_cell(ws, "#N/A")
    assert error_lookalike.data_type == "s"


def test_text_cells_read_back_as_the_same_literal_text():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("S")
    values = [*INJECTIONS, "ctrl\x01char", " leading space"]
    ws.append([text_cell(ws, v) for v in values])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    row = next(load_workbook(buffer)["S"].iter_rows())
    assert [c.value for c in row] == [*INJECTIONS, "ctrlchar", " leading space"]
    assert {c.data_type for c in row} == {"s"}

    from python_calamine import CalamineWorkbook

    buffer.seek(0)
    sheet = CalamineWorkbook.from_filelike(buffer).get_sheet_by_name("S").to_python()
    assert sheet[0] == [*INJECTIONS, "ctrlchar", " leading space"]


@pytest.mark.parametrize(("name", "taken", "expected"), [
    ("Summary", (), "Summary"),
    ("a/b\\c?d*e[f]g:h", (), "a b c d e f g h"),
    ("x" * 40, (), "x" * 31),
    ("'quoted'", (), "quoted"),
    ("", (), "Sheet"),
    ("///", (), "Sheet"),
    ("Responses", ("Summary", "Responses"), "Responses (2)"),
    ("responses", ("Responses", "Responses (2)"), "responses (3)"),
    ("History", (), "History (2)"),
    ("y" * 31, ("y" * 31,), "y" * 27 + " (2)"),
])
def test_sheet_title(name, taken, expected):
    title = sheet_title(name, taken)
    assert title == expected
    assert len(title) <= SHEET_TITLE_MAX


def test_sheet_titles_are_accepted_by_openpyxl():
    wb = Workbook(write_only=True)
    taken: list[str] = []
    for name in ["a:b", "a b", "A B", "[x]" * 20, "History", "'"]:
        title = sheet_title(name, taken)
        wb.create_sheet(title)
        taken.append(title)
    assert len({t.casefold() for t in taken}) == len(taken)


@pytest.mark.parametrize(("raw", "expected"), [
    ("=1+1", "'=1+1"),
    ("+cmd", "'+cmd"),
    ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("plain", "plain"),
    ("a=b", "a=b"),
    ("bell\x07", "bell"),
])
def test_csv_text(raw, expected):
    assert csv_text(raw) == expected


def test_csv_value_keeps_numbers_as_numbers():
    assert csv_value(-2.5) == -2.5
    assert csv_value(3) == 3
    assert csv_value(None) == ""
    assert csv_value(True) == "yes"
    assert csv_value("-2") == "'-2"


def test_csv_round_trip_keeps_quotes_and_line_breaks():
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([csv_value(v) for v in ['=HYPERLINK("http://evil")', 'say "hi",\nbye', -2]])
    row = next(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'=HYPERLINK(\"http://evil\")", 'say "hi",\nbye', "-2"]


def test_text_value_fast_path_and_slow_path():
    ws = Workbook(write_only=True).create_sheet("S")
    assert text_value(ws, "") is None and text_value(ws, None) is None
    assert text_value(ws, "plain") == "plain"
    assert text_value(ws, "bell\x07") == "bell"
    for raw in INJECTIONS:
        cell = text_value(ws, raw)
        assert isinstance(cell, Cell) and cell.data_type == "s" and cell.value == raw
    assert text_value(ws, "#hashtag") == "#hashtag"  # "#" only matters for the exact error codes
