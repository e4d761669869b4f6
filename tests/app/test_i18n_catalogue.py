"""The interface is translatable (Flask-Babel) and Swedish is complete: no text in a template or a user-facing
Python string is left outside the catalogue, every message has a Swedish translation, and the compiled catalogue
is the one the .po file describes. `make translations` extracts, updates and compiles."""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PACKAGE = ROOT / "auditapp"
SWEDISH_PO = PACKAGE / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
SWEDISH_MO = SWEDISH_PO.with_suffix(".mo")

# Words that are the same in every language: names of the product, of formats and of standards.
SAME_IN_EVERY_LANGUAGE = {"auditapp", "csv", "pdf", "qr", "api", "json", "url", "xlsx", "xlsform", "openapi", "excel",
                          "smtp", "odk", "kobotoolbox", "hmac", "sha256", "id", "utc", "enketo", "http", "https",
                          "english", "svenska", "ok"}
WORD = re.compile(r"[^\W\d_]{2,}")
JINJA = re.compile(r"\{#.*?#\}|\{%-?\s*trans\b.*?endtrans\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}", re.S)
TEXT_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}


def _needs_translation(text: str) -> bool:
    return any(word.lower() not in SAME_IN_EVERY_LANGUAGE for word in WORD.findall(text))


class _LiteralText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            # An <input>'s value is its visible label; a <button>'s value is only posted (its label is its content).
            shown = name in TEXT_ATTRIBUTES or (name == "value" and tag == "input"
                                                and attributes.get("type") in ("submit", "button"))
            if shown and value and _needs_translation(value):
                self.found.append(f'{tag} {name}="{value.strip()}"')

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and _needs_translation(data):
            self.found.append(" ".join(data.split()))


def untranslated_template_text(source: str) -> list[str]:
    parser = _LiteralText()
    parser.feed(JINJA.sub(" ", source))
    parser.close()
    return parser.found


# Exports are the same whatever the interface language (issue 16), so their templates stay English.
EXPORT_TEMPLATES = {
    "reports/visit.html",  # the PDF visit report
}


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")
                                            if p.relative_to(TEMPLATES).as_posix() not in EXPORT_TEMPLATES))
def test_no_template_text_is_left_out_of_the_catalogue(template):
    assert untranslated_template_text((TEMPLATES / template).read_text()) == []


def test_the_template_check_finds_literal_text():
    found = untranslated_template_text('<p>Hello {{ name }}</p><p>{{ _("Saved") }}</p><input type="submit" value="Send">'
                                       '<p>{% trans %}Kept{% endtrans %} · CSV</p><img alt="A chart">')
    assert found == ["Hello", 'input value="Send"', 'img alt="A chart"']


# Calls whose string arguments reach the user: flash messages, form labels and their validators' messages.
USER_FACING_CALLS = {"flash"}
FIELD = re.compile(r"(Field|Area|Box)$")
MESSAGE_KEYWORDS = {"label", "message", "description", "render_kw"}


def _literal(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str) and _needs_translation(node.value)) or (
        isinstance(node, ast.JoinedStr))


def untranslated_python_strings(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        arguments = []
        if name in USER_FACING_CALLS or FIELD.search(name):
            arguments = node.args[:1]
        arguments += [keyword.value for keyword in node.keywords if keyword.arg in ("label", "message")]
        if name == "append" and isinstance(node.func, ast.Attribute) and getattr(node.func.value, "attr", "") == "errors":
            arguments = node.args[:1]
        found += [argument for argument in arguments if _literal(argument)]
    return [f"line {node.lineno}: {ast.unparse(node)[:80]}" for node in sorted(found, key=lambda n: (n.lineno, n.col_offset))]


@pytest.mark.parametrize("module", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                                          if p.name in ("views.py", "forms.py") or p.parent.name == "auth"))
def test_no_user_facing_python_string_is_left_out_of_the_catalogue(module):
    assert untranslated_python_strings((PACKAGE / module).read_text()) == []


def test_the_python_check_finds_literal_strings():
    source = 'flash("Saved.")\nflash(_("Saved."))\nname = StringField("Name", validators=[Length(max=3, message="Too long")])\n'
    source += 'form.email.errors.append(f"Taken: {x}")\nlabel = BooleanField(_l("Remember me"))\n'
    assert untranslated_python_strings(source) == ["line 1: 'Saved.'", "line 3: 'Name'", "line 3: 'Too long'",
                                                   "line 4: f'Taken: {x}'"]


def _extracted_messages() -> set[str]:
    mapping = [("auditapp/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None}
    messages = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), mapping, options_map=options,
                                                                              keywords=keywords):
        messages.add(message[0] if isinstance(message, tuple) else message)
    return {message for message in messages if message}


def test_every_message_has_a_swedish_translation():
    with SWEDISH_PO.open("rb") as file:
        catalogue = read_po(file)
    missing = sorted(message for message in _extracted_messages()
                     if not (catalogue.get(message) and catalogue[message].string and not catalogue[message].fuzzy))
    assert missing == [], f"{len(missing)} messages have no Swedish translation (run `make translations`, then translate)"


def _entries(messages) -> dict:
    """(context, id) -> translation; plural ids and translations as tuples (read_mo gives lists, read_po tuples)."""
    shown = lambda value: tuple(value) if isinstance(value, (list, tuple)) else value  # noqa: E731
    return {(message.context, shown(message.id)): shown(message.string) for message in messages if message.id}


def test_the_compiled_catalogue_is_up_to_date():
    with SWEDISH_PO.open("rb") as file:
        source = _entries(message for message in read_po(file) if not message.fuzzy)
    with SWEDISH_MO.open("rb") as file:
        compiled = _entries(read_mo(file))
    translated = {key: value for key, value in source.items() if value and (not isinstance(value, tuple) or all(value))}
    assert compiled == translated, "run `make translations`"


DYNAMIC_GETTEXT = re.compile(r"(?<![A-Za-z0-9_])(?:_|gettext)\((?![\"'])")


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_translate_values_with_the_escaping_filter(template):
    """`_(value)` in a template returns markup (Jinja trusts the catalogue), so a value holding a user's text would be
    shown unescaped: values go through `|tr`, which escapes."""
    source = (TEMPLATES / template).read_text()
    assert [m.group(0) for m in DYNAMIC_GETTEXT.finditer(source)] == []
