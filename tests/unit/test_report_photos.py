"""Photos shrunk for the PDF report (auditapp/reports/pdf.py print_photo): sizes, quality, bad files."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from auditapp.reports.pdf import PRINT_MAX_SIDE, PRINT_MIN_SIDE, print_photo


def _jpeg(path, size, colour=(180, 90, 30)):
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
    return path


@pytest.mark.parametrize(("stored", "printed"), [
    ((1600, 1200), (800, 600)),  # decoded at half scale by the JPEG decoder: 240 dpi at half an A4 page
    ((1200, 1600), (600, 800)),
    ((1200, 900), (900, 675)),  # half scale would be too small: decoded whole, then shrunk
    ((600, 450), (600, 450)),  # never enlarged
    ((3000, 1000), (900, 300)),
])
def test_print_sizes(tmp_path, stored, printed):
    resource = print_photo(_jpeg(tmp_path / "p.jpg", stored))
    assert resource.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(resource.data)) as image:
        assert image.format == "JPEG" and image.size == printed
        assert PRINT_MIN_SIDE <= max(image.size) <= PRINT_MAX_SIDE or max(stored) < PRINT_MIN_SIDE


def test_a_missing_or_broken_file_gives_nothing(tmp_path):
    assert print_photo(tmp_path / "gone.jpg") is None
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert print_photo(tmp_path / "broken.jpg") is None
    (tmp_path / "text.jpg").write_text("<svg></svg>")
    assert print_photo(tmp_path / "text.jpg") is None
