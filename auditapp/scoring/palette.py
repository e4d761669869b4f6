"""The one band palette: screen CSS, dashboard heatmap, SVG charts, the Excel scorecard and the visit PDF.

Chosen to stay apart for colour-blind readers: red, amber and a blue-leaning teal differ in lightness and on the
blue-yellow axis that deuteranopes and protanopes still see (red against green differs mostly on the axis they
lose). tests/unit/test_palette.py simulates deuteranopia and protanopia (Machado, Oliveira and Fernandes 2009)
and checks the distance between the simulated colours and the text contrast (WCAG 4.5:1).

Colour never works alone: every band also has its word (`label`) and a symbol (`symbol`, drawn in heatmap cells
and chart legends), and the Excel band cells carry the word and a fill pattern.

app.css repeats these values as custom properties (--miserable, --miserable-bg, ...); a test keeps them equal.
Plain data, no imports: scoring/ stays framework-free.
"""
from __future__ import annotations

from dataclasses import dataclass

BANDS = ("miserable", "neutral", "magical")


@dataclass(frozen=True, slots=True)
class BandColours:
    key: str
    label: str  # the word written beside every coloured score
    symbol: str  # a shape that survives greyscale printing and colour blindness
    fill: str  # strong fill: heatmap cells, bars, verdict segments
    on_fill: str  # text drawn on `fill`
    tint: str  # light background of band badges, Excel band cells, chart band backgrounds
    ink: str  # text on `tint`
    line: str  # borders and text on white
    scale: str  # Excel colour-scale stop (score cells; the band word sits in the next column)
    pattern: str  # Excel fill pattern of the band cell ("solid" or a hatch): readable in black and white


PALETTE: dict[str, BandColours] = {
    "miserable": BandColours("miserable", "Miserable", "▼", fill="#b3261e", on_fill="#ffffff", tint="#fde2dd",
                             ink="#7a1a14", line="#b3261e", scale="#f4a6a0", pattern="lightUp"),
    "neutral": BandColours("neutral", "Neutral", "●", fill="#c98300", on_fill="#1a1a1a", tint="#fff0cc",
                           ink="#6b4000", line="#8a5300", scale="#ffd97a", pattern="solid"),
    "magical": BandColours("magical", "Magical", "▲", fill="#00796b", on_fill="#ffffff", tint="#d2ecf0",
                           ink="#00473f", line="#00695c", scale="#7cc7d6", pattern="solid"),
}
# Fewer than 3 scores, or no score: grey, with the reason in words.
GREY_FILL = "#e4e4e4"
GREY_TINT = "#e9ecef"
GREY_INK = "#404040"


def hex6(colour: str) -> str:
    """'#b3261e' -> 'B3261E' (openpyxl's form)."""
    return colour.lstrip("#").upper()


def of(field: str) -> dict[str, str]:
    """{band: colour} for one field: of("fill") -> {"miserable": "#b3261e", ...}."""
    return {band: getattr(PALETTE[band], field) for band in BANDS}
