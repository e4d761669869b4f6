"""The raw responses as CSV for BI tools: UTF-8 with a byte order mark (so Excel picks the encoding), streamed.

Injection safety (see safety.py): text fields go through csv_value(), which prefixes formula-like text with a
single quote as OWASP recommends; every text field is quoted (QUOTE_NONNUMERIC), real numbers are not.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from .safety import csv_value
from .scorecard import ResponseRow

BOM = "\ufeff"
ROWS_PER_CHUNK = 500


def response_header(timezone: str) -> list[str]:
    return [f"Visit started ({timezone})", "Evaluation", "Location code", "Location", "Source", "Evaluator",
            "Journey version", "Moment key", "Moment", "Question key", "Question", "Answer", "Score", "Note",
            "Status", "Flags"]


def _fields(row: ResponseRow) -> list:
    started = row.started_at.strftime("%Y-%m-%d %H:%M:%S") if row.started_at else ""
    return [csv_value(started), row.evaluation_id, *(csv_value(v) for v in row[2:])]


def responses_csv(rows: Iterable[ResponseRow], timezone: str) -> Iterator[str]:
    """Yield the CSV text in chunks: the BOM and header first, then ROWS_PER_CHUNK rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(response_header(timezone))
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow(_fields(row))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()
