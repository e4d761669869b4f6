"""Photo uploads: only real raster images, re-encoded without metadata, served only to who may see them."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.evaluations.models import Photo
from auditapp.evaluations.photos import PhotoError, clean_image
from auditapp.extensions import db

from .test_submit_service import full_payload


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def jpeg_with_gps(size=(2400, 1200), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue: shows which way is up
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (59.0, 19.0, 46.0), "E", (18.0, 4.0, 6.0)
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def png_bytes(size=(40, 30), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 128, 0, 0) if mode == "RGBA" else 0).save(out, format="PNG")
    return out.getvalue()


def huge_png_header(width=100_000, height=100_000) -> bytes:
    """A tiny PNG file that claims enormous dimensions (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="shopper@example.com")
    return org, shopper, make.journey(org), make.location(org), make.token(shopper)


def upload(client, token, data: bytes, filename="photo.jpg", mimetype="image/jpeg"):
    return client.post("/api/v1/photos", headers=bearer(token), content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(data), filename, mimetype)})


def test_jpeg_with_gps_is_stored_re_encoded_without_metadata(client, app, world):
    org, shopper, _, _, token = world
    original = jpeg_with_gps()
    response = upload(client, token, original)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["width"], body["height"]) == (1600, 800)  # downscaled to PHOTO_MAX_SIDE
    photo = db.session.scalar(select(Photo))
    assert photo.public_id == body["id"] and photo.org_id == org.id and photo.uploader_id == shopper.id
    import hashlib

    assert photo.sha256 == hashlib.sha256(original).hexdigest()
    path = Path(app.config["UPLOAD_DIR"]) / photo.path
    assert path.name == f"{photo.public_id}.jpg" and path.parent.name == str(org.id)
    stored = path.read_bytes()
    assert stored != original and photo.size_bytes == len(stored)
    assert b"PhoneMaker" not in stored and b"Exif" not in stored[:200]
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (1600, 800)
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info

    served = client.get(f"/api/v1/photos/{photo.public_id}", headers=bearer(token))
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == stored
    assert "private" in served.headers["Cache-Control"]


def test_exif_orientation_is_applied():
    data = jpeg_with_gps(size=(300, 100), orientation=6)  # 6: the camera was turned; rotate 90 degrees to view
    jpeg, width, height = clean_image(data, max_pixels=10_000_000, max_side=1600)
    assert (width, height) == (100, 300)
    with Image.open(io.BytesIO(jpeg)) as image:
        top, bottom = image.getpixel((50, 5)), image.getpixel((50, 295))
    assert top[2] > 150 and bottom[0] > 150  # blue (the left) is now on top, red at the bottom


def test_transparent_png_becomes_white_jpeg():
    jpeg, width, height = clean_image(png_bytes(), max_pixels=10_000_000, max_side=1600)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and (width, height) == (40, 30)
        assert min(image.getpixel((10, 10))) > 240


@pytest.mark.parametrize(("data", "words"), [
    (b"just some notes\n", "not an image"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "SVG"),
    (b'  <svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
    (jpeg_with_gps(size=(400, 300))[:1500], "damaged"),
    (huge_png_header(), "too large"),
    (huge_png_header(7000, 7000), "too large"),  # 49 MP: over the 40 MP limit, under twice it (a warning in Pillow)
    (b"", "empty"),
    (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
     b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "GIF"),
])
def test_bad_files_are_refused_with_a_clear_422(client, app, world, data, words):
    token = world[-1]
    response = upload(client, token, data, filename="upload.bin", mimetype="image/jpeg")
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert words.lower() in body["detail"].lower()
    assert body["errors"] == [{"field": "photo", "message": body["detail"]}]
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
    uploads = Path(app.config["UPLOAD_DIR"])
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))


def test_missing_field_and_oversized_file(client, app, world):
    token = world[-1]
    response = client.post("/api/v1/photos", headers=bearer(token), data={"other": "x"})
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "photo"
    app.config["PHOTO_MAX_BYTES"] = 1000
    response = upload(client, token, jpeg_with_gps(size=(400, 300)))
    assert response.status_code == 422 and "too large" in response.get_json()["detail"]


def test_clean_image_refuses_over_the_pixel_limit():
    with pytest.raises(PhotoError, match="too large"):
        clean_image(png_bytes(size=(200, 200), mode="RGB"), max_pixels=30_000, max_side=1600)


def test_photo_answer_links_the_photo_and_access_follows_the_evaluation(client, world, make):
    org, shopper, journey, location, token = world
    photo_id = upload(client, token, jpeg_with_gps(size=(200, 100))).get_json()["id"]
    payload = full_payload(journey, location)
    payload["answers"].append({"moment": "farewell", "question": "receipt", "value": photo_id})
    response = client.post("/api/v1/evaluations", json=payload, headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    evaluation_id = response.get_json()["id"]
    assert db.session.scalar(select(Photo.evaluation_id)) == evaluation_id
    url = f"/api/v1/photos/{photo_id}"

    manager = make.user(org, "manager")
    staff_here = make.user(org, "staff", location=location)
    staff_elsewhere = make.user(org, "staff", location=make.location(org))
    other_shopper = make.user(org, "shopper")
    foreign_admin = make.user(make.org(), "admin")
    assert client.get(url, headers=bearer(make.token(manager))).status_code == 200
    assert client.get(url, headers=bearer(make.token(staff_here))).status_code == 200
    for user in (staff_elsewhere, other_shopper, foreign_admin):
        response = client.get(url, headers=bearer(make.token(user)))
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/photos/not-a-photo", headers=bearer(token)).status_code == 404

    # the same photo cannot be attached to a second evaluation, nor can someone else's photo be used
    again = full_payload(journey, location)
    again["answers"].append({"moment": "farewell", "question": "receipt", "value": photo_id})
    response = client.post("/api/v1/evaluations", json=again, headers=bearer(token))
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"answers.farewell.receipt"}
    other_photo = upload(client, make.token(other_shopper), jpeg_with_gps(size=(50, 50))).get_json()["id"]
    again["answers"][-1]["value"] = other_photo
    assert client.post("/api/v1/evaluations", json=again, headers=bearer(token)).status_code == 422


def test_an_unlinked_photo_is_only_served_to_its_uploader(client, world, make):
    org, _, _, _, token = world
    photo_id = upload(client, token, jpeg_with_gps(size=(60, 40))).get_json()["id"]
    assert client.get(f"/api/v1/photos/{photo_id}", headers=bearer(token)).status_code == 200
    manager = make.user(org, "manager")
    assert client.get(f"/api/v1/photos/{photo_id}", headers=bearer(make.token(manager))).status_code == 404


def test_resubmission_keeps_or_swaps_the_photo(client, world, make):
    org, shopper, journey, location, token = world
    first = upload(client, token, jpeg_with_gps(size=(80, 60))).get_json()["id"]
    payload = full_payload(journey, location)
    payload["answers"].append({"moment": "farewell", "question": "receipt", "value": first})
    evaluation_id = client.post("/api/v1/evaluations", json=payload, headers=bearer(token)).get_json()["id"]
    from auditapp.evaluations.models import Evaluation

    db.session.get(Evaluation, evaluation_id).status = "returned"
    db.session.commit()
    payload["notes"] = "same photo, fixed note"
    assert client.post("/api/v1/evaluations", json=payload, headers=bearer(token)).status_code == 200
    assert db.session.scalar(select(Photo.evaluation_id).where(Photo.public_id == first)) == evaluation_id

    db.session.get(Evaluation, evaluation_id).status = "returned"
    db.session.commit()
    second = upload(client, token, jpeg_with_gps(size=(90, 60))).get_json()["id"]
    payload["answers"][-1]["value"] = second
    assert client.post("/api/v1/evaluations", json=payload, headers=bearer(token)).status_code == 200
    links = dict(db.session.execute(select(Photo.public_id, Photo.evaluation_id)).all())
    assert links == {first: None, second: evaluation_id}


def test_save_photo_accepts_bytes_and_falls_back_to_the_app_upload_dir(app, world):
    from auditapp.evaluations.photos import photo_path, save_photo

    org, shopper, *_ = world
    photo = save_photo(org.id, shopper, jpeg_with_gps(size=(30, 20)), None)
    assert photo_path(None, photo) == Path(app.config["UPLOAD_DIR"]) / f"{org.id}/{photo.public_id}.jpg"
    assert photo_path(None, photo).is_file() and (photo.width, photo.height) == (30, 20)
