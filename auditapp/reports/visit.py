"""The visit report's content as plain dataclasses, built from one evaluation: no Flask, no database.

`build_visit_report` reads the evaluation and its organisation as plain attributes (the ORM objects, or anything
shaped like them) and returns finished text and numbers, so the template only lays them out. Scores and bands use
the product's one rule (scoring.rules: the band from the unrounded score, the number shown never contradicting it),
times are shown in the organisation's time zone, and the shopper is named by a code or a first name only.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from ..journeys.spec import CHANNEL_COLOURS, CHANNELS, KINDS, VERDICT_KEY
from ..scoring.rules import DEFAULT_BANDS, score_band, score_text
from ..scoring.values import display_value
from ..timeutil import to_local

# Organisation.report_shopper_name: how the report names whoever made the visit (never e-mail or full name).
SHOPPER_NAME_CHOICES: dict[str, str] = {"code": "A code per shopper (S-…)", "first_name": "First name"}
DEFAULT_SHOPPER_NAME = "code"
BAND_WORDS = {"miserable": "Miserable", "neutral": "Neutral", "magical": "Magical"}
STATUS_WORDS = {"submitted": "Waiting for review", "approved": "Approved", "rejected": "Rejected (does not count)",
                "returned": "Returned for a fix"}
SOURCE_WORDS = {"shopper": "Secret shopper visit", "staff": "Staff self-assessment"}
NO_SCORE = "No score"

# A bijection of 0 .. 2**30-1 (an odd multiplier modulo a power of two), so codes look unrelated to one another and
# to the order people joined, yet each membership keeps its own code for ever without storing anything.
_CODE_BITS = 30
_CODE_MULTIPLIER = 0x2C9277B5
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O, U: easy to read aloud and to type


# --- small text helpers -----------------------------------------------------------------------------------------


def shopper_code(membership_id: int) -> str:
    """A stable pseudonymous code for a member, e.g. "S-7KQ2MX": the same for every report of that member."""
    mixed = (int(membership_id) * _CODE_MULTIPLIER) % (1 << _CODE_BITS)
    chars = []
    for _ in range(_CODE_BITS // 5):
        chars.append(_CROCKFORD[mixed & 31])
        mixed >>= 5
    return "S-" + "".join(reversed(chars))


def first_name(full_name: str | None) -> str:
    words = (full_name or "").split()
    return words[0] if words else ""


def shopper_display(setting: str | None, membership_id: int | None, full_name: str | None) -> str:
    """The shopper as the report names them: their code (the default) or their first name; never more.

    Without a membership (the person left the organisation) there is no code to give: "a former member". A first name
    that is empty falls back to the code."""
    if setting == "first_name":
        name = first_name(full_name)
        if name:
            return name
    if membership_id is None:
        return "A former member"
    return shopper_code(membership_id)


def _whole_seconds(seconds: float) -> int:
    return int(Decimal(repr(float(seconds))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def duration_text(seconds: float | int) -> str:
    """45 -> "45 s", 130 -> "2 min 10 s", 120 -> "2 min", 3725 -> "1 h 2 min 5 s" (whole seconds, half up)."""
    total = _whole_seconds(seconds)
    if total < 60:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes else []) + ([f"{secs} s"] if secs else [])
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Timing:
    text: str  # "2 min 10 s, target 1 min 30 s: 40 s over"
    seconds: float | None
    expected: int | None
    over: bool  # took longer than its target


def timing(seconds: float | None, expected: int | None) -> Timing:
    """A moment's time against its target, in words. The difference is taken on the whole seconds shown, so the
    three numbers of the sentence always add up."""
    if seconds is None:
        text = "Not timed" + (f" (target {duration_text(expected)})" if expected is not None else "")
        return Timing(text, None, expected, False)
    took = duration_text(seconds)
    if expected is None:
        return Timing(f"{took} (no target)", seconds, None, False)
    difference = _whole_seconds(seconds) - int(expected)
    if difference > 0:
        verdict = f"{duration_text(difference)} over"
    elif difference < 0:
        verdict = f"{duration_text(-difference)} under"
    else:
        verdict = "on target"
    return Timing(f"{took}, target {duration_text(expected)}: {verdict}", seconds, expected, difference > 0)


def safe_file_part(text: str | None, fallback: str) -> str:
    """Letters, digits, '-' and '_' only: a piece of a download's file name."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text or "").strip("-")[:40]
    return cleaned or fallback


# --- the report -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreShown:
    score: float | None  # unrounded, 0 to 100
    text: str  # as shown: scoring.rules.score_text ("49.9"), "–" for none
    band: str | None  # miserable, neutral, magical; None for no score
    band_word: str  # "Miserable", or "No score"


def show_score(score: float | None, bands: tuple[float, float]) -> ScoreShown:
    band = score_band(score, bands)
    return ScoreShown(score, score_text(score, bands), band, BAND_WORDS[band] if band else NO_SCORE)


@dataclass(frozen=True, slots=True)
class AnswerLine:
    question: str
    answer: str  # as a reviewer reads it: "Yes", "4 of 5", "N/A", "–"; for photos "Photo 2 (below)"
    score: str  # 0 to 100 as shown, "–" when the answer has no score
    note: str
    critical: bool  # a critical question
    critical_failed: bool  # ... that scored 0: the moment is a critical fail
    is_verdict: bool


@dataclass(frozen=True, slots=True)
class ReportPhoto:
    number: int  # 1, 2, ... through the whole report
    public_id: str
    moment: str
    question: str
    note: str
    available: bool  # False when the stored file is gone: the report says so instead of showing it


@dataclass(frozen=True, slots=True)
class MomentSection:
    number: int  # timeline position, from 1
    key: str
    name: str
    channel: str
    channel_label: str
    channel_colour: str
    kind_label: str
    priority: bool
    score: ScoreShown
    verdict: str | None  # miserable, neutral, magical
    verdict_word: str
    critical_fail: bool
    failed_questions: tuple[str, ...]
    answers: tuple[AnswerLine, ...]
    note: str
    timing: Timing
    photos: tuple[ReportPhoto, ...]


@dataclass(frozen=True, slots=True)
class CriticalFail:
    moment: str
    question: str


@dataclass(frozen=True, slots=True)
class VisitReport:
    evaluation_id: int
    location_name: str
    location_code: str
    location_region: str
    journey_name: str
    journey_version: int | None
    source_word: str
    status: str
    status_word: str
    person_label: str  # "Shopper" or "Staff member"
    person: str  # the shopper's code or first name
    date_text: str  # "Tuesday 14 May 2024"
    time_text: str  # "14:30 to 15:10 (40 min)"
    timezone: str
    started_local: datetime | None
    score: ScoreShown
    bands_legend: str  # "Miserable under 50 · Neutral 50 to under 80 · Magical from 80"
    critical_fails: tuple[CriticalFail, ...]
    moments: tuple[MomentSection, ...]
    photos: tuple[ReportPhoto, ...]
    notes: str
    timed_text: str  # "7 of 10 moments timed, 12 min 5 s in all; 2 of the 5 with a target went over it."
    generated_text: str
    file_name: str
    revision: int = 1
    sent_text: str = ""
    review_comment: str = ""


def bands_legend(bands: tuple[float, float]) -> str:
    low, high = (f"{float(edge):g}" for edge in bands)
    return f"Miserable under {low} · Neutral {low} to under {high} · Magical from {high}"


def _date_text(local: datetime) -> str:
    return f"{local:%A} {local.day} {local:%B %Y}"


def _visit_times(started: datetime | None, finished: datetime | None, tz: str) -> tuple[str, str]:
    start = to_local(started, tz)
    if start is None:
        return "Date unknown", ""
    end = to_local(finished, tz)
    if end is None or finished < started:
        return _date_text(start), f"Started {start:%H:%M}"
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end.day} {end:%B} {end:%H:%M}"
    seconds = (finished - started).total_seconds()
    return _date_text(start), f"{start:%H:%M} to {end_text} ({duration_text(seconds)})"


def _timed_text(moments: list[MomentSection]) -> str:
    timed = [m.timing for m in moments if m.timing.seconds is not None]
    if not timed:
        return "No moment was timed."
    total = sum(_whole_seconds(t.seconds) for t in timed)
    text = f"{len(timed)} of {len(moments)} moments timed, {duration_text(total)} in all"
    with_target = [t for t in timed if t.expected is not None]
    if with_target:
        over = sum(1 for t in with_target if t.over)
        text += f"; {over} of the {len(with_target)} with a target went over it"
    return text + "."


def build_visit_report(evaluation, org, *, membership_id: int | None, photo_ids: Collection[str] = (),
                       now: datetime | None = None, shopper_name: str | None = None) -> VisitReport:
    """The report of one evaluation.

    - `org`: `bands`, `timezone` and `report_shopper_name` are read.
    - `membership_id`: the evaluator's membership in the organisation (for the shopper code), None if gone.
    - `photo_ids`: public ids of photos whose files can be shown; any other photo answer says the file is missing.
    - `now`: naive UTC, for the "generated" line.
    - `shopper_name`: overrides the organisation's setting (the sites' own managers always get the code).
    """
    bands = tuple(getattr(org, "bands", None) or DEFAULT_BANDS)
    tz = getattr(org, "timezone", None) or "UTC"
    version = evaluation.version
    results = {r.moment_key: r for r in evaluation.moment_results}
    answers = {(a.moment_key, a.question_key): a for a in evaluation.answers}
    available = set(photo_ids)

    sections: list[MomentSection] = []
    all_photos: list[ReportPhoto] = []
    fails: list[CriticalFail] = []
    for number, moment in enumerate(sorted(version.moments, key=lambda m: m.position), start=1):
        result = results.get(moment.key)
        lines: list[AnswerLine] = []
        photos: list[ReportPhoto] = []
        failed: list[str] = []
        for question in sorted(moment.questions, key=lambda q: q.position):
            answer = answers.get((moment.key, question.key))
            value = answer.value if answer is not None else None
            score = answer.score if answer is not None else None
            critical_failed = bool(question.critical and score == 0)
            if critical_failed:
                failed.append(question.text)
                fails.append(CriticalFail(moment.name, question.text))
            shown = display_value(question.type, value)
            if question.type == "photo" and value and value != "na":
                photo = ReportPhoto(len(all_photos) + 1, value, moment.name, question.text,
                                    answer.note or "", value in available)
                photos.append(photo)
                all_photos.append(photo)
                shown = f"Photo {photo.number} (below)" if photo.available else f"Photo {photo.number}: the file is missing"
            lines.append(AnswerLine(
                question=question.text, answer=shown,
                score=score_text(None if score is None else 100.0 * score, bands),
                note=(answer.note or "") if answer is not None else "", critical=bool(question.critical),
                critical_failed=critical_failed, is_verdict=question.key == VERDICT_KEY))
        verdict = result.verdict if result is not None else None
        sections.append(MomentSection(
            number=number, key=moment.key, name=moment.name, channel=moment.channel,
            channel_label=CHANNELS.get(moment.channel, moment.channel),
            channel_colour=CHANNEL_COLOURS.get(moment.channel, "#555555"),
            kind_label=KINDS.get(moment.kind or "", ""), priority=bool(moment.priority),
            score=show_score(result.score if result is not None else None, bands),
            verdict=verdict, verdict_word=BAND_WORDS.get(verdict or "", "No verdict"),
            critical_fail=bool(result is not None and result.critical_fail), failed_questions=tuple(failed),
            answers=tuple(lines), note=(result.note or "") if result is not None else "",
            timing=timing(result.duration_seconds if result is not None else None, moment.expected_seconds),
            photos=tuple(photos)))

    started_local = to_local(evaluation.started_at, tz)
    date_text, time_text = _visit_times(evaluation.started_at, evaluation.finished_at, tz)
    location = evaluation.location
    setting = shopper_name or getattr(org, "report_shopper_name", None) or DEFAULT_SHOPPER_NAME
    evaluator = evaluation.evaluator
    person = shopper_display(setting, membership_id if evaluator is not None else None,
                             getattr(evaluator, "name", None))
    generated = to_local(now, tz)
    sent = to_local(getattr(evaluation, "submitted_at", None), tz)
    day = started_local.date().isoformat() if started_local else "undated"
    return VisitReport(
        evaluation_id=evaluation.id,
        location_name=location.name, location_code=location.code or "", location_region=location.region or "",
        journey_name=evaluation.journey.name, journey_version=getattr(version, "number", None),
        source_word=SOURCE_WORDS.get(evaluation.source, evaluation.source),
        status=evaluation.status, status_word=STATUS_WORDS.get(evaluation.status, evaluation.status),
        person_label="Staff member" if evaluation.source == "staff" else "Shopper", person=person,
        date_text=date_text, time_text=time_text, timezone=tz, started_local=started_local,
        score=show_score(evaluation.score, bands), bands_legend=bands_legend(bands), critical_fails=tuple(fails),
        moments=tuple(sections), photos=tuple(all_photos), notes=evaluation.notes or "",
        timed_text=_timed_text(sections),
        generated_text=f"{generated:%Y-%m-%d %H:%M} ({tz})" if generated else "",
        file_name=f"visit-{evaluation.id}-{safe_file_part(location.code, 'location')}-{day}.pdf",
        revision=getattr(evaluation, "revision", 1) or 1,
        sent_text=f"{sent:%Y-%m-%d %H:%M}" if sent else "",
        review_comment=getattr(evaluation, "review_comment", "") or "",
    )
