"""The locations file reader: CSV and xlsx in, rows or problems with row numbers out."""
from __future__ import annotations

import io

import openpyxl
import pytest

from auditapp.locations.importer import LocationRow, Problem, clean_text, parse_locations


def xlsx(rows, sheet_title="Sheet1", formats=None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(row)
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def problems(result) -> list[tuple]:
    return [(p.row, p.column, p.message) for p in result.problems]


def test_valid_csv_keeps_leading_zeros_and_order():
    result = parse_locations(b"code,name,region\n001,City Centre,North\n0042,Harbour,\n", "places.csv")
    assert result.ok
    assert result.rows == [LocationRow(2, "001", "City Centre", "North"), LocationRow(3, "0042", "Harbour", "")]


def test_header_is_case_insensitive_in_any_order_with_bom_and_crlf():
    data = "\ufeffName ,REGION,Code\r\nCafé Åre,Nord,007\r\n".encode()
    result = parse_locations(data, "X.CSV")
    assert result.ok
    assert result.rows == [LocationRow(2, "007", "Café Åre", "Nord")]


def test_semicolon_separated_csv():
    result = parse_locations(b"code;name;region\n01;Gare du Nord;Paris, Nord\n", "f.csv")
    assert result.rows == [LocationRow(2, "01", "Gare du Nord", "Paris, Nord")]


def test_region_column_may_be_left_out_and_blank_rows_are_skipped():
    result = parse_locations(b"code,name\n\nA1,Desk\n,\n", "f.csv")
    assert result.ok and result.rows == [LocationRow(3, "A1", "Desk", "")]


def test_valid_xlsx_with_numeric_codes():
    data = xlsx([["Code", "Name", "Region"], ["001", "City", "North"], [7, "Harbour", "South"], [12, "Old Town", None]],
                formats={"A3": "000"})
    result = parse_locations(data, "locations.xlsx")
    assert result.ok
    assert [(r.row, r.code, r.name, r.region) for r in result.rows] == [
        (2, "001", "City", "North"), (3, "007", "Harbour", "South"), (4, "12", "Old Town", "")]


def test_xlsx_prefers_a_sheet_named_locations():
    workbook = openpyxl.Workbook()
    workbook.active.append(["notes"])
    sheet = workbook.create_sheet("Locations")
    sheet.append(["code", "name"])
    sheet.append(["X", "Web shop"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert parse_locations(buffer.getvalue(), "f.xlsx").rows == [LocationRow(2, "X", "Web shop", "")]


def test_every_bad_row_is_reported_and_no_row_is_returned():
    data = (
        "code,name,region\n"
        "001,City,North\n"        # 2 fine
        ",No code,North\n"        # 3 missing code
        "002,,North\n"            # 4 missing name
        "001,Again,South\n"       # 5 duplicate of row 2
        f"{'C' * 65},Long,North\n"  # 6 code too long
        "003,=HYPERLINK(1),North\n"  # 7 formula
        "004,Split,North,extra\n"  # 8 too many values
    ).encode()
    result = parse_locations(data, "f.csv")
    assert not result.ok
    assert result.rows == []
    assert problems(result) == [
        (3, "code", "code is required"),
        (4, "name", "name is required"),
        (5, "code", "code '001' is also on row 2"),
        (6, "code", "too long: 65 characters, at most 64"),
        (7, "name", "starts with '=' and would be a spreadsheet formula; remove the '='"),
        (8, "D", "the row has 4 values but the header only 3 columns (a separator inside a value? put the value in quotes)"),
    ]


def test_duplicate_of_a_bad_row_is_still_reported():
    result = parse_locations(b"code,name\nA,\nA,Second\n", "f.csv")
    assert problems(result) == [(2, "name", "name is required"), (3, "code", "code 'A' is also on row 2")]


def test_control_characters_are_stripped_with_a_note():
    result = parse_locations(b"code,name,region\nA\x07,\"Two\nlines\",North\x00\n", "f.csv")
    assert result.ok
    assert result.rows == [LocationRow(2, "A", "Twolines", "North")]
    assert [(n.row, n.column) for n in result.notes] == [(2, "code"), (2, "name"), (2, "region")]


def test_xlsx_formula_cell_is_refused_with_its_row():
    data = xlsx([["code", "name", "region"], ["A", "=1+1", "North"], ["B", "Fine", "=B2"]])
    result = parse_locations(data, "f.xlsx")
    assert problems(result) == [(2, "name", "holds a formula; type the value itself"),
                                (3, "region", "holds a formula; type the value itself")]


def test_exported_guard_apostrophe_is_removed_but_plain_ones_kept():
    result = parse_locations(b"code,name,region\nA,'-5 Desk,O'Hare\n", "f.csv")
    assert result.rows == [LocationRow(2, "A", "-5 Desk", "O'Hare")]


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"", "f.csv", "the file is empty"),
    (b"001,City,North\n", "f.csv", "the first row must be the header"),
    (b"code,name,region\n", "f.csv", "the file has a header but no locations"),
    (b"code,name\n\xff\xfe,x\n", "f.csv", "the file is not UTF-8 text (line 2)"),
    (b"not a zip", "f.xlsx", "not a readable .xlsx workbook"),
    (b"code,name\n", "f.pdf", "must be a .csv or an .xlsx"),
])
def test_unreadable_files(data, filename, message):
    result = parse_locations(data, filename)
    assert not result.ok and result.rows == []
    assert message in str(result.problems[0])


def test_duplicate_header_column_and_unknown_column():
    result = parse_locations(b"code,name,Code\nA,B,C\n", "f.csv")
    assert problems(result) == [(1, "code", "this column appears twice in the header")]
    result = parse_locations(b"code,name,manager\nA,B,C\n", "f.csv")
    assert result.ok and [(n.row, n.column, n.message) for n in result.notes] == [(1, "manager", "unknown column, ignored")]


def test_problem_text_names_row_and_column():
    assert str(Problem(4, "name", "name is required")) == "row 4, name: name is required"
    assert str(Problem(None, "", "the file is empty")) == "file: the file is empty"


def test_clean_text():
    assert clean_text("  a\tb\u2028 ") == ("ab", True)
    assert clean_text(" plain ") == ("plain", False)
