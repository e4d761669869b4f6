"""Where it fails: checklist items' failure rates and which item made a critical fail, in grouped SQL.

An answer *fails* when it earned nothing (score 0: a "no", a miserable verdict, a rating of 1, a number off
target): the same rule that makes a critical item a critical fail (scoring.rules). Answers without a score
(N/A, text, photos) are not counted in n. Filters mean what they mean everywhere (results.queries._conditions).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import Integer, and_, cast, func, select

from ..evaluations.models import Answer, Evaluation
from ..extensions import db
from ..journeys.models import Question
from .queries import LOW_N, Filters, _bounds, _conditions, comparison_for, journey_moments, load_journey

E = Evaluation


@dataclass(frozen=True, slots=True)
class ItemFailure:
    moment_key: str
    moment_name: str
    question_key: str
    text: str
    critical: bool
    n: int  # scored answers in the period
    failed: int
    previous_n: int  # the comparison's previous window (results.queries.comparison_for)
    previous_failed: int
    current_n: int  # the comparison's current window (the period itself when it has a start date)
    current_failed: int

    @property
    def rate(self) -> float | None:
        return self.failed / self.n if self.n else None

    @property
    def change(self) -> float | None:
        """Percentage points of failures, current window minus previous (None without both sides)."""
        if not self.previous_n or not self.current_n:
            return None
        return 100 * (self.current_failed / self.current_n - self.previous_failed / self.previous_n)

    @property
    def low_n(self) -> bool:
        return self.n < LOW_N


def item_failures(org, filters: Filters, *, moment_key: str | None = None, today: date | None = None
                  ) -> list[ItemFailure]:
    """Every scored checklist item under `filters` (one moment's, or all), most failed first: one GROUP BY."""
    journey = load_journey(org, filters.journey_id)
    from ..timeutil import local_today

    comparison = comparison_for(filters, today or local_today(org.timezone))
    current_start, _ = _bounds(org, comparison.current.date_from, None)
    previous_start, _ = _bounds(org, comparison.previous.date_from, None)
    _, end = _bounds(org, filters.date_from, filters.date_to)
    # One scan from the previous window on: the period is the current window when it has a start date.
    terms = _conditions(org, filters, previous_start if filters.date_from else None, end)
    in_current = E.started_at >= current_start
    in_previous = and_(E.started_at >= previous_start, E.started_at < current_start)
    in_period = in_current if filters.date_from else None
    failed = Answer.score == 0

    def count(condition=None, fail=False):
        terms = [c for c in (condition, failed if fail else None) if c is not None]
        if not terms:
            return func.count(Answer.score)
        return func.coalesce(func.sum(cast(and_(*terms), Integer)), 0)

    stmt = (
        select(Answer.moment_key, Answer.question_key, func.max(Question.text), func.max(cast(Question.critical, Integer)),
               count(in_period), count(in_period, fail=True), count(in_previous), count(in_previous, fail=True),
               count(in_current), count(in_current, fail=True))
        .join(E, E.id == Answer.evaluation_id).join(Question, Question.id == Answer.question_id)
        .where(*terms, Answer.score.is_not(None))
        .group_by(Answer.moment_key, Answer.question_key)
    )
    if moment_key:
        stmt = stmt.where(Answer.moment_key == moment_key)
    rows = db.session.execute(stmt).all()
    names = {m.key: m.name for m in journey_moments(journey, {r[0] for r in rows})}
    items = [
        ItemFailure(mkey, names.get(mkey, mkey), qkey, text or qkey, bool(critical), int(n or 0), int(f or 0),
                    int(pn or 0), int(pf or 0), int(cn or 0), int(cf or 0))
        for mkey, qkey, text, critical, n, f, pn, pf, cn, cf in rows
    ]
    items = [i for i in items if i.n]
    items.sort(key=lambda i: (-(i.rate or 0), -i.failed, i.moment_key, i.question_key))
    return items


def most_failed(items: Iterable[ItemFailure], *, limit: int = 5, min_n: int = LOW_N) -> list[ItemFailure]:
    """The items failed most often (at least `min_n` answers and one failure), highest rate first."""
    return [i for i in items if i.n >= min_n and i.failed][:limit]


def critical_fail_items(org, filters: Filters, evaluation_ids: Iterable[int], *, moment_key: str | None = None
                        ) -> dict[tuple[int, str], list[str]]:
    """(evaluation id, moment key) -> the critical items that failed there, in checklist order: one SELECT."""
    ids = sorted(set(evaluation_ids))
    if not ids:
        return {}
    stmt = (
        select(Answer.evaluation_id, Answer.moment_key, Question.text)
        .join(Question, Question.id == Answer.question_id).join(E, E.id == Answer.evaluation_id)
        .where(E.org_id == org.id, Answer.evaluation_id.in_(ids), Question.critical.is_(True), Answer.score == 0)
        .order_by(Answer.evaluation_id, Question.position, Answer.id)
    )
    if moment_key:
        stmt = stmt.where(Answer.moment_key == moment_key)
    found: dict[tuple[int, str], list[str]] = {}
    for evaluation_id, mkey, text in db.session.execute(stmt):
        found.setdefault((evaluation_id, mkey), []).append(text)
    return found


def for_location(filters: Filters, location_id: int | None) -> Filters:
    return replace(filters, location_id=location_id) if location_id else filters

