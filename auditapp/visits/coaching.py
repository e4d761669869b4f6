"""The shift-end coaching card: a staff member's verdicts beside what secret shoppers recently saw.

For each moment of a staff self-assessment: their verdict, the latest shopper verdicts for the same moment at the
same location (counted evaluations only), and one short, encouraging line: what went well, what to fix, where
they agree. `compare()` is plain arithmetic; `coaching_card()` gathers the data with one query per moment.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext, ngettext
from sqlalchemy import select

from ..evaluations.models import COUNTED_STATUSES, Evaluation, MomentResult
from ..extensions import db
from ..i18n import N_

VERDICT_VALUE = {"miserable": 0.0, "neutral": 0.5, "magical": 1.0}
VERDICT_WORD = {"miserable": N_("Miserable"), "neutral": N_("Neutral"), "magical": N_("Magical")}  # the page translates
GOOD = 0.75  # a shopper average at or above this: most shoppers found it magical
GAP = 0.25  # shoppers half a verdict step or more below the staff member: worth a look
LATEST = 5


@dataclass(frozen=True, slots=True)
class Comparison:
    group: str  # "well", "fix", "agree" or "unknown"
    message: str
    shopper_mean: float | None  # 0..1


def compare(staff_verdict: str | None, shopper_verdicts: Sequence[str]) -> Comparison:
    """Place one moment in a group, with a line of text for the card."""
    values = [VERDICT_VALUE[v] for v in shopper_verdicts if v in VERDICT_VALUE]
    if not values:
        return Comparison("unknown", N_("No recent shopper visits for this moment yet."), None)
    mean = sum(values) / len(values)
    mine = VERDICT_VALUE.get(staff_verdict or "")
    if mean >= GOOD:
        if mine is not None and mine < mean - GAP:
            return Comparison("well", N_("Shoppers loved it even more than you thought. Keep doing it."), mean)
        return Comparison("well", N_("Shoppers loved it too. Keep doing it."), mean)
    if mine is not None and mean < mine - GAP:
        return Comparison("fix", N_("Shoppers saw it worse than you did: worth a closer look next shift."), mean)
    if mean < 0.5:
        return Comparison("agree", N_("You and the shoppers agree this one needs work: one small change can turn it."), mean)
    return Comparison("agree", N_("You and the shoppers see it the same way. Can you make it magical?"), mean)


@dataclass
class CardRow:
    key: str
    name: str
    position: int
    priority: bool
    verdict: str | None
    verdict_word: str
    shopper_verdicts: list[str]
    counts: dict[str, int]
    comparison: Comparison


@dataclass
class Card:
    evaluation: Evaluation
    well: list[CardRow] = field(default_factory=list)
    fix: list[CardRow] = field(default_factory=list)
    agree: list[CardRow] = field(default_factory=list)
    unknown: list[CardRow] = field(default_factory=list)

    @property
    def rows(self) -> list[CardRow]:
        return sorted(self.well + self.fix + self.agree + self.unknown, key=lambda row: row.position)

    @property
    def headline(self) -> str:
        if self.well and not self.fix:
            return ngettext("%(num)s moment went well. Nice shift!", "%(num)s moments went well. Nice shift!",
                            len(self.well))
        if self.well:
            return ngettext("%(num)s moment went well; %(fix)s to look at next time.",
                            "%(num)s moments went well; %(fix)s to look at next time.", len(self.well), fix=len(self.fix))
        if self.fix:
            return ngettext("%(num)s moment to look at next time. You've got this.",
                            "%(num)s moments to look at next time. You've got this.", len(self.fix))
        return gettext("Thanks for rating your shift.")


def latest_shopper_verdicts(evaluation: Evaluation, moment_key: str, limit: int = LATEST) -> list[str]:
    """Verdicts of the latest counted shopper evaluations for this moment at the same location and journey."""
    return list(db.session.scalars(
        select(MomentResult.verdict).join(Evaluation, Evaluation.id == MomentResult.evaluation_id)
        .where(Evaluation.org_id == evaluation.org_id, Evaluation.location_id == evaluation.location_id,
               Evaluation.journey_id == evaluation.journey_id, Evaluation.source == "shopper",
               Evaluation.status.in_(COUNTED_STATUSES), MomentResult.moment_key == moment_key,
               MomentResult.verdict.is_not(None))
        .order_by(Evaluation.started_at.desc(), Evaluation.id.desc()).limit(limit)
    ))


def coaching_card(evaluation: Evaluation, limit: int = LATEST) -> Card:
    card = Card(evaluation=evaluation)
    moments = {m.key: m for m in (evaluation.version.moments if evaluation.version else [])}
    for result in evaluation.moment_results:
        moment = moments.get(result.moment_key)
        shopper = latest_shopper_verdicts(evaluation, result.moment_key, limit)
        comparison = compare(result.verdict, shopper)
        counts = Counter(shopper)
        row = CardRow(key=result.moment_key, name=moment.name if moment else result.moment_key,
                      position=result.position, priority=bool(moment and moment.priority), verdict=result.verdict,
                      verdict_word=VERDICT_WORD.get(result.verdict or "", N_("Not rated")), shopper_verdicts=shopper,
                      counts={v: counts.get(v, 0) for v in VERDICT_VALUE}, comparison=comparison)
        getattr(card, comparison.group).append(row)
    return card
