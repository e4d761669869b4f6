"""Contract section 3: answer, moment and evaluation scores, bands and the remembered (peak-end) score."""
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auditapp.journeys.spec import parse_options
from auditapp.scoring.rules import (
    DEFAULT_BANDS,
    ItemResult,
    MomentScore,
    answer_score,
    remembered_score,
    score_band,
    score_evaluation,
    score_moment,
)
from auditapp.scoring.values import ParsedValue, parse_value

SPEED = parse_options("Quick=1|Okay=0.6|Slow=0|Not seen")


def score(qtype, raw, **kwargs):
    options = kwargs.get("options", ())
    return answer_score(qtype, parse_value(qtype, raw, options=options), **kwargs)


@pytest.mark.parametrize(
    ("qtype", "raw", "kwargs", "expected"),
    [
        ("yes_no", "yes", {}, 1.0),
        ("yes_no", "no", {}, 0.0),
        ("yes_no", True, {}, 1.0),
        ("mnm", "miserable", {}, 0.0),
        ("mnm", "neutral", {}, 0.5),
        ("mnm", "magical", {}, 1.0),
        ("rating", 1, {}, 0.0),
        ("rating", 2, {}, 0.25),
        ("rating", 3, {}, 0.5),
        ("rating", 4, {}, 0.75),
        ("rating", 5, {}, 1.0),
        ("number", 90, {"target": "<=120"}, 1.0),
        ("number", 120, {"target": "<=120"}, 1.0),
        ("number", 121, {"target": "<=120"}, 0.0),
        ("number", 4, {"target": ">=5"}, 0.0),
        ("number", 5, {"target": ">= 5"}, 1.0),
        ("number", -1.5, {"target": ">=-2"}, 1.0),
        ("number", 90, {}, None),
        ("number", 90, {"target": None}, None),
        ("number", 90, {"target": ""}, None),
        ("choice", "Quick", {"options": SPEED}, 1.0),
        ("choice", "okay", {"options": SPEED}, 0.6),
        ("choice", "Slow", {"options": SPEED}, 0.0),
        ("choice", "Not seen", {"options": SPEED}, None),
        ("text", "lovely", {}, None),
        ("photo", "ph_1", {}, None),
    ],
)
def test_answer_score(qtype, raw, kwargs, expected):
    assert score(qtype, raw, **kwargs) == expected


@pytest.mark.parametrize("qtype", ["yes_no", "mnm", "rating", "number", "choice", "text", "photo"])
def test_na_and_unanswered_have_no_score(qtype):
    kwargs = {"options": SPEED, "target": "<=1"}
    assert answer_score(qtype, parse_value(qtype, "na", options=SPEED), **kwargs) is None
    assert answer_score(qtype, None, **kwargs) is None


def test_answer_score_from_stored_text_only():
    """Values read back from the database may carry only the canonical text."""
    assert answer_score("rating", ParsedValue("4", None, False)) == 0.75
    assert answer_score("number", ParsedValue("130", None, False), target="<=120") == 0.0
    assert answer_score("choice", ParsedValue("Gone", None, False), options=SPEED) is None


def test_bad_target_raises():
    with pytest.raises(ValueError, match="<=N or >=N"):
        score("number", 3, target="about 3")


def items(*triples):
    return [ItemResult(weight=w, fraction=f, critical=c) for w, f, c in triples]


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        (items((1, 1.0, False), (1, 0.0, False)), MomentScore(50.0, False)),
        (items((3, 1.0, False), (1, 0.0, False)), MomentScore(75.0, False)),
        (items((1, 0.5, False), (2, None, False), (1, 1.0, False)), MomentScore(75.0, False)),
        (items((1, 0.25, False)), MomentScore(25.0, False)),
        (items((0, 0.0, False), (2, 1.0, False)), MomentScore(100.0, False)),
        (items((1, None, False), (1, None, True)), MomentScore(None, False)),
        (items((0, 1.0, False), (0, 0.5, False)), MomentScore(None, False)),
        ([], MomentScore(None, False)),
        # Critical: one zero on a critical question wins over everything else.
        (items((1, 0.0, True), (5, 1.0, False)), MomentScore(0.0, True)),
        (items((0, 0.0, True), (5, 1.0, False)), MomentScore(0.0, True)),
        (items((1, 0.5, True), (1, 1.0, False)), MomentScore(75.0, False)),
        (items((1, None, True), (1, 1.0, False)), MomentScore(100.0, False)),
        (items((1, 0.0, False), (1, 1.0, True)), MomentScore(50.0, False)),
    ],
)
def test_score_moment(results, expected):
    assert score_moment(results) == expected


def test_score_moment_accepts_a_generator():
    assert score_moment(ItemResult(1, f) for f in (0.0, 1.0)) == MomentScore(50.0, False)


@pytest.mark.parametrize(
    "bad",
    [ItemResult(-1, 0.5), ItemResult(math.inf, 0.5), ItemResult(1, 1.5), ItemResult(1, -0.1), ItemResult(1, math.nan)],
)
def test_score_moment_rejects_impossible_items(bad):
    with pytest.raises(ValueError):
        score_moment([bad])


@pytest.mark.parametrize(
    ("moments", "expected"),
    [
        ([(1, 50.0), (1, 100.0)], 75.0),
        ([(3, 100.0), (1, 0.0)], 75.0),
        ([(1, 80.0), (5, None)], 80.0),
        ([(0, 10.0), (2, 60.0)], 60.0),
        ([(1, None)], None),
        ([(0, 50.0)], None),
        ([], None),
        ([(2, 0.0), (2, 0.0)], 0.0),
    ],
)
def test_score_evaluation(moments, expected):
    assert score_evaluation(moments) == expected


def test_score_evaluation_rejects_negative_weights():
    with pytest.raises(ValueError):
        score_evaluation([(-1, 50.0)])


def test_whole_evaluation_by_hand():
    """A two-moment journey worked out on paper: reception (weight 1) and treatment (weight 2)."""
    reception = score_moment(
        [
            ItemResult(1, score("yes_no", "yes")),
            ItemResult(2, score("rating", 4)),  # 0.75
            ItemResult(1, score("text", "nice")),  # no score
            ItemResult(1, score("mnm", "neutral")),  # verdict 0.5
        ]
    )
    treatment = score_moment(
        [
            ItemResult(1, score("number", 300, target="<=600")),  # 1
            ItemResult(1, score("choice", "na", options=SPEED)),  # no score
            ItemResult(1, score("mnm", "magical")),
        ]
    )
    assert reception == MomentScore(100 * (1 + 1.5 + 0.5) / 4, False)  # 75
    assert treatment == MomentScore(100.0, False)
    assert score_evaluation([(1, reception.score), (2, treatment.score)]) == pytest.approx((75 + 200) / 3)


@pytest.mark.parametrize(
    ("value", "band"),
    [(None, None), (0.0, "miserable"), (49.99, "miserable"), (50.0, "neutral"), (79.9, "neutral"), (80.0, "magical"),
     (100.0, "magical")],
)
def test_score_band(value, band):
    assert score_band(value) == band


def test_score_band_custom_bands():
    assert DEFAULT_BANDS == (50.0, 80.0)
    assert score_band(60.0, bands=(65.0, 90.0)) == "miserable"
    assert score_band(89.0, bands=(65.0, 90.0)) == "neutral"


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], None),
        ([None, None], None),
        ([90.0], 90.0),
        ([80.0, 20.0, 100.0], (80 + 20 + 100) / 3),
        ([None, 30.0, 60.0, 90.0, None], (30 + 30 + 90) / 3),  # first and worst are the same moment
        ([100.0, 70.0, 10.0], (100 + 10 + 10) / 3),  # last and worst are the same moment
    ],
)
def test_remembered_score(scores, expected):
    result = remembered_score(scores)
    assert result is None if expected is None else result == pytest.approx(expected)


weights = st.floats(min_value=0, max_value=1e6, allow_nan=False)
fractions = st.one_of(st.none(), st.floats(min_value=0, max_value=1))
item_lists = st.lists(st.builds(ItemResult, weights, fractions, st.booleans()), max_size=12)


@given(item_lists, st.randoms())
def test_moment_score_in_range_and_order_independent(results, rnd):
    first = score_moment(results)
    assert first.score is None or 0.0 <= first.score <= 100.0
    shuffled = list(results)
    rnd.shuffle(shuffled)
    assert score_moment(shuffled) == first


moment_lists = st.lists(st.tuples(weights, st.one_of(st.none(), st.floats(min_value=0, max_value=100))), max_size=12)


@given(moment_lists, st.randoms())
def test_evaluation_score_in_range_and_order_independent(moments, rnd):
    first = score_evaluation(moments)
    assert first is None or 0.0 <= first <= 100.0
    shuffled = list(moments)
    rnd.shuffle(shuffled)
    assert score_evaluation(shuffled) == first


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=100)), max_size=10))
def test_remembered_score_within_the_moments(scores):
    result = remembered_score(scores)
    scored = [s for s in scores if s is not None]
    assert (result is None) == (not scored)
    if scored:
        assert min(scored) - 1e-9 <= result <= max(scored) + 1e-9


def test_moment_score_of_equal_answers_is_exact():
    rnd = random.Random(1)
    results = [ItemResult(rnd.uniform(0.1, 10), 1.0) for _ in range(50)]
    assert score_moment(results) == MomentScore(100.0, False)
