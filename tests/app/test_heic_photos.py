"""Photos from iPhones: HEIC and HEIF files, made here with pillow-heif, come out like every other photo.

The test files are built like an iPhone's: the pixels as the sensor saw them (landscape), an `irot` box plus EXIF
orientation for a photo taken in portrait, EXIF with the maker and GPS position, larger than PHOTO_MAX_SIDE.
Through the API and through the phone form without JavaScript, they are stored as a downscaled, upright JPEG with
no metadata; broken ones get a clear message and leave nothing stored; the pixel limit holds before decoding.
"""
from __future__ import annotations

import functools
import hashlib
import io
import re
import struct
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image
from sqlalchemy import func, select

from auditapp.evaluations.models import Answer, Evaluation, EvaluationFlag, Photo
from auditapp.extensions import db

from .test_evaluation_form import FORM, good_answers, open_form
from .test_submit_service import full_payload

BLUE, RED = (20, 20, 220), (200, 30, 30)


def heic_bytes(size=(2400, 1200), orientation: int | None = 6, brand: bytes = b"heic") -> bytes:
    """A HEIC (or, with brand mif1, a plain HEIF) photo: left half blue, right half red, so the way up shows."""
    data = _encoded(size, orientation)
    assert data[4:12] == b"ftypheic"
    return data[:8] + brand + data[12:]


@functools.lru_cache  # encoding takes a second or two: once per kind of file
def _encoded(size: tuple[int, int], orientation: int | None) -> bytes:
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (59.0, 19.0, 46.0), "E", (18.0, 4.0, 6.0)
    if orientation:
        exif[0x0112] = orientation
    # pillow-heif's own encoder, not Pillow's save: the tests register no Pillow opener, the app must.
    # It writes the pixels as they are and turns the EXIF orientation into irot/imir boxes, as an iPhone does.
    heif = pillow_heif.from_bytes("RGB", image.size, image.tobytes())
    heif.info["exif"] = exif.tobytes()
    out = io.BytesIO()
    heif.save(out, quality=70)
    return out.getvalue()


def heic_claiming(width: int, height: int) -> bytes:
    """A small real HEIC whose container says it is width x height (its image spatial extents box): a bomb."""
    data = heic_bytes(size=(64, 64), orientation=None)
    assert data.count(b"ispe") == 1
    at = data.index(b"ispe") + 8  # after the box type and its version and flags
    return data[:at] + struct.pack(">II", width, height) + data[at + 8:]


@pytest.fixture
def world(make):
    org = make.org()
    shopper = make.user(org, "shopper", email="shopper@example.com")
    return org, shopper, make.journey(org), make.location(org), make.token(shopper)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def upload(client, token, data: bytes, filename="IMG_0001.HEIC", mimetype="image/heic"):
    return client.post("/api/v1/photos", headers=bearer(token), content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(data), filename, mimetype)})


def stored_file(app, photo: Photo) -> bytes:
    return (Path(app.config["UPLOAD_DIR"]) / photo.path).read_bytes()


def nothing_stored(app) -> bool:
    uploads = Path(app.config["UPLOAD_DIR"])
    files = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    return db.session.scalar(select(func.count()).select_from(Photo)) == 0 and files == []


def assert_clean_upright_jpeg(stored: bytes, size: tuple[int, int], top_left, bottom_right) -> None:
    """A JPEG of `size` with no metadata left, whose top-left and bottom-right quarters have the given colours."""
    assert b"Apple" not in stored and b"iPhone" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == size
        assert not image.getexif() and not image.getexif().get_ifd(0x8825)
        assert "exif" not in image.info and "icc_profile" not in image.info and "xmp" not in image.info
        width, height = image.size
        seen = image.getpixel((width // 4, height // 4)), image.getpixel((3 * width // 4, 3 * height // 4))
    for pixel, colour in zip(seen, (top_left, bottom_right), strict=True):
        assert all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True)), (seen, top_left, bottom_right)


def test_the_test_files_are_like_an_iphones():
    """Guards the tests below: orientation, maker and GPS really are in the files sent."""
    data = heic_bytes()
    assert b"irot" in data and pillow_heif.get_file_mimetype(data) == "image/heic"
    assert pillow_heif.get_file_mimetype(heic_bytes(brand=b"mif1")) == "image/heif"
    heif = pillow_heif.open_heif(io.BytesIO(data))
    exif = Image.Exif()
    exif.load(heif.info["exif"])
    assert exif[0x0112] == 6 and exif[0x010F] == "Apple"
    assert exif.get_ifd(0x8825)[2] == (59.0, 19.0, 46.0)
    assert heif.size == (1200, 2400)  # libheif applies irot: a portrait photo


@pytest.mark.parametrize(("brand", "filename", "mimetype"), [
    (b"heic", "IMG_0001.HEIC", "image/heic"),
    (b"mif1", "IMG_0002.heif", "image/heif"),
    (b"heic", "IMG_0003.HEIC", "image/heic-sequence"),
    (b"heic", "IMG_0004.heic", "application/octet-stream"),
    (b"mif1", "photo.heif", "application/octet-stream"),
    (b"heic", "photo.jpg", "image/jpeg"),  # the content decides, not the name or the declared type
])
def test_an_iphone_photo_through_the_api_is_stored_as_a_clean_upright_jpeg(client, app, world, brand, filename, mimetype):
    org, shopper, _, _, token = world
    original = heic_bytes(brand=brand)
    assert app.config["PHOTO_MAX_SIDE"] == 1600 < 2400
    response = upload(client, token, original, filename=filename, mimetype=mimetype)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["width"], response.get_json()["height"]) == (800, 1600)  # upright, downscaled
    photo = db.session.scalars(select(Photo)).one()
    assert photo.path == f"{org.id}/{photo.public_id}.jpg" and photo.uploader_id == shopper.id
    assert photo.sha256 == hashlib.sha256(original).hexdigest()  # of the bytes sent, as for other photos
    stored = stored_file(app, photo)
    assert photo.size_bytes == len(stored) and (photo.width, photo.height) == (800, 1600)
    assert_clean_upright_jpeg(stored, (800, 1600), BLUE, RED)  # the blue (left) half on top, as the phone was held
    served = client.get(f"/api/v1/photos/{photo.public_id}", headers=bearer(token))
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data == stored


@pytest.mark.parametrize(("orientation", "size", "top_left", "bottom_right"), [
    (None, (800, 400), BLUE, RED),  # landscape, nothing to turn: blue stays on the left
    (6, (400, 800), BLUE, RED),  # portrait, the phone's left side up
    (8, (400, 800), RED, BLUE),  # portrait, held the other way round
    (3, (800, 400), RED, BLUE),  # upside down
])
def test_each_orientation_is_applied(client, app, world, orientation, size, top_left, bottom_right):
    response = upload(client, world[-1], heic_bytes(size=(800, 400), orientation=orientation))  # small: quicker
    assert response.status_code == 201, response.get_json()
    assert_clean_upright_jpeg(stored_file(app, db.session.scalars(select(Photo)).one()), size, top_left, bottom_right)


def test_an_iphone_photo_sent_with_the_phone_form_is_stored_clean(client, app, auth, world):
    _, _, journey, location, _ = world
    auth.login("shopper@example.com")
    data = good_answers(open_form(client, location, journey))
    data["photo_files.farewell.receipt"] = (io.BytesIO(heic_bytes()), "IMG_0005.HEIC", "application/octet-stream")
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    photo = db.session.scalars(select(Photo)).one()
    answer = db.session.scalars(select(Answer).where(Answer.question_key == "receipt")).one()
    assert answer.value == photo.public_id and photo.evaluation_id == answer.evaluation_id
    assert photo.sha256 == hashlib.sha256(heic_bytes()).hexdigest()
    assert_clean_upright_jpeg(stored_file(app, photo), (800, 1600), BLUE, RED)


def test_the_same_heic_in_two_evaluations_is_flagged_as_reused(client, world, make):
    org, _, journey, location, token = world
    other_token = make.token(make.user(org, "shopper"))
    evaluations = []
    for who in (token, other_token):
        photo_id = upload(client, who, heic_bytes()).get_json()["id"]
        payload = full_payload(journey, location)
        payload["answers"].append({"moment": "farewell", "question": "receipt", "value": photo_id})
        response = client.post("/api/v1/evaluations", json=payload, headers=bearer(who))
        assert response.status_code == 201, response.get_json()
        evaluations.append(response.get_json()["id"])
    flags = db.session.scalars(select(EvaluationFlag.code).where(EvaluationFlag.evaluation_id == evaluations[1])).all()
    assert "reused_photo" in flags
    assert "reused_photo" not in db.session.scalars(
        select(EvaluationFlag.code).where(EvaluationFlag.evaluation_id == evaluations[0])).all()


def truncated_heic(cut: str) -> bytes:
    data = heic_bytes()
    return {"ftyp only": data[:40], "half": data[: len(data) // 2], "last bytes missing": data[:-10]}[cut]


@pytest.mark.parametrize("cut", ["ftyp only", "half", "last bytes missing"])
def test_a_truncated_heic_gets_a_clear_error_and_nothing_is_stored(client, app, world, cut):
    response = upload(client, world[-1], truncated_heic(cut))
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    assert detail.startswith("This photo could not be read: the HEIC file is damaged or incomplete"), detail
    assert "JPEG, PNG, WebP or HEIC" in detail
    assert response.get_json()["errors"] == [{"field": "photo", "message": detail}]
    assert nothing_stored(app)


def test_a_truncated_heic_in_the_phone_form_is_refused_next_to_the_field(client, app, auth, world):
    _, _, journey, location, _ = world
    auth.login("shopper@example.com")
    data = good_answers(open_form(client, location, journey), notes="Typed notes stay")
    data["photo_files.farewell.receipt"] = (io.BytesIO(truncated_heic("half")), "IMG_0006.HEIC", "image/heic")
    response = client.post(FORM.format(loc=location.id, jr=journey.id), data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="q-farewell-receipt-error"[^>]*>This photo could not be read: the HEIC file is damaged', page)
    assert "Typed notes stay" in page
    assert db.session.scalar(select(func.count()).select_from(Evaluation)) == 0
    assert nothing_stored(app)


@pytest.fixture
def decodes(monkeypatch) -> list:
    """Records every HEIF decode (the plugin's load), to show the size check comes first."""
    calls = []
    real_load = pillow_heif.HeifImageFile.load

    def load(self):
        calls.append(self.size)
        return real_load(self)

    monkeypatch.setattr(pillow_heif.HeifImageFile, "load", load)
    return calls


def test_a_heic_over_the_pixel_limit_is_refused_before_decoding(client, app, world, decodes):
    app.config["PHOTO_MAX_PIXELS"] = 2_000_000  # the photo has 1200 x 2400 = 2.88 million
    response = upload(client, world[-1], heic_bytes())
    assert response.status_code == 422
    assert "too large" in response.get_json()["detail"] and "2,000,000 pixels" in response.get_json()["detail"]
    assert decodes == [] and nothing_stored(app)
    app.config["PHOTO_MAX_PIXELS"] = 3_000_000
    assert upload(client, world[-1], heic_bytes()).status_code == 201
    assert decodes and set(decodes) == {(1200, 2400)}  # the spy does see the decode when there is one


@pytest.mark.parametrize(("width", "height"), [(7000, 7000), (100_000, 100_000)])
def test_a_heic_decompression_bomb_is_refused(client, app, world, decodes, width, height):
    response = upload(client, world[-1], heic_claiming(width, height))
    assert response.status_code == 422
    assert "too large" in response.get_json()["detail"]
    assert decodes == [] and nothing_stored(app)


def test_the_box_check_tells_a_whole_heic_from_a_cut_one():
    from auditapp.evaluations.photos import _boxes_cut_off

    whole = heic_bytes()
    assert not _boxes_cut_off(whole)
    assert all(_boxes_cut_off(whole[:end]) for end in (len(whole) - 1, len(whole) // 2, 40, 12))
