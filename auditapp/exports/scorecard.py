"""The content of an Excel scorecard as plain dataclasses: rows first, then bytes (workbook.py), then a response.

`Scorecard` holds the finished numbers (from auditapp.results.queries, the one source of numbers for screens,
API and Excel) plus two callables that stream the raw rows (Responses, Notes) while the workbook is written, so a
big export never holds every answer in memory.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Stat:
    """One score with its count and 95% interval (all None when nothing was scored)."""

    n: int = 0
    score: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class MomentLine:
    key: str
    name: str
    position: int
    channel: str = ""  # as shown: "Face to face"
    kind: str | None = None  # as shown: "Decisive"
    priority: bool = False
    stat: Stat = field(default_factory=Stat)
    magical: int = 0
    neutral: int = 0
    miserable: int = 0
    critical_fails: int = 0
    change: float | None = None  # points against the previous period of the same length
    change_flagged: bool = False
    change_reason: str = ""


@dataclass(frozen=True, slots=True)
class GridRow:
    """One row of the Locations heatmap or of the Trend: a label, the overall stat and one stat per moment."""

    label: str
    overall: Stat
    cells: tuple[Stat, ...]
    code: str = ""  # Locations: the location code (text: keeps leading zeros)
    region: str = ""
    start: date | None = None  # Trend: the first day of the period
    partial: bool = False  # Trend: the period is not all there: not over yet, or cut by the date filter
    partial_note: str = ""  # what is missing: "so far" (the default), "from 2026-03-10", "to 2026-03-20"


@dataclass(frozen=True, slots=True)
class GapLine:
    key: str
    name: str
    shopper: Stat
    staff: Stat
    gap: float | None  # staff mean minus shopper mean, in points
    flagged: bool


@dataclass(frozen=True, slots=True)
class QueryLine:
    """One location's query rate: approved secret-shopper evaluations and how many of them were disputed."""

    code: str
    name: str
    region: str
    approved: int
    disputed: int
    rate: float | None  # disputed / approved; None without approved evaluations
    note: str  # against the industry baseline, in words


class ResponseRow(NamedTuple):
    """One answer (a NamedTuple: hundreds of thousands are made while streaming)."""

    started_at: datetime | None  # local time of the visit, naive
    evaluation_id: int
    location_code: str
    location_name: str
    source: str
    evaluator: str
    version: int
    moment_key: str
    moment_name: str
    question_key: str
    question_text: str
    answer: str | float | None  # a number for rating and number questions, text otherwise
    score: float | None  # 0..1
    note: str
    status: str
    flags: str


class NoteRow(NamedTuple):
    started_at: datetime | None
    evaluation_id: int
    location_code: str
    location_name: str
    source: str
    evaluator: str
    context: str  # "Evaluation", "Moment" or "Answer"
    moment_key: str
    moment_name: str
    question_key: str
    question_text: str
    note: str


@dataclass(frozen=True, slots=True)
class LocationCard:
    """A Summary-like page for one location (the per-location option)."""

    code: str
    name: str
    region: str
    evaluations: int
    overall: Stat
    moments: tuple[MomentLine, ...]


def _nothing() -> Iterable:
    return ()


@dataclass(slots=True)
class Scorecard:
    title: str
    organisation: str
    journey: str
    generated_at: datetime  # local time, naive
    timezone: str = "UTC"
    journey_id: int | None = None
    filters: tuple[tuple[str, str], ...] = ()  # (label, value) as the dashboard shows them
    period_from: date | None = None
    period_to: date | None = None
    first_day: date | None = None  # the first and last local day with an evaluation under the filters
    last_day: date | None = None
    findings: tuple[str, ...] = ()  # results.findings, as sentences with their n
    bands: tuple[float, float] = (50.0, 80.0)
    evaluations: int = 0
    overall: Stat = field(default_factory=Stat)
    comparison: str = ""  # what "change vs previous period" compares, in words
    moments: tuple[MomentLine, ...] = ()
    locations: tuple[GridRow, ...] = ()
    trend: tuple[GridRow, ...] = ()
    trend_grain: str = "month"
    gap: tuple[GapLine, ...] = ()
    queries: tuple[QueryLine, ...] = ()  # the query rate per location (auditapp.disputes)
    query_total: QueryLine | None = None
    query_baseline: str = ""
    responses: Callable[[], Iterable[ResponseRow]] = _nothing  # called once while writing; may stream from SQL
    notes: Callable[[], Iterable[NoteRow]] = _nothing
    location_cards: Callable[[], Iterable[LocationCard]] = _nothing  # only for the per-location option
    widths: dict[str, int] = field(default_factory=dict)  # longest text per Responses column, when known
