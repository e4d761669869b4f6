from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from .services import WEEKDAYS


class ScheduleForm(FlaskForm):
    journey_id = SelectField("Journey", coerce=int, validators=[InputRequired("Choose a journey.")])
    location_id = SelectField("Location", coerce=str, description="Leave at all locations for the whole organisation.")
    source = SelectField("Whose evaluations", choices=[SelectChoice("shopper", "Secret shoppers"),
                                                       SelectChoice("staff", "Staff"),
                                                       SelectChoice("all", "Shoppers and staff")])
    frequency = SelectField("How often", choices=[SelectChoice("weekly", "Weekly: the previous week"),
                                                  SelectChoice("monthly", "Monthly: the previous month")])
    weekday = SelectField("Day of the week (weekly)", coerce=int,
                          choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAYS)])
    day = IntegerField("Day of the month (monthly)", default=1,
                       validators=[InputRequired("Enter a day from 1 to 28."), NumberRange(1, 28, "Enter a day from 1 to 28.")])
    hour = IntegerField("Hour (your organisation's time zone)", default=7,
                        validators=[InputRequired("Enter an hour from 0 to 23."), NumberRange(0, 23, "Enter an hour from 0 to 23.")])
    grain = SelectField("Trend periods", choices=[SelectChoice("week", "Weeks"), SelectChoice("month", "Months")])
    per_location = BooleanField("One sheet per location too")
    recipients = TextAreaField("Recipients", validators=[InputRequired("Enter at least one e-mail address.")],
                               description="E-mail addresses, one a line (or separated by commas).")
