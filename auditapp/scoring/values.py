"""Parse and validate one raw answer value, as it arrives from the JSON API or the phone form.

`parse_value` turns whatever the client sent into a `ParsedValue` with one canonical stored string, or raises
`AnswerError` whose message completes the sentence "<question> ...", e.g. "must be yes, no or na".
"""
from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

NA = "na"
YES_NO = ("yes", "no")
MNM = ("miserable", "neutral", "magical")
RATING_MIN, RATING_MAX = 1, 5
MAX_NUMBER = 1e12
MAX_TEXT = 10_000
MAX_PHOTO_REF = 500
# Stricter than float(): no "nan", "inf", "1_000" or other spellings a person would not type as a number.
NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


class AnswerError(ValueError):
    """A raw answer that does not fit its question; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ParsedValue:
    text: str | None  # canonical stored string
    number: float | None  # rating and number questions only
    na: bool = False


NA_VALUE = ParsedValue(text=NA, number=None, na=True)


def parse_value(qtype: str, raw: object, *, options: Iterable = (), is_verdict: bool = False) -> ParsedValue | None:
    """Validate `raw` for a question of type `qtype`; None means unanswered.

    `options` are the choice question's `OptionSpec`s (plain label strings also work).
    Raises AnswerError for a bad value and ValueError for an unknown question type.
    """
    if qtype not in QUESTION_TYPES:
        raise ValueError(f"unknown question type {qtype!r}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, dict):
        raise AnswerError("must be a single value, not an object")
    if isinstance(raw, (list, tuple, set)):
        raise AnswerError("must be a single value, not a list")
    if isinstance(raw, str) and raw.strip().casefold() == NA:
        if is_verdict:
            raise AnswerError("the verdict cannot be n/a")
        return NA_VALUE
    if qtype == "choice":
        return _parse_choice(raw, tuple(options))
    if qtype == "mnm":
        return _parse_mnm(raw, is_verdict)
    return _SIMPLE_PARSERS[qtype](raw)


def _word(raw: object) -> str | None:
    return raw.strip().casefold() if isinstance(raw, str) else None


def _parse_yes_no(raw: object) -> ParsedValue:
    if isinstance(raw, bool):  # JSON true/false
        return ParsedValue("yes" if raw else "no", None)
    word = _word(raw)
    if word in YES_NO:
        return ParsedValue(word, None)
    raise AnswerError("must be yes, no or na")


def _parse_mnm(raw: object, is_verdict: bool) -> ParsedValue:
    word = _word(raw)
    if word in MNM:
        return ParsedValue(word, None)
    raise AnswerError("must be miserable, neutral or magical" + ("" if is_verdict else ", or na"))


def _to_number(raw: object) -> float | None:
    """A finite-or-not float from an int, float or numeric string; None for anything else."""
    if isinstance(raw, bool):  # bool is an int in Python, never a number in an answer
        return None
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:  # a JSON integer with hundreds of digits: huge but finite, so "too large"
            return sys.float_info.max if raw > 0 else -sys.float_info.max
    if isinstance(raw, float):
        return raw
    if isinstance(raw, str) and NUMBER_RE.match(raw.strip()):
        return float(raw.strip())
    return None


def _parse_rating(raw: object) -> ParsedValue:
    value = _to_number(raw)
    if value is None or not math.isfinite(value) or not value.is_integer() or not RATING_MIN <= value <= RATING_MAX:
        raise AnswerError(f"must be a whole number from {RATING_MIN} to {RATING_MAX}")
    return ParsedValue(str(int(value)), value)


def _parse_number(raw: object) -> ParsedValue:
    value = _to_number(raw)
    if value is None:
        raise AnswerError("must be a number")
    if not math.isfinite(value):
        raise AnswerError("must be a finite number")
    if abs(value) > MAX_NUMBER:
        raise AnswerError("is too large")
    value = value + 0.0  # -0.0 would be stored as "-0"
    return ParsedValue(format_number(value), value)


def format_number(value: float) -> str:
    """12.0 -> "12", 2.5 -> "2.5": the canonical text of a number answer."""
    return str(int(value)) if value.is_integer() else repr(value)


def display_value(qtype: str, value: str | None) -> str:
    """A stored answer as a reviewer reads it: "Yes", "4 of 5", "Magical", "N/A", "–" for no answer."""
    if value is None or value == "":
        return "–"
    if value == NA:
        return "N/A"
    if qtype in ("yes_no", "mnm"):
        return value.capitalize()
    if qtype == "rating":
        return f"{value} of 5"
    return value


def _parse_choice(raw: object, options: tuple) -> ParsedValue:
    labels = [getattr(option, "label", option) for option in options]
    if not labels:
        raise AnswerError("has no options to choose from")
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = format_number(float(raw))  # a label such as "3" may arrive as a JSON number
    if isinstance(raw, str):
        wanted = raw.strip().casefold()
        for label in labels:
            if label.casefold() == wanted:
                return ParsedValue(label, None)
    raise AnswerError("must be one of: " + ", ".join(labels))


def _parse_text(raw: object) -> ParsedValue:
    if not isinstance(raw, str):
        raise AnswerError("must be text")
    if len(raw) > MAX_TEXT:
        raise AnswerError(f"is too long (at most {MAX_TEXT} characters)")
    return ParsedValue(raw, None)


def _parse_photo(raw: object) -> ParsedValue:
    if not isinstance(raw, str):
        raise AnswerError("must be a photo reference")
    ref = raw.strip()
    if len(ref) > MAX_PHOTO_REF:
        raise AnswerError("is not a valid photo reference (too long)")
    return ParsedValue(ref, None)


_SIMPLE_PARSERS = {
    "yes_no": _parse_yes_no,
    "rating": _parse_rating,
    "number": _parse_number,
    "text": _parse_text,
    "photo": _parse_photo,
}
QUESTION_TYPES = frozenset(_SIMPLE_PARSERS) | {"choice", "mnm"}
