"""Photo evidence: check that an upload is a real photo, then keep a clean, re-encoded JPEG copy.

What a phone sends is never stored as is: it is decoded with Pillow (so only real raster images pass; HEIC and
HEIF from iPhones through the pillow-heif plugin, recognised by their content like every format), turned
upright from its EXIF orientation, downscaled, stripped of every piece of metadata (EXIF with GPS, XMP, ICC,
comments) by re-encoding the pixels alone as JPEG, and written under UPLOAD_DIR/<org id>/<public id>.jpg.
The sha256 of the original bytes is kept, so the same picture reused in another evaluation can be spotted.
"""
from __future__ import annotations

import hashlib
import io
import os
import uuid
import warnings
from pathlib import Path

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from ..extensions import db
from .models import Photo

ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC", "AVIF": "AVIF"}
DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 1600
JPEG_QUALITY = 82
WHAT_WE_TAKE = "send a photo in JPEG, PNG, WebP or HEIC format"

# HEIC/HEIF opener for Image.open. Only the primary image is used: no embedded thumbnails, depth or auxiliary images.
# It reads the container's size without decoding, so Pillow's pixel limit below still applies before any decoding;
# libheif applies the container's rotation when decoding and sets the EXIF orientation to 1, so it is not applied twice.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


class PhotoError(ValueError):
    """An upload that is not an acceptable photo; the message tells the user what to do."""


def upload_dir(config) -> Path:
    """UPLOAD_DIR from the given config, else from the running app's."""
    folder = (config or {}).get("UPLOAD_DIR")
    if not folder:
        from flask import current_app

        folder = current_app.config["UPLOAD_DIR"]
    return Path(folder)


def photo_path(config, photo: Photo) -> Path:
    return upload_dir(config) / photo.path


def _read(upload) -> bytes:
    if isinstance(upload, (bytes, bytearray)):
        return bytes(upload)
    stream = getattr(upload, "stream", upload)
    return stream.read()


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"<"))


def clean_image(data: bytes, *, max_pixels: int, max_side: int) -> tuple[bytes, int, int]:
    """Decode `data`, refuse what is not a safe raster photo, and return (jpeg bytes, width, height)."""
    if not data:
        raise PhotoError(f"The file is empty: {WHAT_WE_TAKE}.")
    if _looks_like_markup(data):
        raise PhotoError(f"SVG drawings, web pages and other text files are not accepted: {WHAT_WE_TAKE}.")
    # Pillow refuses images over twice this size outright and warns over it: both are refusals here.
    Image.MAX_IMAGE_PIXELS = max_pixels
    heif_kind = _heif_kind(data)
    if heif_kind and _boxes_cut_off(data):  # some libheif releases decode a cut-off file, garbling its last rows
        raise _damaged(f"{heif_kind} file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError(f"{image.format or 'This'} images are not accepted: {WHAT_WE_TAKE}.")
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoError(f"The image is too large ({width} x {height} pixels); the limit is {max_pixels:,} pixels.")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"The image is too large; the limit is {max_pixels:,} pixels.") from None
    except UnidentifiedImageError:
        if heif_kind:  # a HEIC whose container is cut off or broken is not identified at all by the plugin
            raise _damaged(f"{heif_kind} file") from None
        raise PhotoError(f"This file is not an image we can read: {WHAT_WE_TAKE}.") from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as error:
        if isinstance(error, PhotoError):
            raise
        raise _damaged(f"{heif_kind} file" if heif_kind else "file") from None
    try:
        image = ImageOps.exif_transpose(image)
        image = _to_rgb(image)
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # No exif=, icc_profile=: none kept. comment=b"": Pillow would copy the original's JPEG comment otherwise.
        image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, comment=b"")
    except (OSError, ValueError) as error:
        raise PhotoError(f"This image cannot be converted ({error}): {WHAT_WE_TAKE}.") from None
    return out.getvalue(), image.width, image.height


def _damaged(what: str) -> PhotoError:
    return PhotoError(f"This photo could not be read: the {what} is damaged or incomplete (was the upload cut off?): {WHAT_WE_TAKE}.")


def _heif_kind(data: bytes) -> str:
    """'HEIC', 'HEIF' or 'AVIF' when the bytes start like such a file (its ftyp brand), else ''."""
    mimetype = pillow_heif.get_file_mimetype(data[:12]) if data[4:8] == b"ftyp" else ""
    return mimetype.removeprefix("image/").split("-")[0].upper()


def _boxes_cut_off(data: bytes) -> bool:
    """True when the file's top-level ISO boxes (ftyp, meta, mdat...) claim more bytes than the file has."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if size == 1:  # a 64-bit size follows the box type
            if offset + 16 > len(data):
                return True
            size = int.from_bytes(data[offset + 8:offset + 16], "big")
        elif size == 0:  # the last box runs to the end of the file
            return False
        if size < 8:
            return True  # not a box at all: damaged
        offset += size
    return offset != len(data)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten transparency onto white (a transparent PNG would turn black in JPEG) and drop palettes."""
    if image.mode == "RGB":
        return image
    if image.mode in ("L", "I;16", "I", "F"):
        return image.convert("L").convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def save_photo(org_id: int, user, upload, config) -> Photo:
    """Validate and store one uploaded photo (a FileStorage, a stream or bytes); returns the flushed Photo."""
    config = config or {}
    max_bytes = int(config.get("PHOTO_MAX_BYTES") or DEFAULT_MAX_BYTES)
    stream = getattr(upload, "stream", None)
    data = _read(upload) if stream is None else stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoError(f"The file is too large: the limit is {max_bytes // (1024 * 1024)} MB.")
    jpeg, width, height = clean_image(
        data,
        max_pixels=int(config.get("PHOTO_MAX_PIXELS") or DEFAULT_MAX_PIXELS),
        max_side=int(config.get("PHOTO_MAX_SIDE") or DEFAULT_MAX_SIDE),
    )
    public_id = str(uuid.uuid4())
    relative = f"{int(org_id)}/{public_id}.jpg"
    target = upload_dir(config) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(jpeg)
    os.replace(partial, target)  # readers never see half a file
    photo = Photo(public_id=public_id, org_id=org_id, uploader_id=getattr(user, "id", None), path=relative,
                  sha256=hashlib.sha256(data).hexdigest(), width=width, height=height, size_bytes=len(jpeg))
    db.session.add(photo)
    db.session.flush()
    return photo
