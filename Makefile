# make run: venv, install, migrate, demo data on first run, a background worker (flask worker: exports, scheduled
# scorecards, webhooks, mail; its queue is a SQLite file in instance/ unless TASK_QUEUE_URL says otherwise) and the
# server on http://127.0.0.1:5000. Ctrl-C (or ending the process group) stops both; the worker stops with the server.
# make test: install and run the whole test suite (browser tests skip when Chromium is missing)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# The suite runs on every core (pytest-xdist); each worker has databases of its own.
TEST_WORKERS ?= auto

.PHONY: run test install lint browser-deps clean translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,postgres,redis]"
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/flask --app auditapp db upgrade
	$(BIN)/flask --app auditapp demo --if-empty
	@$(BIN)/flask --app auditapp worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app auditapp run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(TEST_WORKERS)

# Debian's Chromium for the browser tests, LibreOffice to open the scorecards, axe-core for accessibility checks;
# Pango and fonts for WeasyPrint (PDF visit reports, also needed in production) and poppler-utils (pdftoppm,
# pdftotext) to look at the PDFs in the tests.
browser-deps:
	dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
	command -v pdftoppm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	command -v soffice >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc)
	test -f node_modules/axe-core/axe.min.js || npm install --no-audit --no-fund --silent

# Extract the interface's messages, merge them into each language's catalogue, compile (the .mo files are committed).
translations: | $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output -o auditapp/translations/messages.pot .
	$(BIN)/pybabel -q update -i auditapp/translations/messages.pot -d auditapp/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel -q compile -d auditapp/translations

clean:
	rm -rf $(VENV) *.egg-info
