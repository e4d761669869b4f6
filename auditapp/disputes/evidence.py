"""Evidence for a dispute: one photo or one PDF file, checked before anything is stored.

A photo goes through the evaluation photos' pipeline (auditapp.evaluations.photos.clean_image: decoded, turned
upright, downscaled, every piece of metadata stripped by re-encoding as JPEG). A PDF cannot be cleaned that way, so
it is checked by its content (the `%PDF-` header near the start and the `%%EOF` marker near the end: a real PDF,
not a renamed file, and not one cut off in the upload) and its size, kept byte for byte, and only ever sent back as
a download (Content-Disposition: attachment), never shown inline.
"""
from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..evaluations.photos import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    PhotoError,
    clean_image,
    upload_dir,
)

DEFAULT_PDF_MAX_BYTES = 10 * 1024 * 1024
PDF_HEAD = 1024  # the PDF header may follow a little junk; readers look this far
PDF_TAIL = 2048  # and %%EOF may be followed by a few bytes
WHAT_WE_TAKE = "send a photo (JPEG, PNG, WebP or HEIC) or a PDF file"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


class EvidenceError(ValueError):
    """Evidence that is not acceptable; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # "photo" or "pdf"
    data: bytes  # what is stored: the re-encoded JPEG, or the PDF as sent
    name: str  # a safe file name for the download


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def clean_name(filename: str | None, kind: str) -> str:
    """The uploaded file's own name without folders or control characters (at most 120 characters), with the
    extension of what is stored."""
    base = unicodedata.normalize("NFC", os.path.basename((filename or "").replace("\\", "/")))
    base = _UNSAFE.sub("", base).strip(" .")
    stem = os.path.splitext(base)[0][:110] or "evidence"
    return f"{stem}.{'jpg' if kind == 'photo' else 'pdf'}"


def read_evidence(upload, config) -> Evidence | None:
    """The checked evidence of an upload (a FileStorage), or None when no file was sent; raises EvidenceError."""
    if upload is None:
        return None
    config = config or {}
    pdf_limit = int(config.get("DISPUTE_PDF_MAX_BYTES") or DEFAULT_PDF_MAX_BYTES)
    photo_limit = int(config.get("PHOTO_MAX_BYTES") or DEFAULT_MAX_BYTES)
    stream = getattr(upload, "stream", upload)
    data = stream.read(max(pdf_limit, photo_limit) + 1)
    if not data:
        if not getattr(upload, "filename", ""):
            return None  # a form sent with the file box left empty
        raise EvidenceError(f"The file is empty: {WHAT_WE_TAKE}.")
    if b"%PDF-" in data[:PDF_HEAD]:
        if len(data) > pdf_limit:
            raise EvidenceError(f"The PDF is too large: the limit is {_mb(pdf_limit)}.")
        if b"%%EOF" not in data[-PDF_TAIL:]:
            raise EvidenceError("This PDF is incomplete (its end is missing; was the upload cut off?): "
                                f"{WHAT_WE_TAKE}.")
        return Evidence("pdf", data, clean_name(getattr(upload, "filename", ""), "pdf"))
    if len(data) > photo_limit:
        raise EvidenceError(f"The photo is too large: the limit is {_mb(photo_limit)}.")
    try:
        jpeg, _, _ = clean_image(data, max_pixels=int(config.get("PHOTO_MAX_PIXELS") or DEFAULT_MAX_PIXELS),
                                 max_side=int(config.get("PHOTO_MAX_SIDE") or DEFAULT_MAX_SIDE))
    except PhotoError as error:
        message = str(error).replace("send a photo in JPEG, PNG, WebP or HEIC format", WHAT_WE_TAKE)
        raise EvidenceError(message) from None
    return Evidence("photo", jpeg, clean_name(getattr(upload, "filename", ""), "photo"))


def store_evidence(org_id: int, evidence: Evidence, config) -> str:
    """Write the file under UPLOAD_DIR/<org id>/disputes/; returns its path relative to UPLOAD_DIR."""
    relative = f"{int(org_id)}/disputes/{uuid.uuid4()}.{'jpg' if evidence.kind == 'photo' else 'pdf'}"
    target = upload_dir(config) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(evidence.data)
    os.replace(partial, target)  # readers never see half a file
    return relative


def evidence_path(config, relative: str) -> Path:
    return upload_dir(config) / relative


def remove_evidence(config, relative: str) -> None:
    """Drop a file written for a dispute that was then not stored."""
    if relative:
        evidence_path(config, relative).unlink(missing_ok=True)
