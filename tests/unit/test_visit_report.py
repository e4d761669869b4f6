"""The visit report's content (auditapp/reports/visit.py), without Flask or a database.

The evaluation is given as plain objects shaped like the ORM rows (the builder only reads attributes); the app tests
in tests/app/test_visit_report.py run the same builder on real stored evaluations.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from auditapp.reports.visit import (
    build_visit_report,
    duration_text,
    first_name,
    safe_file_part,
    shopper_code,
    shopper_display,
    timing,
)

ROOT = Path(__file__).resolve().parents[2]


# --- shopper identity -------------------------------------------------------------------------------------------


def test_shopper_codes_are_stable_distinct_and_say_nothing_about_the_id():
    assert shopper_code(7) == shopper_code(7)
    codes = [shopper_code(i) for i in range(1, 20_001)]
    assert len(set(codes)) == len(codes)  # no two members share a code
    assert all(re.fullmatch(r"S-[0-9A-HJKMNP-TV-Z]{6}", code) for code in codes)
    # Neighbouring ids do not give neighbouring codes, and the id itself is not written in the code.
    assert sum(a[:4] == b[:4] for a, b in zip(codes, codes[1:], strict=False)) < 50
    assert "0000" not in shopper_code(1) and "12" not in shopper_code(12)[2:4]


@pytest.mark.parametrize(("setting", "membership_id", "name", "shown"), [
    ("code", 41, "Jane Quimby", shopper_code(41)),
    (None, 41, "Jane Quimby", shopper_code(41)),  # the default is the code
    ("unknown", 41, "Jane Quimby", shopper_code(41)),
    ("first_name", 41, "Jane Quimby", "Jane"),
    ("first_name", 41, "  Jean-Luc   Picard ", "Jean-Luc"),
    ("first_name", 41, "   ", shopper_code(41)),  # no name: the code, never nothing
    ("first_name", None, "", "A former member"),
    ("code", None, "Jane Quimby", "A former member"),
])
def test_shopper_display(setting, membership_id, name, shown):
    assert shopper_display(setting, membership_id, name) == shown


def test_first_name():
    assert first_name("Ann Lee") == "Ann" and first_name(None) == "" and first_name("Prince") == "Prince"


# --- durations and targets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (0.4, "0 s"), (0.5, "1 s"), (45, "45 s"), (59.5, "1 min"), (60, "1 min"), (90, "1 min 30 s"),
    (130, "2 min 10 s"), (3600, "1 h"), (3725, "1 h 2 min 5 s"), (7205, "2 h 5 s"), (86_400, "24 h"),
])
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("seconds", "expected", "text", "over"), [
    (130, 90, "2 min 10 s, target 1 min 30 s: 40 s over", True),
    (60, 90, "1 min, target 1 min 30 s: 30 s under", False),
    (90, 90, "1 min 30 s, target 1 min 30 s: on target", False),
    (89.6, 90, "1 min 30 s, target 1 min 30 s: on target", False),  # the sentence adds up in the seconds it shows
    (90.5, 90, "1 min 31 s, target 1 min 30 s: 1 s over", True),
    (4000, 600, "1 h 6 min 40 s, target 10 min: 56 min 40 s over", True),
    (45, None, "45 s (no target)", False),
    (None, 120, "Not timed (target 2 min)", False),
    (None, None, "Not timed", False),
])
def test_timing_against_target(seconds, expected, text, over):
    result = timing(seconds, expected)
    assert (result.text, result.over) == (text, over)


def test_file_name_parts_are_safe():
    assert safe_file_part("STO-01", "x") == "STO-01"
    assert safe_file_part('../../"a b";\r\nc', "x") == "a-b-c"
    assert safe_file_part("", "location") == "location" and safe_file_part("åäö", "location") == "location"


# --- the whole report -------------------------------------------------------------------------------------------


def _question(key, text, qtype, position, critical=False):
    return NS(key=key, text=text, type=qtype, critical=critical, position=position)


def _moment(key, name, position, channel="face_to_face", expected=None, questions=(), kind="basic", priority=False):
    return NS(key=key, name=name, position=position, channel=channel, expected_seconds=expected,
              questions=list(questions), kind=kind, priority=priority)


def _answer(moment_key, question_key, value, score=None, note=""):
    return NS(moment_key=moment_key, question_key=question_key, value=value, score=score, note=note)


def _result(key, score, verdict=None, critical_fail=False, duration=None, note=""):
    return NS(moment_key=key, score=score, verdict=verdict, critical_fail=critical_fail, duration_seconds=duration,
              note=note)


def _evaluation(**kw):
    moments = [
        # Given out of order: the report follows the timeline positions.
        _moment("pay", "Paying", 2, channel="app", expected=90, questions=[
            _question("clean", "Counter clean?", "yes_no", 0, critical=True),
            _question("receipt", "Photo of the receipt", "photo", 1),
            _question("verdict", "Overall?", "mnm", 2)]),
        _moment("hello", "Greeting", 0, expected=30, questions=[
            _question("greeted", "Greeted?", "yes_no", 0), _question("verdict", "Overall?", "mnm", 1)]),
        _moment("wait", "Waiting", 1, channel="phone", questions=[
            _question("mins", "Minutes waited", "number", 0), _question("gone", "Photo of the queue", "photo", 1),
            _question("verdict", "Overall?", "mnm", 2)]),
    ]
    base = dict(
        id=812, org_id=1, status="approved", source="shopper", revision=2, review_comment="Thanks",
        started_at=datetime(2024, 7, 1, 12, 0), finished_at=datetime(2024, 7, 1, 12, 40),
        submitted_at=datetime(2024, 7, 1, 13, 5), notes="Busy <b>day</b>", score=49.88,
        journey=NS(name="Café visit"), version=NS(number=3, moments=moments),
        location=NS(name="Stockholm Central", code="STO 01/x", region="North"),
        evaluator=NS(name="Jane Quimby", email="jane.quimby@example.com"),
        answers=[
            _answer("hello", "greeted", "yes", 1.0), _answer("hello", "verdict", "magical", 1.0),
            _answer("wait", "mins", "7", 0.0, "long queue"), _answer("wait", "gone", "ph-2"),
            _answer("wait", "verdict", "neutral", 0.5),
            _answer("pay", "clean", "no", 0.0), _answer("pay", "receipt", "ph-1", note="blurry"),
            _answer("pay", "verdict", "miserable", 0.0),
        ],
        moment_results=[
            _result("hello", 100.0, "magical", duration=25),
            _result("wait", 49.88, "neutral", duration=400.4, note="Phone kept ringing"),
            _result("pay", 0.0, "miserable", critical_fail=True, duration=130),
        ],
    )
    base.update(kw)
    return NS(**base)


ORG = NS(bands=(50.0, 80.0), timezone="Europe/Stockholm", report_shopper_name="code")


def test_the_report_in_timeline_order_with_bands_timings_and_critical_fails():
    report = build_visit_report(_evaluation(), ORG, membership_id=41, photo_ids={"ph-1", "ph-2"},
                                now=datetime(2024, 7, 2, 8, 0))
    assert [m.name for m in report.moments] == ["Greeting", "Waiting", "Paying"]
    assert [m.number for m in report.moments] == [1, 2, 3]
    # 49.88 under "miserable below 50" shows 49.9 Miserable: the band from the unrounded score, never "50".
    assert (report.score.text, report.score.band, report.score.band_word) == ("49.9", "miserable", "Miserable")
    hello, wait, pay = report.moments
    assert (wait.score.text, wait.score.band_word) == ("49.9", "Miserable")
    assert (hello.score.text, hello.score.band_word, hello.verdict_word) == ("100", "Magical", "Magical")
    assert (pay.score.text, pay.score.band_word) == ("0", "Miserable")
    assert pay.critical_fail and pay.failed_questions == ("Counter clean?",)
    assert [(f.moment, f.question) for f in report.critical_fails] == [("Paying", "Counter clean?")]
    clean = pay.answers[0]
    assert (clean.answer, clean.critical, clean.critical_failed, clean.score) == ("No", True, True, "0")
    assert [a.critical_failed for a in hello.answers + wait.answers] == [False] * 5
    # Timings against the moments' targets, in words.
    assert hello.timing.text == "25 s, target 30 s: 5 s under"
    assert wait.timing.text == "6 min 40 s (no target)"
    assert pay.timing.text == "2 min 10 s, target 1 min 30 s: 40 s over" and pay.timing.over
    assert report.timed_text == "3 of 3 moments timed, 9 min 15 s in all; 1 of the 2 with a target went over it."
    # Channels keep the app's colours and labels.
    assert (wait.channel_label, wait.channel_colour) == ("Phone", "#7c3aed")
    assert (pay.channel_label, pay.channel_colour) == ("App", "#0f766e")
    # Answers, notes and the moment note, as text.
    assert [(a.question, a.answer, a.score, a.note) for a in wait.answers] == [
        ("Minutes waited", "7", "0", "long queue"), ("Photo of the queue", "Photo 1 (below)", "–", ""),
        ("Overall?", "Neutral", "50", "")]
    assert wait.note == "Phone kept ringing" and report.notes == "Busy <b>day</b>"
    # Photos numbered through the report in timeline order, captioned with moment and question.
    assert [(p.number, p.public_id, p.moment, p.question, p.note) for p in report.photos] == [
        (1, "ph-2", "Waiting", "Photo of the queue", ""), (2, "ph-1", "Paying", "Photo of the receipt", "blurry")]
    assert [p.number for p in pay.photos] == [2] and pay.answers[1].answer == "Photo 2 (below)"


def test_the_visit_in_the_organisation_time_zone_and_the_file_name():
    report = build_visit_report(_evaluation(), ORG, membership_id=41, now=datetime(2024, 7, 2, 8, 0))
    # 12:00 UTC in July is 14:00 in Stockholm (summer time).
    assert report.date_text == "Monday 1 July 2024"
    assert report.time_text == "14:00 to 14:40 (40 min)"
    assert report.sent_text == "2024-07-01 15:05" and report.generated_text == "2024-07-02 10:00 (Europe/Stockholm)"
    assert report.file_name == "visit-812-STO-01-x-2024-07-01.pdf"
    winter = build_visit_report(_evaluation(started_at=datetime(2024, 1, 31, 22, 30), finished_at=datetime(2024, 2, 1, 0, 10)),
                                ORG, membership_id=41)
    assert winter.date_text == "Wednesday 31 January 2024"  # 23:30 local: still the 31st
    assert winter.time_text == "23:30 to 1 February 01:10 (1 h 40 min)"
    assert winter.file_name.endswith("-2024-01-31.pdf")
    unfinished = build_visit_report(_evaluation(finished_at=None), ORG, membership_id=41)
    assert unfinished.time_text == "Started 14:00"


def test_the_shopper_appears_by_code_or_first_name_only():
    by_code = build_visit_report(_evaluation(), ORG, membership_id=41)
    assert by_code.person == shopper_code(41) and by_code.person_label == "Shopper"
    by_name = build_visit_report(_evaluation(), NS(**{**vars(ORG), "report_shopper_name": "first_name"}),
                                 membership_id=41)
    assert by_name.person == "Jane"
    for report in (by_code, by_name):
        text = repr(report)
        assert "Quimby" not in text and "jane.quimby@example.com" not in text
    gone = build_visit_report(_evaluation(evaluator=None), ORG, membership_id=None)
    assert gone.person == "A former member"
    staff = build_visit_report(_evaluation(source="staff"), ORG, membership_id=41)
    assert staff.person_label == "Staff member" and staff.source_word == "Staff self-assessment"


@pytest.mark.parametrize(("bands", "score", "text", "word"), [
    ((50, 80), 49.88, "49.9", "Miserable"),
    ((50, 80), 49.996, "49.99", "Miserable"),
    ((50, 80), 50.0, "50", "Neutral"),
    ((50, 80), 79.6, "79.6", "Neutral"),
    ((50, 80), 80.0, "80", "Magical"),
    ((40, 75.5), 75.4, "75", "Neutral"),
    ((40, 75.5), 75.5, "76", "Magical"),
    ((40, 75.5), 75.46, "75", "Neutral"),
    ((40, 75.5), 39.6, "39.6", "Miserable"),
    ((50, 80), None, "–", "No score"),
])
def test_scores_never_contradict_their_band_with_the_organisation_bands(bands, score, text, word):
    org = NS(bands=bands, timezone="UTC", report_shopper_name="code")
    evaluation = _evaluation(score=score, moment_results=[_result("hello", score), _result("wait", None),
                                                          _result("pay", None)])
    report = build_visit_report(evaluation, org, membership_id=1)
    assert (report.score.text, report.score.band_word) == (text, word)
    assert (report.moments[0].score.text, report.moments[0].score.band_word) == (text, word)
    assert report.moments[1].score.band_word == "No score"
    assert report.bands_legend == (f"Miserable under {bands[0]:g} · Neutral {bands[0]:g} to under {bands[1]:g} · "
                                   f"Magical from {bands[1]:g}")


def test_a_photo_whose_file_is_gone_is_said_missing():
    report = build_visit_report(_evaluation(), ORG, membership_id=1, photo_ids={"ph-2"})
    assert [p.available for p in report.photos] == [True, False]
    assert report.moments[2].answers[1].answer == "Photo 2: the file is missing"


def test_unanswered_moments_and_questions():
    evaluation = _evaluation(answers=[], moment_results=[], score=None)
    report = build_visit_report(evaluation, ORG, membership_id=1)
    assert all(m.score.band is None and m.verdict_word == "No verdict" for m in report.moments)
    assert all(a.answer == "–" and a.score == "–" for m in report.moments for a in m.answers)
    assert report.critical_fails == () and report.photos == ()
    assert report.timed_text == "No moment was timed."


# --- one source for colours, and no framework -------------------------------------------------------------------


def test_the_stylesheet_uses_the_channel_colours_of_journeys_spec():
    from auditapp.journeys.spec import CHANNEL_COLOURS, CHANNELS

    css = (ROOT / "auditapp" / "static" / "css" / "app.css").read_text()
    declared = dict(re.findall(r"--ch-([a-z_]+):\s*(#[0-9a-fA-F]{6})", css))
    assert declared == CHANNEL_COLOURS
    assert set(CHANNEL_COLOURS) == set(CHANNELS)


PROBE = """
import sys, types
from pathlib import Path
root = Path(sys.argv[1])
for name in ("auditapp", "auditapp.journeys", "auditapp.reports"):
    package = types.ModuleType(name)
    package.__path__ = [str(root.joinpath(*name.split(".")))]
    sys.modules[name] = package
import auditapp.reports.visit
print(" ".join(sorted(n for n in sys.modules if n.split(".")[0] in {"flask", "sqlalchemy", "flask_sqlalchemy", "wtforms", "weasyprint"})))
"""


def test_the_report_builder_imports_no_framework():
    result = subprocess.run([sys.executable, "-c", PROBE, str(ROOT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
