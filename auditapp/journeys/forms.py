"""Forms of the journey builder. Each form turns its data into the spec dataclasses the services take."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, FloatField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..formutil import choices
from .spec import (
    CHANNELS,
    KEY_RE,
    KINDS,
    MAX_WEIGHT,
    QUESTION_TYPES,
    VERDICT_KEY,
    MomentSpec,
    QuestionSpec,
    parse_options,
    parse_target,
)

KEY_HINT = "Lower-case letters a-z, digits 0-9 and _. Leave empty to make one from the name."
KEY_MESSAGE = "Use only lower-case letters a-z, digits 0-9 and '_', for example arrival_at_desk."
WEIGHT_MESSAGE = f"Enter a number of 0 or more (at most {MAX_WEIGHT:g}), for example 1 or 2.5."


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + "."


def _key_field(hint: str = KEY_HINT) -> StringField:
    return StringField("Key", validators=[Optional(), Length(max=64), Regexp(KEY_RE.pattern, message=KEY_MESSAGE)],
                       description=hint, filters=[lambda v: v.strip() if isinstance(v, str) else v])


class WeightField(FloatField):
    """A FloatField that shows 1 rather than 1.0 (typed text is shown back as typed)."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return f"{self.data:g}" if isinstance(self.data, (int, float)) else ""


def _weight_field(hint: str) -> FloatField:
    return WeightField("Weight", default=1.0, description=hint, render_kw={"step": "any", "min": "0", "inputmode": "decimal"},
                      validators=[InputRequired(WEIGHT_MESSAGE), NumberRange(min=0, max=MAX_WEIGHT, message=WEIGHT_MESSAGE)])


class JourneyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the journey a name."), Length(max=200)],
                       description="What kind of visit this is, e.g. 'Dentist visit'.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)],
                                description="Optional: what the journey covers and when to use it.")


class MomentForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the moment a name."), Length(max=200)],
                       description="The moment as the customer would call it, e.g. 'Greeted by the nurse'.")
    key = _key_field()
    channel = SelectField("Channel", choices=choices(CHANNELS), validators=[DataRequired("Pick a channel.")])
    kind = SelectField("Kind", choices=choices({"": "Not set", **KINDS}), default="",
                       description="Basic: using the service. Decisive: the customer has a problem. "
                                   "Invisible: decided behind the scenes.")
    priority = BooleanField("Priority moment", description="Pick the 3 to 5 moments that matter most.")
    weight = _weight_field("How much this moment counts in the journey score (default 1).")
    expected_seconds = IntegerField(
        "Expected duration in seconds", validators=[Optional(), NumberRange(min=0, max=86400,
                                                                            message="Enter whole seconds from 0 to 86400.")],
        description="Optional. How long the moment should take (SAS: about 15 seconds).")
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])

    def to_spec(self) -> MomentSpec:
        return MomentSpec(key=self.key.data or "", name=self.name.data.strip(), channel=self.channel.data,
                          kind=self.kind.data or None, priority=bool(self.priority.data), weight=float(self.weight.data),
                          expected_seconds=self.expected_seconds.data, description=(self.description.data or "").strip())


class QuestionForm(FlaskForm):
    text = StringField("Question", validators=[DataRequired("Write the question."), Length(max=1000)],
                       description="As the shopper reads it, e.g. 'Were you greeted within 30 seconds?'")
    key = _key_field("Lower-case letters a-z, digits 0-9 and _. Leave empty to make one from the question.")
    type = SelectField("Answer type", choices=choices(QUESTION_TYPES))
    options = StringField("Options (choice only)", validators=[Length(max=2000)],
                          description="Label=score|Label=score with scores from 0 to 1, or a label alone for an "
                                      "unscored option, e.g. Within 3 rings=1|4-6 rings=0.5|More than 6=0")
    target = StringField("Target (number only)", validators=[Length(max=32)],
                         description="<=N or >=N, e.g. <=120 for at most 120 seconds. Without a target a number "
                                     "is recorded but not scored.")
    help = StringField("Help for the shopper", validators=[Optional(), Length(max=2000)])
    required = BooleanField("Required", description="The evaluation cannot be sent without an answer (n/a counts).")
    critical = BooleanField("Critical", description="If this scores 0, the whole moment scores 0.")
    weight = _weight_field("How much this question counts in the moment score (default 1).")

    def validate_key(self, field):
        if field.data == VERDICT_KEY:
            raise ValidationError("The key 'verdict' belongs to the moment's verdict question; pick another.")

    def validate_options(self, field):
        text = (field.data or "").strip()
        if self.type.data == "choice":
            if not text:
                raise ValidationError("A choice question needs options, e.g. Yes=1|Partly=0.5|No=0")
            try:
                parse_options(text)
            except ValueError as error:
                raise ValidationError(_sentence(error)) from None
        elif text:
            raise ValidationError("Options are only for choice questions: clear this or change the answer type.")

    def validate_target(self, field):
        text = (field.data or "").strip()
        if not text:
            return
        if self.type.data != "number":
            raise ValidationError("A target is only for number questions: clear this or change the answer type.")
        try:
            parse_target(text)
        except ValueError as error:
            raise ValidationError(_sentence(error)) from None

    def validate_critical(self, field):
        """Critical means 'a 0 here fails the moment': a question that never scores can never trigger it."""
        if not field.data:
            return
        if self.type.data in ("text", "photo"):
            raise ValidationError("Only a question with a score can be critical; text and photo answers are "
                                  "never scored. Untick Critical or change the answer type.")
        if self.type.data == "number" and not (self.target.data or "").strip():
            raise ValidationError("A number question is scored only against a target: give it a target such as "
                                  "<=120, or untick Critical.")

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

    text = StringField("Question", validators=[DataRequired("Write the question."), Length(max=1000)])
    help = StringField("Help for the shopper", validators=[Optional(), Length(max=2000)])

    def to_spec(self) -> QuestionSpec:
        return QuestionSpec(key=VERDICT_KEY, text=self.text.data.strip(), type="mnm", required=True,
                            help=(self.help.data or "").strip())


class WorkbookUploadForm(FlaskForm):
    workbook = FileField("Journey workbook or XLSForm (.xlsx)", validators=[
        FileRequired("Choose an .xlsx file to upload."),
        FileAllowed(["xlsx"], "Only .xlsx workbooks can be imported: save the file from Excel or LibreOffice as .xlsx."),
    ])


NEW_VERSION, COPY = "new_version", "copy"


class ImportChoiceForm(FlaskForm):
    """Second step of an import whose journey name is taken: a new version of that journey, or a copy.

    `upload` carries the checked workbook (auditapp.journeys.pending); `journey_id` gets its choices, the
    same-named journeys, from the view; the copy name is checked by services.check_copy_name.
    """

    upload = HiddenField()
    choice = RadioField("What should the workbook become?", choices=choices({
        NEW_VERSION: "A new version of the existing journey", COPY: "A copy under a new name"}),
        validators=[InputRequired("Choose one: a new version of the existing journey, or a copy under a new name.")])
    journey_id = RadioField("Which journey gets the new version?", choices=[], validate_choice=False,
                            validators=[Optional()])
    copy_name = StringField("Name of the copy", validators=[Length(max=1000)],
                            description="Must differ from every journey's name (ignoring case and spaces).")


class ImportConfirmForm(FlaskForm):
    """An XLSForm with parts a journey cannot hold: `upload` carries the checked journey (auditapp.journeys.pending)."""

    upload = HiddenField(validators=[InputRequired()])
