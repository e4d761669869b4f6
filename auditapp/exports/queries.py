"""Raw rows for exports that results.queries does not give: answers, notes, and intervals per grid cell.

Filters mean exactly what they mean on the dashboard: the WHERE terms come from results.queries, the one source
of result numbers. Answers and notes are single joined SELECTs streamed in batches (`yield_per`: a server-side
cursor on PostgreSQL, a stepping cursor on SQLite), so memory does not grow with the number of answers and no
query runs per row.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, literal, select, union_all

from ..auth.models import Membership, User
from ..evaluations.models import Answer, Evaluation, EvaluationFlag, MomentResult
from ..extensions import db
from ..journeys.models import JourneyVersion, Moment, Question
from ..journeys.spec import CHANNELS, KINDS
from ..locations.models import Location
from ..results import findings as fnd
from ..results import queries as rq
from ..results import where
from ..results.queries import Filters, _bounds, _conditions
from ..results.sqlhelpers import local_period_key
from ..scoring.stats import Estimate, estimate
from ..timeutil import local_today, to_local, utcnow
from .scorecard import GapLine, GridRow, LocationCard, MomentLine, NoteRow, QueryLine, ResponseRow, Scorecard, Stat

BATCH = 2000
E, MR = Evaluation, MomentResult
NUMBER_TYPES = ("rating", "number")


def _terms(org, filters: Filters) -> list:
    return _conditions(org, filters, *_bounds(org, filters.date_from, filters.date_to))


class _LocalTimes:
    """UTC -> local naive time; rows come ordered by visit, so the last conversion is usually the next one."""

    def __init__(self, tz: str):
        self.tz = tz
        self.last: tuple[datetime | None, datetime | None] = (None, None)

    def __call__(self, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if self.last[0] != value:
            self.last = (value, to_local(value, self.tz).replace(tzinfo=None))
        return self.last[1]


def flags_by_evaluation(org, filters: Filters) -> dict[int, str]:
    """Evaluation id -> its integrity flag codes ("short_visit, reused_photo"); flags are few, so loaded up front."""
    flags: dict[int, list[str]] = {}
    stmt = (select(EvaluationFlag.evaluation_id, EvaluationFlag.code).join(E, E.id == EvaluationFlag.evaluation_id)
            .where(*_terms(org, filters)).order_by(EvaluationFlag.evaluation_id, EvaluationFlag.id))
    for evaluation_id, code in db.session.execute(stmt):
        flags.setdefault(evaluation_id, []).append(code)
    return {key: ", ".join(dict.fromkeys(codes)) for key, codes in flags.items()}


ANONYMOUS = "Secret shopper"  # what a place-scoped viewer reads instead of the shopper's name


def responses_statement(org, filters: Filters):
    """The SELECT behind responses(): every answer of the counted evaluations under `filters`, in file order."""
    return (
        select(E.started_at, E.id, Location.code, Location.name, E.source, User.name, JourneyVersion.number,
               Answer.moment_key, Moment.name, Answer.question_key, Question.text, Question.type, Answer.value,
               Answer.number, Answer.score, Answer.note, E.status)
        .select_from(Answer)
        .join(E, E.id == Answer.evaluation_id)
        .join(Location, Location.id == E.location_id)
        .join(JourneyVersion, JourneyVersion.id == E.version_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Moment, Moment.id == Question.moment_id)
        .outerjoin(User, User.id == E.evaluator_id)
        .where(*_terms(org, filters))
        .order_by(E.started_at, E.id, Moment.position, Question.position, Answer.id)
    )


def responses(org, filters: Filters, *, batch: int = BATCH, plain: bool = False) -> Iterator[ResponseRow]:
    """One row per stored answer of the counted evaluations under `filters`: by visit, then timeline order.

    For a place-scoped viewer (filters.scoped) the shopper is not named and the reviewer's integrity flags are left
    out: the sites see the reviewed result, not who made it or how it was checked. `plain`: plain tuples in the
    order of ResponseRow's fields (the CSV download, which makes a million of them, does not need the names)."""
    flags = {} if filters.scoped else flags_by_evaluation(org, filters)
    hide = filters.scoped
    local = _LocalTimes(org.timezone)
    stmt = responses_statement(org, filters)
    make = tuple if plain else ResponseRow._make
    last_id, started, who, flagged = None, None, "", ""
    for part in _driver_rows(stmt, batch):
        for (started_at, evaluation_id, code, location, source, evaluator, version, moment_key, moment, question_key,
             question, qtype, value, number, score, note, status) in part:
            if evaluation_id != last_id:  # rows come by visit: these change only with the visit
                if started_at.__class__ is str:  # SQLite's text
                    started_at = datetime.fromisoformat(started_at)
                last_id, started = evaluation_id, local(started_at)
                who, flagged = ANONYMOUS if hide else evaluator or "", flags.get(evaluation_id, "")
            answer = number if (number is not None and qtype in NUMBER_TYPES) else value
            yield make((started, evaluation_id, code, location, source, who, version, moment_key, moment,
                        question_key, question, answer, score, note or "", status, flagged))


def _driver_rows(stmt, batch: int) -> Iterator[list[tuple]]:
    """The rows of `stmt` as the database driver gives them, `batch` at a time, without SQLAlchemy's per-row work
    (a Row object and type conversions per value: most of the time of a million-row download).

    The statement is compiled by SQLAlchemy and its parameters go through their types' bind processors (a datetime
    becomes SQLite's stored text), so it means exactly what it means when SQLAlchemy runs it. PostgreSQL reads
    through a server-side cursor and SQLite steps its cursor, so memory does not grow with the rows. Values come
    raw: SQLite's datetimes are text, booleans 0/1 (the caller converts the few it needs)."""
    conn = db.session.connection()
    sql, params = driver_sql(stmt)
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"responses_{id(stmt):x}")  # server-side: the server keeps the rows
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def driver_sql(stmt) -> tuple[str, object]:
    """`stmt` compiled for the session's database: the SQL text and its parameters as the driver takes them."""
    dialect = db.session.connection().dialect
    compiled = stmt.compile(dialect=dialect)
    values = compiled.construct_params()
    for name, bind in compiled.binds.items():
        process = bind.type._cached_bind_processor(dialect)
        if process is not None and name in values:
            value = values[name]
            values[name] = [process(v) for v in value] if isinstance(value, list | tuple) else process(value)
    expanded = compiled.construct_expanded_state(values)  # IN (...) lists rendered as one parameter each
    if compiled.positional:
        return expanded.statement, tuple(expanded.parameters[name] for name in expanded.positiontup)
    return expanded.statement, expanded.parameters


def notes(org, filters: Filters, *, batch: int = BATCH) -> Iterator[NoteRow]:
    """Every note with its context: the evaluation's notes, each moment's note, each answer's note."""
    terms = _terms(org, filters)
    common = (E.started_at.label("started_at"), E.id.label("evaluation_id"), Location.code.label("code"),
              Location.name.label("location"), E.source.label("source"), User.name.label("evaluator"))

    def base(stmt):
        return (stmt.join(Location, Location.id == E.location_id).outerjoin(User, User.id == E.evaluator_id)
                .where(*terms))

    on_evaluation = base(select(*common, literal("Evaluation").label("context"), literal(0).label("part"),
                                literal("").label("moment_key"), literal("").label("moment_name"),
                                literal(-1).label("moment_position"), literal("").label("question_key"),
                                literal("").label("question_text"), literal(-1).label("question_position"),
                                E.notes.label("note"))
                         .select_from(E).where(E.notes.is_not(None), E.notes != ""))
    on_moment = base(select(*common, literal("Moment"), literal(1), MR.moment_key, Moment.name, Moment.position,
                            literal(""), literal(""), literal(-1), MR.note)
                     .select_from(MR).join(E, E.id == MR.evaluation_id).join(Moment, Moment.id == MR.moment_id)
                     .where(MR.note.is_not(None), MR.note != ""))
    on_answer = base(select(*common, literal("Answer"), literal(2), Answer.moment_key, Moment.name, Moment.position,
                            Answer.question_key, Question.text, Question.position, Answer.note)
                     .select_from(Answer).join(E, E.id == Answer.evaluation_id)
                     .join(Question, Question.id == Answer.question_id).join(Moment, Moment.id == Question.moment_id)
                     .where(Answer.note.is_not(None), Answer.note != ""))
    every = union_all(on_evaluation, on_moment, on_answer).subquery()
    c = every.c
    stmt = (select(c.started_at, c.evaluation_id, c.code, c.location, c.source, c.evaluator, c.context, c.moment_key,
                   c.moment_name, c.question_key, c.question_text, c.note)
            .order_by(c.started_at, c.evaluation_id, c.moment_position, c.part, c.question_position)
            .execution_options(yield_per=batch))
    local = _LocalTimes(org.timezone)
    hide = filters.scoped
    for started_at, evaluation_id, code, location, source, evaluator, *rest in db.session.connection().execute(stmt):
        yield NoteRow(local(started_at), evaluation_id, code, location, source, ANONYMOUS if hide else evaluator or "",
                      *rest)


def cell_intervals(org, filters: Filters, by: str, *, grain: str = "month") -> tuple[
    dict[tuple[object, str], Estimate], dict[object, Estimate]
]:
    """95% intervals per (location id or period key, moment key) and per group overall, in two GROUP BY queries.

    results.heatmap() and trend() give n and mean per cell; this adds the sum of squares the interval needs,
    with the same WHERE terms and the same local-period grouping, so n and mean agree with them exactly.
    """
    terms = _terms(org, filters)
    if by == "location":
        group = E.location_id
    elif by == "period":
        first, last = db.session.execute(select(func.min(E.started_at), func.max(E.started_at)).where(*terms)).one()
        if first is None:
            return {}, {}
        dialect = db.session.get_bind().dialect.name
        group = local_period_key(E.started_at, grain, org.timezone, dialect, (first, last)).label("period")
    else:
        raise ValueError("by must be 'location' or 'period'")
    cells = {
        (key, moment_key): estimate(n, total, total_sq)
        for key, moment_key, n, total, total_sq in db.session.execute(
            select(group, MR.moment_key, func.count(MR.score), func.sum(MR.score), func.sum(MR.score * MR.score))
            .join(E, E.id == MR.evaluation_id).where(*terms).group_by(group, MR.moment_key))
    }
    overall = {
        key: estimate(n, total, total_sq)
        for key, n, total, total_sq in db.session.execute(
            select(group, func.count(E.score), func.sum(E.score), func.sum(E.score * E.score))
            .where(*terms).group_by(group))
    }
    return cells, overall


def text_widths(org, filters: Filters) -> dict[str, int]:
    """Longest location name, evaluator name, moment name and question text that can appear (small tables only)."""
    def longest(column):
        return func.max(func.length(column))

    widths = {}
    widths["location_name"] = db.session.scalar(select(longest(Location.name)).where(Location.org_id == org.id)) or 0
    widths["evaluator"] = db.session.scalar(
        select(longest(User.name)).join(Membership, Membership.user_id == User.id).where(Membership.org_id == org.id)
    ) or 0
    moments = (select(Moment.id).join(JourneyVersion, JourneyVersion.id == Moment.version_id)
               .where(JourneyVersion.journey_id == filters.journey_id))
    widths["moment_name"] = db.session.scalar(select(longest(Moment.name)).where(Moment.id.in_(moments))) or 0
    widths["moment_key"] = db.session.scalar(select(longest(Moment.key)).where(Moment.id.in_(moments))) or 0
    widths["question_text"] = db.session.scalar(select(longest(Question.text)).where(Question.moment_id.in_(moments))) or 0
    widths["question_key"] = db.session.scalar(select(longest(Question.key)).where(Question.moment_id.in_(moments))) or 0
    return {key: int(value) for key, value in widths.items()}


# --- the whole scorecard -------------------------------------------------------------------------------------


def _stat(n: int, score: float | None, interval: Estimate | None = None) -> Stat:
    interval = interval or Estimate(0, None, None, None)
    return Stat(n=int(n or 0), score=score, low=interval.low, high=interval.high)


def _moment_lines(moments) -> tuple[MomentLine, ...]:
    return tuple(
        MomentLine(
            key=m.key, name=m.name + (" (no longer in the journey)" if m.retired else ""), position=m.position,
            channel=CHANNELS.get(m.channel, m.channel or ""), kind=KINDS.get(m.kind or "", m.kind),
            priority=m.priority, stat=Stat(m.n, m.score, m.low, m.high), magical=m.magical, neutral=m.neutral,
            miserable=m.miserable, critical_fails=m.critical_fails, change=m.change,
            change_flagged=m.signal.flagged, change_reason=m.signal.reason,
        )
        for m in moments
    )


def filter_labels(org, filters: Filters) -> tuple[tuple[str, str], ...]:
    """The filters as the dashboard names them, for the Summary sheet."""
    labels = []
    if filters.location_id:
        location = db.session.get(Location, filters.location_id)
        labels.append(("Location", f"{location.code} {location.name}" if location else str(filters.location_id)))
    else:
        labels.append(("Location", "All locations"))
    if filters.region:
        labels.append(("Region", filters.region))
    labels.extend(filters.describe())
    if filters.period and filters.period in rq.PERIOD_PRESETS:
        labels.append(("Period", rq.PERIOD_PRESETS[filters.period]))
    return tuple(labels)


def _partial_note(period, grain: str, running: str, filters: rq.Filters) -> str:
    """Why a trend period holds only part of its days, or "" when it holds them all: a period drawn as whole
    would read as a drop when it is only short."""
    if period.key == running:
        return "so far"
    cut = rq.period_cut(period, grain, filters)
    return f"{cut[0]} {cut[1].isoformat()}" if cut else ""


def load_scorecard(org, filters: Filters, *, grain: str | None = None, today: date | None = None) -> Scorecard:
    """Everything the Excel scorecard shows for `filters`, numbers from results.queries; raw rows stream later.

    Raises results.queries.NotFound when the journey is not the organisation's.
    """
    today = today or local_today(org.timezone)
    card = rq.scorecard(org, filters, today=today)
    grain = grain if grain in rq.GRAINS else rq.default_grain(filters, today)
    moments = _moment_lines(card.moments)

    heat = rq.heatmap(org, filters)
    intervals, overall = cell_intervals(org, filters, "location")
    locations = tuple(
        GridRow(label=loc.name, code=loc.code, region=loc.region,
                overall=_stat(heat.totals.get(loc.id, rq.Cell(0, None)).n, heat.totals.get(loc.id, rq.Cell(0, None)).score,
                              overall.get(loc.id)),
                cells=tuple(_stat(heat.cell(loc.id, m.key).n, heat.cell(loc.id, m.key).score,
                                  intervals.get((loc.id, m.key))) for m in moments))
        for loc in heat.locations
    )

    trend = rq.trend(org, filters, grain)
    intervals, overall = cell_intervals(org, filters, "period", grain=grain)
    running = rq.period_key_for(today, grain)  # the period today is in: not over yet, its scores are "so far"
    cut = {p.key: _partial_note(p, grain, running, filters) for p in trend.periods}
    periods = tuple(
        GridRow(label=p.label, start=p.start, partial=bool(cut[p.key]), partial_note=cut[p.key],
                overall=_stat(trend.overall.get(p.key, rq.Cell(0, None)).n,
                              trend.overall.get(p.key, rq.Cell(0, None)).score, overall.get(p.key)),
                cells=tuple(_stat(trend.cell(p.key, m.key).n, trend.cell(p.key, m.key).score,
                                  intervals.get((p.key, m.key))) for m in moments))
        for p in trend.periods
    )

    gap_rows = rq.perception_gap(org, filters)
    gap = tuple(
        GapLine(key=g.key, name=g.name, gap=g.gap, flagged=g.flagged,
                shopper=Stat(g.shopper.n, g.shopper.mean, g.shopper.low, g.shopper.high),
                staff=Stat(g.staff.n, g.staff.mean, g.staff.low, g.staff.high))
        for g in gap_rows
    )
    first_day, last_day = evaluation_days(org, filters)
    found = scorecard_findings(org, filters, card, heat, gap_rows, today=today)

    from ..disputes.rules import BASELINE_TEXT, baseline_note
    from ..disputes.services import query_rates

    rate_lines, rate_total = query_rates(org, filters)

    def query_line(line) -> QueryLine:
        return QueryLine(code=line.code, name=line.name, region=line.region, approved=line.approved,
                         disputed=line.disputed, rate=line.rate, note=baseline_note(line.rate))

    def location_cards():
        for loc in heat.locations:
            one = rq.scorecard(org, replace(filters, location_id=loc.id), today=today)
            yield LocationCard(code=loc.code, name=loc.name, region=loc.region, evaluations=one.evaluations,
                               overall=Stat(one.estimate.n, one.score, one.estimate.low, one.estimate.high),
                               moments=_moment_lines(one.moments))

    return Scorecard(
        title=f"{card.journey_name} scorecard", organisation=org.name, journey=card.journey_name,
        journey_id=card.journey_id, generated_at=to_local(utcnow(), org.timezone).replace(tzinfo=None),
        timezone=org.timezone or "UTC", filters=filter_labels(org, filters), period_from=filters.date_from,
        period_to=filters.date_to, bands=(org.band_low, org.band_high), evaluations=card.evaluations,
        overall=Stat(card.estimate.n, card.score, card.estimate.low, card.estimate.high), moments=moments,
        comparison=card.comparison.explanation, locations=locations, trend=periods, trend_grain=grain, gap=gap,
        queries=tuple(query_line(line) for line in rate_lines), query_total=query_line(rate_total),
        query_baseline=BASELINE_TEXT,
        responses=lambda: responses(org, filters), notes=lambda: notes(org, filters), location_cards=location_cards,
        widths=text_widths(org, filters), first_day=first_day, last_day=last_day, findings=found,
    )


def evaluation_days(org, filters: Filters) -> tuple[date | None, date | None]:
    """The local dates of the first and last evaluation under `filters` (the period when it has no dates)."""
    first, last = db.session.execute(select(func.min(E.started_at), func.max(E.started_at))
                                     .where(*_terms(org, filters))).one()
    if first is None:
        return None, None
    return to_local(first, org.timezone).date(), to_local(last, org.timezone).date()


def scorecard_findings(org, filters: Filters, card, heat, gaps, *, today: date) -> tuple[str, ...]:
    """The Summary's opening findings (results.findings) from the numbers the sheets show."""
    moments = [fnd.MomentFact(m.key, m.name, m.n, m.score, m.change, m.signal.flagged and m.signal.direction == "down")
               for m in card.moments]
    items = [fnd.ItemFact(i.moment_name, i.text, i.n, i.failed)
             for i in where.item_failures(org, filters, today=today)]
    places = [fnd.PlaceFact(loc.name, heat.totals[loc.id].n, heat.totals[loc.id].score)
              for loc in heat.locations if loc.id in heat.totals]
    gap_facts = [fnd.GapFact(g.name, g.shopper.n, g.shopper.mean, g.staff.n, g.staff.mean) for g in gaps]
    return tuple(f.text for f in fnd.findings(moments, items, places, gap_facts, (org.band_low, org.band_high)))
