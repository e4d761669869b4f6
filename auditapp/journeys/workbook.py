"""Journey workbook (.xlsx) reader and writer: contract section 2, like XLSForm for moments of truth.

`read_journey_workbook` checks everything before it gives up and reports every problem with its sheet, row and
column, so a manager fixes a workbook in one pass. `write_journey_workbook` writes the same format back, so that
reading what was written gives the same journey. Pure Python: no Flask, no SQLAlchemy. Problems go through
Flask-Babel's gettext: the reader's language in a request, English outside one (the CLI, the tests).
"""
from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from ..words import gettext as _
from ..words import ngettext
from .languages import DEFAULT_LANGUAGE, MOMENT_TEXTS, QUESTION_TEXTS, LanguageError, format_language, parse_language
from .spec import (
    CHANNELS,
    KEY_RE,
    KINDS,
    MAX_EXPECTED_SECONDS,
    MAX_PRIORITIES,
    MAX_WEIGHT,
    QUESTION_TYPES,
    VERDICT_KEY,
    JourneySpec,
    MomentSpec,
    QuestionSpec,
    ensure_verdicts,
    format_options,
    parse_options,
    parse_target,
    verdict_question,
)

__all__ = [
    "JOURNEY_SHEET",
    "MOMENTS_SHEET",
    "QUESTIONS_SHEET",
    "MOMENT_COLUMNS",
    "QUESTION_COLUMNS",
    "WorkbookProblem",
    "WorkbookError",
    "read_journey_workbook",
    "read_opened_journey_workbook",
    "open_workbook",
    "write_journey_workbook",
    "blank_template",
]

JOURNEY_SHEET = "journey"
MOMENTS_SHEET = "moments"
QUESTIONS_SHEET = "questions"
JOURNEY_FIELDS = ("name", "description", "default_language")
MOMENT_COLUMNS = ("key", "name", "channel", "kind", "priority", "weight", "expected_seconds", "description")
MOMENT_REQUIRED = ("key", "name", "channel")
QUESTION_COLUMNS = ("moment", "key", "text", "type", "required", "weight", "critical", "options", "target", "help")
QUESTION_REQUIRED = ("moment", "key", "text", "type")
# Columns that take a translation, `name::Svenska (sv)` as in XLSForm; `label` and `hint` are XLSForm's words.
MOMENT_TRANSLATABLE = {"name": "name", "label": "name", "description": "description"}
QUESTION_TRANSLATABLE = {"text": "text", "label": "text", "help": "help", "hint": "help", "options": "options"}
# Longest text the database columns take (keys, names, targets); longer text is a problem, not a failed import.
MAX_LENGTHS = {(JOURNEY_SHEET, "name"): 200, (MOMENTS_SHEET, "key"): 64, (MOMENTS_SHEET, "name"): 200,
               (QUESTIONS_SHEET, "key"): 64, (QUESTIONS_SHEET, "target"): 32}
YES_WORDS = frozenset({"yes", "y", "true", "1"})
NO_WORDS = frozenset({"no", "n", "false", "0"})
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class WorkbookProblem:
    """One thing wrong with a workbook; `row` is the spreadsheet row number, `column` the header name."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        # Whole sentences, so that a translation can order the parts its own way.
        values = {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}
        if self.row is not None and self.column is not None:
            return _("%(sheet)s, row %(row)s, column %(column)s: %(message)s", **values)
        if self.row is not None:
            return _("%(sheet)s, row %(row)s: %(message)s", **values)
        if self.column is not None:
            return _("%(sheet)s, column %(column)s: %(message)s", **values)
        return _("%(sheet)s: %(message)s", **values)


class WorkbookError(Exception):
    """A workbook that cannot be imported; `.problems` lists every problem found, in sheet order."""

    def __init__(self, problems: list[WorkbookProblem]):
        self.problems = list(problems)
        count = len(self.problems)
        heading = ngettext("%(num)d problem in the workbook", "%(num)d problems in the workbook", count)
        super().__init__(heading + ":\n" + "\n".join(f"- {p}" for p in self.problems))


# --------------------------------------------------------------------------------------------------- reading


def read_journey_workbook(source: bytes | str | Path | BinaryIO) -> JourneySpec:
    """Parse and validate a journey workbook; raise WorkbookError listing every problem found.

    `source` is the file's bytes, a path, or a binary file object. The journey returned has a verdict question
    in every moment (added last where the workbook has none).
    """
    book = open_workbook(source)
    try:
        return read_opened_journey_workbook(book)
    finally:
        book.close()


def read_opened_journey_workbook(book) -> JourneySpec:
    """read_journey_workbook for a workbook opened with open_workbook (which the caller closes)."""
    return _Reader(book).read()


def open_workbook(source: bytes | str | Path | BinaryIO):
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        data = Path(source).read_bytes()  # bytes, so a name without .xlsx does not matter
    else:
        data = source.read()
    try:
        with warnings.catch_warnings():
            # Excel extensions openpyxl does not know (x14 validations, slicers) only warn; they do not matter here
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # zipfile.BadZipFile, KeyError, InvalidFileException, lxml errors...: not a workbook we read
        raise WorkbookError([WorkbookProblem("workbook", None, None, _(
            "not an .xlsx workbook; save the file from Excel or LibreOffice as an Excel workbook (.xlsx)"))]) from None


def read_rows(sheet, name: str, problems: list[WorkbookProblem]) -> list[tuple[int, list[_Cell]]] | None:
    """Every row of a read-only sheet as _Cells, or None when the sheet is damaged.

    openpyxl reads a sheet's XML only now, so a damaged sheet (a number cell holding 'abc', a shared string that is
    not there, cut XML) fails here. That becomes one problem naming the sheet and the row it failed on (its column
    cannot be known), instead of an exception; the half-read rows are dropped, as they would only add misleading
    problems (missing columns, unknown keys).
    """
    rows: list[tuple[int, list[_Cell]]] = []
    number = 0
    try:
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            rows.append((number, [_cell(c, number, i) for i, c in enumerate(cells)]))
    except Exception as error:  # ValueError, IndexError, OverflowError, XML parse errors: openpyxl cannot read it
        problems.append(WorkbookProblem(name, number + 1, None, damaged_sheet_message(error)))
        return None
    return rows


def damaged_sheet_message(error: Exception) -> str:
    detail = " ".join(str(error).split())[:120]
    return _("the sheet is damaged from this row on and cannot be read (%(error)s: %(detail)s); open the file in "
             "Excel or LibreOffice and save it again as an Excel workbook (.xlsx)", error=type(error).__name__, detail=detail)


def _cell(cell, row: int, index: int) -> _Cell:
    value = getattr(cell, "value", None)
    formula = getattr(cell, "data_type", None) == "f" or isinstance(value, (ArrayFormula, DataTableFormula))
    return _Cell(value, formula, row, get_column_letter(index + 1))


class _Cell:
    """A read cell: its value, whether it held a formula, and where it was."""

    __slots__ = ("value", "formula", "row", "column")

    def __init__(self, value: Any, formula: bool, row: int, column: str):
        self.value, self.formula, self.row, self.column = value, formula, row, column

    @property
    def blank(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


class _Reader:
    def __init__(self, book):
        self.book = book
        self.problems: list[WorkbookProblem] = []
        self.rejected_keys: set[str] = set()  # bad moment keys, reported once, not again per question
        self.languages: dict[str, str] = {}  # code -> name, in the order the translation columns come
        self.default_language: tuple[str, str] = DEFAULT_LANGUAGE

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(WorkbookProblem(sheet, row, column, message))

    # -- sheets and rows

    def read(self) -> JourneySpec:
        sheets = self._find_sheets()
        name, description = self._read_journey(sheets.get(JOURNEY_SHEET))
        moments = self._read_moments(sheets.get(MOMENTS_SHEET))
        self._read_questions(sheets.get(QUESTIONS_SHEET), moments)
        if self.problems:
            raise WorkbookError(self.problems)
        languages = [(code, name) for code, name in self.languages.items() if code != self.default_language[0]]
        spec = JourneySpec(name=name, description=description, moments=list((moments or {}).values()),
                           default_language=self.default_language, languages=languages)
        return ensure_verdicts(spec)

    def _find_sheets(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for sheet in self.book.worksheets:
            found.setdefault(sheet.title.strip().casefold(), sheet)
        sheets = {}
        for wanted in (JOURNEY_SHEET, MOMENTS_SHEET, QUESTIONS_SHEET):
            if wanted in found:
                sheets[wanted] = found[wanted]
            else:
                titles = ", ".join(repr(s.title) for s in self.book.worksheets) or _("none")
                self.problem(wanted, None, None, _("sheet '%(sheet)s' is missing; all three sheets (journey, moments, "
                                                   "questions) are required (sheets found: %(found)s)",
                                                   sheet=wanted, found=titles))
        return sheets


    # -- journey sheet

    def _read_journey(self, sheet) -> tuple[str, str]:
        if sheet is None:
            return "", ""
        values: dict[str, str | None] = {}
        first_row: dict[str, int] = {}
        rows = read_rows(sheet, JOURNEY_SHEET, self.problems)
        if rows is None:
            return "", ""
        for number, cells in rows:
            field_cell = cells[0] if cells else None
            value_cell = cells[1] if len(cells) > 1 else None
            if field_cell is None or field_cell.blank or field_cell.formula:
                continue  # rows without a field name (notes, blank lines) are not ours
            field_name = _normalise_name(_text(field_cell.value))
            if field_name not in JOURNEY_FIELDS:
                continue  # a header row ("field", "value") or a note
            if field_name in first_row:
                self.problem(JOURNEY_SHEET, number, "A",
                             _("field '%(field)s' is given twice (first on row %(row)s)", field=field_name,
                               row=first_row[field_name]))
                continue
            first_row[field_name] = number
            values[field_name] = self._text_value(JOURNEY_SHEET, value_cell, "B") if value_cell else ""
            limit = MAX_LENGTHS.get((JOURNEY_SHEET, field_name))
            if limit and len(values[field_name] or "") > limit:
                self.problem(JOURNEY_SHEET, number, "B", _("%(field)s is too long (%(length)s characters; at most "
                                                           "%(limit)s)", field=field_name,
                                                           length=len(values[field_name]), limit=limit))
        if values.get("default_language"):
            try:
                self.default_language = parse_language(values["default_language"])
            except LanguageError as error:
                self.problem(JOURNEY_SHEET, first_row["default_language"], "B",
                             _("default_language: %(error)s (write the language the texts are in, like English (en))",
                               error=error))
        if "name" not in first_row:
            self.problem(JOURNEY_SHEET, None, None,
                         _("the journey needs a name: put 'name' in column A and the journey's name in column B"))
        elif values["name"] == "":  # None: a formula, already reported
            self.problem(JOURNEY_SHEET, first_row["name"], "B", _("name is required; type the journey's name here"))
        return values.get("name") or "", values.get("description") or ""

    # -- table sheets

    def _table(self, sheet, sheet_name: str, columns: tuple[str, ...], required: tuple[str, ...],
               translatable: dict[str, str] | None = None):
        """Header positions and the non-empty data rows, as {column name: cell}; None when unusable. A translation
        column `text::Svenska (sv)` is kept under the name `text::sv`."""
        rows = read_rows(sheet, sheet_name, self.problems)
        if rows is None:
            return None
        header_at = next((i for i, (_, cells) in enumerate(rows) if any(c and not c.blank for c in cells)), None)
        if header_at is None:
            self.problem(sheet_name, None, None,
                         _("the sheet is empty; it needs a header row with the columns %(columns)s",
                           columns=", ".join(columns)))
            return None
        header_row, header_cells = rows[header_at]
        positions: dict[str, int] = {}
        for index, cell in enumerate(header_cells):
            if cell is None or cell.blank:
                continue
            name = _normalise_name(_text(cell.value))
            if "::" in name and translatable is not None:
                name = self._translation_column(sheet_name, header_row, cell, translatable)
                if name is None:
                    continue
            elif name not in columns:
                continue  # extra columns (notes, comments) are the user's own
            if name in positions:
                self.problem(sheet_name, header_row, name,
                             _("column '%(column)s' appears twice in the header row (columns %(first)s and "
                               "%(second)s)", column=name, first=get_column_letter(positions[name] + 1),
                               second=cell.column))
                continue
            positions[name] = index
        missing = [c for c in required if c not in positions]
        for name in missing:
            self.problem(sheet_name, header_row, name,
                         _("required column '%(column)s' is missing from the header row (the header row needs "
                           "%(required)s; optional: %(optional)s)", column=name, required=", ".join(required),
                           optional=", ".join(c for c in columns if c not in required)))
        data = []
        for number, cells in rows[header_at + 1:]:
            record = {name: cells[i] for name, i in positions.items() if i < len(cells) and cells[i] is not None}
            if all(cell.blank for cell in record.values()):
                continue  # fully empty rows, trailing ones included, are skipped silently
            data.append((number, record))
        return positions, missing, data

    def _translation_column(self, sheet_name: str, row: int, cell, translatable: dict[str, str]) -> str | None:
        raw = _text(cell.value)
        field_text, _sep, language_text = raw.partition("::")
        field_name = translatable.get(_normalise_name(field_text))
        header = raw
        if field_name is None:
            self.problem(sheet_name, row, header, _("'%(header)s' translates '%(field)s', which has no translations; "
                                                    "translate %(fields)s", header=raw, field=field_text.strip(),
                                                    fields=", ".join(dict.fromkeys(translatable.values()))))
            return None
        try:
            code, name = parse_language(language_text)
        except LanguageError as error:
            self.problem(sheet_name, row, header, _("'%(header)s': %(error)s; write the header like %(field)s::Svenska (sv)",
                                                    header=raw, error=error, field=field_name))
            return None
        if code in self.languages and self.languages[code] != name and name != code:
            self.problem(sheet_name, row, header, _("'%(header)s' calls %(code)s '%(name)s', but another column calls "
                                                    "it '%(other)s'; use one name per language", header=raw, code=code,
                                                    name=name, other=self.languages[code]))
            return None
        if name != code or code not in self.languages:
            self.languages[code] = name
        return f"{field_name}::{code}"

    def _translations(self, field: _Fields, fields: tuple[str, ...]) -> dict[str, dict]:
        """{code: {field: text}} from this row's translation columns (options are read by _option_translations)."""
        found: dict[str, dict] = {}
        for column in field.columns:
            base, _sep, code = column.partition("::")
            if code and base in fields and base != "options":
                text = field.text(column)
                if text:
                    found.setdefault(code, {})[base] = text
        return found

    def _option_translations(self, field: _Fields, qtype: str | None, options) -> dict[str, list[str]]:
        found = {}
        for column in field.columns:
            base, _sep, code = column.partition("::")
            if base != "options" or not code:
                continue
            raw = field.text(column)
            if not raw or qtype is None:
                continue
            if qtype != "choice":
                field.fail(column, _("options are only for choice questions, not %(type)s; clear this cell", type=qtype))
                continue
            try:
                translated = parse_options(raw)
            except ValueError as exc:
                field.fail(column, _("%(error)s (write the labels in the order of the options column, like Ja|Delvis|Nej)",
                                     error=exc))
                continue
            if options and len(translated) != len(options):
                field.fail(column, _("%(labels)s labels for %(options)s options; give one label per option, in the "
                                     "order of the options column", labels=len(translated), options=len(options)))
                continue
            if any(t.score is not None and t.score != o.score for t, o in zip(translated, options, strict=False)):
                field.fail(column, _("scores come from the options column; leave them out of a translation"))
                continue
            found[code] = [option.label for option in translated]
        return found

    def _read_moments(self, sheet) -> dict[str, MomentSpec] | None:
        """Moments by key in timeline order; None when the sheet cannot say which keys exist."""
        if sheet is None:
            return None
        table = self._table(sheet, MOMENTS_SHEET, MOMENT_COLUMNS, MOMENT_REQUIRED, MOMENT_TRANSLATABLE)
        if table is None:
            return None
        positions, missing, rows = table
        moments: dict[str, MomentSpec] = {}
        key_rows: dict[str, int] = {}
        priority_rows: list[int] = []
        for number, record in rows:
            field = _Fields(self, MOMENTS_SHEET, number, record, positions)
            key = field.key("key")
            name = field.text("name", required=True)
            channel = field.choice("channel", CHANNELS, required=True)
            kind = field.choice("kind", KINDS)
            priority = field.yes_no("priority", False)
            weight = field.weight("weight")
            seconds = field.seconds("expected_seconds")
            description = field.text("description")
            translations = self._translations(field, MOMENT_TEXTS)
            if priority:
                priority_rows.append(number)
            if key is None:
                if "key" in record and not record["key"].blank:
                    self.rejected_keys.add(_text(record["key"].value))
                continue
            if key in key_rows:
                self.problem(MOMENTS_SHEET, number, "key",
                             _("duplicate moment key '%(key)s' (already used on row %(row)s); moment keys must be "
                               "unique in the journey", key=key, row=key_rows[key]))
                continue
            key_rows[key] = number
            moments[key] = MomentSpec(key=key, name=name or "", channel=channel or "", kind=kind,
                                      priority=bool(priority), weight=weight if weight is not None else 1.0,
                                      expected_seconds=seconds, description=description or "",
                                      translations=translations)
        if not rows and not missing:
            self.problem(MOMENTS_SHEET, None, None, _("the journey has no moments; add one row per moment"))
        # More than MAX_PRIORITIES priorities is allowed here: the builder warns about it, and a journey
        # exported from the builder must always import again.
        return None if "key" in missing else moments

    def _read_questions(self, sheet, moments: dict[str, MomentSpec] | None) -> None:
        if sheet is None:
            return
        table = self._table(sheet, QUESTIONS_SHEET, QUESTION_COLUMNS, QUESTION_REQUIRED, QUESTION_TRANSLATABLE)
        if table is None:
            return
        positions, _missing, rows = table
        key_rows: dict[tuple[str, str], int] = {}
        for number, record in rows:
            field = _Fields(self, QUESTIONS_SHEET, number, record, positions)
            moment_key = field.text("moment", required=True)
            key = field.key("key")
            text = field.text("text", required=True)
            qtype = field.choice("type", QUESTION_TYPES, required=True)
            required = field.yes_no("required", None)
            weight = field.weight("weight")
            critical = field.yes_no("critical", None)
            options = self._options(field, qtype)
            target = self._target(field, qtype)
            help_text = field.text("help")
            translations = self._translations(field, QUESTION_TEXTS)
            for code, labels in self._option_translations(field, qtype, options).items():
                translations.setdefault(code, {})["options"] = labels
            if key == VERDICT_KEY:
                self._check_verdict(number, qtype, required, weight, critical)
            moment = None
            if moment_key and moments is not None:
                moment = moments.get(moment_key)
                if moment is None and moment_key not in self.rejected_keys:
                    self.problem(QUESTIONS_SHEET, number, "moment",
                                 _("no moment has the key '%(key)s' on the moments sheet", key=moment_key))
            if key is None or not moment_key:
                continue
            if (moment_key, key) in key_rows:
                self.problem(QUESTIONS_SHEET, number, "key",
                             _("duplicate question key '%(key)s' in moment '%(moment)s' (already used on row "
                               "%(row)s); question keys must be unique within their moment", key=key,
                               moment=moment_key, row=key_rows[moment_key, key]))
                continue
            key_rows[moment_key, key] = number
            if moment is None:
                continue
            if key == VERDICT_KEY:
                required = True if required is None else required
            moment.questions.append(QuestionSpec(
                key=key, text=text or "", type=qtype or "", required=bool(required),
                weight=weight if weight is not None else 1.0, critical=bool(critical),
                options=options, target=target, help=help_text or "", translations=translations,
            ))

    def _options(self, field: _Fields, qtype: str | None):
        raw = field.text("options")
        if qtype is None:
            return ()
        if raw and qtype != "choice":
            field.fail("options", _("options are only for choice questions, not %(type)s; clear this cell or change "
                                    "the type to choice", type=qtype))
            return ()
        if qtype == "choice":
            if not raw:
                field.fail("options", _("a choice question needs options, like Yes=1|Partly=0.5|No=0"))
                return ()
            try:
                return parse_options(raw)
            except ValueError as exc:
                field.fail("options", _("%(error)s (write options like Within 3 rings=1|4-6 rings=0.5|More than 6=0)",
                                        error=exc))
        return ()

    def _target(self, field: _Fields, qtype: str | None) -> str | None:
        raw = field.text("target")
        if not raw or qtype is None:
            return None
        if qtype != "number":
            field.fail("target", _("a target is only for number questions, not %(type)s; clear this cell", type=qtype))
            return None
        try:
            parse_target(raw)
        except ValueError as exc:
            field.fail("target", str(exc))
            return None
        return raw

    def _check_verdict(self, row: int, qtype, required, weight, critical) -> None:
        if qtype is not None and qtype != "mnm":
            self.problem(QUESTIONS_SHEET, row, "type", _("the verdict question is always type mnm, required, weight 1 "
                                                         "and not critical; type must be mnm, not %(type)s", type=qtype))
        if required is False:
            self.problem(QUESTIONS_SHEET, row, "required", _("the verdict question is always type mnm, required, weight "
                                                             "1 and not critical; required must be yes"))
        if weight is not None and weight != 1.0:
            self.problem(QUESTIONS_SHEET, row, "weight", _("the verdict question is always type mnm, required, weight 1 "
                                                           "and not critical; weight must be 1, not %(weight)s",
                                                           weight=_number_text(weight)))
        if critical:
            self.problem(QUESTIONS_SHEET, row, "critical", _("the verdict question is always type mnm, required, weight "
                                                             "1 and not critical; critical must be no"))

    def _text_value(self, sheet: str, cell: _Cell, column: str) -> str | None:
        if cell.formula:
            self.problem(sheet, cell.row, column, _("formulas are not allowed; type the value"))
            return None
        return _text(cell.value)


class _Fields:
    """Reads the typed values of one table row, recording a problem for each bad cell."""

    def __init__(self, reader: _Reader, sheet: str, row: int, record: dict[str, _Cell], columns):
        self.reader, self.sheet, self.row, self.record, self.columns = reader, sheet, row, record, columns

    def fail(self, column: str, message: str) -> None:
        self.reader.problem(self.sheet, self.row, column, message)

    def raw(self, column: str) -> _Cell | None:
        """The cell, or None when it is absent, blank or a formula (which is reported)."""
        cell = self.record.get(column)
        if cell is None or cell.blank:
            return None
        if cell.formula:
            self.fail(column, _("formulas are not allowed; type the value"))
            return None
        return cell

    def text(self, column: str, required: bool = False) -> str | None:
        cell = self.raw(column)
        if cell is None:
            if required:
                self._required(column)
            return None if required else ""
        text = _text(cell.value)
        self._check_length(column, text)
        return text

    def _check_length(self, column: str, text: str) -> bool:
        limit = MAX_LENGTHS.get((self.sheet, column.partition("::")[0]))  # a translation has its text's limit
        if limit and len(text) > limit:
            self.fail(column, _("%(field)s is too long (%(length)s characters; at most %(limit)s)", field=column,
                                length=len(text), limit=limit))
            return False
        return True

    def _required(self, column: str) -> None:
        cell = self.record.get(column)
        if column not in self.columns or (cell is not None and cell.formula):
            return  # a missing column is reported once for the sheet; a formula is already reported
        self.fail(column, _("%(column)s is required; this cell is empty", column=column))

    def key(self, column: str) -> str | None:
        cell = self.raw(column)
        if cell is None:
            self._required(column)
            return None
        key = _text(cell.value)
        if not self._check_length(column, key):
            return None
        if not KEY_RE.match(key):
            self.fail(column, _("key '%(key)s' may only use lower-case letters a-z, digits 0-9 and '_' (for example "
                                "%(example)s)", key=key, example=_suggest_key(key)))
            return None
        return key

    def choice(self, column: str, allowed: dict[str, str], required: bool = False) -> str | None:
        cell = self.raw(column)
        if cell is None:
            if required:
                self._required(column)
            return None
        text = _text(cell.value)
        value = _normalise_name(text)
        if value not in allowed:
            self.fail(column, _("unknown %(column)s '%(value)s' (use one of %(allowed)s)", column=column, value=text,
                                allowed=", ".join(allowed)))
            return None
        return value

    def yes_no(self, column: str, default: bool | None) -> bool | None:
        cell = self.raw(column)
        if cell is None:
            return default
        value = cell.value
        if isinstance(value, bool):
            return value
        word = _text(value).casefold()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
        self.fail(column, _("%(column)s must be yes or no, not '%(value)s'", column=column, value=_text(value)))
        return default

    def weight(self, column: str) -> float | None:
        cell = self.raw(column)
        if cell is None:
            return None
        number = _to_number(cell.value)
        if number is None:
            self.fail(column, _("weight must be a number of 0 or more, not '%(value)s'", value=_text(cell.value)))
            return None
        if number < 0:
            self.fail(column, _("weight must be 0 or more, not %(value)s", value=_number_text(number)))
            return None
        if number > MAX_WEIGHT:
            self.fail(column, _("weight must be at most %(limit)s, not %(value)s", limit=_number_text(MAX_WEIGHT),
                                value=_number_text(number)))
            return None
        return number

    def seconds(self, column: str) -> int | None:
        cell = self.raw(column)
        if cell is None:
            return None
        number = _to_number(cell.value)
        if number is None or number < 0 or not number.is_integer() or number > MAX_EXPECTED_SECONDS:
            self.fail(column, _("expected_seconds must be a whole number of seconds (0 to %(limit)s), not '%(value)s'",
                                limit=MAX_EXPECTED_SECONDS, value=_text(cell.value)))
            return None
        return int(number)


def _text(value: Any) -> str:
    """A cell value as trimmed text: numbers typed into text cells (1, 2.5) become '1', '2.5'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _number_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:  # float(10**400) overflows: a cell may hold any number of digits
        number = float(value) if isinstance(value, (int, float)) else float(_text(value))
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    return number


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _normalise_name(text: str) -> str:
    """'Expected seconds' -> 'expected_seconds', 'Face-to-face' -> 'face_to_face', 'Yes / no' -> 'yes_no'."""
    return re.sub(r"[\s\-/]+", "_", text.strip().casefold()).strip("_")


def _suggest_key(text: str) -> str:
    suggestion = re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")
    return f"'{suggestion}'" if suggestion else "'arrival'"


# --------------------------------------------------------------------------------------------------- writing

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_WRAP = Alignment(wrap_text=True, vertical="top")
_MOMENT_WIDTHS = {"key": 18, "name": 32, "channel": 14, "kind": 11, "priority": 9, "weight": 8,
                  "expected_seconds": 17, "description": 60}
_QUESTION_WIDTHS = {"moment": 18, "key": 20, "text": 60, "type": 9, "required": 9, "weight": 8, "critical": 9,
                    "options": 44, "target": 9, "help": 60}
_WRAPPED = {"description", "text", "options", "help"}
_SPARE_ROWS = 500  # dropdowns also cover rows the user adds later


def write_journey_workbook(spec: JourneySpec) -> bytes:
    """The journey as a workbook in the import format, every question listed, verdicts included."""
    return _write(spec, with_verdicts=True)


def blank_template() -> bytes:
    """A workbook to start from: the three sheets, their headers, one example moment and a help sheet."""
    return _write(_TEMPLATE_SPEC, with_verdicts=False, help_sheet=True)


def _write(spec: JourneySpec, *, with_verdicts: bool, help_sheet: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = JOURNEY_SHEET
    fields = [("name", spec.name), ("description", spec.description)]
    if spec.languages or spec.default_language != DEFAULT_LANGUAGE:
        fields.append(("default_language", format_language(*spec.default_language)))
    for row, (label, value) in enumerate(fields, start=1):
        _put(sheet, row, 1, label).font = _HEADER_FONT
        _put(sheet, row, 2, value).alignment = _WRAP
    sheet.column_dimensions["A"].width = 17
    sheet.column_dimensions["B"].width = 80

    # One column per translated text and language, after the others: `name::Svenska (sv)`.
    moment_columns = MOMENT_COLUMNS + tuple(f"{field}::{format_language(code, name)}"
                                            for code, name in spec.languages for field in MOMENT_TEXTS)
    question_columns = QUESTION_COLUMNS + tuple(f"{field}::{format_language(code, name)}"
                                                for code, name in spec.languages for field in QUESTION_TEXTS)
    moments = book.create_sheet(MOMENTS_SHEET)
    _header(moments, moment_columns, _MOMENT_WIDTHS)
    questions = book.create_sheet(QUESTIONS_SHEET)
    _header(questions, question_columns, _QUESTION_WIDTHS)
    question_row = 2
    for moment_row, moment in enumerate(spec.moments, start=2):
        _row(moments, moment_row, moment_columns, {
            "key": moment.key, "name": moment.name, "channel": moment.channel, "kind": moment.kind or "",
            "priority": _yes_no(moment.priority), "weight": _number(moment.weight),
            "expected_seconds": moment.expected_seconds, "description": moment.description,
            **_translation_cells(moment.translations, spec.languages, MOMENT_TEXTS),
        })
        items = list(moment.questions)
        if with_verdicts and not any(q.key == VERDICT_KEY for q in items):
            items.append(verdict_question())  # the caller's spec is left as it is
        for question in items:
            _row(questions, question_row, question_columns, {
                "moment": moment.key, "key": question.key, "text": question.text, "type": question.type,
                "required": _yes_no(question.required), "weight": _number(question.weight),
                "critical": _yes_no(question.critical), "options": format_options(question.options),
                "target": question.target or "", "help": question.help,
                **_translation_cells(question.translations, spec.languages, QUESTION_TEXTS),
            })
            question_row += 1
    last_moment = max(len(spec.moments) + 1, _SPARE_ROWS)
    last_question = max(question_row - 1, _SPARE_ROWS)
    _dropdown(moments, MOMENT_COLUMNS, "channel", CHANNELS, last_moment)
    _dropdown(moments, MOMENT_COLUMNS, "kind", KINDS, last_moment)
    _dropdown(moments, MOMENT_COLUMNS, "priority", {"yes": "", "no": ""}, last_moment)
    _dropdown(questions, QUESTION_COLUMNS, "type", QUESTION_TYPES, last_question)
    for column in ("required", "critical"):
        _dropdown(questions, QUESTION_COLUMNS, column, {"yes": "", "no": ""}, last_question)
    if help_sheet:
        _help(book.create_sheet("help"))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _translation_cells(translations: dict, languages: list[tuple[str, str]], fields: tuple[str, ...]) -> dict:
    cells = {}
    for code, name in languages:
        texts = (translations or {}).get(code) or {}
        for field in fields:
            value = texts.get(field) or ""
            cells[f"{field}::{format_language(code, name)}"] = "|".join(value) if isinstance(value, list) else value
    return cells


def _put(sheet, row: int, column: int, value: Any):
    """Write one cell; text is always stored as text, so '=SUM(A1)' typed by a user never becomes a formula."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        text = _CONTROL_RE.sub("", value)
        if text:
            cell.value = text
            cell.data_type = "s"
    elif value is not None:
        cell.value = value
    return cell


def _header(sheet, columns: tuple[str, ...], widths: dict[str, int]) -> None:
    for index, name in enumerate(columns, start=1):
        cell = _put(sheet, 1, index, name)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(name.partition("::")[0], 12)
    sheet.freeze_panes = "A2"


def _row(sheet, row: int, columns: tuple[str, ...], values: dict[str, Any]) -> None:
    for index, name in enumerate(columns, start=1):
        cell = _put(sheet, row, index, values[name])
        if name.partition("::")[0] in _WRAPPED:
            cell.alignment = _WRAP


def _dropdown(sheet, columns: tuple[str, ...], column: str, allowed: dict[str, str], last_row: int) -> None:
    letter = get_column_letter(columns.index(column) + 1)
    validation = DataValidation(type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True)
    validation.error = f"Use one of: {', '.join(allowed)}"
    validation.errorTitle = f"Unknown {column}"
    validation.showErrorMessage = True
    sheet.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{last_row}")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _number(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


_HELP_ROWS = (
    ("sheet / column", "what to type"),
    ("journey: name", "Required. Column A holds the field name, column B its value."),
    ("journey: description", "Optional. What this journey covers and when to use it."),
    ("moments", "One row per moment of truth, in timeline order. Extra columns are ignored."),
    ("moments: key", "Required, unique in the journey: lower-case letters, digits and _ (booking_call)."),
    ("moments: name", "Required. What the customer would call this moment."),
    ("moments: channel", "Required: " + ", ".join(CHANNELS) + "."),
    ("moments: kind", "basic, decisive or invisible; may be left empty."),
    ("moments: priority", f"yes or no (default no). Pick 3 to {MAX_PRIORITIES} priorities at most."),
    ("moments: weight", "A number, 0 or more (default 1): how much the moment counts in the journey score."),
    ("moments: expected_seconds", "Optional whole number: how long the moment should take."),
    ("questions", "One row per question, in display order; 'moment' is a key from the moments sheet."),
    ("questions: key", "Required, unique within its moment: lower-case letters, digits and _."),
    ("questions: type", "Required: " + ", ".join(QUESTION_TYPES) + ". mnm = miserable / neutral / magical; "
                        "rating = 1 to 5."),
    ("questions: required / critical", "yes or no (default no). A critical question that scores 0 sets the "
                                       "moment's score to 0."),
    ("questions: weight", "A number, 0 or more (default 1)."),
    ("questions: options", "Choice questions only: Label=score|Label=score with scores from 0 to 1, or a "
                           "label alone for an unscored option."),
    ("questions: target", "Number questions only: <=N or >=N, for example <=120 (seconds waited)."),
    ("questions: help", "Optional hint shown to the shopper."),
    ("translations", "A column named like name::Svenska (sv) holds that language's text (moments: name, "
                     "description; questions: text, help, options). Options: the labels alone, in the same order, "
                     "like Ja|Delvis|Nej. An empty cell shows the journey's own language."),
    ("journey: default_language", "Optional: the language the texts are written in, like English (en)."),
    ("verdict", "Every moment gets a verdict question (key verdict, type mnm, required, weight 1) added as its "
                "last question when the sheet has none."),
    ("formulas", "Not allowed: type the values themselves."),
)


def _help(sheet) -> None:
    for row, (label, text) in enumerate(_HELP_ROWS, start=1):
        _put(sheet, row, 1, label).font = _HEADER_FONT
        _put(sheet, row, 2, text).alignment = _WRAP
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 100


_TEMPLATE_SPEC = JourneySpec(
    name="Café order",
    description="Example journey: replace it with your own moments and questions.",
    moments=[
        MomentSpec(
            key="order_at_counter", name="Ordering at the counter", channel="face_to_face", kind="basic",
            priority=True, weight=2.0, expected_seconds=90,
            description="From joining the queue to paying for the order.",
            questions=[
                QuestionSpec(key="greeted", text="Were you greeted within 10 seconds of reaching the counter?",
                             type="yes_no", required=True, weight=2.0, help="Count from when you reach the front."),
                QuestionSpec(key="queue_seconds", text="How many seconds did you queue before ordering?",
                             type="number", target="<=120"),
                QuestionSpec(key="menu_knowledge", text="How well did the barista answer a question about the menu?",
                             type="rating"),
                QuestionSpec(key="upsell", text="Was a pastry or a larger size suggested?", type="choice",
                             options=parse_options("Yes, naturally=1|Yes, pushy=0.5|No=0")),
                QuestionSpec(key="payment_safe", text="Was the card payment handled in full view of the customer?",
                             type="yes_no", critical=True),
                QuestionSpec(key="counter_photo", text="Photo of the counter area", type="photo"),
                QuestionSpec(key="comment", text="What stood out?", type="text"),
            ],
        )
    ],
)
