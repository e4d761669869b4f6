"""The words of each mail: plain functions from plain values to (subject, body). No database; the words go through
the catalogue (English outside a request, or in the recipient's language under notices' force_locale)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..words import gettext as _
from ..words import ngettext


@dataclass(frozen=True, slots=True)
class CriticalFailure:
    moment: str  # moment name
    question: str  # the critical question's text
    answer: str  # the answer given, as stored ("no", "miserable", "1"...)
    note: str = ""


def footer(org_name: str, kind_label: str, settings_url: str) -> str:
    return "\n--\n" + _('auditapp, %(org)s. You get this because "%(kind)s" is on in your notification settings; turn '
                        'it off there: %(url)s', org=org_name, kind=kind_label, url=settings_url) + "\n"


def critical_fail_mail(*, org_name: str, location: str, journey: str, visit_time: str, score: str,
                       failures: Sequence[CriticalFailure], review_url: str, settings_url: str) -> tuple[str, str]:
    moments = sorted({f.moment for f in failures})
    subject = _("Critical fail at %(location)s: %(moments)s (%(journey)s)", location=location,
                moments=", ".join(moments), journey=journey)
    lines = [
        _("A secret shopper's visit failed a critical question."),
        "",
        _("Location: %(location)s", location=location),
        _("Journey:  %(journey)s", journey=journey),
        _("Visit:    %(visit)s", visit=visit_time),
        _("Score:    %(score)s", score=score),
        "",
        _("Failed:"),
    ]
    for failure in failures:
        lines.append(_('- %(moment)s: "%(question)s", answered %(answer)s', moment=failure.moment,
                       question=failure.question, answer=failure.answer))
        if failure.note:
            lines.append(_("  Note: %(note)s", note=failure.note))
    lines += ["", _("Review the visit: %(url)s", url=review_url)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, _("Critical fails"), settings_url)


def dispute_opened_mail(*, org_name: str, location: str, journey: str, moment: str, question: str, reason: str,
                        opened_by: str, link: str | None, settings_url: str) -> tuple[str, str]:
    subject = _("Dispute opened: %(question)s (%(location)s, %(journey)s)", question=question, location=location,
                journey=journey)
    lines = [
        _("%(who)s disputes an answer of a visit to %(location)s.", who=opened_by, location=location),
        "",
        _("Journey:  %(journey)s", journey=journey),
        _("Moment:   %(moment)s", moment=moment),
        _("Question: %(question)s", question=question),
        "",
        _("Reason:"),
        reason,
    ]
    if link:
        lines += ["", _("Decide it: %(url)s", url=link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, _("Disputes opened"), settings_url)


def dispute_decided_mail(*, org_name: str, location: str, journey: str, moment: str, question: str, decision: str,
                         reason: str, decided_by: str, link: str | None, settings_url: str) -> tuple[str, str]:
    values = {"question": question, "location": location, "journey": journey, "who": decided_by}
    if decision == "accepted":
        subject = _("Dispute accepted: %(question)s (%(location)s, %(journey)s)", **values)
        opening = _("%(who)s accepted your dispute about a visit to %(location)s.", **values)
    else:
        subject = _("Dispute declined: %(question)s (%(location)s, %(journey)s)", **values)
        opening = _("%(who)s declined your dispute about a visit to %(location)s.", **values)
    lines = [
        opening,
        "",
        _("Journey:  %(journey)s", journey=journey),
        _("Moment:   %(moment)s", moment=moment),
        _("Question: %(question)s", question=question),
    ]
    if reason:
        lines += ["", _("Reason:"), reason]
    if link:
        lines += ["", _("See it: %(url)s", url=link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, _("Dispute decisions"), settings_url)


def _action_lines(idea: str, journey: str, moment: str, location: str, link: str | None) -> list[str]:
    lines = ["", idea, ""]
    if journey:
        lines.append(_("Journey:  %(journey)s", journey=journey))
    if moment:
        lines.append(_("Moment:   %(moment)s", moment=moment))
    if location:
        lines.append(_("Location: %(location)s", location=location))
    if link:
        lines += ["", _("Open it: %(url)s", url=link)]
    return lines


def _short(text: str, size: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def action_due_mail(*, org_name: str, idea: str, due_date: date, journey: str, moment: str, location: str,
                    link: str | None, settings_url: str) -> tuple[str, str]:
    subject = _("Action due %(date)s: %(idea)s", date=due_date.isoformat(), idea=_short(idea))
    lines = [_("An action you own is due on %(date)s:", date=due_date.isoformat()),
             *_action_lines(idea, journey, moment, location, link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, _("Actions due"), settings_url)


def action_overdue_mail(*, org_name: str, idea: str, due_date: date, today: date, journey: str, moment: str,
                        location: str, link: str | None, settings_url: str) -> tuple[str, str]:
    days = (today - due_date).days
    subject = _("Action overdue since %(date)s: %(idea)s", date=due_date.isoformat(), idea=_short(idea))
    opening = ngettext("An action you own was due on %(date)s (%(num)s day late):",
                       "An action you own was due on %(date)s (%(num)s days late):", days, date=due_date.isoformat())
    lines = [opening, *_action_lines(idea, journey, moment, location, link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, _("Actions overdue"), settings_url)


def invite_mail(*, org_name: str, link: str, expires: str) -> tuple[str, str]:
    subject = _("You are invited to %(org)s on auditapp", org=org_name)
    body = _("Open this link to join %(org)s (valid until %(expires)s):", org=org_name, expires=expires) + f"\n\n{link}\n"
    return subject, body
