"""The SVG charts: well-formed, escaped, accessible, and drawing what they are given."""
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from auditapp.charts import band_for, gap_chart, heatmap, score_bars, trend_chart, verdict_bar
from auditapp.charts import svg as charts

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = ['<script>alert(1)</script>', 'x" onload="alert(1)', "it's & <b>bold</b>"]


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, parsed to check it


def all_of(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(NS + tag))


def with_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if cls in el.get("class", "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in all_of(root, "text")]


def assert_accessible(root: ET.Element, title: str) -> None:
    assert root.tag == NS + "svg"
    assert root.get("role") in {"img", "group"}
    assert root.get("width") is not None and root.get("viewBox", "").startswith("0 0 ")
    title_el, desc_el = root.find(NS + "title"), root.find(NS + "desc")
    assert title_el is not None and title_el.text == title
    assert desc_el is not None and desc_el.text
    assert root.get("aria-labelledby") == f"{title_el.get('id')} {desc_el.get('id')}"


def assert_no_injection(root: ET.Element, raw: str) -> None:
    assert "<script" not in raw
    for el in root.iter():
        assert el.tag.startswith(NS), el.tag  # no element the caller smuggled in
        assert not any(name.lower().startswith("on") for name in el.attrib)
    assert not all_of(root, "style") and all(el.get("style") is None for el in root.iter())  # strict CSP friendly


def sample_charts(label: str) -> list[tuple[Markup, str]]:
    return [
        (verdict_bar(9, 3, 4, label=label), label),
        (trend_chart([(label, [("2026-01", 50, 5), ("2026-02", 60, 1)])], title=label,
                     markers=[("2026-02", label)]), label),
        (score_bars([(label, 72, 5)], title=label), label),
        (heatmap([label], [label], {(0, 0): (80, 5)}, title=label, link=lambda i, j: f"/r?x={label}"), label),
        (gap_chart([(label, 40, 5, 90, 5)], title=label), label),
    ]


# --- safety and accessibility, every chart -------------------------------------------------------------------


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_text_is_escaped_everywhere(label):
    for markup, title in sample_charts(label):
        root = parse(markup)
        assert_no_injection(root, str(markup))
        assert_accessible(root, title)
        # The text survives as text: a reader sees what was typed.
        shown = texts(root) + [t.text or "" for t in all_of(root, "title")]
        assert any(label in t for t in shown)


def test_font_sizes_are_at_least_12px_on_a_phone():
    for markup, _ in sample_charts("Greeting"):
        root = parse(markup)
        width = float(root.get("viewBox").split()[2])
        assert width <= 328 or root.get("width") != "100%"  # fluid charts never shrink below 1 unit = 1 px
        sizes = [float(el.get("font-size")) for el in root.iter() if el.get("font-size")]
        assert sizes and min(sizes) >= 12


def test_chart_ids_are_unique_and_can_be_given():
    a, b = parse(verdict_bar(1, 1, 1, label="A")), parse(verdict_bar(1, 1, 1, label="A"))
    assert a.get("id") != b.get("id")
    assert parse(verdict_bar(1, 1, 1, label="A", chart_id="greeting")).get("id") == "greeting"


def lum(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("band", ["miserable", "neutral", "magical"])
def test_text_on_band_colours_passes_wcag_aa(band):
    assert contrast(charts.BAND_FILL[band], charts.BAND_TEXT[band]) >= 4.5
    assert contrast(charts.BAND_INK[band], charts.BAND_TINT[band]) >= 4.5
    assert contrast(charts.BAND_INK[band], "#ffffff") >= 4.5
    assert contrast(charts.BAND_FILL[band], "#ffffff") >= 3  # a graphic against the page


def test_grey_text_passes_wcag_aa():
    assert contrast(charts.LOW_N_TEXT, charts.LOW_N_FILL) >= 4.5
    assert contrast(charts.MUTED, "#ffffff") >= 4.5
    assert contrast(charts.LOW_N_BAR, "#ffffff") >= 3


# --- band_for ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "band"),
    [(None, None), (0, "miserable"), (49.9, "miserable"), (50, "neutral"), (79.9, "neutral"), (80, "magical"),
     (100, "magical")],
)
def test_band_for(score, band):
    assert band_for(score) == band


def test_band_for_custom_bands():
    assert band_for(65, (60, 90)) == "neutral"
    assert band_for(55, (60, 90)) == "miserable"


# --- verdict bar ---------------------------------------------------------------------------------------------


def test_verdict_bar_segments_and_summary():
    root = parse(verdict_bar(9, 3, 4, label="Greeting"))
    segments = [el for el in all_of(root, "rect") if el.get("data-count")]
    assert [s.get("class") for s in segments] == ["band-miserable", "band-neutral", "band-magical"]
    assert [int(s.get("data-count")) for s in segments] == [4, 3, 9]
    assert root.find(NS + "desc").text.startswith("4 miserable, 3 neutral, 9 magical")
    widths = [float(s.get("width")) for s in segments]
    assert sum(widths) == pytest.approx(328, abs=0.5)
    legend = texts(root)
    assert "9 · 56%" in legend and "3 · 19%" in legend and "4 · 25%" in legend


def test_verdict_bar_percentages_add_up_to_100():
    root = parse(verdict_bar(1, 1, 1, label="Thirds"))
    percents = [int(t.split("· ")[1].rstrip("%")) for t in texts(root) if "%" in t and t.count("·") == 1]
    assert sum(percents[-3:]) == 100


def test_verdict_bar_zero_count_and_empty():
    root = parse(verdict_bar(5, 0, 0, label="All good"))
    assert len([el for el in all_of(root, "rect") if el.get("data-count")]) == 1
    empty = parse(verdict_bar(0, 0, 0, label="Nothing"))
    assert "No verdicts yet" in texts(empty)
    assert empty.find(NS + "desc").text == "No verdicts yet"


# --- trend chart ---------------------------------------------------------------------------------------------


SERIES = [
    ("Shoppers", [("2026-01", 55, 6), ("2026-02", 61, 5), ("2026-03", None, 0), ("2026-04", 70, 2),
                  ("2026-05", 74, 4)]),
    ("Staff", [("2026-01", 78, 9), ("2026-02", 80, 8), ("2026-03", 79, 9), ("2026-04", 82, 9),
               ("2026-05", 85, 9)]),
]


def test_trend_points_gaps_and_low_n():
    root = parse(trend_chart(SERIES, title="Greeting", markers=[("2026-03", "New script")]))
    assert_accessible(root, "Greeting")
    series = with_class(root, "series")
    assert [s.get("data-series") for s in series] == ["Shoppers", "Staff"]
    shoppers, staff = series
    assert len(with_class(shoppers, "point")) == 4  # the None period is not drawn
    assert len(with_class(staff, "point")) == 5
    assert len(all_of(shoppers, "polyline")) == 2  # the None splits the line
    assert len(all_of(staff, "polyline")) == 1
    low = with_class(root, "low-n")
    assert [(p.get("data-period"), p.get("data-n")) for p in low] == [("2026-04", "2")]
    assert all_of(low[0], "polygon") or all_of(low[0], "circle")
    hollow = next(el for el in low[0] if el.tag != NS + "title")
    assert hollow.get("fill") == "#ffffff"
    assert "hollow: fewer than 3 answers" in texts(root)


def test_trend_series_differ_by_more_than_colour():
    root = parse(trend_chart(SERIES, title="T"))
    shoppers, staff = with_class(root, "series")
    assert all_of(shoppers, "polyline")[0].get("stroke-dasharray") != all_of(staff, "polyline")[0].get(
        "stroke-dasharray")
    first = [next(el for el in p if el.tag != NS + "title").tag for p in (with_class(s, "point")[0]
                                                                          for s in (shoppers, staff))]
    assert first[0] != first[1]  # circle vs square
    assert {"Shoppers", "Staff"} <= set(texts(root))  # legend in words


def test_trend_markers_gridlines_and_axis():
    root = parse(trend_chart(SERIES, title="T", markers=[("2026-03", "New script"), ("2026-05", "Coaching")]))
    marks = with_class(root, "marker")
    assert [m.get("data-period") for m in marks] == ["2026-03", "2026-05"]
    assert all(all_of(m, "line") for m in marks)
    shown = texts(root)
    assert any("New script" in t for t in shown) and any("Coaching" in t for t in shown)
    assert {"0", "50", "80", "100"} <= set(shown)
    assert {"miserable", "neutral", "magical"} <= set(shown)
    assert "2026-01" in shown and "2026-05" in shown
    assert "New script from 2026-03" in root.find(NS + "desc").text


def test_trend_periods_sorted_and_marker_period_added():
    root = parse(trend_chart([("S", [("2026-W03", 60, 5), ("2026-W01", 50, 5)])], title="T",
                             markers=[("2026-W02", "Action")]))
    points = with_class(root, "point")
    xs = {p.get("data-period"): float(next(iter(p)).get("cx")) for p in points}
    assert xs["2026-W01"] < xs["2026-W03"]
    assert with_class(root, "marker")[0].get("data-period") == "2026-W02"


def test_trend_explicit_periods_and_empty():
    root = parse(trend_chart([("S", [("2026-01", 60, 5), ("2025-12", 50, 5)])], title="T", periods=["2026-01"],
                             markers=[("2025-06", "Too early")]))
    assert len(with_class(root, "point")) == 1
    assert not with_class(root, "marker")
    empty = parse(trend_chart([], title="Nothing yet"))
    assert_accessible(empty, "Nothing yet")
    none_only = parse(trend_chart([("S", [("2026-01", None, 0)])], title="T"))
    assert not with_class(none_only, "point") and not all_of(none_only, "polyline")


def test_trend_many_periods_rotates_labels():
    weeks = [(f"2026-W{w:02d}", 60, 5) for w in range(1, 27)]
    root = parse(trend_chart([("Weekly", weeks)], title="T"))
    rotated = [t for t in all_of(root, "text") if "rotate" in (t.get("transform") or "")]
    assert 0 < len(rotated) < 26  # rotated, and thinned out


# --- score bars ----------------------------------------------------------------------------------------------


ROWS = [("Booking call", 91, 12), ("Greeted by the nurse within two minutes of arriving at the surgery on time "
                                  "for the appointment", 42, 6), ("Dentist arrives", None, 0), ("Asked to pay", 30, 2),
        ("Farewell", 79.5, 7)]


def test_score_bars_rows_and_bands():
    root = parse(score_bars(ROWS, title="Moments"))
    assert_accessible(root, "Moments")
    bars = with_class(root, "bar")
    assert len(bars) == 5
    assert [b.get("data-band") for b in bars] == ["magical", "miserable", "none", "miserable", "neutral"]
    shown = texts(root)
    # 79.5 is under the magical edge (80): neutral, and shown as 79.5 so the number does not say 80
    assert "91 magical" in shown and "79.5 neutral" in shown and "80 magical" not in shown
    assert "no scores" in shown
    assert "n=12" in shown


def test_score_bars_low_n_is_grey():
    root = parse(score_bars(ROWS, title="Moments"))
    low = with_class(root, "low-n")
    assert len(low) == 1 and low[0].get("data-n") == "2"
    assert all_of(low[0], "rect")[0].get("fill") == charts.LOW_N_BAR
    assert "30 · n<3" in texts(low[0])


def test_score_bars_long_label_is_shortened_with_full_title():
    root = parse(score_bars(ROWS, title="Moments"))
    long_label = ROWS[1][0]
    row = with_class(root, "bar")[1]
    label_lines = [t for t in all_of(row, "text") if t.get("x") == "0"]
    assert len(label_lines) == 2  # wrapped onto two lines, then cut
    assert label_lines[0].text.startswith("Greeted by") and label_lines[1].text.endswith("…")
    assert long_label in [t.text for t in all_of(row, "title")]


def test_score_bars_empty():
    root = parse(score_bars([], title="Nothing"))
    assert "No moments to show" in texts(root)


# --- heatmap -------------------------------------------------------------------------------------------------


LOCATIONS = ["Zurich", "Bern", "Basel"]
MOMENTS = ["Booking call", "Arrival", "Greeting", "Examination", "Payment", "Farewell", "Follow-up", "Review"]


def heat_cells():
    cells = {(i, j): (30 + 10 * i + 7 * j, 5) for i in range(3) for j in range(8)}
    cells[(0, 1)] = (64, 2)  # too few answers
    cells[(1, 2)] = (None, 0)  # none
    del cells[(2, 7)]  # absent
    return cells


def test_heatmap_cells_text_and_states():
    root = parse(heatmap(LOCATIONS, MOMENTS, heat_cells(), title="Grid"))
    assert_accessible(root, "Grid")
    assert root.get("role") == "img" and root.get("width") == "100%"  # 8 columns fit a phone
    cells = with_class(root, "cell")
    assert len(cells) == 24
    empty = with_class(root, "empty")
    assert {(c.get("data-row"), c.get("data-col")) for c in empty} == {("1", "2"), ("2", "7")}
    assert all(not all_of(c, "text") for c in empty)
    low = with_class(root, "low-n")
    assert [(c.get("data-row"), c.get("data-col"), c.get("data-n")) for c in low] == [("0", "1", "2")]
    assert all_of(low[0], "rect")[0].get("fill") == charts.LOW_N_FILL
    assert texts(low[0]) == ["64"]
    first = with_class(root, "band-miserable")[0]
    assert texts(first) == ["30"]
    assert len(with_class(root, "col-label")) == 8 and len(with_class(root, "row-label")) == 3


def test_heatmap_links_are_escaped():
    href = '/results?loc=1&moment=2"><script>alert(1)</script>'
    markup = heatmap(LOCATIONS, MOMENTS, heat_cells(), title="Grid", link=lambda i, j: href)
    root = parse(markup)
    assert_no_injection(root, str(markup))
    links = all_of(root, "a")
    assert len(links) == 24
    assert all(a.get("href") == href for a in links)  # escaped in the markup, intact once parsed
    assert "&amp;moment=2&#34;&gt;" in str(markup)
    assert root.get("role") == "group"  # interactive children: not a single image
    assert all(a.get("aria-label") for a in links)


def test_heatmap_drops_script_urls():
    root = parse(heatmap(["A"], ["B"], {(0, 0): (90, 5)}, title="G", link=lambda i, j: " JavaScript:alert(1)"))
    assert not all_of(root, "a")


def test_heatmap_many_columns_gets_a_fixed_width_to_scroll():
    cols = [f"Moment {k}" for k in range(14)]
    root = parse(heatmap(["A"], cols, {}, title="Wide"))
    assert root.get("width") != "100%" and float(root.get("width")) > 328
    assert root.find(NS + "desc").text == "No scores yet."


def test_heatmap_long_labels_abbreviated_with_full_title():
    long_row = "Geneva Cornavin railway station airport branch"
    root = parse(heatmap([long_row], ["A very long moment name that will not fit"], {(0, 0): (60, 4)},
                         title="G"))
    row = with_class(root, "row-label")[0]
    assert row.text.endswith("…") and row.find(NS + "title").text == long_row
    col = with_class(root, "col-label")[0]
    assert col.text.endswith("…") and "rotate" in col.get("transform")


# --- gap chart -----------------------------------------------------------------------------------------------


GAPS = [("Booking call", 62, 5, 80, 4), ("Arrival", 75, 6, 78, 5), ("Greeting", 40, 6, 85, 2),
        ("Farewell", None, 0, 70, 3), ("Examination", 90, 4, 72, 6)]


def test_gap_chart_markers_and_highlights():
    root = parse(gap_chart(GAPS, title="Shoppers vs staff"))
    assert_accessible(root, "Shoppers vs staff")
    rows = with_class(root, "gap-row")
    assert len(rows) == 5
    big = with_class(root, "big-gap")
    assert len(big) == 3
    assert [t.text for t in with_class(root, "gap")] == ["gap 18", "gap 45", "gap 18"]
    points = with_class(root, "point")
    assert len(points) == 9  # one shopper score is missing
    shapes = {p.get("data-who"): next(iter(p)).tag for p in points}
    assert shapes == {"shoppers": NS + "circle", "staff": NS + "rect"}
    assert {"Shoppers", "Staff"} <= set(texts(root))  # legend in words


def test_gap_chart_low_n_and_missing():
    root = parse(gap_chart(GAPS, title="G"))
    low = with_class(root, "low-n")
    assert [(p.get("data-who"), p.get("data-n")) for p in low] == [("staff", "2")]
    assert next(iter(low[0])).get("fill") == "#ffffff"
    farewell = with_class(root, "gap-row")[3]
    assert not with_class(farewell, "gap-line")
    assert any("Shoppers: none" in t for t in texts(farewell))


def test_gap_chart_threshold():
    root = parse(gap_chart(GAPS, title="G", threshold=40))
    assert [t.text for t in with_class(root, "gap")] == ["gap 45"]


def test_linked_heatmap_cells_are_thumb_sized():
    """Drill-down cells are tap targets: at least 48 units (px on a phone) on each side, however many columns."""
    import re

    cells = {(0, j): (70.0, 5) for j in range(9)}
    svg = str(heatmap(["Harbour"], [f"Moment {j}" for j in range(9)], cells, title="t", link=lambda i, j: f"/d/{j}"))
    rects = re.findall(r'<a [^>]*>.*?<rect [^>]*width="([\d.]+)" height="([\d.]+)"', svg)
    assert len(rects) == 9
    assert all(float(w) + 2 >= 48 and float(h) + 2 >= 48 for w, h in rects)


def test_trend_marks_the_running_period_so_far():
    points = [("Apr", 80.0, 9), ("May", 78.0, 8), ("Jun", 10.0, 2)]
    out = str(charts.trend_chart([("Overall", points)], title="t", periods=["Apr", "May", "Jun"], partial="Jun"))
    assert out.count('class="point so-far"') == 1 and "so far, n=2" in out
    assert 'stroke-dasharray="2 4"' in out  # a dotted segment to it, not the solid line of a drop
    polyline = out.split("<polyline", 1)[1].split("/>", 1)[0]
    assert polyline.count(",") == 2  # the solid line joins Apr and May only
    assert "Jun is not over yet" in out


def test_heatmap_cells_carry_the_band_symbol():
    out = str(charts.heatmap(["A"], ["m1", "m2", "m3"], {(0, 0): (20.0, 5), (0, 1): (60.0, 5), (0, 2): (90.0, 5)},
                             title="h", link=lambda i, j: f"/x?{j}"))
    for band in ("miserable", "neutral", "magical"):
        assert charts.BAND_SYMBOL[band] in out
    assert out.count('class="band-symbol"') == 3


def test_a_period_the_filter_cuts_is_drawn_hollow_and_dotted_with_its_note():
    points = [("Sep", 30.0, 4), ("Oct", 80.0, 9), ("Nov", 82.0, 9)]
    out = str(charts.trend_chart([("Overall", points)], title="t", periods=["Sep", "Oct", "Nov"],
                                 cut={"Sep": "from 6 Sep"}))
    assert "from 6 Sep, n=4" in out  # said in words next to the point
    assert out.count('class="point so-far"') == 1 and 'data-period="Sep"' in out
    assert 'stroke-dasharray="2 4"' in out  # the segment from the short month is dotted, not a solid rise
    assert "Sep holds only part of its days (from 6 Sep): drawn hollow and dotted" in out
    polylines = re.findall(r'<polyline points="([^"]+)"', out)
    assert len(polylines) == 1 and len(polylines[0].split()) == 2  # the solid line joins Oct and Nov only
