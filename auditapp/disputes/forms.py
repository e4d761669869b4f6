"""Forms of the dispute pages. They carry CSRF and redisplay what was typed; every rule is checked by the services
(disputes.services), the same for the pages and the API, and their errors are put back on these fields."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField, StringField, TextAreaField

from ..formutil import choices
from .evidence import DEFAULT_PDF_MAX_BYTES

DECISION_CHOICES = {"accepted": _l("Accept: change the answer and recompute the scores"),
                    "declined": _l("Decline: the answer stays as it is")}


class OpenDisputeForm(FlaskForm):
    answer = SelectField(_l("Answer you dispute"), validate_choice=False)
    reason = TextAreaField(_l("What is wrong with it?"),
                           description=_l("Say what happened and why the answer should change; the reviewer reads this."))
    evidence = FileField(_l("Evidence (optional)"),
                         description=_l("A photo, or a PDF of up to %(size)d MB (a receipt, a log, a rota). Photos are "
                                        "downscaled and their location data removed.",
                                        size=DEFAULT_PDF_MAX_BYTES // (1024 * 1024)))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Add to the thread"))


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=choices(DECISION_CHOICES), validate_choice=False)
    value = StringField(_l("Corrected answer"), description=_l("Only when you accept. Type na to mark it N/A."))
    reason = TextAreaField(_l("Reason"), description=_l("Required when you decline; the site sees it."))


def decision_form_for(question_choices: list[tuple[str, str]] | None, **kwargs) -> DecisionForm:
    """The decision form, with a list of the possible answers when the question has fixed ones."""
    if question_choices is None:
        return DecisionForm(**kwargs)

    class ChoiceDecisionForm(DecisionForm):
        value = SelectField(_l("Corrected answer"), choices=choices([("", _l("Choose the corrected answer")),
                                                                 *question_choices]),
                            validate_choice=False, description=_l("Only when you accept."))

    return ChoiceDecisionForm(**kwargs)


def put_errors(form, errors: list[dict], mapping: dict[str, str] | None = None) -> list[str]:
    """Put service errors on the form's fields; returns the messages that belong to no field."""
    mapping = mapping or {}
    loose = []
    for error in errors:
        name = mapping.get(error["field"], error["field"])
        if name in form:
            field = form[name]
            field.errors = [*(field.errors or []), error["message"]]
        else:
            loose.append(error["message"])
    return loose
