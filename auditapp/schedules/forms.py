from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

# services.WEEKDAYS (English, for the mails and the audit log) as pages show them.
WEEKDAY_NAMES = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))


class ScheduleForm(FlaskForm):
    journey_id = SelectField(_l("Journey"), coerce=int, validators=[InputRequired(_l("Choose a journey."))])
    location_id = SelectField(_l("Location"), coerce=str, description=_l("Leave at all locations for the whole organisation."))
    source = SelectField(_l("Whose evaluations"), choices=[SelectChoice("shopper", _l("Secret shoppers")),
                                                           SelectChoice("staff", _l("Staff")),
                                                           SelectChoice("all", _l("Shoppers and staff"))])
    frequency = SelectField(_l("How often"), choices=[SelectChoice("weekly", _l("Weekly: the previous week")),
                                                      SelectChoice("monthly", _l("Monthly: the previous month"))])
    weekday = SelectField(_l("Day of the week (weekly)"), coerce=int,
                          choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAY_NAMES)])
    day = IntegerField(_l("Day of the month (monthly)"), default=1,
                       validators=[InputRequired(_l("Enter a day from 1 to 28.")), NumberRange(1, 28, _l("Enter a day from 1 to 28."))])
    hour = IntegerField(_l("Hour (your organisation's time zone)"), default=7,
                        validators=[InputRequired(_l("Enter an hour from 0 to 23.")),
                                    NumberRange(0, 23, _l("Enter an hour from 0 to 23."))])
    grain = SelectField(_l("Trend periods"), choices=[SelectChoice("week", _l("Weeks")), SelectChoice("month", _l("Months"))])
    per_location = BooleanField(_l("One sheet per location too"))
    recipients = TextAreaField(_l("Recipients"), validators=[InputRequired(_l("Enter at least one e-mail address."))],
                               description=_l("E-mail addresses, one a line (or separated by commas)."))
