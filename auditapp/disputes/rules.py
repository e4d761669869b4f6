"""The pure rules of disputes: the window after approval, and the scores after an accepted dispute. No Flask, no
database: plain values in, plain values out (tested in tests/unit/test_dispute_rules.py).

The window: a visit approved on local day D (the organisation's time zone) may be disputed until the end of local day
D + N, N being the organisation's `dispute_window_days` (0 turns disputes off). Whole local days, so the deadline is
the same wall-clock midnight whatever daylight-saving change falls in between, and a person reads it as a date.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..scoring.rules import ItemResult, MomentScore, remembered_score, round_half_up, score_evaluation, score_moment
from ..timeutil import local_day_bounds, to_local

DEFAULT_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True)
class Window:
    open: bool
    last_day: date | None  # the last local day a dispute may be opened (None: no approval, or disputes off)
    closes_at: datetime | None  # naive UTC, exclusive: the local midnight after last_day
    message: str  # why it is closed, or until when it is open, in words


def dispute_window(approved_at: datetime | None, days: int | None, tz_name: str | None, now: datetime) -> Window:
    """Whether a visit approved at `approved_at` (naive UTC) may be disputed at `now` (naive UTC)."""
    days = DEFAULT_WINDOW_DAYS if days is None else days
    if days <= 0:
        return Window(False, None, None, "Your organisation does not take disputes (the dispute window is 0 days).")
    if approved_at is None:
        return Window(False, None, None, "This visit has no approval time recorded, so it cannot be disputed.")
    last_day = to_local(approved_at, tz_name).date() + timedelta(days=days)
    _, closes_at = local_day_bounds(None, last_day, tz_name)
    approved_on = to_local(approved_at, tz_name).date()
    span = f"{days} day{'s' if days != 1 else ''} after its approval on {approved_on.isoformat()}"
    if closes_at is not None and now >= closes_at:
        return Window(False, last_day, closes_at,
                      f"The time to dispute this visit ended on {last_day.isoformat()} ({span}).")
    return Window(True, last_day, closes_at, f"Answers of this visit may be disputed until the end of "
                                             f"{last_day.isoformat()} ({span}).")


@dataclass(frozen=True, slots=True)
class StoredMoment:
    """One moment of an evaluation as stored: its key, weight and score, in timeline order."""

    key: str
    weight: float
    score: float | None


@dataclass(frozen=True, slots=True)
class Rescored:
    moment: MomentScore  # the disputed moment, recomputed from its answers
    score: float | None  # the evaluation's score
    remembered_score: float | None


def rescore(moments: Sequence[StoredMoment], moment_key: str, items: Iterable[ItemResult]) -> Rescored:
    """The scores after one moment's answers changed: that moment from `items` (its answers after the change), the
    evaluation from every moment's score, exactly as a submission computes them (scoring.rules)."""
    if moment_key not in {m.key for m in moments}:
        raise ValueError(f"no moment {moment_key!r} in this evaluation")
    moment = score_moment(items)
    scores = [(m.weight, moment.score if m.key == moment_key else m.score) for m in moments]
    return Rescored(moment=moment, score=score_evaluation(scores),
                    remembered_score=remembered_score([score for _, score in scores]))


# --- the query rate -------------------------------------------------------------------------------------------------

BASELINE = (0.03, 0.05)  # the industry's usual share of evaluations that are queried
BASELINE_TEXT = "The industry baseline is 3–5% of evaluations queried."


def rate_text(rate: float | None) -> str:
    """0.0425 -> "4.3%"; "–" when there is nothing to divide by."""
    if rate is None:
        return "–"
    percent = round_half_up(rate * 100, 1)
    return f"{percent:f}".removesuffix(".0") + "%"


def baseline_note(rate: float | None) -> str:
    """How a location's query rate compares with the 3–5% baseline, in words (never colour alone)."""
    if rate is None:
        return "No approved visits"
    low, high = BASELINE
    if rate < low:
        return "Below the 3–5% baseline"
    if rate <= high:
        return "Within the 3–5% baseline"
    return "Above the 3–5% baseline"
