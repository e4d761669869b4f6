"""Forms of the journey builder. Each form turns its data into the spec dataclasses the services take."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, FloatField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..formutil import choices
from .labels import CHANNEL_LABELS, KIND_LABELS, QUESTION_TYPE_LABELS
from .spec import (
    KEY_RE,
    MAX_WEIGHT,
    VERDICT_KEY,
    MomentSpec,
    QuestionSpec,
    parse_options,
    parse_target,
)

KEY_HINT = _l("Lower-case letters a-z, digits 0-9 and _. Leave empty to make one from the name.")
KEY_MESSAGE = _l("Use only lower-case letters a-z, digits 0-9 and '_', for example arrival_at_desk.")
WEIGHT_MESSAGE = _l("Enter a number of 0 or more (at most %(most)g), for example 1 or 2.5.", most=MAX_WEIGHT)


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + "."


def _key_field(hint=KEY_HINT) -> StringField:
    return StringField(_l("Key"), validators=[Optional(), Length(max=64), Regexp(KEY_RE.pattern, message=KEY_MESSAGE)],
                       description=hint, filters=[lambda v: v.strip() if isinstance(v, str) else v])


class WeightField(FloatField):
    """A FloatField that shows 1 rather than 1.0 (typed text is shown back as typed)."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:g}" if isinstance(self.data, (int, float)) else ""


def _weight_field(hint) -> FloatField:
    return WeightField(_l("Weight"), default=1.0, description=hint, render_kw={"step": "any", "min": "0", "inputmode": "decimal"},
                      validators=[InputRequired(WEIGHT_MESSAGE), NumberRange(min=0, max=MAX_WEIGHT, message=WEIGHT_MESSAGE)])


class JourneyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the journey a name.")), Length(max=200)],
                       description=_l("What kind of visit this is, e.g. 'Dentist visit'."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                description=_l("Optional: what the journey covers and when to use it."))


class MomentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the moment a name.")), Length(max=200)],
                       description=_l("The moment as the customer would call it, e.g. 'Greeted by the nurse'."))
    key = _key_field()
    channel = SelectField(_l("Channel"), choices=choices(CHANNEL_LABELS), validators=[DataRequired(_l("Pick a channel."))])
    kind = SelectField(_l("Kind"), choices=choices({"": _l("Not set"), **KIND_LABELS}), default="",
                       description=_l("Basic: using the service. Decisive: the customer has a problem. "
                                      "Invisible: decided behind the scenes."))
    priority = BooleanField(_l("Priority moment"), description=_l("Pick the 3 to 5 moments that matter most."))
    weight = _weight_field(_l("How much this moment counts in the journey score (default 1)."))
    expected_seconds = IntegerField(
        _l("Expected duration in seconds"), validators=[Optional(), NumberRange(min=0, max=86400,
                                                                            message=_l("Enter whole seconds from 0 to 86400."))],
        description=_l("Optional. How long the moment should take (SAS: about 15 seconds)."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])

    def to_spec(self) -> MomentSpec:
        return MomentSpec(key=self.key.data or "", name=self.name.data.strip(), channel=self.channel.data,
                          kind=self.kind.data or None, priority=bool(self.priority.data), weight=float(self.weight.data),
                          expected_seconds=self.expected_seconds.data, description=(self.description.data or "").strip())


class QuestionForm(FlaskForm):
    text = StringField(_l("Question"), validators=[DataRequired(_l("Write the question.")), Length(max=1000)],
                       description=_l("As the shopper reads it, e.g. 'Were you greeted within 30 seconds?'"))
    key = _key_field(_l("Lower-case letters a-z, digits 0-9 and _. Leave empty to make one from the question."))
    type = SelectField(_l("Answer type"), choices=choices(QUESTION_TYPE_LABELS))
    options = StringField(_l("Options (choice only)"), validators=[Length(max=2000)],
                          description=_l("Label=score|Label=score with scores from 0 to 1, or a label alone for an "
                                         "unscored option, e.g. Within 3 rings=1|4-6 rings=0.5|More than 6=0"))
    target = StringField(_l("Target (number only)"), validators=[Length(max=32)],
                         description=_l("<=N or >=N, e.g. <=120 for at most 120 seconds. Without a target a number "
                                        "is recorded but not scored."))
    help = StringField(_l("Help for the shopper"), validators=[Optional(), Length(max=2000)])
    required = BooleanField(_l("Required"), description=_l("The evaluation cannot be sent without an answer (n/a counts)."))
    critical = BooleanField(_l("Critical"), description=_l("If this scores 0, the whole moment scores 0."))
    weight = _weight_field(_l("How much this question counts in the moment score (default 1)."))

    def validate_key(self, field):
        if field.data == VERDICT_KEY:
            raise ValidationError(_("The key 'verdict' belongs to the moment's verdict question; pick another."))

    def validate_options(self, field):
        text = (field.data or "").strip()
        if self.type.data == "choice":
            if not text:
                raise ValidationError(_("A choice question needs options, e.g. Yes=1|Partly=0.5|No=0"))
            try:
                parse_options(text)
            except ValueError as error:
                raise ValidationError(_sentence(error)) from None
        elif text:
            raise ValidationError(_("Options are only for choice questions: clear this or change the answer type."))

    def validate_target(self, field):
        text = (field.data or "").strip()
        if not text:
            return
        if self.type.data != "number":
            raise ValidationError(_("A target is only for number questions: clear this or change the answer type."))
        try:
            parse_target(text)
        except ValueError as error:
            raise ValidationError(_sentence(error)) from None

    def validate_critical(self, field):
        """Critical means 'a 0 here fails the moment': a question that never scores can never trigger it."""
        if not field.data:
            return
        if self.type.data in ("text", "photo"):
            raise ValidationError(_("Only a question with a score can be critical; text and photo answers are "
                                    "never scored. Untick Critical or change the answer type."))
        if self.type.data == "number" and not (self.target.data or "").strip():
            raise ValidationError(_("A number question is scored only against a target: give it a target such as "
                                    "<=120, or untick Critical."))

    def to_spec(self) -> QuestionSpec:
        qtype = self.type.data
        options = parse_options(self.options.data.strip()) if qtype == "choice" else ()
        target = ((self.target.data or "").strip() or None) if qtype == "number" else None
        return QuestionSpec(key=self.key.data or "", text=self.text.data.strip(), type=qtype,
                            required=bool(self.required.data), weight=float(self.weight.data),
                            critical=bool(self.critical.data), options=options, target=target,
                            help=(self.help.data or "").strip())


class VerdictForm(FlaskForm):
    """The verdict question: only its wording and help can change."""

    text = StringField(_l("Question"), validators=[DataRequired(_l("Write the question.")), Length(max=1000)])
    help = StringField(_l("Help for the shopper"), validators=[Optional(), Length(max=2000)])

    def to_spec(self) -> QuestionSpec:
        return QuestionSpec(key=VERDICT_KEY, text=self.text.data.strip(), type="mnm", required=True,
                            help=(self.help.data or "").strip())


class WorkbookUploadForm(FlaskForm):
    workbook = FileField(_l("Journey workbook or XLSForm (.xlsx)"), validators=[
        FileRequired(_l("Choose an .xlsx file to upload.")),
        FileAllowed(["xlsx"], _l("Only .xlsx workbooks can be imported: save the file from Excel or LibreOffice as .xlsx.")),
    ])


NEW_VERSION, COPY = "new_version", "copy"


class ImportChoiceForm(FlaskForm):
    """Second step of an import whose journey name is taken: a new version of that journey, or a copy.

    `upload` carries the checked workbook (auditapp.journeys.pending); `journey_id` gets its choices, the
    same-named journeys, from the view; the copy name is checked by services.check_copy_name.
    """

    upload = HiddenField()
    choice = RadioField(_l("What should the workbook become?"), choices=choices({
        NEW_VERSION: _l("A new version of the existing journey"), COPY: _l("A copy under a new name")}),
        validators=[InputRequired(_l("Choose one: a new version of the existing journey, or a copy under a new name."))])
    journey_id = RadioField(_l("Which journey gets the new version?"), choices=[], validate_choice=False,
                            validators=[Optional()])
    copy_name = StringField(_l("Name of the copy"), validators=[Length(max=1000)],
                            description=_l("Must differ from every journey's name (ignoring case and spaces)."))


class ImportConfirmForm(FlaskForm):
    """An XLSForm with parts a journey cannot hold: `upload` carries the checked journey (auditapp.journeys.pending)."""

    upload = HiddenField(validators=[InputRequired()])
