"""Pure helpers of the capture path: time parsing, the content hash, list cursors, image cleaning."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

from auditapp.api.capture import decode_cursor, encode_cursor
from auditapp.evaluations.photos import PhotoError, clean_image
from auditapp.evaluations.services import content_hash, parse_time


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01T14:30:00+02:00", datetime(2024, 5, 1, 12, 30)),
    ("2024-05-01T14:30:00Z", datetime(2024, 5, 1, 14, 30)),
    ("2024-05-01T14:30:00", datetime(2024, 5, 1, 14, 30)),  # no offset: UTC
    ("2024-05-01T14:30:00.250-05:00", datetime(2024, 5, 1, 19, 30, 0, 250_000)),
    (" 2024-05-01 ", datetime(2024, 5, 1)),
])
def test_parse_time_gives_naive_utc(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("raw", ["", "yesterday", "01/05/2024", "2024-13-01T00:00:00", 1714567800, None])
def test_parse_time_refuses_what_is_not_iso_8601(raw):
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time(raw)


def test_content_hash_ignores_key_order_but_not_content():
    a = {"client_uuid": "abcdefgh", "answers": [{"moment": "m", "question": "q", "value": "yes"}], "notes": "é"}
    b = {"notes": "é", "answers": [{"value": "yes", "question": "q", "moment": "m"}], "client_uuid": "abcdefgh"}
    assert content_hash(a) == content_hash(b)
    assert len(content_hash(a)) == 64
    assert content_hash(a) != content_hash({**a, "notes": "e"})
    assert content_hash(a) != content_hash({**a, "answers": [{"moment": "m", "question": "q", "value": "no"}]})


def test_cursor_round_trip_and_garbage():
    class Row:
        started_at = datetime(2024, 5, 1, 12, 30, 5, 123)
        id = 42

    assert decode_cursor(encode_cursor(Row())) == (Row.started_at, 42)
    for bad in ("garbage", "", "W10", "WyJ4IiwxXQ", "!!!"):
        with pytest.raises(ValueError):
            decode_cursor(bad)


def _png(size, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def test_clean_image_downscales_and_keeps_the_aspect_ratio():
    jpeg, width, height = clean_image(_png((3000, 1000)), max_pixels=10_000_000, max_side=1200)
    assert (width, height) == (1200, 400)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"


@pytest.mark.parametrize("mode", ["L", "P", "LA", "CMYK", "I;16"])
def test_clean_image_handles_colour_modes(mode):
    if mode == "CMYK":
        out = io.BytesIO()
        Image.new("CMYK", (20, 10)).save(out, format="JPEG")
        data = out.getvalue()
    else:
        data = _png((20, 10), mode)
    _, width, height = clean_image(data, max_pixels=1000, max_side=100)
    assert (width, height) == (20, 10)


def test_clean_image_refuses_svg_even_with_a_bom():
    with pytest.raises(PhotoError, match="SVG"):
        clean_image(b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'/>", max_pixels=1000, max_side=100)
