from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..formutil import choices
from .models import ROLE_LABELS

MIN_PASSWORD = 10


def role_choices():
    return choices(ROLE_LABELS)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this device")
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
                    Length(max=200, message="Use at most 200 characters.")],
    )
    confirm = PasswordField("Repeat the new password", validators=[DataRequired(), EqualTo("new", "The two new passwords differ.")])


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter the email address of the person to invite."),
                                            Email("Enter an email address like name@example.com."), Length(max=254)])
    # The least powerful role by default: an admin who forgets to choose must not hand out admin rights.
    role = SelectField("Role", choices=role_choices(), default="shopper", validators=[DataRequired()])
    location_id = SelectField("Location (staff only)", coerce=str, choices=[], validate_choice=False)
    place_ids = SelectMultipleField("Locations they look after (location managers)", coerce=str, choices=[],
                                    validate_choice=False)
    regions = SelectMultipleField("Regions they look after (regional managers)", coerce=str, choices=[],
                                  validate_choice=False)


class AcceptInviteForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "Choose a password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, message=f"Use at least {MIN_PASSWORD} characters."),
                    Length(max=200, message="Use at most 200 characters.")],
    )
    confirm = PasswordField("Repeat the password", validators=[DataRequired(), EqualTo("password", "The two passwords differ.")])


class MemberForm(FlaskForm):
    role = SelectField("Role", choices=role_choices())
    location_id = SelectField("Location", coerce=str, choices=[], validate_choice=False)

    def validate_role(self, field):
        if field.data not in ROLE_LABELS:
            raise ValidationError("Pick one of the listed roles.")


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with CSRF protection."""


class TokenForm(FlaskForm):
    name = StringField("Label", validators=[DataRequired("Give the token a label, e.g. 'BI export'."), Length(max=100)],
                       description="What the token is for, e.g. 'BI export' or 'Zapier'.")
