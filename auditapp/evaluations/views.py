"""The phone side of evaluations: start, fill (one long form without JavaScript), my evaluations, the result page,
and the service worker and web app manifest that let the form open offline and install on a home screen."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.routing import BuildError

from ..extensions import db
from ..journeys.labels import VERDICT_LABELS, channel_label, kind_label
from ..journeys.languages import pick_language, version_languages
from ..journeys.models import Journey
from ..journeys.services import published_journeys
from ..locations.models import Location
from ..scoring.rules import score_band
from ..tenancy import MANAGERS, current_org, current_org_id, current_role, get_scoped_or_404, load_membership, roles_required, scoped
from ..timeutil import local_today, utcnow
from ..visits.models import Assignment
from ..visits.review import form_values
from ..visits.services import shopper_visits
from . import bp, parking
from .forms import SOURCE_LABELS, YES_NO_LABELS, StartForm, build_fields, errors_by_field, new_client_uuid, payload_from_form
from .models import Evaluation
from .phone_text import GENERAL_LABELS, NOTHING_CHANGED, phone_text

EVALUATORS = ("shopper", "staff", "manager", "admin")
STATIC = Path(__file__).resolve().parent.parent / "static"
PER_PAGE = 50
STATUS_LABELS = {"submitted": _l("Sent and confirmed"), "approved": _l("Approved"), "rejected": _l("Rejected"),
                 "returned": _l("Returned for changes")}
BAND_WORDS = {**VERDICT_LABELS, None: _l("No score")}
# The pages and files the phone keeps for offline use (the service worker caches them).
OFFLINE_ASSETS = ("js/evaluate.js", "img/icon.svg", "img/icon-192.png", "img/icon-512.png")


@lru_cache(maxsize=64)
def _file_version(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def asset_url(filename: str) -> str:
    """A static URL with a content hash, so the service worker may keep it until the file changes."""
    path = STATIC / filename
    try:
        version = _file_version(str(path), path.stat().st_mtime)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


@bp.app_context_processor  # app-wide: the fix form is also drawn under visits.fix
def _evaluation_helpers() -> dict:
    return {"asset_url": asset_url, "phone_text": phone_text}


def _source_for(role: str | None, requested: str | None) -> str:
    if role in ("shopper", "staff"):
        return role
    return requested if requested in SOURCE_LABELS else "shopper"


def _staff_location_id() -> int | None:
    membership = load_membership()
    if membership is not None and membership.role == "staff":
        return membership.location_id
    return None


def _open_locations() -> list[Location]:
    query = scoped(Location).where(Location.archived.is_(False)).order_by(Location.name, Location.code)
    staff_location = _staff_location_id()
    if staff_location:
        query = query.where(Location.id == staff_location)
    return list(db.session.scalars(query))


def _open_assignments() -> list[dict]:
    """The shopper's planned visits, overdue first, as on My visits (starting one goes through visits.start)."""
    if current_role() != "shopper":
        return []
    org = current_org()
    visits = shopper_visits(org.id, current_user, local_today(org.timezone))
    return (visits.overdue + visits.due)[:20]


@bp.route("/start")
@roles_required(*EVALUATORS)
def start():
    role = current_role()
    locations = _open_locations()
    journeys = published_journeys(current_org_id())
    form = StartForm(request.args, meta={"csrf": False})
    form.fill_choices(locations, journeys)
    if not form.location.data:
        staff_location = _staff_location_id()
        if staff_location or len(locations) == 1:
            form.location.data = str(staff_location or locations[0].id)
    if not form.journey.data and len(journeys) == 1:
        form.journey.data = str(journeys[0].id)
    location_ids = {str(loc.id) for loc in locations}
    journey_ids = {str(j.id) for j in journeys}
    if form.location.data and form.location.data not in location_ids:
        form.location.errors = [_("This location is not available: choose another one.")]
        form.location.data = ""
    if form.journey.data and form.journey.data not in journey_ids:
        form.journey.errors = [_("This journey is not available: choose another one.")]
        form.journey.data = ""
    ready = bool(form.location.data and form.journey.data)
    chosen_location = next((loc for loc in locations if str(loc.id) == form.location.data), None)
    chosen_journey = next((j for j in journeys if str(j.id) == form.journey.data), None)
    return render_template("evaluations/start.html", form=form, ready=ready, role=role,
                           show_source=role in MANAGERS, assignments=_open_assignments(),
                           heading=_("Self-assessment after your shift") if role == "staff" else _("Start an evaluation"),
                           chosen_location=chosen_location, chosen_journey=chosen_journey,
                           has_choices=bool(locations and journeys))


def _load_target(args=None) -> tuple[Location, Journey, Assignment | None]:
    """The location, journey and (for a planned visit) assignment named in the query string, or 404/403."""
    args = request.args if args is None else args
    assignment = None
    if args.get("assignment"):
        assignment = get_scoped_or_404(Assignment, args["assignment"])
        if assignment.shopper_id != current_user.id or assignment.status == "cancelled":
            abort(404)
    location_id = args.get("location") or (assignment.location_id if assignment else None)
    journey_id = args.get("journey") or (assignment.journey_id if assignment else None)
    location = get_scoped_or_404(Location, location_id)
    journey = get_scoped_or_404(Journey, journey_id)
    if location.archived or journey.archived or journey.current_version is None:
        abort(404)
    if assignment is not None and (assignment.location_id != location.id or assignment.journey_id != journey.id):
        abort(404)
    staff_location = _staff_location_id()
    if staff_location and staff_location != location.id:
        abort(403, _("Staff evaluate their own location only."))
    return location, journey, assignment


def _iso_now() -> str:
    return utcnow().replace(microsecond=0).isoformat() + "Z"


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EVALUATORS)
def fill():
    if "fix" in request.args:  # a returned evaluation, fixed in the same phone form
        return fix_returned(request.args["fix"], url_for(".fill", fix=request.args["fix"]))
    if request.method == "GET" and not (request.args.get("location") and request.args.get("journey")) \
            and not request.args.get("assignment"):
        flash(_("Choose a location and a journey first."), "info")
        return redirect(url_for(".start", **{k: v for k, v in request.args.items() if k in ("location", "journey")}))
    if request.method == "POST":
        return _post_new(request.args, request.form, request.files)
    location, journey, assignment = _load_target()
    source = _source_for(current_role(), request.args.get("source"))
    values = {"client_uuid": new_client_uuid(), "started_at": _iso_now(), "location_id": str(location.id)}
    return _render_fill(location, journey, assignment, source, values, {}, 200)


def _posted_values(form) -> dict[str, str]:
    return {key: value for key, value in form.items() if key not in ("csrf_token", parking.OWNER_FIELD)}


def _post_new(args, form, files):
    """A new evaluation posted without JavaScript (or kept over a login and sent now): store it or show the errors."""
    location, journey, assignment = _load_target(args)
    source = _source_for(current_role(), form.get("source") or args.get("source"))
    moments = list(journey.current_version.moments)
    values = _posted_values(form)
    already = _already_sent(values.get("client_uuid", ""))
    if already is not None:
        flash(_("This evaluation was already sent; here it is."), "info")
        return redirect(url_for(".detail", evaluation_id=already.id))
    outcome = _submit_form(values, moments, journey, source, assignment, files=files)
    if isinstance(outcome, Evaluation):
        return redirect(url_for(".detail", evaluation_id=outcome.id))
    errors, status = outcome
    return _render_fill(location, journey, assignment, source, values, errors, status)


def _render_fill(location: Location, journey: Journey, assignment: Assignment | None, source: str,
                 values: dict[str, str], errors: dict[str, str], status: int, *,
                 fixing: Evaluation | None = None, form_url: str = "", closed: bool = False):
    version = fixing.version if fixing is not None else journey.current_version
    languages = version_languages(version)
    form_language = pick_language(request.args.get("lang") or values.get("language"), request.accept_languages,
                                  [code for code, _ in languages], languages[0][0])
    fields = build_fields(list(version.moments), values, errors, form_language)
    leftover = {name: message for name, message in errors.items() if not _is_drawn(name, fields)}
    summary = _error_summary(fields, leftover, errors)
    if fixing is not None:
        form_key = f"fix:{fixing.id}"
        fix = {"id": fixing.id, "comment": fixing.review_comment or "", "revision": fixing.revision or 1,
               "started_at": fixing.started_at, "closed": closed}
    else:
        page_args = {"location": location.id, "journey": journey.id}
        if assignment is not None:
            page_args["assignment"] = assignment.id
        if current_role() in MANAGERS:
            page_args["source"] = source
        form_url = url_for(".fill", **page_args)
        form_key = f"{journey.id}:{location.id}:{assignment.id if assignment else ''}:{source}"
        fix = None
    response = render_template(
        "evaluations/fill.html", journey=journey, location=location, assignment=assignment, moments=fields,
        values=values, errors=errors, leftover=leftover, summary=summary, source=source,
        source_label=str(SOURCE_LABELS.get(source, source)), form_url=form_url, form_key=form_key, fix=fix,
        languages=languages, form_language=form_language, picker_args=_language_picker_args(),
        form_owner=parking.owner_token(current_app.config["SECRET_KEY"], current_user.id),
    )
    return response, status


def _language_picker_args() -> dict[str, str]:
    """The page's own query, kept as hidden fields by the form language picker (a GET form replaces the query)."""
    return {name: value for name, value in request.args.items()
            if name in ("location", "journey", "assignment", "source", "fix")}


# --- fixing a returned evaluation --------------------------------------------------------------------------------

NOT_RETURNED = _l("This evaluation is no longer waiting for a fix (%(status)s), so it cannot be changed. What you typed "
                  "is below, so you can keep a copy.")


def _own_evaluation_or_404(evaluation_id) -> Evaluation:
    """The current user's own evaluation; anyone else's (or another organisation's) does not exist for them."""
    evaluation = get_scoped_or_404(Evaluation, evaluation_id)
    if evaluation.evaluator_id != current_user.id:
        abort(404)
    return evaluation


def fix_returned(evaluation_id, form_url: str, posted=None):
    """The phone form in fix mode: a returned evaluation, filled in as it was sent, with the SAME client_uuid.

    GET shows it (only to its evaluator, only while it is returned; afterwards the result page, read-only). POST is
    the form without JavaScript: it goes through submit_evaluation, which updates the evaluation in place. With
    JavaScript the page sends through the offline queue instead (POST /api/v1/evaluations, same client_uuid).
    Shared by /evaluations/new?fix=<id> and visits.fix (/visits/fix/<id>); `form_url` is where the form posts.
    `posted`: (form, files) of a fix kept over a login (parking.py), sent now as if posted.
    """
    evaluation = _own_evaluation_or_404(evaluation_id)
    is_post = posted is not None or request.method == "POST"
    form, files = posted if posted is not None else (request.form, request.files)
    if evaluation.status != "returned":
        if is_post and evaluation.status not in ("submitted",):
            # Reviewed again while the form was open: nothing can be stored, but nothing typed is thrown away.
            values = _posted_values(form)
            label = str(STATUS_LABELS.get(evaluation.status, evaluation.status)).lower()
            return _render_fix(evaluation, values, {"form": str(NOT_RETURNED) % {"status": label}}, 409, form_url,
                               closed=True)
        if is_post:
            flash(_("This fix was already sent; here it is."), "info")
        else:
            flash(_("This evaluation is not waiting for a fix any more: here it is as it was sent."), "info")
        return redirect(url_for("evaluations.detail", evaluation_id=evaluation.id))
    errors: dict[str, str] = {}
    status = 200
    if is_post:
        values = _posted_values(form)
        outcome = _submit_form(values, list(evaluation.version.moments), evaluation.journey, evaluation.source,
                               evaluation.assignment, fixing=evaluation, files=files)
        if isinstance(outcome, Evaluation):
            flash(_("Fixed and sent again. Thank you!"), "success")
            return redirect(url_for("evaluations.detail", evaluation_id=outcome.id))
        errors, status = outcome
    else:
        values = form_values(evaluation)
        # to the microsecond, so a fix does not move the visit's times (they are compared for the history)
        values["started_at"] = _iso_exact(evaluation.started_at)
        values["finished_at"] = _iso_exact(evaluation.finished_at)
    return _render_fix(evaluation, values, errors, status, form_url)


def _iso_exact(value) -> str:
    return value.isoformat() + "Z" if value else ""


def _render_fix(evaluation: Evaluation, values: dict[str, str], errors: dict[str, str], status: int, form_url: str,
                closed: bool = False):
    values["client_uuid"] = evaluation.client_uuid  # the same evaluation, whatever was posted
    return _render_fill(evaluation.location, evaluation.journey, evaluation.assignment, evaluation.source, values,
                        errors, status, fixing=evaluation, form_url=form_url, closed=closed)


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError):
    """A long-open form whose session changed (logged in again in another tab): show it again, nothing lost.

    Also registered by the visits blueprint for visits.fix (the same fix form under its older address).
    """
    fixing = request.endpoint == "visits.fix" or (request.endpoint == "evaluations.fill" and "fix" in request.args)
    if request.endpoint in PARKABLE and not current_user.is_authenticated:
        parked = park_posted_form()  # the session ended: keep the answers and send them after the login
        if parked is not None:
            return parked
    if request.endpoint not in PARKABLE or not current_user.is_authenticated \
            or current_role() not in EVALUATORS:
        from ..web import _error_page

        return _error_page(error)  # the site's usual 400 page (or problem JSON)
    values = _posted_values(request.form)
    errors = {"form": _("This page was open while you logged in again, so it was not sent. Everything you entered "
                        "is below: check it and send again.")}
    if fixing:
        evaluation_id = (request.view_args or {}).get("evaluation_id") or request.args.get("fix")
        evaluation = _own_evaluation_or_404(evaluation_id)
        return _render_fix(evaluation, values, errors, 400, request.full_path.rstrip("?"))
    location, journey, assignment = _load_target()
    return _render_fill(location, journey, assignment, _source_for(current_role(), request.values.get("source")),
                        values, errors, 400)


# --- a form posted after the session ended (no JavaScript): kept, sent after the login -------------------------

PARKABLE = ("evaluations.fill", "visits.fix")
PARKED_MESSAGE = _l("Your session ended before this evaluation was sent. Your answers are kept: log in and they are "
                    "sent straight away.")


def park_posted_form():
    """Keep the posted evaluation form of a logged-out browser and send it to the login page; None when it cannot
    be kept (not a same-site post), so the caller answers as before."""
    if request.method != "POST" or request.endpoint not in PARKABLE or current_user.is_authenticated:
        return None
    if not parking.same_origin(request.headers, request.host_url):
        return None
    config = current_app.config
    token = parking.park(endpoint=request.endpoint, path=request.full_path.rstrip("?"), args=request.args,
                         form=request.form, files=request.files, config=config,
                         owner_id=parking.owner_of(config["SECRET_KEY"], request.form.get(parking.OWNER_FIELD)))
    db.session.commit()
    flash(str(PARKED_MESSAGE), "info")
    response = redirect(url_for("auth.login", next=url_for("evaluations.resume")))
    tokens = [token, *parking.cookie_tokens(request.cookies.get(parking.PARK_COOKIE))][: parking.MAX_PARKED]
    response.set_cookie(parking.PARK_COOKIE, ".".join(tokens), max_age=parking.PARK_DAYS * 86400, httponly=True,
                        secure=bool(config.get("SESSION_COOKIE_SECURE")), samesite="Lax")
    return response


@bp.route("/resume")
@roles_required(*EVALUATORS)
def resume():
    """After the login: send the forms this browser kept while logged out, each once, through the usual code."""
    tokens = parking.cookie_tokens(request.cookies.get(parking.PARK_COOKIE))
    config = current_app.config
    kept, sent, response = [], [], None
    for index, token in enumerate(tokens):
        try:
            resumed = parking.claim(token, current_user, config)
        except parking.ParkError as error:
            flash(str(error), "error")
            kept.append(token)
            continue
        if resumed is None:
            continue  # already sent, or expired
        try:
            response = _send_resumed(resumed)
        finally:
            resumed.close()
        parking.forget_files(config, resumed.parked.id)
        if _is_form_again(response):
            kept.extend(tokens[index + 1:])  # shown with its errors; the others wait for the next login or visit
            break
        sent.append(response)
    if response is None or not _is_form_again(response):
        if len(sent) > 1:
            flash(ngettext("%(num)d evaluation kept while you were logged out was sent.",
                           "%(num)d evaluations kept while you were logged out were sent.", len(sent)), "success")
            response = redirect(url_for(".mine"))
        elif sent:
            flash(_("The evaluation kept while you were logged out was sent."), "success")
            response = sent[0]
        else:
            response = redirect(url_for("auth.home"))
    response = make_response(response)
    if kept:
        response.set_cookie(parking.PARK_COOKIE, ".".join(kept), max_age=parking.PARK_DAYS * 86400, httponly=True,
                            secure=bool(config.get("SESSION_COOKIE_SECURE")), samesite="Lax")
    else:
        response.delete_cookie(parking.PARK_COOKIE)
    return response


def _send_resumed(resumed: parking.Resumed):
    args, form, files = resumed.args, resumed.form, resumed.files
    if resumed.parked.endpoint == "visits.fix":
        evaluation_id = resumed.parked.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return fix_returned(evaluation_id, url_for("visits.fix", evaluation_id=int(evaluation_id)), posted=(form, files))
    if "fix" in args:
        return fix_returned(args["fix"], url_for(".fill", fix=args["fix"]), posted=(form, files))
    return _post_new(args, form, files)


def _is_form_again(response) -> bool:
    """The form drawn again with its errors (a tuple of page and status), rather than a redirect to the result."""
    return isinstance(response, tuple)


def _already_sent(client_uuid: str) -> Evaluation | None:
    """A form posted twice (double tap, back button, resent after a timeout): the first one counts."""
    if not client_uuid:
        return None
    evaluation = db.session.scalar(scoped(Evaluation).where(Evaluation.client_uuid == client_uuid))
    if evaluation is None or evaluation.evaluator_id != current_user.id or evaluation.status == "returned":
        return None
    return evaluation


def _submit_form(values: dict, moments: list, journey: Journey, source: str, assignment: Assignment | None,
                 fixing: Evaluation | None = None, files=None):
    """Store the posted form; the new Evaluation, or (errors by field, HTTP status) with nothing stored.

    `fixing`: a returned evaluation sent again; it keeps its client_uuid and location, so the service updates it.
    """
    from .services import SubmissionError, submit_evaluation

    if fixing is not None:
        values["client_uuid"] = fixing.client_uuid
        values["location_id"] = str(fixing.location_id)
    photo_errors = _store_photos(values, moments, request.files if files is None else files)
    db.session.commit()  # photos are kept like API uploads, so a corrected form reuses them instead of losing them
    payload = payload_from_form(values, moments, journey_id=journey.id, source=source, finished_at=_iso_now(),
                                assignment_id=assignment.id if assignment else None)
    if fixing is not None and str(values.get("base_revision", "")).isascii() \
            and str(values.get("base_revision", "")).isdigit():
        payload["base_revision"] = int(values["base_revision"])  # the revision this form was opened on
    try:
        result = submit_evaluation(current_org_id(), current_user._get_current_object(), current_role(), payload)
    except SubmissionError as error:
        db.session.rollback()
        errors = errors_by_field(error.errors)
        errors.update(photo_errors)
        if not errors:
            errors["form"] = error.detail or error.title
        return errors, (422 if error.status in (409, 422) else error.status)
    if photo_errors:  # everything else was fine, but a photo was not: store nothing
        db.session.rollback()
        return photo_errors, 422
    if fixing is not None and not result.resubmitted:  # the very content it already has: still returned
        db.session.rollback()
        return {"form": str(NOTHING_CHANGED)}, 422
    db.session.commit()
    return result.evaluation


def _store_photos(values: dict, moments: list, files) -> dict[str, str]:
    """Each uploaded photo file goes through the photo service; its id becomes the answer's value."""
    errors: dict[str, str] = {}
    for moment in moments:
        for question in moment.questions:
            if question.type != "photo":
                continue
            name = f"photo_files.{moment.key}.{question.key}"
            upload = files.get(name)
            if upload is None or not upload.filename:
                continue
            try:
                photo_id = _save_photo(upload)
            except ValueError as error:
                errors[f"answers.{moment.key}.{question.key}"] = str(error)
                continue
            values[f"answers.{moment.key}.{question.key}"] = photo_id
    return errors


def _save_photo(upload) -> str:
    """Store one uploaded photo with the photo service and return its public id; ValueError says what is wrong."""
    from .photos import PhotoError, save_photo

    try:
        photo = save_photo(current_org_id(), current_user._get_current_object(), upload, current_app.config)
    except PhotoError as error:
        raise ValueError(str(error)) from None
    return photo.public_id


def _is_drawn(name: str, fields) -> bool:
    if name == "notes":
        return True
    for moment in fields:
        if name in (moment.note_name, moment.duration_name) or name.startswith(f"answers.{moment.key}."):
            return True
        for question in moment.questions:
            if name in (question.name, question.note_name, question.file_name):
                return True
    return False


def _error_summary(fields, leftover: dict[str, str], errors: dict[str, str]) -> list[tuple[str, str]]:
    """(anchor, text) for the error summary at the top, in the order of the form."""
    items = [(f"#{name.replace('.', '-')}", f"{_general_label(name)}: {message}") for name, message in leftover.items()]
    for moment in fields:
        for question in moment.questions:
            if question.error:
                items.append((f"#{question.id}", f"{moment.name}: {question.text}: {question.error}"))
        for message in moment.errors:
            items.append((f"#{moment.id}", f"{moment.name}: {message}"))
        if moment.duration_error:
            items.append((f"#{moment.id}-duration", _("%(moment)s: time taken: %(error)s", moment=moment.name,
                                                      error=moment.duration_error)))
        if moment.note_error:
            items.append((f"#{moment.id}-note", _("%(moment)s: note: %(error)s", moment=moment.name, error=moment.note_error)))
    if errors.get("notes"):
        items.append(("#notes", _("Overall notes: %(error)s", error=errors["notes"])))
    return items


def _general_label(name: str) -> str:
    return str(GENERAL_LABELS.get(name, name))


# --- my evaluations and the result page -----------------------------------------------------------------------------


def _band(score: float | None) -> tuple[str, str]:
    band = score_band(score, current_org().bands)
    return (band or "none"), str(BAND_WORDS[band])


@bp.route("/mine")
@roles_required(*EVALUATORS)
def mine():
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10**9)  # a larger offset cannot be bound
    query = scoped(Evaluation).where(Evaluation.evaluator_id == current_user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc())
                              .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    items = []
    for evaluation in rows:
        band, word = _band(evaluation.score)
        items.append({
            "id": evaluation.id, "url": url_for(".detail", evaluation_id=evaluation.id),
            "journey": evaluation.journey.name if evaluation.journey else "", "client_uuid": evaluation.client_uuid,
            "location": evaluation.location.name if evaluation.location else "", "started_at": evaluation.started_at,
            "score": evaluation.score, "band": band, "band_word": word, "source": evaluation.source,
            "status": evaluation.status, "status_label": str(STATUS_LABELS.get(evaluation.status, evaluation.status)),
        })
    returned = [{"id": e.id, "journey": e.journey.name if e.journey else "", "location": e.location.name if e.location else "",
                 "started_at": e.started_at, "comment": e.review_comment or "", "fix_url": url_for(".fill", fix=e.id)}
                for e in db.session.scalars(query.where(Evaluation.status == "returned")
                                            .order_by(Evaluation.reviewed_at.desc(), Evaluation.id.desc()).limit(PER_PAGE))]
    return render_template("evaluations/mine.html", items=items, page=page, returned=returned,
                           has_next=page * PER_PAGE < total, total=total)


def _visible_or_404(evaluation_id: int) -> Evaluation:
    evaluation = get_scoped_or_404(Evaluation, evaluation_id)
    if evaluation.evaluator_id != current_user.id and current_role() not in MANAGERS:
        abort(404)
    return evaluation


def _answer_label(answer, question) -> str:
    if answer.value is None:
        return _("Not answered")
    if answer.value == "na":
        return _("N/A")
    if question is not None and question.type in ("yes_no", "mnm"):
        word = {**YES_NO_LABELS, **VERDICT_LABELS}.get(answer.value)
        return str(word) if word else answer.value.capitalize()
    if question is not None and question.type == "rating":
        return _("%(value)s of 5", value=answer.value)
    return answer.value


def detail_view(evaluation: Evaluation) -> dict:
    """Finished numbers and words for the result page: per moment score, band, verdict, answers and photos."""
    answers_by_moment: dict[str, list] = {}
    for answer in evaluation.answers:
        answers_by_moment.setdefault(answer.moment_key, []).append(answer)
    moments = []
    for result in evaluation.moment_results:
        moment = result.moment
        band, word = _band(result.score)
        answers = []
        for answer in sorted(answers_by_moment.get(result.moment_key, []),
                             key=lambda a: (a.question.position if a.question else 0, a.id)):
            question = answer.question
            is_photo = question is not None and question.type == "photo" and answer.value not in (None, "na")
            answers.append({
                "text": question.text if question else answer.question_key,
                "value": _("Photo") if is_photo else _answer_label(answer, question),
                "note": answer.note or "",
                "photo_url": f"/api/v1/photos/{answer.value}" if is_photo else None,
                "critical_fail": bool(question is not None and question.critical and answer.score == 0),
                "verdict": answer.value if question is not None and question.type == "mnm" else None,
            })
        moments.append({
            "key": result.moment_key, "name": moment.name if moment else result.moment_key,
            "position": result.position + 1, "channel": moment.channel if moment else "",
            "channel_label": channel_label(moment.channel) if moment else "",
            "kind_label": kind_label(moment.kind) if moment else "",
            "score": result.score, "band": band, "band_word": word, "critical_fail": result.critical_fail,
            "verdict": result.verdict, "verdict_word": str(VERDICT_LABELS.get(result.verdict or "", result.verdict or "")),
            "duration": result.duration_seconds, "note": result.note or "",
            "answers": answers,
        })
    band, word = _band(evaluation.score)
    return {
        "id": evaluation.id, "journey": evaluation.journey.name if evaluation.journey else "",
        "location": evaluation.location.name if evaluation.location else "", "source": evaluation.source,
        "source_label": str(SOURCE_LABELS.get(evaluation.source, evaluation.source)), "score": evaluation.score,
        "band": band, "band_word": word, "status": evaluation.status,
        "status_label": str(STATUS_LABELS.get(evaluation.status, evaluation.status)),
        "started_at": evaluation.started_at, "finished_at": evaluation.finished_at,
        "submitted_at": evaluation.submitted_at, "notes": evaluation.notes or "",
        "evaluator": evaluation.evaluator.name if evaluation.evaluator else "", "client_uuid": evaluation.client_uuid,
        "critical_fails": [m["name"] for m in moments if m["critical_fail"]], "moments": moments,
        "review_comment": evaluation.review_comment or "", "revision": evaluation.revision or 1,
    }


def _coaching_url(evaluation: Evaluation) -> str | None:
    """After a staff self-assessment, the coaching card (another package) when it exists."""
    if evaluation.source != "staff" or "visits.coaching" not in current_app.view_functions:
        return None
    for argument in ("evaluation_id", "id"):
        try:
            return url_for("visits.coaching", **{argument: evaluation.id})
        except BuildError:
            continue
    return None


@bp.route("/<int:evaluation_id>")
@roles_required(*EVALUATORS)
def detail(evaluation_id: int):
    evaluation = _visible_or_404(evaluation_id)
    view = detail_view(evaluation)
    return render_template("evaluations/detail.html", ev=view, own=evaluation.evaluator_id == current_user.id,
                           coaching_url=_coaching_url(evaluation))


# --- offline: service worker and web app manifest -------------------------------------------------------------------


def _offline_config() -> dict:
    assets = [asset_url(name) for name in OFFLINE_ASSETS]
    # base.html links these two without a version: the worker serves its copy and refreshes it in the background
    assets.append(url_for("static", filename="css/app.css"))
    assets.append(url_for("static", filename="img/favicon.svg"))
    assets.append("/manifest.webmanifest")
    digest = hashlib.sha256(json.dumps(assets).encode()).hexdigest()[:10]
    return {"version": digest, "assets": assets, "scope": "/evaluations/", "offline_title": "You are offline"}


def service_worker() -> Response:
    """/sw.js: the worker's script with its asset list in front, so a new deploy installs a new worker."""
    script = (STATIC / "js" / "sw.js").read_text(encoding="utf-8")
    body = f"self.AUDITAPP = {json.dumps(_offline_config())};\n{script}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/evaluations/"
    return response


def manifest() -> Response:
    data = {
        "name": "auditapp evaluations",
        "short_name": "auditapp",
        "description": "Evaluate the moments of truth of a customer journey, even offline.",
        "start_url": "/evaluations/start",
        "scope": "/evaluations/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#1d3557",
        "icons": [
            {"src": asset_url("img/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": asset_url("img/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any maskable"},
            {"src": asset_url("img/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
        ],
    }
    response = Response(json.dumps(data, indent=1), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.record_once
def _register_root_files(state) -> None:
    """The worker and the manifest live at the site root (outside /evaluations/), as browsers expect."""
    state.app.add_url_rule("/sw.js", "evaluations.service_worker", service_worker)
    state.app.add_url_rule("/manifest.webmanifest", "evaluations.manifest", manifest)
