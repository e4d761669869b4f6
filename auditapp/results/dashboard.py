"""The dashboard page's finished numbers: rounded scores, bands, words and inline SVG charts from queries.py.

Nothing here runs its own aggregation; it only shapes what queries.py returns for the templates, which then
contain no logic beyond loops and ifs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

from ..charts import svg
from ..i18n import N_
from ..journeys.labels import channel_label, kind_label
from ..scoring.rules import score_band
from ..scoring.rules import score_text as rules_score_text
from . import queries
from .models import Action
from .queries import LOW_N, MomentStats, Scorecard
from .sqlhelpers import period_key

MAX_TREND_MARKERS = 3  # the chart stacks marker labels three high
MARKER_CHARS = 28  # marker labels sit above a 328-unit-wide plot: keep them short (the full idea is in the list)
# Bands and verdicts are stored and exported as these keys; pages show them translated: _(band), _(verdict).
BAND_WORDS = (N_("miserable"), N_("neutral"), N_("magical"))


def shown(score: float | None) -> int | None:
    """Whole points, half up, for numbers that carry no band (intervals, changes, gaps): 79.5 shows as 80."""
    return None if score is None else math.floor(score + 0.5)


def band_of(score: float | None, bands: tuple[float, float]) -> str | None:
    """The band of the unrounded score (scoring.rules.score_band, the one rule everywhere)."""
    return score_band(score, bands)


def score_text(score: float | None, bands: tuple[float, float]) -> str:
    """The score as shown next to its band: whole points unless rounding would cross a band edge (49.9)."""
    return rules_score_text(score, bands)


def interval_text(low: float | None, high: float | None, n: int) -> str:
    if n == 0 or low is None or high is None:
        return _("no scores")
    if n == 1:
        return _("one score: no interval")
    return _("95%% interval %(low)s–%(high)s", low=shown(low), high=shown(high))


def change_text(stats_change: float | None, previous: float | None, previous_n: int) -> tuple[str, str]:
    """('▼ 12 points (was 84, n=9)', 'down') and the like; words and arrows, never colour alone."""
    if previous_n == 0 or previous is None:
        return _("No earlier scores to compare"), "none"
    if stats_change is None:
        return _("No scores now (was %(was)s, n=%(n)s)", was=shown(previous), n=previous_n), "none"
    points = shown(abs(stats_change))
    if points == 0:
        return _("No change (was %(was)s, n=%(n)s)", was=shown(previous), n=previous_n), "same"
    if stats_change > 0:
        text = ngettext("▲ up %(num)s point (was %(was)s, n=%(n)s)", "▲ up %(num)s points (was %(was)s, n=%(n)s)",
                        points, was=shown(previous), n=previous_n)
        return text, "up"
    text = ngettext("▼ down %(num)s point (was %(was)s, n=%(n)s)", "▼ down %(num)s points (was %(was)s, n=%(n)s)",
                    points, was=shown(previous), n=previous_n)
    return text, "down"


def duration_text(stats: MomentStats) -> str:
    if stats.mean_duration is None:
        return _("Not timed")
    took, n = _seconds(stats.mean_duration), stats.duration_n
    if not stats.expected_seconds:
        return _("Took %(took)s on average (n=%(n)s)", took=took, n=n)
    over = stats.mean_duration - stats.expected_seconds
    if abs(over) < 1:
        return _("Took %(took)s on average (n=%(n)s), as expected", took=took, n=n)
    expected, by = _seconds(stats.expected_seconds), _seconds(abs(over))
    if over > 0:
        return _("Took %(took)s on average (n=%(n)s); expected %(expected)s, %(by)s slower", took=took, n=n,
                 expected=expected, by=by)
    return _("Took %(took)s on average (n=%(n)s); expected %(expected)s, %(by)s faster", took=took, n=n,
             expected=expected, by=by)


def _seconds(value: float) -> str:
    value = round(value)
    if value < 120:
        return _("%(seconds)s s", seconds=value)
    return _("%(minutes)s min %(seconds)s s", minutes=value // 60, seconds=value % 60)


@dataclass
class MomentRow:
    stats: MomentStats
    band: str | None
    score: str
    interval: str
    change: str
    direction: str
    duration: str
    channel: str
    kind: str
    verdict_chart: Markup
    drill_url: str
    action_url: str
    actions: list[Action] = field(default_factory=list)
    trend_chart: Markup | None = None

    @property
    def low_n(self) -> bool:
        return self.stats.low_n


@dataclass
class Headline:
    score: str
    band: str | None
    interval: str
    n: int
    evaluations: int
    remembered: str
    remembered_band: str | None
    remembered_n: int
    change: str
    direction: str
    flagged: bool
    reason: str


def headline(card: Scorecard, bands) -> Headline:
    text, direction = change_text(card.change, card.previous.mean, card.previous.n)
    return Headline(
        score=score_text(card.score, bands), band=band_of(card.score, bands),
        interval=interval_text(card.estimate.low, card.estimate.high, card.estimate.n), n=card.estimate.n,
        evaluations=card.evaluations, remembered=score_text(card.remembered_score, bands),
        remembered_band=band_of(card.remembered_score, bands), remembered_n=card.remembered.n,
        change=text, direction=direction, flagged=card.signal.flagged, reason=card.signal.reason,
    )


def moment_rows(card: Scorecard, bands, *, drill_url: Callable[[str], str], action_url: Callable[[str], str],
                actions: dict[str, list[Action]]) -> list[MomentRow]:
    rows = []
    for m in card.moments:
        text, direction = change_text(m.change, m.previous_score, m.previous_n)
        rows.append(MomentRow(
            stats=m, band=band_of(m.score, bands), score=score_text(m.score, bands),
            interval=interval_text(m.low, m.high, m.n), change=text, direction=direction, duration=duration_text(m),
            channel=channel_label(m.channel), kind=kind_label(m.kind),
            verdict_chart=svg.verdict_bar(m.magical, m.neutral, m.miserable, label=_("Verdicts: %(moment)s", moment=m.name),
                                          chart_id=f"verdicts-{m.key}"),
            drill_url=drill_url(m.key), action_url=action_url(m.key), actions=actions.get(m.key, []),
        ))
    return rows


def heatmap_chart(heat: queries.Heatmap, bands, link: Callable[[int, str], str]) -> Markup | None:
    if not heat.locations:
        return None
    cells = {}
    for i, loc in enumerate(heat.locations):
        for j, m in enumerate(heat.moments):
            cell = heat.cell(loc.id, m.key)
            cells[(i, j)] = (cell.score, cell.n)
    return svg.heatmap([loc.name for loc in heat.locations], [m.name for m in heat.moments], cells,
                       title=_("Locations × moments"), bands=bands,
                       link=lambda i, j: link(heat.locations[i].id, heat.moments[j].key), chart_id="heatmap")


def chart_labels(periods: list[queries.Period], grain: str) -> dict[str, str]:
    """Short x-axis labels ('W37', 'Mar'), with the year only when the chart spans more than one."""
    years = {p.start.isocalendar()[0] if grain == "week" else p.start.year for p in periods}
    labels = {}
    for p in periods:
        if grain == "week":
            year, week, _ = p.start.isocalendar()
            labels[p.key] = f"W{week:02d}" if len(years) == 1 else f"{year % 100:02d}-W{week:02d}"
        else:
            month = format_date(p.start, "LLL", locale=get_locale() or "en").rstrip(".")  # Mar, mars
            labels[p.key] = month if len(years) == 1 else f"{month} {p.start.year % 100:02d}"
    return labels


def _short(text: str) -> str:
    line = " ".join((text or _("Action")).split())
    return line if len(line) <= MARKER_CHARS else line[: MARKER_CHARS - 1].rstrip() + "…"


def _markers(actions: list[Action], grain: str, labels: dict[str, str], tz_name: str | None) -> list[tuple[str, str]]:
    """(period label, text) for the actions verified inside the chart, latest first, at most three: the mark is
    when the change was confirmed, so the scores after it show its effect."""
    from ..timeutil import to_local

    found = []
    verified = [(to_local(a.verified_at, tz_name).date(), a) for a in actions
                if a.status == "verified" and a.verified_at is not None]
    for day, action in sorted(verified, key=lambda pair: (pair[0], pair[1].id), reverse=True):
        label = labels.get(period_key(day, grain))
        if label is not None:
            found.append((label, _short(action.idea)))
    return list(reversed(found[:MAX_TREND_MARKERS]))


def trend_charts(tr: queries.Trend, bands, actions: list[Action], tz_name: str | None = "UTC", *,
                 today: date | None = None, filters: queries.Filters | None = None) -> tuple[Markup | None, dict[str, Markup]]:
    """The overall trend (all verified actions marked) and one small chart per moment (its own marked); with
    `today`, the period it falls in is drawn as "so far"."""
    if not tr.periods:
        return None, {}
    partial = unfinished_label(tr, today) if today is not None else None
    by_key = chart_labels(tr.periods, tr.grain)
    cut = cut_labels(tr, filters, by_key) if filters is not None else {}
    labels = [by_key[p.key] for p in tr.periods]
    empty = queries.Cell(0, None)
    overall = [(by_key[p.key], tr.overall.get(p.key, empty).score, tr.overall.get(p.key, empty).n) for p in tr.periods]
    overall_chart = svg.trend_chart([(_("Overall score"), overall)], title=_("Overall score"), periods=labels,
                                    bands=bands, markers=_markers(actions, tr.grain, by_key, tz_name),
                                    chart_id="trend-overall", marker_word=_("verified in"), partial=partial, cut=cut)
    by_moment: dict[str, list[Action]] = {}
    for action in actions:
        by_moment.setdefault(action.moment_key, []).append(action)
    charts = {}
    for m in tr.moments:
        points = [(by_key[p.key], tr.cell(p.key, m.key).score, tr.cell(p.key, m.key).n) for p in tr.periods]
        charts[m.key] = svg.trend_chart([(m.name, points)], title=_("Trend: %(moment)s", moment=m.name), periods=labels,
                                        bands=bands, markers=_markers(by_moment.get(m.key, []), tr.grain, by_key, tz_name),
                                        chart_id=f"trend-{m.key}", marker_word=_("verified in"), partial=partial,
                                        cut=cut)
    return overall_chart, charts


@dataclass(frozen=True, slots=True)
class WeakCell:
    location: str
    moment: str
    score: str
    n: int
    plan_url: str


MAX_WEAK_CELLS = 8


def weak_cells(heat: queries.Heatmap, bands, link: Callable[[int, str], str]) -> list[WeakCell]:
    """The heatmap's miserable cells with enough scores to trust (n >= LOW_N), weakest first, each with a link that
    starts a corrective action for that moment at that location."""
    found = []
    for loc in heat.locations:
        for m in heat.moments:
            cell = heat.cell(loc.id, m.key)
            if cell.n >= LOW_N and band_of(cell.score, bands) == "miserable":
                found.append((cell.score, loc, m, cell.n))
    found.sort(key=lambda row: (row[0], row[1].name, row[2].position))
    return [WeakCell(location=loc.name, moment=m.name, score=score_text(score, bands), n=n,
                     plan_url=link(loc.id, m.key)) for score, loc, m, n in found[:MAX_WEAK_CELLS]]


def gap_chart(rows: list[queries.GapRow], bands) -> Markup | None:
    if not any(r.shopper.n or r.staff.n for r in rows):
        return None
    return svg.gap_chart([(r.name, r.shopper.mean, r.shopper.n, r.staff.mean, r.staff.n) for r in rows],
                         title=_("Shoppers vs staff"), threshold=queries.GAP_THRESHOLD, bands=bands, chart_id="gap-chart")


def beside_text(other: queries.SourceHeadline | None, bands) -> str | None:
    """'Staff self-assessments: 78 magical (n=12), not in this score' for the line under the headline."""
    if other is None:
        return None
    staff = other.source == "staff"
    if other.estimate.mean is None:
        return _("Staff self-assessments: none in this period.") if staff else _("Secret shoppers: none in this period.")
    values = {"score": score_text(other.estimate.mean, bands), "band": _(band_of(other.estimate.mean, bands)),
              "n": other.estimate.n}
    if staff:
        return _("Staff self-assessments: %(score)s %(band)s (n=%(n)s), shown beside this score, not in it.", **values)
    return _("Secret shoppers: %(score)s %(band)s (n=%(n)s), shown beside this score, not in it.", **values)


def gap_text(row: queries.GapRow) -> str:
    if row.gap is None:
        return _("No shoppers scores yet") if row.shopper.n == 0 else _("No staff scores yet")
    points = shown(abs(row.gap))
    if points == 0:
        return _("Staff and shoppers agree")
    if row.gap > 0:
        text = ngettext("Staff rate it %(num)s point higher", "Staff rate it %(num)s points higher", points)
    else:
        text = ngettext("Shoppers rate it %(num)s point higher", "Shoppers rate it %(num)s points higher", points)
    few = "" if row.shopper.n >= LOW_N and row.staff.n >= LOW_N else " " + _("(too few to flag: need 3 on each side)")
    return text + few


@dataclass(frozen=True, slots=True)
class QueryRateRow:
    code: str
    name: str
    approved: int
    disputed: int
    rate: str  # "4.3%", "–" without approved visits
    note: str  # against the 3–5% baseline, in words


def query_rate_rows(lines, total) -> tuple[list[QueryRateRow], QueryRateRow]:
    """The query rate table (auditapp.disputes.services.query_rates) as shown: rates and words, no numbers to work out."""
    from ..disputes.rules import baseline_note, rate_text

    def row(line) -> QueryRateRow:
        return QueryRateRow(line.code, line.name, line.approved, line.disputed, rate_text(line.rate),
                            baseline_note(line.rate))

    return [row(line) for line in lines], row(total)


def dashboard_args(args) -> dict:
    """The dashboard's filter arguments, settled for a form that works without JavaScript.

    It opens on the last 90 days (the API and the export default to all time). The date boxes stay empty while
    a preset is chosen, so typing a date means "custom dates" whatever the period list says, and choosing
    another preset is never overridden by dates left over from the previous page.
    """
    settled = dict(args.items())
    typed = any((settled.get(name) or "").strip() for name in ("from", "to"))
    if typed:
        settled["period"] = "custom"
    elif not (settled.get("period") or "").strip():
        settled["period"] = "90d"
    if settled["period"] != "custom":
        settled.pop("from", None)
        settled.pop("to", None)
    return settled


def today_for(org) -> date:
    from ..timeutil import local_today

    return local_today(org.timezone)


# --- where it fails (the top of the dashboard) -----------------------------------------------------------------

WORST_CELLS = 5
MAX_WEEKS = 26  # more weekly points than this cannot be read on a phone: the trend rolls up to months


@dataclass
class WhereCell:
    location: str
    moment: str
    score: str
    band: str | None
    n: int
    url: str


@dataclass
class WhereItem:
    text: str
    moment: str
    failed: int
    n: int
    percent: int
    change: str
    critical: bool
    url: str


def worst_cells(heat: queries.Heatmap, bands, link: Callable[[int, str], str], *, min_n: int = LOW_N,
                limit: int = WORST_CELLS) -> list[WhereCell]:
    """The lowest-scored location x moment cells with at least `min_n` scores (from the heatmap's aggregates)."""
    names = {loc.id: loc.name for loc in heat.locations}
    moments = {m.key: m.name for m in heat.moments}
    found = [(cell.score, loc_id, key, cell.n) for (loc_id, key), cell in heat.cells.items()
             if cell.score is not None and cell.n >= min_n and loc_id in names and key in moments]
    found.sort(key=lambda t: (t[0], names[t[1]], t[2]))
    return [WhereCell(names[loc_id], moments[key], score_text(score, bands), band_of(score, bands), n,
                      link(loc_id, key)) for score, loc_id, key, n in found[:limit]]


def where_items(items, link: Callable[[str], str], *, limit: int = WORST_CELLS) -> list[WhereItem]:
    """The most failed checklist items (results.where.most_failed) for the page, each with its change in words."""
    from .where import most_failed

    rows = []
    for i in most_failed(items, limit=limit):
        if i.change is None:
            change = _("no earlier answers to compare")
        elif shown(i.change) == 0:
            change = _("same as before (n=%(n)s)", n=i.previous_n)
        elif i.change > 0:
            change = _("▲ more failures than before: %(points)s points (was n=%(n)s)", points=shown(abs(i.change)),
                       n=i.previous_n)
        else:
            change = _("▼ fewer failures than before: %(points)s points (was n=%(n)s)", points=shown(abs(i.change)),
                       n=i.previous_n)
        rows.append(WhereItem(i.text, i.moment_name, i.failed, i.n, shown(100 * i.rate), change, i.critical,
                              link(i.moment_key)))
    return rows


def weakest_column(heat: queries.Heatmap, min_n: int = LOW_N) -> int | None:
    """Index of the heatmap column (moment) with the lowest mean over its cells with enough scores."""
    best = None
    for j, m in enumerate(heat.moments):
        cells = [c for (_, key), c in heat.cells.items() if key == m.key and c.score is not None and c.n >= min_n]
        if not cells:
            continue
        mean = sum(c.score * c.n for c in cells) / sum(c.n for c in cells)
        if best is None or mean < best[0]:
            best = (mean, j)
    return best[1] if best else None


def cut_labels(tr: queries.Trend, filters: queries.Filters, labels: dict[str, str]) -> dict[str, str]:
    """{x label: "from 6 Sep"} for the periods the date filter cuts (the first one of "last 90 days", usually)."""
    found = {}
    for p in tr.periods:
        cut = queries.period_cut(p, tr.grain, filters)
        if cut:
            day = format_date(cut[1], "d MMM", locale=get_locale() or "en")
            found[labels[p.key]] = _("from %(day)s", day=day) if cut[0] == "from" else _("to %(day)s", day=day)
    return found


def unfinished_label(tr: queries.Trend, today: date) -> str | None:
    """The x label of the period today is in (not over yet), when the trend shows it."""
    key = queries.period_key_for(today, tr.grain)
    if not any(p.key == key for p in tr.periods):
        return None
    return chart_labels(tr.periods, tr.grain)[key]
