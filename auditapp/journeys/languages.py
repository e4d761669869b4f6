"""Journeys in several languages: the texts a shopper reads (moment names and descriptions, question texts, help,
choice labels) translated per language, with the journey's own language as the fallback.

Only texts are translated. Keys, types, scores and the value a choice answer stores (its label in the default
language) never change, so scores, aggregates and exports are the same whatever language a form was shown in.
Nothing here imports Flask or SQLAlchemy: models and specs both have `.translations` and the default texts (error
messages go through Flask-Babel's gettext, which gives the English text outside a request).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from ..words import gettext as _

# Language codes as in XLSForm's `label::English (en)`: a BCP 47 tag such as sv, pt-BR, zh-Hant.
CODE_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
LANGUAGE_RE = re.compile(r"^\s*(?P<name>[^()]*?)\s*\(\s*(?P<code>[^()]*?)\s*\)\s*$")
MOMENT_TEXTS = ("name", "description")
QUESTION_TEXTS = ("text", "help", "options")
TEXT_LIMITS = {"name": 200}  # the database column of a moment's name; the other texts are unbounded
MAX_LANGUAGE_NAME = 64
DEFAULT_LANGUAGE = ("en", "English")


class LanguageError(ValueError):
    """A language or a translation that cannot be kept; the message says what is wrong and how to write it."""


def normalise_code(raw: str) -> str:
    """'SV' -> 'sv', 'pt_BR' -> 'pt-br'; raises LanguageError for anything that is not a language tag."""
    code = (raw or "").strip().replace("_", "-").lower()
    if not CODE_RE.match(code):
        raise LanguageError(_("'%(code)s' is not a language code; use a code like sv, en, de or pt-br", code=raw))
    return code


def parse_language(text: str) -> tuple[str, str]:
    """'Svenska (sv)' -> ('sv', 'Svenska'); a bare code 'sv' -> ('sv', 'sv')."""
    match = LANGUAGE_RE.match(text or "")
    if match:
        code, name = normalise_code(match.group("code")), match.group("name").strip()
    else:
        code = normalise_code(text)
        name = ""
    name = name or code
    if len(name) > MAX_LANGUAGE_NAME:
        raise LanguageError(_("the language name is too long (%(length)s characters; at most %(limit)s)",
                               length=len(name), limit=MAX_LANGUAGE_NAME))
    return code, name


def format_language(code: str, name: str) -> str:
    return f"{name} ({code})"


def check_languages(default: tuple[str, str], others: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The other languages, each once and never the default one; raises LanguageError."""
    seen = {default[0]}
    result = []
    for code, name in others:
        if code in seen:
            raise LanguageError(_("%(language)s is listed twice (or is the journey's own language)",
                                   language=format_language(code, name)))
        seen.add(code)
        result.append((code, name))
    return result


def translated(item, field: str, language: str | None):
    """The translation of one text, or None when it has none in that language."""
    if not language:
        return None
    value = ((getattr(item, "translations", None) or {}).get(language) or {}).get(field)
    if field == "options":
        return value if isinstance(value, list) else None
    return value if isinstance(value, str) and value.strip() else None


def shown_text(item, field: str, language: str | None) -> str:
    """What a reader of `language` sees: the translation, else the default text."""
    return translated(item, field, language) or (getattr(item, field, "") or "")


def default_option_labels(question) -> list[str]:
    specs = getattr(question, "option_specs", None)
    if specs is None:
        specs = question.options or ()
    return [getattr(option, "label", option[0] if isinstance(option, (list, tuple)) else option) for option in specs]


def shown_option_labels(question, language: str | None) -> list[str]:
    """The choice labels in `language`, one per option in order; an untranslated one stays in the default."""
    defaults = default_option_labels(question)
    labels = translated(question, "options", language) or []
    return [label.strip() if index < len(labels) and isinstance(label := labels[index], str) and label.strip()
            else default for index, default in enumerate(defaults)]


def version_languages(version) -> list[tuple[str, str]]:
    """[(code, name)] of a journey version: its own language first, then the ones it is translated into."""
    own = (version.default_language or DEFAULT_LANGUAGE[0], version.default_language_name or DEFAULT_LANGUAGE[1])
    return [own] + [(item["code"], item["name"]) for item in version.languages or () if item.get("code") != own[0]]


def pick_language(requested: str | None, accepted, available: Iterable[str], default: str) -> str:
    """The language a form is shown in: the one asked for (when the journey has it), else the browser's most
    preferred language the journey has, else the journey's own. `accepted` is werkzeug's LanguageAccept (or any
    [(tag, quality)], best first); sv-SE matches sv and sv matches sv-fi, so a regional browser finds its language."""
    codes = list(available)
    if requested and requested.strip().lower() in codes:
        return requested.strip().lower()
    for tag, quality in accepted or ():
        if quality <= 0:
            continue
        wanted = tag.strip().replace("_", "-").lower()
        primary = wanted.split("-")[0]
        match = next((code for code in codes if code == wanted), None) or next(
            (code for code in codes if code == primary), None) or next(
            (code for code in codes if code.split("-")[0] == primary), None)
        if match:
            return match
    return default


def clean_translations(values: dict[str, dict[str, object]], fields: tuple[str, ...]) -> dict[str, dict]:
    """Drop empty texts and languages left with nothing, so 'not translated' has one form: absent."""
    result: dict[str, dict] = {}
    for code, texts in (values or {}).items():
        kept = {}
        for field in fields:
            value = (texts or {}).get(field)
            if field == "options":
                if isinstance(value, list) and any(isinstance(label, str) and label.strip() for label in value):
                    kept[field] = [label.strip() if isinstance(label, str) else "" for label in value]
            elif isinstance(value, str) and value.strip():
                kept[field] = value.strip()
        if kept:
            result[code] = kept
    return result


def check_text(field: str, value: str) -> None:
    limit = TEXT_LIMITS.get(field)
    if limit and len(value) > limit:
        raise LanguageError(_("%(field)s is too long (%(length)s characters; at most %(limit)s)", field=field,
                               length=len(value), limit=limit))


def coverage(moments: Iterable, language: str) -> tuple[int, int]:
    """(translated, translatable) texts of a version in one language: how far a translation has got."""
    done = total = 0
    for moment in moments:
        for field in MOMENT_TEXTS:
            if getattr(moment, field, ""):
                total += 1
                done += translated(moment, field, language) is not None
        for question in moment.questions:
            for field in ("text", "help"):
                if getattr(question, field, ""):
                    total += 1
                    done += translated(question, field, language) is not None
            labels = translated(question, "options", language) or []
            for index, _label in enumerate(default_option_labels(question)):
                total += 1
                done += index < len(labels) and bool((labels[index] or "").strip())
    return done, total
