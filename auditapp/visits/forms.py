"""Forms of the visits package: scheduling visits, and the reviewer's decisions."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from .services import MAX_INSTRUCTIONS

MONTH_FORMAT = "%Y-%m"


class AssignmentForm(FlaskForm):
    location_id = SelectField(_l("Location"), validators=[InputRequired(_l("Pick a location."))])
    journey_id = SelectField(_l("Journey"), validators=[InputRequired(_l("Pick a journey."))])
    shopper_id = SelectField(_l("Secret shopper"), validators=[InputRequired(_l("Pick a secret shopper."))])
    window_start = DateField(_l("First day of the visit window"), validators=[InputRequired(_l("Enter a date."))])
    window_end = DateField(_l("Last day of the visit window"), validators=[InputRequired(_l("Enter a date."))])
    instructions = TextAreaField(_l("Instructions for the shopper"), validators=[Optional(), Length(max=MAX_INSTRUCTIONS)],
                                 description=_l("E.g. 'Ask about a cleaning appointment; pay by card.'"))

    def validate_window_end(self, field):
        if self.window_start.data and field.data and field.data < self.window_start.data:
            raise ValidationError(_("The last day must be on or after the first day."))


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class BulkPlanForm(FlaskForm):
    journey_id = SelectField(_l("Journey"), validators=[InputRequired(_l("Pick a journey."))])
    month = StringField(_l("Month"), validators=[DataRequired(_l("Enter the month, e.g. 2025-03."))],
                        render_kw={"type": "month", "placeholder": "2025-03"},
                        description=_l("Every active location gets one visit in this month."))
    shopper_ids = CheckboxListField(_l("Shoppers to spread the visits over"),
                                    validators=[DataRequired(_l("Pick at least one secret shopper."))])
    instructions = TextAreaField(_l("Instructions for every visit"), validators=[Optional(), Length(max=MAX_INSTRUCTIONS)])

    def validate_month(self, field):
        from datetime import datetime

        try:
            parsed = datetime.strptime((field.data or "").strip(), MONTH_FORMAT)
        except ValueError:
            raise ValidationError(_("Enter the month as year-month, e.g. 2025-03.")) from None
        field.parsed = (parsed.year, parsed.month)


class ReasonForm(FlaskForm):
    """Reject (reason required) or return (comment required)."""

    comment = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why, so the shopper and the team understand.")),
                                                      Length(max=2000)])


class ApproveForm(FlaskForm):
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)])
