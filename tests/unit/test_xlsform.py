"""XLSForm in and out (auditapp.journeys.xlsform), without Flask: real-world-shaped forms, errors, pyxform, round trips."""
from __future__ import annotations

import copy
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from pyxform.xls2xform import convert

from auditapp.journeys.library import library_journeys
from auditapp.journeys.spec import JourneySpec, MomentSpec, OptionSpec, QuestionSpec, ensure_verdicts
from auditapp.journeys.workbook import WorkbookError, write_journey_workbook
from auditapp.journeys.xlsform import Unsupported, is_xlsform, read_any_workbook, read_xlsform, write_xlsform
from tests.unit.test_workbook import _specs
from tests.xlsform_forms import build, clinic_patient_experience, restaurant_checklist, retail_mystery_shop


def shape(spec: JourneySpec) -> list:
    return [(m.key, m.name, [(q.key, q.type) for q in m.questions]) for m in spec.moments]


def question(spec: JourneySpec, moment: str, key: str) -> QuestionSpec:
    return next(q for m in spec.moments if m.key == moment for q in m.questions if q.key == key)


def where(unsupported: list[Unsupported]) -> list[tuple]:
    return [(u.sheet, u.row, u.what) for u in unsupported]


# ------------------------------------------------------------------------------------------------ three real forms


def test_retail_mystery_shop_from_kobotoolbox():
    result = read_any_workbook(retail_mystery_shop())
    spec = result.spec
    assert result.format == "xlsform"
    assert spec.name == "Retail mystery shop"
    assert shape(spec) == [
        ("store_entrance", "Store entrance", [("greeted", "yes_no"), ("seconds_to_greet", "number"),
                                              ("entrance_clean", "choice"), ("verdict", "mnm")]),
        ("checkout", "Checkout", [("queue_length", "choice"), ("wait_minutes", "number"), ("receipt_photo", "photo"),
                                  ("privacy_ok", "yes_no"), ("comments", "text"), ("verdict", "mnm")]),
    ]
    entrance = spec.moments[0]
    assert entrance.description == "From the door to the first greeting"  # the group's hint
    assert entrance.channel == "face_to_face"
    greeted = question(spec, "store_entrance", "greeted")
    assert (greeted.text, greeted.required) == ("Were you greeted within 30 seconds?", True)  # label::English (en)
    assert question(spec, "store_entrance", "seconds_to_greet").target == "<=30"
    assert question(spec, "checkout", "wait_minutes").target == "<=5"  # ".<=5" without spaces
    clean = question(spec, "store_entrance", "entrance_clean")
    assert clean.options == (OptionSpec("Spotless", 1.0), OptionSpec("Acceptable", 0.5), OptionSpec("Dirty", 0.0))
    assert clean.help == "Look at the shelves nearest the door before you answer."  # the note before it
    assert question(spec, "checkout", "queue_length").options[1] == OptionSpec("1 to 3", 0.75)
    assert question(spec, "checkout", "receipt_photo").help == "Cover the card number"  # hint::English (en)
    # only the metadata rows are left out; the $kuid / $autoname / appearance columns are ignored silently
    assert where(result.unsupported) == [("survey", 2, "start 'start'"), ("survey", 3, "end 'end'")]
    assert "records the visit's times" in result.unsupported[0].why


def test_clinic_patient_experience_from_odk():
    result = read_any_workbook(clinic_patient_experience())
    spec = result.spec
    assert spec.name == "Clinic patient experience"
    # questions outside every group go into one default moment, where the first of them is
    assert shape(spec) == [
        ("general", "General", [("booked_online", "yes_no"), ("reason", "text"), ("recommend", "yes_no"),
                                ("verdict", "mnm")]),
        ("waiting_room", "Waiting room", [("wait_minutes", "number"), ("comfort", "rating"),
                                          ("staff_courtesy", "choice"), ("verdict", "mnm")]),
    ]
    assert question(spec, "general", "booked_online").required  # list yn: names 1/0, labels Yes/No
    assert question(spec, "waiting_room", "wait_minutes").target is None  # a two-sided constraint is no target
    assert [o.score for o in question(spec, "waiting_room", "staff_courtesy").options] == [1, 0.75, 0.5, 0.25, 0]
    assert question(spec, "waiting_room", "staff_courtesy").help == "Thank you"  # a closing note joins the last
    assert where(result.unsupported) == [
        ("survey", 2, "today 'today'"),
        ("survey", 6, "the constraint '. >= 0 and . <= 240' of 'wait_minutes'"),
        ("survey", 9, "date 'visit_date'"),
        ("survey", 10, "select_multiple services 'services'"),
    ]


def test_restaurant_checklist_with_repeat_calculate_and_relevant():
    result = read_any_workbook(restaurant_checklist())
    spec = result.spec
    assert shape(spec) == [
        ("arrival", "Arrival", [("greeted", "yes_no"), ("seated_fast", "yes_no"), ("verdict", "mnm")]),
        # the repeat and its questions are left out; the nested group's question joins the outer moment
        ("food", "Food", [("hot_food_hot", "choice"), ("minutes_to_food", "number"), ("verdict", "mnm")]),
    ]
    assert question(spec, "food", "minutes_to_food").target == "<=20"
    assert where(result.unsupported) == [
        ("survey", 4, "relevant '${greeted} = 'yes'' of question 'seated_fast'"),
        ("survey", 5, "geopoint 'location'"),
        ("survey", 8, "repeat 'dishes' (rows 8-11, 2 questions in it)"),
        ("survey", 12, "group 'kitchen' inside another group"),
        ("survey", 15, "calculate 'food_score'"),
    ]
    whys = {u.row: u.why for u in result.unsupported}
    assert "always asked" in whys[4] and "once per visit" in whys[8] and "moment 'food'" in whys[12]
    assert str(result.unsupported[0]).startswith("survey, row 4: relevant")


def test_a_journey_workbook_is_still_read_as_one():
    spec = dict(library_journeys())["dentist-visit"]
    result = read_any_workbook(write_journey_workbook(spec))
    assert result.format == "journey" and result.unsupported == [] and result.spec == spec


def test_detection():
    assert is_xlsform(["survey", "choices", "settings"]) and is_xlsform([" Survey "])
    assert not is_xlsform(["journey", "moments", "questions", "survey"]) and not is_xlsform(["journey"])


# ------------------------------------------------------------------------------------------------ more mapping rules

HEADER = ["type", "name", "label"]


def test_yes_no_and_mnm_lists_and_scores():
    data = build([HEADER, ["select_one yn", "a", "A?"], ["select_one flip", "b", "B?"], ["select_one feel", "c", "C?"],
                  ["select_one feel", "verdict", "Overall?"]],
                 [["list_name", "name", "label", "score"], ["yn", "yes", "Yes", 1], ["yn", "no", "No", 0],
                  ["flip", "yes", "Yes", 0], ["flip", "no", "No", 1],
                  ["feel", "miserable", "Miserable", None], ["feel", "neutral", "Neutral", None],
                  ["feel", "magical", "Magical", None]])
    spec = read_xlsform(data).spec
    assert shape(spec) == [("general", "General", [("a", "yes_no"), ("b", "choice"), ("c", "mnm"), ("verdict", "mnm")])]
    assert question(spec, "general", "b").options == (OptionSpec("Yes", 0.0), OptionSpec("No", 1.0))  # kept as scored
    assert question(spec, "general", "verdict").required


def test_group_written_begin_group_with_spaces_labels_and_keys():
    data = build([["Type", "Name", "Label", "Hint"], ["begin group", "Front-Desk", None, "At the desk"],
                  ["integer", "Q1", "Seconds?", None], ["end group", None, None, None],
                  ["begin_group", "_1st_visit", "First visit", None], ["text", "_2nd", "Why?", None],
                  ["end_group", None, None, None]])
    spec = read_xlsform(data, filename="desk form.xlsx").spec
    assert spec.name == "desk form"  # no settings: the file's name
    assert shape(spec) == [("front_desk", "Front-desk", [("q1", "number"), ("verdict", "mnm")]),
                           ("1st_visit", "First visit", [("2nd", "text"), ("verdict", "mnm")])]


def test_a_group_of_notes_only_describes_its_moment():
    data = build([HEADER, ["begin_group", "intro", "Intro"], ["note", "n1", "Read the brief"], ["end_group"]])
    spec = read_xlsform(data).spec
    assert spec.moments[0].description == "Read the brief" and shape(spec) == [("intro", "Intro", [("verdict", "mnm")])]


def test_required_expressions_are_listed_and_other_languages_become_translations():
    data = build([["type", "name", "label::English (en)", "label::Svenska (sv)", "label::Klingon", "required"],
                  ["text", "a", "Why?", "Varför?", "Qatlh?", "${b} = 'x'"]],
                 settings=[["form_title", "default_language"], ["Languages", "Svenska (sv)"]])
    result = read_xlsform(data)
    a = question(result.spec, "general", "a")
    assert a.text == "Varför?"  # the default language's labels
    assert a.translations == {"en": {"text": "Why?"}}
    assert result.spec.default_language == ("sv", "Svenska") and result.spec.languages == [("en", "English")]
    assert a.required is False
    assert where(result.unsupported) == [("survey", 1, "translations in label::Klingon"),
                                         ("survey", 2, "the required expression '${b} = 'x'' of 'a'")]


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("survey", "choices", "expected"), [
    ([HEADER, ["select_one nope", "a", "A?"]], [["list_name", "name", "label"], ["yn", "yes", "Yes"]],
     ("survey", 2, "type", "choice list 'nope' is not on the choices sheet")),
    ([HEADER, ["begin_group", "g", "G"], ["text", "a", "A?"]], None, ("survey", 2, "type", "1 group is never closed")),
    ([HEADER, ["text", "a", "A?"], ["end_group"]], None, ("survey", 3, "type", "'end_group' without a matching")),
    ([HEADER, ["text", "a", "A?"], ["integer", "a", "B?"]], None, ("survey", 3, "name", "question name 'a' is used twice")),
    ([HEADER, ["begin_group", "g", "G"], ["end_group"], ["begin_group", "g", "H"], ["end_group"]], None,
     ("survey", 4, "name", "group name 'g' is used twice")),
    ([HEADER, ["selct_one yn", "a", "A?"]], None, ("survey", 2, "type", "unknown type 'selct_one yn'")),
    ([HEADER, ["text", None, "A?"]], None, ("survey", 2, "name", "name is required")),
    ([HEADER, ["text", "a", None]], None, ("survey", 2, "label", "label is required")),
    ([HEADER, ["text", "verdict", "A?"]], None, ("survey", 2, "name", "the name 'verdict' is kept")),
    ([HEADER, ["select_one s", "a", "A?"]], [["list_name", "name", "label", "score"], ["s", "x", "X", 2]],
     ("choices", 2, "score", "score must be a number from 0 to 1")),
    ([HEADER, ["select_one s", "a", "A?"]], [["list_name", "name", "label"], ["s", "x", "X"], ["s", "x", "Y"]],
     ("choices", 3, "name", "choice 'x' is listed twice")),
    ([HEADER, ["select_one s", "a", "A?"]], [["list_name", "name", "label"], ["s", "x", "A|B"]],
     ("choices", 2, "label", "may not contain '|'")),
    ([["type", "name"], ["text", "a"]], None, ("survey", 1, "label", "required column 'label' is missing")),
    ([HEADER, ["begin_repeat", "r", "R"], ["text", "a", "A?"]], None, ("survey", 2, "type", "repeat 'r' is never closed")),
    ([HEADER], None, ("survey", None, None, "the survey has no questions")),
])
def test_problems_name_sheet_row_and_column(survey, choices, expected):
    with pytest.raises(WorkbookError) as caught:
        read_xlsform(build(survey, choices))
    problems = [(p.sheet, p.row, p.column, p.message) for p in caught.value.problems]
    assert any(p[:3] == expected[:3] and expected[3] in p[3] for p in problems), problems


def test_every_problem_is_listed_at_once():
    with pytest.raises(WorkbookError) as caught:
        read_xlsform(build([HEADER, ["select_one nope", "a", "A?"], ["text", "b", None], ["bogus", "c", "C"]]))
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "type"), (3, "label"), (4, "type")]


# ------------------------------------------------------------------------------------------------ out: pyxform


def _xform(data: bytes, *, validate: bool = False) -> str:
    warnings: list[str] = []
    result = convert(data, warnings=warnings, validate=validate)
    assert warnings == []
    return result.xform


@pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs Java")
def test_export_is_a_valid_xform_for_odk():
    spec = dict(library_journeys())["cafe-order"]  # in English and Swedish: labels are itext translations
    xform = _xform(write_xlsform(spec), validate=True)  # pyxform runs ODK Validate (Java) on the XForm
    assert f"<h:title>{spec.name}</h:title>" in xform
    for moment in spec.moments:
        assert f'<group appearance="field-list" ref="/data/{moment.key}">' in xform
        assert f"<value>{moment.name}</value>" in xform and f"<value>{moment.translations['sv']['name']}</value>" in xform
        for q in moment.questions:
            assert f'nodeset="/data/{moment.key}/{q.key}"' in xform


def test_export_maps_types_scores_and_targets():
    spec = ensure_verdicts(JourneySpec(name="Types", moments=[MomentSpec(key="1st", name="First", channel="phone",
        questions=[QuestionSpec("a", "A?", "yes_no", required=True), QuestionSpec("b", "B?", "rating"),
                   QuestionSpec("c", "C?", "number", target=">=2.5"), QuestionSpec("d", "D?", "photo"),
                   QuestionSpec("e", "E?", "choice", options=(OptionSpec("Good", 1.0), OptionSpec("Meh"))),
                   QuestionSpec("f", "F?", "text")])]))
    xform = _xform(write_xlsform(spec))
    assert '<group appearance="field-list" ref="/data/_1st">' in xform  # a key that is no XML name is escaped
    assert 'nodeset="/data/_1st/a" type="string" required="true()"' in xform
    assert 'start="1" end="5" step="1"' in xform
    assert 'nodeset="/data/_1st/c" type="decimal" constraint=". &gt;= 2.5"' in xform
    assert 'nodeset="/data/_1st/d" type="binary"' in xform
    assert "<label>Good</label>" in xform and "<score>1</score>" in xform
    assert read_xlsform(write_xlsform(spec)).spec == spec


def test_every_library_journey_exports_converts_and_reads_back():
    for _, spec in library_journeys():
        data = write_xlsform(spec)
        assert "<h:title>" in _xform(data)
        result = read_xlsform(data)
        assert result.unsupported == []
        assert result.spec == ensure_verdicts(copy.deepcopy(spec))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_specs())
def test_round_trip_property(spec):
    """export then import gives the same journey: moments, types, options and scores, targets, weights..."""
    data = write_xlsform(spec)
    assert read_any_workbook(data).spec == spec
    convert(data, warnings=[])  # and pyxform takes it


def test_keys_that_look_escaped_keep_apart():
    """Found by the round-trip property: keys '0' and '_0' were both read back as '0'."""
    keys = ["0", "_0", "__0", "_a", "meta", "xml_x", "a"]
    spec = ensure_verdicts(JourneySpec(name="Keys", moments=[MomentSpec(key=k, name=k, channel="app") for k in keys]))
    data = write_xlsform(spec)
    assert [m.key for m in read_xlsform(data).spec.moments] == keys
    convert(data, warnings=[])


def _translated_spec() -> JourneySpec:
    return ensure_verdicts(JourneySpec(name="Fika", default_language=("en", "English"), languages=[("sv", "Svenska")],
        moments=[MomentSpec(key="counter", name="At the counter", channel="face_to_face", description="Queue and order",
                            translations={"sv": {"name": "Vid disken"}}, questions=[
            QuestionSpec("greeted", "Were you greeted?", "yes_no", help="Within 10 s",
                         translations={"sv": {"text": "Blev du hälsad?", "help": "Inom 10 s"}}),
            QuestionSpec("speed", "How quick?", "choice", options=(OptionSpec("Quick", 1.0), OptionSpec("Slow", 0.0)),
                         translations={"sv": {"text": "Hur snabbt?", "options": ["Snabbt", ""]}}),
            QuestionSpec("comment", "What stood out?", "text")])]))


def test_translations_go_out_as_xlsform_languages_and_come_back():
    spec = _translated_spec()
    data = write_xlsform(spec)
    xform = _xform(data, validate=shutil.which("java") is not None)
    assert '<translation lang="English (en)" default="true()">' in xform and '<translation lang="Svenska (sv)">' in xform
    for text in ("Vid disken", "Blev du hälsad?", "Inom 10 s", "Hur snabbt?", "Snabbt"):
        assert f"<value>{text}</value>" in xform
    # An untranslated text is the journey's own in the Swedish column (as the app shows it), and not a translation
    # when it comes back.
    assert read_xlsform(data).spec == spec


def test_an_odk_form_in_two_languages_keeps_both():
    data = build([["type", "name", "label::English (en)", "label::Español (es)", "hint::Español (es)"],
                  ["begin_group", "desk", "At the desk", "En el mostrador", None],
                  ["select_one speed", "speed", "How quick?", "¿Qué tan rápido?", "Cuente los segundos"],
                  ["end_group", "desk", None, None, None]],
                 choices=[["list_name", "name", "label::English (en)", "label::Español (es)", "score"],
                          ["speed", "fast", "Fast", "Rápido", 1], ["speed", "slow", "Slow", None, 0]],
                 settings=[["form_title", "default_language"], ["Desk", "English (en)"]])
    spec = read_xlsform(data).spec
    assert spec.languages == [("es", "Español")]
    moment = spec.moments[0]
    assert moment.translations == {"es": {"name": "En el mostrador"}}
    assert moment.questions[0].translations == {"es": {"text": "¿Qué tan rápido?", "help": "Cuente los segundos",
                                                       "options": ["Rápido", ""]}}
