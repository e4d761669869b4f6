from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .services import EVENTS, MAX_URL


class WebhookForm(FlaskForm):
    url = StringField("Receiver URL", validators=[DataRequired("Enter the receiver's URL."), Length(max=MAX_URL)],
                      description="https://… on a public address. Each event is POSTed there as JSON, signed.")
    events = SelectMultipleField(
        "Events", choices=[SelectChoice(key, f"{key}: {text}") for key, text in EVENTS.items()],
        widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput(),
        validators=[DataRequired("Choose at least one event.")])
