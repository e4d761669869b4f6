"""The words of the notification mails (auditapp.notify.messages): plain values in, subject and body out."""
from __future__ import annotations

import smtplib
from datetime import date

import pytest

from auditapp.notify import messages
from auditapp.notify.messages import CriticalFailure


def test_critical_fail_mail_names_every_failed_question_and_links_to_the_review():
    subject, body = messages.critical_fail_mail(
        org_name="Acme", location="001 City Centre", journey="Café order", visit_time="2026-03-10 10:30 (Europe/Amsterdam)",
        score="49.9 (miserable)", review_url="https://a.example/visits/review/7", settings_url="https://a.example/s",
        failures=[CriticalFailure("Payment", "Itemised quote?", "no", note="None given"),
                  CriticalFailure("Ordering", "Counter clean?", "no")])
    assert subject == "Critical fail at 001 City Centre: Ordering, Payment (Café order)"
    assert '- Payment: "Itemised quote?", answered no\n  Note: None given\n' in body
    assert '- Ordering: "Counter clean?", answered no\n' in body
    assert "Score:    49.9 (miserable)" in body
    assert "Review the visit: https://a.example/visits/review/7" in body
    assert body.rstrip().endswith("turn it off there: https://a.example/s")
    assert '"Critical fails"' in body


@pytest.mark.parametrize(("today", "late"), [(date(2026, 3, 9), "1 day late"), (date(2026, 3, 18), "10 days late")])
def test_action_overdue_mail_counts_the_days(today, late):
    subject, body = messages.action_overdue_mail(
        org_name="Acme", idea="Call every patient back\nbefore noon, from a short checklist instead of a script",
        due_date=date(2026, 3, 8), today=today, journey="Dentist", moment="Follow-up", location="", link=None,
        settings_url="https://a.example/s")
    assert subject.startswith("Action overdue since 2026-03-08: Call every patient back before noon")
    assert len(subject) <= 100 and subject.endswith("…")
    assert f"({late})" in body
    assert "Location:" not in body and "Open it:" not in body  # nothing said about what is not known


def test_dispute_decided_mail_says_the_decision():
    subject, body = messages.dispute_decided_mail(
        org_name="Acme", location="001", journey="J", moment="M", question="Q?", decision="declined", reason="",
        decided_by="Max", link=None, settings_url="https://a.example/s")
    assert subject == "Dispute declined: Q? (001, J)"
    assert body.startswith("Max declined your dispute about a visit to 001.")
    assert "Reason:" not in body


def test_invite_mail_holds_the_link():
    subject, body = messages.invite_mail(org_name="Acme", link="https://a.example/invite/abc", expires="2026-03-17 10:00 UTC")
    assert subject == "You are invited to Acme on auditapp"
    assert "https://a.example/invite/abc" in body and "2026-03-17 10:00 UTC" in body


@pytest.mark.parametrize(("raw", "clean"), [
    ("Critical fail at 001\r\nBcc: victim@example.com", "Critical fail at 001 Bcc: victim@example.com"),
    ("  spaced\tout  ", "spaced out"),
    ("x" * 400, "x" * 299 + "…"),
])
def test_subjects_are_one_line_and_bounded(raw, clean):
    from auditapp.notify.outbox import clean_subject

    assert clean_subject(raw) == clean


@pytest.mark.parametrize(("error", "permanent"), [
    (smtplib.SMTPRecipientsRefused({"a@x": (550, b"No such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x": (450, b"Mailbox busy")}), False),
    (smtplib.SMTPDataError(554, b"Rejected as spam"), True),
    (smtplib.SMTPDataError(451, b"Try later"), False),
    (smtplib.SMTPSenderRefused(550, b"Not our domain", "audits@x"), False),  # MAIL_FROM is ours to fix: retry
    (smtplib.SMTPServerDisconnected("gone"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
])
def test_only_a_5xx_about_the_message_itself_is_given_up_at_once(error, permanent):
    from auditapp.notify.delivery import _permanent, describe_error

    assert _permanent(error) is permanent
    assert describe_error(error)  # always something to show on the Outbox page

