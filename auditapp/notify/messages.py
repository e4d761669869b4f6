"""The words of each mail: plain functions from plain values to (subject, body). No Flask, no database."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class CriticalFailure:
    moment: str  # moment name
    question: str  # the critical question's text
    answer: str  # the answer given, as stored ("no", "miserable", "1"...)
    note: str = ""


def footer(org_name: str, kind_label: str, settings_url: str) -> str:
    return (f"\n--\nauditapp, {org_name}. You get this because \"{kind_label}\" is on in your notification "
            f"settings; turn it off there: {settings_url}\n")


def critical_fail_mail(*, org_name: str, location: str, journey: str, visit_time: str, score: str,
                       failures: Sequence[CriticalFailure], review_url: str, settings_url: str) -> tuple[str, str]:
    moments = sorted({f.moment for f in failures})
    subject = f"Critical fail at {location}: {', '.join(moments)} ({journey})"
    lines = [
        "A secret shopper's visit failed a critical question.",
        "",
        f"Location: {location}",
        f"Journey:  {journey}",
        f"Visit:    {visit_time}",
        f"Score:    {score}",
        "",
        "Failed:",
    ]
    for failure in failures:
        lines.append(f"- {failure.moment}: \"{failure.question}\", answered {failure.answer}")
        if failure.note:
            lines.append(f"  Note: {failure.note}")
    lines += ["", f"Review the visit: {review_url}"]
    return subject, "\n".join(lines) + "\n" + footer(org_name, "Critical fails", settings_url)


def dispute_opened_mail(*, org_name: str, location: str, journey: str, moment: str, question: str, reason: str,
                        opened_by: str, link: str | None, settings_url: str) -> tuple[str, str]:
    subject = f"Dispute opened: {question} ({location}, {journey})"
    lines = [
        f"{opened_by} disputes an answer of a visit to {location}.",
        "",
        f"Journey:  {journey}",
        f"Moment:   {moment}",
        f"Question: {question}",
        "",
        "Reason:",
        reason,
    ]
    if link:
        lines += ["", f"Decide it: {link}"]
    return subject, "\n".join(lines) + "\n" + footer(org_name, "Disputes opened", settings_url)


def dispute_decided_mail(*, org_name: str, location: str, journey: str, moment: str, question: str, decision: str,
                         reason: str, decided_by: str, link: str | None, settings_url: str) -> tuple[str, str]:
    subject = f"Dispute {decision}: {question} ({location}, {journey})"
    lines = [
        f"{decided_by} {decision} your dispute about a visit to {location}.",
        "",
        f"Journey:  {journey}",
        f"Moment:   {moment}",
        f"Question: {question}",
    ]
    if reason:
        lines += ["", "Reason:", reason]
    if link:
        lines += ["", f"See it: {link}"]
    return subject, "\n".join(lines) + "\n" + footer(org_name, "Dispute decisions", settings_url)


def _action_lines(idea: str, journey: str, moment: str, location: str, link: str | None) -> list[str]:
    lines = ["", idea, ""]
    if journey:
        lines.append(f"Journey:  {journey}")
    if moment:
        lines.append(f"Moment:   {moment}")
    if location:
        lines.append(f"Location: {location}")
    if link:
        lines += ["", f"Open it: {link}"]
    return lines


def _short(text: str, size: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[: size - 1] + "…"


def action_due_mail(*, org_name: str, idea: str, due_date: date, journey: str, moment: str, location: str,
                    link: str | None, settings_url: str) -> tuple[str, str]:
    subject = f"Action due {due_date.isoformat()}: {_short(idea)}"
    lines = [f"An action you own is due on {due_date.isoformat()}:", *_action_lines(idea, journey, moment, location, link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, "Actions due", settings_url)


def action_overdue_mail(*, org_name: str, idea: str, due_date: date, today: date, journey: str, moment: str,
                        location: str, link: str | None, settings_url: str) -> tuple[str, str]:
    days = (today - due_date).days
    subject = f"Action overdue since {due_date.isoformat()}: {_short(idea)}"
    late = f"{days} day{'s' if days != 1 else ''} late"
    lines = [f"An action you own was due on {due_date.isoformat()} ({late}):",
             *_action_lines(idea, journey, moment, location, link)]
    return subject, "\n".join(lines) + "\n" + footer(org_name, "Actions overdue", settings_url)


def invite_mail(*, org_name: str, link: str, expires: str) -> tuple[str, str]:
    subject = f"You are invited to {org_name} on auditapp"
    body = f"Open this link to join {org_name} (valid until {expires}):\n\n{link}\n"
    return subject, body
