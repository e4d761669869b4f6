"""The demo scorecard as a manager prints it: every sheet to PDF with LibreOffice, the Summary on one page.

Set AUDITAPP_PRINT_DIR to keep the PDF and a PNG of its first page (pdftoppm) for looking at them.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from auditapp.demo import build_demo
from auditapp.exports.queries import load_scorecard
from auditapp.exports.workbook import write_scorecard
from auditapp.extensions import db
from auditapp.results.queries import Filters

pytestmark = pytest.mark.slow

MAX_PAGES = 30


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        if os.environ.get("AUDITAPP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{name} is required here: apt-get install libreoffice-calc poppler-utils")
        pytest.skip(f"{name} is not installed: apt-get install --no-install-recommends libreoffice-calc poppler-utils")
    return path


def _pdf(xlsx: Path, out: Path) -> Path:
    profile = f"file:///tmp/lo_profile_{secrets.token_hex(6)}"
    try:
        subprocess.run([_tool("soffice"), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(out), str(xlsx)], check=True, capture_output=True, timeout=180)
    finally:
        shutil.rmtree(profile.removeprefix("file://"), ignore_errors=True)
    return out / (xlsx.stem + ".pdf")


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode()
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def test_demo_scorecard_prints_summary_on_one_page(app, tmp_path):
    _tool("soffice")
    result = build_demo(seed=7)
    db.session.commit()
    org = result.org
    journey = next(iter(result.journeys.values()))
    journey_id = journey.id if hasattr(journey, "id") else journey
    data = load_scorecard(org, Filters(journey_id=journey_id))
    keep = os.environ.get("AUDITAPP_PRINT_DIR")
    out = Path(keep) if keep else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    xlsx = out / "demo-scorecard.xlsx"
    write_scorecard(xlsx, data)
    assert data.evaluations > 0 and data.findings  # a scorecard with something to say

    pages = _pages(_pdf(xlsx, out))
    assert len(pages) < MAX_PAGES, f"{len(pages)} pages"
    # The Summary is the first page and ends on it: the next page is another sheet's header.
    assert data.title in pages[0] and "(Summary)" in pages[0]
    assert "Findings" in pages[0] and re.search(rf"Page 1 of {len(pages)}\b", pages[0])
    assert "(Summary)" not in pages[1]
    assert "Filters:" in pages[0]  # the footer
    for sheet in ("Locations", "Trend", "Gap", "Responses", "Notes", "Location matrix"):
        assert any(f"({sheet})" in page for page in pages), sheet
    if keep:
        subprocess.run([_tool("pdftoppm"), "-png", "-r", "80", "-f", "1", "-l", "3", str(out / "demo-scorecard.pdf"),
                        str(out / "page")], check=True, timeout=60)
