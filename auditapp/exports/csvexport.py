"""The raw responses as CSV for BI tools: UTF-8 with a byte order mark (so Excel picks the encoding), streamed.

Injection safety (see safety.py): text fields go through csv_value(), which prefixes formula-like text with a
single quote as OWASP recommends; every text field is quoted (QUOTE_NONNUMERIC), real numbers are not.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

from .safety import FORMULA_PREFIXES, ILLEGAL_CHARACTERS_RE, MAX_CELL_TEXT, csv_text, csv_value
from .scorecard import ResponseRow

BOM = "\ufeff"
ROWS_PER_CHUNK = 500


def response_header(timezone: str) -> list[str]:
    return [f"Visit started ({timezone})", "Evaluation", "Location code", "Location", "Source", "Evaluator",
            "Journey version", "Moment key", "Moment", "Question key", "Question", "Answer", "Score", "Note",
            "Status", "Flags"]


def _fields(row: ResponseRow) -> list:
    """One row's fields, each through csv_value() (the reference responses_csv() must agree with)."""
    started = row.started_at.strftime("%Y-%m-%d %H:%M:%S") if row.started_at else ""
    return [csv_value(started), row.evaluation_id, *(csv_value(v) for v in row[2:])]


# Text that csv_text() would change: a formula-like first character, or a character Excel rejects.
_NEEDS_CARE_RE = re.compile("^[" + re.escape("".join(FORMULA_PREFIXES)) + "]|" + ILLEGAL_CHARACTERS_RE.pattern)
_MEMO_LIMIT = 50_000  # distinct texts remembered per download (names, questions...): memory stays bounded


def responses_csv(rows: Iterable[ResponseRow], timezone: str) -> Iterator[str]:
    """Yield the CSV text in chunks: the BOM and header first, then ROWS_PER_CHUNK rows at a time.

    The same fields as _fields() gives, made faster: the columns that repeat on every answer of a visit (location,
    evaluator, moment, question, status, flags) are sanitised once per distinct text, the rest (answer, note) only
    when they need it, and rows are written a chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(response_header(timezone))
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    memo: dict[str, str] = {}
    needs_care = _NEEDS_CARE_RE.search

    def repeated(value):
        if value.__class__ is str:
            found = memo.get(value)
            if found is None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                found = memo[value] = csv_text(value)
            return found
        return csv_value(value)

    def free(value):
        if value.__class__ is str:
            if not value or (len(value) <= MAX_CELL_TEXT and needs_care(value) is None):
                return value
            return csv_text(value)
        if value.__class__ is float:
            return value
        return csv_value(value)

    last_time, last_text, last_visit = None, "", None
    visit = status_flags = ()
    questions: dict[tuple, tuple] = {}
    batch: list[list] = []
    for (started, evaluation_id, code, location, source, evaluator, version, moment_key, moment, question_key,
         question, answer, score, note, status, flags) in rows:
        if started != last_time:
            last_time, last_text = started, started.strftime("%Y-%m-%d %H:%M:%S") if started else ""
        raw = (code, location, source, evaluator, version, status, flags)
        if raw != last_visit:  # rows come by visit: these fields change with the visit
            last_visit = raw
            visit = (repeated(code), repeated(location), repeated(source), repeated(evaluator), version)
            status_flags = (repeated(status), repeated(flags))
        key = (moment_key, moment, question_key, question)
        asked = questions.get(key)
        if asked is None:
            if len(questions) >= _MEMO_LIMIT:
                questions.clear()
            asked = questions[key] = (repeated(moment_key), repeated(moment), repeated(question_key), repeated(question))
        batch.append([last_text, evaluation_id, *visit, *asked, free(answer), "" if score is None else free(score),
                      free(note) if note else note, *status_flags])
        if len(batch) == ROWS_PER_CHUNK:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if batch:
        writer.writerows(batch)
    if buffer.tell():
        yield buffer.getvalue()
