"""The scoring rules of contract section 3: answer, moment and evaluation scores, bands, remembered score.

Sums use math.fsum so a score does not depend on the order of the answers (plain float sums can differ
in the last digit), and weighted means are clamped to the range of their inputs for the same reason.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from auditapp.journeys.spec import OptionSpec, parse_target

from .values import ParsedValue

MNM_SCORES = {"miserable": 0.0, "neutral": 0.5, "magical": 1.0}
YES_NO_SCORES = {"yes": 1.0, "no": 0.0}
DEFAULT_BANDS = (50.0, 80.0)
SHOWN_DECIMALS = 2  # a score closer to a band edge than this is cut towards its band, not rounded across it


def answer_score(
    qtype: str, value: ParsedValue | None, *, options: Iterable[OptionSpec] = (), target: str | None = None
) -> float | None:
    """An answer's score in [0, 1], or None for no score (text, photo, N/A, unanswered, unscored)."""
    if value is None or value.na:
        return None
    if qtype == "yes_no":
        return YES_NO_SCORES.get(value.text or "")
    if qtype == "mnm":
        return MNM_SCORES.get(value.text or "")
    if qtype == "rating":
        return (_number(value) - 1.0) / 4.0
    if qtype == "number":
        return _target_score(_number(value), target)
    if qtype == "choice":
        return _option_score(value.text, options)
    return None


def _number(value: ParsedValue) -> float:
    return value.number if value.number is not None else float(value.text or "nan")


def _target_score(number: float, target: str | None) -> float | None:
    if not target or not target.strip():
        return None
    operator, limit = parse_target(target)
    met = number <= limit if operator == "<=" else number >= limit
    return 1.0 if met else 0.0


def _option_score(label: str | None, options: Iterable[OptionSpec]) -> float | None:
    wanted = (label or "").casefold()
    for option in options:
        if option.label.casefold() == wanted:
            return option.score
    return None


@dataclass(frozen=True, slots=True)
class ItemResult:
    weight: float
    fraction: float | None  # 0.0-1.0 earned; None = no score (N/A, unanswered, text...)
    critical: bool = False


@dataclass(frozen=True, slots=True)
class MomentScore:
    score: float | None  # 0-100
    critical_fail: bool


def score_moment(items: Iterable[ItemResult]) -> MomentScore:
    """100 * sum(w*s) / sum(w) over scored items; a critical item scoring 0 makes the moment 0 and a fail."""
    scored = [item for item in items if item.fraction is not None]
    for item in scored:
        _check_weight(item.weight)
        if not 0.0 <= item.fraction <= 1.0:
            raise ValueError(f"an answer's score must be between 0 and 1, not {item.fraction}")
    if any(item.critical and item.fraction == 0 for item in scored):
        return MomentScore(0.0, True)
    mean = _weighted_mean([(item.weight, item.fraction) for item in scored])
    return MomentScore(None if mean is None else 100.0 * mean, False)


def score_evaluation(moments: Iterable[tuple[float, float | None]]) -> float | None:
    """sum(W*m) / sum(W) over (moment weight W, moment score m) pairs with a score; None if nothing counts."""
    scored = [(weight, score) for weight, score in moments if score is not None]
    for weight, _ in scored:
        _check_weight(weight)
    return _weighted_mean(scored)


def _check_weight(weight: float) -> None:
    if not (math.isfinite(weight) and weight >= 0):
        raise ValueError(f"weights must be finite and not negative, not {weight}")


def _weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    total_weight = math.fsum(weight for weight, _ in pairs)
    if total_weight == 0:
        return None
    mean = math.fsum(weight * value for weight, value in pairs) / total_weight
    # Rounding in the products can push the mean a hair outside its inputs (100.00000000000001).
    counted = [value for weight, value in pairs if weight > 0]
    return min(max(mean, min(counted)), max(counted))


def score_band(score: float | None, bands: tuple[float, float] = DEFAULT_BANDS) -> str | None:
    """The band word: miserable below bands[0], neutral below bands[1], else magical; None for no score.

    The one band rule of the product: always given the unrounded score. Screens, files and charts show the score
    with shown_score(), which never contradicts the band decided here.
    """
    if score is None:
        return None
    low, high = bands
    if score < low:
        return "miserable"
    return "neutral" if score < high else "magical"


def round_half_up(score: float, places: int = 0, rounding: str = ROUND_HALF_UP) -> Decimal:
    """As spreadsheets round for display: half up, from the shortest repr (49.95 -> 50.0, not the binary 49.9499...)."""
    return Decimal(repr(float(score))).quantize(Decimal(1).scaleb(-places), rounding=rounding)


def shown_score(score: float | None, bands: tuple[float, float] = DEFAULT_BANDS) -> Decimal | None:
    """The score as screens, files and charts show it: whole points, half up, with one or two decimals only where
    whole points would carry it across a band edge (49.88 under "miserable below 50" shows as 49.9, not as 50).

    The number shown always lies in the band score_band() gives the unrounded score.
    """
    if score is None:
        return None
    band = score_band(score, bands)
    for places in range(SHOWN_DECIMALS + 1):
        value = round_half_up(score, places)
        if score_band(float(value), bands) == band:
            return value
    # Within 0.005 of an edge: cut towards the score's own band rather than round across the edge.
    return round_half_up(score, SHOWN_DECIMALS, ROUND_FLOOR if float(value) > score else ROUND_CEILING)


def shown_places(score: float | None, bands: tuple[float, float] = DEFAULT_BANDS) -> int:
    """How many decimals shown_score() uses for this score (0 for most; for a spreadsheet's number format)."""
    value = shown_score(score, bands)
    return 0 if value is None else max(0, -value.as_tuple().exponent)


def score_text(score: float | None, bands: tuple[float, float] = DEFAULT_BANDS) -> str:
    """shown_score() as text, "–" for no score."""
    value = shown_score(score, bands)
    return "–" if value is None else str(value)


def remembered_score(moment_scores_in_order: Sequence[float | None]) -> float | None:
    """Peak-end rule: the mean of the first, the worst and the last scored moment (one may count twice)."""
    scored = [score for score in moment_scores_in_order if score is not None]
    if not scored:
        return None
    return (scored[0] + min(scored) + scored[-1]) / 3.0
