"""Queries of the sites' pages: the visits a viewer may see, newest first, one page at a time (no query per row)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..evaluations.models import Evaluation, MomentResult
from ..evaluations.services import visible_evaluations
from ..extensions import db
from ..scoring.rules import score_band, score_text

PAGE = 25


@dataclass(frozen=True, slots=True)
class VisitRow:
    evaluation: Evaluation
    score: str
    band: str | None
    critical_fails: int


@dataclass(frozen=True, slots=True)
class VisitPage:
    rows: list[VisitRow]
    total: int
    page: int
    pages: int


def site_visits(org, user, role, *, location_id: int | None = None, journey_id: int | None = None,
                page: int = 1) -> VisitPage:
    """Approved secret-shopper visits the viewer may see (visible_evaluations decides), newest first."""
    query = visible_evaluations(org.id, user, role).where(Evaluation.source == "shopper",
                                                          Evaluation.status == "approved")
    if location_id:
        query = query.where(Evaluation.location_id == location_id)
    if journey_id:
        query = query.where(Evaluation.journey_id == journey_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE))
    page = min(max(1, page), pages)
    found = list(db.session.scalars(
        query.options(joinedload(Evaluation.location), joinedload(Evaluation.journey))
        .order_by(Evaluation.started_at.desc(), Evaluation.id.desc()).limit(PAGE).offset((page - 1) * PAGE)))
    fails = dict(db.session.execute(
        select(MomentResult.evaluation_id, func.count()).where(MomentResult.evaluation_id.in_([e.id for e in found] or [-1]),
                                                               MomentResult.critical_fail.is_(True))
        .group_by(MomentResult.evaluation_id)).all())
    rows = [VisitRow(e, score_text(e.score, org.bands), score_band(e.score, org.bands), int(fails.get(e.id, 0)))
            for e in found]
    return VisitPage(rows, int(total), page, pages)
