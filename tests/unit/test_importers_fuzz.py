"""Property tests: the journey-workbook, XLSForm and locations importers take random bad input without crashing.

Whatever the file (random cells of every type, missing or duplicated sheets and columns, huge, unicode and formula
text, duplicated keys, damaged sheet XML, bytes that are no workbook at all), an importer either returns a result
or gives its own error, whose every problem names the sheet and, for a problem in a row, the row and the column.
No other exception may come out. The `importers` Hypothesis profile keeps this fast (bounded examples, no
deadline: building workbooks is slow); set IMPORTER_FUZZ_EXAMPLES for a longer run.
"""
from __future__ import annotations

import io
import os
import re
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from auditapp.journeys.spec import CHANNELS, KEY_RE, KINDS, QUESTION_TYPES, VERDICT_KEY, JourneySpec
from auditapp.journeys.workbook import (
    MOMENT_COLUMNS,
    QUESTION_COLUMNS,
    WorkbookError,
    WorkbookProblem,
    read_journey_workbook,
    write_journey_workbook,
)
from auditapp.journeys.xlsform import read_any_workbook
from auditapp.locations.importer import COLUMNS as LOCATION_COLUMNS
from auditapp.locations.importer import ParseResult, parse_locations

settings.register_profile(
    "importers", deadline=None, max_examples=int(os.environ.get("IMPORTER_FUZZ_EXAMPLES", "40")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
IMPORTERS = settings.get_profile("importers")
# A sheet whose XML openpyxl cannot read is reported from the row it fails on; the column cannot be known then.
DAMAGED = "the sheet is damaged"
PLACEHOLDER = 987654321  # a number cell whose XML the raw-XML strategy replaces

# ------------------------------------------------------------------------------------------------ strategies

_words = st.sampled_from([
    *CHANNELS, *KINDS, *QUESTION_TYPES, "yes", "no", "Yes=1|No=0", "A=0.5|B", "<=120", ">=3", "verdict", "arrival",
    "greeted", "begin_group", "end_group", "begin group", "select_one yes_no", "select_one colours", "integer",
    "decimal", "text", "image", "note", "acknowledge", "calculate", "begin_repeat", "end_repeat", ". <= 5",
    "select_multiple colours", "geopoint", "label::English (en)", "list_name", "score",
])
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40).map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s))
_huge = st.integers(min_value=200, max_value=33_000).flatmap(lambda n: st.sampled_from(["é" * n, "x" * n, "🦷" * n]))
_formula = _text.map(lambda s: "=" + s) | st.sampled_from(["=SUM(A1:A3)", "=1/0", '=HYPERLINK("http://x")', "=A1"])
_cells = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True), st.datetimes(), st.dates(), st.times(),
    _text, _words, _formula, _huge,
)


@st.composite
def _table(draw, header_words):
    """A header of real, random and duplicated column names, then rows of random cells."""
    header = draw(st.lists(st.sampled_from(header_words) | _text | _words, min_size=0, max_size=len(header_words) + 3))
    rows = draw(st.lists(st.lists(_cells | _words, max_size=len(header) + 2), max_size=6))
    return [header, *rows]


_JOURNEY_SHEETS = {
    "journey": st.lists(st.lists(st.sampled_from(["name", "description", "Name "]) | _cells, max_size=3), max_size=4),
    "moments": _table(list(MOMENT_COLUMNS)),
    "questions": _table(list(QUESTION_COLUMNS)),
    "survey": _table(["type", "name", "label", "label::English (en)", "hint", "required", "constraint", "relevant",
                      "calculation", "appearance", "parameters", "weight", "critical", "channel"]),
    "choices": _table(["list_name", "name", "label", "label::English (en)", "score"]),
    "settings": _table(["form_title", "form_id", "version", "default_language", "description"]),
    "locations": _table(list(LOCATION_COLUMNS)),
}


@st.composite
def workbooks(draw, sheet_names):
    """Bytes of an .xlsx with a random choice of sheets (some renamed, some twice) holding random tables."""
    book = Workbook()
    book.remove(book.active)
    chosen = draw(st.lists(st.sampled_from(sheet_names), max_size=len(sheet_names) + 1))
    for index, name in enumerate(chosen):
        title = draw(st.sampled_from([name, name.upper(), f" {name} ", f"{name}{index}"]))[:31]
        if title in book.sheetnames:
            title = f"{index}"
        sheet = book.create_sheet(title)
        for row in draw(_JOURNEY_SHEETS[name]):
            sheet.append(row)
    if not chosen:
        book.create_sheet("notes")  # openpyxl cannot save a workbook without a sheet
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_RAW_CELLS = st.sampled_from([
    '<c r="{ref}" t="n"><v>{v}</v></c>', '<c r="{ref}"><v>{v}</v></c>', '<c r="{ref}" t="e"><v>{v}</v></c>',
    '<c r="{ref}" t="b"><v>{v}</v></c>', '<c r="{ref}" t="d"><v>{v}</v></c>', '<c r="{ref}" t="s"><v>{v}</v></c>',
    '<c r="{ref}" t="str"><v>{v}</v></c>', '<c r="{ref}" t="inlineStr"><is><t>{v}</t></is></c>',
    '<c r="{ref}" t="zz"><v>{v}</v></c>', '<c r="{ref}"><f>{v}</f><v>1</v></c>', '<c r="{ref}"', "<c>{v}</c>",
])
_RAW_VALUES = st.one_of(
    st.sampled_from(["1e400", "-1e400", "NaN", "inf", "9" * 400, "9" * 5000, "9" * 400 + ".5", "", "abc", "#DIV/0!",
                     "2024-13-45", "999999", "-1", "0x10", "1_000", "&amp;", "]]>"]),
    st.text(st.characters(codec="ascii", exclude_characters="<>&"), max_size=12),
)
_RAW_REFS = st.sampled_from(["A2", "B2", "C2", "D2", "ZZZZ2", "A0", "A1048577", "", "2A", "AAA1"])


@st.composite
def damaged_workbooks(draw, good: bytes):
    """A good workbook whose placeholder number cell is replaced by random, often invalid, cell XML."""
    cell = draw(_RAW_CELLS).format(ref=draw(_RAW_REFS), v=draw(_RAW_VALUES)).encode()
    return _replace_in_sheets(good, rb'<c r="[A-Z]+[0-9]+"( [a-z]+="[^"]*")*><v>' + str(PLACEHOLDER).encode() + rb"</v></c>",
                              cell)


def _replace_in_sheets(data: bytes, pattern: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                content = re.sub(pattern, lambda _: new, content)
            target.writestr(info, content)
    return out.getvalue()


@st.composite
def not_workbooks(draw, good: bytes):
    """Bytes that are not a readable .xlsx: noise, truncated workbooks, zips of random members."""
    kind = draw(st.sampled_from(["noise", "truncated", "zip", "member"]))
    if kind == "noise":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return good[: draw(st.integers(0, len(good) - 1))]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        if kind == "zip":
            for name in draw(st.lists(st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "_rels/.rels",
                                                       "xl/worksheets/sheet1.xml", "a.txt"]), max_size=4, unique=True)):
                archive.writestr(name, draw(st.binary(max_size=80)))
        else:  # a good workbook with one member replaced by random bytes or cut XML
            with zipfile.ZipFile(io.BytesIO(good)) as source:
                victim = draw(st.sampled_from(source.namelist()))
                for info in source.infolist():
                    content = source.read(info.filename)
                    if info.filename == victim:
                        content = draw(st.binary(max_size=60) | st.just(content[: len(content) // 2]))
                    archive.writestr(info, content)
    return out.getvalue()


def _good_journey(extra_number_cell: bool = True) -> bytes:
    book = Workbook()
    book.remove(book.active)
    book.create_sheet("journey").append(["name", "Dentist visit"])
    moments = book.create_sheet("moments")
    moments.append(list(MOMENT_COLUMNS))
    moments.append(["arrival", "Arrival", "face_to_face", "basic", "yes", PLACEHOLDER if extra_number_cell else 1, 60, ""])
    questions = book.create_sheet("questions")
    questions.append(list(QUESTION_COLUMNS))
    questions.append(["arrival", "wait", "Seconds waited?", "number", "yes", 1, "no", None, "<=120", "help"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _good_xlsform() -> bytes:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in (["type", "name", "label", "constraint"], ["begin_group", "arrival", "Arrival", None],
                ["integer", "wait", "Seconds waited?", ". <= 120"], ["select_one yn", "greeted", "Greeted?", None],
                ["integer", "count", "Staff seen", PLACEHOLDER], ["end_group", None, None, None]):
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in (["list_name", "name", "label", "score"], ["yn", "yes", "Yes", 1], ["yn", "no", "No", PLACEHOLDER]):
        choices.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _good_locations() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "locations"
    sheet.append(["code", "name", "region"])
    sheet.append([PLACEHOLDER, "Harbour", "North"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_JOURNEY, GOOD_XLSFORM, GOOD_LOCATIONS = _good_journey(), _good_xlsform(), _good_locations()

# ------------------------------------------------------------------------------------------------ invariants


def _check_journey_outcome(read, data: bytes) -> None:
    """`read(data)` returns a valid journey or raises WorkbookError whose problems say where; nothing else."""
    try:
        spec = read(data)
    except WorkbookError as error:
        assert error.problems, "an error with no problem in it"
        for problem in error.problems:
            assert isinstance(problem, WorkbookProblem)
            assert problem.sheet and problem.sheet.strip(), problem
            assert problem.message and problem.message.strip(), problem
            assert problem.row is None or (isinstance(problem.row, int) and problem.row >= 1), problem
            if problem.row is not None and not problem.message.startswith(DAMAGED):
                assert problem.column, f"a problem in a row must name its column: {problem}"
            assert str(problem).startswith(problem.sheet)
        assert str(error)
        return
    spec = getattr(spec, "spec", spec)  # read_any_workbook gives the spec with what was left out
    _check_spec(spec)


def _check_spec(spec: JourneySpec) -> None:
    assert isinstance(spec, JourneySpec) and spec.name.strip() and spec.moments
    for moment in spec.moments:
        assert KEY_RE.match(moment.key) and moment.channel in CHANNELS and moment.name
        assert moment.questions and moment.questions[-1].key == VERDICT_KEY or any(
            q.key == VERDICT_KEY for q in moment.questions)
        assert len({q.key for q in moment.questions}) == len(moment.questions)
        for question in moment.questions:
            assert KEY_RE.match(question.key) and question.type in QUESTION_TYPES and question.text
    assert read_journey_workbook(write_journey_workbook(spec)) == spec  # what was read writes and reads back


def _check_locations_outcome(data: bytes, filename: str) -> None:
    result = parse_locations(data, filename)  # must not raise at all
    assert isinstance(result, ParseResult)
    assert not (result.rows and result.problems), "rows are only given when there is no problem"
    for problem in result.problems + result.notes:
        assert problem.message.strip()
        assert problem.row is None or (isinstance(problem.row, int) and problem.row >= 1), problem
        if problem.row is not None and not problem.message.startswith(DAMAGED):
            assert problem.column, f"a problem in a row must name its column: {problem}"
        if filename.endswith(".xlsx") and problem.row is not None:
            assert problem.sheet, f"a problem in an .xlsx row must name its sheet: {problem}"
    for row in result.rows:
        assert row.code and row.name and not row.name.startswith("=")


# ------------------------------------------------------------------------------------------------ journey workbook


@IMPORTERS
@given(workbooks(["journey", "moments", "questions", "moments", "journey"]))
def test_journey_workbook_with_random_sheets_and_cells(data):
    _check_journey_outcome(read_journey_workbook, data)


@IMPORTERS
@given(damaged_workbooks(GOOD_JOURNEY))
def test_journey_workbook_with_damaged_cell_xml(data):
    _check_journey_outcome(read_journey_workbook, data)


@IMPORTERS
@given(not_workbooks(GOOD_JOURNEY))
def test_journey_workbook_that_is_not_a_workbook(data):
    _check_journey_outcome(read_journey_workbook, data)


# ------------------------------------------------------------------------------------------------ XLSForm (and dispatch)


@IMPORTERS
@given(workbooks(["survey", "choices", "settings", "survey", "moments"]))
def test_xlsform_with_random_sheets_and_cells(data):
    _check_journey_outcome(read_any_workbook, data)


@IMPORTERS
@given(damaged_workbooks(GOOD_XLSFORM))
def test_xlsform_with_damaged_cell_xml(data):
    _check_journey_outcome(read_any_workbook, data)


@IMPORTERS
@given(not_workbooks(GOOD_XLSFORM))
def test_xlsform_that_is_not_a_workbook(data):
    _check_journey_outcome(read_any_workbook, data)


# ------------------------------------------------------------------------------------------------ locations


@IMPORTERS
@given(workbooks(["locations", "locations", "journey"]))
def test_locations_xlsx_with_random_sheets_and_cells(data):
    _check_locations_outcome(data, "places.xlsx")


@IMPORTERS
@given(damaged_workbooks(GOOD_LOCATIONS))
def test_locations_xlsx_with_damaged_cell_xml(data):
    _check_locations_outcome(data, "places.xlsx")


@IMPORTERS
@given(not_workbooks(GOOD_LOCATIONS), st.sampled_from(["places.xlsx", "places.csv", "places.txt", "places.pdf"]))
def test_locations_file_that_is_not_what_it_says(data, filename):
    _check_locations_outcome(data, filename)


_csv_cell = _text | _words | _huge | _formula | st.sampled_from(['"', '""', "a\nb", "x;y", "\x00", "'=1", "\r"])


@IMPORTERS
@given(st.lists(st.sampled_from(["code", "name", "region", "Code", "x"]) | _csv_cell, max_size=5),
       st.lists(st.lists(_csv_cell, max_size=6), max_size=6), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
def test_locations_csv_with_random_cells(header, rows, delimiter, encoding):
    text = "\n".join(delimiter.join(map(str, line)) for line in [header, *rows])
    _check_locations_outcome(text.encode(encoding, errors="replace"), "places.csv")


# ------------------------------------------------------------------------------------------------ found crashes, kept


def test_found_a_number_too_big_for_a_float_is_a_problem_not_a_crash():
    data = _replace_in_sheets(GOOD_JOURNEY, str(PLACEHOLDER).encode(), b"9" * 400)
    try:
        read_journey_workbook(data)
    except WorkbookError as error:
        assert [(p.sheet, p.row, p.column) for p in error.problems] == [("moments", 2, "weight")]
    else:
        raise AssertionError("a weight of 10**400 was accepted")


def test_found_damaged_cell_xml_names_the_sheet_and_row():
    data = _replace_in_sheets(GOOD_JOURNEY, rb'<c r="F2" t="n"><v>' + str(PLACEHOLDER).encode() + b"</v></c>",
                              b'<c r="F2" t="n"><v>abc</v></c>')
    try:
        read_journey_workbook(data)
    except WorkbookError as error:
        assert [(p.sheet, p.row, p.column) for p in error.problems] == [("moments", 2, None)]
        assert error.problems[0].message.startswith(DAMAGED)
    else:
        raise AssertionError("a damaged sheet was read")


def test_found_damaged_locations_xlsx_names_the_sheet_and_row():
    data = _replace_in_sheets(GOOD_LOCATIONS, rb'<c r="A2" t="n"><v>' + str(PLACEHOLDER).encode() + b"</v></c>",
                              b'<c r="A2" t="s"><v>999</v></c>')
    result = parse_locations(data, "places.xlsx")
    assert [(p.sheet, p.row) for p in result.problems] == [("locations", 2)]
    assert result.problems[0].message.startswith(DAMAGED) and not result.rows
