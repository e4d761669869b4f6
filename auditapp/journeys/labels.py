"""The words pages show for channels, moment kinds and answer types, in the reader's language (lazy strings).

spec.CHANNELS, KINDS and QUESTION_TYPES stay English: they are the words of workbooks, exports, the PDF and the API,
which read the same whatever the language. These dicts have the same keys (a test keeps them equal)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHANNEL_LABELS = {
    "face_to_face": _l("Face to face"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "post": _l("Post"),
    "website": _l("Website"),
    "webinar": _l("Webinar"),
    "chat": _l("Chat"),
    "app": _l("App"),
    "social": _l("Social"),
}
KIND_LABELS = {"basic": _l("Basic"), "decisive": _l("Decisive"), "invisible": _l("Invisible")}
QUESTION_TYPE_LABELS = {
    "yes_no": _l("Yes / no"),
    "mnm": _l("Miserable / neutral / magical"),
    "rating": _l("Rating 1 to 5"),
    "number": _l("Number"),
    "choice": _l("Choice"),
    "text": _l("Text"),
    "photo": _l("Photo"),
}
# The verdict faces, and the score bands named after them.
VERDICT_LABELS = {"miserable": _l("Miserable"), "neutral": _l("Neutral"), "magical": _l("Magical")}


def channel_label(channel: str | None) -> str:
    return str(CHANNEL_LABELS.get(channel or "", channel or ""))


def kind_label(kind: str | None) -> str:
    return str(KIND_LABELS.get(kind or "", ""))


def question_type_label(qtype: str) -> str:
    return str(QUESTION_TYPE_LABELS.get(qtype, qtype))
