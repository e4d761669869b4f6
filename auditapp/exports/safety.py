"""Making user text safe for spreadsheets: Excel's forbidden characters, formula injection, sheet names.

Pure Python (openpyxl only), so it is tested without an app.

Formula injection ("CSV injection"): text a shopper typed, such as `=HYPERLINK("http://evil", "x")`, must reach
the reader as that literal text and never run as a formula.
- In .xlsx, openpyxl turns any string that starts with `=` into a live formula and strings such as `#N/A` into
  error cells. `text_cell()` writes such text as a `WriteOnlyCell` whose data type is forced to "s" (an inline
  string): the file then holds the characters, not a formula, and nothing visible is added to them.
- In CSV there are no types, so `csv_text()` follows OWASP's advice (owasp.org/www-community/attacks/CSV_Injection):
  text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading single quote, which
  spreadsheet programs show as text; the csv module then quotes every field, which takes care of embedded quotes,
  separators and line breaks. Real numbers are written as numbers and are never prefixed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

# Characters Excel and XML 1.0 reject: C0 controls except tab, line feed and carriage return, lone surrogates
# (they cannot be encoded at all) and the two non-characters U+FFFE and U+FFFF.
ILLEGAL_CHARACTERS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32_767  # Excel's limit for the characters in one cell
SHEET_TITLE_MAX = 31
_SHEET_FORBIDDEN_RE = re.compile(r"[/\\?*\[\]:]")
_RESERVED_SHEET_TITLES = {"history"}  # Excel keeps this name for its change tracking


def safe_text(value: object) -> str:
    """`value` as text Excel accepts: forbidden characters removed, cut at Excel's 32,767 characters per cell."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text if len(text) <= MAX_CELL_TEXT else text[:MAX_CELL_TEXT]


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet (or openpyxl) read this text as something other than text?"""
    return text.startswith(FORMULA_PREFIXES) or text in ERROR_CODES


def text_cell(worksheet, value: object, style=None):
    """A value for `worksheet.append()` that is always stored as text.

    Plain text is returned as the string itself (openpyxl stores it as text, and this keeps streaming fast);
    text that looks like a formula or an error code, or any text that needs a style, becomes a `WriteOnlyCell`
    with its data type forced to "s".
    """
    text = safe_text(value)
    if style is None and not is_formula_like(text):
        return text
    cell = WriteOnlyCell(worksheet, value=None)
    if style is not None:
        cell.style = style
    cell.value = text
    cell.data_type = "s"  # after the value: assigning a value re-infers the type ("=..." would become "f")
    return cell


_RISKY_FIRST = frozenset("=+-@\t\r#")  # formula prefixes, and "#" for error-code look-alikes such as #N/A


def text_value(worksheet, value: object):
    """`text_cell()` for streamed rows: None for empty text (no cell at all), the string itself on the fast path."""
    if not value:
        return None
    if (type(value) is str and value[0] not in _RISKY_FIRST and len(value) <= MAX_CELL_TEXT
            and not ILLEGAL_CHARACTERS_RE.search(value)):
        return value
    return text_cell(worksheet, value)


def sheet_title(name: object, taken: Iterable[str] = ()) -> str:
    """A legal sheet name: no / \\ ? * [ ] :, no quote at either end, at most 31 characters, unique in `taken`.

    Uniqueness ignores case, as Excel does; a clash gets " (2)", " (3)"... inside the 31 characters.
    """
    title = _SHEET_FORBIDDEN_RE.sub(" ", safe_text(name))
    title = " ".join(title.split()).strip("'").strip() or "Sheet"
    title = title[:SHEET_TITLE_MAX].rstrip().rstrip("'") or "Sheet"
    used = {t.casefold() for t in taken} | _RESERVED_SHEET_TITLES
    if title.casefold() not in used:
        return title
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = title[: SHEET_TITLE_MAX - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in used:
            return candidate
        number += 1


def csv_text(value: object) -> str:
    """Text for a CSV field: forbidden characters removed and formula-like text prefixed with a single quote."""
    text = safe_text(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_value(value: object) -> object:
    """Numbers stay numbers (never prefixed: -2.5 is a number, not a formula); everything else is csv_text()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    return csv_text(value)
