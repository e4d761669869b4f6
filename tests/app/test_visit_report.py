"""The PDF visit report: who gets it (API and browser), what it says, what it never says or fetches, how it looks.

The PDF is read back with pypdf (text, images) and page 1 is drawn with pdftoppm (poppler-utils) to check that
it is not blank and carries the band and critical-fail colours.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from auditapp.charts.svg import BAND_FILL
from auditapp.evaluations.models import STATUSES, MomentResult, Photo
from auditapp.evaluations.photos import photo_path, save_photo
from auditapp.extensions import db
from auditapp.reports import pdf as report_pdf
from auditapp.reports.visit import STATUS_WORDS, shopper_code
from auditapp.timeutil import to_local
from tests.factories import photo_like_jpeg

API = "/api/v1/evaluations/{id}/report.pdf"
WEB = "/reports/visits/{id}.pdf"


class _Spy(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def spy_server():
    """A web server on loopback that counts requests: a report must never make one."""
    _Spy.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Spy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", _Spy.hits
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture
def world(app, make, spy_server):
    url, _ = spy_server
    org = make.org(name="Acme", timezone="Europe/Stockholm")
    other = make.org(name="Other Org")
    location = make.location(org, code="STO-01", name="Stockholm Central")
    users = {role: make.user(org, role, email=f"{role}@acme.example", name=f"{role.title()} Person")
             for role in ("admin", "manager")}
    users["staff"] = make.user(org, "staff", email="staff@acme.example", name="Staff Person", location=location)
    shopper = make.user(org, "shopper", email="jane.quimby@acme.example", name="Jane Quimby")
    second = make.user(org, "shopper", email="bob@acme.example", name="Bob Other")
    journey = make.journey(org)
    photo = save_photo(org.id, shopper, photo_like_jpeg(3), app.config)
    db.session.commit()
    note = f'<img src="{url}/note.png"> <b>bold</b> & <script>alert(1)</script>'
    evaluation = make.evaluation(
        org, journey, location, shopper,
        answers={"order.clean": ("no", "Sticky counter"), "greeting.smile": (4, note), "greeting.verdict": "magical",
                 "farewell.receipt": (photo.public_id, "The receipt"), "farewell.comment": "See you"},
        durations={"greeting": 130, "order": 60}, notes=f"Overall fine <img src='{url}/notes.png'>",
        moment_notes={"order": "Counter was sticky"})
    tokens = {role: make.token(user) for role, user in {**users, "shopper": shopper, "second": second}.items()}
    tokens["foreign"] = make.token(make.user(other, "manager", email="boss@other.example"))
    return {"org": org, "other": other, "location": location, "users": users, "shopper": shopper, "second": second,
            "journey": journey, "evaluation": evaluation, "photo": photo, "tokens": tokens, "spy": spy_server}


def _bearer(world, who: str) -> dict:
    return {"Authorization": f"Bearer {world['tokens'][who]}"}


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _get_pdf(client, world, who="manager") -> bytes:
    response = client.get(API.format(id=world["evaluation"].id), headers=_bearer(world, who))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    return response.data


# --- who gets it ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "manager", "shopper"])
def test_managers_admins_and_the_shopper_themselves_get_the_pdf(client, world, who):
    evaluation = world["evaluation"]
    response = client.get(API.format(id=evaluation.id), headers=_bearer(world, who))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    day = to_local(evaluation.started_at, "Europe/Stockholm").date().isoformat()
    assert response.headers["Content-Disposition"] == f'inline; filename="visit-{evaluation.id}-STO-01-{day}.pdf"'
    assert "private" in response.headers["Cache-Control"] and "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(("who", "status"), [("second", 404), ("staff", 403), ("foreign", 404)])
def test_nobody_else_gets_it(client, world, who, status):
    response = client.get(API.format(id=world["evaluation"].id), headers=_bearer(world, who))
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert b"Stockholm" not in response.data


def test_without_a_valid_token_or_for_an_unknown_id(client, world):
    url = API.format(id=world["evaluation"].id)
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    response = client.get(API.format(id=world["evaluation"].id + 999), headers=_bearer(world, "manager"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def _login(client, email: str) -> None:
    assert client.post("/login", data={"email": email, "password": "correct horse battery"}).status_code == 302


@pytest.mark.parametrize(("email", "status"), [("manager@acme.example", 200), ("admin@acme.example", 200),
                                               ("jane.quimby@acme.example", 200), ("bob@acme.example", 404),
                                               ("staff@acme.example", 403), ("boss@other.example", 404)])
def test_the_browser_link_has_the_same_access(client, world, email, status):
    _login(client, email)
    response = client.get(WEB.format(id=world["evaluation"].id))
    assert response.status_code == status
    if status == 200:
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith('inline; filename="visit-')
    else:
        assert b"Stockholm Central" not in response.data


def test_anonymous_browsers_are_sent_to_log_in(client, world):
    response = client.get(WEB.format(id=world["evaluation"].id))
    assert response.status_code == 302 and "/login" in response.location


def test_the_review_page_and_the_review_list_link_to_the_report(client, world):
    _login(client, "manager@acme.example")
    link = f'href="{WEB.format(id=world["evaluation"].id)}"'
    page = client.get(f"/visits/review/{world['evaluation'].id}").get_data(as_text=True)
    assert link in page and "Visit report (PDF)" in page
    assert link in client.get("/visits/review").get_data(as_text=True)


# --- what it says -----------------------------------------------------------------------------------------------


def test_the_report_shows_the_visit_and_names_the_shopper_by_code_only(app, client, world):
    text = _text(_get_pdf(client, world))
    membership = world["shopper"].membership_in(world["org"].id)
    for expected in ("Stockholm Central", "STO-01", "Café order", "Greeting at the door", "Ordering", "Farewell",
                     "Critical fail", "Counter clean and tidy?", "Miserable", "Neutral", "Magical",
                     "2 min 10 s, target 30 s: 1 min 40 s over", "1 min, target 2 min: 1 min under",
                     "Counter was sticky", "Sticky counter", "Overall fine", "Europe/Stockholm",
                     shopper_code(membership.id), "Photo 1", "Farewell: Photo of the receipt", "Page 1 of"):
        assert expected in text, expected
    # Moments in timeline order.
    assert text.index("1. Greeting at the door") < text.index("2. Ordering") < text.index("3. Farewell")
    for never in ("Quimby", "Jane", "jane.quimby@acme.example"):
        assert never not in text, never


def test_with_the_first_name_setting_the_report_gives_the_first_name_only(client, world):
    world["org"].report_shopper_name = "first_name"
    db.session.commit()
    text = _text(_get_pdf(client, world))
    assert "Jane" in text
    assert "Quimby" not in text and "jane.quimby@acme.example" not in text
    assert shopper_code(world["shopper"].membership_in(world["org"].id).id) not in text


def test_html_in_notes_is_shown_as_text_and_fetches_nothing(client, world):
    url, hits = world["spy"]
    text = _squashed(_text(_get_pdf(client, world)))  # a long URL wraps across lines in the PDF
    assert _squashed(f'Note: <img src="{url}/note.png"> <b>bold</b> & <script>alert(1)</script>') in text
    assert _squashed(f"Overall fine <img src='{url}/notes.png'>") in text
    assert hits == []


def test_the_renderer_refuses_every_url_even_in_raw_html(app, spy_server):
    """Second wall: were markup ever to reach the HTML unescaped, the fetcher still loads nothing."""
    url, hits = spy_server
    html = (f'<link rel="stylesheet" href="{url}/a.css"><style>@import url("{url}/b.css");'
            f'p {{ background: url("file:///etc/hostname") }}</style>'
            f'<p>Hello <img src="{url}/c.png"> <img src="file:///etc/passwd"> <img src="data:image/png;base64,iVBORw0KGgo=">'
            f' <img src="report:photo-9"> <img src="relative.png"></p>')
    result = report_pdf.html_to_pdf(html, {})
    assert result.pdf.startswith(b"%PDF-")
    assert hits == []
    for refused in (f"{url}/a.css", f"{url}/b.css", f"{url}/c.png", "file:///etc/passwd", "file:///etc/hostname",
                    "report:photo-9"):
        assert refused in result.refused
    assert any(u.startswith("data:") for u in result.refused)


def test_after_a_report_a_cut_off_photo_upload_is_still_refused(client, world):
    """WeasyPrint makes Pillow accept truncated images when imported; the report must undo that for uploads."""
    _get_pdf(client, world)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    response = client.post("/api/v1/photos", data={"photo": (io.BytesIO(photo_like_jpeg(5)[:20_000]), "cut.jpg")},
                           headers=_bearer(world, "shopper"), content_type="multipart/form-data")
    assert response.status_code == 422 and "damaged" in response.get_json()["detail"]


def test_a_score_next_to_a_band_edge_reads_as_its_band(client, world):
    """A moment at 49.88 with "miserable under 50" shows 49.9 Miserable, never 50."""
    evaluation = world["evaluation"]
    result = db.session.scalar(select(MomentResult).where(MomentResult.evaluation_id == evaluation.id,
                                                          MomentResult.moment_key == "greeting"))
    result.score = 49.88
    evaluation.score = 49.88
    db.session.commit()
    text = _text(_get_pdf(client, world))
    assert _squashed(text).count("49.9Miserable") == 3  # the overall score, the timeline row, the moment's heading
    assert "OVERALL SCORE 49.9" in text and "1 Greeting at the door Face to face 49.9 Miserable" in text


def test_a_photo_whose_file_is_gone_is_said_missing(app, client, world):
    photo_path(app.config, world["photo"]).unlink()
    text = _text(_get_pdf(client, world))
    assert "Photo 1: the file is missing" in text and "The photo file is missing." in text


def test_every_status_has_words():
    assert set(STATUS_WORDS) == set(STATUSES)


# --- how it looks, and how big it gets --------------------------------------------------------------------------


def _page_one_png(pdf: bytes, tmp_path) -> Image.Image:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm missing: apt-get install poppler-utils (make browser-deps)")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(tmp_path / "page")], check=True, timeout=60)
    with Image.open(tmp_path / "page.png") as image:
        return image.convert("RGB")


def _near(pixel, colour: str, tolerance: int = 40) -> bool:
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True))


def test_page_one_renders_with_ink_band_and_critical_colours(client, world, tmp_path):
    page = _page_one_png(_get_pdf(client, world), tmp_path)
    width, height = page.size
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1  # A4 at 60 dpi
    colours = page.getcolors(maxcolors=width * height)  # [(count, (r, g, b)), ...]

    def count(match) -> int:
        return sum(n for n, pixel in colours if match(pixel))

    inked = count(lambda p: min(p) < 200)
    assert inked / (width * height) > 0.04, f"page 1 is nearly blank: {inked} inked pixels"
    band = "neutral" if world["evaluation"].score < 80 else "magical"
    assert count(lambda p: _near(p, BAND_FILL[band])) > 300  # the overall score box in its band colour
    assert count(lambda p: _near(p, BAND_FILL["miserable"])) > 200  # critical fail in red


def test_a_ten_moment_visit_with_six_photos_stays_under_2_mb(app, client, world, make):
    evaluation = make.visit_with_photos(world["org"], world["shopper"], world["location"], photos=6)
    stored = sum(p.size_bytes for p in db.session.scalars(select(Photo).where(Photo.evaluation_id == evaluation.id)))
    assert stored > 3_000_000  # six phone-sized photos: the report must shrink them
    response = client.get(API.format(id=evaluation.id), headers=_bearer(world, "manager"))
    assert response.status_code == 200
    size = len(response.data)
    assert size < 2 * 1024 * 1024, f"{size:,} bytes"
    reader = PdfReader(io.BytesIO(response.data))
    images = list({image.name: image for page in reader.pages for image in page.images}.values())  # pages share them
    assert len(images) == 6
    assert all(max(image.image.size) <= report_pdf.PRINT_MAX_SIDE for image in images)
    text = _text(response.data)
    assert all(f"{i}. Moment {i} of the trip" in text for i in range(1, 11))
    assert "Moment 4 of the trip: Was step 4 done right?" in text  # its critical fail, in the summary


def test_without_weasyprint_the_report_says_what_to_install_and_the_rest_still_works(client, world, monkeypatch):
    report_pdf.reset_weasyprint()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` now raises ImportError
    try:
        response = client.get(API.format(id=world["evaluation"].id), headers=_bearer(world, "manager"))
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["title"] == "Service Unavailable" and "Pango" in body["detail"] and "WeasyPrint" in body["detail"]
        _login(client, "manager@acme.example")
        page = client.get(WEB.format(id=world["evaluation"].id))
        assert page.status_code == 503 and b"Pango" in page.data
        assert client.get(f"/visits/review/{world['evaluation'].id}").status_code == 200
    finally:
        report_pdf.reset_weasyprint()


def test_a_location_manager_gets_the_report_of_an_approved_visit_to_their_place_with_the_code_only(client, world, make):
    from auditapp.visits.review import approve

    world["org"].report_shopper_name = "first_name"  # the organisation's own setting; the sites still get the code
    site = make.user(world["org"], "location_manager", email="site@acme.example", places=[world["location"]])
    elsewhere = make.location(world["org"], code="GBG-01", name="Gothenburg")
    stranger = make.user(world["org"], "location_manager", email="gbg@acme.example", places=[elsewhere])
    token, stranger_token = make.token(site), make.token(stranger)
    url = API.format(id=world["evaluation"].id)
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 404  # not approved yet
    approve(world["evaluation"], world["users"]["manager"])
    db.session.commit()
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = _text(response.data)
    assert "Stockholm Central" in text and "Jane" not in text and "Quimby" not in text
    assert shopper_code(world["shopper"].membership_in(world["org"].id).id) in text
    assert client.get(url, headers={"Authorization": f"Bearer {stranger_token}"}).status_code == 404
    _login(client, "site@acme.example")
    page = client.get(f"/sites/visits/{world['evaluation'].id}").get_data(as_text=True)
    assert f"/reports/visits/{world['evaluation'].id}.pdf" in page
