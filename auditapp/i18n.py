"""The interface's language (Flask-Babel). Journeys' own texts are translated separately (journeys/languages.py).

The language is the one a user picked (kept on the user and in the session), else the browser's best match, else
English. It is read from the session only, never from the database, so that error pages render even when the
database is down."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, gettext
from flask_babel.speaklater import LazyString
from markupsafe import escape

UI_LANGUAGES = {"en": "English", "sv": "Svenska"}
DEFAULT_UI_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()

# Flask-Babel's lazy strings tell Jinja they are markup already (__html__ returns the text as is), so a label with
# '<' or '&', or one formatted with a user's text, would reach the page unescaped. Escape them like any other text.
LazyString.__html__ = lambda self: escape(str(self))


def N_(message: str) -> str:
    """Marks English text for the catalogue and returns it untranslated: labels that exports, the API or the audit
    log keep in English, which pages translate where they show them (`_(label)` in a template)."""
    return message


def ui_language() -> str:
    if not has_request_context():
        return DEFAULT_UI_LANGUAGE
    chosen = session.get("language")
    if chosen in UI_LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(UI_LANGUAGES), default=DEFAULT_UI_LANGUAGE)


def remember_language(language: str | None) -> None:
    """Keep a user's choice in the session (None: follow the browser again)."""
    if language in UI_LANGUAGES:
        session["language"] = language
    else:
        session.pop("language", None)


def translated_value(value) -> str:
    """The `tr` filter: a value's translation (a band, a status, a label key) escaped like any other text. Jinja's
    `_()` marks what it returns as safe HTML, fine for the template's own literal texts but not for a value, which
    may hold a user's text (a name, a location)."""
    return escape(gettext(str(value))) if value is not None else ""


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=ui_language, default_translation_directories=str(TRANSLATIONS),
                   default_timezone="UTC")
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks join their lines, as the catalogue has them
    app.jinja_env.filters["tr"] = translated_value
    app.jinja_env.globals["ui_languages"] = UI_LANGUAGES
    app.jinja_env.globals["ui_language"] = ui_language
