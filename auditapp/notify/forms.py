from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from .kinds import Kind


def settings_form(kinds: list[Kind], turned_off: set[str]) -> type[FlaskForm]:
    """One checkbox per kind (ticked: send me these mails), named after the kind."""

    class NotificationSettingsForm(FlaskForm):
        pass

    for kind in kinds:
        setattr(NotificationSettingsForm, kind.key,
                BooleanField(kind.label, default=kind.key not in turned_off, description=kind.description))
    return NotificationSettingsForm
