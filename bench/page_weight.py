"""Page weight of the shopper's evaluation form: the bytes a phone downloads to open it, and the requests it makes.

    .venv/bin/python -m bench.page_weight                    # the airline trip of the starter library (10 moments)
    .venv/bin/python -m bench.page_weight --journey dentist-visit --budget-kb 40

Builds a temporary SQLite database (deleted at the end) with one organisation, a shopper, a location and a journey
from the starter library, logs the shopper in with Flask's test client, fetches the form page and then every
stylesheet, script, icon, image and manifest the page references (and the icons the manifest names, which a
phone fetches to install the app). Prints each file's raw and gzip-compressed size (level 6, what nginx and most
proxies send), the totals, the number of requests, the ratio to the budget, and a PASS or FAIL line.
The target: under 40 KB compressed for the whole page.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

PASSWORD = "bench password 1"


class References(HTMLParser):
    """The URLs an HTML page makes the browser fetch: stylesheets, icons, manifest, scripts, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "icon", "manifest", "apple-touch-icon", "preload", "modulepreload"}:
            self.urls.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.urls.append(a["src"])


def build(db_path: Path, slug: str):
    from auditapp import create_app
    from auditapp.auth.services import add_user, get_or_create_org
    from auditapp.extensions import db
    from auditapp.journeys.library import get_library_journey
    from auditapp.journeys.services import create_journey_from_spec
    from auditapp.locations.models import Location

    upload_dir = db_path.parent / "uploads"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_DIR": str(upload_dir)})
    spec = get_library_journey(slug)
    if spec is None:
        raise SystemExit(f"No journey '{slug}' in the starter library.")
    with app.app_context():
        db.create_all()
        org = get_or_create_org("Bench", "bench", "UTC")
        location = Location(org_id=org.id, code="001", name="City Centre", region="North")
        db.session.add(location)
        db.session.flush()
        add_user(org, "shopper@bench.example", "Sam Shopper", PASSWORD, "shopper")
        journey = create_journey_from_spec(org.id, spec, library_slug=slug)
        db.session.commit()
        moments = len(journey.current_version.moments)
        questions = sum(len(m.questions) for m in journey.current_version.moments)
        return app, f"/evaluations/new?location={location.id}&journey={journey.id}", spec.name, moments, questions


def fetch(client, url: str) -> bytes:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with client.get(path) as response:
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}")
        return response.get_data()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journey", default="airline-trip", help="starter library slug (default airline-trip)")
    parser.add_argument("--budget-kb", type=float, default=40.0, help="budget in KB compressed (default 40)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="auditapp-bench-") as tmp:
        app, form_path, name, moments, questions = build(Path(tmp) / "bench.db", args.journey)
        client = app.test_client()
        with app.app_context():
            login = client.post("/login", data={"email": "shopper@bench.example", "password": PASSWORD})
            if login.status_code != 302:
                raise SystemExit("The bench shopper could not log in.")
            rows: list[tuple[str, bytes]] = [(form_path, fetch(client, form_path))]
            parser_ = References()
            parser_.feed(rows[0][1].decode("utf-8"))
            seen = {form_path}
            queue = list(parser_.urls)
            while queue:
                url = queue.pop(0)
                if url in seen or url.startswith(("data:", "http://", "https://")) and not url.startswith("http://localhost"):
                    continue
                seen.add(url)
                body = fetch(client, url)
                rows.append((url, body))
                if url.endswith(".webmanifest"):
                    queue.extend(icon["src"] for icon in json.loads(body).get("icons", []))

    budget = args.budget_kb * 1024
    width = max(len(url) for url, _ in rows)
    print(f"Shopper's form page: '{name}' ({moments} moments, {questions} questions)")
    print(f"{'resource':<{width}}  {'raw B':>9}  {'gzip B':>9}")
    total_raw = total_gz = 0
    for url, body in rows:
        compressed = len(gzip.compress(body, compresslevel=6, mtime=0))
        total_raw += len(body)
        total_gz += compressed
        print(f"{url:<{width}}  {len(body):>9,}  {compressed:>9,}")
    print(f"{'total':<{width}}  {total_raw:>9,}  {total_gz:>9,}")
    print(f"requests: {len(rows)}")
    print(f"compressed: {total_gz / 1024:.1f} KB of a {args.budget_kb:g} KB budget (ratio {total_gz / budget:.2f})")
    ok = total_gz <= budget
    print(("PASS" if ok else "FAIL") + f": the form page and everything it loads weigh {total_gz / 1024:.1f} KB compressed"
          f" ({'under' if ok else 'over'} {args.budget_kb:g} KB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
