"""The one band palette: colour-blind safe (deuteranopia and protanopia simulated), readable text, used everywhere."""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest

from auditapp.charts import svg
from auditapp.exports import workbook
from auditapp.reports import services as report_services
from auditapp.scoring import palette
from auditapp.scoring.palette import BANDS, PALETTE

ROOT = Path(__file__).resolve().parents[2]

# Machado, Oliveira and Fernandes (2009), severity 1.0, applied to linear RGB.
MACHADO = {
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
}
# Viénot, Brettel and Mollon (1999) deuteranope, as a second opinion.
VIENOT_DEUTAN = ((0.29275, 0.70725, 0.0), (0.29275, 0.70725, 0.0), (-0.02234, 0.02234, 1.0))


def linear(colour: str) -> tuple[float, float, float]:
    def one(c: int) -> float:
        x = c / 255
        return x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4
    h = colour.lstrip("#")
    return tuple(one(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def simulate(colour: str, matrix) -> tuple[float, float, float]:
    rgb = linear(colour)
    return tuple(min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True)))) for row in matrix)


def lab(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116
    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(a, b) -> float:
    """CIE76 colour difference: about 2.3 is just noticeable; 20 and more reads as clearly different colours."""
    return math.dist(lab(a), lab(b))


def luminance(colour: str) -> float:
    r, g, b = linear(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


SIMULATIONS = [*MACHADO.values(), VIENOT_DEUTAN]
# Strong fills (bars, heatmap cells) must be clearly apart; tints are pale by design and always carry the word,
# so they need only a visible difference.
THRESHOLDS = {"fill": 20.0, "scale": 20.0, "tint": 8.0}


@pytest.mark.parametrize("field", sorted(THRESHOLDS))
@pytest.mark.parametrize("matrix", SIMULATIONS, ids=["machado-deutan", "machado-protan", "vienot-deutan"])
def test_bands_stay_apart_for_colour_blind_readers(field, matrix):
    colours = palette.of(field)
    for a, b in itertools.combinations(BANDS, 2):
        distance = delta_e(simulate(colours[a], matrix), simulate(colours[b], matrix))
        assert distance >= THRESHOLDS[field], f"{field}: {a} vs {b} only {distance:.1f} apart"


def test_the_simulation_catches_a_red_green_palette():
    """The check has teeth: the classic red/green tints collapse for a deuteranope (the old product's palette)."""
    old = {"miserable": "#fde7e4", "magical": "#e2f4e7"}
    matrix = MACHADO["deuteranopia"]
    assert delta_e(linear(old["miserable"]), linear(old["magical"])) > 10  # clearly apart with normal sight
    assert delta_e(simulate(old["miserable"], matrix), simulate(old["magical"], matrix)) < 3  # not for a deuteranope


@pytest.mark.parametrize("band", BANDS)
def test_text_contrast_is_at_least_4_5(band):
    c = PALETTE[band]
    assert contrast(c.on_fill, c.fill) >= 4.5
    assert contrast(c.ink, c.tint) >= 4.5
    assert contrast(c.ink, "#ffffff") >= 4.5
    assert contrast(c.line, "#ffffff") >= 4.5
    assert contrast(c.fill, "#ffffff") >= 3  # a graphic against the page (WCAG 1.4.11)
    assert contrast(palette.GREY_INK, palette.GREY_FILL) >= 4.5


def test_every_band_has_a_word_and_a_distinct_symbol():
    assert [PALETTE[b].label.lower() for b in BANDS] == list(BANDS)
    assert len({PALETTE[b].symbol for b in BANDS}) == 3
    assert len({PALETTE[b].pattern for b in BANDS} | {"x"}) >= 2  # at least one band is hatched in Excel


def test_charts_excel_and_pdf_use_the_palette():
    fill, tint, ink, on_fill = (palette.of(f) for f in ("fill", "tint", "ink", "on_fill"))
    assert (fill, tint, ink, on_fill) == (svg.BAND_FILL, svg.BAND_TINT, svg.BAND_INK, svg.BAND_TEXT)
    assert {b: palette.hex6(c) for b, c in tint.items()} == workbook.BAND_FILLS
    assert {b: palette.hex6(c) for b, c in ink.items()} == workbook.BAND_INKS
    assert {b: palette.hex6(c) for b, c in fill.items()} == workbook.BAR_FILLS
    assert (report_services.PALETTE["fill"], report_services.PALETTE["tint"]) == (fill, tint)


def test_screen_css_repeats_the_palette():
    css = (ROOT / "auditapp/static/css/app.css").read_text()
    props = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    for band in BANDS:
        c = PALETTE[band]
        assert props[band] == c.line
        assert props[f"{band}-bg"] == c.tint
        assert props[f"{band}-ink"] == c.ink
        assert props[f"{band}-fill"] == c.fill
    # The band badges use the variables, not colours of their own.
    for band in BANDS:
        rule = re.search(rf"\.band-{band} \{{([^}}]*)\}}", css).group(1)
        assert f"var(--{band}-bg)" in rule and f"var(--{band}-ink)" in rule
