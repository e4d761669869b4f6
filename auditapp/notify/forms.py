from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from .kinds import SHOWN_TEXTS, Kind


def settings_form(kinds: list[Kind], turned_off: set[str]) -> type[FlaskForm]:
    """One checkbox per kind (ticked: send me these mails), named after the kind."""

    class NotificationSettingsForm(FlaskForm):
        pass

    for kind in kinds:
        label, description = SHOWN_TEXTS.get(kind.key, (kind.label, kind.description))
        setattr(NotificationSettingsForm, kind.key,
                BooleanField(label, default=kind.key not in turned_off, description=description))
    return NotificationSettingsForm
