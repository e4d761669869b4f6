"""HTML to PDF bytes with WeasyPrint, fetching nothing from outside, and photos shrunk for print.

WeasyPrint is imported on first use: it needs the Pango library (Debian: libpango-1.0-0, libpangoft2-1.0-0), and the
app must still start and serve everything else on a machine without it. `ReportUnavailable` says what is missing.

Nothing reaches the network or the disk through the document: the URL fetcher given to WeasyPrint answers only the
`report:` names of resources handed in (the photos, already in memory) and refuses every other URL, so even markup
that slipped into the HTML could not make the server fetch `http://...` or read `file:///...`. Fonts come from the
system through fontconfig, not through URLs. User text is escaped by the template; this is the second wall.
"""
from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

RESOURCE_SCHEME = "report:"
PRINT_MAX_SIDE = 900  # pixels on the longer side: about 270 dpi at half the width of an A4 page ...
PRINT_MIN_SIDE = 800  # ... and at least this (240 dpi) when the stored photo is larger, so JPEG decodes at 1/2 scale
PRINT_QUALITY = 75
PHOTO_MAX_PIXELS = 40_000_000  # as for uploads; a stored photo is far smaller (PHOTO_MAX_SIDE)
INSTALL_HINT = ("PDF reports need WeasyPrint and the Pango text library on the server "
                "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0, or `make browser-deps`).")

_lock = threading.Lock()
_weasyprint = None
log = logging.getLogger(__name__)


class ReportUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs cannot be loaded on this server."""


def load_weasyprint():
    """The weasyprint module, imported once; raises ReportUnavailable when it or Pango is missing."""
    global _weasyprint
    if _weasyprint is not None:
        return _weasyprint
    with _lock:
        if _weasyprint is None:
            lenient = ImageFile.LOAD_TRUNCATED_IMAGES
            try:
                import weasyprint
            except (ImportError, OSError) as error:  # OSError: cffi could not open libpango / libgobject
                log.warning("WeasyPrint cannot be loaded: %s", error)
                raise ReportUnavailable(INSTALL_HINT) from error
            finally:
                # WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when imported; photo
                # uploads rely on Pillow refusing a cut-off file (evaluations/photos.py), so put it back.
                ImageFile.LOAD_TRUNCATED_IMAGES = lenient
            _weasyprint = weasyprint
    return _weasyprint


def reset_weasyprint() -> None:
    """Forget the loaded module (tests simulate a server without it)."""
    global _weasyprint
    _weasyprint = None


@dataclass
class Resource:
    data: bytes
    mime_type: str


@dataclass
class RenderResult:
    pdf: bytes
    refused: list[str] = field(default_factory=list)  # URLs the document asked for and did not get


def _fetcher_class(weasyprint):
    class LocalOnlyFetcher(weasyprint.urls.URLFetcher):
        """Answers `report:<name>` from memory; refuses (and notes) every other URL, data: included."""

        def __init__(self, resources: Mapping[str, Resource | Future]):
            super().__init__(allowed_protocols=(), allow_redirects=False, timeout=1)
            self.resources = dict(resources)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            resource = self.resources.get(url.removeprefix(RESOURCE_SCHEME)) if url.startswith(RESOURCE_SCHEME) else None
            if isinstance(resource, Future):  # a photo still being shrunk on another thread
                resource = resource.result()
            if resource is None:
                self.refused.append(url)
                raise ValueError(f"the report fetches nothing from outside: {url[:200]!r} refused")
            return weasyprint.urls.URLFetcherResponse(url, resource.data, {"Content-Type": resource.mime_type})

    return LocalOnlyFetcher


def html_to_pdf(html: str, resources: Mapping[str, Resource | Future] | None = None) -> RenderResult:
    """Render `html` (which names its images `report:<name>`) to PDF bytes; raises ReportUnavailable.

    A resource may be a Future of one (None when it could not be made): the photos are shrunk on other threads
    while WeasyPrint parses the document, and the fetcher waits for each when the layout needs it."""
    weasyprint = load_weasyprint()
    fetcher = _fetcher_class(weasyprint)(resources or {})
    # No base_url: a relative URL has nothing to resolve against, and the fetcher would refuse it anyway.
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, media_type="print")
    return RenderResult(document.write_pdf(), fetcher.refused)


def print_photo(path: Path | str, *, max_side: int = PRINT_MAX_SIDE, quality: int = PRINT_QUALITY) -> Resource | None:
    """A stored JPEG shrunk for paper, in memory; None when the file is missing or not an image."""
    Image.MAX_IMAGE_PIXELS = PHOTO_MAX_PIXELS
    try:
        with Image.open(path) as image:
            # JPEG can decode straight to 1/2, 1/4 or 1/8 of its size, far faster than decoding it whole and
            # resizing: ask for the smallest such version whose longer side is still PRINT_MIN_SIDE.
            ratio = min(1.0, min(max_side, PRINT_MIN_SIDE) / max(image.size))
            image.draft("RGB", (math.ceil(image.width * ratio), math.ceil(image.height * ratio)))
            picture = image.convert("RGB")
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError):
        return None
    # Bicubic: at less than 2x down it looks the same as Lanczos on paper and takes a quarter less time.
    picture.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return Resource(out.getvalue(), "image/jpeg")
