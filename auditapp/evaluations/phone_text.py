"""The words evaluate.js shows (send queue states, errors, buttons), in the reader's language.

The pages put them as JSON in a <meta name="ui-text-evaluate"> tag (evaluations/_head.html) that the script reads
once; the script keeps the same English words as its fallback. `{name}` marks what the script fills in. A pair is a
plural: [one, other], picked with n == 1, the rule of both English and Swedish."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

# Shared with the pages drawn by the server (evaluations/views.py).
GENERAL_LABELS = {"notes": _l("Overall notes"), "location_id": _l("Location"), "started_at": _l("Start time"),
                  "finished_at": _l("Finish time"), "client_uuid": _l("Form"), "journey_id": _l("Journey"),
                  "source": _l("Kind of visit"), "assignment_id": _l("Planned visit"), "form": _l("Form")}
NOTHING_CHANGED = _l("Nothing was changed yet: fix what the reviewer asked for, then send it again.")


def _one_and_other(plural) -> list[str]:
    """[one, other] of a plural message, from a function of n (so that the extractor sees the ngettext call)."""
    return [plural(1), plural(2)]


def phone_text() -> dict:
    return {
        "general": {name: str(label) for name, label in GENERAL_LABELS.items()},
        "nothingChanged": str(NOTHING_CHANGED),
        "states": {"draft": _("Saved on this phone"), "queued": _("Waiting to send"), "sent": _("Sent and confirmed")},
        "photoUnusable": _("This photo cannot be used"),
        "loginToSendMessage": _("Log in again to send."),
        "loginToSend": _("Log in again to send"),
        "fixConflict": _("This evaluation is no longer waiting for a fix (it was sent again from elsewhere, or "
                         "reviewed), so this copy was not sent. Nothing was overwritten: see what the server has, "
                         "then delete this copy."),
        "conflict": _("The server already has a different evaluation with this number. Nothing was overwritten; "
                      "send this one as a new evaluation, or delete it."),
        "invalid": _("The server found problems: open it, fix them and send again."),
        "retry": _("Not sent yet: it will be tried again."),
        "serverAnswered": _("The server answered %(status)s.", status="{status}"),
        "progress": _("Moment %(number)s of %(total)s", number="{n}", total="{total}"),
        "missing": _one_and_other(lambda n: ngettext(
            "%(count)s required answer still missing: go back, or press Send to see where",
            "%(count)s required answers still missing: go back, or press Send to see where", n, count="{n}")),
        "allDone": _one_and_other(lambda n: ngettext(
            "All %(count)s moment done: ready to send", "All %(count)s moments done: ready to send", n, count="{n}")),
        "storageFull": _("This phone's storage is full: the draft could not be saved. Send it now or free some space."),
        "seeResult": _("See the result"),
        "fixSentHere": _("This fix was sent from this phone."),
        "discardChanges": _("Discard my changes"),
        "discardDraft": _("Discard it and start again"),
        "confirmDiscardChanges": _("Delete your changes from the phone? The form goes back to what you sent."),
        "confirmDiscardDraft": _("Delete this draft from the phone?"),
        "changesBack": _("Your changes are back: saved on this phone at %(time)s.", time="{time}"),
        "draftBack": _("Your draft is back: saved on this phone at %(time)s.", time="{time}"),
        "stopwatchStop": _("Stop stopwatch (%(time)s)", time="{time}"),
        "stopwatchContinue": _("Continue stopwatch"),
        "stopwatchStart": _("Start stopwatch"),
        "photoAlt": _("The photo you added"),
        "photoSaved": _("Photo saved on this phone."),
        "photoNoPreview": _("Photo saved on this phone (this browser cannot show a preview of it)."),
        "fixProblems": _one_and_other(lambda n: ngettext(
            "Please fix %(count)s problem", "Please fix %(count)s problems", n, count="{n}")),
        "requiredVerdict": _("Required: choose miserable, neutral or magical"),
        "required": _("Required: answer it, or choose N/A if it does not apply"),
        "startAnother": _("Start another evaluation"),
        "myEvaluations": _("My evaluations"),
        "sessionEnded": _("Your session has ended. The evaluation is kept on this phone and is sent as soon as you "
                          "log in again."),
        "notSent": _("Not sent"),
        "noConnection": _("There is no connection right now. The evaluation is saved on this phone and is sent "
                          "automatically when the connection is back: you can close this page."),
        "sending": _("Sending…"),
        "queueWaiting": _one_and_other(lambda n: ngettext(
            "%(count)s evaluation is waiting to send from this phone; it is sent as soon as there is a connection.",
            "%(count)s evaluations are waiting to send from this phone; they are sent as soon as there is a connection.",
            n, count="{n}")),
        "allSent": _("Everything that was waiting on this phone has been sent."),
        "nothingWaiting": _("Nothing is waiting on this phone."),
        "fixOf": _("Fix of %(journey)s at %(location)s", journey="{journey}", location="{location}"),
        "evaluationAt": _("%(journey)s at %(location)s", journey="{journey}", location="{location}"),
        "evaluation": _("Evaluation"),
        "fixAndSend": _("Fix and send"),
        "continue": _("Continue"),
        "delete": _("Delete"),
        "seeServerCopy": _("See what the server has"),
        "sendAsNew": _("Send as a new evaluation"),
        "sendNow": _("Send now"),
        "othersKept": _one_and_other(lambda n: ngettext(
            "%(count)s evaluation of another person is kept on this phone; it is sent when that person logs in here.",
            "%(count)s evaluations of another person are kept on this phone; they are sent when that person logs in "
            "here.", n, count="{n}")),
        "confirmDelete": _("Delete this evaluation from the phone? It has not been sent."),
    }
