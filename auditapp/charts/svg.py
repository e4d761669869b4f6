"""Charts as inline SVG strings for server-rendered pages: no chart library, no JavaScript.

Each chart is drawn on a viewBox 328 units wide (a 360 px phone less 16 px page padding each side) and scales
with width="100%", so one unit is one pixel on that phone and the smallest text (12) is 12 px. Give pages
`svg.chart { max-width: 28rem }` so charts do not grow huge on a desktop, and wrap heatmaps in
`overflow-x: auto` (a wide one has a fixed width).

- Every piece of caller text goes through markupsafe.escape; the result is Markup, so Jinja inserts it as is.
- Never colour alone: scores are written as numbers, bands named in text, series differ by dash and marker.
- Fewer than 3 answers (n < 3) is drawn grey or hollow and carries class="low-n" and data-n.
- Only presentation attributes, no style attributes or <style>, so a strict Content-Security-Policy is fine.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence

from markupsafe import Markup, escape

from ..scoring import palette
from ..scoring.rules import score_band, score_text
from ..words import gettext, ngettext

__all__ = [
    "BAND_FILL",
    "BAND_LABELS",
    "band_for",
    "gap_chart",
    "heatmap",
    "score_bars",
    "trend_chart",
    "verdict_bar",
]

Bands = tuple[float, float]

WIDTH = 328
FONT = 13  # user units = px on a 360 px phone; never below SMALL
SMALL = 12
FONT_FAMILY = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
LOW_N = 3
BOLD = 1.2  # bold glyphs run about this much wider than _text_width estimates (measured in Chromium with DejaVu Sans)

# The one band palette (scoring/palette.py), shared with the screen CSS, Excel and the visit PDF; every text pair
# passes WCAG AA (4.5:1) and the fills stay apart under a deuteranopia simulation, see tests/unit/test_palette.py.
BAND_LABELS: dict[str, str] = palette.of("label")
BAND_SYMBOL: dict[str, str] = palette.of("symbol")
BAND_FILL: dict[str, str] = palette.of("fill")
BAND_TEXT: dict[str, str] = palette.of("on_fill")
BAND_TINT: dict[str, str] = palette.of("tint")
BAND_INK: dict[str, str] = palette.of("ink")
INK = "#1f1f1f"
MUTED = "#595959"
GRID = "#c4c4c4"
LOW_N_FILL = palette.GREY_FILL  # heatmap cells, with LOW_N_TEXT
LOW_N_TEXT = palette.GREY_INK
LOW_N_BAR = "#8a8a8a"  # bars and markers on white (3:1 for graphics)
EMPTY_FILL = "#ffffff"

SERIES_COLOURS = ("#1f3a93", "#6a1b9a", "#00695c", "#3b3b3b", "#8d4b00")
SERIES_DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 2")
SERIES_SHAPES = ("circle", "square", "triangle", "diamond", "cross")

_ids = itertools.count(1)


def band_for(score: float | None, bands: Bands = (50, 80)) -> str | None:
    """The band of the unrounded score: scoring.rules.score_band, the one band rule of the product."""
    return score_band(score, bands)


# --- small helpers -------------------------------------------------------------------------------------------


def _e(value: object) -> str:
    return str(escape(value))


def _num(x: float) -> str:
    """Coordinates with at most one decimal, no trailing .0."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _edge(value: float) -> str:
    """A band edge as written in legends: 50, or 49.5 when the organisation set one with a decimal."""
    return f"{value:g}"


def _round(score: float) -> int:
    """Half up, not Python's half to even: 79.5 shows as 80 everywhere."""
    return math.floor(score + 0.5)


def _attrs(attrs: dict[str, object]) -> str:
    parts = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f' {name}="{_e(_num(value) if isinstance(value, float) else value)}"')
    return "".join(parts)


def _tag(name: str, content: str | None = None, **attrs: object) -> str:
    if content is None:
        return f"<{name}{_attrs(attrs)}/>"
    return f"<{name}{_attrs(attrs)}>{content}</{name}>"


def _text(x: float, y: float, text: str, *, tip: str | None = None, **attrs: object) -> str:
    """A <text>; `tip` adds a <title> child (the full label of a shortened one, a hover tooltip)."""
    content = _e(text) + (_tag("title", _e(tip)) if tip else "")
    attrs.setdefault("fill", INK)
    attrs.setdefault("font_size", FONT)
    return _tag("text", content, x=float(x), y=float(y), **attrs)


_NARROW = set("ijl.,:;'|!()[]{}` fItr")  # digits are tabular (all as wide as 0) in most UI fonts
_WIDE = set("mwMW@%")


def _text_width(text: str, size: float = FONT) -> float:
    """A generous estimate of a sans-serif string's width, for fitting and truncating."""
    units = 0.0
    for ch in text:
        if ch in _NARROW:
            units += 0.34
        elif ch in _WIDE:
            units += 0.86
        elif ch.isupper():
            units += 0.68
        else:
            units += 0.58
    return units * size


def _title(text: str) -> str:
    """A chart's bold title on its first line, cut with an ellipsis to the chart's width (bold runs wider)."""
    return _text(0, 16, _fit(text, WIDTH, FONT * BOLD), tip=text, font_weight="bold")


def _fit(text: str, width: float, size: float = FONT) -> str:
    """The text, cut with an ellipsis to fit `width`."""
    text = " ".join(text.split())
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(text: str, width: float, lines: int = 2, size: float = FONT) -> list[str]:
    """Word-wrap into at most `lines` lines; the last one ends in an ellipsis if text is left over."""
    words = text.split()
    out: list[str] = []
    while words and len(out) < lines:
        line = words.pop(0)
        while words and _text_width(line + " " + words[0], size) <= width:
            line += " " + words.pop(0)
        out.append(line)
    if words:
        out[-1] = _fit(out[-1] + " " + " ".join(words), width, size)
    return [_fit(line, width, size) for line in out] or [""]


def _svg(
    body: str,
    *,
    kind: str,
    title: str,
    desc: str,
    height: float,
    width: float = WIDTH,
    chart_id: str | None,
    role: str = "img",
    fixed_width: bool = False,
) -> Markup:
    cid = chart_id or f"chart-{next(_ids)}"
    head = _tag("title", _e(title), id=f"{cid}-title") + _tag("desc", _e(desc), id=f"{cid}-desc")
    svg = _tag(
        "svg",
        head + body,
        xmlns="http://www.w3.org/2000/svg",
        id=cid,
        class_=f"chart chart-{kind}",
        viewBox=f"0 0 {_num(width)} {_num(height)}",
        width=_num(width) if fixed_width else "100%",
        height=_num(height) if fixed_width else None,
        role=role,
        aria_labelledby=f"{cid}-title {cid}-desc",
        font_family=FONT_FAMILY,
        preserveAspectRatio="xMinYMin meet",
    )
    return Markup(svg)  # noqa: S704 - every caller string above went through escape()


def _percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages that add up to 100 (largest remainder)."""
    total = sum(counts)
    if not total:
        return [0] * len(counts)
    exact = [c * 100 / total for c in counts]
    whole = [math.floor(x) for x in exact]
    order = sorted(range(len(counts)), key=lambda i: exact[i] - whole[i], reverse=True)
    for i in order[: 100 - sum(whole)]:
        whole[i] += 1
    return whole


def _band(band: str | None) -> str:
    """A band's word in the reader's language (the keys miserable / neutral / magical are in the catalogue)."""
    return gettext(band) if band else ""


def _n_text(n: int) -> str:
    return f"n={n}"


def _score_phrase(score: float | None, n: int, bands: Bands) -> str:
    if score is None:
        return gettext("no score")
    values = {"score": score_text(score, bands), "band": _band(band_for(score, bands)), "n": n}
    if n < LOW_N:
        return gettext("%(score)s %(band)s (n=%(n)s, fewer than 3 answers)", **values)
    return gettext("%(score)s %(band)s (n=%(n)s)", **values)


# --- verdict bar ---------------------------------------------------------------------------------------------


def verdict_bar(
    magical: int, neutral: int, miserable: int, *, label: str, chart_id: str | None = None
) -> Markup:
    """One 100% stacked bar of miserable / neutral / magical verdicts, with a text legend under it."""
    counts = {"miserable": max(0, miserable), "neutral": max(0, neutral), "magical": max(0, magical)}
    total = sum(counts.values())
    pcts = dict(zip(counts, _percentages(list(counts.values())), strict=True))
    summary = ", ".join(f"{c} {_band(band)}" for band, c in counts.items())
    desc = ngettext("%(summary)s (%(num)s verdict)", "%(summary)s (%(num)s verdicts)", total, summary=summary) \
        if total else gettext("No verdicts yet")

    bar_y, bar_h = 24, 28
    parts = [_title(label)]
    if not total:
        parts.append(_tag("rect", x=0, y=bar_y, width=WIDTH, height=bar_h, fill=LOW_N_FILL, class_="empty"))
        parts.append(_text(WIDTH / 2, bar_y + 19, gettext("No verdicts yet"), fill=LOW_N_TEXT, text_anchor="middle"))
        return _svg("".join(parts), kind="verdict", title=label, desc=desc, height=bar_y + bar_h + 4,
                    chart_id=chart_id)

    x = 0.0
    for band, count in counts.items():
        if not count:
            continue
        w = WIDTH * count / total
        tip = f"{gettext(BAND_LABELS[band])}: {count} ({pcts[band]}%)"
        parts.append(_tag("rect", _tag("title", _e(tip)), x=x, y=bar_y, width=w, height=bar_h,
                          fill=BAND_FILL[band], class_=f"band-{band}", data_count=count))
        for text in (f"{count} · {pcts[band]}%", str(count)):
            if _text_width(text) + 8 <= w:
                parts.append(_text(x + w / 2, bar_y + 19, text, fill=BAND_TEXT[band], text_anchor="middle",
                                   font_weight="bold"))
                break
        x += w

    # The legend says it all in words, whatever fitted in the bar.
    col = WIDTH / 3
    for i, (band, count) in enumerate(counts.items()):
        lx = i * col
        parts.append(_tag("rect", x=lx, y=bar_y + bar_h + 10, width=12, height=12, fill=BAND_FILL[band]))
        parts.append(_text(lx + 17, bar_y + bar_h + 21, gettext(BAND_LABELS[band])))
        parts.append(_text(lx + 17, bar_y + bar_h + 37, f"{count} · {pcts[band]}%", fill=MUTED))
    return _svg("".join(parts), kind="verdict", title=label, desc=desc, height=bar_y + bar_h + 44,
                chart_id=chart_id)


# --- trend chart ---------------------------------------------------------------------------------------------


def _marker_shape(shape: str, x: float, y: float, *, colour: str, hollow: bool, **attrs: object) -> str:
    fill = "#ffffff" if hollow else colour
    common = {"fill": fill, "stroke": colour, "stroke_width": 2, **attrs}
    r = 4.5
    if shape == "circle":
        return _tag("circle", cx=float(x), cy=float(y), r=r, **common)
    if shape == "square":
        return _tag("rect", x=x - r, y=y - r, width=2 * r, height=2 * r, **common)
    if shape == "triangle":
        pts = [(x, y - r - 1), (x + r + 0.5, y + r), (x - r - 0.5, y + r)]
    elif shape == "diamond":
        pts = [(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)]
    else:  # cross: a plus sign, drawn as a polygon so it can be hollow too
        a, b = r + 1, 1.8
        pts = [(x - b, y - a), (x + b, y - a), (x + b, y - b), (x + a, y - b), (x + a, y + b), (x + b, y + b),
               (x + b, y + a), (x - b, y + a), (x - b, y + b), (x - a, y + b), (x - a, y - b), (x - b, y - b)]
    return _tag("polygon", points=" ".join(f"{_num(px)},{_num(py)}" for px, py in pts), **common)


def _flow_legend(
    items: list[tuple[str, float]], top: float, row_h: float = 20
) -> tuple[list[tuple[float, float]], float]:
    """Lay out legend items of given widths left to right, wrapping; returns positions and the bottom."""
    positions, x, y = [], 0.0, top
    for _, w in items:
        if x and x + w > WIDTH:
            x, y = 0.0, y + row_h
        positions.append((x, y))
        x += w + 14
    return positions, y + row_h


def trend_chart(
    series: Sequence[tuple[str, Sequence[tuple[str, float | None, int]]]],
    *,
    title: str,
    markers: Iterable[tuple[str, str]] = (),
    y_min: float = 0,
    y_max: float = 100,
    bands: Bands = (50, 80),
    periods: Sequence[str] | None = None,
    show_title: bool = True,
    chart_id: str | None = None,
    marker_word: str = "from",
    partial: str | None = None,
    cut: dict[str, str] | None = None,
) -> Markup:
    """Scores over ordered periods, one line per series, with band backgrounds and action markers.

    The text description says each marker as "<label> <marker_word> <period>" ("from", "verified in").
    `cut` names periods the date filter cuts ({label: "from 6 Sep"}): drawn like `partial`, labelled with their note.
    `partial` names the period that is not over yet: its point is hollow, reached by a dotted line and labelled
    "so far" with its n, so a month with two visits so far never reads as a drop.

    `periods` fixes the x axis; by default it is the sorted set of periods in the series and markers
    ("2026-09", "2026-W37" sort correctly as text). A None score leaves a gap in the line.
    """
    markers = list(markers)
    if periods is None:
        periods = sorted({p for _, pts in series for p, _, _ in pts} | {p for p, _ in markers})
    periods = list(periods)
    index = {p: i for i, p in enumerate(periods)}
    span = (y_max - y_min) or 1

    left, right = 30, 8
    longest = max((_text_width(p, SMALL) for p in periods), default=0)
    inset = 8.0  # space between the y axis and the first period
    top = 26 if show_title else 6
    top += 18 * min(len(markers), 3) if markers else 0
    plot_h = 170
    plot_w = WIDTH - left - right

    def px(i: int) -> float:
        if len(periods) <= 1:
            return left + plot_w / 2
        return left + inset + (plot_w - inset - 8) * i / (len(periods) - 1)

    def py(v: float) -> float:
        v = min(max(v, y_min), y_max)
        return top + plot_h * (y_max - v) / span

    parts: list[str] = []
    if show_title:
        parts.append(_title(title))

    # Band backgrounds, each named in its own ink so the colour is not the only cue.
    edges = [y_min, *[b for b in bands if y_min < b < y_max], y_max]
    for lo, hi in itertools.pairwise(edges):
        band = band_for(lo, bands) or "neutral"
        parts.append(_tag("rect", x=float(left), y=py(hi), width=float(plot_w), height=py(lo) - py(hi),
                          fill=BAND_TINT[band], class_=f"band-{band}"))
        if py(lo) - py(hi) >= SMALL + 4:
            # A halo in the band's tint keeps the name legible where a line crosses it.
            parts.append(_text(left + plot_w - 4, py(hi) + SMALL + 2, _band(band), fill=BAND_INK[band],
                               font_size=SMALL, text_anchor="end", stroke=BAND_TINT[band], stroke_width=3,
                               paint_order="stroke", stroke_linejoin="round"))

    # Gridlines and y labels at y_min, the band edges and y_max.
    for v in sorted(set(edges)):
        parts.append(_tag("line", x1=float(left), x2=float(left + plot_w), y1=py(v), y2=py(v), stroke=GRID,
                          stroke_width=1))
        label = _edge(_round(v) if v in (y_min, y_max) else v)
        parts.append(_text(left - 4, py(v) + 4, label, fill=MUTED, font_size=SMALL, text_anchor="end"))

    # X labels: level if they fit, else rotated, else every k-th one.
    slot = (plot_w - inset - 8) / max(len(periods) - 1, 1)
    base = top + plot_h
    if longest + 6 <= slot or len(periods) <= 1:
        step, rotated = 1, False
        label_h = SMALL + 8
    else:
        rotated = True
        # Rotated labels reach down-left of their tick: move the first period right so it is not clipped.
        inset = max(inset, longest * math.cos(math.radians(45)) - left + 2)
        slot = (plot_w - inset - 8) / max(len(periods) - 1, 1)
        step = max(1, math.ceil((SMALL + 4) / (slot * math.sin(math.radians(45)))))
        label_h = longest * math.sin(math.radians(45)) + SMALL + 8
    for i, p in enumerate(periods):
        parts.append(_tag("line", x1=px(i), x2=px(i), y1=base, y2=base + 4, stroke=MUTED, stroke_width=1))
        if i % step:
            continue
        if rotated:
            x, y = px(i) + 4, base + 10
            parts.append(_text(x, y, p, fill=MUTED, font_size=SMALL, text_anchor="end",
                               transform=f"rotate(-45 {_num(x)} {_num(y)})"))
        else:
            parts.append(_text(px(i), base + SMALL + 5, p, fill=MUTED, font_size=SMALL, text_anchor="middle"))

    # Action markers: a dashed vertical line and a label above the plot, stacked if several.
    marker_notes = []
    for k, (period, label) in enumerate(markers):
        if period not in index:
            continue
        x = px(index[period])
        ly = top - 6 - 18 * (min(len(markers), 3) - 1 - k % 3)
        anchor = "start" if x < left + plot_w / 2 else "end"
        avail = (left + plot_w - x - 4) if anchor == "start" else (x - 4)
        parts.append(_tag(
            "g",
            _tag("line", x1=x, x2=x, y1=ly + 4, y2=base, stroke=INK, stroke_width=1.5, stroke_dasharray="3 3")
            + _text(x + 4 if anchor == "start" else x - 4, ly, _fit(f"▸ {label}" if anchor == "start"
                                                                  else f"{label} ◂", avail, SMALL),
                    tip=f"{period}: {label}", font_size=SMALL, text_anchor=anchor),
            class_="marker", data_period=period,
        ))
        marker_notes.append(f"{label} {marker_word} {period}")

    cut = dict(cut or {})
    # Series: a polyline per run of scores (None breaks it), then the point markers on top.
    low_n_seen = False
    series_notes = []
    for s, (name, points) in enumerate(series):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        dash = SERIES_DASHES[s % len(SERIES_DASHES)]
        shape = SERIES_SHAPES[s % len(SERIES_SHAPES)]
        by_period = {p: (v, n) for p, v, n in points if p in index}
        runs: list[list[tuple[float, float]]] = [[]]
        dots = []
        so_far = []
        previous: tuple[float, float, bool] | None = None  # the last point drawn, and whether it was partial
        for i, p in enumerate(periods):
            value, n = by_period.get(p, (None, 0))
            if value is None:
                if runs[-1]:
                    runs.append([])
                previous = None
                continue
            here_partial = p == partial or p in cut
            if here_partial or (previous is not None and previous[2]):
                # A period that is not all there, and the segment to or from it: dotted, never a solid drop.
                if runs[-1]:
                    runs.append([])
                if previous is not None:
                    so_far.append(_tag("line", x1=previous[0], y1=previous[1], x2=px(i), y2=py(value), stroke=colour,
                                       stroke_width=1.5, stroke_dasharray="2 4", stroke_opacity=0.7))
            previous = (px(i), py(value), here_partial)
            if here_partial:
                note = gettext("so far") if p == partial else cut[p]
                if s == 0:
                    anchor = "end" if px(i) > left + plot_w / 2 else "start"
                    so_far.append(_text(px(i) + (-8 if anchor == "end" else 8), py(value) - 8,
                                        gettext("%(note)s, n=%(n)s", note=note, n=n),
                                        fill=MUTED, font_size=SMALL, text_anchor=anchor, class_="so-far-label"))
                tip = (gettext("%(name)s, %(period)s so far (not over yet): %(score)s", name=name, period=p,
                               score=_score_phrase(value, n, bands)) if p == partial else
                       gettext("%(name)s, %(period)s (%(note)s: part of the period): %(score)s", name=name, period=p,
                               note=note, score=_score_phrase(value, n, bands)))
                dots.append(_tag(
                    "g",
                    _marker_shape(shape, px(i), py(value), colour=colour, hollow=True) + _tag("title", _e(tip)),
                    class_="point so-far", data_period=p, data_n=n,
                ))
                continue
            runs[-1].append((px(i), py(value)))
            hollow = n < LOW_N
            low_n_seen |= hollow
            dots.append(_tag(
                "g",
                _marker_shape(shape, px(i), py(value), colour=colour, hollow=hollow)
                + _tag("title", _e(f"{name}, {p}: {_score_phrase(value, n, bands)}")),
                class_="point low-n" if hollow else "point", data_period=p, data_n=n,
            ))
        lines = [
            _tag("polyline", points=" ".join(f"{_num(x)},{_num(y)}" for x, y in run), fill="none",
                 stroke=colour, stroke_width=2.5, stroke_dasharray=dash or None, stroke_linejoin="round")
            for run in runs if len(run) > 1
        ]
        parts.append(_tag("g", "".join(lines) + "".join(so_far) + "".join(dots), class_="series", data_series=name))
        scored = [(p, v, n) for p, v, n in points if v is not None and p in index]
        if scored:
            scored.sort(key=lambda t: index[t[0]])
            first, last = scored[0], scored[-1]
            series_notes.append(gettext("%(name)s: %(first)s in %(first_period)s to %(last)s in %(last_period)s "
                                        "(%(count)s periods with scores)", name=name, first=_round(first[1]),
                                        first_period=first[0], last=_round(last[1]), last_period=last[0],
                                        count=len(scored)))
        else:
            series_notes.append(gettext("%(name)s: no scores", name=name))

    # Legend: a line sample with its marker, then the name; wraps to more rows as needed.
    legend_top = base + label_h + 8
    items = [(name, 34 + _text_width(name)) for name, _ in series]
    if low_n_seen:
        hollow_note = gettext("hollow: fewer than 3 answers")
        items.append((hollow_note, 16 + _text_width(hollow_note, SMALL)))
    positions, bottom = _flow_legend(items, legend_top)
    for s, ((name, _), (lx, ly)) in enumerate(zip(items, positions, strict=True)):
        if s < len(series):
            colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
            dash = SERIES_DASHES[s % len(SERIES_DASHES)]
            parts.append(_tag("line", x1=lx, x2=lx + 28, y1=ly + 9, y2=ly + 9, stroke=colour, stroke_width=2.5,
                              stroke_dasharray=dash or None))
            parts.append(_marker_shape(SERIES_SHAPES[s % len(SERIES_SHAPES)], lx + 14, ly + 9, colour=colour,
                                       hollow=False))
            parts.append(_text(lx + 34, ly + 14, name))
        else:
            parts.append(_tag("circle", cx=lx + 6, cy=ly + 9, r=4.5, fill="#ffffff", stroke=INK, stroke_width=2))
            parts.append(_text(lx + 16, ly + 13, name, fill=MUTED, font_size=SMALL))

    desc = ". ".join(filter(None, [
        gettext("Scores from %(low)s to %(high)s; below %(edge1)s miserable, %(edge1)s to under %(edge2)s neutral, "
                "from %(edge2)s magical", low=_round(y_min), high=_round(y_max), edge1=_edge(bands[0]),
                edge2=_edge(bands[1])),
        "; ".join(series_notes) or gettext("No data"),
        gettext("Actions: %(list)s", list="; ".join(marker_notes)) if marker_notes else "",
        gettext("%(period)s is not over yet: its score so far is drawn hollow and dotted", period=partial)
        if partial in index else "",
        *(gettext("%(period)s holds only part of its days (%(note)s): drawn hollow and dotted", period=p, note=note)
          for p, note in cut.items() if p in index),
    ]))
    return _svg("".join(parts), kind="trend", title=title, desc=desc + ".", height=bottom + 2, chart_id=chart_id)


# --- score bars ----------------------------------------------------------------------------------------------


def score_bars(
    rows: Sequence[tuple[str, float | None, int]],
    *,
    title: str,
    bands: Bands = (50, 80),
    show_title: bool = True,
    chart_id: str | None = None,
) -> Markup:
    """One horizontal bar per moment, coloured by band, with the score and band written at the bar end."""
    value_room = 92  # "100 magical" / "45 · n<3"
    bar_w = WIDTH - value_room
    bar_h = 18
    y = 24.0 if show_title else 2.0
    parts: list[str] = []
    if show_title:
        parts.append(_title(title))

    # Band edges as faint ticks through all bars, labelled once at the top.
    tick_labels = y + SMALL
    y += SMALL + 6
    ticks_top = y
    body: list[str] = []
    notes = []
    for label, score, n in rows:
        lines = _wrap(label, WIDTH - 48, lines=2)
        shown = None if score is None else score_text(score, bands)
        band = band_for(score, bands)
        low = shown is not None and n < LOW_N
        row: list[str] = []
        for k, line in enumerate(lines):
            row.append(_text(0, y + 13 + 16 * k, line, tip=label if (k == 0 and line != label) else None))
        row.append(_text(WIDTH, y + 13, _n_text(n), fill=MUTED, font_size=SMALL, text_anchor="end"))
        by = y + 16 * len(lines) + 4
        if shown is None:
            row.append(_tag("rect", x=0, y=by, width=float(bar_w), height=bar_h, fill="none", stroke=GRID,
                            stroke_dasharray="3 3"))
            row.append(_text(8, by + 14, gettext("no scores"), fill=MUTED))
        else:
            w = max(2.0, bar_w * min(max(score, 0), 100) / 100)
            fill = LOW_N_BAR if low else BAND_FILL[band]
            row.append(_tag("rect", x=0, y=by, width=w, height=bar_h, fill=fill))
            value = f"{shown} · n<3" if low else f"{shown} {_band(band)}"
            if w + 6 + _text_width(value) * 1.12 <= WIDTH or low:  # 1.12: bold
                row.append(_text(w + 6, by + 14, value, fill=LOW_N_TEXT if low else BAND_INK[band],
                                 font_weight=None if low else "bold"))
            else:  # a long bar: write the value inside its end instead of past the edge
                row.append(_text(w - 6, by + 14, value, fill=BAND_TEXT[band], font_weight="bold",
                                 text_anchor="end"))
        cls = "bar low-n" if low else "bar"
        body.append(_tag("g", "".join(row), class_=cls, data_band=band or "none", data_n=n))
        notes.append(f"{label}: {_score_phrase(score, n, bands)}")
        y = by + bar_h + 12

    for edge in bands:
        x = bar_w * edge / 100
        parts.append(_tag("line", x1=x, x2=x, y1=ticks_top - 2, y2=y - 10, stroke=GRID, stroke_width=1,
                          stroke_dasharray="2 3"))
        parts.append(_text(x, tick_labels, _edge(edge), fill=MUTED, font_size=SMALL, text_anchor="middle"))
    parts.extend(body)
    if not rows:
        parts.append(_text(0, y + 14, gettext("No moments to show"), fill=MUTED))
        y += 24
    desc = "; ".join(notes) or gettext("No moments to show")
    return _svg("".join(parts), kind="bars", title=title, desc=desc + ".", height=y - 6, chart_id=chart_id)


# --- heatmap -------------------------------------------------------------------------------------------------


def _safe_href(href: str) -> str | None:
    """Drop script URLs; the caller builds hrefs with url_for, so anything odd is a bug, not a feature."""
    scheme = "".join(href.split()).lower().split(":", 1)[0] if ":" in href else ""
    return None if scheme in {"javascript", "data", "vbscript"} else href


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    cells: dict[tuple[int, int], tuple[float | None, int]],
    *,
    title: str,
    bands: Bands = (50, 80),
    link: Callable[[int, int], str] | None = None,
    chart_id: str | None = None,
) -> Markup:
    """Rows (locations) by columns (moments); each cell coloured by band and showing its rounded score.

    Cells with n < 3 are grey, cells without a score are empty. Column labels are vertical and shortened;
    up to 8 columns fit 328 units, more make the chart wider (fixed width: the page scrolls it).
    With `link`, each cell is an <a href> to link(row, col) and the chart is a group of links, not an image.
    """
    # Linked cells are tap targets: 48 x 48 on a phone (the chart then scrolls sideways if it must).
    min_side = 48.0 if link is not None else 28.0
    cell_h = int(min_side)
    label_w = min(100.0, max([_text_width(r) for r in row_labels] + [40.0]) + 6)
    cols = max(len(col_labels), 1)
    cell_w = max(min_side, min(48.0, (WIDTH - label_w) / cols))
    width = max(float(WIDTH), label_w + cols * cell_w)
    head_h = min(110.0, max([_text_width(c) for c in col_labels] + [20.0])) + 10
    top = 24 + head_h

    parts = [_title(title)]
    for j, col in enumerate(col_labels):
        x, y = label_w + cell_w * j + cell_w / 2 + 4, top - 6
        parts.append(_text(x, y, _fit(col, head_h - 10), tip=col, transform=f"rotate(-90 {_num(x)} {_num(y)})",
                           class_="col-label"))
    notes = []
    for i, row in enumerate(row_labels):
        y = top + cell_h * i
        parts.append(_text(0, y + cell_h / 2 + 5, _fit(row, label_w - 6), tip=row, class_="row-label"))
        for j, col in enumerate(col_labels):
            score, n = cells.get((i, j), (None, 0))
            shown = None if score is None else score_text(score, bands)
            band = band_for(score, bands)
            low = shown is not None and n < LOW_N
            x = label_w + cell_w * j
            if shown is None:
                fill, ink, cls = EMPTY_FILL, MUTED, "cell empty"
            elif low:
                fill, ink, cls = LOW_N_FILL, LOW_N_TEXT, "cell low-n"
            else:
                fill, ink, cls = BAND_FILL[band], BAND_TEXT[band], f"cell band-{band}"
            tip = f"{row} · {col}: {_score_phrase(score, n, bands)}"
            href = _safe_href(link(i, j)) if link is not None else None
            # A linked cell carries its tooltip on the link, so the text inside the link is only the number.
            inner = ("" if href is not None else _tag("title", _e(tip))) + _tag(
                "rect", x=x + 1, y=float(y + 1), width=cell_w - 2, height=cell_h - 2, fill=fill,
                stroke=GRID if shown is None or low else None, stroke_dasharray="2 2" if low else None,
            )
            if shown is not None:
                inner += _text(x + cell_w / 2, y + cell_h / 2 + 5, shown, fill=ink, text_anchor="middle",
                               font_weight=None if low else "bold", font_style="italic" if low else None)
                if not low and cell_w >= 40:  # the band's symbol too: colour is never the only cue
                    inner += _text(x + cell_w - 4, y + SMALL + 2, BAND_SYMBOL[band], fill=ink, font_size=SMALL,
                                   text_anchor="end", class_="band-symbol", aria_hidden="true")
            cell = _tag("g", inner, class_=cls, data_row=i, data_col=j, data_n=n)
            if href is not None:
                # The accessible name starts with the visible number (WCAG 2.5.3, label in name).
                name = tip if shown is None else f"{shown}: {tip}"
                cell = _tag("a", _tag("title", _e(name)) + cell, href=href, aria_label=name)
            parts.append(cell)
            if shown is not None:
                notes.append(tip)

    # Key: the bands in words, so colour is never the only cue.
    y = top + cell_h * len(row_labels) + 10
    key = [(BAND_FILL["miserable"], f"{BAND_SYMBOL['miserable']} < {_edge(bands[0])} {_band('miserable')}"),
           (BAND_FILL["neutral"], f"{BAND_SYMBOL['neutral']} " + gettext("%(low)s to < %(high)s", low=_edge(bands[0]),
                                                                        high=_edge(bands[1])) + f" {_band('neutral')}"),
           (BAND_FILL["magical"], f"{BAND_SYMBOL['magical']} ≥ {_edge(bands[1])} {_band('magical')}"),
           (LOW_N_FILL, gettext("grey italic: n<3"))]
    positions, bottom = _flow_legend([(t, 18 + _text_width(t, SMALL)) for _, t in key], y)
    for (colour, text), (lx, ly) in zip(key, positions, strict=True):
        parts.append(_tag("rect", x=lx, y=ly + 3, width=12, height=12, fill=colour, stroke=GRID))
        parts.append(_text(lx + 17, ly + 13, text, fill=MUTED, font_size=SMALL))

    desc = (gettext("%(rows)s rows by %(columns)s columns.", rows=len(row_labels), columns=len(col_labels)) + " "
            + "; ".join(notes) + ".") if notes else gettext("No scores yet.")
    return _svg("".join(parts), kind="heatmap", title=title, desc=desc, height=bottom + 2, width=width,
                fixed_width=width > WIDTH, role="group" if link is not None else "img", chart_id=chart_id)


# --- gap chart -----------------------------------------------------------------------------------------------


def gap_chart(
    rows: Sequence[tuple[str, float | None, int, float | None, int]],
    *,
    title: str,
    threshold: float = 15,
    bands: Bands = (50, 80),
    show_title: bool = True,
    chart_id: str | None = None,
) -> Markup:
    """Shopper score against staff score per moment on a 0-100 line (a dumbbell); big gaps are called out."""
    shopper_colour, staff_colour, gap_colour = "#1f3a93", "#6a1b9a", BAND_FILL["miserable"]
    x0, x1 = 12.0, WIDTH - 12.0

    def px(v: float) -> float:
        return x0 + (x1 - x0) * min(max(v, 0), 100) / 100

    parts: list[str] = []
    y = 2.0
    if show_title:
        parts.append(_title(title))
        y = 24.0
    # Legend: shapes and words.
    parts.append(_marker_shape("circle", 6, y + 8, colour=shopper_colour, hollow=False))
    shoppers, staff_word = gettext("Shoppers"), gettext("Staff")
    parts.append(_text(16, y + 13, shoppers))
    sx = 16 + _text_width(shoppers) + 14
    parts.append(_marker_shape("square", sx + 6, y + 8, colour=staff_colour, hollow=False))
    parts.append(_text(sx + 16, y + 13, staff_word))
    gx = sx + 16 + _text_width(staff_word) + 14
    parts.append(_tag("line", x1=gx, x2=gx + 18, y1=y + 8, y2=y + 8, stroke=gap_colour, stroke_width=4))
    parts.append(_text(gx + 22, y + 13, gettext("gap ≥ %(points)s", points=_round(threshold)), fill=MUTED,
                       font_size=SMALL))
    y += 26

    notes = []
    for label, shop, shop_n, staff, staff_n in rows:
        gap = abs(staff - shop) if shop is not None and staff is not None else None
        big = gap is not None and _round(gap) >= threshold
        row = [_text(0, y + 13, _fit(label, WIDTH - (64 if big else 0)), tip=label)]
        if big:
            row.append(_text(WIDTH, y + 13, gettext("gap %(points)s", points=_round(gap)), fill=gap_colour, font_weight="bold",
                             text_anchor="end", class_="gap"))
        ly = y + 28
        row.append(_tag("line", x1=x0, x2=x1, y1=ly, y2=ly, stroke=GRID, stroke_width=2))
        for v in (0, *bands, 100):
            row.append(_tag("line", x1=px(v), x2=px(v), y1=ly - 5, y2=ly + 5, stroke=GRID, stroke_width=1))
        if shop is not None and staff is not None:
            row.append(_tag("line", x1=px(shop), x2=px(staff), y1=ly, y2=ly, stroke=gap_colour if big else MUTED,
                            stroke_width=4 if big else 2.5, class_="gap-line"))
        for who, name, value, n, shape, colour in (("shoppers", shoppers, shop, shop_n, "circle", shopper_colour),
                                                   ("staff", staff_word, staff, staff_n, "square", staff_colour)):
            if value is None:
                continue
            low = n < LOW_N
            row.append(_tag(
                "g",
                _marker_shape(shape, px(value), ly, colour=LOW_N_BAR if low else colour, hollow=low)
                + _tag("title", _e(f"{name}: {_score_phrase(value, n, bands)}")),
                class_="point low-n" if low else "point", data_who=who, data_n=n,
            ))
        values = " · ".join(
            gettext("%(who)s: none", who=name) if v is None
            else f"{name} {score_text(v, bands)} ({'n<3, ' if n < LOW_N else ''}n={n})"
            for name, v, n in ((shoppers, shop, shop_n), (staff_word, staff, staff_n))
        )
        row.append(_text(0, ly + 22, _fit(values, WIDTH, SMALL), fill=MUTED, font_size=SMALL))
        parts.append(_tag("g", "".join(row), class_="gap-row big-gap" if big else "gap-row"))
        note = gettext("%(moment)s: shoppers %(shoppers)s, staff %(staff)s", moment=label,
                       shoppers=_score_phrase(shop, shop_n, bands), staff=_score_phrase(staff, staff_n, bands))
        notes.append(note + (", " + gettext("gap %(points)s", points=_round(gap)) if big else ""))
        y = ly + 34
    if not rows:
        parts.append(_text(0, y + 14, gettext("No moments to show"), fill=MUTED))
        y += 24
    desc = "; ".join(notes) or gettext("No moments to show")
    return _svg("".join(parts), kind="gap", title=title, desc=desc + ".", height=y, chart_id=chart_id)
