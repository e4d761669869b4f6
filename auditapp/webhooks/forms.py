from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .services import EVENTS, MAX_URL

# services.EVENTS as the form shows them, in the reader's language (the API's document keeps the English).
EVENT_TEXTS = {
    "evaluation.submitted": _l("An evaluation was sent (or sent again after a fix)."),
    "evaluation.approved": _l("A reviewer approved an evaluation."),
    "evaluation.critical_fail": _l("A sent evaluation failed a critical question."),
    "dispute.opened": _l("Someone disputed an answer."),
    "dispute.decided": _l("A dispute was accepted or declined."),
    "action.overdue": _l("A corrective action is past its due date."),
}


def event_choices() -> list[SelectChoice]:
    """Called by each form (a callable choices list), so the texts are in the language of the request."""
    return [SelectChoice(key, f"{key}: {EVENT_TEXTS.get(key, text)}") for key, text in EVENTS.items()]


class WebhookForm(FlaskForm):
    url = StringField(_l("Receiver URL"), validators=[DataRequired(_l("Enter the receiver's URL.")), Length(max=MAX_URL)],
                      description=_l("https://… on a public address. Each event is POSTed there as JSON, signed."))
    events = SelectMultipleField(
        _l("Events"), choices=event_choices,
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one event."))])
