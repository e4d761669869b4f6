"""The pure rules of disputes (auditapp.disputes.rules and .evidence): the window after approval on the frozen dates
and across Stockholm's daylight-saving changes, the scores after an accepted dispute, the query-rate words, and the
checks on evidence files. No app, no database."""
from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from auditapp.disputes.evidence import EvidenceError, clean_name, read_evidence
from auditapp.disputes.rules import StoredMoment, baseline_note, dispute_window, rate_text, rescore
from auditapp.scoring.rules import ItemResult, remembered_score, score_evaluation, score_moment
from auditapp.timeutil import to_local, utcnow
from tests.clock import ORG_ZONES, on_frozen_dates

STOCKHOLM = "Europe/Stockholm"


def _utc(*args) -> datetime:
    return datetime(*args)  # naive UTC, as stored


# --- the window ------------------------------------------------------------------------------------------------------


@on_frozen_dates
@pytest.mark.parametrize("tz", ORG_ZONES)
def test_approved_now_open_to_the_end_of_the_seventh_local_day(frozen_at, tz):
    now = utcnow()
    approved = now - timedelta(minutes=5)
    window = dispute_window(approved, 7, tz, now)
    local_approved = to_local(approved, tz)
    assert window.open
    assert window.last_day == local_approved.date() + timedelta(days=7)
    closes = to_local(window.closes_at, tz)
    assert (closes.date(), closes.hour, closes.minute) == (window.last_day + timedelta(days=1), 0, 0)  # local midnight
    assert f"until the end of {window.last_day.isoformat()}" in window.message
    assert dispute_window(approved, 7, tz, window.closes_at - timedelta(seconds=1)).open
    shut = dispute_window(approved, 7, tz, window.closes_at)
    assert not shut.open
    assert shut.message == (f"The time to dispute this visit ended on {window.last_day.isoformat()} (7 days after its "
                            f"approval on {local_approved.date().isoformat()}).")


@on_frozen_dates
def test_the_local_date_decides_not_the_utc_date(frozen_at):
    """Every frozen instant is near midnight UTC: in Stockholm it is often already the next day, so the window ends a
    calendar day later there than in UTC for the same approval."""
    now = utcnow()
    utc_window = dispute_window(now, 7, "UTC", now)
    sthlm_window = dispute_window(now, 7, STOCKHOLM, now)
    assert sthlm_window.last_day - utc_window.last_day == to_local(now, STOCKHOLM).date() - now.date()


@pytest.mark.parametrize(("approved", "closes_at", "hours"), [
    # Approved Saturday 27 March 2027 13:00 CET; the clocks jump on the 28th: the window is an hour short of 8 days.
    (_utc(2027, 3, 27, 12, 0), _utc(2027, 4, 3, 22, 0), 7 * 24 + 10),
    # Approved Saturday 24 October 2026 14:00 CEST; the clocks go back on the 25th: an hour longer.
    (_utc(2026, 10, 24, 12, 0), _utc(2026, 10, 31, 23, 0), 7 * 24 + 11),
    # Approved at 00:30 CET on the night of the spring change (23:30 UTC the day before).
    (_utc(2027, 3, 27, 23, 30), _utc(2027, 4, 4, 22, 0), 7 * 24 + 22.5),
    # Approved in the repeated autumn hour, 02:30 CEST (00:30 UTC).
    (_utc(2026, 10, 25, 0, 30), _utc(2026, 11, 1, 23, 0), 7 * 24 + 22.5),
])
def test_daylight_saving_changes_keep_the_deadline_at_local_midnight(approved, closes_at, hours):
    window = dispute_window(approved, 7, STOCKHOLM, approved)
    assert window.closes_at == closes_at
    assert (window.closes_at - approved) == timedelta(hours=hours)
    local = window.closes_at.replace(tzinfo=UTC).astimezone(to_local(approved, STOCKHOLM).tzinfo)
    assert (local.hour, local.minute) == (0, 0)


@pytest.mark.parametrize("days", [1, 7, 30, 90])
def test_other_window_lengths(days):
    approved = _utc(2028, 2, 28, 23, 30)  # 29 Feb 00:30 in Stockholm, a leap day
    window = dispute_window(approved, days, STOCKHOLM, approved)
    assert window.last_day == date(2028, 2, 29) + timedelta(days=days)
    assert ("1 day after" in window.message) == (days == 1)


def test_no_approval_or_a_zero_window_is_closed_with_a_reason():
    now = _utc(2026, 6, 17, 12, 0)
    off = dispute_window(now, 0, STOCKHOLM, now)
    assert not off.open and off.message == "Your organisation does not take disputes (the dispute window is 0 days)."
    none = dispute_window(None, 7, STOCKHOLM, now)
    assert not none.open and "no approval time" in none.message
    assert dispute_window(now, None, "UTC", now + timedelta(days=7)).open  # None means the default of 7


# --- rescoring -------------------------------------------------------------------------------------------------------


MOMENTS = [StoredMoment("greeting", 2.0, 80.0), StoredMoment("order", 1.0, 0.0), StoredMoment("farewell", 1.0, 50.0)]


def test_an_accepted_critical_answer_lifts_the_moment_and_the_evaluation():
    # order: clean (critical) was "no", the moment 0 and a critical fail; now yes, with a rating of 3 (0.5).
    items = [ItemResult(1.0, 1.0, critical=True), ItemResult(1.0, 0.5)]
    result = rescore(MOMENTS, "order", items)
    assert result.moment == score_moment(items)
    assert result.moment.score == pytest.approx(75.0) and not result.moment.critical_fail
    assert result.score == pytest.approx((2 * 80 + 75 + 50) / 4)
    assert result.remembered_score == pytest.approx((80 + 50 + 50) / 3)  # first, worst, last
    assert result.score == score_evaluation([(2.0, 80.0), (1.0, result.moment.score), (1.0, 50.0)])
    assert result.remembered_score == remembered_score([80.0, result.moment.score, 50.0])


def test_marking_the_only_scored_answer_na_leaves_the_moment_without_a_score():
    result = rescore(MOMENTS, "farewell", [])
    assert result.moment.score is None
    assert result.score == pytest.approx((2 * 80 + 0) / 3)  # the moment no longer counts
    assert result.remembered_score == pytest.approx((80 + 0 + 0) / 3)


def test_a_critical_answer_turned_to_no_fails_the_moment():
    result = rescore(MOMENTS, "greeting", [ItemResult(1.0, 0.0, critical=True), ItemResult(2.0, 1.0)])
    assert (result.moment.score, result.moment.critical_fail) == (0.0, True)
    assert result.score == pytest.approx(50 / 4)


def test_rescoring_an_unknown_moment_is_a_programming_error():
    with pytest.raises(ValueError, match="no moment 'lobby'"):
        rescore(MOMENTS, "lobby", [])


# --- the query rate's words ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "text", "note"), [
    (None, "–", "No approved visits"),
    (0.0, "0%", "Below the 3–5% baseline"),
    (0.0299, "3%", "Below the 3–5% baseline"),
    (0.03, "3%", "Within the 3–5% baseline"),
    (0.0425, "4.3%", "Within the 3–5% baseline"),  # half up, as a spreadsheet rounds
    (0.05, "5%", "Within the 3–5% baseline"),
    (1 / 6, "16.7%", "Above the 3–5% baseline"),
    (1.0, "100%", "Above the 3–5% baseline"),
])
def test_rate_text_and_baseline_note(rate, text, note):
    assert (rate_text(rate), baseline_note(rate)) == (text, note)


# --- evidence --------------------------------------------------------------------------------------------------------


class Upload:
    """What a FileStorage offers the evidence check: a stream and a file name."""

    def __init__(self, data: bytes, filename: str = "file"):
        self.stream = io.BytesIO(data)
        self.filename = filename


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_real_pdf_is_kept_byte_for_byte():
    evidence = read_evidence(Upload(PDF, "../../etc/Kassa\x00logg.PDF"), {})
    assert (evidence.kind, evidence.data, evidence.name) == ("pdf", PDF, "Kassalogg.pdf")


@pytest.mark.parametrize(("data", "message"), [
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "This PDF is incomplete"),
    (b"PK\x03\x04 a zip called report.pdf", "This file is not an image we can read"),
    (b"<html><script>alert(1)</script></html>", "web pages and other text files are not accepted"),
    (b"", "The file is empty"),
])
def test_files_that_are_not_a_pdf_or_a_photo_are_refused(data, message):
    with pytest.raises(EvidenceError, match=message) as caught:
        read_evidence(Upload(data, "report.pdf"), {})
    assert "a photo (JPEG, PNG, WebP or HEIC) or a PDF file" in str(caught.value) or not data


def test_size_limits_apply_before_anything_is_decoded():
    with pytest.raises(EvidenceError, match="The PDF is too large: the limit is 1 MB"):
        read_evidence(Upload(PDF + b"0" * (1024 * 1024)), {"DISPUTE_PDF_MAX_BYTES": 1024 * 1024})
    with pytest.raises(EvidenceError, match="The photo is too large: the limit is 1 MB"):
        read_evidence(Upload(b"\xff\xd8" + b"0" * (1024 * 1024)), {"PHOTO_MAX_BYTES": 1024 * 1024})


def test_a_photo_is_re_encoded_without_its_metadata():
    image = Image.new("RGB", (2400, 1200), (10, 200, 30))
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    out = io.BytesIO()
    image.save(out, "PNG", exif=exif)
    evidence = read_evidence(Upload(out.getvalue(), "counter.png"), {"PHOTO_MAX_SIDE": 800})
    cleaned = Image.open(io.BytesIO(evidence.data))
    assert (evidence.kind, evidence.name, cleaned.format, cleaned.size) == ("photo", "counter.jpg", "JPEG", (800, 400))
    assert not cleaned.getexif()


def test_no_file_is_no_evidence():
    assert read_evidence(None, {}) is None
    assert read_evidence(Upload(b"", ""), {}) is None  # the file box left empty


@pytest.mark.parametrize(("name", "kind", "clean"), [
    ("C:\\Users\\me\\scan.pdf", "pdf", "scan.pdf"),
    ("", "photo", "evidence.jpg"),
    ("...", "pdf", "evidence.pdf"),
    ("kvitto å.heic", "photo", "kvitto å.jpg"),
])
def test_clean_name(name, kind, clean):
    assert clean_name(name, kind) == clean
