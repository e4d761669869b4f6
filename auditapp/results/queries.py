"""The single source of result numbers for the dashboard, the JSON API and the Excel scorecard.

Everything is aggregated in SQL (COUNT, SUM, SUM of squares and SUM(CASE ...) grouped by moment, location, period
or source over indexed columns); Python only combines a handful of aggregate rows and turns them into means and
95% intervals with auditapp.scoring.stats. The rules are those of contract section 3:

- only evaluations whose status is in COUNTED_STATUSES count (rejected ones never do);
- a moment's score is the mean of its per-evaluation moment scores, `n` the evaluations that gave it a score;
  verdict counts and critical fails count MomentResult rows; the overall score is the mean of evaluation scores;
- `from` / `to` are inclusive dates in the organisation's time zone, applied to `started_at` (stored naive UTC);
- moments of different journey versions are the same moment when their keys match; names and order come from
  the journey's current version, and keys no longer in it come last, marked retired.

Change against the previous period: with a `from` date, the previous period has the same length and ends the
day before `from` (the length runs to `to`, or to today when `to` is open). Without a `from` date (all time),
the change compares the last 30 days up to `to` (or today) with the 30 days before, so an open-ended dashboard
still warns about recent movement.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, literal, literal_column, select

from ..evaluations.models import COUNTED_STATUSES, SOURCES, Answer, Evaluation, MomentResult, Photo
from ..extensions import db
from ..formutil import parse_id
from ..i18n import N_
from ..journeys.models import Journey, JourneyVersion, Moment, Question
from ..locations.models import Location
from ..places import SCOPED_SOURCE, SCOPED_STATUSES, PlaceScope
from ..scoring.stats import ChangeSignal, Estimate, change_signal, estimate
from ..scoring.stats import perception_gap as gap_of
from ..timeutil import local_day_bounds, local_today, to_local
from .sqlhelpers import GRAINS, local_period_key, next_period_start, period_key, period_keys, period_label, period_start

LOW_N = 3  # fewer scored evaluations than this: greyed and left out of rankings
GAP_THRESHOLD = 15.0
COMPARE_DAYS = 30  # the window compared when the period has no start
# Warning signal (stats.change_signal): Welch's two-sided t-test p < SIGNAL_ALPHA, a change of at least
# SIGNAL_MIN_CHANGE points, and at least SIGNAL_MIN_N scored evaluations in each window.
SIGNAL_MIN_N = 5
SIGNAL_ALPHA = 0.05
SIGNAL_MIN_CHANGE = 5.0
# The labels below stay English (the API and the exports state them); pages translate them where they show them.
PERIOD_PRESETS: dict[str, str] = {
    "30d": N_("Last 30 days"),
    "90d": N_("Last 90 days"),
    "365d": N_("Last 12 months"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "all": N_("All time"),
    "custom": N_("Custom dates"),
}
# Whose opinion a figure is. Headlines default to secret shoppers; staff self-assessments are shown beside them (the
# perception gap) and mixed in only when the manager picks "all" (shoppers and staff).
SOURCE_LABELS: dict[str, str] = {"shopper": N_("Secret shoppers"), "staff": N_("Staff (self-assessments)"),
                                 "all": N_("Shoppers and staff")}
DEFAULT_SOURCE = "shopper"
# Which evaluations count: every one that counts (waiting for review, approved, returned for a fix; rejected ones
# never count) or only those a reviewer approved.
STATUS_FILTERS: dict[str, tuple[str, ...]] = {"counted": COUNTED_STATUSES, "approved": ("approved",)}
STATUS_LABELS: dict[str, str] = {"counted": N_("All that count (approved, waiting for review, returned)"),
                                 "approved": N_("Approved only")}
DEFAULT_STATUS = "counted"
PHOTO_URL = "/api/v1/photos/{public_id}"

E, MR = Evaluation, MomentResult


# --- filters -------------------------------------------------------------------------------------------------


class FilterError(ValueError):
    """Bad filter arguments; `errors` lists every problem as {"field": ..., "message": ...}."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = [{"field": name, "message": message} for name, message in errors]
        self.field, self.message = errors[0]
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))


class NotFound(LookupError):
    """The journey is not one of this organisation's (callers answer 404)."""


@dataclass(frozen=True, slots=True)
class Filters:
    journey_id: int
    location_id: int | None = None
    region: str | None = None
    date_from: date | None = None  # inclusive, organisation's local date
    date_to: date | None = None  # inclusive
    source: str | None = DEFAULT_SOURCE  # "shopper", "staff" or None for both (the "all" choice)
    period: str | None = None  # the preset the dates came from, if any (for redisplaying the form)
    status: str = DEFAULT_STATUS  # a key of STATUS_FILTERS
    # A place-scoped viewer's locations (places.PlaceScope): nothing outside them counts. None: the whole organisation.
    places: frozenset[int] | None = None

    @property
    def statuses(self) -> tuple[str, ...]:
        return STATUS_FILTERS[self.status]

    @property
    def scoped(self) -> bool:
        return self.places is not None

    @property
    def source_key(self) -> str:
        """The source as the query string and SOURCE_LABELS spell it ("all" for both)."""
        return self.source or "all"

    def describe(self) -> list[tuple[str, str]]:
        """Whose opinion and which evaluations, as label/value pairs that every screen and file states."""
        return [(N_("Evaluations by"), SOURCE_LABELS[self.source_key]), (N_("Status"), STATUS_LABELS[self.status])]

    def to_args(self) -> dict[str, str]:
        """Query-string arguments that give these filters back through filters_from_args (dates made concrete)."""
        args = {"journey_id": str(self.journey_id)}
        if self.location_id:
            args["location_id"] = str(self.location_id)
        if self.region:
            args["region"] = self.region
        if self.date_from:
            args["from"] = self.date_from.isoformat()
        if self.date_to:
            args["to"] = self.date_to.isoformat()
        args["source"] = self.source_key
        args["status"] = self.status
        return args


def preset_dates(period: str, today: date) -> tuple[date | None, date | None]:
    """Inclusive (from, to) of a period preset, relative to the organisation's today."""
    if period in ("30d", "90d", "365d"):
        return today - timedelta(days=int(period[:-1]) - 1), today
    if period == "this_month":
        return today.replace(day=1), today
    if period == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    return None, None  # all


def _parse_int(value: str) -> int | None:
    return parse_id(value)


def _parse_date(value: str) -> date | None:
    value = value.strip()
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def filters_from_args(args: Mapping[str, str], org, *, journey_id: int | None = None, today: date | None = None,
                      scope: PlaceScope | None = None) -> Filters:
    """Parse and check `journey_id, location_id, region, from, to, source, status` (and `period`, a preset name).

    Raises FilterError listing every bad field. `journey_id` given here (from the URL) wins over the argument.
    Whether the journey belongs to `org` is the caller's check (404, not 422); a location or region that is not
    the organisation's is a filter error. `scope`: a place-scoped viewer (tenancy.place_scope(); every web and API
    caller passes it): only their locations and regions, approved secret-shopper evaluations only.
    """
    errors: list[tuple[str, str]] = []

    def arg(name: str) -> str:
        value = args.get(name)
        return value.strip() if isinstance(value, str) else ""

    if journey_id is None:
        raw = arg("journey_id")
        journey_id = _parse_int(raw)
        if not raw:
            errors.append(("journey_id", "is required"))
        elif journey_id is None:
            errors.append(("journey_id", "must be a journey id (a whole number)"))

    location_id = None
    if raw := arg("location_id"):
        location_id = _parse_int(raw)
        if location_id is None:
            errors.append(("location_id", "must be a location id (a whole number)"))
        elif db.session.scalar(select(Location.id).where(Location.id == location_id, Location.org_id == org.id)) is None \
                or (scope is not None and not scope.allows(location_id)):
            errors.append(("location_id", "is not one of your locations"))
            location_id = None

    region = arg("region") or None
    if region is not None:
        found = db.session.scalar(select(Location.id).where(Location.org_id == org.id, Location.region == region).limit(1))
        if found is None or (scope is not None and region not in scope.regions):
            errors.append(("region", "is not the region of any of your locations"))

    source = arg("source").lower() or DEFAULT_SOURCE
    if source not in SOURCE_LABELS:
        errors.append(("source", "must be shopper, staff or all"))
    source = None if source == "all" else source

    status = arg("status").lower() or DEFAULT_STATUS
    if status not in STATUS_FILTERS:
        errors.append(("status", "must be counted (all that count) or approved"))
        status = DEFAULT_STATUS
    if scope is not None:
        if arg("source") and source != SCOPED_SOURCE:
            errors.append(("source", "you see secret shoppers' evaluations only"))
        if arg("status") and status not in SCOPED_STATUSES:
            errors.append(("status", "you see approved evaluations only"))
        source, status = SCOPED_SOURCE, "approved"

    period = arg("period") or None
    date_from = date_to = None
    if period is not None and period not in PERIOD_PRESETS:
        errors.append(("period", f"must be one of {', '.join(PERIOD_PRESETS)}"))
    elif period not in (None, "custom"):
        date_from, date_to = preset_dates(period, today or local_today(org.timezone))
    else:
        for name in ("from", "to"):
            raw = arg(name)
            parsed = _parse_date(raw) if raw else None
            if raw and parsed is None:
                errors.append((name, "must be a date written YYYY-MM-DD"))
            if name == "from":
                date_from = parsed
            else:
                date_to = parsed
        if date_from and date_to and date_to < date_from:
            errors.append(("to", "must be on or after the from date"))

    if errors:
        raise FilterError(errors)
    return Filters(journey_id=journey_id, location_id=location_id, region=region, date_from=date_from,
                   date_to=date_to, source=source, period=period, status=status,
                   places=scope.location_ids if scope is not None else None)


# --- result types --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """Inclusive local dates; None is open-ended."""

    date_from: date | None
    date_to: date | None

    @property
    def label(self) -> str:
        if self.date_from and self.date_to:
            return f"{self.date_from.isoformat()} to {self.date_to.isoformat()}"
        if self.date_from:
            return f"from {self.date_from.isoformat()}"
        if self.date_to:
            return f"up to {self.date_to.isoformat()}"
        return "all time"


@dataclass(frozen=True, slots=True)
class Comparison:
    """The two windows the change and the warning signal compare."""

    current: Window
    previous: Window
    explanation: str


@dataclass(frozen=True, slots=True)
class MomentRef:
    key: str
    name: str
    position: int
    channel: str = ""
    kind: str | None = None
    priority: bool = False
    weight: float = 1.0
    expected_seconds: int | None = None
    retired: bool = False  # not in the journey's current version


@dataclass(frozen=True, slots=True)
class MomentStats:
    key: str
    name: str
    position: int
    channel: str
    kind: str | None
    priority: bool
    weight: float
    expected_seconds: int | None
    retired: bool
    n: int  # evaluations that gave this moment a score
    score: float | None  # mean moment score, 0-100, unrounded
    low: float | None  # 95% interval
    high: float | None
    magical: int
    neutral: int
    miserable: int
    critical_fails: int
    mean_duration: float | None  # seconds, over the evaluations that timed it
    duration_n: int
    previous_n: int  # the comparison's previous window
    previous_score: float | None
    change: float | None  # comparison current mean minus previous mean, points
    signal: ChangeSignal

    @property
    def low_n(self) -> bool:
        return self.n < LOW_N

    @property
    def verdicts(self) -> int:
        return self.magical + self.neutral + self.miserable

    @property
    def duration_over(self) -> float | None:
        """Mean duration minus expected, seconds (positive: slower than expected)."""
        if self.mean_duration is None or not self.expected_seconds:
            return None
        return self.mean_duration - self.expected_seconds


@dataclass(frozen=True, slots=True)
class Scorecard:
    journey_id: int
    journey_name: str
    filters: Filters
    period: Window
    comparison: Comparison
    evaluations: int  # counted evaluations in the period
    score: float | None  # mean evaluation score
    estimate: Estimate  # n = evaluations with a score, mean = score, 95% interval
    remembered_score: float | None  # peak-end: mean over evaluations of (first + worst + last moment) / 3
    remembered: Estimate
    previous: Estimate  # overall score in the comparison's previous window
    signal: ChangeSignal  # overall score, comparison current vs previous
    moments: list[MomentStats]
    weakest_priority: MomentStats | None  # lowest scored priority moment with n >= 3
    weakest: MomentStats | None  # lowest scored moment with n >= 3, priority or not
    change: float | None = None  # overall score, comparison current mean minus previous mean

    def moment(self, key: str) -> MomentStats | None:
        return next((m for m in self.moments if m.key == key), None)


@dataclass(frozen=True, slots=True)
class Cell:
    n: int
    score: float | None

    @property
    def low_n(self) -> bool:
        return self.n < LOW_N


@dataclass(frozen=True, slots=True)
class LocationRef:
    id: int
    code: str
    name: str
    region: str


@dataclass(frozen=True, slots=True)
class Heatmap:
    locations: list[LocationRef]  # with at least one counted evaluation, by name
    moments: list[MomentRef]
    cells: dict[tuple[int, str], Cell]  # (location id, moment key)
    totals: dict[int, Cell]  # location id -> mean evaluation score
    evaluations: dict[int, int]  # location id -> counted evaluations

    def cell(self, location_id: int, moment_key: str) -> Cell:
        return self.cells.get((location_id, moment_key), Cell(0, None))


@dataclass(frozen=True, slots=True)
class Period:
    key: str  # 'YYYY-MM' or the Monday 'YYYY-MM-DD'
    label: str  # 'YYYY-MM' or 'YYYY-Www'
    start: date


@dataclass(frozen=True, slots=True)
class Trend:
    grain: str
    periods: list[Period]  # every period from the first to the last, empty ones included
    moments: list[MomentRef]
    cells: dict[tuple[str, str], Cell]  # (period key, moment key)
    overall: dict[str, Cell]  # period key -> mean evaluation score

    def cell(self, period_key_: str, moment_key: str) -> Cell:
        return self.cells.get((period_key_, moment_key), Cell(0, None))


@dataclass(frozen=True, slots=True)
class GapRow:
    key: str
    name: str
    position: int
    retired: bool
    shopper: Estimate
    staff: Estimate
    gap: float | None  # staff mean minus shopper mean
    flagged: bool  # staff at least 15 points above shoppers, both sides n >= 3


@dataclass(frozen=True, slots=True)
class PraiseNote:
    evaluation_id: int
    started_at: datetime  # naive UTC
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class PraiseMoment:
    key: str
    name: str
    magical: int  # verdicts "magical" at this location
    verdicts: int
    notes: list[PraiseNote]  # newest first, at most `notes_per_moment` (2)


@dataclass(frozen=True, slots=True)
class LocationPraise:
    location: LocationRef
    moments: list[PraiseMoment]  # most magical first


@dataclass(frozen=True, slots=True)
class PhotoRef:
    public_id: str
    url: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class AnswerNote:
    moment_key: str
    question_key: str
    question: str
    text: str


@dataclass(frozen=True, slots=True)
class DrillItem:
    evaluation_id: int
    started_at: datetime  # naive UTC
    location: LocationRef
    source: str
    status: str
    score: float | None  # evaluation score
    moment_score: float | None  # the drilled moment's score (None without a moment)
    verdict: str | None
    critical_fail: bool
    duration_seconds: float | None
    moment_note: str
    notes: str  # the evaluation's general notes
    answer_notes: list[AnswerNote]
    photos: list[PhotoRef]


@dataclass(frozen=True, slots=True)
class Drilldown:
    moment: MomentRef | None
    location: LocationRef | None
    total: int
    offset: int
    limit: int
    items: list[DrillItem]

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True, slots=True)
class JourneyHeadline:
    journey_id: int
    name: str
    moments: int
    evaluations: int  # in the recent window
    score: float | None
    all_evaluations: int
    all_score: float | None
    last_at: datetime | None


# --- shared building blocks ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Agg:
    """Additive aggregates (count, sum, sum of squares) of one group, summed over a few SQL result rows."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, n, total, total_sq) -> None:
        self.n += int(n or 0)
        self.total += float(total or 0)
        self.total_sq += float(total_sq or 0)

    @property
    def triple(self) -> tuple[int, float, float]:
        return (self.n, self.total, self.total_sq)

    def estimate(self) -> Estimate:
        return estimate(self.n, self.total, self.total_sq)


def load_journey(org, journey_id: int) -> Journey:
    journey = db.session.get(Journey, journey_id)
    if journey is None or journey.org_id != org.id:
        raise NotFound(f"journey {journey_id}")
    return journey


def _bounds(org, date_from: date | None, date_to: date | None) -> tuple[datetime | None, datetime | None]:
    return local_day_bounds(date_from, date_to, org.timezone)


def _conditions(org, filters: Filters, start: datetime | None, end: datetime | None) -> list:
    """WHERE terms on Evaluation: tenant, journey, statuses, [start, end), location, region, source."""
    terms = [E.journey_id == filters.journey_id, E.org_id == org.id, E.status.in_(filters.statuses)]
    if start is not None:
        terms.append(E.started_at >= start)
    if end is not None:
        terms.append(E.started_at < end)
    if filters.location_id:
        terms.append(E.location_id == filters.location_id)
    if filters.region:
        terms.append(E.location_id.in_(select(Location.id).where(Location.org_id == org.id,
                                                                 Location.region == filters.region)))
    if filters.source:
        terms.append(E.source == filters.source)
    if filters.places is not None:
        terms.append(E.location_id.in_(sorted(filters.places) or [-1]))
    return terms


def evaluation_conditions(org, filters: Filters) -> list:
    """The WHERE terms on Evaluation for these filters (the period as local days): for other packages' aggregates,
    e.g. the query rate of auditapp.disputes, so they count the same evaluations as every screen and file."""
    return _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))


def _count_if(condition):
    """How many rows meet `condition`: SUM of the boolean as 0/1 (NULL, e.g. no verdict, counts as 0)."""
    return func.coalesce(func.sum(cast(condition, Integer)), 0)


def journey_moments(journey: Journey, extra_keys=()) -> list[MomentRef]:
    """The current version's moments in timeline order, then `extra_keys` not in it (retired), oldest name kept."""
    refs: list[MomentRef] = []
    if journey.current_version_id:
        for m in db.session.scalars(select(Moment).where(Moment.version_id == journey.current_version_id)
                                    .order_by(Moment.position, Moment.id)):
            refs.append(MomentRef(key=m.key, name=m.name, position=m.position, channel=m.channel, kind=m.kind,
                                  priority=bool(m.priority), weight=m.weight, expected_seconds=m.expected_seconds))
    known = {r.key for r in refs}
    retired = sorted({k for k in extra_keys if k not in known})
    if retired:
        latest: dict[str, Moment] = {}
        rows = db.session.execute(
            select(Moment, JourneyVersion.number).join(JourneyVersion, JourneyVersion.id == Moment.version_id)
            .where(JourneyVersion.journey_id == journey.id, Moment.key.in_(retired))
            .order_by(JourneyVersion.number.desc())
        )
        for moment, _ in rows:
            latest.setdefault(moment.key, moment)
        start = max((r.position for r in refs), default=-1) + 1
        retired.sort(key=lambda k: (latest[k].position if k in latest else 10**6, k))
        for i, key in enumerate(retired):
            m = latest.get(key)
            refs.append(MomentRef(key=key, name=m.name if m else key, position=start + i,
                                  channel=m.channel if m else "", kind=m.kind if m else None, priority=False,
                                  weight=m.weight if m else 1.0, expected_seconds=m.expected_seconds if m else None,
                                  retired=True))
    return refs


# --- scorecard -----------------------------------------------------------------------------------------------


def comparison_for(filters: Filters, today: date) -> Comparison:
    try:
        return _comparison_for(filters, today)
    except OverflowError:  # a period at the very start of the calendar (year 1) has no period before it
        empty = Window(date.min, date.min)
        return Comparison(Window(filters.date_from, filters.date_to), empty, "There is no earlier period to compare with.")


def _comparison_for(filters: Filters, today: date) -> Comparison:
    if filters.date_from:
        last = filters.date_to or today
        days = max((last - filters.date_from).days + 1, 1)
        previous = Window(filters.date_from - timedelta(days=days), filters.date_from - timedelta(days=1))
        current = Window(filters.date_from, filters.date_to)
        return Comparison(current, previous, f"Change compares this period with the {days} days before it "
                                             f"({previous.label}).")
    ref = filters.date_to or today
    current = Window(ref - timedelta(days=COMPARE_DAYS - 1), filters.date_to)
    previous = Window(ref - timedelta(days=2 * COMPARE_DAYS - 1), ref - timedelta(days=COMPARE_DAYS))
    return Comparison(current, previous, f"The period has no start date, so change compares the last {COMPARE_DAYS} "
                                         f"days ({current.label}) with the {COMPARE_DAYS} days before "
                                         f"({previous.label}).")


def scorecard(org, filters: Filters, *, today: date | None = None) -> Scorecard:
    """Headline and per-moment figures for one journey under `filters` (two GROUP BY queries)."""
    return _scorecard(org, filters, today=today)[0]


def _scorecard(org, filters: Filters, *, today: date | None = None, by_source: bool = False):
    """scorecard(), and with `by_source` the same two scans over both sources, so the perception gap and the other
    side's headline come from them too: (Scorecard, {(moment key, source): _Agg}, {source: (evaluations, _Agg)}),
    the last two over the period only. Without `by_source` they are empty."""
    journey = load_journey(org, filters.journey_id)
    window = _scan_window(org, filters, today or local_today(org.timezone), both_sources=by_source)
    evaluations = _sum_out(_scan_evaluations(window, by_location=False), keep=2)
    moments = _sum_out(_scan_moments(window, by_location=False), keep=3)
    return _build_scorecard(journey, filters, window, evaluations, moments)


@dataclass(frozen=True, slots=True)
class _ScanWindow:
    """What the scorecard's scans read: the period and the comparison's two windows in one pass, each row in a
    bucket (2 = comparison current, 1 = previous, 0 = older). With a `from` date the scan starts at the previous
    window and the period is bucket 2 alone; without one, the period is every bucket. `split`: both sources are
    read (rows carry their source), though the filter may pick one."""

    comparison: Comparison
    terms: list
    bucket: object  # SQL expression
    in_period: tuple[int, ...]
    split: bool


def _scan_window(org, filters: Filters, today: date, *, both_sources: bool) -> _ScanWindow:
    comparison = comparison_for(filters, today)
    _, end = _bounds(org, filters.date_from, filters.date_to)
    current_start, _ = _bounds(org, comparison.current.date_from, None)
    previous_start, _ = _bounds(org, comparison.previous.date_from, None)
    bucket = case((E.started_at >= current_start, 2), (E.started_at >= previous_start, 1), else_=0)
    split = both_sources and not filters.scoped
    terms = _conditions(org, replace(filters, source=None) if split else filters,
                        previous_start if filters.date_from else None, end)
    return _ScanWindow(comparison, terms, bucket, (2,) if filters.date_from else (0, 1, 2), split)


# The figures each scan sums per group; every one is a count or a sum, so groups add up (see _sum_out).
def _evaluation_figures() -> tuple:
    return (func.count(E.score), func.sum(E.score), func.sum(E.score * E.score), func.count(),
            func.count(E.remembered_score), func.sum(E.remembered_score),
            func.sum(E.remembered_score * E.remembered_score))


def _moment_figures() -> tuple:
    return (func.count(MR.score), func.sum(MR.score), func.sum(MR.score * MR.score),
            _count_if(MR.verdict == "magical"), _count_if(MR.verdict == "neutral"),
            _count_if(MR.verdict == "miserable"), func.count(MR.verdict), _count_if(MR.critical_fail),
            func.count(MR.duration_seconds), func.sum(MR.duration_seconds))


def _materialized(cte):
    """Have the database compute the CTE once: its expressions (bucket, local period) then run once per
    evaluation instead of once per joined moment result, about a third of a million-row scan."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "postgresql" and (dialect.server_version_info or (0,)) >= (12,):
        return cte.prefix_with("MATERIALIZED")
    if dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        return cte.prefix_with("MATERIALIZED")
    return cte


def _scan_evaluations(window: _ScanWindow, *, by_location: bool, period=None, grain: str | None = None
                      ) -> dict[tuple, tuple]:
    """{(bucket, source, location id or None, local period or None): _evaluation_figures()} over the window;
    `period`: the SQL of each evaluation's local period in `grain` (local_period_key), to group by it too."""
    code = _GroupCode(window, by_location, period, grain)
    rows = db.session.execute(select(code.sql, *_evaluation_figures()).where(*window.terms).group_by(code.sql))
    return {code.unpack(row[0]): _numbers(row[1:]) for row in rows}


def _scan_moments(window: _ScanWindow, *, by_location: bool, period=None, grain: str | None = None
                  ) -> dict[tuple, tuple]:
    """{(moment key, bucket, source, location id or None, local period or None): _moment_figures()} over the
    window: one scan of the moment results joined to the window's evaluations."""
    code = _GroupCode(window, by_location, period, grain)
    scanned = _materialized(select(E.id, code.sql.label("code")).where(*window.terms).cte("scanned"))
    keys = (MR.moment_key, scanned.c.code)
    rows = db.session.execute(select(*keys, *_moment_figures()).join(scanned, scanned.c.id == MR.evaluation_id)
                              .group_by(*keys))
    return {(row[0], *code.unpack(row[1])): _numbers(row[2:]) for row in rows}


class _GroupCode:
    """An evaluation's group in a scan (comparison bucket, source, location, local period) packed into one integer.
    SQLite groups by sorting: sorting a million moment results by (moment key, one integer) takes about half the
    time of sorting them by five columns, two of them text. unpack() gives the parts back."""

    LOCATIONS = 2**31  # location ids are 32-bit integers

    def __init__(self, window: _ScanWindow, by_location: bool, period=None, grain: str | None = None):
        assert period is None or grain in GRAINS
        self.by_location, self.grain = by_location, grain if period is not None else None
        source = case({name: i for i, name in enumerate(SOURCES)}, value=E.source)  # NULL for another: unpack fails
        # 64-bit arithmetic throughout (PostgreSQL's integer is 32-bit): YYYYMM or YYYYMMDD, then the rest.
        digits = literal(0, BigInteger) if period is None else cast(func.replace(period, "-", ""), BigInteger)
        location = E.location_id if by_location else 0
        self.sql = (((digits * 3 + window.bucket) * len(SOURCES) + source) * literal(self.LOCATIONS, BigInteger)
                    + location)

    def unpack(self, code: int | None) -> tuple:
        """(bucket, source, location id or None, local period key or None)."""
        if code is None:
            raise ValueError(f"an evaluation's source is not one of {SOURCES}")
        rest, location = divmod(int(code), self.LOCATIONS)
        rest, source = divmod(rest, len(SOURCES))
        digits, bucket = divmod(rest, 3)
        period = None
        if self.grain == "month":
            period = f"{digits // 100:04d}-{digits % 100:02d}"
        elif self.grain == "week":
            period = f"{digits // 10000:04d}-{digits // 100 % 100:02d}-{digits % 100:02d}"
        return bucket, SOURCES[source], location if self.by_location else None, period


def _numbers(values) -> tuple:
    return tuple(0 if value is None else value for value in values)


def _add(a: tuple | None, b: tuple) -> tuple:
    return b if a is None else tuple(x + y for x, y in zip(a, b, strict=True))


def _sum_out(groups: dict[tuple, tuple], keep: int) -> dict[tuple, tuple]:
    """The groups summed over every key part after the first `keep` (e.g. the location)."""
    out: dict[tuple, tuple] = {}
    for key, figures in groups.items():
        out[key[:keep]] = _add(out.get(key[:keep]), figures)
    return out


def _build_scorecard(journey: Journey, filters: Filters, window: _ScanWindow, evaluation_groups: dict[tuple, tuple],
                     moment_groups: dict[tuple, tuple]):
    """The Scorecard (and, for a split window, the gap's and the sides' aggregates) from the scans' groups:
    evaluations by (bucket, source), moments by (moment key, bucket, source)."""

    def counted(source) -> bool:  # a row of the scorecard's own source (split scans hold both)
        return filters.source is None or source == filters.source

    overall: dict[int, _Agg] = {}
    remembered = _Agg()
    sides: dict[str, tuple[int, _Agg]] = {}
    evaluations = 0
    for (b, source), (n, total, total_sq, count, rn, rtotal, rtotal_sq) in evaluation_groups.items():
        if window.split and b in window.in_period:
            side_count, side = sides.get(source, (0, _Agg()))
            side.add(n, total, total_sq)
            sides[source] = (side_count + int(count), side)
        if not counted(source):
            continue
        overall.setdefault(b, _Agg()).add(n, total, total_sq)
        if b in window.in_period:
            evaluations += int(count)
            remembered.add(rn, rtotal, rtotal_sq)
    main = _Agg()
    for b in window.in_period:
        if b in overall:
            main.add(*overall[b].triple)

    # Per moment: the period's figures, then the comparison's current and previous windows' scores.
    per_moment: dict[str, tuple] = {}
    gap_aggs: dict[tuple[str, str], _Agg] = {}
    for (key, b, source), figures in moment_groups.items():
        if window.split and b in window.in_period:
            gap_aggs.setdefault((key, source), _Agg()).add(*figures[:3])
        if not counted(source):
            continue
        n, total, total_sq, magical, neutral, miserable, _verdicts, critical, duration_n, duration_total = figures
        period = (n, total, total_sq, magical, neutral, miserable, critical, duration_n, duration_total) \
            if b in window.in_period else (0,) * 9
        current = (n, total, total_sq) if b == 2 else (0, 0, 0)
        previous = (n, total, total_sq) if b == 1 else (0, 0, 0)
        per_moment[key] = _add(per_moment.get(key), (*period, *current, *previous))

    moments = []
    for ref in journey_moments(journey, per_moment.keys()):
        (n, total, total_sq, magical, neutral, miserable, critical, duration_n, duration_total,
         cur_n, cur_total, cur_sq, prev_n, prev_total, prev_sq) = per_moment.get(ref.key, (0,) * 15)
        if ref.retired and not (n or magical or neutral or miserable or critical):
            continue  # only outside the period: nothing to show
        est = estimate(int(n), float(total), float(total_sq))
        current, previous = (int(cur_n), float(cur_total), float(cur_sq)), \
            (int(prev_n), float(prev_total), float(prev_sq))
        prev_est = estimate(*previous)
        cur_mean = estimate(*current).mean
        duration_n = int(duration_n)
        moments.append(MomentStats(
            key=ref.key, name=ref.name, position=ref.position, channel=ref.channel, kind=ref.kind,
            priority=ref.priority, weight=ref.weight, expected_seconds=ref.expected_seconds, retired=ref.retired,
            n=est.n, score=est.mean, low=est.low, high=est.high,
            magical=int(magical), neutral=int(neutral), miserable=int(miserable),
            critical_fails=int(critical),
            mean_duration=(float(duration_total) / duration_n) if duration_n else None, duration_n=duration_n,
            previous_n=prev_est.n, previous_score=prev_est.mean,
            change=(cur_mean - prev_est.mean) if cur_mean is not None and prev_est.mean is not None else None,
            signal=_signal(current, previous),
        ))

    ranked = [m for m in moments if not m.low_n and m.score is not None and not m.retired]
    weakest = min(ranked, key=lambda m: (m.score, m.position), default=None)
    weakest_priority = min((m for m in ranked if m.priority), key=lambda m: (m.score, m.position), default=None)
    est = main.estimate()
    remembered_est = remembered.estimate()
    card = Scorecard(
        journey_id=journey.id, journey_name=journey.name, filters=filters,
        period=Window(filters.date_from, filters.date_to), comparison=window.comparison,
        evaluations=evaluations, score=est.mean, estimate=est,
        remembered_score=remembered_est.mean, remembered=remembered_est,
        previous=overall.get(1, _Agg()).estimate(),
        signal=_signal(overall.get(2, _Agg()).triple, overall.get(1, _Agg()).triple),
        moments=moments, weakest_priority=weakest_priority, weakest=weakest,
        change=_difference(overall.get(2, _Agg()).estimate().mean, overall.get(1, _Agg()).estimate().mean),
    )
    return card, gap_aggs, sides


def _signal(current, previous) -> ChangeSignal:
    return change_signal(current, previous, min_n=SIGNAL_MIN_N, alpha=SIGNAL_ALPHA, min_change=SIGNAL_MIN_CHANGE)


def _difference(current: float | None, previous: float | None) -> float | None:
    return None if current is None or previous is None else current - previous


# --- heatmap -------------------------------------------------------------------------------------------------


def _location_refs(org, ids) -> list[LocationRef]:
    if not ids:
        return []
    rows = db.session.scalars(select(Location).where(Location.org_id == org.id, Location.id.in_(list(ids)))
                              .order_by(Location.name, Location.code))
    return [LocationRef(loc.id, loc.code, loc.name, loc.region or "") for loc in rows]


def heatmap(org, filters: Filters) -> Heatmap:
    """Locations x moments: mean moment score and n per cell, and each location's mean evaluation score."""
    return _heatmap(org, filters)[0]


def _heatmap(org, filters: Filters, *, praise: bool = False):
    """heatmap(), and with `praise` the counts magical_moments() needs from the same scan (location x moment: the
    magical verdicts and all verdicts): (Heatmap, counts, WHERE terms)."""
    journey = load_journey(org, filters.journey_id)
    terms = _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))
    cells: dict[tuple[int, str], tuple] = {}
    extra = (_count_if(MR.verdict == "magical"), func.count(MR.verdict)) if praise else ()
    for location_id, key, n, total, *verdicts in db.session.execute(
        select(E.location_id, MR.moment_key, func.count(MR.score), func.sum(MR.score), *extra)
        .join(E, E.id == MR.evaluation_id).where(*terms).group_by(E.location_id, MR.moment_key)
    ):
        cells[(location_id, key)] = (n, total, *(verdicts or (0, 0)))
    totals = {location_id: figures for location_id, *figures in db.session.execute(
        select(E.location_id, func.count(E.score), func.sum(E.score), func.count()).where(*terms)
        .group_by(E.location_id))}
    heat, counts = _build_heatmap(org, journey, cells, totals)
    return heat, counts, terms


def _build_heatmap(org, journey: Journey, cells: dict[tuple[int, str], tuple], totals: dict[int, tuple]):
    """(Heatmap, praise counts) from {(location id, moment key): (n, total, magical, verdicts)} and
    {location id: (n, total, evaluations)}."""
    heat_cells = {where: Cell(int(n), float(total) / n if n else None) for where, (n, total, *_) in cells.items()}
    counts = {where: (int(magical), int(verdicts))
              for where, (_n, _total, magical, verdicts) in cells.items() if magical}
    keys = {key for _, key in cells}
    moments = [m for m in journey_moments(journey, keys) if not m.retired or m.key in keys]
    heat = Heatmap(locations=_location_refs(org, totals), moments=moments, cells=heat_cells,
                   totals={loc: Cell(int(n), float(total) / n if n else None) for loc, (n, total, _) in totals.items()},
                   evaluations={loc: int(count) for loc, (_n, _total, count) in totals.items()})
    return heat, counts


# --- trend ---------------------------------------------------------------------------------------------------


def default_grain(filters: Filters, today: date) -> str:
    """Weeks for a period of up to about four months, months beyond (or when open-ended)."""
    if filters.date_from and (filters.date_to or today) - filters.date_from <= timedelta(days=124):
        return "week"
    return "month"


def trend(org, filters: Filters, grain: str = "month") -> Trend:
    """Period x moment mean scores, periods of the organisation's local calendar, computed in SQL."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    journey = load_journey(org, filters.journey_id)
    terms = _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))
    span = _span(terms)
    if span is None:
        return _build_trend(org, journey, filters, grain, None, {}, {})
    key = _local_period(org, grain, span)
    sums: dict[tuple[str, str], tuple] = {}
    periods_of = _materialized(select(E.id, key).where(*terms).cte("periods_of"))  # the local period once each
    for period, moment_key, n, total in db.session.execute(
        select(periods_of.c.period, MR.moment_key, func.count(MR.score), func.sum(MR.score))
        .join(periods_of, periods_of.c.id == MR.evaluation_id).group_by(periods_of.c.period, MR.moment_key)
    ):
        sums[(period, moment_key)] = (n, total)
    overall = {period: (n, total) for period, n, total in db.session.execute(
        select(key, func.count(E.score), func.sum(E.score)).where(*terms).group_by(key))}
    return _build_trend(org, journey, filters, grain, span, sums, overall)


def _span(terms: list) -> tuple[datetime, datetime] | None:
    """The first and last start time of the evaluations matching `terms`; None when there are none."""
    first, last = db.session.execute(select(func.min(E.started_at), func.max(E.started_at)).where(*terms)).one()
    return None if first is None else (first, last)


def _local_period(org, grain: str, span: tuple[datetime, datetime]):
    dialect = db.session.get_bind().dialect.name
    return local_period_key(E.started_at, grain, org.timezone, dialect, span).label("period")


def _build_trend(org, journey: Journey, filters: Filters, grain: str, span: tuple[datetime, datetime] | None,
                 sums: Mapping[tuple[str, str], tuple], overall: Mapping[str, tuple]) -> Trend:
    """The Trend from (count, sum) of the moment scores per (period, moment key) and of the evaluation scores per
    period; `span` None: no evaluation matches, no periods."""
    if span is None:
        return Trend(grain, [], journey_moments(journey), {}, {})
    cells = {cell: Cell(int(n), float(total) / n if n else None) for cell, (n, total) in sums.items()}
    overall_cells = {period: Cell(int(n), float(total) / n if n else None) for period, (n, total) in overall.items()}
    keys = {moment_key for _, moment_key in sums}
    # The periods span the filter, but reach at most a year beyond the data on either side: a filter of
    # 0001-01-01 to 9999-12-31 lists the periods around the data, not a hundred thousand empty ones.
    first, last = span
    data_first, data_last = to_local(first, org.timezone).date(), to_local(last, org.timezone).date()
    first_day = max(filters.date_from or data_first, data_first - timedelta(days=366))
    last_day = max(first_day, min(filters.date_to or data_last, data_last + timedelta(days=366)))
    periods = [Period(k, period_label(k, grain), period_start(k, grain)) for k in period_keys(first_day, last_day, grain)]
    moments = [m for m in journey_moments(journey, keys) if not m.retired or m.key in keys]
    return Trend(grain=grain, periods=periods, moments=moments, cells=cells, overall=overall_cells)


def period_cut(period: Period, grain: str, filters: Filters) -> tuple[str, date] | None:
    """("from", day) or ("to", day) when the date filter starts or ends inside the period, which then holds only
    part of its days; None when it holds them all."""
    last_day = next_period_start(period.start, grain) - timedelta(days=1)
    if filters.date_from and period.start < filters.date_from <= last_day:
        return "from", filters.date_from
    if filters.date_to and period.start <= filters.date_to < last_day:
        return "to", filters.date_to
    return None


def period_key_for(day: date, grain: str) -> str:
    """The trend period holding a local date (for marking when an action started)."""
    return period_key(day, grain)


# --- perception gap ------------------------------------------------------------------------------------------


def perception_gap(org, filters: Filters) -> list[GapRow]:
    """Shoppers vs staff per moment (the source filter is ignored: both sides are needed). None for a place-scoped
    viewer, who sees approved secret-shopper evaluations only (an empty list)."""
    journey = load_journey(org, filters.journey_id)
    if filters.scoped:
        return []
    both = replace(filters, source=None)
    terms = _conditions(org, both, *_bounds(org, both.date_from, both.date_to))
    aggs: dict[tuple[str, str], _Agg] = {}
    for key, source, n, total, total_sq in db.session.execute(
        select(MR.moment_key, E.source, func.count(MR.score), func.sum(MR.score), func.sum(MR.score * MR.score))
        .join(E, E.id == MR.evaluation_id).where(*terms).group_by(MR.moment_key, E.source)
    ):
        aggs.setdefault((key, source), _Agg()).add(n, total, total_sq)
    return _gap_rows(journey, aggs)


def _gap_rows(journey: Journey, aggs: dict[tuple[str, str], _Agg]) -> list[GapRow]:
    keys = {key for key, _ in aggs}
    rows = []
    for ref in journey_moments(journey, keys):
        if ref.retired and ref.key not in keys:
            continue
        shopper = aggs.get((ref.key, "shopper"), _Agg()).estimate()
        staff = aggs.get((ref.key, "staff"), _Agg()).estimate()
        gap, flagged = gap_of(staff, shopper, threshold=GAP_THRESHOLD, min_n=LOW_N)
        rows.append(GapRow(ref.key, ref.name, ref.position, ref.retired, shopper, staff, gap, flagged))
    return rows


@dataclass(frozen=True, slots=True)
class SourceHeadline:
    source: str  # "shopper" or "staff"
    evaluations: int
    estimate: Estimate  # mean evaluation score with its interval


def other_source_headline(org, filters: Filters) -> SourceHeadline | None:
    """The other side's overall score under the same filters, shown beside the headline (never mixed into it):
    staff self-assessments beside the shoppers' score, and the other way round. None when both are mixed."""
    if filters.source is None or filters.scoped:
        return None
    other = "staff" if filters.source == "shopper" else "shopper"
    terms = _conditions(org, replace(filters, source=other), *_bounds(org, filters.date_from, filters.date_to))
    count, n, total, total_sq = db.session.execute(
        select(func.count(), func.count(E.score), func.sum(E.score), func.sum(E.score * E.score)).where(*terms)).one()
    return SourceHeadline(other, int(count or 0), estimate(int(n or 0), float(total or 0), float(total_sq or 0)))


# --- magical moments -----------------------------------------------------------------------------------------


def magical_moments(org, filters: Filters, *, notes_per_moment: int = 2) -> list[LocationPraise]:
    """Per location, the moments rated magical (most first) with their latest notes: praise what works."""
    journey = load_journey(org, filters.journey_id)
    terms = _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))
    counts: dict[tuple[int, str], tuple[int, int]] = {}
    for location_id, key, magical, verdicts in db.session.execute(
        select(E.location_id, MR.moment_key, _count_if(MR.verdict == "magical"), func.count(MR.verdict))
        .join(E, E.id == MR.evaluation_id).where(*terms).group_by(E.location_id, MR.moment_key)
    ):
        if magical:
            counts[(location_id, key)] = (int(magical), int(verdicts))
    return _praise(org, journey, terms, counts, notes_per_moment)


def magical_with_note():
    """Magical moments with a note, in the words of the partial index that holds them (MAGICAL_NOTE): constants
    written into the SQL, so the planner can match the index's WHERE."""
    return and_(MR.verdict == literal_column("'magical'"), MR.note.is_not(None), MR.note != literal_column("''"))


def _praise(org, journey: Journey, terms: list, counts: dict[tuple[int, str], tuple[int, int]],
            notes_per_moment: int) -> list[LocationPraise]:
    """magical_moments() from its per (location, moment) counts of magical verdicts and of all verdicts."""
    if not counts:
        return []
    rank = func.row_number().over(partition_by=(E.location_id, MR.moment_key),
                                  order_by=(E.started_at.desc(), E.id.desc())).label("rank")
    latest = (
        select(E.location_id, MR.moment_key, E.id.label("evaluation_id"), E.started_at, E.source, MR.note, rank)
        .join(E, E.id == MR.evaluation_id)
        .where(*terms, magical_with_note())
        .subquery()
    )
    notes: dict[tuple[int, str], list[PraiseNote]] = {}
    for row in db.session.execute(select(latest).where(latest.c.rank <= notes_per_moment)
                                  .order_by(latest.c.started_at.desc())):
        notes.setdefault((row.location_id, row.moment_key), []).append(
            PraiseNote(row.evaluation_id, row.started_at, row.source, row.note))
    refs = {m.key: m for m in journey_moments(journey, {k for _, k in counts})}
    result = []
    for location in _location_refs(org, {loc for loc, _ in counts}):
        items = [
            PraiseMoment(key, refs[key].name, magical, verdicts, notes.get((location.id, key), []))
            for (loc, key), (magical, verdicts) in counts.items() if loc == location.id
        ]
        items.sort(key=lambda p: (-p.magical, refs[p.key].position))
        result.append(LocationPraise(location, items))
    return result


# --- drill-down ----------------------------------------------------------------------------------------------


def drilldown(org, filters: Filters, moment_key: str | None = None, location_id: int | None = None, *,
              limit: int = 50, offset: int = 0) -> Drilldown:
    """The counted evaluations behind a cell, newest first, with their notes and photos (one page of them)."""
    journey = load_journey(org, filters.journey_id)
    if location_id:
        filters = replace(filters, location_id=location_id)
    terms = _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))
    moment = None
    if moment_key:
        moment = next((m for m in journey_moments(journey, [moment_key]) if m.key == moment_key), None)
    location = _location_refs(org, [filters.location_id])[0] if filters.location_id else None
    if location_id and location is None:
        raise NotFound(f"location {location_id}")

    base = select(E.id).where(*terms)
    if moment_key:
        on_moment = and_(MR.evaluation_id == E.id, MR.moment_key == moment_key)
        base = base.join(MR, on_moment)
        page = select(E, MR).join(MR, on_moment)
    else:
        page = select(E)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    if moment is not None and moment.retired and not total and db.session.scalar(
            select(Moment.id).join(JourneyVersion, JourneyVersion.id == Moment.version_id)
            .where(JourneyVersion.journey_id == journey.id, Moment.key == moment_key).limit(1)) is None:
        moment = None  # a key this journey never had
    found = db.session.execute(page.where(*terms).order_by(E.started_at.desc(), E.id.desc())
                               .limit(limit).offset(offset)).all()
    rows = [(row[0], row[1] if moment_key else None) for row in found]
    ids = [evaluation.id for evaluation, _ in rows]

    answer_notes: dict[int, list[AnswerNote]] = {}
    photos: dict[int, list[PhotoRef]] = {}
    if ids:
        note_stmt = (
            select(Answer.evaluation_id, Answer.moment_key, Answer.question_key, Question.text, Question.type,
                   Answer.value, Answer.note)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.evaluation_id.in_(ids))
            .where((Answer.note != "") | ((Question.type == "text") & Answer.value.is_not(None) & (Answer.value != "")))
            .order_by(Answer.evaluation_id, Answer.id)
        )
        if moment_key:
            note_stmt = note_stmt.where(Answer.moment_key == moment_key)
        for evaluation_id, mkey, qkey, qtext, qtype, value, note in db.session.execute(note_stmt):
            items = answer_notes.setdefault(evaluation_id, [])
            if qtype == "text" and value and value != "na":
                items.append(AnswerNote(mkey, qkey, qtext, value))
            if note:
                items.append(AnswerNote(mkey, qkey, qtext, note))
        photo_stmt = select(Photo).where(Photo.org_id == org.id, Photo.evaluation_id.in_(ids)).order_by(Photo.id)
        if moment_key:
            photo_stmt = photo_stmt.where(Photo.public_id.in_(
                select(Answer.value).where(Answer.evaluation_id.in_(ids), Answer.moment_key == moment_key)))
        for photo in db.session.scalars(photo_stmt):
            photos.setdefault(photo.evaluation_id, []).append(
                PhotoRef(photo.public_id, PHOTO_URL.format(public_id=photo.public_id), photo.width, photo.height))

    locations = {loc.id: loc for loc in _location_refs(org, {e.location_id for e, _ in rows})}
    items = [
        DrillItem(
            evaluation_id=e.id, started_at=e.started_at, location=locations[e.location_id], source=e.source,
            status=e.status, score=e.score, moment_score=mr.score if mr else None, verdict=mr.verdict if mr else None,
            critical_fail=bool(mr.critical_fail) if mr else False,
            duration_seconds=mr.duration_seconds if mr else None, moment_note=(mr.note or "") if mr else "",
            notes=e.notes or "", answer_notes=answer_notes.get(e.id, []), photos=photos.get(e.id, []),
        )
        for e, mr in rows
    ]
    return Drilldown(moment=moment, location=location, total=int(total), offset=offset, limit=limit, items=items)


# --- index ---------------------------------------------------------------------------------------------------


def journey_headlines(org, *, days: int = 90, today: date | None = None, source: str | None = DEFAULT_SOURCE,
                      status: str = DEFAULT_STATUS, scope: PlaceScope | None = None) -> list[JourneyHeadline]:
    """Every live journey of the organisation with its score over the last `days` days and over all time
    (secret shoppers' evaluations that count, unless told otherwise: the same default as the dashboard).
    A place-scoped viewer's `scope`: their locations' approved secret-shopper evaluations only."""
    if scope is not None:
        source, status = SCOPED_SOURCE, "approved"
    today = today or local_today(org.timezone)
    since, _ = local_day_bounds(today - timedelta(days=days - 1), None, org.timezone)
    journeys = list(db.session.scalars(
        select(Journey).where(Journey.org_id == org.id, Journey.archived.is_(False)).order_by(Journey.name)))
    if not journeys:
        return []
    recent = E.started_at >= since
    stats = {
        row[0]: row[1:]
        for row in db.session.execute(
            select(E.journey_id, _count_if(recent), func.sum(case((recent, E.score), else_=None)),
                   func.count(case((recent, E.score), else_=None)), func.count(), func.sum(E.score),
                   func.count(E.score), func.max(E.started_at))
            .where(E.org_id == org.id, E.status.in_(STATUS_FILTERS[status]), E.journey_id.in_([j.id for j in journeys]),
                   *([E.source == source] if source else []),
                   *([E.location_id.in_(sorted(scope.location_ids) or [-1])] if scope is not None else []))
            .group_by(E.journey_id)
        )
    }
    moment_counts = dict(db.session.execute(
        select(Moment.version_id, func.count()).where(
            Moment.version_id.in_([j.current_version_id for j in journeys if j.current_version_id]))
        .group_by(Moment.version_id)
    ).all())
    result = []
    for j in journeys:
        recent_count, recent_total, recent_n, all_count, all_total, all_n, last_at = stats.get(
            j.id, (0, None, 0, 0, None, 0, None))
        result.append(JourneyHeadline(
            journey_id=j.id, name=j.name, moments=moment_counts.get(j.current_version_id, 0),
            evaluations=int(recent_count or 0), score=float(recent_total) / recent_n if recent_n else None,
            all_evaluations=int(all_count or 0), all_score=float(all_total) / all_n if all_n else None,
            last_at=last_at,
        ))
    return result


# --- the dashboard page: sections that share their scans -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dashboard:
    scorecard: Scorecard
    heatmap: Heatmap
    trend: Trend
    gap: list[GapRow]
    beside: SourceHeadline | None
    praise: list[LocationPraise]


def dashboard(org, filters: Filters, grain: str = "month", *, today: date | None = None,
              notes_per_moment: int = 2) -> Dashboard:
    """Every section of the dashboard page, the same numbers as scorecard(), heatmap(), trend(),
    perception_gap(), other_source_headline() and magical_moments() give one by one, from fewer scans: one scan
    of the moment results grouped by moment, comparison bucket, source and location gives the scorecard's
    moments, the gap, the heatmap's cells, the trend's cells and the magical moments' counts (grouped by local
    period too); one of the evaluations gives the headline, the other side's headline, the heatmap's totals and the
    trend's overall line."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    journey = load_journey(org, filters.journey_id)
    window = _scan_window(org, filters, today or local_today(org.timezone), both_sources=True)
    terms = _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))  # the period's rows
    span = _span(terms)
    period = None if span is None else _local_period(org, grain, span)
    evaluation_groups = _scan_evaluations(window, by_location=True, period=period, grain=grain)
    moment_groups = _scan_moments(window, by_location=True, period=period, grain=grain)
    card, gap_aggs, sides = _build_scorecard(journey, filters, window, _sum_out(evaluation_groups, keep=2),
                                             _sum_out(moment_groups, keep=3))
    gap = [] if filters.scoped else _gap_rows(journey, gap_aggs)
    beside = None
    if filters.source is not None and not filters.scoped:
        other = "staff" if filters.source == "shopper" else "shopper"
        count, agg = sides.get(other, (0, _Agg()))
        beside = SourceHeadline(other, count, agg.estimate())

    # The heatmap's, the trend's and the magical moments' rows: the period's, of the filter's source (`terms`). A row
    # outside them may carry a wrong local period (the span bounds the time zone's transitions): it is not used.
    def shown(bucket, source) -> bool:
        return bucket in window.in_period and (filters.source is None or source == filters.source)

    cells: dict[tuple[int, str], tuple] = {}
    trend_sums: dict[tuple[str, str], tuple] = {}
    for (key, bucket, source, location_id, local_period), figures in moment_groups.items():
        if shown(bucket, source):
            n, total, _sq, magical, _neutral, _miserable, verdicts, *_ = figures
            cells[(location_id, key)] = _add(cells.get((location_id, key)), (n, total, magical, verdicts))
            trend_sums[(local_period, key)] = _add(trend_sums.get((local_period, key)), (n, total))
    totals: dict[int, tuple] = {}
    trend_overall: dict[str, tuple] = {}
    for (bucket, source, location_id, local_period), (n, total, _sq, count, *_) in evaluation_groups.items():
        if shown(bucket, source):
            totals[location_id] = _add(totals.get(location_id), (n, total, count))
            trend_overall[local_period] = _add(trend_overall.get(local_period), (n, total))
    heat, counts = _build_heatmap(org, journey, cells, totals)
    praise = _praise(org, journey, terms, counts, notes_per_moment)
    trend_numbers = _build_trend(org, journey, filters, grain, span, trend_sums, trend_overall)
    return Dashboard(scorecard=card, heatmap=heat, trend=trend_numbers, gap=gap, beside=beside, praise=praise)
