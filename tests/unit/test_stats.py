"""Statistics from (n, sum, sum of squares) aggregates, checked against published and closed-form values.

Reference numbers come from scipy.stats (t.ppf, ttest_ind with equal_var=False) and R's t.test on the
`sleep` data set; they are written out here so the suite does not need scipy.
"""
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from auditapp.scoring.stats import (
    ChangeSignal,
    Estimate,
    change_signal,
    cusum,
    estimate,
    perception_gap,
    t_cdf,
    t_quantile,
    welch_test,
)


def agg(values):
    return len(values), float(sum(values)), float(sum(v * v for v in values))


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.706205),
        (0.975, 2, 4.302653),
        (0.975, 3, 3.182446),
        (0.975, 5, 2.570582),
        (0.975, 10, 2.228139),
        (0.975, 20, 2.085963),
        (0.975, 30, 2.042272),
        (0.975, 60, 2.000298),
        (0.975, 120, 1.979930),
        (0.975, 7.5, 2.333040),
        (0.975, 1e6, 1.959966),
        (0.9, 1, 3.077684),
        (0.9, 10, 1.372184),
        (0.995, 1, 63.656741),
        (0.995, 5, 4.032143),
        (0.995, 30, 2.749996),
        (0.025, 10, -2.228139),
        (0.5, 4, 0.0),
    ],
)
def test_t_quantile_matches_tables(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("t", [-30.0, -2.5, -0.3, 0.0, 0.7, 1.0, 4.0, 250.0])
def test_t_cdf_closed_forms(t):
    assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)  # Cauchy
    assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


def test_t_cdf_against_scipy_values():
    assert 2 * (1 - t_cdf(3.0, 4)) == pytest.approx(0.03994196807171883, rel=1e-9)
    assert t_cdf(-1.5, 2.5) == pytest.approx(0.12391822654314809, rel=1e-9)


@pytest.mark.parametrize("bad", [(0.0, 5), (1.0, 5), (0.5, 0), (1.2, 3)])
def test_t_quantile_rejects_bad_arguments(bad):
    with pytest.raises(ValueError):
        t_quantile(*bad)


def test_estimate_by_hand():
    values = [62.5, 75, 80, 90, 55, 70]
    result = estimate(*agg(values))
    assert result.n == 6
    assert result.mean == pytest.approx(72.08333333333333)
    assert result.low == pytest.approx(58.97413604867668, rel=1e-9)
    assert result.high == pytest.approx(85.19253061798997, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0, None, None), Estimate(0, None, None, None)),
        ((0, 0, 0), Estimate(0, None, None, None)),
        ((1, 40.0, 1600.0), Estimate(1, 40.0, 0.0, 100.0)),
        ((4, 400.0, 40000.0), Estimate(4, 100.0, 100.0, 100.0)),  # all equal: no spread
        ((3, 0.0, 0.0), Estimate(3, 0.0, 0.0, 0.0)),
    ],
)
def test_estimate_edge_cases(args, expected):
    assert estimate(*args) == expected


def test_estimate_clips_to_the_scale():
    result = estimate(*agg([0, 100, 100]))
    assert result.high == 100.0
    assert 0.0 <= result.low < result.mean
    assert estimate(*agg([2.0, 4.0]), lo=1.0, hi=5.0) == Estimate(2, 3.0, 1.0, 5.0)


def test_estimate_accepts_sql_style_aggregates():
    from decimal import Decimal

    assert estimate(2, Decimal("150"), Decimal("11300")).mean == 75.0


score_lists = st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=40)


@given(score_lists)
def test_estimate_contains_the_mean_within_the_scale(values):
    result = estimate(*agg(values))
    assert result.n == len(values)
    assert 0.0 <= result.low <= result.mean <= result.high <= 100.0
    assert result.mean == pytest.approx(sum(values) / len(values), abs=1e-9)


@given(score_lists)
def test_estimate_narrows_with_more_of_the_same(values):
    assume(len(values) >= 2)
    one, four = estimate(*agg(values)), estimate(*agg(values * 4))
    assert (four.high - four.low) <= (one.high - one.low) + 1e-9


def test_welch_matches_r_sleep_data():
    """R: t.test(extra ~ group, data = sleep) -> t = -1.8608, df = 17.776, p-value = 0.07939."""
    group1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    group2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    assert welch_test(*agg(group1), *agg(group2)) == pytest.approx(0.0793941401873583, rel=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([80, 90, 70, 100, 60], [50, 55, 45, 60, 40, 52, 48], 0.010313710319983745),
        ([100, 100, 50, 75], [100, 100, 100, 0], 0.8318968428050225),
    ],
)
def test_welch_matches_scipy(a, b, expected):
    assert welch_test(*agg(a), *agg(b)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([50], [40, 60], None),
        ([50, 60], [70], None),
        ([], [], None),
        ([70, 70, 70], [70, 70], 1.0),
        ([70, 70, 70], [60, 60], 0.0),
        ([60, 70, 80], [60, 70, 80], 1.0),
    ],
)
def test_welch_edge_cases(a, b, expected):
    assert welch_test(*agg(a), *agg(b)) == expected


def test_welch_with_one_constant_group_uses_the_other():
    # With group b constant, Welch reduces to a one-sample t-test of a against b's mean (df = n_a - 1).
    a, b = [60, 70, 80, 90], [50, 50, 50]
    t = (75 - 50) / math.sqrt((500 / 3) / 4)
    assert welch_test(*agg(a), *agg(b)) == pytest.approx(2 * (1 - t_cdf(t, 3)), rel=1e-12)


pairs = st.lists(st.floats(min_value=0, max_value=100), min_size=2, max_size=30)


@given(pairs, pairs)
def test_welch_p_in_range_and_symmetric(a, b):
    p = welch_test(*agg(a), *agg(b))
    assert 0.0 <= p <= 1.0
    assert welch_test(*agg(b), *agg(a)) == p


@given(pairs)
def test_welch_same_sample_is_not_significant(a):
    assert welch_test(*agg(a), *agg(a)) == 1.0


def test_change_signal_flags_a_significant_fall():
    previous = agg([80, 85, 90, 75, 80, 85, 90, 80])
    current = agg([60, 55, 65, 70, 60, 58])
    signal = change_signal(current, previous)
    assert signal.flagged
    assert signal.direction == "down"
    assert signal.change == pytest.approx(61.333333 - 83.125, abs=1e-5)
    assert signal.p_value < 0.001
    assert signal.reason == "Fell 21.8 points (p < 0.001, n = 6 vs 8)"


def test_change_signal_flags_a_rise_with_p_formatting():
    signal = change_signal(agg([80, 90, 70, 100, 60]), agg([50, 55, 45, 60, 40, 52, 48]))
    assert signal == ChangeSignal(True, "up", pytest.approx(30.0), pytest.approx(0.0103137, rel=1e-5),
                                  "Rose 30.0 points (p = 0.01, n = 5 vs 7)")


def test_change_signal_too_few():
    signal = change_signal(agg([10, 20, 30, 40]), agg([90, 95, 90, 95, 90]))
    assert signal == ChangeSignal(False, None, None, None, "Too few evaluations to judge (need 5 on each side)")
    assert change_signal(agg([50]), agg([60]), min_n=1).reason.endswith("(need 2 on each side)")


def test_change_signal_may_be_chance():
    signal = change_signal(agg([100, 0, 100, 0, 100, 0]), agg([90, 10, 90, 10, 60]))
    assert not signal.flagged
    assert signal.direction == "down"
    assert signal.reason.startswith("Fell 2.0 points, which may be chance (p = 0.")


def test_change_signal_too_small_to_flag():
    current = agg([70.0, 71.0] * 20)
    previous = agg([73.0, 74.0] * 20)
    signal = change_signal(current, previous)
    assert signal.p_value < 0.05
    assert not signal.flagged
    assert signal.reason == "Fell 3.0 points, too small to flag (p < 0.001, n = 40 vs 40)"
    assert change_signal(current, previous, min_change=2.0).flagged


def test_change_signal_no_change():
    signal = change_signal(agg([60, 70, 80, 60, 70]), agg([70, 60, 80, 70, 60]))
    assert signal == ChangeSignal(False, None, 0.0, 1.0, "No change (p = 1.00, n = 5 vs 5)")


@pytest.mark.parametrize(
    ("staff", "shopper", "expected"),
    [
        (Estimate(5, 90.0, 80.0, 100.0), Estimate(5, 70.0, 60.0, 80.0), (20.0, True)),
        (Estimate(5, 85.0, 80.0, 90.0), Estimate(5, 70.0, 60.0, 80.0), (15.0, True)),
        (Estimate(5, 80.0, 80.0, 90.0), Estimate(5, 70.0, 60.0, 80.0), (10.0, False)),
        (Estimate(2, 95.0, 0.0, 100.0), Estimate(5, 70.0, 60.0, 80.0), (25.0, False)),
        (Estimate(5, 50.0, 40.0, 60.0), Estimate(5, 90.0, 80.0, 100.0), (-40.0, False)),
        (Estimate(0, None, None, None), Estimate(5, 70.0, 60.0, 80.0), (None, False)),
    ],
)
def test_perception_gap(staff, shopper, expected):
    assert perception_gap(staff, shopper) == expected


def test_perception_gap_options():
    staff, shopper = Estimate(3, 80.0, 70.0, 90.0), Estimate(3, 70.0, 60.0, 80.0)
    assert perception_gap(staff, shopper) == (10.0, False)
    assert perception_gap(staff, shopper, threshold=10.0) == (10.0, True)
    assert perception_gap(staff, shopper, threshold=10.0, min_n=4) == (10.0, False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([80, 82, 79, 81, 80], None),
        ([80, 80, 60, 60, 60], 3),  # lower sum: 0, 0, 15, 30 > 25 at index 3
        ([45], 0),  # 75 - 45 = 30 > 25 at once
        ([50], None),  # exactly h is not over it
        ([90, 90, 90, 65, 95], None),  # one bad visit is not a trend
    ],
)
def test_cusum(values, expected):
    assert cusum(values, target=80, k=5, h=25) == expected
