"""Forms of the results pages: the dashboard's GET filter form and the improvement action form."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..formutil import choices
from .action_rules import STATUS_LABELS as ACTION_STATUS_LABELS  # noqa: F401  (re-exported for the views)
from .queries import DEFAULT_SOURCE, DEFAULT_STATUS, PERIOD_PRESETS, SOURCE_LABELS, STATUS_LABELS, FilterError

GRAIN_LABELS = {"": _l("Automatic"), "week": _l("Weeks"), "month": _l("Months")}


def _shown(labels: dict[str, str]) -> dict:
    """A label dict that the API and the exports keep in English (marked there with N_), translated as pages show it."""
    return {key: _l(label) for key, label in labels.items()}
# Argument name in the URL -> form field, for putting FilterError messages next to the right field.
FILTER_FIELDS = {"from": "date_from", "to": "date_to", "period": "period", "location_id": "location_id",
                 "region": "region", "source": "source", "status": "status", "grain": "grain"}


class FilterForm(FlaskForm):
    """A GET form: no CSRF token (it changes nothing), field names equal to the API's query arguments."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=choices(_shown(PERIOD_PRESETS)), default="90d")
    date_from = DateField(_l("From"), name="from", validators=[Optional()],
                          description=_l("Custom dates: inclusive, in the organisation's time zone."))
    date_to = DateField(_l("To"), name="to", validators=[Optional()])
    location_id = SelectField(_l("Location"), default="")
    region = SelectField(_l("Region"), default="")
    source = SelectField(_l("Who evaluated"), choices=choices(_shown(SOURCE_LABELS)), default=DEFAULT_SOURCE,
                         description=_l("Scores are secret shoppers' unless you choose otherwise; staff self-assessments "
                                        "are compared with them under Shoppers vs staff."))
    status = SelectField(_l("Which evaluations"), choices=choices(_shown(STATUS_LABELS)), default=DEFAULT_STATUS,
                         description=_l("Rejected evaluations never count."))
    grain = SelectField(_l("Trend by"), choices=choices(GRAIN_LABELS), default="")

    def set_places(self, locations, regions, *, scoped: bool = False) -> None:
        every = _("All your locations") if scoped else _("All locations")
        self.location_id.choices = choices([("", every)] + [(loc.id, f"{loc.name} ({loc.code})")
                                                           for loc in locations])
        self.region.choices = choices([("", _("All your regions") if scoped else _("All regions"))] + [(r, r) for r in regions])

    def show_errors(self, error: FilterError) -> None:
        for item in error.errors:
            name = FILTER_FIELDS.get(item["field"])
            if name:
                field = getattr(self, name)
                field.errors = [*(field.errors or []), _sentence(item["message"])]


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


class ActionForm(FlaskForm):
    """A corrective action: what, on which moment (and item), where, who owns it, by when, and what "done" means."""

    moment_key = SelectField(_l("Moment"), validators=[DataRequired(message=_l("Choose the moment this action improves."))])
    question = SelectField(_l("Checklist item"), default="", validate_choice=False,
                           description=_l("Optional: the item that failed, when the action is about one."))
    location_id = SelectField(_l("Location"), default="", validate_choice=False,
                              description=_l("Choose All locations when it applies everywhere."))
    idea = TextAreaField(_l("Action"), validators=[DataRequired(message=_l("Describe the improvement.")), Length(max=2000)],
                         description=_l("What will change, from the customer's point of view?"))
    definition_of_done = TextAreaField(
        _l("Done means"),
        validators=[DataRequired(message=_l("Say what \"done\" means, so the owner and the verifier agree.")), Length(max=2000)],
        description=_l("What the owner shows when it is done (a photo, a log, a briefing held...)."))
    owner_id = SelectField(_l("Owner"), default="", validate_choice=False,
                           description=_l("Who makes it happen. The people who look after the location come first."))
    started_on = DateField(_l("Started on"), validators=[Optional()])
    due_date = DateField(_l("Due date"), validators=[InputRequired(message=_l("Give a due date, YYYY-MM-DD."))])
    evaluation_id = HiddenField()

    def set_choices(self, moments, locations, questions, owners_first, owners_other) -> None:
        """`questions`: (moment key, moment name, question key, question text); owners: Users."""
        self.moment_key.choices = choices([(m.key, _("%(moment)s (retired)", moment=m.name) if m.retired else m.name) for m in moments])
        self.location_id.choices = choices([("", _("All locations"))] + [(loc.id, f"{loc.name} ({loc.code})")
                                                                     for loc in locations])
        self.question.choices = choices([("", _("None: the whole moment"))] + [
            (f"{mk}.{qk}", f"{mname}: {_cut(text)}") for mk, mname, qk, text in questions])
        owner_choices = [SelectChoice(value="", label=_("Choose the owner"))]
        owner_choices += [SelectChoice(value=str(u.id), label=_person(u),
                                       optgroup=_("Look after this location")) for u in owners_first]
        owner_choices += [SelectChoice(value=str(u.id), label=_person(u),
                                       optgroup=_("Others in the organisation") if owners_first else None)
                          for u in owners_other]
        self.owner_id.choices = owner_choices
        self._allowed = {"question": {c.value for c in self.question.choices},
                         "location_id": {c.value for c in self.location_id.choices},
                         "owner_id": {c.value for c in owner_choices}}

    def validate_question(self, field) -> None:
        value = field.data or ""
        if value not in self._allowed["question"]:
            raise ValidationError(_("Choose a checklist item from the list."))
        if value and value.split(".", 1)[0] != self.moment_key.data:
            raise ValidationError(_("This item belongs to another moment: choose its moment, or another item."))

    def validate_location_id(self, field) -> None:
        if (field.data or "") not in self._allowed["location_id"]:
            raise ValidationError(_("Choose a location from the list."))

    def validate_owner_id(self, field) -> None:
        if not field.data:
            raise ValidationError(_("Choose who owns the action."))
        if field.data not in self._allowed["owner_id"]:
            raise ValidationError(_("Choose the owner from the list."))

    def validate_due_date(self, field) -> None:
        started = self.started_on.data
        if field.data and isinstance(started, date) and field.data < started:
            raise ValidationError(_("The due date must be on or after the start date."))


def _person(user) -> str:
    return f"{user.name} ({user.email})"


def _cut(text: str, size: int = 70) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= size else line[: size - 1] + "…"


class DoneForm(FlaskForm):
    """The owner marks an action done, with evidence."""

    note = TextAreaField(_l("What was done"), validators=[Optional(), Length(max=2000)],
                         description=_l("Write what was done, add a photo, or both."))
    photo = FileField(_l("Photo (optional)"), render_kw={"accept": "image/*"})


class ReasonForm(FlaskForm):
    """A manager verifies (optional note), reopens or drops (a reason) an action."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
