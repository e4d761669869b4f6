"""responses_csv() takes shortcuts (each repeated text sanitised once, the rest only when it needs it): its output
must be exactly what sanitising every field with csv_value() gives."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from auditapp.exports.csvexport import BOM, _fields, response_header, responses_csv
from auditapp.exports.safety import MAX_CELL_TEXT
from auditapp.exports.scorecard import ResponseRow

HOSTILE = ["=1+1", "+A1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "", "a\x00b", "\x01=cmd", "x" * (MAX_CELL_TEXT + 5),
           "Très bien ☕", "line\nbreak", 'quote "x"', "a\ud800b", "\ufffe", "'", " =1"]


def _reference(rows, tz):
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(response_header(tz))
    for row in rows:
        writer.writerow(_fields(row))
    return BOM + buffer.getvalue()


def _rows():
    rows = []
    for i in range(1300):  # more than two chunks
        text = HOSTILE[i % len(HOSTILE)]
        other = HOSTILE[(i * 7) % len(HOSTILE)]
        answer = [text, 3.5, -2.0, None, 4, "neutral"][i % 6]
        rows.append(ResponseRow(
            datetime(2025, 5, 1, 10, i % 60) if i % 11 else None, i // 4, other, text, "shopper", other if i % 3 else "",
            1 + i % 2, text, other, text, other, answer, None if i % 5 == 0 else (i % 3) / 2, text if i % 2 else "",
            "approved", other if i % 4 == 0 else ""))
    return rows


def test_the_fast_csv_is_byte_for_byte_the_reference():
    rows = _rows()
    assert "".join(responses_csv(rows, "Europe/Stockholm")) == _reference(rows, "Europe/Stockholm")
    assert "".join(responses_csv([tuple(r) for r in rows], "UTC")) == _reference(rows, "UTC")  # plain tuples too


def test_formula_text_is_neutralised_in_every_text_column():
    row = ResponseRow(datetime(2025, 5, 1), 1, "=a", "=b", "=c", "=d", 1, "=e", "=f", "=g", "=h", "=i", 0.5, "=j",
                      "=k", "=l")
    body = "".join(responses_csv([row], "UTC")).splitlines()[1]
    fields = next(csv.reader([body]))
    assert [f for f in fields if f.startswith("=")] == []
    assert fields[2] == "'=a" and fields[13] == "'=j" and fields[12] == "0.5"
