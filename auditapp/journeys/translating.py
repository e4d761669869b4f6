"""The builder's translations: a journey's languages and the translated texts of its working version.

Edits go where every builder edit goes (versioning.editable_version): the draft, or the current version while it
has no evaluations, else a new draft. Translations never touch keys, types or scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..audit import record
from ..extensions import db
from . import versioning
from .languages import (
    MOMENT_TEXTS,
    LanguageError,
    check_text,
    clean_translations,
    coverage,
    default_option_labels,
    format_language,
    normalise_code,
    translated,
    version_languages,
)
from .models import Journey, JourneyVersion


class TranslationError(LanguageError):
    """A problem with one field of the translations page; `field` is the input's name."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# ------------------------------------------------------------------------------------------- the page's fields


def moment_field(moment_key: str, text: str) -> str:
    return f"m-{moment_key}-{text}"


def question_field(moment_key: str, question_key: str, text: str) -> str:
    return f"q-{moment_key}-{question_key}-{text}"


def option_field(moment_key: str, question_key: str, index: int) -> str:
    return f"q-{moment_key}-{question_key}-opt-{index}"


@dataclass(slots=True)
class TextRow:
    """One translatable text: the default as the shopper would otherwise read it, and its translation."""

    name: str  # the input's name
    kind: str  # what the text is: name, description (of a moment), text, help (of a question) or option
    default: str
    value: str = ""
    multiline: bool = False
    error: str = ""
    number: int = 0  # an option's place, from 1

    @property
    def falls_back(self) -> bool:
        return not self.value.strip()


@dataclass(slots=True)
class MomentRows:
    key: str
    name: str
    rows: list[TextRow] = field(default_factory=list)


def text_rows(version: JourneyVersion, language: str, posted: dict[str, str] | None = None,
              errors: dict[str, str] | None = None) -> list[MomentRows]:
    """What the translations page lists for one language: every non-empty default text of the version, with its
    translation (or what was posted, so a refused save keeps everything typed)."""
    errors = errors or {}

    def value(name: str, stored: str | None) -> str:
        return posted[name] if posted is not None and name in posted else (stored or "")

    result = []
    for moment in version.moments:
        group = MomentRows(key=moment.key, name=moment.name)
        for text in MOMENT_TEXTS:
            if getattr(moment, text):
                name = moment_field(moment.key, text)
                group.rows.append(TextRow(name, text, getattr(moment, text), value(name, translated(moment, text, language)),
                                          multiline=text == "description", error=errors.get(name, "")))
        for question in moment.questions:
            for text in ("text", "help"):
                if getattr(question, text):
                    name = question_field(moment.key, question.key, text)
                    group.rows.append(TextRow(name, text, getattr(question, text),
                                              value(name, translated(question, text, language)),
                                              multiline=text == "help", error=errors.get(name, "")))
            stored = translated(question, "options", language) or []
            for index, default in enumerate(default_option_labels(question)):
                name = option_field(moment.key, question.key, index)
                group.rows.append(TextRow(name, "option", default,
                                          value(name, stored[index] if index < len(stored) else ""),
                                          error=errors.get(name, ""), number=index + 1))
        result.append(group)
    return result


# ------------------------------------------------------------------------------------------------- languages


def other_languages(version: JourneyVersion) -> list[tuple[str, str]]:
    return version_languages(version)[1:]


def language_summaries(version: JourneyVersion) -> list[tuple[str, str, int, int]]:
    """(code, name, translated, translatable) for each language the version is translated into."""
    return [(code, name, *coverage(version.moments, code)) for code, name in other_languages(version)]


def _checked_name(name: str, field_name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise TranslationError(field_name, _("Give the language's name as its speakers write it, like Svenska"))
    if len(name) > 64:
        raise TranslationError(field_name, _("The name is too long (%(length)s characters; at most %(limit)s).",
                                                   length=len(name), limit=64))
    return name


def add_language(journey: Journey, code_text: str, name: str, *, user_id: int | None = None) -> JourneyVersion:
    try:
        code = normalise_code(code_text)
    except LanguageError as error:
        raise TranslationError("code", str(error)[:1].upper() + str(error)[1:]) from None
    name = _checked_name(name, "name")
    version = versioning.editable_version(journey, user_id=user_id)
    taken = dict(version_languages(version))
    if code in taken:
        raise TranslationError("code", _("The journey already has %(language)s",
                                            language=format_language(code, taken[code])))
    version.languages = [*(version.languages or []), {"code": code, "name": name}]
    db.session.flush()
    record("journey.language_add", journey, summary=f"Language {format_language(code, name)} added to "
                                                    f"'{journey.name}' version {version.number}",
           detail={"version": version.number, "language": code})
    return version


def remove_language(journey: Journey, code: str, *, user_id: int | None = None) -> JourneyVersion:
    """The language and every translation into it go; the default texts stay."""
    version = versioning.editable_version(journey, user_id=user_id)
    if code not in dict(other_languages(version)):
        raise TranslationError("code", _("The journey has no such language"))
    version.languages = [item for item in version.languages or [] if item.get("code") != code]
    for moment in version.moments:
        moment.translations = {c: t for c, t in (moment.translations or {}).items() if c != code}
        for question in moment.questions:
            question.translations = {c: t for c, t in (question.translations or {}).items() if c != code}
    db.session.flush()
    record("journey.language_remove", journey, summary=f"Language {code} removed from '{journey.name}' version "
                                                       f"{version.number}", detail={"version": version.number, "language": code})
    return version


def rename_default_language(journey: Journey, code_text: str, name: str, *, user_id: int | None = None) -> JourneyVersion:
    """Say which language the texts themselves are written in (English unless told otherwise)."""
    try:
        code = normalise_code(code_text)
    except LanguageError as error:
        raise TranslationError("default_code", str(error)[:1].upper() + str(error)[1:]) from None
    name = _checked_name(name, "default_name")
    version = versioning.editable_version(journey, user_id=user_id)
    if code in dict(other_languages(version)):
        raise TranslationError("default_code", _("%(code)s is one of the translations; remove it first, or pick another code",
                                                      code=code))
    version.default_language, version.default_language_name = code, name
    db.session.flush()
    record("journey.language_default", journey, summary=f"The texts of '{journey.name}' version {version.number} "
                                                        f"are in {format_language(code, name)}",
           detail={"version": version.number, "language": code})
    return version


# ---------------------------------------------------------------------------------------------- translations


def save_translations(journey: Journey, code: str, posted: dict[str, str], *, user_id: int | None = None) -> int:
    """Store the page's texts for one language; returns how many texts changed. Raises TranslationErrors (a
    dict of field -> message, via TranslationProblems) before changing anything."""
    version = versioning.editable_version(journey, user_id=user_id)
    if code not in dict(other_languages(version)):
        raise TranslationError("lang", _("The journey has no such language"))
    problems = {}
    for name, text in posted.items():
        base = "name" if name.startswith("m-") and name.endswith("-name") else ""
        try:
            check_text(base, (text or "").strip())
        except LanguageError as error:
            problems[name] = str(error)[:1].upper() + str(error)[1:]
    if problems:
        raise TranslationProblems(problems)
    changed = 0
    for moment in version.moments:
        texts = {text: posted.get(moment_field(moment.key, text), "") for text in MOMENT_TEXTS}
        changed += _store(moment, code, texts, MOMENT_TEXTS)
        for question in moment.questions:
            texts = {text: posted.get(question_field(moment.key, question.key, text), "") for text in ("text", "help")}
            labels = default_option_labels(question)
            texts["options"] = [posted.get(option_field(moment.key, question.key, i), "") for i in range(len(labels))]
            changed += _store(question, code, texts, ("text", "help", "options"))
    if changed:
        db.session.flush()
        record("journey.translate", journey, summary=f"{changed} text(s) of '{journey.name}' version {version.number} "
                                                     f"translated into {code}",
               detail={"version": version.number, "language": code, "changed": changed})
    return changed


class TranslationProblems(LanguageError):
    def __init__(self, problems: dict[str, str]):
        super().__init__(f"{len(problems)} problem(s) in the translations")
        self.problems = problems


def _store(item, code: str, texts: dict, fields: tuple[str, ...]) -> int:
    """Replace one item's translation into `code`; returns how many of its texts changed."""
    current = (item.translations or {}).get(code) or {}
    new = clean_translations({code: texts}, fields).get(code, {})
    if new == current:
        return 0
    changed = sum(current.get(f) != new.get(f) for f in fields)
    others = {c: t for c, t in (item.translations or {}).items() if c != code}
    item.translations = {**others, code: new} if new else others  # a new dict: JSON columns change by assignment
    return changed
