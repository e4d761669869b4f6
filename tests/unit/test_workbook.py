"""Journey workbook reader and writer (contract section 2): good input, every kind of bad input, round trips."""
from __future__ import annotations

import copy
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from auditapp.journeys.spec import (
    CHANNELS,
    KINDS,
    QUESTION_TYPES,
    JourneySpec,
    MomentSpec,
    OptionSpec,
    QuestionSpec,
    ensure_verdicts,
)
from auditapp.journeys.workbook import (
    WorkbookError,
    WorkbookProblem,
    blank_template,
    read_journey_workbook,
    write_journey_workbook,
)

MOMENT_HEADER = ["key", "name", "channel", "kind", "priority", "weight", "expected_seconds", "description"]
QUESTION_HEADER = ["moment", "key", "text", "type", "required", "weight", "critical", "options", "target", "help"]


def moment_row(key="arrival", name="Arrival at the surgery", channel="face_to_face", kind="basic", priority="yes",
               weight=1, seconds=60, description="Walking in"):
    return [key, name, channel, kind, priority, weight, seconds, description]


def question_row(moment="arrival", key="greeted", text="Were you greeted?", qtype="yes_no", required="yes",
                 weight=1, critical="no", options=None, target=None, help=None):
    return [moment, key, text, qtype, required, weight, critical, options, target, help]


def make_workbook(journey=None, moments=None, questions=None, *, moment_header=None, question_header=None,
                  sheets=("journey", "moments", "questions")) -> bytes:
    """Build a workbook the way a user would in Excel; every argument has a valid default."""
    book = Workbook()
    book.remove(book.active)
    content = {
        "journey": journey if journey is not None else [["name", "Dentist visit"], ["description", "Checkup"]],
        "moments": [moment_header or MOMENT_HEADER] + (moments if moments is not None else [moment_row()]),
        "questions": [question_header or QUESTION_HEADER] + (questions if questions is not None else [question_row()]),
    }
    for title in sheets:
        sheet = book.create_sheet(title)
        for row in content[title.strip().lower()]:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def problems_of(data: bytes) -> list[WorkbookProblem]:
    with pytest.raises(WorkbookError) as caught:
        read_journey_workbook(data)
    return caught.value.problems


def only_problem(data: bytes) -> WorkbookProblem:
    problems = problems_of(data)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# ------------------------------------------------------------------------------------------------ good input


def test_valid_workbook_imports_with_its_values():
    data = make_workbook(
        moments=[
            moment_row(),
            moment_row("booking", "Booking call", "Phone", "", "n", "2.5", "120", ""),
            moment_row("follow_up", "Follow-up call", " phone ", "decisive", None, None, None, None),
        ],
        questions=[
            question_row(),
            question_row("booking", "rings", "How many rings before an answer?", "choice", "no", 2, "no",
                         "Within 3 rings=1|4-6 rings=0.5|More than 6=0", None, "Count the rings"),
            question_row("booking", "wait", "Seconds on hold", "number", None, None, None, None, "<=120"),
            question_row("arrival", "privacy", "Were details kept out of earshot of other patients?", "yes_no",
                         True, "3", "1", None, None, None),
            question_row("arrival", "verdict", "How did it feel?", "mnm", None, None, None),
        ],
    )
    spec = read_journey_workbook(data)
    assert spec.name == "Dentist visit" and spec.description == "Checkup"
    assert [m.key for m in spec.moments] == ["arrival", "booking", "follow_up"]
    arrival, booking, follow_up = spec.moments
    assert (arrival.channel, arrival.kind, arrival.priority, arrival.weight, arrival.expected_seconds) == (
        "face_to_face", "basic", True, 1.0, 60)
    assert (booking.channel, booking.kind, booking.priority, booking.weight, booking.expected_seconds) == (
        "phone", None, False, 2.5, 120)
    assert (follow_up.channel, follow_up.kind, follow_up.priority) == ("phone", "decisive", False)
    assert follow_up.weight == 1.0
    assert follow_up.expected_seconds is None and follow_up.description == ""
    # the workbook's own verdict stays where it is; the others are added last
    assert [q.key for q in arrival.questions] == ["greeted", "privacy", "verdict"]
    assert arrival.questions[-1].text == "How did it feel?" and arrival.questions[-1].required is True
    assert [q.key for q in booking.questions] == ["rings", "wait", "verdict"]
    assert [q.key for q in follow_up.questions] == ["verdict"]
    rings, wait, _ = booking.questions
    assert rings.options == (OptionSpec("Within 3 rings", 1.0), OptionSpec("4-6 rings", 0.5),
                             OptionSpec("More than 6", 0.0))
    assert rings.help == "Count the rings" and rings.weight == 2.0 and rings.required is False
    assert wait.target == "<=120" and wait.required is False and wait.weight == 1.0
    privacy = arrival.questions[1]
    assert privacy.critical is True and privacy.required is True and privacy.weight == 3.0


def test_forgiving_layout_sheet_names_header_order_extra_columns_and_whitespace():
    book = Workbook()
    book.active.title = " Journey "
    book.active.append(["field", "value"])
    book.active.append(["  Name ", "  Airline trip  "])
    moments = book.create_sheet("MOMENTS")
    moments.append(["Channel", " Name", "notes", "KEY ", "Expected seconds"])
    moments.append(["website", "Booking online", "ignored", " booking ", 300.0])
    questions = book.create_sheet("Questions")
    questions.append(["type", "text", "key", "moment", "my comments"])
    questions.append(["Yes / no", " Was the price clear? ", 1, "booking", "whatever"])
    questions.append(["RATING", "Ease of booking", "ease", "booking", None])
    book.create_sheet("my notes").append(["anything", "at all"])
    buffer = io.BytesIO()
    book.save(buffer)

    spec = read_journey_workbook(buffer.getvalue())
    assert spec.name == "Airline trip"
    (booking,) = spec.moments
    assert (booking.key, booking.name, booking.channel, booking.expected_seconds) == (
        "booking", "Booking online", "website", 300)
    assert [(q.key, q.type, q.text) for q in booking.questions[:2]] == [
        ("1", "yes_no", "Was the price clear?"), ("ease", "rating", "Ease of booking")]


def test_empty_rows_are_skipped_silently_including_trailing_ones():
    data = make_workbook(
        moments=[[None] * 8, moment_row(), ["", "  ", None], [None, None]],
        questions=[[], question_row(), [None] * 10, [" "], [None, None, None]],
    )
    spec = read_journey_workbook(data)
    assert [m.key for m in spec.moments] == ["arrival"]
    assert [q.key for q in spec.moments[0].questions] == ["greeted", "verdict"]


def test_a_moment_without_questions_gets_only_its_verdict():
    spec = read_journey_workbook(make_workbook(moments=[moment_row(), moment_row("farewell", "Farewell")]))
    assert [q.key for q in spec.moments[1].questions] == ["verdict"]
    assert spec.moments[1].questions[0].type == "mnm"


def test_text_beginning_with_equals_sign_is_text_not_a_formula():
    book = Workbook()
    book.active.title = "journey"
    book.active.append(["name", "x"])
    book.active["B1"].value = "=Visit"
    book.active["B1"].data_type = "s"
    book.create_sheet("moments").append(MOMENT_HEADER)
    book["moments"].append(moment_row())
    book.create_sheet("questions").append(QUESTION_HEADER)
    buffer = io.BytesIO()
    book.save(buffer)
    assert read_journey_workbook(buffer.getvalue()).name == "=Visit"


def test_reads_paths_and_file_objects(tmp_path):
    data = make_workbook()
    path = tmp_path / "upload-without-extension"
    path.write_bytes(data)
    expected = read_journey_workbook(data)
    assert read_journey_workbook(path) == expected
    assert read_journey_workbook(str(path)) == expected
    assert read_journey_workbook(io.BytesIO(data)) == expected


# ------------------------------------------------------------------------------------------------ bad input


def test_not_an_xlsx_file():
    problem = only_problem(b"key,name,channel\narrival,Arrival,face_to_face\n")
    assert (problem.sheet, problem.row, problem.column) == ("workbook", None, None)
    assert "not an .xlsx workbook" in problem.message


def test_a_zip_that_is_not_a_workbook_is_not_an_xlsx_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "not an .xlsx workbook" in only_problem(buffer.getvalue()).message


def test_missing_sheet():
    problem = only_problem(make_workbook(sheets=("journey", "moments")))
    assert (problem.sheet, problem.row, problem.column) == ("questions", None, None)
    assert "sheet 'questions' is missing" in problem.message


def test_missing_required_column():
    header = [c for c in MOMENT_HEADER if c != "channel"]
    problem = only_problem(make_workbook(moment_header=header, moments=[["arrival", "Arrival"]]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 1, "channel")
    assert "required column 'channel' is missing" in problem.message


def test_empty_required_cell():
    problem = only_problem(make_workbook(questions=[question_row(text=" ")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "text")
    assert problem.message == "text is required; this cell is empty"


def test_missing_name_field():
    problem = only_problem(make_workbook(journey=[["description", "no name here"]]))
    assert (problem.sheet, problem.row, problem.column) == ("journey", None, None)
    assert "needs a name" in problem.message


def test_empty_name_value():
    problem = only_problem(make_workbook(journey=[["description", "d"], ["name", "  "]]))
    assert (problem.sheet, problem.row, problem.column) == ("journey", 2, "B")
    assert "name is required" in problem.message


def test_bad_key_syntax():
    problem = only_problem(make_workbook(moments=[moment_row(key="Arrival Time")],
                                         questions=[question_row(moment="Arrival Time")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "key")
    assert "key 'Arrival Time' may only use lower-case letters" in problem.message
    assert "arrival_time" in problem.message


def test_bad_question_key_syntax():
    problem = only_problem(make_workbook(questions=[question_row(key="greeted?")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "key")


def test_duplicate_moment_keys():
    problem = only_problem(make_workbook(moments=[moment_row(), moment_row(name="Again")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 3, "key")
    assert "duplicate moment key 'arrival' (already used on row 2)" in problem.message


def test_duplicate_question_keys_in_a_moment():
    problem = only_problem(make_workbook(
        moments=[moment_row(), moment_row("farewell", "Farewell")],
        questions=[question_row(), question_row("farewell"), question_row(text="Greeted again?")],
    ))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 4, "key")
    assert "duplicate question key 'greeted' in moment 'arrival' (already used on row 2)" in problem.message


def test_unknown_type():
    problem = only_problem(make_workbook(questions=[question_row(qtype="slider")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "type")
    assert problem.message == f"unknown type 'slider' (use one of {', '.join(QUESTION_TYPES)})"
    assert str(problem).startswith("questions, row 2, column type: unknown type 'slider' (use one of yes_no, mnm")


def test_unknown_channel():
    problem = only_problem(make_workbook(moments=[moment_row(channel="carrier pigeon")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "channel")
    assert problem.message == f"unknown channel 'carrier pigeon' (use one of {', '.join(CHANNELS)})"


def test_unknown_kind():
    problem = only_problem(make_workbook(moments=[moment_row(kind="first impression")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "kind")
    assert problem.message == f"unknown kind 'first impression' (use one of {', '.join(KINDS)})"


def test_bad_yes_no_value():
    problem = only_problem(make_workbook(moments=[moment_row(priority="maybe")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "priority")
    assert problem.message == "priority must be yes or no, not 'maybe'"


def test_bad_options_syntax():
    problem = only_problem(make_workbook(questions=[question_row(qtype="choice", options="Fast=1||Slow=0")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "options")
    assert "empty option between '|' separators" in problem.message


def test_options_score_out_of_range():
    problem = only_problem(make_workbook(questions=[question_row(qtype="choice", options="Fast=1|Slow=2")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "options")
    assert "option 'Slow' has score 2; scores must be between 0 and 1" in problem.message


def test_options_on_a_question_that_is_not_a_choice():
    problem = only_problem(make_workbook(questions=[question_row(options="Yes=1|No=0")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "options")
    assert "options are only for choice questions, not yes_no" in problem.message


def test_choice_without_options():
    problem = only_problem(make_workbook(questions=[question_row(qtype="choice")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "options")
    assert "a choice question needs options" in problem.message


def test_bad_target_syntax():
    problem = only_problem(make_workbook(questions=[question_row(qtype="number", target="< 120")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "target")
    assert "target '< 120' must look like <=N or >=N" in problem.message


def test_target_on_a_question_that_is_not_a_number():
    problem = only_problem(make_workbook(questions=[question_row(qtype="rating", target="<=3")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "target")
    assert "a target is only for number questions, not rating" in problem.message


def test_question_for_an_unknown_moment():
    problem = only_problem(make_workbook(questions=[question_row(moment="arival")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "moment")
    assert problem.message == "no moment has the key 'arival' on the moments sheet"


def test_non_numeric_weight():
    problem = only_problem(make_workbook(questions=[question_row(weight="heavy")]))
    assert (problem.sheet, problem.row, problem.column) == ("questions", 2, "weight")
    assert problem.message == "weight must be a number of 0 or more, not 'heavy'"


def test_negative_weight():
    problem = only_problem(make_workbook(moments=[moment_row(weight=-2)]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "weight")
    assert problem.message == "weight must be 0 or more, not -2"


@pytest.mark.parametrize("seconds", ["soon", -5, 12.5])
def test_expected_seconds_must_be_a_whole_number(seconds):
    problem = only_problem(make_workbook(moments=[moment_row(seconds=seconds)]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "expected_seconds")
    assert "expected_seconds must be a whole number of seconds" in problem.message


def test_formula_in_a_cell():
    problem = only_problem(make_workbook(moments=[moment_row(weight="=1+1")]))
    assert (problem.sheet, problem.row, problem.column) == ("moments", 2, "weight")
    assert problem.message == "formulas are not allowed; type the value"


def test_formula_in_the_journey_name():
    problem = only_problem(make_workbook(journey=[["name", '=CONCAT("a","b")']]))
    assert (problem.sheet, problem.row, problem.column) == ("journey", 1, "B")
    assert problem.message == "formulas are not allowed; type the value"


def test_verdict_question_must_follow_the_contract():
    problems = problems_of(make_workbook(questions=[
        question_row(key="verdict", qtype="rating", required="no", weight=2, critical="yes"),
    ]))
    assert [(p.row, p.column) for p in problems] == [(2, "type"), (2, "required"), (2, "weight"), (2, "critical")]
    assert all("the verdict question is always type mnm, required, weight 1 and not critical" in p.message
               for p in problems)


def test_many_priorities_import_and_the_builder_warns_instead():
    """Too many priorities means no focus, but it is a warning on the journey page, not an import error:
    a journey exported from the builder must always import again."""
    moments = [moment_row(key=f"m{i}", priority="yes") for i in range(6)]
    spec = read_journey_workbook(make_workbook(moments=moments, questions=[]))
    assert sum(m.priority for m in spec.moments) == 6


def test_a_journey_without_moments():
    problem = only_problem(make_workbook(moments=[], questions=[]))
    assert (problem.sheet, problem.column) == ("moments", None)
    assert "no moments" in problem.message


def test_every_problem_is_reported_at_once():
    data = make_workbook(
        journey=[["description", "x"]],
        moments=[moment_row(), moment_row(channel="fax"), moment_row("b", weight=-1, kind="odd")],
        questions=[
            question_row(qtype="slider"),
            question_row(moment="nowhere", key="Bad Key"),
            question_row(moment="b", qtype="number", target="about 3"),
        ],
    )
    with pytest.raises(WorkbookError) as caught:
        read_journey_workbook(data)
    found = [(p.sheet, p.row, p.column) for p in caught.value.problems]
    assert found == [
        ("journey", None, None),
        ("moments", 3, "channel"),
        ("moments", 3, "key"),
        ("moments", 4, "kind"),
        ("moments", 4, "weight"),
        ("questions", 2, "type"),
        ("questions", 3, "key"),
        ("questions", 3, "moment"),
        ("questions", 4, "target"),
    ]
    text = str(caught.value)
    assert text.startswith("9 problems in the workbook:\n- journey: ")
    assert "- questions, row 2, column type: unknown type 'slider'" in text


def test_a_missing_column_is_reported_once_not_on_every_row():
    header = [c for c in QUESTION_HEADER if c != "text"]
    rows = [[c for i, c in enumerate(question_row(key=k)) if i != 2] for k in ("a", "b", "c")]
    problems = problems_of(make_workbook(question_header=header, questions=rows))
    assert [(p.sheet, p.row, p.column) for p in problems] == [("questions", 1, "text")]


# ------------------------------------------------------------------------------------------------ writing


def sample_spec() -> JourneySpec:
    return ensure_verdicts(JourneySpec(
        name="Dentist visit",
        description="From the booking call to the follow-up call",
        moments=[
            MomentSpec(key="booking_call", name="Booking call", channel="phone", kind="basic", priority=True,
                       weight=2.0, expected_seconds=120, description="Calling to book", questions=[
                           QuestionSpec(key="rings", text="Rings before an answer", type="choice", weight=1.5,
                                        options=(OptionSpec("Within 3 rings", 1.0), OptionSpec("Other", None))),
                           QuestionSpec(key="hold", text="Seconds on hold", type="number", target=">=0.5"),
                           QuestionSpec(key="privacy", text="=Was data discussed aloud?", type="yes_no",
                                        critical=True, required=True, help="+ listen for names"),
                       ]),
            MomentSpec(key="farewell", name="Farewell", channel="face_to_face", weight=0.0),
        ],
    ))


def test_write_then_read_gives_the_same_journey():
    spec = sample_spec()
    assert read_journey_workbook(write_journey_workbook(spec)) == spec


def test_write_read_write_read_is_stable():
    once = read_journey_workbook(make_workbook(questions=[question_row(weight="2"), question_row(key="x")]))
    twice = read_journey_workbook(write_journey_workbook(once))
    assert twice == once


def test_written_workbook_layout():
    book = load_workbook(io.BytesIO(write_journey_workbook(sample_spec())))
    assert book.sheetnames == ["journey", "moments", "questions"]
    assert [c.value for c in book["moments"][1]] == MOMENT_HEADER
    assert [c.value for c in book["questions"][1]] == QUESTION_HEADER
    assert book["questions"]["A1"].font.bold and book["questions"].freeze_panes == "A2"
    questions = list(book["questions"].iter_rows(min_row=2, values_only=True))
    assert [row[:2] for row in questions] == [("booking_call", "rings"), ("booking_call", "hold"),
                                              ("booking_call", "privacy"), ("booking_call", "verdict"),
                                              ("farewell", "verdict")]
    assert questions[0][4:8] == ("no", 1.5, "no", "Within 3 rings=1|Other")
    assert book["questions"]["C4"].data_type == "s" and book["questions"]["C4"].value.startswith("=")
    assert book["moments"]["F2"].value == 2 and book["moments"]["G2"].value == 120
    ranges = {str(v.sqref).split(":")[0]: v.formula1 for v in book["moments"].data_validations.dataValidation}
    assert ranges["C2"].startswith('"face_to_face,phone')


def test_writer_adds_missing_verdicts_without_touching_the_spec():
    spec = JourneySpec(name="J", moments=[MomentSpec(key="m", name="M", channel="app", questions=[
        QuestionSpec(key="q", text="Q?", type="photo")])])
    before = copy.deepcopy(spec)
    back = read_journey_workbook(write_journey_workbook(spec))
    assert spec == before
    assert [q.key for q in back.moments[0].questions] == ["q", "verdict"]


def test_writer_strips_control_characters():
    spec = sample_spec()
    spec.name = "Dentist\x00 visit\x1f"
    assert read_journey_workbook(write_journey_workbook(spec)).name == "Dentist visit"


def test_blank_template_reads_back_and_uses_every_type():
    spec = read_journey_workbook(blank_template())
    assert spec.name and len(spec.moments) == 1
    assert {q.type for q in spec.moments[0].questions} == set(QUESTION_TYPES)
    assert "help" in load_workbook(io.BytesIO(blank_template())).sheetnames


# ------------------------------------------------------------------------------------------------ property

_text = st.text(st.characters(codec="utf-8", exclude_categories=("C", "Zs", "Zl", "Zp")), min_size=1, max_size=12)
_words = st.lists(_text, min_size=1, max_size=4).map(" ".join)
_keys = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True).filter(lambda k: k != "verdict")
# Excel keeps 15 significant digits, so weights like those people type
_weights = st.one_of(st.integers(0, 10).map(float), st.decimals(0, 100, places=3).map(float))
_label = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=10)


@st.composite
def _questions(draw):
    qtype = draw(st.sampled_from(sorted(QUESTION_TYPES)))
    options: tuple[OptionSpec, ...] = ()
    target = None
    if qtype == "choice":
        labels = draw(st.lists(_label, min_size=1, max_size=4, unique_by=str.casefold))
        scores = st.one_of(st.none(), st.decimals(0, 1, places=3).map(float))
        options = tuple(OptionSpec(label, draw(scores)) for label in labels)
    if qtype == "number":
        target = draw(st.one_of(st.none(), st.from_regex(r"(<=|>=)-?[0-9]{1,4}(\.[0-9]{1,2})?", fullmatch=True)))
    return QuestionSpec(key="", text=draw(_words), type=qtype, required=draw(st.booleans()), weight=draw(_weights),
                        critical=draw(st.booleans()), options=options, target=target,
                        help=draw(st.one_of(st.just(""), _words)))


@st.composite
def _specs(draw):
    moments = []
    for index, key in enumerate(draw(st.lists(_keys, min_size=1, max_size=4, unique=True))):
        questions = draw(st.lists(_questions(), max_size=4))
        for number, question in enumerate(questions):
            question.key = f"q{number}"
        moments.append(MomentSpec(
            key=key, name=draw(_words), channel=draw(st.sampled_from(sorted(CHANNELS))),
            kind=draw(st.one_of(st.none(), st.sampled_from(sorted(KINDS)))), priority=index < 3 and draw(st.booleans()),
            weight=draw(_weights), expected_seconds=draw(st.one_of(st.none(), st.integers(0, 10_000))),
            description=draw(st.one_of(st.just(""), _words)), questions=questions,
        ))
    return ensure_verdicts(JourneySpec(name=draw(_words), description=draw(st.one_of(st.just(""), _words)),
                                       moments=moments))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_specs())
def test_round_trip_property(spec):
    assert read_journey_workbook(write_journey_workbook(spec)) == spec
