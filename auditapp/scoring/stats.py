"""Statistics from aggregates SQL can give (count, sum, sum of squares), so callers never load rows.

No scipy: the Student t distribution comes from the regularized incomplete beta function, evaluated with the
continued fraction of Numerical Recipes (betacf, modified Lentz). Quantiles invert that CDF by bisection, which
is exact to ~1e-12 for any degrees of freedom, including Welch's fractional ones; results are cached because
pages ask for the same few (p, df) pairs over and over.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

Aggregate = tuple[int, float, float]  # (n, sum, sum of squares)

_BETACF_MAX_ITER = 10_000  # the fraction needs ~sqrt(df) terms; thousands of evaluations stay far below this
_BETACF_EPS = 1e-15
_TINY = 1e-300


@dataclass(frozen=True, slots=True)
class Estimate:
    n: int
    mean: float | None
    low: float | None  # 95% interval, clipped to the scale
    high: float | None


@dataclass(frozen=True, slots=True)
class ChangeSignal:
    flagged: bool
    direction: str | None  # "down" / "up" whenever the means differ, flagged or not
    change: float | None  # current mean - previous mean, in points
    p_value: float | None
    reason: str  # one sentence for the page


def estimate(n: int, total: float | None, total_sq: float | None, *, lo: float = 0.0, hi: float = 100.0) -> Estimate:
    """Mean and 95% Student t interval clipped to [lo, hi]; one value gives the whole scale, none gives Nones."""
    n = int(n or 0)
    if n <= 0:
        return Estimate(0, None, None, None)
    mean = min(max(float(total or 0) / n, lo), hi)
    if n == 1:
        return Estimate(1, mean, lo, hi)
    half = t_quantile(0.975, n - 1) * math.sqrt(_variance(n, total, total_sq) / n)
    return Estimate(n, mean, max(lo, mean - half), min(hi, mean + half))


def _variance(n: int, total: float | None, total_sq: float | None) -> float:
    """Sample variance from aggregates; cancellation noise around zero counts as zero."""
    total, total_sq = float(total or 0), float(total_sq or 0)
    mean = total / n
    variance = (total_sq - total * mean) / (n - 1)
    # total_sq - total*mean loses ~16 digits of mean**2 * n; below that level the values were all equal.
    return 0.0 if variance <= 1e-12 * max(1.0, mean * mean) else variance


def welch_test(n1: int, sum1: float, sumsq1: float, n2: int, sum2: float, sumsq2: float) -> float | None:
    """Two-sided p-value of Welch's t-test for a difference of means; None when either side has n < 2."""
    n1, n2 = int(n1 or 0), int(n2 or 0)
    if n1 < 2 or n2 < 2:
        return None
    diff = float(sum1 or 0) / n1 - float(sum2 or 0) / n2
    se1, se2 = _variance(n1, sum1, sumsq1) / n1, _variance(n2, sum2, sumsq2) / n2
    if se1 + se2 == 0:  # both groups constant: the means either match exactly or differ for certain
        return 1.0 if diff == 0 else 0.0
    t = diff / math.sqrt(se1 + se2)
    df = (se1 + se2) ** 2 / (se1 * se1 / (n1 - 1) + se2 * se2 / (n2 - 1))
    return min(1.0, max(0.0, _two_sided_p(t, df)))


def _two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    return _betai(df / 2.0, 0.5, df / (df + t * t))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df > 0 degrees of freedom."""
    tail = _two_sided_p(t, df) / 2.0
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=1024)
def t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, by bisection on t_cdf (0 < p < 1, df > 0)."""
    if not 0.0 < p < 1.0 or not df > 0:
        raise ValueError("t_quantile needs 0 < p < 1 and df > 0")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if mid in (low, high):  # no float left between them
            break
        low, high = (mid, high) if t_cdf(mid, df) < p else (low, mid)
    return (low + high) / 2.0


def _betai(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (Numerical Recipes betai)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    # The continued fraction converges fast only on this side of the mean; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function, modified Lentz's method (Numerical Recipes betacf)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, _not_tiny(1.0 - qab * x / qap)
    d = 1.0 / d
    h = d
    for m in range(1, _BETACF_MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d, c = 1.0 / _not_tiny(1.0 + aa * d), _not_tiny(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d, c = 1.0 / _not_tiny(1.0 + aa * d), _not_tiny(1.0 + aa / c)
        step = d * c
        h *= step
        if abs(step - 1.0) < _BETACF_EPS:
            break
    return h


def _not_tiny(value: float) -> float:
    return value if abs(value) >= _TINY else _TINY


def change_signal(
    current: Aggregate, previous: Aggregate, *, min_n: int = 5, alpha: float = 0.05, min_change: float = 5.0
) -> ChangeSignal:
    """Has the mean score moved between two periods? Flagged only if significant AND big enough to matter."""
    n_cur, n_prev = int(current[0] or 0), int(previous[0] or 0)
    need = max(min_n, 2)  # Welch needs two values a side whatever the caller asks for
    if n_cur < need or n_prev < need:
        return ChangeSignal(False, None, None, None, f"Too few evaluations to judge (need {need} on each side)")
    change = float(current[1] or 0) / n_cur - float(previous[1] or 0) / n_prev
    p_value = welch_test(*current, *previous)
    direction = "down" if change < 0 else "up" if change > 0 else None
    counts = f"{_format_p(p_value)}, n = {n_cur} vs {n_prev}"
    if direction is None:
        return ChangeSignal(False, None, 0.0, p_value, f"No change ({counts})")
    moved = f"{'Fell' if change < 0 else 'Rose'} {abs(change):.1f} points"
    if p_value >= alpha:
        return ChangeSignal(False, direction, change, p_value, f"{moved}, which may be chance ({counts})")
    if abs(change) < min_change:
        return ChangeSignal(False, direction, change, p_value, f"{moved}, too small to flag ({counts})")
    return ChangeSignal(True, direction, change, p_value, f"{moved} ({counts})")


def _format_p(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def perception_gap(staff: Estimate, shopper: Estimate, *, threshold: float = 15.0, min_n: int = 3) -> tuple[
    float | None, bool
]:
    """Staff mean minus shopper mean; flagged when staff rate themselves `threshold` points higher."""
    if staff.mean is None or shopper.mean is None:
        return None, False
    gap = staff.mean - shopper.mean
    return gap, gap >= threshold and staff.n >= min_n and shopper.n >= min_n


def cusum(values: Sequence[float], target: float, k: float, h: float) -> int | None:
    """Index where the lower CUSUM first exceeds h (a sustained drop below target - k); None if it never does."""
    lower = 0.0
    for index, value in enumerate(values):
        lower = max(0.0, lower + (target - k) - value)
        if lower > h:
            return index
    return None
