"""Hostile input catalogue, part 4: photos.

Non-images, SVG in its disguises, decompression bombs, truncated files and polyglots (a real JPEG or PNG that also
carries HTML) sent as photo evidence: refused with a clear message, or re-encoded so nothing but pixels is kept.
Served photos are image/jpeg with nosniff. Photo references in answers cannot reach other files.
(tests/app/test_photos.py covers metadata stripping, orientation and access; this file is the hostile side.)
"""
from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.evaluations.models import Evaluation, Photo
from auditapp.extensions import db

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'


def jpeg(size=(64, 48), colour=(200, 40, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", **save)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) \
        + png_chunk(b"IEND", b"")


def png_with_text_chunk() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 0)).save(out, format="PNG")
    data = out.getvalue()
    end = data.rindex(b"IEND") - 4
    return data[:end] + png_chunk(b"tEXt", b"Comment\x00" + HTML) + data[end:]


def jpeg_with_comment_html() -> bytes:
    """A valid JPEG whose COM segment holds an HTML page (readable by a browser that sniffs)."""
    data = jpeg()
    segment = b"\xff\xfe" + struct.pack(">H", len(HTML) + 2) + HTML
    return data[:2] + segment + data[2:]


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="sam@example.com")
    location = make.location(org)
    journey = make.journey(org)
    return type("World", (), dict(org=org, shopper=shopper, location=location, journey=journey, token=make.token(shopper)))


def upload(client, world, data: bytes, filename="photo.jpg", mimetype="image/jpeg"):
    return client.post("/api/v1/photos", headers={"Authorization": f"Bearer {world.token}"},
                       content_type="multipart/form-data", data={"photo": (io.BytesIO(data), filename, mimetype)})


def nothing_stored(app) -> bool:
    uploads = Path(app.config["UPLOAD_DIR"])
    files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    return db.session.scalar(select(func.count()).select_from(Photo)) == 0 and files == []


REFUSED = {
    "plain text": (b"Receipt: 2 coffees, 7.40\n", "not an image"),
    "html named .jpg": (HTML, "not accepted"),
    "html with leading blank lines": (b"\r\n\r\n  " + HTML, "not accepted"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "not an image"),
    "zip": (b"PK\x03\x04" + b"\x00" * 60, "not an image"),
    "windows executable": (b"MZ\x90\x00" + b"\x00" * 200, "not an image"),
    "svg": (SVG, "SVG"),
    "svg with xml declaration": (b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG, "SVG"),
    "svg after a byte order mark": (b"\xef\xbb\xbf" + SVG, "SVG"),
    "svg with a doctype": (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">' + SVG, "SVG"),
    "svg in utf-16": ("\ufeff".encode("utf-16-le") + SVG.decode().encode("utf-16-le"), "not an image"),
    "gzipped svg (svgz)": (gzip.compress(SVG), "not an image"),
    "truncated jpeg": (jpeg(size=(400, 300))[:600], "damaged"),
    "jpeg header only": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "damaged"),
    "decompression bomb 100000 x 100000": (png_claiming(100_000, 100_000), "too large"),
    "decompression bomb 7000 x 7000": (png_claiming(7000, 7000), "too large"),
    "absurd width 4 billion": (png_claiming(2**31 - 1, 2), "too large"),
    "bmp": (b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, 16, 0, 0, 0, 0)
            + b"\x00" * 16, "not accepted"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_hostile_files_are_refused_with_a_clear_message_and_nothing_kept(app, client, world, name):
    data, words = REFUSED[name]
    response = upload(client, world, data)
    assert response.status_code == 422, (name, response.get_json())
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    assert words.lower() in detail.lower(), detail
    assert "JPEG, PNG, WebP or HEIC" in detail or "the limit is" in detail  # says what would be accepted
    assert nothing_stored(app)


@pytest.mark.parametrize("maker", [jpeg_with_comment_html, png_with_text_chunk,
                                   lambda: jpeg() + HTML, lambda: jpeg() + SVG])
def test_polyglots_are_re_encoded_so_only_pixels_remain(app, client, world, maker):
    data = maker()
    assert HTML in data or SVG in data
    response = upload(client, world, data)
    assert response.status_code == 201, response.get_json()
    photo = db.session.scalar(select(Photo))
    stored = (Path(app.config["UPLOAD_DIR"]) / photo.path).read_bytes()
    assert b"<script" not in stored and b"<html" not in stored and b"<svg" not in stored
    assert stored.startswith(b"\xff\xd8") and stored.rstrip(b"\x00").endswith(b"\xff\xd9")  # JPEG, nothing after
    served = client.get(f"/api/v1/photos/{photo.public_id}", headers={"Authorization": f"Bearer {world.token}"})
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in served.headers["Content-Security-Policy"]
    assert b"<script" not in served.data
    assert Image.open(io.BytesIO(served.data)).format == "JPEG"


def test_declared_file_name_and_type_do_not_matter(app, client, world):
    """A real PNG sent as 'evil.html' with text/html is still just a photo, stored and served as JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out, format="PNG")
    response = upload(client, world, out.getvalue(), filename="evil.html", mimetype="text/html")
    assert response.status_code == 201
    photo = db.session.scalar(select(Photo))
    assert photo.path.endswith(".jpg") and "evil" not in photo.path and ".." not in photo.path
    served = client.get(f"/api/v1/photos/{photo.public_id}", headers={"Authorization": f"Bearer {world.token}"})
    assert served.mimetype == "image/jpeg" and served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("reference", ["../../../etc/passwd", "..%2F..%2Fsecret", "/etc/passwd", "1/../../x.jpg",
                                       "<script>alert(1)</script>", "x" * 501])
def test_photo_answers_cannot_point_at_other_files(client, world, reference):
    from tests.app.test_hostile_sizes import payload, post

    body = payload(world)
    body["answers"].append({"moment": "farewell", "question": "receipt", "value": reference})
    response = post(client, world, body)
    assert response.status_code == 422
    messages = [e["message"] for e in response.json["errors"] if e["field"] == "answers.farewell.receipt"]
    assert messages and ("Unknown photo" in messages[0] or "photo reference" in messages[0])
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0


@pytest.mark.parametrize("public_id", ["..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "1", "not-a-uuid"])
def test_photo_urls_cannot_reach_other_files(client, world, public_id):
    response = client.get(f"/api/v1/photos/{public_id}", headers={"Authorization": f"Bearer {world.token}"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_the_phone_form_refuses_a_bomb_next_to_the_field_and_keeps_what_was_typed(app, client, auth, world):
    auth.login("sam@example.com")
    response = client.post(
        "/evaluations/new", query_string={"location": world.location.id, "journey": world.journey.id},
        content_type="multipart/form-data",
        data={"client_uuid": "photo-form-0001", "started_at": "2025-01-01T10:00:00Z",
              "location_id": str(world.location.id), "notes": "Typed notes stay", "answers.greeting.greeted": "yes",
              "answers.greeting.verdict": "magical", "answers.order.verdict": "neutral",
              "answers.farewell.verdict": "neutral",
              "photo_files.farewell.receipt": (io.BytesIO(png_claiming(100_000, 100_000)), "receipt.png", "image/png")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "too large" in page and "Typed notes stay" in page
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0
    assert nothing_stored(app)


def test_the_phone_form_refuses_an_svg_next_to_the_field(app, client, auth, world):
    auth.login("sam@example.com")
    response = client.post(
        "/evaluations/new", query_string={"location": world.location.id, "journey": world.journey.id},
        content_type="multipart/form-data",
        data={"client_uuid": "photo-form-0002", "started_at": "2025-01-01T10:00:00Z",
              "location_id": str(world.location.id), "answers.greeting.greeted": "yes",
              "answers.greeting.verdict": "magical", "answers.order.verdict": "neutral",
              "answers.farewell.verdict": "neutral",
              "photo_files.farewell.receipt": (io.BytesIO(SVG), "receipt.svg", "image/svg+xml")})
    assert response.status_code == 422
    assert "SVG drawings" in response.get_data(as_text=True)
    assert "<script>alert(1)" not in response.get_data(as_text=True)
    assert nothing_stored(app)
