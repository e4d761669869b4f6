"""XLSForm in and out: a KoboToolbox / ODK form becomes a journey, and a journey becomes a form ODK Collect fills.

Reading (`read_xlsform`, or `read_any_workbook`, which also takes a journey workbook and tells them apart):
- a workbook is an XLSForm when it has a sheet `survey` and no sheet `moments`; its survey needs the columns
  type, name and label (`label` or `label::Language (code)`);
- an outer `begin_group` (or `begin group`) ... `end_group` is a moment: the group's name is the moment key, its
  label the moment name, its hint the moment description;
- questions outside every group go into one default moment, "General" (key `general`), placed where the first
  of them is;
- `select_one LIST` is a choice question whose options are LIST's choice labels, scored from the `score` column of
  `choices` when there is one (blank: unscored). A list of yes/no (unscored, or yes=1 and no=0) is a yes_no
  question, one of miserable/neutral/magical is mnm; `integer` and `decimal` are number, with a constraint
  `. <= N` or `. >= N` as the target; `range` 1 to 5 (step 1) is rating; `text` is text; `image` is photo;
  `acknowledge` is yes_no; a `note` becomes the help of the next question in its moment (of the previous one at a
  group's end; the moment's description when the moment has no question);
- anything else that has no place in a journey (repeats, calculations, relevant/skip logic, other constraints,
  select_multiple, geopoints, dates, metadata such as start/end, nested groups, other languages) is not an error:
  it is listed as `Unsupported` (sheet, row, what, why), and the caller imports without it only once the manager
  agrees. Real errors (a list that is not on the choices sheet, an unclosed group, two questions with one name in a
  moment, a score out of 0..1) raise WorkbookError with sheet, row and column, as the journey workbook does.

Writing (`write_xlsform`): moments become groups (appearance field-list: one screen each), yes_no and mnm select_one
lists with a `score` column, rating a 1-5 range, number a decimal with the target as its constraint, photo an image.
The extra columns weight, critical, channel, kind, priority and expected_seconds (ignored by pyxform and ODK) and
the group hints carry what XLSForm has no place for, so exporting then importing gives the same journey.
Pure Python: no Flask, no SQLAlchemy. Problems and the what/why of left-out parts go through Flask-Babel's gettext:
the reader's language in a request, English outside one (the CLI, the tests).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Alignment

from ..i18n import N_
from ..words import gettext as _
from ..words import ngettext
from .languages import (
    DEFAULT_LANGUAGE,
    MAX_LANGUAGE_NAME,
    MOMENT_TEXTS,
    QUESTION_TEXTS,
    LanguageError,
    clean_translations,
    format_language,
    parse_language,
)
from .spec import (
    CHANNELS,
    KEY_RE,
    KINDS,
    MAX_EXPECTED_SECONDS,
    MAX_WEIGHT,
    VERDICT_KEY,
    JourneySpec,
    MomentSpec,
    OptionSpec,
    QuestionSpec,
    ensure_verdicts,
    parse_target,
)
from .workbook import (
    _HEADER_FILL,
    _HEADER_FONT,
    MAX_LENGTHS,
    MOMENTS_SHEET,
    NO_WORDS,
    YES_WORDS,
    WorkbookError,
    WorkbookProblem,
    _Cell,
    _number_text,
    _put,
    _text,
    _to_number,
    open_workbook,
    read_opened_journey_workbook,
    read_rows,
)

__all__ = ["Unsupported", "ImportedWorkbook", "read_any_workbook", "read_xlsform", "write_xlsform", "is_xlsform"]

SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
DEFAULT_MOMENT_KEY, DEFAULT_MOMENT_NAME, DEFAULT_CHANNEL = "general", "General", "face_to_face"
YES_NO_LIST, MNM_LIST = "yes_no", "mnm"
MNM_SCORES = {"miserable": 0.0, "neutral": 0.5, "magical": 1.0}
RATING_PARAMETERS = "start=1 end=5 step=1"
PHOTO_PARAMETERS = "max-pixels=2048"  # ODK Collect scales photos down before sending them
_TARGET_CONSTRAINT_RE = re.compile(r"^\s*\.\s*(<=|>=)\s*(-?\d+(?:\.\d+)?)\s*$")
_REFERENCE_RE = re.compile(r"\$\{[^}]*\}")
# XLSForm names are XML names: no leading digit, nothing starting with "xml", and "meta" is the form's own group.
_NEEDS_ESCAPE_RE = re.compile(r"^(?:[0-9]|xml)")
_RESERVED_NAMES = frozenset({"meta"})

# Types that have no place in a journey, with the reason given to the manager (translated where it is used).
_METADATA = ("start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email",
             "audit", "start-geopoint", "imei", "uri:deviceid", "uri:email", "uri:username", "uri:phonenumber")
_UNSUPPORTED_TYPES: dict[str, str] = {
    **{t: N_("form metadata: the app records the visit's times and shopper itself") for t in _METADATA},
    "calculate": N_("calculations are not part of a journey; scores come from the answers"),
    "select_multiple": N_("multiple-answer questions cannot be scored as one answer; make it one select_one per option"),
    "select_multiple_from_file": N_("choice lists from files are not supported"),
    "select_one_from_file": N_("choice lists from files are not supported; list the choices on the choices sheet"),
    "rank": N_("ranking questions have no journey type"),
    "geopoint": N_("locations come from the visit's place, not from a question"),
    "geotrace": N_("locations come from the visit's place, not from a question"),
    "geoshape": N_("locations come from the visit's place, not from a question"),
    "date": N_("date questions have no journey type; the visit has its own date"),
    "time": N_("time questions have no journey type; the visit has its own times"),
    "datetime": N_("date and time questions have no journey type; the visit has its own times"),
    "audio": N_("audio answers are not supported (photos are)"),
    "background-audio": N_("audio recordings are not supported"),
    "video": N_("video answers are not supported (photos are)"),
    "file": N_("file answers are not supported (photos are)"),
    "barcode": N_("barcode questions have no journey type"),
    "hidden": N_("hidden fields are not part of a journey"),
    "xml-external": N_("external data is not supported"),
    "csv-external": N_("external data is not supported"),
    "begin_repeat": N_("repeats are not supported: a moment is answered once per visit"),
}
# Survey columns that change how a question behaves: ignored (and listed) when not empty. Display-only columns
# (appearance, constraint_message, required_message, media) and the user's own columns are ignored silently.
_BEHAVIOUR_COLUMNS: dict[str, str] = {
    "relevant": N_("skip logic is not supported: it is always asked"),
    "calculation": N_("calculations are not supported"),
    "choice_filter": N_("choice filters are not supported: every choice is offered"),
    "default": N_("default answers are not supported"),
    "read_only": N_("read-only questions are not supported"),
    "repeat_count": N_("repeats are not supported"),
    "trigger": N_("triggers are not supported"),
}


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Something in an XLSForm that the journey leaves out: where it is, what it is, and why."""

    sheet: str
    row: int | None
    what: str
    why: str

    def __str__(self) -> str:
        if self.row is None:
            return _("%(sheet)s: %(what)s: %(why)s", sheet=self.sheet, what=self.what, why=self.why)
        return _("%(sheet)s, row %(row)s: %(what)s: %(why)s", sheet=self.sheet, row=self.row, what=self.what, why=self.why)


@dataclass(slots=True)
class ImportedWorkbook:
    """A read workbook: the journey, which format it was in, and (XLSForm) what it leaves out."""

    spec: JourneySpec
    format: str  # "journey" (the journey workbook) or "xlsform"
    unsupported: list[Unsupported] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------- reading


def read_any_workbook(source: bytes | str | Path | BinaryIO, filename: str = "") -> ImportedWorkbook:
    """A journey workbook or an XLSForm, told apart by their sheets; raises WorkbookError listing every problem."""
    book = open_workbook(source)
    try:
        if is_xlsform(book.sheetnames):
            return _XLSFormReader(book, filename).read()
        return ImportedWorkbook(read_opened_journey_workbook(book), "journey")
    finally:
        book.close()


def read_xlsform(source: bytes | str | Path | BinaryIO, filename: str = "") -> ImportedWorkbook:
    book = open_workbook(source)
    try:
        return _XLSFormReader(book, filename).read()
    finally:
        book.close()


def is_xlsform(sheetnames: list[str]) -> bool:
    """A `survey` sheet and no `moments` sheet (a journey workbook's) make an XLSForm."""
    titles = {title.strip().casefold() for title in sheetnames}
    return SURVEY in titles and MOMENTS_SHEET not in titles


@dataclass(slots=True)
class _Table:
    header_row: int
    columns: dict[str, int]  # casefolded header -> index (the first of two same-named columns)
    titles: dict[str, str]  # casefolded header -> as written
    rows: list[tuple[int, list[_Cell]]]
    sheet: str = SURVEY

    def get(self, cells: list[_Cell], column: str | None) -> _Cell | None:
        index = self.columns.get(column) if column else None
        return cells[index] if index is not None and index < len(cells) else None


@dataclass(slots=True)
class _Moment:
    spec: MomentSpec
    row: int
    key_rows: dict[str, int] = field(default_factory=dict)
    pending_help: list[str] = field(default_factory=list)  # notes waiting for the next question


class _XLSFormReader:
    def __init__(self, book, filename: str):
        self.book, self.filename = book, filename
        self.problems: list[WorkbookProblem] = []
        self.unsupported: list[Unsupported] = []
        self.language: str | None = None  # the label column used, e.g. 'label' or 'label::english (en)'
        self.default_language: tuple[str, str] = DEFAULT_LANGUAGE
        self.translations: list[tuple[str, str, str]] = []  # (column suffix as folded, code, name) of the others
        self.choice_translations: dict[tuple[str, str], dict[str, str]] = {}  # (list, choice) -> {code: label}

    def problem(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(WorkbookProblem(sheet, row, column, message))

    def left_out(self, row: int | None, what: str, why: str, sheet: str = SURVEY) -> None:
        self.unsupported.append(Unsupported(sheet, row, what, why))

    # -- sheets

    def read(self) -> ImportedWorkbook:
        sheets = {s.title.strip().casefold(): s for s in reversed(self.book.worksheets)}  # the first of a name wins
        settings = self._settings(sheets.get(SETTINGS))
        survey = self._table(sheets.get(SURVEY), SURVEY)
        language = None
        if survey is not None:
            missing = [c for c in ("type", "name") if c not in survey.columns]
            language = self.language = self._language(survey, settings.get("default_language", ""))
            if language is None:
                missing.append("label")
            for column in missing:
                self.problem(SURVEY, survey.header_row, column,
                             _("required column '%(column)s' is missing from the header row (an XLSForm survey "
                               "needs type, name and label, or label::Language (code))", column=column))
            if missing:
                survey = None
        choices = self._choices(sheets.get(CHOICES), language)
        moments = self._survey(survey, choices, language) if survey is not None else []
        name = self._journey_name(settings)
        if survey is not None and not moments and not self.problems:
            self.problem(SURVEY, None, None, _("the survey has no questions or groups to make moments from"))
        if self.problems:
            raise WorkbookError(self.problems)
        spec = JourneySpec(name=name, description=settings.get("description", ""), moments=moments,
                           default_language=self.default_language,
                           languages=[(code, language) for _, code, language in self.translations])
        return ImportedWorkbook(ensure_verdicts(spec), "xlsform", self.unsupported)

    def _table(self, sheet, name: str) -> _Table | None:
        if sheet is None:
            if name == SURVEY:
                self.problem(SURVEY, None, None, _("sheet 'survey' is missing"))
            return None
        rows = read_rows(sheet, name, self.problems)
        if rows is None:
            return None
        header_at = next((i for i, (_, cells) in enumerate(rows) if any(not c.blank for c in cells)), None)
        if header_at is None:
            if name == SURVEY:
                self.problem(SURVEY, None, None, _("the sheet is empty; it needs a header row with type, name and label"))
            return None
        header_row, header = rows[header_at]
        columns: dict[str, int] = {}
        titles: dict[str, str] = {}
        for index, cell in enumerate(header):
            if cell.blank or cell.formula:
                continue
            title = " ".join(_text(cell.value).split())
            folded = re.sub(r"\s*::\s*", "::", title.casefold())
            if folded in columns:
                self.problem(name, header_row, title, _("column '%(column)s' appears twice in the header row", column=title))
                continue
            columns[folded], titles[folded] = index, title
        data = [(n, cells) for n, cells in rows[header_at + 1:] if any(not c.blank for c in cells)]
        return _Table(header_row, columns, titles, data, name)

    def _language(self, table: _Table, default_language: str) -> str | None:
        """The label column of the journey's own texts: the default language's, else plain `label`, else the first
        `label::X`. The other `label::Language (code)` columns become translations."""
        labels = [c for c in table.columns if c == "label" or c.startswith("label::")]
        if not labels:
            return None
        wanted = f"label::{default_language.casefold()}" if default_language else None
        chosen = wanted if wanted in labels else ("label" if "label" in labels else labels[0])
        own = table.titles[chosen].split("::", 1)[1] if chosen.startswith("label::") else default_language
        try:
            self.default_language = parse_language(own) if own else DEFAULT_LANGUAGE
        except LanguageError:
            self.default_language = (DEFAULT_LANGUAGE[0], own.strip()[:MAX_LANGUAGE_NAME] or DEFAULT_LANGUAGE[1])
        without_code = []
        for column in labels:
            if column == chosen or column == "label":
                continue
            suffix = table.titles[column].split("::", 1)[1]
            try:
                code, name = parse_language(suffix)
            except LanguageError:
                without_code.append(table.titles[column])
                continue
            if code == self.default_language[0] or code in {c for _, c, _ in self.translations}:
                without_code.append(table.titles[column])
                continue
            self.translations.append((column.split("::", 1)[1], code, name))
        if without_code:
            self.left_out(table.header_row, _("translations in %(columns)s", columns=", ".join(without_code)),
                          _("a translation is kept when its column names the language with a code, like "
                            "label::Svenska (sv), and only once per language"))
        return chosen

    def _translated(self, table: _Table, cells, base: str) -> dict[str, str]:
        """{code: text} of the row's `base::Language (code)` columns (label, hint) for the translated languages."""
        found = {}
        for suffix, code, _name in self.translations:
            column = f"{base}::{suffix}"
            if column in table.columns:
                text = self._text(table.sheet, table.get(cells, column), table.titles[column])
                if text:
                    found[code] = text
        return found

    @staticmethod
    def _in_language(table: _Table, base: str, language: str | None) -> str | None:
        """The column `base` (hint, label) in the chosen language, falling back to the plain column."""
        if language and language.startswith("label::"):
            translated = f"{base}::{language.split('::', 1)[1]}"
            if translated in table.columns:
                return translated
        return base if base in table.columns else None

    def _text(self, sheet: str, cell: _Cell | None, column: str, limit: int | None = None) -> str:
        if cell is None or cell.blank:
            return ""
        if cell.formula:
            self.problem(sheet, cell.row, column, _("formulas are not allowed; type the value"))
            return ""
        text = _text(cell.value)
        if limit and len(text) > limit:
            self.problem(sheet, cell.row, column, _("%(field)s is too long (%(length)s characters; at most %(limit)s)",
                                                    field=column, length=len(text), limit=limit))
            return text[:limit]
        return text

    def _settings(self, sheet) -> dict[str, str]:
        table = self._table(sheet, SETTINGS)
        if table is None or not table.rows:
            return {}
        _number, cells = table.rows[0]
        values = {}
        for column in ("form_title", "form_id", "default_language", "description"):
            cell = table.get(cells, column)
            values[column] = self._text(SETTINGS, cell, column)
        return values

    def _journey_name(self, settings: dict[str, str]) -> str:
        name = settings.get("form_title") or settings.get("form_id") or Path(self.filename).stem or "Imported form"
        limit = MAX_LENGTHS[("journey", "name")]
        if len(name) > limit:
            self.problem(SETTINGS, 2, "form_title", _("%(field)s is too long (%(length)s characters; at most %(limit)s)",
                                                      field="form_title", length=len(name), limit=limit))
        return name

    # -- choices

    def _choices(self, sheet, language: str | None) -> dict[str, list[tuple[int, str, str, float | None, bool]]]:
        """list_name -> [(row, name, label, score, score given)], every problem reported."""
        table = self._table(sheet, CHOICES)
        if table is None:
            return {}
        list_column = "list_name" if "list_name" in table.columns else ("list name" if "list name" in table.columns
                                                                        else None)
        for column, present in (("list_name", list_column), ("name", "name" in table.columns)):
            if not present:
                self.problem(CHOICES, table.header_row, column, _("required column '%(column)s' is missing from the "
                                                                  "header row (the choices sheet needs list_name, name "
                                                                  "and label)", column=column))
        if list_column is None or "name" not in table.columns:
            return {}
        label_column = self._in_language(table, "label", language) or next(
            (c for c in table.columns if c.startswith("label::")), None)
        lists: dict[str, list] = {}
        seen: dict[tuple[str, str], int] = {}
        labels_seen: dict[tuple[str, str], int] = {}
        for number, cells in table.rows:
            list_name = self._text(CHOICES, table.get(cells, list_column), "list_name")
            name = self._text(CHOICES, table.get(cells, "name"), "name")
            label = self._text(CHOICES, table.get(cells, label_column), label_column or "label") or name
            if not list_name or not name:
                column = "list_name" if not list_name else "name"
                self.problem(CHOICES, number, column, _("%(column)s is required; this cell is empty", column=column))
                continue
            score, given = self._score(table, cells, number)
            if (list_name, name) in seen:
                self.problem(CHOICES, number, "name", _("choice '%(name)s' is listed twice in list '%(list)s' (first on "
                                                        "row %(row)s)", name=name, list=list_name,
                                                        row=seen[list_name, name]))
                continue
            seen[list_name, name] = number
            if (list_name, label.casefold()) in labels_seen:
                self.problem(CHOICES, number, label_column or "label",
                             _("label '%(label)s' is used twice in list '%(list)s' (first on row %(row)s); a "
                               "question's options need different labels", label=label, list=list_name,
                               row=labels_seen[list_name, label.casefold()]))
                continue
            labels_seen[list_name, label.casefold()] = number
            if "|" in label or ("=" in label and score is None):
                self.problem(CHOICES, number, label_column or "label",
                             _("label '%(label)s' may not contain '|'", label=label) if "|" in label else
                             _("label '%(label)s' may not contain '|' or, without a score, '='", label=label))
                continue
            lists.setdefault(list_name, []).append((number, name, label, score, given))
            self.choice_translations[list_name, name] = self._translated(table, cells, "label")
        return lists

    def _score(self, table: _Table, cells: list[_Cell], number: int) -> tuple[float | None, bool]:
        cell = table.get(cells, "score")
        if cell is None or cell.blank:
            return None, False
        if cell.formula:
            self.problem(CHOICES, number, "score", _("formulas are not allowed; type the value"))
            return None, True
        score = _to_number(cell.value)
        if score is None or not 0.0 <= score <= 1.0:
            self.problem(CHOICES, number, "score", _("score must be a number from 0 to 1 (or empty for an unscored "
                                                     "choice), not '%(value)s'", value=_text(cell.value)))
            return None, True
        return score, True

    # -- survey

    def _survey(self, table: _Table, choices: dict, language: str | None) -> list[MomentSpec]:
        label_column = language
        hint_column = self._in_language(table, "hint", language)
        moments: list[_Moment] = []
        keys: dict[str, int] = {}
        current: _Moment | None = None
        default: _Moment | None = None
        group_depth = 0  # open groups, the moment's own included
        repeat: tuple[int, str, int] | None = None  # (row, name, depth) of the repeat being skipped
        skipped = 0
        last_row = table.header_row
        for number, cells in table.rows:
            last_row = number
            cell = table.get(cells, "type")
            raw_type = self._text(SURVEY, cell, "type")
            qtype = " ".join(raw_type.split()).casefold()
            name = self._text(SURVEY, table.get(cells, "name"), "name")
            label = self._text(SURVEY, table.get(cells, label_column), table.titles.get(label_column, "label"))
            kind, argument = _split_type(qtype)
            if repeat is not None:  # everything inside a repeat is left out with it
                if kind in ("begin_repeat", "begin_group"):
                    repeat = (repeat[0], repeat[1], repeat[2] + 1)
                elif kind in ("end_repeat", "end_group"):
                    if repeat[2] == 0:
                        self.left_out(repeat[0], ngettext("repeat '%(name)s' (rows %(first)s-%(last)s, %(num)d question "
                                                          "in it)", "repeat '%(name)s' (rows %(first)s-%(last)s, "
                                                          "%(num)d questions in it)", skipped, name=repeat[1],
                                                          first=repeat[0], last=number),
                                      _(_UNSUPPORTED_TYPES["begin_repeat"]))
                        repeat = None
                        continue
                    repeat = (repeat[0], repeat[1], repeat[2] - 1)
                elif kind:
                    skipped += 1
                continue
            if not qtype:
                if name or label:
                    self.problem(SURVEY, number, "type", _("%(column)s is required; this cell is empty", column="type"))
                continue
            if kind == "begin_repeat":
                repeat, skipped = (number, name or "?", 0), 0
                continue
            if kind == "begin_group":
                if group_depth == 0:
                    current = self._moment(table, cells, number, name, label, keys)
                    if current is not None:
                        moments.append(current)
                else:
                    why = (_("moments do not nest: its questions are part of moment '%(moment)s'",
                             moment=current.spec.key) if current else
                           _("moments do not nest: its questions are part of the moment around it"))
                    self.left_out(number, _("group '%(name)s' inside another group", name=name), why)
                group_depth += 1
                self._behaviour(table, cells, number, "group", name)
                continue
            if kind in ("end_group", "end_repeat"):
                if group_depth == 0 or kind == "end_repeat":
                    self.problem(SURVEY, number, "type", _("'%(type)s' without a matching %(begin)s above it",
                                                           type=raw_type, begin="begin_" + kind.split("_", 1)[1]))
                    continue
                group_depth -= 1
                if group_depth == 0 and current is not None:
                    self._close(current)
                    current = None
                continue
            def moment_for(number=number, depth=group_depth, here=current) -> _Moment:
                """The row's moment, made when a row outside every group first needs it."""
                nonlocal default
                if depth:
                    # None: inside a group whose own row had a problem; the row is checked, not kept
                    return here or _Moment(MomentSpec(key="", name="", channel=DEFAULT_CHANNEL), number)
                if default is None:
                    default = _Moment(MomentSpec(key="", name=DEFAULT_MOMENT_NAME, channel=DEFAULT_CHANNEL), number)
                    moments.append(default)
                return default

            self._question(table, cells, number, kind, argument, raw_type, name, label, hint_column, choices,
                           moment_for)
        if repeat is not None:
            self.problem(SURVEY, repeat[0], "type", _("repeat '%(name)s' is never closed: add an end_repeat row",
                                                      name=repeat[1]))
        elif group_depth:
            self.problem(SURVEY, current.row if current else last_row, "type",
                         ngettext("%(num)d group is never closed: add end_group",
                                  "%(num)d groups are never closed: add end_group", group_depth))
        if current is not None:
            self._close(current)
        if default is not None:
            self._close(default)
            key, n = DEFAULT_MOMENT_KEY, 2
            while key in keys:
                key, n = f"{DEFAULT_MOMENT_KEY}_{n}", n + 1
            default.spec.key = key
        return [m.spec for m in moments]

    def _moment(self, table: _Table, cells, number: int, name: str, label: str, keys: dict[str, int]) -> _Moment | None:
        key = self._key(number, name, "group")
        if key is None:
            return None
        if key in keys:
            self.problem(SURVEY, number, "name", _("group name '%(name)s' is used twice (first on row %(row)s); each "
                                                   "group becomes a moment and moment keys must be unique", name=name,
                                                   row=keys[key]))
            return None
        keys[key] = number
        moment_name = label or name.replace("_", " ").strip().capitalize()
        limit = MAX_LENGTHS[(MOMENTS_SHEET, "name")]
        if len(moment_name) > limit:
            self.problem(SURVEY, number, "label", _("the group's label is too long for a moment name (%(length)s "
                                                    "characters; at most %(limit)s)", length=len(moment_name), limit=limit))
        description = self._text(SURVEY, table.get(cells, self._in_language(table, "hint", self.language)), "hint")
        channel = self._choice(table, cells, number, "channel", CHANNELS) or DEFAULT_CHANNEL
        kind = self._choice(table, cells, number, "kind", KINDS)
        weight = self._weight(table, cells, number)
        seconds = self._number(table, cells, number, "expected_seconds")
        if seconds is not None and (seconds < 0 or not seconds.is_integer() or seconds > MAX_EXPECTED_SECONDS):
            self.problem(SURVEY, number, "expected_seconds",
                         _("expected_seconds must be a whole number of seconds (0 to %(limit)s)",
                           limit=MAX_EXPECTED_SECONDS))
            seconds = None
        names, hints = self._translated(table, cells, "label"), self._translated(table, cells, "hint")
        for code, text in names.items():
            if len(text) > limit:
                self.problem(SURVEY, number, f"label::{code}", _("the group's label is too long for a moment name "
                                                                 "(%(length)s characters; at most %(limit)s)",
                                                                 length=len(text), limit=limit))
        translations = _own_texts_left_out({code: {"name": names.get(code, "")[:limit], "description": hints.get(code, "")}
                                            for code in {**names, **hints}}, {"name": moment_name, "description": description})
        spec = MomentSpec(key=key, name=moment_name[:limit], channel=channel, kind=kind,
                          priority=self._yes(table, cells, number, "priority"),
                          weight=1.0 if weight is None else weight,
                          expected_seconds=None if seconds is None else int(seconds), description=description,
                          translations=clean_translations(translations, MOMENT_TEXTS))
        return _Moment(spec, number)

    def _close(self, moment: _Moment) -> None:
        """Notes after a moment's last question join its help; a moment of notes only gets them as description."""
        if not moment.pending_help:
            return
        text = "\n".join(moment.pending_help)
        questions = moment.spec.questions
        if questions:
            questions[-1].help = "\n".join(filter(None, [questions[-1].help, text]))
        else:
            moment.spec.description = "\n".join(filter(None, [moment.spec.description, text]))
        moment.pending_help.clear()

    def _question(self, table, cells, number, kind, argument, raw_type, name, label, hint_column, choices,
                  moment_for) -> None:
        hint = self._text(SURVEY, table.get(cells, hint_column), "hint")
        if kind == "note":
            self._behaviour(table, cells, number, "note", name)
            text = "\n".join(filter(None, [label, hint]))
            if text:
                moment_for().pending_help.append(text)
            return
        if kind in _UNSUPPORTED_TYPES or (kind == "range" and self._parameters(table, cells) != RATING_PARAMETERS):
            why = _(_UNSUPPORTED_TYPES.get(kind, N_("only a range from 1 to 5 in steps of 1 becomes a rating")))
            self.left_out(number, _("%(type)s '%(name)s'", type=raw_type, name=name), why)
            return
        qtype, options = self._type(number, kind, argument, raw_type, choices)
        if qtype is None:
            return
        key = self._key(number, name, "question")
        if not label:
            self.problem(SURVEY, number, table.titles.get(self.language or "label", "label"),
                         _("label is required; write the question"))
        if key is None:
            return
        moment = moment_for()
        if key in moment.key_rows:
            self.problem(SURVEY, number, "name", _("question name '%(name)s' is used twice in moment '%(moment)s' "
                                                   "(first on row %(row)s)", name=name,
                                                   moment=moment.spec.key or DEFAULT_MOMENT_KEY,
                                                   row=moment.key_rows[key]))
            return
        moment.key_rows[key] = number
        target = self._target(table, cells, number, qtype, name)
        required = self._required(table, cells, number, name)
        weight = self._weight(table, cells, number)
        critical = self._yes(table, cells, number, "critical")
        self._behaviour(table, cells, number, "question", name)
        if key == VERDICT_KEY and (qtype != "mnm" or weight not in (None, 1.0) or critical):
            self.problem(SURVEY, number, "name", _("the name 'verdict' is kept for the moment's verdict: a select_one "
                                                   "of miserable/neutral/magical, required, weight 1, not critical; "
                                                   "rename this question"))
            return
        if _REFERENCE_RE.search(label):
            self.left_out(number, _("the reference %(reference)s in the label of '%(name)s'",
                                    reference=_REFERENCE_RE.search(label).group(0), name=name),
                          _("answers are not put into question texts: it is shown as typed"))
        help_text = "\n".join(filter(None, [*moment.pending_help, hint]))
        moment.pending_help.clear()
        moment.spec.questions.append(QuestionSpec(
            key=key, text=label, type=qtype, required=True if key == VERDICT_KEY else required,
            weight=1.0 if weight is None else weight, critical=critical, options=options, target=target,
            help=help_text, translations=self._question_translations(table, cells, qtype, argument, choices,
                                                                       {"text": label, "help": hint})))

    def _question_translations(self, table, cells, qtype: str, list_name: str, choices: dict, own: dict) -> dict:
        """A question's translated label, hint and (choice questions) option labels. A note's translations are not
        carried into the help: the help of each language would mix notes and hints differently."""
        texts, hints = self._translated(table, cells, "label"), self._translated(table, cells, "hint")
        translations = {code: {"text": texts.get(code, ""), "help": hints.get(code, "")} for code in {**texts, **hints}}
        if qtype == "choice":
            entries = choices.get(list_name, [])
            own["options"] = [label for _, _, label, _, _ in entries]
            for _suffix, code, _name in self.translations:
                labels = [self.choice_translations.get((list_name, name), {}).get(code, "") for _, name, _, _, _ in entries]
                if any(labels):
                    translations.setdefault(code, {})["options"] = labels
        return clean_translations(_own_texts_left_out(translations, own), QUESTION_TEXTS)

    def _type(self, number: int, kind: str, argument: str, raw_type: str, choices: dict):
        if kind in ("integer", "int", "decimal"):
            return "number", ()
        if kind in ("text", "string"):
            return "text", ()
        if kind in ("image", "photo"):
            return "photo", ()
        if kind in ("acknowledge", "trigger"):
            return "yes_no", ()
        if kind == "range":
            return "rating", ()
        if kind == "select_one":
            list_name, _sep, rest = argument.partition(" ")
            if not list_name:
                self.problem(SURVEY, number, "type", _("'%(type)s' needs the name of a choice list: select_one LIST",
                                                       type=raw_type))
                return None, ()
            if rest.strip() == "or_other":
                self.left_out(number, _("'or_other' of %(type)s", type=raw_type),
                              _("a written-in 'other' answer has no score; only the listed choices are offered"))
            elif rest.strip():
                self.problem(SURVEY, number, "type", _("unknown type '%(type)s' (select_one LIST [or_other])",
                                                       type=raw_type))
                return None, ()
            found = next((v for k, v in choices.items() if k == list_name), None)
            if found is None:
                found = next((v for k, v in choices.items() if k.casefold() == list_name.casefold()), None)
            if not found:
                self.problem(SURVEY, number, "type", _("choice list '%(list)s' is not on the choices sheet",
                                                       list=list_name))
                return None, ()
            return self._select_type(found)
        self.problem(SURVEY, number, "type", _("unknown type '%(type)s' (XLSForm types such as begin_group, "
                                               "select_one LIST, integer, decimal, text, image, note, acknowledge)",
                                               type=raw_type))
        return None, ()

    @staticmethod
    def _select_type(entries) -> tuple[str, tuple[OptionSpec, ...]]:
        names = {name.casefold(): score for _, name, _, score, _ in entries}
        labels = {label.casefold(): score for _, _, label, score, _ in entries}
        for words in (names, labels):
            unscored = all(score is None for score in words.values())
            if (set(words) == {"yes", "no"} and unscored) or words == {"yes": 1.0, "no": 0.0}:
                return "yes_no", ()
            if (set(words) == set(MNM_SCORES) and unscored) or words == MNM_SCORES:
                return "mnm", ()
        return "choice", tuple(OptionSpec(label, score) for _, _, label, score, _ in entries)

    def _key(self, number: int, name: str, what: str) -> str | None:
        if not name:
            self.problem(SURVEY, number, "name", _("name is required; every group needs one") if what == "group"
                         else _("name is required; every question needs one"))
            return None
        key = re.sub(r"[^a-z0-9_]+", "_", name.casefold()).strip("_") if not KEY_RE.match(name) else name
        if key.startswith("_") and _needs_escape(key[1:]):
            key = key[1:]  # the escape write_xlsform adds to keys that are no XML names
        limit = MAX_LENGTHS[(MOMENTS_SHEET, "key")]
        if not key or not KEY_RE.match(key):
            self.problem(SURVEY, number, "name", _("name '%(name)s' cannot be made a key (letters a-z, digits, _)",
                                                   name=name))
            return None
        if len(key) > limit:
            self.problem(SURVEY, number, "name", _("%(field)s is too long (%(length)s characters; at most %(limit)s)",
                                                   field="name", length=len(key), limit=limit))
            return None
        return key

    def _target(self, table, cells, number: int, qtype: str, name: str) -> str | None:
        constraint = self._text(SURVEY, table.get(cells, "constraint"), "constraint")
        if not constraint:
            return None
        match = _TARGET_CONSTRAINT_RE.match(constraint)
        if qtype == "number" and match:
            target = f"{match.group(1)}{match.group(2)}"
            parse_target(target)
            if len(target) <= MAX_LENGTHS[("questions", "target")]:
                return target
        self.left_out(number, _("the constraint '%(constraint)s' of '%(name)s'", constraint=constraint, name=name),
                      _("only '. <= N' or '. >= N' on a number becomes its target; other answers are not checked"))
        return None

    def _required(self, table, cells, number: int, name: str) -> bool:
        value = self._text(SURVEY, table.get(cells, "required"), "required").casefold()
        if value in ("", "false()") or value in NO_WORDS:
            return False
        if value in ("true()",) or value in YES_WORDS:
            return True
        self.left_out(number, _("the required expression '%(expression)s' of '%(name)s'", expression=value, name=name),
                      _("a condition cannot make a question required: it is optional"))
        return False

    def _behaviour(self, table, cells, number: int, kind: str, name: str) -> None:
        """Behaviour columns of a row; `kind` is group, note or question (one sentence each, for translators)."""
        for column, why in _BEHAVIOUR_COLUMNS.items():
            text = self._text(SURVEY, table.get(cells, column), column)
            if text and not (column == "read_only" and text.casefold() in NO_WORDS | {"false()"}):
                values = {"column": column, "value": text, "name": name}
                what = (_("%(column)s '%(value)s' of group '%(name)s'", **values) if kind == "group" else
                        _("%(column)s '%(value)s' of note '%(name)s'", **values) if kind == "note" else
                        _("%(column)s '%(value)s' of question '%(name)s'", **values))
                self.left_out(number, what, _(why))

    def _parameters(self, table, cells) -> str:
        text = self._text(SURVEY, table.get(cells, "parameters"), "parameters")
        parts = dict(p.split("=", 1) for p in re.split(r"[\s;,]+", text.casefold()) if "=" in p)
        parts.setdefault("step", "1")
        try:
            numbers = {k: float(v) for k, v in parts.items()}
        except ValueError:
            return text
        return RATING_PARAMETERS if numbers == {"start": 1, "end": 5, "step": 1} else text

    # -- our own extra columns (write_xlsform writes them; a KoboToolbox form usually has none)

    def _number(self, table, cells, number: int, column: str) -> float | None:
        cell = table.get(cells, column)
        if cell is None or cell.blank:
            return None
        value = None if cell.formula else _to_number(cell.value)
        if value is None:
            self.problem(SURVEY, number, column, _("%(column)s must be a number, not '%(value)s'", column=column,
                                                   value=_text(cell.value)))
        return value

    def _weight(self, table, cells, number: int) -> float | None:
        weight = self._number(table, cells, number, "weight")
        if weight is not None and not 0 <= weight <= MAX_WEIGHT:
            self.problem(SURVEY, number, "weight", _("weight must be from 0 to %(limit)s, not %(value)s",
                                                     limit=_number_text(MAX_WEIGHT), value=_number_text(weight)))
            return None
        return weight

    def _yes(self, table, cells, number: int, column: str) -> bool:
        cell = table.get(cells, column)
        if cell is None or cell.blank:
            return False
        word = "yes" if cell.value is True else "no" if cell.value is False else _text(cell.value).casefold()
        if word in YES_WORDS or word == "true()":
            return True
        if word not in NO_WORDS and word != "false()":
            self.problem(SURVEY, number, column, _("%(column)s must be yes or no, not '%(value)s'", column=column,
                                                   value=_text(cell.value)))
        return False

    def _choice(self, table, cells, number: int, column: str, allowed: dict[str, str]) -> str | None:
        text = self._text(SURVEY, table.get(cells, column), column)
        if not text:
            return None
        value = re.sub(r"[\s\-/]+", "_", text.casefold()).strip("_")
        if value not in allowed:
            self.problem(SURVEY, number, column, _("unknown %(column)s '%(value)s' (use one of %(allowed)s)",
                                                   column=column, value=text, allowed=", ".join(allowed)))
            return None
        return value


# --------------------------------------------------------------------------------------------------- writing

SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "constraint", "constraint_message", "parameters",
                  "appearance", "weight", "critical", "channel", "kind", "priority", "expected_seconds")
CHOICE_COLUMNS = ("list_name", "name", "label", "score")
_WIDTHS = {"type": 24, "name": 22, "label": 60, "hint": 40, "constraint": 14, "constraint_message": 30}


def _own_texts_left_out(translations: dict[str, dict], own: dict) -> dict[str, dict]:
    """A "translation" that repeats the journey's own text (as our export fills untranslated cells) is none."""
    result = {}
    for code, texts in translations.items():
        kept = {}
        for name, value in texts.items():
            if name == "options":
                defaults = own.get("options") or []
                value = ["" if label == default else label for label, default in zip(value, defaults, strict=False)]
            elif value == own.get(name):
                value = ""
            kept[name] = value
        result[code] = kept
    return result


def _split_type(qtype: str) -> tuple[str, str]:
    """'begin group' -> ('begin_group', ''), 'select one colours' -> ('select_one', 'colours')."""
    words = qtype.split(" ")
    if len(words) > 1 and (words[0] in ("begin", "end") or (words[0] == "select" and words[1] in ("one", "multiple"))):
        return f"{words[0]}_{words[1]}", " ".join(words[2:])
    return words[0], " ".join(words[1:])


def _needs_escape(key: str) -> bool:
    """No XML name ('1st', 'xml_x', 'meta'), or a key that looks escaped already ('_1st', '__1st')."""
    return bool(_NEEDS_ESCAPE_RE.match(key)) or key in _RESERVED_NAMES or (key.startswith("_") and
                                                                             _needs_escape(key[1:]))


def _xml_name(key: str) -> str:
    """A key as an XLSForm name (an XML name); the reader takes the leading '_' off again."""
    return f"_{key}" if _needs_escape(key) else key


def _language_columns(base_columns: tuple[str, ...], spec: JourneySpec) -> tuple[str, ...]:
    """With translations, label and hint are named per language (`label::English (en)`, `label::Svenska (sv)`)."""
    if not spec.languages:
        return base_columns
    every = [spec.default_language, *spec.languages]
    columns: list[str] = []
    for column in base_columns:
        if column in ("label", "hint", "constraint_message"):
            columns += [f"{column}::{format_language(code, name)}" for code, name in every]
        else:
            columns.append(column)
    return tuple(columns)


def _in_languages(row: dict[str, Any], spec: JourneySpec, texts: dict[str, tuple[str, str]], translations: dict) -> None:
    """Put label and hint ({column: (translated field, own text)}) in every language's column; an untranslated text
    is the journey's own there, as it is in the app."""
    for column, (translated_field, text) in texts.items():
        if not spec.languages:
            row[column] = text
            continue
        row[f"{column}::{format_language(*spec.default_language)}"] = text
        for code, name in spec.languages:
            translated = ((translations.get(code) or {}).get(translated_field) or "").strip()
            row[f"{column}::{format_language(code, name)}"] = translated or text


def write_xlsform(spec: JourneySpec) -> bytes:
    """The journey as an XLSForm (survey, choices, settings) that pyxform turns into an XForm for ODK and Enketo."""
    book = Workbook()
    survey = book.active
    survey.title = SURVEY
    choices = book.create_sheet(CHOICES)
    settings = book.create_sheet(SETTINGS)
    survey_columns, choice_columns = _language_columns(SURVEY_COLUMNS, spec), _language_columns(CHOICE_COLUMNS, spec)
    for sheet, columns in ((survey, survey_columns), (choices, choice_columns)):
        for index, title in enumerate(columns, start=1):
            cell = _put(sheet, 1, index, title)
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
            sheet.column_dimensions[cell.column_letter].width = _WIDTHS.get(title.partition("::")[0], 12)
        sheet.freeze_panes = "A2"
    lists: list[tuple[str, list[tuple[str, str, float | None, dict]]]] = [
        (YES_NO_LIST, [("yes", "Yes", 1.0, {}), ("no", "No", 0.0, {})]),
        (MNM_LIST, [("miserable", "Miserable", 0.0, {}), ("neutral", "Neutral", 0.5, {}), ("magical", "Magical", 1.0, {})]),
    ]
    rows: list[dict[str, Any]] = []
    for moment in ensure_verdicts(_copy(spec)).moments:
        row = {"type": "begin_group", "name": _xml_name(moment.key), "appearance": "field-list",
               "weight": _num(moment.weight), "channel": moment.channel, "kind": moment.kind or "",
               "priority": "yes" if moment.priority else "", "expected_seconds": moment.expected_seconds}
        _in_languages(row, spec, {"label": ("name", moment.name), "hint": ("description", moment.description)},
                      moment.translations)
        rows.append(row)
        for question in moment.questions:
            row = {"name": _xml_name(question.key), "required": "yes" if question.required else "",
                   "weight": _num(question.weight), "critical": "yes" if question.critical else ""}
            _in_languages(row, spec, {"label": ("text", question.text), "hint": ("help", question.help)},
                          question.translations)
            if question.type == "yes_no":
                row["type"] = f"select_one {YES_NO_LIST}"
            elif question.type == "mnm":
                row["type"] = f"select_one {MNM_LIST}"
            elif question.type == "rating":
                row.update(type="range", parameters=RATING_PARAMETERS, appearance="rating")
            elif question.type == "number":
                row["type"] = "decimal"
                if question.target:
                    parse_target(question.target)  # a spec's target is valid; its number is written as typed
                    operator, value = re.match(r"\s*(<=|>=)\s*(\S+)", question.target).groups()
                    row["constraint"] = f". {operator} {value}"
                    _in_languages(row, spec, {"constraint_message": ("", f"The target is {operator} {value}")}, {})
            elif question.type == "choice":
                list_name = f"choices_{len(lists) - 1}"
                names: set[str] = set()
                entries = []
                for index, option in enumerate(question.options, start=1):
                    name = re.sub(r"[^a-z0-9_]+", "_", option.label.casefold()).strip("_")[:40] or f"option_{index}"
                    while name in names:
                        name = f"{name}_{index}"
                    names.add(name)
                    labels = {code: (texts.get("options") or [])[index - 1] for code, texts in question.translations.items()
                              if index - 1 < len(texts.get("options") or [])}
                    entries.append((name, option.label, option.score, labels))
                lists.append((list_name, entries))
                row["type"] = f"select_one {list_name}"
            elif question.type == "photo":
                row.update(type="image", parameters=PHOTO_PARAMETERS)
            else:
                row["type"] = "text"
            rows.append(row)
        rows.append({"type": "end_group", "name": _xml_name(moment.key)})
    for number, row in enumerate(rows, start=2):
        for index, column in enumerate(survey_columns, start=1):
            cell = _put(survey, number, index, row.get(column))
            if column.partition("::")[0] in ("label", "hint"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    number = 2
    for list_name, entries in lists:
        for name, label, score, labels in entries:
            row = {"list_name": list_name, "name": name, "score": _num(score)}
            _in_languages(row, spec, {"label": ("text", label)}, {code: {"text": text} for code, text in labels.items()})
            for index, column in enumerate(choice_columns, start=1):
                _put(choices, number, index, row.get(column))
            number += 1
    form_id = re.sub(r"[^a-z0-9_]+", "_", spec.name.casefold()).strip("_")[:60]
    fields = [("form_title", spec.name), ("form_id", _xml_name(form_id or "journey")), ("description", spec.description)]
    if spec.languages:
        fields.append(("default_language", format_language(*spec.default_language)))
    for index, (column, value) in enumerate(fields, start=1):
        _put(settings, 1, index, column).font = _HEADER_FONT
        _put(settings, 2, index, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _copy(spec: JourneySpec) -> JourneySpec:
    """A copy with its own question lists, so adding verdicts leaves the caller's spec as it is."""
    return JourneySpec(spec.name, spec.description, [
        MomentSpec(m.key, m.name, m.channel, m.kind, m.priority, m.weight, m.expected_seconds, m.description,
                   list(m.questions), m.translations) for m in spec.moments],
        spec.default_language, list(spec.languages))


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)
