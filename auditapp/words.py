"""gettext for the modules that import no framework (journey specs and workbooks, the locations importer, charts,
mail texts): Flask-Babel is imported when a message is made, not when the module is, so those modules stay usable
and testable without Flask. Outside an app or a request the messages are English."""
from __future__ import annotations


def gettext(text: str, **values) -> str:
    from flask_babel import gettext as babel_gettext

    return babel_gettext(text, **values)


def ngettext(singular: str, plural: str, num: int, **values) -> str:
    from flask_babel import ngettext as babel_ngettext

    return babel_ngettext(singular, plural, num, **values)


_ = gettext
