"""The Excel scorecard (contract section 6): a Scorecard in, an .xlsx written to a file-like object out.

Every sheet is an openpyxl write-only sheet, so rows go to disk as they are made and memory stays flat however
many answers the Responses sheet streams. Rules kept throughout:
- user text goes through `text_cell()` (never a formula, no characters Excel rejects);
- scores, counts and intervals are numbers with number formats, dates are real dates (local time, naive);
- scores are coloured with a red-to-green colour scale and named by band in the next column, with the
  organisation's band limits and the screen's band colours; a score from fewer than 3 evaluations is greyed
  and left out of the colour scale;
- no formulas and no external links, so the file opens without prompts in Excel and LibreOffice.

Per-location option: extra Summary-like sheets, one per location, after Notes (one workbook, not a zip, so one
download holds everything and each branch manager finds their own sheet by name).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from copy import copy
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference, Series
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import DataPoint, Marker
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList

from ..scoring import palette
from ..scoring.rules import round_half_up, score_band, shown_places, shown_score
from .safety import safe_text, sheet_title, text_cell, text_value
from .scorecard import GridRow, LocationCard, MomentLine, NoteRow, ResponseRow, Scorecard, Stat

EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, header included
LOW_N = 3  # fewer evaluations than this: the score is greyed, as on screen
# The contract's six sheets, in its order, then the query rate (disputes) and the full location x moment matrix (so no sheet the contract
# names moves); per-location sheets come last.
SHEET_ORDER = ("Summary", "Locations", "Trend", "Gap", "Responses", "Notes", "Queries", "Location matrix")
PRINT_SAMPLE = 40  # Responses and Notes print their first rows only (the whole list would run to hundreds of pages)
FONT_NAME = "Arial"  # one font throughout; LibreOffice shows it as Liberation Sans (same widths)
FONT_SIZE = 10

SCORE_FORMAT = "0"  # screens show whole points; the cell keeps the full value
# Near a band edge whole points would cross it (49.88 shown as 50 beside "Miserable"): like the screen
# (scoring.rules.shown_score), such a score shows one or two decimals.
SCORE_FORMATS = {0: "0", 1: "0.0", 2: "0.00"}
COUNT_FORMAT = "0"
CHANGE_FORMAT = "+0.0;-0.0;0.0"
FRACTION_FORMAT = "0%"
RATE_FORMAT = "0.0%"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"

BAND_WORDS = palette.of("label")
# The one band palette (scoring/palette.py), as on screen: tint behind, dark ink on it; strong fills for chart bars.
BAND_FILLS = {band: palette.hex6(colour) for band, colour in palette.of("tint").items()}
BAND_INKS = {band: palette.hex6(colour) for band, colour in palette.of("ink").items()}
BAR_FILLS = {band: palette.hex6(colour) for band, colour in palette.of("fill").items()}
BAND_PATTERNS = palette.of("pattern")
GREY_FILL, GREY_INK = palette.hex6(palette.GREY_TINT), palette.hex6(palette.GREY_INK)
HEADER_FILL, HEADER_INK = "1D3557", "FFFFFF"
# The colour scale: red up to the low band limit, amber half way, green from the high limit.

MARKERS = ("circle", "square", "triangle", "diamond", "x", "star", "dash", "plus")
DASHES = ("solid", "dash", "sysDot", "dashDot", "lgDash", "sysDash", "lgDashDot", "sysDashDot")



def _num(value: float) -> str:
    """A number as a conditional-format formula (no exponent, no locale)."""
    return format(float(value), "f").rstrip("0").rstrip(".") or "0"


def _font(**kw) -> Font:
    """Every font names the one face: a Font() without a name shows in LibreOffice's default, a serif."""
    return Font(name=FONT_NAME, sz=kw.pop("size", FONT_SIZE), **kw)


_BASE_FONT = _font()
_HEADER_FONT = _font(bold=True, color=HEADER_INK)
_HEADER_FILL = PatternFill("solid", fgColor=HEADER_FILL)
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")
_BLOCK_ALIGN = Alignment(horizontal="center", vertical="top", wrap_text=True)
_GREY_FONT = _font(color=GREY_INK, italic=True)
_GREY = PatternFill("solid", fgColor=GREY_FILL)
_TITLE_FONT = _font(bold=True, size=14)
_LABEL_FONT = _font(bold=True)
_CHAIN_FILL = PatternFill("solid", fgColor="E8EEF6")
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_scorecard(target: IO[bytes], data: Scorecard, *, per_location: bool = False,
                    max_rows: int = EXCEL_MAX_ROWS) -> None:
    """Write the scorecard workbook to `target` (a binary file-like object or a path)."""
    if max_rows < 2:
        raise ValueError("max_rows must leave room for a header and one row")
    book = _Book(data, max_rows)
    book.summary()
    book.locations()
    book.trend()
    book.gap()
    book.stream("Responses", _response_columns(data), book.response_cells, data.responses())
    book.stream("Notes", _note_columns(data), book.note_cells, data.notes())
    book.queries()
    book.matrix()
    if per_location:
        for card in data.location_cards():
            book.location_card(card)
    book.save(target)


# --- columns of the streamed sheets -------------------------------------------------------------------------


def _width(data: Scorecard, key: str, default: int, cap: int = 50) -> int:
    return max(8, min(cap, int(data.widths.get(key, default)) + 2))


def _response_columns(data: Scorecard) -> list[tuple[str, int]]:
    return [
        (f"Visit started ({data.timezone})", 18), ("Evaluation", 11), ("Location code", 10),
        ("Location", _width(data, "location_name", 20)), ("Source", 9), ("Evaluator", _width(data, "evaluator", 18)),
        ("Journey version", 9), ("Moment key", _width(data, "moment_key", 14, 30)),
        ("Moment", _width(data, "moment_name", 24)), ("Question key", _width(data, "question_key", 14, 30)),
        ("Question", _width(data, "question_text", 40, 60)), ("Answer", 22), ("Score", 8), ("Note", 40),
        ("Status", 11), ("Flags", 18),
    ]


def _note_columns(data: Scorecard) -> list[tuple[str, int]]:
    return [
        (f"Visit started ({data.timezone})", 18), ("Evaluation", 11), ("Location code", 10),
        ("Location", _width(data, "location_name", 20)), ("Source", 9), ("Evaluator", _width(data, "evaluator", 18)),
        ("Note on", 11), ("Moment key", _width(data, "moment_key", 14, 30)), ("Moment", _width(data, "moment_name", 24)),
        ("Question key", _width(data, "question_key", 14, 30)), ("Question", _width(data, "question_text", 40, 60)),
        ("Note", 60),
    ]


# --- the writer ------------------------------------------------------------------------------------------------


class _Book:
    def __init__(self, data: Scorecard, max_rows: int):
        self.data = data
        self.max_rows = max_rows
        self.wb = Workbook(write_only=True)
        # The default style's font (cells without a font of their own) is the one font too.
        self.wb._fonts = IndexedList([_BASE_FONT])  # noqa: SLF001 (openpyxl keeps the default as font 0)
        self.wb._named_styles["Normal"].font = _BASE_FONT  # noqa: SLF001
        self.wb.properties.creator = "auditapp"
        self.wb.properties.title = safe_text(data.title)[:250]
        self.titles: list[str] = []
        self.low, self.high = data.bands
        self._proto: dict[str, WriteOnlyCell] = {}

    # -- cells

    def _sheet(self, name: str):
        title = sheet_title(name, self.titles)
        self.titles.append(title)
        return self.wb.create_sheet(title)

    def _styled(self, ws, value, *, font=None, fill=None, fmt=None, align=None):
        if isinstance(value, str):
            cell = text_cell(ws, value)
            if isinstance(cell, str):
                cell = WriteOnlyCell(ws, cell)
        else:
            cell = WriteOnlyCell(ws, value)
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if fmt is not None:
            cell.number_format = fmt
        if align is not None:
            cell.alignment = align
        return cell

    def _fast(self, ws, value, fmt: str):
        """A formatted number or date cell for streamed rows: the style is copied from a prototype cell."""
        if value is None:
            return None
        proto = self._proto.get(fmt)
        if proto is None or proto.parent is not ws:
            proto = self._proto[fmt] = WriteOnlyCell(ws)
            proto.number_format = fmt
        cell = WriteOnlyCell(ws, value)
        cell._style = copy(proto._style)  # noqa: SLF001 (openpyxl's cheap way to reuse a style)
        return cell

    def _header(self, ws, labels: Sequence[str], *, row: int, widths: Sequence[int]):
        """A header row; a label wider than its column wraps, and the row is made tall enough to show it all
        (LibreOffice and Excel keep the default height of a written row, which would hide the second line)."""
        lines = max((_header_lines(label, width) for label, width in zip(labels, widths, strict=False)), default=1)
        if lines > 1:
            ws.row_dimensions[row].height = HEADER_LINE_HEIGHT * lines + 3
        ws.append([self._styled(ws, label, font=_HEADER_FONT, fill=_HEADER_FILL, align=_HEADER_ALIGN)
                   for label in labels])

    def _band(self, ws, score: float | None, n: int):
        word = score_band(score, (self.low, self.high))
        if word is None:
            return self._styled(ws, "No score", font=_GREY_FONT, fill=_GREY)
        if n < LOW_N:
            return self._styled(ws, f"{BAND_WORDS[word]} (n < {LOW_N})", font=_GREY_FONT, fill=_GREY)
        return self._styled(ws, BAND_WORDS[word], font=_font(bold=True, color=BAND_INKS[word]),
                            fill=_band_fill(word))

    def _score_cell(self, ws, score: float | None, *, font=None, fill=None):
        """The unrounded score, formatted to show what the screen shows (never a number that contradicts its band)."""
        bands = (self.low, self.high)
        value, shown, places = score, shown_score(score, bands), shown_places(score, bands)
        if shown is not None and round_half_up(score, places) != shown:
            value = float(shown)  # within 0.005 of an edge: the cut value, since a format can only round
        return self._styled(ws, value, font=font, fill=fill, fmt=SCORE_FORMATS[places])

    def _stat_cells(self, ws, stat: Stat, scaled: list, row: int, col: int, *, with_n: bool = True,
                    n_first: bool = False) -> list:
        """Score, (n), 95% low, 95% high; the score goes into the colour scale unless n < 3."""
        grey = stat.n < LOW_N
        font, fill = (_GREY_FONT, _GREY) if grey else (None, None)
        score = self._score_cell(ws, stat.score, font=font, fill=fill)
        low = self._styled(ws, stat.low, font=font, fill=fill, fmt=SCORE_FORMAT)
        high = self._styled(ws, stat.high, font=font, fill=fill, fmt=SCORE_FORMAT)
        n = self._styled(ws, stat.n, font=font, fill=fill, fmt=COUNT_FORMAT)
        score_col = col + 1 if (with_n and n_first) else col
        if stat.score is not None and not grey:
            scaled.append((score_col, row))
        if not with_n:
            return [score, low, high]
        return [n, score, low, high] if n_first else [score, n, low, high]

    # -- sheets

    def summary(self):
        d = self.data
        pairs = [("Organisation", d.organisation, None), ("Journey", d.journey, None),
                 ("Period", self._period_text(), None),
                 *self._period_pairs(),
                 ("Filters", self._filters_text(), None),
                 (f"Generated ({d.timezone})", d.generated_at, DATETIME_FORMAT),
                 ("Evaluations", d.evaluations, COUNT_FORMAT)]
        after = [("Score bands", self._band_legend(), None)]
        if d.comparison:
            after.append(("Change", d.comparison, None))
        self._card("Summary", d.title, pairs, d.overall, after, d.moments, findings=d.findings)

    def _filters_text(self) -> str:
        return "; ".join(f"{label}: {value}" for label, value in self.data.filters) or "None"

    def _period_pairs(self) -> list:
        """From and To as real dates: the filter's, or else the first and last evaluation's (said so beside)."""
        d = self.data
        pairs = []
        for label, chosen, found, word in (("From", d.period_from, d.first_day, "first"),
                                           ("To", d.period_to, d.last_day, "last")):
            if chosen is not None:
                pairs.append((label, chosen, DATE_FORMAT))
            elif found is not None:
                pairs.append((label, found, DATE_FORMAT, f"the {word} evaluation"))
            else:
                pairs.append((label, "No evaluations", None))
        return pairs

    def _period_text(self) -> str:
        d = self.data
        start, end = d.period_from or d.first_day, d.period_to or d.last_day
        if start is None and end is None:
            return "No evaluations under these filters"
        return f"{start.isoformat() if start else '…'} to {end.isoformat() if end else '…'}"

    def _card(self, name: str, title: str, pairs: list, overall: Stat, after: list, moments: Sequence[MomentLine],
              findings: Sequence[str] = ()):
        """Title, findings, label/value pairs, the overall score, notes, then the moments table and its bar chart;
        printed on one landscape page."""
        ws = self._sheet(name)
        lead = 1 + (len(findings) + 1 if findings else 0)
        overall_row = lead + len(pairs) + 2
        header_row = overall_row + len(after) + 1
        columns = MOMENT_COLUMNS
        widths = _moment_widths(moments)
        self._setup(ws, widths, freeze="A2", title_rows=f"{header_row}:{header_row}", one_page=True)
        scaled: list = []
        ws.append([self._styled(ws, title, font=_TITLE_FONT)])
        if findings:
            ws.append([self._styled(ws, "Findings", font=_LABEL_FONT)])
            for text in findings:
                ws.append([self._styled(ws, f"• {text}")])  # one line, running across the empty cells beside it
        for label, value, fmt, *note in pairs:
            ws.append(self._pair(ws, label, value, fmt=fmt) + [self._styled(ws, n, font=_GREY_FONT) for n in note])
        self._header(ws, ["", "Score", "n", "95% low", "95% high", "Band"], row=overall_row - 1, widths=widths)
        ws.append([self._styled(ws, "Overall", font=_LABEL_FONT), *self._overall_cells(ws, overall, scaled, overall_row)])
        for label, value, fmt in after:
            ws.append(self._pair(ws, label, value, fmt=fmt))
        self._header(ws, [label for label, _ in columns], row=header_row, widths=widths)
        first = header_row + 1
        for offset, moment in enumerate(moments):
            ws.append(self._moment_row(ws, moment, scaled, first + offset))
        last = first + len(moments) - 1
        if moments:
            ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last}"
            self._bar_chart(ws, header_row, last, anchor=f"A{last + 3}", moments=moments)
        self._colour_scale(ws, scaled)

    def _pair(self, ws, label: str, value, *, fmt: str | None = None):
        shown = self._styled(ws, value, fmt=fmt if not isinstance(value, str) else None)
        return [self._styled(ws, label, font=_LABEL_FONT), shown]

    def _overall_cells(self, ws, stat: Stat, scaled: list, row: int) -> list:
        score, n, low, high = self._stat_cells(ws, stat, scaled, row, 2)
        return [score, n, low, high, self._band(ws, stat.score, stat.n)]

    def _band_legend(self) -> str:
        low, high = _points(self.low), _points(self.high)
        return (f"Miserable under {low}, neutral {low} to under {high}, magical from {high}. "
                f"Grey: fewer than {LOW_N} evaluations (n < {LOW_N}); the 95% interval shows how sure a score is.")

    def _moment_row(self, ws, m: MomentLine, scaled: list, row: int) -> list:
        score, n, low, high = self._stat_cells(ws, m.stat, scaled, row, MOMENT_SCORE_COLUMN)
        change = self._styled(ws, m.change, fmt=CHANGE_FORMAT)
        if m.change_flagged:
            change.font = _font(bold=True, color=BAND_INKS["miserable"] if (m.change or 0) < 0 else BAND_INKS["magical"])
        signal = ("Flagged: " if m.change_flagged else "") + (m.change_reason or "")
        return [
            text_cell(ws, m.name), text_cell(ws, m.key), m.position + 1, text_cell(ws, m.channel),
            text_cell(ws, m.kind or ""), "Yes" if m.priority else "No", n, score,
            self._band(ws, m.stat.score, m.stat.n), low, high, m.magical, m.neutral, m.miserable, m.critical_fails,
            change, text_cell(ws, signal),
        ]

    def _bar_chart(self, ws, header_row: int, last: int, anchor: str, moments: Sequence[MomentLine] = ()):
        chart = BarChart()
        chart.type = "bar"  # horizontal: long moment names stay readable
        chart.title = "Score per moment (0 to 100), coloured by band"
        chart.legend = None
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 100
        chart.x_axis.scaling.orientation = "maxMin"  # first moment of the timeline at the top
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.add_data(Reference(ws, min_col=MOMENT_SCORE_COLUMN, min_row=header_row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
        series = chart.series[0]
        # Each bar in its band's colour (grey under n = 3), with its value written at the end: never colour alone.
        for index, m in enumerate(moments):
            band = score_band(m.stat.score, (self.low, self.high))
            colour = BAR_FILLS[band] if band and m.stat.n >= LOW_N else GREY_BAR
            point = DataPoint(idx=index)
            point.graphicalProperties.solidFill = colour
            point.graphicalProperties.line.solidFill = colour
            series.dPt.append(point)
        series.dLbls = DataLabelList(showVal=True, showSerName=False, showCatName=False, showLegendKey=False,
                                     numFmt="0")
        chart.width = 22
        chart.height = max(6.0, 0.55 * (last - header_row) + 2.5)
        ws.add_chart(chart, anchor)

    def locations(self):
        """One row per location, ranked by score, under the chain average (the row after the header, frozen with
        it), with each one's difference from it and its weakest moment. The full location x moment matrix is the "Location matrix" sheet."""
        d = self.data
        ws = self._sheet("Locations")
        columns = [("Rank", 6), ("Code", 10), ("Location", _text_width((r.label for r in d.locations), 20, cap=36)),
                   ("Region", 12), ("n", 6), ("Score", 8), ("Band", 15), ("95% low", 8), ("95% high", 8),
                   ("Difference from chain average (points)", 13),
                   ("Weakest moment (n ≥ 3)", _text_width((m.name for m in d.moments), 24, cap=36)),
                   ("Its score", 8)]
        # Then one score per moment in timeline order (the contract's locations x moments; n and the interval of
        # each cell are on the Location matrix sheet). Names wrap in the header row.
        fixed = len(columns)
        columns += [(safe_text(m.name), 13) for m in d.moments]
        widths = [w for _, w in columns]
        self._setup(ws, widths, freeze="D3", title_rows="1:2", title_cols="A:C")
        scaled: list = []
        chain = d.overall
        weakest_all = _weakest(d.moments, [m.stat for m in d.moments])
        self._header(ws, [label for label, _ in columns], row=1, widths=widths)
        ws.append([self._styled(ws, "", fill=_CHAIN_FILL), self._styled(ws, "", fill=_CHAIN_FILL),
                   self._styled(ws, "Chain average (all locations)", font=_LABEL_FONT, fill=_CHAIN_FILL),
                   self._styled(ws, "", fill=_CHAIN_FILL),
                   self._styled(ws, chain.n, font=_LABEL_FONT, fill=_CHAIN_FILL, fmt=COUNT_FORMAT),
                   self._score_cell(ws, chain.score, font=_LABEL_FONT, fill=_CHAIN_FILL),
                   self._band(ws, chain.score, chain.n),
                   self._styled(ws, chain.low, fill=_CHAIN_FILL, fmt=SCORE_FORMAT),
                   self._styled(ws, chain.high, fill=_CHAIN_FILL, fmt=SCORE_FORMAT),
                   self._styled(ws, "", fill=_CHAIN_FILL),
                   self._styled(ws, weakest_all[0] if weakest_all else "-", fill=_CHAIN_FILL),
                   self._score_cell(ws, weakest_all[1].score if weakest_all else None, fill=_CHAIN_FILL),
                   *(self._score_cell(ws, m.stat.score if m.stat.n >= LOW_N else None, font=_LABEL_FONT,
                                      fill=_CHAIN_FILL) for m in d.moments)])
        for index, (rank, row) in enumerate(ranked_locations(d.locations)):
            excel_row = 3 + index
            stat = row.overall
            grey = stat.n < LOW_N
            font, fill = (_GREY_FONT, _GREY) if grey else (None, None)
            difference = None if stat.score is None or chain.score is None or grey else stat.score - chain.score
            weakest = _weakest(d.moments, row.cells)
            if stat.score is not None and not grey:
                scaled.append((6, excel_row))
            ws.append([self._styled(ws, rank if rank is not None else f"n < {LOW_N}", font=font, fill=fill,
                                    fmt=COUNT_FORMAT if rank is not None else None),
                       text_cell(ws, row.code), text_cell(ws, row.label), text_cell(ws, row.region),
                       self._styled(ws, stat.n, font=font, fill=fill, fmt=COUNT_FORMAT),
                       self._score_cell(ws, stat.score, font=font, fill=fill), self._band(ws, stat.score, stat.n),
                       self._styled(ws, stat.low, font=font, fill=fill, fmt=SCORE_FORMAT),
                       self._styled(ws, stat.high, font=font, fill=fill, fmt=SCORE_FORMAT),
                       self._styled(ws, difference, fmt=CHANGE_FORMAT,
                                    font=_font(bold=True, color=BAND_INKS["miserable"])
                                    if difference is not None and difference <= -5 else None),
                       self._styled(ws, weakest[0] if weakest else "-"),
                       self._score_cell(ws, weakest[1].score if weakest else None),
                       *self._moment_scores(ws, row.cells, fixed, excel_row, scaled)])
        if d.locations:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{2 + len(d.locations)}"
        self._colour_scale(ws, scaled)

    def _moment_scores(self, ws, cells, first_column: int, excel_row: int, scaled: list) -> list:
        """A location's score per moment; a cell with fewer than LOW_N scores is greyed."""
        out = []
        for offset, stat in enumerate(cells):
            grey = stat.n < LOW_N
            if stat.score is not None and not grey:
                scaled.append((first_column + 1 + offset, excel_row))
            out.append(self._score_cell(ws, stat.score, font=_GREY_FONT if grey else None, fill=_GREY if grey else None))
        return out

    def matrix(self):
        """Locations x moments: a score and its n per moment, moment names wrapped in a tall header row."""
        d = self.data
        ws = self._sheet("Location matrix")
        lead = [("Code", 10), ("Location", _text_width((r.label for r in d.locations), 20, cap=30)), ("Region", 12)]
        blocks = ["Overall", *(m.name for m in d.moments)]
        widths = [w for _, w in lead] + [12, 5] * len(blocks)
        labels = [label for label, _ in lead]
        for name in blocks:
            labels += [safe_text(name), "n"]
        self._setup(ws, widths, freeze="D2", title_rows="1:1", title_cols="A:C")
        self._header(ws, labels, row=1, widths=widths)
        scaled: list = []
        for index, row in enumerate(d.locations):
            excel_row = 2 + index
            cells = [text_cell(ws, row.code), text_cell(ws, row.label), text_cell(ws, row.region)]
            for block, stat in enumerate((row.overall, *row.cells)):
                grey = stat.n < LOW_N
                font, fill = (_GREY_FONT, _GREY) if grey else (None, None)
                if stat.score is not None and not grey:
                    scaled.append((len(lead) + 1 + 2 * block, excel_row))
                cells += [self._score_cell(ws, stat.score, font=font, fill=fill),
                          self._styled(ws, stat.n, font=font, fill=fill, fmt=COUNT_FORMAT)]
            ws.append(cells)
        if d.locations:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{1 + len(d.locations)}"
        self._colour_scale(ws, scaled)

    def trend(self):
        d = self.data
        ws = self._sheet("Trend")
        lead = [("Period", 22), ("Starts", 12)]
        last = self._grid(ws, lead, d.trend, lambda ws, r: [text_cell(ws, _period_label(r)),
                                                             self._styled(ws, r.start, fmt=DATE_FORMAT)])
        if d.trend and d.moments:
            self._line_chart(ws, len(lead), last)

    def _grid(self, ws, lead: list[tuple[str, int]], rows: Sequence[GridRow], lead_cells) -> int:
        """Rows x (overall + one block per moment), each block Score, n, 95% low, 95% high; returns the last row."""
        moments = self.data.moments
        blocks = ["Overall", *(m.name for m in moments)]
        widths = [w for _, w in lead] + [9, 6, 9, 9] * len(blocks)
        self._setup(ws, widths, freeze=f"{get_column_letter(len(lead) + 1)}3", title_rows="1:2",
                    title_cols=f"A:{get_column_letter(len(lead))}")
        top = [self._styled(ws, "", fill=_HEADER_FILL) for _ in lead]
        for index, name in enumerate(blocks):
            top.append(self._styled(ws, safe_text(name), font=_HEADER_FONT, fill=_HEADER_FILL, align=_BLOCK_ALIGN))
            top.extend(self._styled(ws, "", fill=_HEADER_FILL, align=_BLOCK_ALIGN) for _ in range(3))
            first = len(lead) + 1 + 4 * index  # the name spans its block's four columns and wraps there
            ws.merged_cells.add(f"{get_column_letter(first)}1:{get_column_letter(first + 3)}1")
        lines = max((_header_lines(name, sum(widths[len(lead):len(lead) + 4])) for name in blocks), default=1)
        ws.row_dimensions[1].height = HEADER_LINE_HEIGHT * lines + 3
        ws.append(top)
        self._header(ws, [label for label, _ in lead] + ["Score", "n", "95% low", "95% high"] * len(blocks), row=2,
                     widths=widths)
        scaled: list = []
        for index, row in enumerate(rows):
            excel_row = 3 + index
            cells = lead_cells(ws, row)
            for block, stat in enumerate((row.overall, *row.cells)):
                cells.extend(self._stat_cells(ws, stat, scaled, excel_row, len(lead) + 1 + 4 * block))
            ws.append(cells)
        last = 2 + len(rows)
        if rows:
            ws.auto_filter.ref = f"A2:{get_column_letter(len(widths))}{last}"
        self._colour_scale(ws, scaled)
        return last

    def _line_chart(self, ws, lead: int, last: int):
        chart = LineChart()
        chart.title = "Score per moment over time"
        chart.y_axis.scaling.min = 0
        chart.y_axis.scaling.max = 100
        chart.y_axis.title = "Score"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        partial = [index for index, row in enumerate(self.data.trend) if row.partial]
        for block, moment in enumerate(self.data.moments, start=1):
            column = lead + 1 + 4 * block
            values = Reference(ws, min_col=column, min_row=3, max_row=last)
            series = Series(values, title=safe_text(moment.name)[:250] or moment.key)
            # Never colour alone: each line also differs by marker and dash, and one period still shows a point.
            series.marker.symbol = MARKERS[(block - 1) % len(MARKERS)]
            series.marker.size = 7
            series.graphicalProperties.line.dashStyle = DASHES[(block - 1) % len(DASHES)]
            series.smooth = False
            # The period still running ("so far" in its label): a dotted segment to a hollow point, not a drop.
            for index in partial:
                point = DataPoint(idx=index, marker=Marker(symbol=series.marker.symbol, size=7))
                point.marker.graphicalProperties.solidFill = "FFFFFF"
                point.graphicalProperties.line.dashStyle = "sysDot"
                point.graphicalProperties.line.width = 12700
                series.dPt.append(point)
            chart.series.append(series)
        chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=last))
        chart.width = 24
        chart.height = 10
        ws.add_chart(chart, f"A{last + 3}")

    def gap(self):
        ws = self._sheet("Gap")
        columns = [("#", 5), ("Moment", _text_width((g.name for g in self.data.gap), 24)), ("Key", 14),
                   ("Shopper n", 9), ("Shopper score", 9), ("Shopper 95% low", 9), ("Shopper 95% high", 9),
                   ("Staff n", 9), ("Staff score", 9), ("Staff 95% low", 9), ("Staff 95% high", 9),
                   ("Gap (staff minus shopper)", 12), ("Flagged", 30)]
        self._setup(ws, [w for _, w in columns], freeze="C2", title_rows="1:1", title_cols="A:B")
        self._header(ws, [label for label, _ in columns], row=1, widths=[w for _, w in columns])
        scaled: list = []
        for index, line in enumerate(self.data.gap):
            row = 2 + index
            flag = "Yes: staff rate it much higher than shoppers" if line.flagged else "No"
            ws.append([index + 1, text_cell(ws, line.name), text_cell(ws, line.key),
                       *self._stat_cells(ws, line.shopper, scaled, row, 4, n_first=True),
                       *self._stat_cells(ws, line.staff, scaled, row, 8, n_first=True),
                       self._styled(ws, line.gap, fmt=CHANGE_FORMAT,
                                    font=_LABEL_FONT if line.flagged else None),
                       self._styled(ws, flag, font=_LABEL_FONT if line.flagged else None)])
        if self.data.gap:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{1 + len(self.data.gap)}"
        self._colour_scale(ws, scaled)

    def queries(self):
        """The query rate per location: approved secret-shopper evaluations, how many were disputed, the rate."""
        d = self.data
        ws = self._sheet("Queries")
        columns = [("Code", 10), ("Location", _text_width((q.name for q in d.queries), 20)), ("Region", 14),
                   ("Approved shopper evaluations", 14), ("Disputed", 10), ("Query rate", 10),
                   ("Against the baseline", 26)]
        widths = [w for _, w in columns]
        self._setup(ws, widths, freeze="A4", title_rows="3:3", title_cols="A:B")
        ws.append([self._styled(ws, "Query rate per location", font=_TITLE_FONT)])
        ws.append([text_cell(ws, d.query_baseline or "")])
        self._header(ws, [label for label, _ in columns], row=3, widths=widths)
        lines = list(d.queries)
        if d.query_total is not None and len(lines) > 1:
            lines.append(d.query_total)
        for index, q in enumerate(lines):
            total = d.query_total is not None and index == len(d.queries)
            font = _font(bold=True) if total else None
            ws.append([text_cell(ws, q.code), self._styled(ws, q.name, font=font),
                       text_cell(ws, q.region), self._styled(ws, q.approved, fmt=COUNT_FORMAT, font=font),
                       self._styled(ws, q.disputed, fmt=COUNT_FORMAT, font=font),
                       self._styled(ws, q.rate, fmt=RATE_FORMAT, font=font), text_cell(ws, q.note)])
        ws.auto_filter.ref = f"A3:{get_column_letter(len(columns))}{3 + len(lines)}"

    def stream(self, name: str, columns: list[tuple[str, int]], to_cells, rows: Iterable):
        """Write rows into `name`, spilling into "name (2)"... before the row limit; an empty sheet keeps its header.

        The print area is the header and the first PRINT_SAMPLE rows (the footer says so): the whole list is for
        filtering on screen, and printed it ran to hundreds of pages."""
        part = 0
        iterator = iter(rows)
        pending = next(iterator, None)
        while part == 0 or pending is not None:
            part += 1
            ws = self._sheet(name if part == 1 else f"{name} ({part})")
            self._setup(ws, [w for _, w in columns], freeze="A2", title_rows="1:1")
            self._header(ws, [label for label, _ in columns], row=1, widths=[w for _, w in columns])
            written = 1
            while pending is not None and written < self.max_rows:
                ws.append(to_cells(ws, pending))
                written += 1
                pending = next(iterator, None)
            last_column = get_column_letter(len(columns))
            ws.auto_filter.ref = f"A1:{last_column}{written}"
            printed = min(written, PRINT_SAMPLE + 1)
            ws.print_area = f"A1:{last_column}{printed}"
            if written > printed:
                ws.oddFooter.center.text = _header_text(
                    f"Printed: the first {printed - 1} of {written - 1} rows (all are in the file)")

    def response_cells(self, ws, r: ResponseRow) -> list:
        answer = r.answer if not isinstance(r.answer, str) else text_value(ws, r.answer)
        return [self._fast(ws, r.started_at, DATETIME_FORMAT), r.evaluation_id, text_value(ws, r.location_code),
                text_value(ws, r.location_name), text_value(ws, r.source), text_value(ws, r.evaluator), r.version,
                text_value(ws, r.moment_key), text_value(ws, r.moment_name), text_value(ws, r.question_key),
                text_value(ws, r.question_text), answer, self._fast(ws, r.score, FRACTION_FORMAT),
                text_value(ws, r.note), text_value(ws, r.status), text_value(ws, r.flags)]

    def note_cells(self, ws, r: NoteRow) -> list:
        return [self._fast(ws, r.started_at, DATETIME_FORMAT), r.evaluation_id, text_value(ws, r.location_code),
                text_value(ws, r.location_name), text_value(ws, r.source), text_value(ws, r.evaluator),
                text_value(ws, r.context), text_value(ws, r.moment_key), text_value(ws, r.moment_name),
                text_value(ws, r.question_key), text_value(ws, r.question_text), text_value(ws, r.note)]

    def location_card(self, card: LocationCard):
        pairs = [("Location", f"{card.code} {card.name}", None), ("Region", card.region or "-", None),
                 ("Evaluations", card.evaluations, COUNT_FORMAT)]
        title = f"{self.data.title}: {card.code} {card.name}"
        self._card(f"{card.code} {card.name}", title, pairs, card.overall, [], card.moments)

    # -- sheet-wide settings

    def _colour_scale(self, ws, cells: list[tuple[int, int]]):
        if not cells:
            return
        # Flat band fills, decided like score_band (miserable below low, magical from high on), never a gradient: a
        # neutral 79 shaded nearly magical would contradict its band. The stored value never crosses an edge
        # (_score_cell), so the rule and the band word always agree.
        low, high = self.low, self.high
        target = _ranges(cells)
        for operator, formula, band in (("greaterThanOrEqual", [_num(high)], "magical"),
                                        ("lessThan", [_num(low)], "miserable"),
                                        ("between", [_num(low), _num(high)], "neutral")):
            fill = PatternFill(fill_type="solid", start_color=BAND_FILLS[band], end_color=BAND_FILLS[band])
            ws.conditional_formatting.add(target, CellIsRule(operator=operator, formula=formula, fill=fill,
                                                             stopIfTrue=True))

    def _setup(self, ws, widths: Sequence[int], *, freeze: str, title_rows: str, title_cols: str | None = None,
               one_page: bool = False):
        """Column widths, frozen panes and print setup; all before the first row, which writes the sheet's head.

        Print: landscape, one page wide, any number of pages down (`one_page`: exactly one page), header rows
        (and the label columns of wide grids) repeated on every page, no gridlines; the page header names the
        scorecard and the sheet, the footer the filters and the page number.
        """
        _set_widths(ws, widths)
        ws.freeze_panes = freeze
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = "9"  # A4
        ws.page_setup.fitToWidth = 1  # every sheet one page wide: columns split over pages are hard to read together
        ws.page_setup.fitToHeight = 1 if one_page else 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = False
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.75
        ws.page_margins.header = ws.page_margins.footer = 0.3
        ws.oddHeader.center.text = _header_text(f"{self.data.title} ({ws.title})")
        ws.oddHeader.center.font = FONT_NAME
        ws.oddFooter.left.text = _header_text("Filters: " + (" · ".join(v for _, v in self.data.filters) or "none"))
        ws.oddFooter.left.font = FONT_NAME
        ws.oddFooter.left.size = 8
        ws.oddFooter.right.text = "Page &P of &N"
        ws.oddFooter.right.font = FONT_NAME
        ws.print_title_rows = title_rows
        if title_cols:
            ws.print_title_cols = title_cols

    def save(self, target):
        self.wb.save(target)


# --- helpers ---------------------------------------------------------------------------------------------------


# The moments table of Summary and of the location sheets; column A also holds the labels above the table.
# Key is second and wide enough for the dates and times written in column B above the table.
MOMENT_COLUMNS = [("Moment", 28), ("Key", 18), ("Step", 5), ("Channel", 12), ("Kind", 9), ("Priority", 8), ("n", 6),
                  ("Score", 7), ("Band", 15), ("95% low", 8), ("95% high", 8), ("Magical", 8), ("Neutral", 8),
                  ("Miserable", 10), ("Critical fails", 8), ("Change vs previous period", 12), ("Change signal", 30)]
MOMENT_SCORE_COLUMN = 8
GREY_BAR = "8A8A8A"  # bars from fewer than 3 scores (3:1 on white, as on screen)


def _band_fill(word: str) -> PatternFill:
    """The band's tint; a hatched band (palette.pattern) keeps its tint as the hatch's background colour."""
    pattern = BAND_PATTERNS[word]
    if pattern == "solid":
        return PatternFill("solid", fgColor=BAND_FILLS[word])
    return PatternFill(pattern, fgColor=BAR_FILLS[word], bgColor=BAND_FILLS[word])


def ranked_locations(rows: Sequence[GridRow]) -> list[tuple[int | None, GridRow]]:
    """Locations best first with their rank (ties share it); those with n < 3 last, unranked."""
    scored = sorted((r for r in rows if r.overall.score is not None and r.overall.n >= LOW_N),
                    key=lambda r: (-r.overall.score, r.label, r.code))
    ranked: list[tuple[int | None, GridRow]] = []
    for position, row in enumerate(scored, start=1):
        same = ranked and ranked[-1][1].overall.score == row.overall.score
        ranked.append((ranked[-1][0] if same else position, row))
    rest = sorted((r for r in rows if r not in scored), key=lambda r: (r.label, r.code))
    return ranked + [(None, r) for r in rest]


def _weakest(moments: Sequence[MomentLine], stats: Sequence[Stat]) -> tuple[str, Stat] | None:
    """The lowest-scored moment with at least 3 scores, as (name, stat)."""
    pairs = [(m.name, s) for m, s in zip(moments, stats, strict=False) if s.score is not None and s.n >= LOW_N]
    return min(pairs, key=lambda p: p[1].score) if pairs else None


def _period_label(row: GridRow) -> str:
    return f"{row.label} ({row.partial_note or 'so far'}, n={row.overall.n})" if row.partial else row.label
HEADER_LINE_HEIGHT = 15  # points per line of an 11 pt bold header


def _moment_widths(moments: Sequence[MomentLine]) -> list[int]:
    """MOMENT_COLUMNS' widths with the Moment column as wide as the longest name (up to 40), taken from the
    Change signal column so the table still fits one landscape page."""
    widths = [w for _, w in MOMENT_COLUMNS]
    wanted = _text_width((m.name for m in moments), widths[0], cap=40)
    extra = max(0, min(wanted - widths[0], widths[-1] - 19))
    widths[0] += extra
    widths[-1] -= extra
    return widths


def _header_lines(label: str, width: float) -> int:
    """Lines a bold header label takes when wrapped at spaces in a column `width` characters wide."""
    room = max(1.0, width - 0.5)
    lines, used = 1, 0.0
    for word in label.split():
        size = len(word) * 1.05  # bold is a little wider than the column's character unit
        if used and used + 1 + size > room:
            lines += 1
            used = size
        else:
            used = used + 1 + size if used else size
        while used > room:  # a word longer than the column breaks across lines
            lines += 1
            used -= room
    return lines


def _points(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _set_widths(ws, widths: Sequence[int]) -> None:
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def _text_width(texts: Iterable[str], default: int, cap: int = 40) -> int:
    longest = max((len(t or "") for t in texts), default=default)
    return max(10, min(cap, longest + 2))


def _ranges(cells: list[tuple[int, int]]) -> str:
    """(column, row) cells -> a compact sqref ("C5:C9 E5"): runs of rows in one column become one range."""
    by_column: dict[int, list[int]] = {}
    for column, row in cells:
        by_column.setdefault(column, []).append(row)
    parts = []
    for column in sorted(by_column):
        letter = get_column_letter(column)
        rows = sorted(set(by_column[column]))
        start = previous = rows[0]
        for row in [*rows[1:], math.inf]:
            if row != previous + 1:
                parts.append(f"{letter}{start}" if start == previous else f"{letter}{start}:{letter}{previous}")
                start = row
            previous = row
    return " ".join(parts)


def _header_text(text: str) -> str:
    """Page header text: '&' starts a code in Excel headers, so it is doubled; headers hold 255 characters."""
    return safe_text(text)[:120].replace("&", "&&")  # cut first, so no lone "&" is left at the end

