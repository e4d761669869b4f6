#!/usr/bin/env python3
"""The README's first command, as a new user meets it: `make run` on this checkout, then a manager and a shopper.

1. `make run PORT=<free port>` in its own process group, output in a log file; wait for the first page.
2. Log in (through the real login form, CSRF token and all) with the credentials `make run` printed: a manager opens
   the dashboard and one journey's dashboard; a shopper, in a cookie jar of their own, opens the start page and the
   evaluation form it leads to.
3. Stop the whole process group (make and flask) and check the port is free again.
4. `make run` a second time on the same checkout (the demo is skipped, the data is kept) and check the same pages.

Standard library only, on purpose: CI runs it with the system python3 on a fresh clone, before anything is
installed (there is no .venv yet; `make run` is what creates it). It runs just as well with .venv/bin/python.
Every failing step says what failed, shows the end of the log and exits 1. Exit 2: this is not a clean checkout.

    python3 .ci/smoke_make_run.py [--timeout 360] [--log-dir DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The app's own settings (auditapp/config.py ENV_KEYS): a new user has none of them, and one left in this shell
# (DATABASE_URL above all) would point `make run` at another database.
APP_ENV = ("DATABASE_URL", "SECRET_KEY", "UPLOAD_DIR", "AUDITAPP_ENV", "RATELIMIT_STORAGE_URI", "MAIL_SERVER",
           "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM", "MAIL_STARTTLS", "MAIL_TIMEOUT", "BASE_URL",
           "MAX_CONTENT_LENGTH", "TRUSTED_PROXIES")
APP_ENV_PREFIXES = ("AUDITAPP_", "FLASK_")
# What the demo prints (auditapp/demo.py): a line naming the password, then one `  <role> <email>` line per login.
# Only that shape is relied on, not the wording: roles come and go (regional_manager, location_manager...).
LOGIN_HEADER = re.compile(r"\bpassword\b[:\s]+(?P<password>[^\s)]+)", re.IGNORECASE)
LOGIN_LINE = re.compile(r"^\s+(?P<role>[a-z][a-z_]*)\s+(?P<email>[^\s@]+@[^\s@]+\.[^\s@]+)(\s.*)?$")
MANAGER_ROLES = ("manager", "admin")  # the dashboard is theirs; the first one the demo prints is used
SHOPPER_ROLE = "shopper"
JOURNEY_DASHBOARD = re.compile(r"^/results/journeys/\d+$")
REQUEST_TIMEOUT = 60.0  # one page; the first dashboard on SQLite takes a few seconds
LOG_TAIL = 40


class SmokeFailure(Exception):
    """A step failed: the message says which and what was seen."""


# --- reading pages -------------------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # text and child text, in order

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [n for n in self.walk()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and all(n.attrs.get(k) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None


class TreeBuilder(HTMLParser):
    """A forgiving tree of the page: enough to find forms, fields, links and the text of an element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        for node in self.stack:
            node.texts.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def form_fields(form: Node) -> dict[str, str]:
    """What the browser would send for this form as it stands: inputs with a name, selects at their selected option."""
    fields: dict[str, str] = {}
    for node in form.walk():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input" and node.attrs.get("type", "text") not in ("checkbox", "radio", "submit", "button"):
            fields[name] = node.attrs.get("value", "")
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = next((o for o in options if "selected" in o.attrs), options[0] if options else None)
            fields[name] = chosen.attrs.get("value", chosen.text()) if chosen else ""
    return fields


# --- talking to the server -----------------------------------------------------------------------------------------

@dataclass
class Page:
    status: int
    url: str  # after redirects
    html: str

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

    @property
    def tree(self) -> Node:
        return parse(self.html)

    def title(self) -> str:
        node = self.tree.find("title")
        return node.text() if node else "(no title)"


class Visitor:
    """One person with a browser: a cookie jar of their own, redirects followed like a browser does."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, data: dict[str, str] | None = None) -> Page:
        url = urllib.parse.urljoin(self.base, path)
        if not url.startswith(self.base):  # a link or form action leading off the server under test
            raise SmokeFailure(f"{path} leads away from {self.base}")
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"User-Agent": "auditapp-smoke"})  # noqa: S310 (http, checked above)
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return Page(response.status, response.geturl(), response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Page(error.code, error.geturl(), error.read().decode("utf-8", "replace"))
        except (OSError, urllib.error.URLError) as error:
            raise SmokeFailure(f"{'POST' if data is not None else 'GET'} {url}: no answer ({error})") from None

    def page(self, path: str, what: str) -> Page:
        """GET a page that must answer 200 without sending us back to the login form."""
        page = self.open(path)
        if page.status != 200:
            raise SmokeFailure(f"{what}: GET {path} answered {page.status} ({page.title()}) at {page.url}")
        if page.path == "/login" and not path.startswith("/login"):
            raise SmokeFailure(f"{what}: GET {path} sent us to the login page: the session was not kept")
        return page

    def login(self, email: str, password: str) -> Page:
        form_page = self.page("/login", "login form")
        form = next((f for f in form_page.tree.find_all("form") if f.find("input", name="password")), None)
        if form is None:
            raise SmokeFailure("login form: /login has no form with a password field")
        fields = form_fields(form)
        if not fields.get("csrf_token"):
            raise SmokeFailure("login form: no csrf_token in the form")
        fields.update(email=email, password=password)
        action = form.attrs.get("action") or form_page.url
        page = self.open(action, fields)
        if page.status != 200 or page.path == "/login":
            errors = [n.text() for n in page.tree.walk() if "error" in n.classes() and n.text()]
            raise SmokeFailure(f"login as {email}: answered {page.status} at {page.path}"
                               f"{' with: ' + '; '.join(errors) if errors else ''}")
        return page


# --- the server ----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((HOST, port)) == 0


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV and not k.startswith(APP_ENV_PREFIXES)}
    env["PYTHONUNBUFFERED"] = "1"  # flask's lines reach the log as they happen
    return env


class MakeRun:
    """`make run` in a process group of its own, so stopping it ends make, flask and anything they started."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.base = f"http://{HOST}:{port}/"
        make = shutil.which("make")
        if make is None:
            raise SmokeFailure("make is not installed")
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen([make, "run", f"HOST={HOST}", f"PORT={port}"], cwd=ROOT, env=clean_env(),
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = LOG_TAIL) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_until_serving(self, timeout: float) -> float:
        """Seconds until `/` answered 200 (it is the login page for a visitor); fail if make ends or time runs out."""
        started = time.monotonic()
        deadline = started + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise SmokeFailure(f"make run ended with exit code {code} before serving {self.base}")
            if port_in_use(self.port):
                page = Visitor(self.base).open("/")
                if page.status != 200:
                    raise SmokeFailure(f"the first page {self.base} answered {page.status} ({page.title()})")
                # Someone else could have taken the port between free_port() and flask: it must be ours.
                if f"Running on http://{HOST}:{self.port}" not in self.log():
                    raise SmokeFailure(f"{self.base} answered, but the log of make run does not say flask serves it")
                return time.monotonic() - started
            time.sleep(1)
        raise SmokeFailure(f"{self.base} did not answer within {timeout:.0f} s")

    def stop(self, grace: float = 15.0) -> None:
        """TERM the group, KILL it if it lingers; then the group must be gone and the port free."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and (group_alive(self.process.pid) or port_in_use(self.port)):
            time.sleep(0.2)
        if group_alive(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            raise SmokeFailure(f"after stopping make run, processes of its group {self.process.pid} were still running")
        if port_in_use(self.port):
            raise SmokeFailure(f"after stopping make run, port {self.port} still answers")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the checks ----------------------------------------------------------------------------------------------------

@dataclass
class Logins:
    password: str
    by_role: dict[str, list[str]]  # role -> emails, in the order printed

    def first(self, roles: tuple[str, ...]) -> tuple[str, str]:
        for role in roles:
            if self.by_role.get(role):
                return role, self.by_role[role][0]
        raise SmokeFailure(f"make run printed no login with a role among {', '.join(roles)} "
                           f"(it printed: {', '.join(self.by_role) or 'none'})")


def find_logins(log: str) -> Logins | None:
    """The demo logins in make run's output: a line naming the password, then `  <role> <email>` lines."""
    lines = log.splitlines()
    for number, line in enumerate(lines):
        header = LOGIN_HEADER.search(line)
        if not header:
            continue
        by_role: dict[str, list[str]] = {}
        for following in lines[number + 1:]:
            match = LOGIN_LINE.match(following)
            if not match:
                break
            by_role.setdefault(match["role"], []).append(match["email"])
        if by_role:
            return Logins(header["password"], by_role)
    return None


def printed_logins(log: str) -> Logins:
    logins = find_logins(log)
    if logins is None:
        raise SmokeFailure("make run printed no demo logins: expected a line naming the password, like \"Log in with any "
                           "of these (password ...):\", followed by lines \"  <role> <email>\" (did `flask demo "
                           "--if-empty` run and fill the database?)")
    return logins


def check_dashboard(base: str, email: str, password: str) -> list[str]:
    """A manager's dashboard: every journey listed, and one journey's page with its moments and a score."""
    visitor = Visitor(base)
    visitor.login(email, password)
    index = visitor.page("/results/", "dashboard")
    tree = index.tree
    heading = tree.find("h1")
    if heading is None or heading.text() != "Dashboard":
        raise SmokeFailure(f"dashboard: /results/ is not the dashboard (its heading: {heading.text() if heading else 'none'})")
    links = [(a.attrs["href"], a.text()) for a in tree.find_all("a") if JOURNEY_DASHBOARD.match(a.attrs.get("href", ""))]
    journeys = list(dict.fromkeys(links))
    if not journeys:
        raise SmokeFailure("dashboard: /results/ links to no journey's dashboard (no demo journeys?)")
    href, name = journeys[0]
    page = visitor.page(href, f"dashboard of '{name}'")
    tree = page.tree
    heading = tree.find("h1")
    if heading is None or heading.text() != name:
        raise SmokeFailure(f"dashboard of '{name}': {href} has the heading {heading.text() if heading else 'none'!r}")
    moments = [re.sub(r"^\d+\.\s*", "", m.find("h3").text()) for m in tree.find_all("li", cls="res-moment") if m.find("h3")]
    scores = [s.text() for s in tree.find_all("span", cls="score-pill") if re.fullmatch(r"\d+(\.\d+)?", s.text())]
    if not moments:
        problem = tree.find(cls="error-summary")
        raise SmokeFailure(f"dashboard of '{name}': {href} lists no moments"
                           f"{' (' + problem.text() + ')' if problem else ''}")
    if not scores:
        raise SmokeFailure(f"dashboard of '{name}': {href} shows no score (moments: {', '.join(moments)})")
    print(f"smoke:   dashboard lists {len(journeys)} journeys; '{name}' shows {len(moments)} moments "
          f"({moments[0]}, ...), score {scores[0]}")
    return [n for _, n in journeys]


def check_shopper_form(base: str, email: str, password: str) -> None:
    """A shopper's way in: the start page, then the form for the location and journey it offers."""
    visitor = Visitor(base)
    visitor.login(email, password)
    start = visitor.page("/evaluations/start", "shopper start page")
    form = next((f for f in start.tree.find_all("form") if f.attrs.get("action", "").endswith("/evaluations/new")), None)
    if form is None:
        warning = start.tree.find(cls="warning")
        raise SmokeFailure("shopper start page: no form leading to /evaluations/new"
                           f"{' (' + warning.text() + ')' if warning else ''}")
    fields = form_fields(form)
    for name in ("location", "journey"):
        if not fields.get(name):  # nothing preselected: take the first real choice, as a shopper would
            select = form.find("select", name=name)
            options = [o.attrs.get("value", "") for o in select.find_all("option")] if select else []
            fields[name] = next((v for v in options if v), "")
        if not fields[name]:
            raise SmokeFailure(f"shopper start page: the form offers no {name} to choose")
    query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in ("location", "journey", "source")})
    page = visitor.page(f"{form.attrs['action']}?{query}", "shopper evaluation form")
    tree = page.tree
    evaluation = tree.find("form", id="evaluation")
    if evaluation is None:
        raise SmokeFailure(f"shopper evaluation form: {page.url} has no evaluation form (title: {page.title()})")
    moments = evaluation.find_all("section", cls="moment")
    questions = [n for n in evaluation.walk() if "data-q" in n.attrs]
    if not moments or not questions:
        raise SmokeFailure(f"shopper evaluation form: {page.url} has {len(moments)} moments and {len(questions)} questions")
    if not evaluation.find("input", name="csrf_token"):
        raise SmokeFailure("shopper evaluation form: no csrf_token in the form")
    title = tree.find("h1")
    print(f"smoke:   form '{title.text() if title else '?'}' at {evaluation.attrs.get('data-location-name', '?')}: "
          f"{len(moments)} moments, {len(questions)} questions")


def one_run(label: str, port: int, log_path: Path, timeout: float, logins: Logins | None) -> tuple[Logins, list[str]]:
    """Start make run, check a manager's and a shopper's pages, stop it. Without `logins`, take the printed ones."""
    print(f"smoke: {label}: make run PORT={port} (log: {log_path})", flush=True)
    server = MakeRun(port, log_path)
    problems: list[str] = []
    try:
        seconds = server.wait_until_serving(timeout)
        print(f"smoke:   {server.base} answered after {seconds:.0f} s", flush=True)
        if logins is None:
            logins = printed_logins(server.log())
            print(f"smoke:   logins printed for {', '.join(f'{r} ({len(e)})' for r, e in logins.by_role.items())}")
        elif find_logins(server.log()):
            raise SmokeFailure("make run on a filled database printed demo logins again: the demo ran a second time")
        else:
            print("smoke:   no demo logins printed this time (the demo is skipped): using the first run's")
        manager_role, manager = logins.first(MANAGER_ROLES)
        _, shopper = logins.first((SHOPPER_ROLE,))
        print(f"smoke:   as {manager_role} {manager} and shopper {shopper}", flush=True)
        journeys = check_dashboard(server.base, manager, logins.password)
        check_shopper_form(server.base, shopper, logins.password)
    except SmokeFailure as failure:
        problems.append(str(failure))
    finally:  # whatever happened (Ctrl-C included), the server goes
        try:
            server.stop()
        except SmokeFailure as failure:
            problems.append(str(failure))
    if problems:
        raise SmokeFailure(f"{label}: {'; then: '.join(problems)}\n--- last {LOG_TAIL} lines of {log_path}:\n{server.tail()}")
    print(f"smoke:   stopped: process group gone, port {port} free", flush=True)
    return logins, journeys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=360.0,
                        help="seconds to wait for the first page on the first run, which installs everything (default 360)")
    parser.add_argument("--log-dir", default=None, help="where the logs of make run go (default: a new temporary folder)")
    args = parser.parse_args(argv)

    database = ROOT / "instance" / "auditapp.db"
    if database.exists():
        print(f"smoke: {database} exists already: this check is for a clean checkout, where make run fills the demo "
              "(run it in a fresh clone: d=$(mktemp -d) && git clone . $d/c && cd $d/c && python3 .ci/smoke_make_run.py)",
              file=sys.stderr)
        return 2
    log_dir = Path(args.log_dir).resolve() if args.log_dir else Path(tempfile.mkdtemp(prefix="smoke-make-run-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        port = free_port()
        logins, journeys = one_run("first make run (clean checkout)", port, log_dir / "make-run-1.log", args.timeout, None)
        port = free_port()
        _, again = one_run("second make run (data kept)", port, log_dir / "make-run-2.log", 120.0, logins)
        if again != journeys:
            raise SmokeFailure(f"second make run: the dashboard lists {again}, the first run listed {journeys}")
    except SmokeFailure as failure:
        print(f"smoke: FAIL {failure}", file=sys.stderr)
        return 1
    print(f"smoke: OK in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
