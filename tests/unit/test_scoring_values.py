"""parse_value: one raw answer (JSON or form) -> canonical ParsedValue, or AnswerError with a readable message."""
import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditapp.journeys.spec import parse_options
from auditapp.scoring.values import AnswerError, ParsedValue, parse_value

ALL_TYPES = ["yes_no", "mnm", "rating", "number", "choice", "text", "photo"]
SPEED = parse_options("Quick=1|Slow=0|Not seen")


def pv(text, number=None, na=False):
    return ParsedValue(text=text, number=number, na=na)


@pytest.mark.parametrize("qtype", ALL_TYPES)
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_unanswered_is_none(qtype, raw):
    assert parse_value(qtype, raw, options=SPEED) is None
    assert parse_value(qtype, raw, options=SPEED, is_verdict=True) is None


@pytest.mark.parametrize("qtype", ALL_TYPES)
@pytest.mark.parametrize("raw", ["na", "NA", " Na "])
def test_na_is_valid_for_every_type(qtype, raw):
    assert parse_value(qtype, raw, options=SPEED) == pv("na", na=True)


@pytest.mark.parametrize("raw", ["na", "NA"])
def test_verdict_cannot_be_na(raw):
    with pytest.raises(AnswerError, match="the verdict cannot be n/a"):
        parse_value("mnm", raw, is_verdict=True)


@pytest.mark.parametrize(
    ("qtype", "raw", "expected"),
    [
        ("yes_no", "yes", pv("yes")),
        ("yes_no", "No", pv("no")),
        ("yes_no", " YES ", pv("yes")),
        ("yes_no", True, pv("yes")),
        ("yes_no", False, pv("no")),
        ("mnm", "miserable", pv("miserable")),
        ("mnm", "Neutral", pv("neutral")),
        ("mnm", " MAGICAL", pv("magical")),
        ("rating", 1, pv("1", 1.0)),
        ("rating", 5, pv("5", 5.0)),
        ("rating", "3", pv("3", 3.0)),
        ("rating", " 4 ", pv("4", 4.0)),
        ("rating", 2.0, pv("2", 2.0)),
        ("number", 12, pv("12", 12.0)),
        ("number", 2.5, pv("2.5", 2.5)),
        ("number", "-3.75", pv("-3.75", -3.75)),
        ("number", " 120 ", pv("120", 120.0)),
        ("number", "1e3", pv("1000", 1000.0)),
        ("number", 0, pv("0", 0.0)),
        ("number", -0.0, pv("0", 0.0)),
        ("number", 1e12, pv("1000000000000", 1e12)),
        ("number", -1e12, pv("-1000000000000", -1e12)),
        ("choice", "Quick", pv("Quick")),
        ("choice", "quick", pv("Quick")),
        ("choice", " SLOW ", pv("Slow")),
        ("choice", "not seen", pv("Not seen")),
        ("text", "Friendly, but slow", pv("Friendly, but slow")),
        ("text", "  kept spaces  ", pv("  kept spaces  ")),
        ("text", "x" * 10_000, pv("x" * 10_000)),
        ("photo", "ph_123abc", pv("ph_123abc")),
    ],
)
def test_valid_values(qtype, raw, expected):
    assert parse_value(qtype, raw, options=SPEED) == expected


def test_choice_accepts_plain_labels_and_numeric_json():
    assert parse_value("choice", 3, options=["1-2", "3", "4+"]) == pv("3")
    assert parse_value("choice", "4+", options=["1-2", "3", "4+"]) == pv("4+")


def test_verdict_accepts_the_three_words():
    assert parse_value("mnm", "magical", is_verdict=True) == pv("magical")


@pytest.mark.parametrize(
    ("qtype", "raw", "message"),
    [
        ("yes_no", "maybe", "must be yes, no or na"),
        ("yes_no", 1, "must be yes, no or na"),
        ("yes_no", "y", "must be yes, no or na"),
        ("mnm", "good", "must be miserable, neutral or magical, or na"),
        ("mnm", 1, "must be miserable, neutral or magical"),
        ("rating", 0, "must be a whole number from 1 to 5"),
        ("rating", 6, "must be a whole number from 1 to 5"),
        ("rating", 2.5, "must be a whole number from 1 to 5"),
        ("rating", "2.5", "must be a whole number from 1 to 5"),
        ("rating", True, "must be a whole number from 1 to 5"),
        ("rating", "three", "must be a whole number from 1 to 5"),
        ("rating", math.nan, "must be a whole number from 1 to 5"),
        ("rating", math.inf, "must be a whole number from 1 to 5"),
        ("number", "abc", "must be a number"),
        ("number", True, "must be a number"),
        ("number", "1_000", "must be a number"),
        ("number", "nan", "must be a number"),
        ("number", math.nan, "must be a finite number"),
        ("number", math.inf, "must be a finite number"),
        ("number", -math.inf, "must be a finite number"),
        ("number", "1e400", "must be a finite number"),
        ("number", 1e12 + 1, "is too large"),
        ("number", "-2e12", "is too large"),
        pytest.param("number", -(10**400), "is too large", id="number-huge-int"),
        ("choice", "Medium", "must be one of: Quick, Slow, Not seen"),
        ("choice", True, "must be one of: Quick, Slow, Not seen"),
        ("text", 42, "must be text"),
        ("text", "x" * 10_001, "is too long"),
        ("photo", 7, "must be a photo reference"),
        ("photo", "p" * 501, "too long"),
    ],
)
def test_invalid_values(qtype, raw, message):
    with pytest.raises(AnswerError, match=message):
        parse_value(qtype, raw, options=SPEED)


@pytest.mark.parametrize("qtype", ALL_TYPES)
@pytest.mark.parametrize(("raw", "message"), [({"v": 1}, "not an object"), (["yes"], "not a list"), ((), "not a list")])
def test_containers_are_rejected(qtype, raw, message):
    with pytest.raises(AnswerError, match=message):
        parse_value(qtype, raw, options=SPEED)


def test_verdict_message_does_not_offer_na():
    with pytest.raises(AnswerError) as info:
        parse_value("mnm", "meh", is_verdict=True)
    assert str(info.value) == "must be miserable, neutral or magical"


def test_choice_without_options():
    with pytest.raises(AnswerError, match="no options"):
        parse_value("choice", "Quick")


def test_unknown_type_is_a_programming_error_not_an_answer_error():
    with pytest.raises(ValueError, match="unknown question type") as info:
        parse_value("slider", "3")
    assert not isinstance(info.value, AnswerError)


def test_answer_error_is_a_value_error():
    assert issubclass(AnswerError, ValueError)


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_number_text_round_trips(value):
    parsed = parse_value("number", value)
    assert parsed.number == value
    assert float(parsed.text) == value
    assert parse_value("number", parsed.text) == parsed


@given(st.text(max_size=200).filter(lambda s: s.strip() and s.strip().casefold() != "na"))
def test_any_text_is_kept_verbatim(text):
    assert parse_value("text", text) == pv(text)


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)))
def test_parse_value_only_raises_answer_error(raw):
    for qtype in ALL_TYPES:
        with contextlib.suppress(AnswerError):
            parse_value(qtype, raw, options=SPEED)
