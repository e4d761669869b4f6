"""Pure scoring arithmetic and statistics: dataclasses in, dataclasses out.

Imports no Flask, SQLAlchemy or WTForms, so everything here is unit-tested without an app.
"""
from .rules import (
    DEFAULT_BANDS,
    ItemResult,
    MomentScore,
    answer_score,
    remembered_score,
    score_band,
    score_evaluation,
    score_moment,
    score_text,
    shown_places,
    shown_score,
)
from .stats import ChangeSignal, Estimate, change_signal, cusum, estimate, perception_gap, t_quantile, welch_test
from .values import AnswerError, ParsedValue, parse_value

__all__ = [
    "DEFAULT_BANDS",
    "AnswerError",
    "ChangeSignal",
    "Estimate",
    "ItemResult",
    "MomentScore",
    "ParsedValue",
    "answer_score",
    "change_signal",
    "cusum",
    "estimate",
    "parse_value",
    "perception_gap",
    "remembered_score",
    "score_band",
    "score_evaluation",
    "score_moment",
    "score_text",
    "shown_places",
    "shown_score",
    "t_quantile",
    "welch_test",
]
