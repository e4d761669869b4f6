"""Journeys in several languages, without Flask: the workbook's `field::Language (code)` columns, the round trip,
clear problems for bad translation columns, and what a reader of each language is shown."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import LanguageAccept

from auditapp.journeys.languages import (
    LanguageError,
    clean_translations,
    coverage,
    normalise_code,
    parse_language,
    pick_language,
    shown_option_labels,
    shown_text,
)
from auditapp.journeys.spec import OptionSpec, QuestionSpec
from auditapp.journeys.workbook import read_journey_workbook, write_journey_workbook
from tests.unit.test_workbook import MOMENT_HEADER, QUESTION_HEADER, make_workbook, moment_row, problems_of, question_row

SV_MOMENT_HEADER = MOMENT_HEADER + ["name::Svenska (sv)", "description::Svenska (sv)", "label::Deutsch (de)"]
SV_QUESTION_HEADER = QUESTION_HEADER + ["text::Svenska (sv)", "hint::Svenska (sv)", "options::Svenska (sv)",
                                        "label::Deutsch (de)"]


def translated_workbook(*, moments=None, questions=None, journey=None) -> bytes:
    return make_workbook(
        journey=journey,
        moment_header=SV_MOMENT_HEADER,
        moments=moments if moments is not None else [moment_row() + ["Ankomst till kliniken", "Att gå in", "Ankunft"]],
        question_header=SV_QUESTION_HEADER,
        questions=questions if questions is not None else [
            question_row() + ["Blev du hälsad?", "Räkna från dörren", None, "Wurden Sie begrüßt?"],
            question_row(key="wait", text="How long was the wait?", qtype="choice", options="Short=1|Long=0")
            + ["Hur lång var väntan?", None, "Kort|Lång", None],
        ])


def test_translation_columns_become_languages_and_translations():
    spec = read_journey_workbook(translated_workbook())
    assert spec.default_language == ("en", "English")
    assert spec.languages == [("sv", "Svenska"), ("de", "Deutsch")]
    moment = spec.moments[0]
    assert moment.name == "Arrival at the surgery"  # the default text is untouched
    assert moment.translations == {"sv": {"name": "Ankomst till kliniken", "description": "Att gå in"},
                                   "de": {"name": "Ankunft"}}
    greeted, wait, verdict = moment.questions
    assert greeted.translations == {"sv": {"text": "Blev du hälsad?", "help": "Räkna från dörren"},
                                    "de": {"text": "Wurden Sie begrüßt?"}}
    assert wait.translations == {"sv": {"text": "Hur lång var väntan?", "options": ["Kort", "Lång"]}}
    assert wait.options == (OptionSpec("Short", 1.0), OptionSpec("Long", 0.0))  # scores stay with the default
    assert verdict.translations == {}


def test_the_journey_sheet_names_the_default_language():
    journey = [["name", "Tandläkarbesök"], ["default_language", "Svenska (sv)"]]
    spec = read_journey_workbook(make_workbook(journey=journey, moment_header=MOMENT_HEADER + ["name::English (en)"],
                                               moments=[moment_row(name="Ankomst") + ["Arrival"]]))
    assert spec.default_language == ("sv", "Svenska")
    assert spec.languages == [("en", "English")]
    assert spec.moments[0].translations == {"en": {"name": "Arrival"}}


def test_the_round_trip_keeps_every_translation():
    spec = read_journey_workbook(translated_workbook())
    data = write_journey_workbook(spec)
    header = [cell.value for cell in load_workbook(io.BytesIO(data))["questions"][1]]
    assert "options::Svenska (sv)" in header and "text::Deutsch (de)" in header
    again = read_journey_workbook(data)
    assert again.languages == spec.languages
    assert [m.translations for m in again.moments] == [m.translations for m in spec.moments]
    assert [q.translations for q in again.moments[0].questions] == [q.translations for q in spec.moments[0].questions]


def test_a_workbook_without_translations_is_written_as_before():
    spec = read_journey_workbook(make_workbook())
    book = load_workbook(io.BytesIO(write_journey_workbook(spec)))
    assert [cell.value for cell in book["moments"][1]] == MOMENT_HEADER
    assert [row[0].value for row in book["journey"].iter_rows()] == ["name", "description"]


@pytest.mark.parametrize(("header", "expected"), [
    ("name::Svenska", "'name::Svenska': 'Svenska' is not a language code"),
    ("channel::Svenska (sv)", "'channel::Svenska (sv)' translates 'channel', which has no translations"),
    ("name::Svenska (s!)", "'s!' is not a language code"),
])
def test_a_bad_translation_header_is_a_clear_problem(header, expected):
    problems = problems_of(make_workbook(moment_header=MOMENT_HEADER + [header], moments=[moment_row() + ["x"]]))
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].sheet == "moments" and problems[0].row == 1 and problems[0].column == header
    assert expected in problems[0].message


def test_one_language_with_two_names_is_a_problem():
    header = MOMENT_HEADER + ["name::Svenska (sv)", "description::Swedish (sv)"]
    problems = problems_of(make_workbook(moment_header=header, moments=[moment_row() + ["a", "b"]]))
    assert [p.column for p in problems] == ["description::Swedish (sv)"]
    assert "use one name per language" in problems[0].message


@pytest.mark.parametrize(("labels", "expected"), [
    ("Kort", "1 labels for 2 options; give one label per option"),
    ("Kort=0.5|Lång", "scores come from the options column"),
    ("Kort||Lång", "empty option"),
])
def test_translated_options_must_match_the_options(labels, expected):
    questions = [question_row(key="wait", qtype="choice", options="Short=1|Long=0") + [None, None, labels, None]]
    problems = problems_of(translated_workbook(questions=questions))
    assert [(p.sheet, p.row, p.column) for p in problems] == [("questions", 2, "options::sv")]
    assert expected in problems[0].message


def test_translated_options_on_a_question_that_is_not_a_choice_are_refused():
    problems = problems_of(translated_workbook(questions=[question_row() + [None, None, "Ja|Nej", None]]))
    assert [(p.column, p.message) for p in problems] == [
        ("options::sv", "options are only for choice questions, not yes_no; clear this cell")]


def test_a_translated_name_has_the_names_length_limit():
    problems = problems_of(translated_workbook(moments=[moment_row() + ["x" * 201, None, None]]))
    assert [(p.column, p.message) for p in problems] == [("name::sv", "name::sv is too long (201 characters; at most 200)")]


def test_languages_are_parsed_and_normalised():
    assert parse_language("Svenska (SV)") == ("sv", "Svenska")
    assert parse_language(" Português (pt_BR) ") == ("pt-br", "Português")
    assert parse_language("de") == ("de", "de")
    assert normalise_code("zh-Hant") == "zh-hant"
    for bad in ("", "Swedish", "s", "sv (x)", "toolonglanguage"):
        with pytest.raises(LanguageError):
            parse_language(bad)


QUESTION = QuestionSpec(key="wait", text="How long?", type="choice", help="From the door",
                        options=(OptionSpec("Short", 1.0), OptionSpec("Long", 0.0), OptionSpec("None")),
                        translations={"sv": {"text": "Hur länge?", "options": ["Kort", "  ", "Ingen"]},
                                      "de": {"text": "   "}})


def test_a_reader_sees_the_translation_else_the_default():
    assert shown_text(QUESTION, "text", "sv") == "Hur länge?"
    assert shown_text(QUESTION, "help", "sv") == "From the door"  # not translated: the default
    assert shown_text(QUESTION, "text", "de") == "How long?"  # blank counts as not translated
    assert shown_text(QUESTION, "text", None) == "How long?"
    assert shown_option_labels(QUESTION, "sv") == ["Kort", "Long", "Ingen"]
    assert shown_option_labels(QUESTION, "fr") == ["Short", "Long", "None"]


def test_coverage_counts_translated_texts():
    # Translatable: the name (the description is empty), the text, the help and 3 labels; translated: all but the
    # help and the blank label.
    assert coverage([_Moment()], "sv") == (4, 6)
    assert coverage([_Moment()], "de") == (0, 6)


class _Moment:
    name, description, translations = "Arrival", "", {"sv": {"name": "Ankomst"}}
    questions = [QUESTION]


def test_the_form_language_is_the_asked_one_else_the_browsers_else_the_journeys():
    accepted = LanguageAccept([("sv-SE", 1), ("en", 0.5)])
    assert pick_language(None, accepted, ["en", "sv"], "en") == "sv"  # sv-SE matches sv
    assert pick_language("en", accepted, ["en", "sv"], "en") == "en"
    assert pick_language("fr", accepted, ["en", "sv"], "en") == "sv"  # not one of the journey's: ignored
    assert pick_language(None, LanguageAccept([("fr", 1)]), ["en", "sv"], "en") == "en"
    assert pick_language(None, None, ["de", "sv"], "de") == "de"
    assert pick_language(None, LanguageAccept([("sv", 1)]), ["en", "sv-fi"], "en") == "sv-fi"
    assert pick_language(None, LanguageAccept([("sv", 0), ("de", 0.1)]), ["sv", "de"], "en") == "de"


def test_clean_translations_keeps_one_form_of_not_translated():
    assert clean_translations({"sv": {"name": " Ankomst ", "description": ""}, "de": {"name": "  "}},
                              ("name", "description")) == {"sv": {"name": "Ankomst"}}
    assert clean_translations({"sv": {"options": ["", " "]}}, ("options",)) == {}
    assert clean_translations({"sv": {"options": ["Ja", ""]}}, ("options",)) == {"sv": {"options": ["Ja", ""]}}
