from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..formutil import choices
from .models import ROLE_LABELS

MIN_PASSWORD = 10


def role_choices():
    return choices(ROLE_LABELS)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, message=_l("Use at least %(min)d characters.")),
                    Length(max=200, message=_l("Use at most %(max)d characters."))],
    )
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new", _l("The two new passwords differ."))])


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter the email address of the person to invite.")),
                                               Email(_l("Enter an email address like name@example.com.")), Length(max=254)])
    # The least powerful role by default: an admin who forgets to choose must not hand out admin rights.
    role = SelectField(_l("Role"), choices=role_choices(), default="shopper", validators=[DataRequired()])
    location_id = SelectField(_l("Location (staff only)"), coerce=str, choices=[], validate_choice=False)
    place_ids = SelectMultipleField(_l("Locations they look after (location managers)"), coerce=str, choices=[],
                                    validate_choice=False)
    regions = SelectMultipleField(_l("Regions they look after (regional managers)"), coerce=str, choices=[],
                                  validate_choice=False)


class AcceptInviteForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        _l("Choose a password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD, message=_l("Use at least %(min)d characters.")),
                    Length(max=200, message=_l("Use at most %(max)d characters."))],
    )
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The two passwords differ."))])


class MemberForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices())
    location_id = SelectField(_l("Location"), coerce=str, choices=[], validate_choice=False)

    def validate_role(self, field):
        if field.data not in ROLE_LABELS:
            raise ValidationError(_l("Pick one of the listed roles."))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with CSRF protection."""


class TokenForm(FlaskForm):
    name = StringField(_l("Label"), validators=[DataRequired(_l("Give the token a label, e.g. 'BI export'.")), Length(max=100)],
                       description=_l("What the token is for, e.g. 'BI export' or 'Zapier'."))
