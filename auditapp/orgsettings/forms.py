from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..formutil import choices
from ..reports.visit import SHOPPER_NAME_CHOICES
from .services import MAX_DISPUTE_WINDOW, SettingsError, canonical_time_zone, check_bands, check_dispute_window

# reports.visit.SHOPPER_NAME_CHOICES (the keys are posted) as this page words them. Lazy strings render unescaped
# (their __html__), so only constant texts are lazy; anything with a value in it is gettext at request time.
SHOPPER_NAME_LABELS = {"code": _l("A code per shopper (S-…)"), "first_name": _l("First name")}


class PercentField(FloatField):
    """A number from 0 to 100; a decimal comma is accepted, and a clear message replaces WTForms' own."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:g}" if self.data is not None else ""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip().replace(",", ".").rstrip("%").strip()
        try:
            self.data = float(raw)
        except ValueError:
            self.data = None
            raise ValueError(_("Type a number from 0 to 100, e.g. 50.")) from None
        if self.data != self.data or self.data in (float("inf"), float("-inf")):  # NaN, infinity
            self.data = None
            raise ValueError(_("Type a number from 0 to 100, e.g. 50."))


class DaysField(IntegerField):
    """A whole number of days; a clear message replaces WTForms' own. Left out of the form: keeps the current value."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        if not raw:
            self.data = None
            return
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
            self.data = None
            raise ValueError(_("Type a whole number of days from 0 to %(max)d, e.g. 7.", max=MAX_DISPUTE_WINDOW))
        self.data = int(raw)


class SettingsForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[DataRequired(_l("Give the organisation a name.")), Length(max=200)])
    timezone = StringField(_l("Time zone"), description=_l("Dates in filters and on screen use it, e.g. Europe/Stockholm."),
                           validators=[DataRequired(_l("Choose a time zone, e.g. Europe/London or UTC."))])
    band_low = PercentField(_l("Miserable below"), description=_l("Scores under this are shown as miserable (red). Default 50."),
                            validators=[InputRequired(_l("Type a number, e.g. 50."))])
    band_high = PercentField(_l("Magical from"), description=_l("Scores from this up are shown as magical (green); in between, neutral. "
                                                    "Default 80."), validators=[InputRequired(_l("Type a number, e.g. 80."))])
    report_shopper_name = RadioField(
        _l("Shopper in visit reports"), choices=choices({key: SHOPPER_NAME_LABELS.get(key, label)
                                                         for key, label in SHOPPER_NAME_CHOICES.items()}),
        validate_choice=False, description=_l("How the PDF visit report names the secret shopper; never by e-mail or full name."))
    dispute_window_days = DaysField(
        _l("Dispute window (days after approval)"),
        description=_l("How long after a visit is approved its location and regional managers may dispute an answer. "
                       "0 turns disputes off; at most %(max)d. Default 7.", max=MAX_DISPUTE_WINDOW),
        validators=[Optional()])
    # A form sent without this choice (one radio button is always checked in a browser; scripts may leave it out)
    # keeps the organisation's current choice: WTForms leaves the value loaded from the object.

    def validate_report_shopper_name(self, field):
        if field.data not in SHOPPER_NAME_CHOICES:
            raise ValidationError(_("Choose how visit reports name the shopper: %(choices)s.", choices=" or ".join(
                f"'{SHOPPER_NAME_LABELS.get(key, label)}'" for key, label in SHOPPER_NAME_CHOICES.items())))

    def validate_dispute_window_days(self, field):
        if field.data is not None:
            try:
                check_dispute_window(field.data)
            except SettingsError as error:
                raise ValidationError(str(error)) from None

    def validate_timezone(self, field):
        zone = canonical_time_zone(field.data)
        if zone is None:
            raise ValidationError(_("'%(zone)s' is not a known time zone; pick one from the list, e.g. Europe/London.",
                                    zone=field.data))
        field.data = zone

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.band_low.data is not None and self.band_high.data is not None and not self.band_low.errors \
                and not self.band_high.errors:
            try:
                check_bands(self.band_low.data, self.band_high.data)
            except SettingsError as error:
                self[error.field].errors.append(str(error))
                ok = False
        return ok
