"""Read a locations file (.csv or .xlsx with columns code,name,region) into rows or a list of problems.

Pure: bytes and a file name in, dataclasses out; no Flask, no database. Everything is checked before anything is
imported, and every problem names its row (as numbered in a spreadsheet, the header being row 1) and column.
Messages go through Flask-Babel's gettext: the reader's language in a request, English outside one (the CLI).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace

from ..words import gettext as _

MAX_LENGTH = {"code": 64, "name": 200, "region": 200}
COLUMNS = ("code", "name", "region")
REQUIRED = ("code", "name")
MAX_ROWS = 20_000
MAX_COLUMNS = 50
# C0 and C1 control characters, DEL and the Unicode line/paragraph separators: invisible, break exports.
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
FORMULA_START = "="
ESCAPED_FORMULA_RE = re.compile(r"^'(?=[=+\-@\t\r])")  # our CSV export guards such text with one apostrophe


@dataclass(frozen=True, slots=True)
class LocationRow:
    row: int
    code: str
    name: str
    region: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # None: the whole file
    column: str
    message: str
    sheet: str = ""  # the sheet read, for an .xlsx file

    def __str__(self) -> str:
        # Whole sentences, so that a translation can order the parts its own way.
        values = {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}
        if self.sheet:
            if self.row is not None:
                if self.column:
                    return _("sheet %(sheet)s, row %(row)s, %(column)s: %(message)s", **values)
                return _("sheet %(sheet)s, row %(row)s: %(message)s", **values)
            if self.column:
                return _("sheet %(sheet)s, file, %(column)s: %(message)s", **values)
            return _("sheet %(sheet)s, file: %(message)s", **values)
        if self.row is not None:
            if self.column:
                return _("row %(row)s, %(column)s: %(message)s", **values)
            return _("row %(row)s: %(message)s", **values)
        if self.column:
            return _("file, %(column)s: %(message)s", **values)
        return _("file: %(message)s", **values)


@dataclass
class ParseResult:
    rows: list[LocationRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # errors: nothing may be imported
    notes: list[Problem] = field(default_factory=list)  # fixed automatically (characters stripped, columns ignored)

    @property
    def ok(self) -> bool:
        return not self.problems


class _FileError(Exception):
    """The file as a whole, or a sheet of it from `row` on, cannot be read."""

    def __init__(self, message: str, *, sheet: str = "", row: int | None = None):
        super().__init__(message)
        self.sheet, self.row = sheet, row


def clean_text(value: str) -> tuple[str, bool]:
    """Trimmed text without control characters; the flag says whether any were removed."""
    cleaned = CONTROL_RE.sub("", value)
    return cleaned.strip(), cleaned != value


def formula_problem(value: str) -> str | None:
    """Text that a spreadsheet would run as a formula is refused rather than silently changed."""
    if value.startswith(FORMULA_START):
        return _("starts with '=' and would be a spreadsheet formula; remove the '='")
    return None


def parse_locations(data: bytes, filename: str) -> ParseResult:
    """The rows of a .csv or .xlsx locations file, or every problem found in it."""
    name = (filename or "").lower()
    sheet = ""
    try:
        if name.endswith(".xlsx"):
            sheet, table = _read_xlsx(data)
        elif name.endswith((".csv", ".txt")):
            table = _read_csv(data)
        else:
            raise _FileError(_("the file must be a .csv or an .xlsx file"))
    except _FileError as error:
        return ParseResult(problems=[Problem(error.row, "", str(error), sheet=error.sheet)])
    result = _validate(table)
    if sheet:  # every problem and note of an .xlsx names the sheet it is on
        result.problems = [replace(p, sheet=sheet) for p in result.problems]
        result.notes = [replace(p, sheet=sheet) for p in result.notes]
    return result


# A table is a list of (row number, [cell, ...]) where a cell is a str or a _Formula.
class _Formula(str):
    """A cell holding a live spreadsheet formula (xlsx)."""


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _FileError(_("the file is not UTF-8 text (line %(line)s); in your spreadsheet choose 'CSV UTF-8' when "
                           "saving", line=line)) from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count) if first_line else ","
    if not first_line.count(delimiter):
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        return [(number, cells) for number, cells in enumerate(reader, start=1)]
    except csv.Error as error:
        raise _FileError(_("the CSV cannot be read: %(error)s", error=error)) from None


def _read_xlsx(data: bytes) -> tuple[str, list[tuple[int, list[str]]]]:
    """The title of the sheet read (`locations`, else the first) and its rows."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as error:  # BadZipFile, KeyError, InvalidFileException, XML parse errors...: not a workbook
        raise _FileError(_("the file is not a readable .xlsx workbook (%(error)s)", error=error.__class__.__name__)) from None
    try:
        sheets = workbook.worksheets  # chart sheets have no cells
        if not sheets:
            raise _FileError(_("the workbook has no sheet with cells; put the locations on a sheet named locations"))
        sheet = next((s for s in sheets if s.title.strip().lower() == "locations"), sheets[0])
        table = []
        number = 0
        try:  # openpyxl reads the sheet's XML only now: a damaged cell fails here
            for number, row in enumerate(sheet.iter_rows(), start=1):
                if number > MAX_ROWS + 1:
                    break
                table.append((number, [_xlsx_cell(cell) for cell in row[:MAX_COLUMNS + 1]]))
        except Exception as error:
            detail = " ".join(str(error).split())[:120]
            raise _FileError(_("the sheet is damaged from this row on and cannot be read (%(error)s: %(detail)s); open "
                               "the file in Excel or LibreOffice and save it again as .xlsx",
                               error=type(error).__name__, detail=detail), sheet=sheet.title, row=number + 1) from None
        return sheet.title, table
    finally:
        workbook.close()


def _xlsx_cell(cell) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "f" or (isinstance(value, str) and value.startswith("=")
                                                    and getattr(cell, "data_type", None) != "s"):
        return _Formula(str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = str(value)
        # A code typed as 007 in a cell formatted "000" is stored as 7: the format gives the zeros back.
        number_format = getattr(cell, "number_format", "") or ""
        if number_format and set(number_format) == {"0"}:
            text = text.zfill(len(number_format))
        return text
    return str(value)


def _validate(table: list[tuple[int, list[str]]]) -> ParseResult:
    result = ParseResult()
    table = [(n, cells) for n, cells in table if any(str(c).strip() for c in cells)]
    if not table:
        result.problems.append(Problem(None, "", _("the file is empty: the first row must be the header code,name,region")))
        return result
    header_row, header = table[0]
    columns = _columns(header_row, header, result)
    if result.problems:
        return result
    if len(table) - 1 > MAX_ROWS:
        result.problems.append(Problem(None, "", _("the file has more than %(limit)s rows; split it", limit=MAX_ROWS)))
        return result
    if len(table) == 1:
        result.problems.append(Problem(None, "", _("the file has a header but no locations")))
        return result
    seen: dict[str, int] = {}
    for number, cells in table[1:]:
        row, code = _row(number, cells, columns, len(header), result)
        if code and code in seen:
            result.problems.append(Problem(number, "code", _("code '%(code)s' is also on row %(row)s", code=code, row=seen[code])))
            continue
        if code:
            seen[code] = number
        if row is not None:
            result.rows.append(row)
    if result.problems:
        result.rows = []
    return result


def _columns(row_number: int, header: list[str], result: ParseResult) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, raw in enumerate(header):
        label, _stripped = clean_text(str(raw))
        label = label.lower()
        if not label:
            continue
        if label in columns:
            result.problems.append(Problem(row_number, label, _("this column appears twice in the header")))
        elif label in COLUMNS:
            columns[label] = index
        else:
            result.notes.append(Problem(row_number, label[:40], _("unknown column, ignored")))
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        result.problems.append(Problem(
            row_number, ", ".join(missing),
            _("the first row must be the header with the columns code,name,region (region may be left out); "
              "missing: %(missing)s", missing=", ".join(missing))))
    return columns


def _row(number: int, cells: list[str], columns: dict[str, int], width: int,
         result: ParseResult) -> tuple[LocationRow | None, str]:
    """The row (None when it has a problem) and its code as read, for the duplicate check."""
    bad = False
    extra = [i for i, c in enumerate(cells) if i >= width and str(c).strip()]
    if extra:
        result.problems.append(Problem(number, _column_letter(extra[0]),
                                       _("the row has %(values)s values but the header only %(columns)s columns "
                                         "(a separator inside a value? put the value in quotes)",
                                         values=width + len(extra), columns=width)))
        bad = True
    values = {}
    for name in COLUMNS:
        index = columns.get(name)
        raw = cells[index] if index is not None and index < len(cells) else ""
        if isinstance(raw, _Formula):
            result.problems.append(Problem(number, name, _("holds a formula; type the value itself")))
            bad = True
            continue
        raw = ESCAPED_FORMULA_RE.sub("", str(raw))
        text, stripped = clean_text(raw)
        if stripped:
            result.notes.append(Problem(number, name, _("control characters (tabs, line breaks...) removed")))
        problem = formula_problem(text)
        if problem:
            result.problems.append(Problem(number, name, problem))
            bad = True
        elif len(text) > MAX_LENGTH[name]:
            result.problems.append(Problem(number, name, _("too long: %(length)s characters, at most %(limit)s", length=len(text),
                                                               limit=MAX_LENGTH[name])))
            bad = True
        elif name in REQUIRED and not text:
            result.problems.append(Problem(number, name, _("%(column)s is required", column=name)))
            bad = True
        values[name] = text
    code = values.get("code", "")
    if bad:
        return None, code
    return LocationRow(row=number, code=code, name=values["name"], region=values.get("region", "")), code


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names the column a value is in."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
