"""The journey builder: journeys, their timeline of moments, each moment's checklist, versions, workbooks, library.

Every page is for managers (admin, manager). Moments and questions are reached through their journey, and the whole
chain (question -> moment -> version -> journey -> organisation) is checked, so another organisation's ids are 404.
"""
from __future__ import annotations

import io

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from ..auth.forms import ConfirmForm
from ..extensions import db
from ..formutil import choices
from ..tenancy import current_org_id, get_scoped_or_404, managers_only
from ..web import wants_json
from . import bp, pending, services, translating, versioning
from .forms import COPY, ImportChoiceForm, ImportConfirmForm, JourneyForm, MomentForm, QuestionForm, VerdictForm, WorkbookUploadForm
from .labels import channel_label, kind_label, question_type_label
from .languages import version_languages
from .library import library_journeys
from .models import Journey, Moment, Question
from .spec import VERDICT_KEY, format_options
from .workbook import WorkbookError, blank_template, write_journey_workbook
from .xlsform import read_any_workbook, write_xlsform

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------------------------------- loading


def _journey(journey_id: int) -> Journey:
    return get_scoped_or_404(Journey, journey_id)


def _moment(journey: Journey, moment_id: int) -> Moment:
    moment = db.session.get(Moment, moment_id)
    if moment is None or moment.version.journey_id != journey.id:
        abort(404)
    return moment


def _question(journey: Journey, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.moment.version.journey_id != journey.id:
        abort(404)
    return question


def _shown_moment(journey: Journey, moment: Moment) -> Moment | None:
    """The moment with this key in the version the builder shows (None when it is not there)."""
    version = versioning.working_version(journey)
    if version is None:
        return None
    if moment.version_id == version.id:
        return moment
    return next((m for m in version.moments if m.key == moment.key), None)


def _uid() -> int:
    return current_user.id


def _step() -> int:
    return -1 if request.form.get("direction") == "up" else 1


def _to_journey(journey: Journey, anchor: str | None = None):
    return redirect(url_for("journeys.show", journey_id=journey.id, _anchor=anchor))


@bp.errorhandler(versioning.DraftConflict)
def draft_conflict(conflict: versioning.DraftConflict):
    """A builder action that lost the race to start a draft (another manager started one a moment ago): nothing
    of it was saved. 409 with the message and the way to that draft; the forms catch it themselves to keep what
    was typed. The move script follows `url`, where the flash repeats the message."""
    db.session.rollback()
    url = url_for("journeys.show", journey_id=conflict.journey_id)
    if wants_json():
        flash(conflict.message, "error")
        return jsonify(ok=False, reload=True, message=conflict.message, url=url), 409
    return render_template("journeys/draft_conflict.html", conflict=conflict), 409


def _lost_race(conflict: versioning.DraftConflict) -> versioning.DraftConflict:
    db.session.rollback()
    return conflict


# --------------------------------------------------------------------------------------------------- journeys


@bp.route("/")
@managers_only
def index():
    rows = services.journey_rows(current_org_id())
    return render_template("journeys/index.html", active=[r for r in rows if not r.archived],
                           archived=[r for r in rows if r.archived])


@bp.route("/new", methods=["GET", "POST"])
@managers_only
def new():
    form = JourneyForm()
    if form.validate_on_submit():
        journey = services.create_blank_journey(current_org_id(), form.name.data, form.description.data, user_id=_uid())
        db.session.commit()
        flash(_("Journey '%(name)s' created. Add its moments, then publish it.", name=journey.name), "success")
        return _to_journey(journey)
    return render_template("journeys/journey_form.html", form=form, journey=None)


@bp.route("/<int:journey_id>")
@managers_only
def show(journey_id: int):
    journey = _journey(journey_id)
    return render_template("journeys/show.html", view=services.builder_view(journey), journey=journey)


@bp.route("/<int:journey_id>/edit", methods=["GET", "POST"])
@managers_only
def edit(journey_id: int):
    journey = _journey(journey_id)
    form = JourneyForm(obj=journey)
    if form.validate_on_submit():
        services.update_journey(journey, form.name.data, form.description.data)
        db.session.commit()
        flash(_("Journey saved."), "success")
        return _to_journey(journey)
    return render_template("journeys/journey_form.html", form=form, journey=journey)


@bp.route("/<int:journey_id>/archive", methods=["POST"])
@managers_only
def archive(journey_id: int):
    from ..visits.services import cancel_planned_visits  # visits build on journeys, not the other way round

    journey = _journey(journey_id)
    services.set_archived(journey, True)
    cancelled = cancel_planned_visits(journey.org_id, journey_id=journey.id, user=current_user)
    db.session.commit()
    message = _("Journey '%(name)s' archived: it is no longer offered for evaluations. Its results are kept.",
                name=journey.name)
    if cancelled:
        message += " " + ngettext("%(num)d planned visit cancelled.", "%(num)d planned visits cancelled.", cancelled)
    flash(message, "success")
    return redirect(url_for("journeys.index"))


@bp.route("/<int:journey_id>/restore", methods=["POST"])
@managers_only
def restore(journey_id: int):
    journey = _journey(journey_id)
    services.set_archived(journey, False)
    db.session.commit()
    flash(_("Journey '%(name)s' restored.", name=journey.name), "success")
    return _to_journey(journey)


@bp.route("/<int:journey_id>/publish", methods=["POST"])
@managers_only
def publish(journey_id: int):
    journey = _journey(journey_id)
    try:
        version = versioning.publish_draft(journey, user_id=_uid())
    except versioning.VersionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Version %(number)s published: new evaluations use it. Earlier evaluations keep the questions "
                "they answered.", number=version.number), "success")
    return _to_journey(journey)


@bp.route("/<int:journey_id>/discard", methods=["POST"])
@managers_only
def discard(journey_id: int):
    journey = _journey(journey_id)
    try:
        versioning.discard_draft(journey)
    except versioning.VersionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Unpublished changes discarded."), "success")
    return _to_journey(journey)


# --------------------------------------------------------------------------------------------------- moments


def _builder_error(form, error: services.BuilderError) -> None:
    db.session.rollback()
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/<int:journey_id>/moments/new", methods=["GET", "POST"])
@managers_only
def moment_new(journey_id: int):
    journey = _journey(journey_id)
    form = MomentForm()
    conflict = None
    if form.validate_on_submit():
        try:
            moment = services.add_moment(journey, form.to_spec(), user_id=_uid())
        except services.BuilderError as error:
            _builder_error(form, error)
        except versioning.DraftConflict as error:
            conflict = _lost_race(error)
        else:
            db.session.commit()
            flash(_("Moment '%(name)s' added with its verdict question. Add the rest of its checklist here.",
                    name=moment.name), "success")
            return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=moment.id))
    return render_template("journeys/moment_form.html", form=form, journey=journey, moment=None, key_locked=False,
                           conflict=conflict), 409 if conflict else 200


@bp.route("/<int:journey_id>/moments/<int:moment_id>")
@managers_only
def moment_show(journey_id: int, moment_id: int):
    journey = _journey(journey_id)
    moment = _moment(journey, moment_id)
    shown = _shown_moment(journey, moment)
    if shown is None:
        abort(404)
    if shown.id != moment.id:
        return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=shown.id))
    questions = sorted(shown.questions, key=lambda q: (q.key == VERDICT_KEY, q.position))
    movable = [q for q in questions if q.key != VERDICT_KEY]
    rows = [{
        "q": q, "type_label": question_type_label(q.type), "options": format_options(q.option_specs),
        "verdict": q.key == VERDICT_KEY, "first": bool(movable) and q is movable[0],
        "last": bool(movable) and q is movable[-1],
    } for q in questions]
    return render_template("journeys/moment.html", journey=journey, moment=shown, rows=rows,
                           channel_label=channel_label(shown.channel), kind_label=kind_label(shown.kind),
                           is_draft=shown.version.status == versioning.DRAFT)


@bp.route("/<int:journey_id>/moments/<int:moment_id>/edit", methods=["GET", "POST"])
@managers_only
def moment_edit(journey_id: int, moment_id: int):
    journey = _journey(journey_id)
    moment = _moment(journey, moment_id)
    if request.method == "GET":
        shown = _shown_moment(journey, moment)
        if shown is None:
            abort(404)
        if shown.id != moment.id:
            return redirect(url_for("journeys.moment_edit", journey_id=journey.id, moment_id=shown.id))
    form = MomentForm(obj=moment)
    if request.method == "GET":
        form.kind.data = moment.kind or ""
    conflict = None
    if form.validate_on_submit():
        try:
            target = services.update_moment(journey, moment, form.to_spec(), user_id=_uid())
        except services.BuilderError as error:
            _builder_error(form, error)
        except versioning.DraftConflict as error:
            conflict = _lost_race(error)
        else:
            db.session.commit()
            flash(_("Moment '%(name)s' saved.", name=target.name), "success")
            return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=target.id))
    key_locked = versioning.moment_key_answered(journey, moment.key)
    return render_template("journeys/moment_form.html", form=form, journey=journey, moment=moment, key_locked=key_locked,
                           conflict=conflict), 409 if conflict else 200


@bp.route("/<int:journey_id>/moments/<int:moment_id>/move", methods=["POST"])
@managers_only
def moment_move(journey_id: int, moment_id: int):
    journey = _journey(journey_id)
    moment = _moment(journey, moment_id)
    try:
        target = services.move_moment(journey, moment, _step(), user_id=_uid())
    except services.BuilderError as error:
        db.session.rollback()
        return _move_failed(journey, error)
    db.session.commit()
    if wants_json():
        version = target.version
        return jsonify(ok=True, reload=target.id != moment.id, order=[m.id for m in version.moments])
    return _to_journey(journey, f"moment-{target.id}")


def _move_failed(journey: Journey, error: services.BuilderError, moment: Moment | None = None):
    if wants_json():
        return jsonify(ok=False, reload=True, message=error.message), 409
    flash(error.message, "error")
    if moment is not None:
        return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=moment.id))
    return _to_journey(journey)


@bp.route("/<int:journey_id>/moments/<int:moment_id>/delete", methods=["GET", "POST"])
@managers_only
def moment_delete(journey_id: int, moment_id: int):
    journey = _journey(journey_id)
    moment = _moment(journey, moment_id)
    if request.method == "POST":
        try:
            name = services.delete_moment(journey, moment, user_id=_uid())
        except services.BuilderError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Moment '%(name)s' deleted. Answers already collected for it are kept.", name=name), "success")
        return _to_journey(journey)
    answered = versioning.moment_key_answered(journey, moment.key)
    detail = ngettext("Its %(num)d question goes with it.", "Its %(num)d questions go with it.", len(moment.questions))
    return render_template("journeys/confirm_delete.html", journey=journey, what="moment", name=moment.name,
                           detail=detail, answered=answered,
                           cancel=url_for("journeys.moment_show", journey_id=journey.id, moment_id=moment.id))


# --------------------------------------------------------------------------------------------------- questions


@bp.route("/<int:journey_id>/moments/<int:moment_id>/questions/new", methods=["GET", "POST"])
@managers_only
def question_new(journey_id: int, moment_id: int):
    journey = _journey(journey_id)
    moment = _moment(journey, moment_id)
    form = QuestionForm()
    conflict = None
    if form.validate_on_submit():
        try:
            question = services.add_question(journey, moment, form.to_spec(), user_id=_uid())
        except services.BuilderError as error:
            _builder_error(form, error)
        except versioning.DraftConflict as error:
            conflict = _lost_race(error)
        else:
            db.session.commit()
            flash(_("Question '%(key)s' added.", key=question.key), "success")
            return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=question.moment_id,
                                    _anchor=f"question-{question.id}"))
    return render_template("journeys/question_form.html", form=form, journey=journey, moment=moment, question=None,
                           key_locked=False, conflict=conflict), 409 if conflict else 200


@bp.route("/<int:journey_id>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@managers_only
def question_edit(journey_id: int, question_id: int):
    journey = _journey(journey_id)
    question = _question(journey, question_id)
    if request.method == "GET":
        shown = _shown_moment(journey, question.moment)
        same = shown and next((q for q in shown.questions if q.key == question.key), None)
        if not same:
            abort(404)
        if same.id != question.id:
            return redirect(url_for("journeys.question_edit", journey_id=journey.id, question_id=same.id))
    verdict = question.key == VERDICT_KEY
    form = VerdictForm(obj=question) if verdict else QuestionForm(obj=question)
    if request.method == "GET" and not verdict:
        form.options.data = format_options(question.option_specs)
    conflict = None
    if form.validate_on_submit():
        try:
            target = services.update_question(journey, question, form.to_spec(), user_id=_uid())
        except services.BuilderError as error:
            _builder_error(form, error)
        except versioning.DraftConflict as error:
            conflict = _lost_race(error)
        else:
            db.session.commit()
            flash(_("Question '%(key)s' saved.", key=target.key), "success")
            return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=target.moment_id,
                                    _anchor=f"question-{target.id}"))
    key_locked = not verdict and versioning.question_key_answered(journey, question.moment.key, question.key)
    return render_template("journeys/question_form.html", form=form, journey=journey, moment=question.moment,
                           question=question, verdict=verdict, key_locked=key_locked, conflict=conflict), \
        409 if conflict else 200


@bp.route("/<int:journey_id>/questions/<int:question_id>/move", methods=["POST"])
@managers_only
def question_move(journey_id: int, question_id: int):
    journey = _journey(journey_id)
    question = _question(journey, question_id)
    try:
        target = services.move_question(journey, question, _step(), user_id=_uid())
    except services.BuilderError as error:
        db.session.rollback()
        return _move_failed(journey, error, question.moment)
    db.session.commit()
    if wants_json():
        moment = target.moment
        return jsonify(ok=True, reload=target.id != question.id, order=[q.id for q in moment.questions])
    return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=target.moment_id,
                            _anchor=f"question-{target.id}"))


@bp.route("/<int:journey_id>/questions/<int:question_id>/delete", methods=["GET", "POST"])
@managers_only
def question_delete(journey_id: int, question_id: int):
    journey = _journey(journey_id)
    question = _question(journey, question_id)
    back = url_for("journeys.moment_show", journey_id=journey.id, moment_id=question.moment_id)
    if question.key == VERDICT_KEY:
        flash(_("Every moment keeps its verdict question; it cannot be deleted."), "error")
        return redirect(back)
    if request.method == "POST":
        moment = question.moment
        try:
            key = services.delete_question(journey, question, user_id=_uid())
            moment_id = (_shown_moment(journey, moment) or moment).id
        except services.BuilderError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(back)
        db.session.commit()
        flash(_("Question '%(key)s' deleted. Answers already collected for it are kept.", key=key), "success")
        return redirect(url_for("journeys.moment_show", journey_id=journey.id, moment_id=moment_id))
    answered = versioning.question_key_answered(journey, question.moment.key, question.key)
    return render_template("journeys/confirm_delete.html", journey=journey, what="question", name=question.text,
                           detail="", answered=answered, cancel=back)


# --------------------------------------------------------------------------------------------------- workbooks


def _filename(name: str, suffix: str) -> str:
    slug = services.suggest_key(name).replace("_", "-")
    return f"{slug[:60]}{suffix}.xlsx"


def _xlsx(data: bytes, filename: str):
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=filename)


@bp.route("/template.xlsx")
@managers_only
def template():
    return _xlsx(blank_template(), "journey-template.xlsx")


@bp.route("/<int:journey_id>/workbook.xlsx")
@managers_only
def export(journey_id: int):
    journey = _journey(journey_id)
    version = versioning.draft_version(journey) if request.args.get("version") == "draft" else journey.current_version
    if version is None:
        abort(404)
    data = write_journey_workbook(services.version_to_spec(journey, version))
    return _xlsx(data, _filename(journey.name, f"-v{version.number}"))


@bp.route("/<int:journey_id>/xlsform.xlsx")
@managers_only
def export_xlsform(journey_id: int):
    """The published version as an XLSForm, to fill in ODK Collect or Enketo (KoboToolbox, ODK Central)."""
    journey = _journey(journey_id)
    if journey.current_version is None:
        abort(404)
    data = write_xlsform(services.version_to_spec(journey, journey.current_version))
    return _xlsx(data, _filename(journey.name, f"-v{journey.current_version.number}-xlsform"))


def _read_upload(form: WorkbookUploadForm):
    """The uploaded journey workbook or XLSForm as an ImportedWorkbook, or (None, problems)."""
    try:
        return read_any_workbook(form.workbook.data.read(), filename=form.workbook.data.filename or ""), []
    except WorkbookError as error:
        return None, error.problems


@bp.route("/import", methods=["GET", "POST"])
@managers_only
def import_new():
    """Step 1: upload. A workbook whose journey name is new is imported at once; a taken name asks first, and so
    does an XLSForm with parts a journey cannot hold (import without them?)."""
    form = WorkbookUploadForm()
    problems = []
    if form.validate_on_submit():
        result, problems = _read_upload(form)
        if result is not None:
            filename = form.workbook.data.filename or ""
            try:
                if result.unsupported:
                    return _confirm_page(result, filename)
                return _import_or_choose(result.spec, filename)
            except pending.PendingImportError as error:
                form.workbook.errors = [*form.workbook.errors, str(error)]
    return render_template("journeys/import.html", form=form, problems=problems, journey=None)


def _import_or_choose(spec, filename: str, left_out: int = 0):
    """Import a checked journey, or ask first when its name is taken. Raises pending.PendingImportError."""
    matches = services.journeys_named(current_org_id(), spec.name)
    if matches:
        token = pending.seal(spec, filename, user_id=_uid(), org_id=current_org_id(),
                             published_numbers=_published_numbers(matches), secret_key=current_app.secret_key)
        choice = ImportChoiceForm(formdata=None, upload=token,
                                  copy_name=services.free_copy_name(current_org_id(), spec.name))
        return _choice_page(choice, spec, filename, matches)
    journey = services.import_journey(current_org_id(), spec, user_id=_uid(), source=filename)
    db.session.commit()
    flash(ngettext("Journey '%(name)s' imported and published with %(num)d moment.",
                   "Journey '%(name)s' imported and published with %(num)d moments.", len(spec.moments),
                   name=journey.name) + _left_out(left_out), "success")
    return _to_journey(journey)


def _left_out(count: int) -> str:
    if not count:
        return ""
    return " " + ngettext("%(num)d part of the XLSForm left out, as you confirmed.",
                          "%(num)d parts of the XLSForm left out, as you confirmed.", count)


def _confirm_page(result, filename: str, journey: Journey | None = None):
    """An XLSForm with unsupported parts: list them and ask before importing anything (the form is in the page)."""
    token = pending.seal(result.spec, filename, user_id=_uid(), org_id=current_org_id(), published_numbers={},
                         secret_key=current_app.secret_key, purpose=pending.CONFIRM,
                         draft_of=journey.id if journey else None, left_out=tuple(map(str, result.unsupported)))
    form = ImportConfirmForm(formdata=None, upload=token)
    return render_template("journeys/import_unsupported.html", form=form, spec=result.spec, filename=filename,
                           unsupported=result.unsupported, journey=journey, minutes=_import_max_age() // 60)


@bp.route("/import/confirm", methods=["POST"])
@managers_only
def import_confirm():
    """Step 2 for an XLSForm with unsupported parts: the manager agreed to import it without them."""
    form = ImportConfirmForm()
    try:
        if not form.validate_on_submit():
            raise pending.PendingImportError(_("This upload could not be read: nothing was imported. Upload the "
                                               "workbook again."))
        waiting = pending.unseal(form.upload.data, user_id=_uid(), org_id=current_org_id(),
                                 secret_key=current_app.secret_key, max_age=_import_max_age(), purpose=pending.CONFIRM)
        if waiting.draft_of is not None:
            journey = _journey(waiting.draft_of)
            version = services.replace_from_spec(journey, waiting.spec, user_id=_uid())
            db.session.commit()
            flash(_("Draft version %(number)s made from the XLSForm.", number=version.number)
                  + _left_out(len(waiting.left_out)) + " " + _("Check it, then publish it."), "success")
            return _to_journey(journey)
        return _import_or_choose(waiting.spec, waiting.filename, len(waiting.left_out))
    except pending.PendingImportError as error:
        return render_template("journeys/import.html", form=WorkbookUploadForm(formdata=None), problems=[],
                               journey=None, upload_error=str(error)), 400


def _published_numbers(journeys: list[Journey]) -> dict[int, int | None]:
    return {j.id: j.current_version.number if j.current_version else None for j in journeys}


def _choice_page(form: ImportChoiceForm, spec, filename: str, matches: list[Journey], *,
                 conflict: versioning.DraftConflict | None = None, status: int = 200):
    rows = services.same_named_rows(matches)
    form.journey_id.choices = choices((r.id, r.name) for r in rows)
    if len(rows) == 1:
        form.journey_id.data = str(rows[0].id)
    return render_template("journeys/import_choice.html", form=form, spec=spec, filename=filename, rows=rows,
                           by_id={str(r.id): r for r in rows}, conflict=conflict,
                           minutes=_import_max_age() // 60), status


def _import_max_age() -> int:
    return int(current_app.config.get("JOURNEY_IMPORT_MAX_AGE", pending.MAX_AGE))


@bp.route("/import/choose", methods=["POST"])
@managers_only
def import_choose():
    """Step 2: the manager's choice for a workbook whose journey name is taken (the workbook is in the form)."""
    form = ImportChoiceForm()
    org_id = current_org_id()
    try:
        waiting = pending.unseal(form.upload.data, user_id=_uid(), org_id=org_id, secret_key=current_app.secret_key,
                                 max_age=_import_max_age())
    except pending.PendingImportError as error:
        return render_template("journeys/import.html", form=WorkbookUploadForm(formdata=None), problems=[],
                               journey=None, upload_error=str(error)), 400
    spec = waiting.spec
    matches = services.journeys_named(org_id, spec.name)
    if form.validate_on_submit():
        try:
            if form.choice.data == COPY:
                name = services.check_copy_name(org_id, form.copy_name.data)
                journey = services.import_journey(org_id, spec, user_id=_uid(), source=waiting.filename, copy_name=name)
                db.session.commit()
                flash(ngettext("Journey '%(name)s' imported as a copy and published with %(num)d moment. The existing "
                               "'%(existing)s' was not changed.",
                               "Journey '%(name)s' imported as a copy and published with %(num)d moments. The existing "
                               "'%(existing)s' was not changed.", len(spec.moments), name=journey.name,
                               existing=spec.name), "success")
                return _to_journey(journey)
            target = services.choose_version_target(matches, form.journey_id.data, waiting.published_numbers,
                                                    spec.name)
            version = services.import_as_new_version(target, spec, user_id=_uid(), source=waiting.filename)
        except services.BuilderError as error:
            _builder_error(form, error)
        except versioning.DraftPending as error:
            db.session.rollback()
            form.journey_id.errors = [*form.journey_id.errors, str(error)]
        except versioning.DraftConflict as error:
            return _choice_page(form, spec, waiting.filename, matches, conflict=_lost_race(error), status=409)
        else:
            db.session.commit()
            message = _("Version %(number)s of '%(name)s' published from the workbook: new evaluations use it. "
                        "Earlier evaluations keep the questions they answered.", number=version.number, name=target.name)
            if target.archived:
                message += " " + _("The journey is archived: restore it to offer it for evaluations.")
            flash(message, "success")
            return _to_journey(target)
    return _choice_page(form, spec, waiting.filename, matches)


@bp.route("/<int:journey_id>/import", methods=["GET", "POST"])
@managers_only
def import_draft(journey_id: int):
    journey = _journey(journey_id)
    form = WorkbookUploadForm()
    problems = []
    if form.validate_on_submit():
        result, problems = _read_upload(form)
        if result is not None and result.unsupported:
            try:
                return _confirm_page(result, form.workbook.data.filename or "", journey)
            except pending.PendingImportError as error:
                form.workbook.errors = [*form.workbook.errors, str(error)]
        elif result is not None:
            spec = result.spec
            version = services.replace_from_spec(journey, spec, user_id=_uid())
            db.session.commit()
            flash(_("Draft version %(number)s made from the workbook. Check it, then publish it.", number=version.number),
                  "success")
            return _to_journey(journey)
    return render_template("journeys/import.html", form=form, problems=problems, journey=journey)


# --------------------------------------------------------------------------------------------------- library


@bp.route("/library")
@managers_only
def library():
    copied = set(db.session.scalars(
        select(Journey.library_slug).where(Journey.org_id == current_org_id(), Journey.library_slug.is_not(None))))
    entries = [{
        "slug": slug, "name": spec.name, "description": spec.description, "moment_count": len(spec.moments),
        "priorities": [m.name for m in spec.moments if m.priority], "copied": slug in copied,
        "channels": sorted({(m.channel, channel_label(m.channel)) for m in spec.moments}),
    } for slug, spec in library_journeys()]
    return render_template("journeys/library.html", entries=entries)


@bp.route("/library/<slug>/copy", methods=["POST"])
@managers_only
def library_copy(slug: str):
    journey = services.copy_library_journey(current_org_id(), slug, user_id=_uid())
    if journey is None:
        abort(404)
    db.session.commit()
    flash(_("'%(name)s' copied into your organisation and published. Edit it to fit how you work.", name=journey.name),
          "success")
    return _to_journey(journey)


# ----------------------------------------------------------------------------------------------- translations


def _translation_page(journey: Journey, language: str | None, *, posted=None, errors=None, language_errors=None,
                      status: int = 200, conflict: versioning.DraftConflict | None = None):
    version = versioning.working_version(journey)
    if version is None:
        abort(404)
    languages = translating.other_languages(version)
    codes = [code for code, _name in languages]
    if language not in codes:
        language = None
    rows = translating.text_rows(version, language, posted, errors) if language else []
    own = version_languages(version)[0]
    return render_template("journeys/translations.html", journey=journey, version=version, own=own,
                           summaries=translating.language_summaries(version), language=language,
                           language_name=dict(languages).get(language, ""), moments=rows, form=ConfirmForm(),
                           errors=errors or {}, language_errors=language_errors or {}, posted=posted or {},
                           conflict=conflict), status


@bp.route("/<int:journey_id>/translations", methods=["GET", "POST"])
@managers_only
def translations(journey_id: int):
    journey = _journey(journey_id)
    language = request.args.get("lang") or None
    if request.method == "GET":
        return _translation_page(journey, language)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    posted = {name: value for name, value in request.form.items() if name.startswith(("m-", "q-"))}
    try:
        changed = translating.save_translations(journey, language or "", posted, user_id=_uid())
    except translating.TranslationProblems as problems:
        db.session.rollback()
        return _translation_page(journey, language, posted=posted, errors=problems.problems, status=422)
    except translating.TranslationError:
        db.session.rollback()
        abort(404)
    except versioning.DraftConflict as error:  # what was typed stays on the page, with the way to the draft
        return _translation_page(journey, language, posted=posted, conflict=_lost_race(error), status=409)
    db.session.commit()
    flash(_("Translations saved: %(count)s text(s) changed.", count=changed) if changed else _("Nothing changed."),
          "success")
    return redirect(url_for("journeys.translations", journey_id=journey.id, lang=language))


@bp.route("/<int:journey_id>/languages", methods=["POST"])
@managers_only
def languages(journey_id: int):
    journey = _journey(journey_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action", "")
    fields = {name: request.form.get(name, "") for name in ("code", "name", "default_code", "default_name")}
    try:
        if action == "add":
            translating.add_language(journey, fields["code"], fields["name"], user_id=_uid())
            message = _("%(language)s added: translate its texts below.", language=fields["name"].strip())
            target = fields["code"].strip().replace("_", "-").lower()
        elif action == "remove":
            translating.remove_language(journey, request.form.get("remove", ""), user_id=_uid())
            message, target = _("Language removed, with its translations."), None
        elif action == "default":
            translating.rename_default_language(journey, fields["default_code"], fields["default_name"],
                                                          user_id=_uid())
            message, target = _("The journey's own language is saved."), None
        else:
            abort(400)
    except translating.TranslationError as error:
        db.session.rollback()
        return _translation_page(journey, None, posted=fields, language_errors={error.field: str(error)}, status=422)
    except versioning.DraftConflict as error:
        return _translation_page(journey, None, posted=fields, conflict=_lost_race(error), status=409)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("journeys.translations", journey_id=journey.id, lang=target))
