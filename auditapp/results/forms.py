"""Forms of the results pages: the dashboard's GET filter form and the improvement action form."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..formutil import choices
from .models import ACTION_STATUSES
from .queries import DEFAULT_SOURCE, DEFAULT_STATUS, PERIOD_PRESETS, SOURCE_LABELS, STATUS_LABELS, FilterError

ACTION_STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "done": "Done", "dropped": "Dropped"}
GRAIN_LABELS = {"": "Automatic", "week": "Weeks", "month": "Months"}
# Argument name in the URL -> form field, for putting FilterError messages next to the right field.
FILTER_FIELDS = {"from": "date_from", "to": "date_to", "period": "period", "location_id": "location_id",
                 "region": "region", "source": "source", "status": "status", "grain": "grain"}


class FilterForm(FlaskForm):
    """A GET form: no CSRF token (it changes nothing), field names equal to the API's query arguments."""

    class Meta:
        csrf = False

    period = SelectField("Period", choices=choices(PERIOD_PRESETS), default="90d")
    date_from = DateField("From", name="from", validators=[Optional()],
                          description="Custom dates: inclusive, in the organisation's time zone.")
    date_to = DateField("To", name="to", validators=[Optional()])
    location_id = SelectField("Location", default="")
    region = SelectField("Region", default="")
    source = SelectField("Who evaluated", choices=choices(SOURCE_LABELS), default=DEFAULT_SOURCE,
                         description="Scores are secret shoppers' unless you choose otherwise; staff self-assessments "
                                     "are compared with them under Shoppers vs staff.")
    status = SelectField("Which evaluations", choices=choices(STATUS_LABELS), default=DEFAULT_STATUS,
                         description="Rejected evaluations never count.")
    grain = SelectField("Trend by", choices=choices(GRAIN_LABELS), default="")

    def set_places(self, locations, regions, *, scoped: bool = False) -> None:
        every = "All your locations" if scoped else "All locations"
        self.location_id.choices = choices([("", every)] + [(loc.id, f"{loc.name} ({loc.code})")
                                                           for loc in locations])
        self.region.choices = choices([("", "All your regions" if scoped else "All regions")] + [(r, r) for r in regions])

    def show_errors(self, error: FilterError) -> None:
        for item in error.errors:
            name = FILTER_FIELDS.get(item["field"])
            if name:
                field = getattr(self, name)
                field.errors = [*(field.errors or []), _sentence(item["message"])]


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


class ActionForm(FlaskForm):
    moment_key = SelectField("Moment", validators=[DataRequired(message="Choose the moment this action improves.")])
    idea = TextAreaField("Idea", validators=[DataRequired(message="Describe the improvement."), Length(max=2000)],
                         description="What will change, from the customer's point of view?")
    owner = StringField("Owner", validators=[Optional(), Length(max=200)],
                        description="Who makes it happen (a name or a team).")
    location_id = SelectField("Location", default="", description="Choose All locations when it applies everywhere.")
    started_on = DateField("Started on", validators=[DataRequired(message="Give the date the action starts, YYYY-MM-DD.")],
                           description="Marked on the trend charts, so the effect shows.")
    due_date = DateField("Due date", validators=[Optional()])
    status = SelectField("Status", choices=choices(ACTION_STATUS_LABELS), default="open")

    def set_choices(self, moments, locations) -> None:
        self.moment_key.choices = choices([(m.key, m.name + (" (retired)" if m.retired else "")) for m in moments])
        self.location_id.choices = choices([("", "All locations")] + [(loc.id, f"{loc.name} ({loc.code})")
                                                                     for loc in locations])

    def validate_status(self, field) -> None:
        if field.data not in ACTION_STATUSES:
            raise ValidationError("Choose a status from the list.")

    def validate_due_date(self, field) -> None:
        started = self.started_on.data
        if field.data and isinstance(started, date) and field.data < started:
            raise ValidationError("The due date must be on or after the start date.")
