"""The interface's language (Flask-Babel). Journeys' own texts are translated separately (journeys/languages.py).

The language is the one a user picked (kept on the user and in the session), else the browser's best match, else
English. It is read from the session only, never from the database, so that error pages render even when the
database is down."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, refresh

UI_LANGUAGES = {"en": "English", "sv": "Svenska"}
DEFAULT_UI_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


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


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=ui_language, default_translation_directories=str(TRANSLATIONS),
                   default_timezone="UTC")
    # Flask-Babel keeps the locale on `g`, which lives as long as the app context: where one context serves many
    # requests (the tests' app fixture), each request picks its own language again.
    app.before_request(refresh)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks join their lines, as the catalogue has them
    app.jinja_env.globals["ui_languages"] = UI_LANGUAGES
    app.jinja_env.globals["ui_language"] = ui_language
