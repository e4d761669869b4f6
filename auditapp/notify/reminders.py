"""`flask send-reminders`: a registry of reminder providers, each queuing the reminders that are due now.

A provider is a function `provider(now) -> int` (now: naive UTC) that queues its reminders with the notices
(e.g. notify_action_due / notify_action_overdue), flushes, and returns how many it queued. Dedupe keys make running
it more often harmless: the same reminder is never queued twice. Register one at import time of its module:

    from auditapp.notify.reminders import reminder_provider

    @reminder_provider("actions")
    def action_reminders(now) -> int:
        ...
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

ReminderProvider = Callable[[datetime], int]
PROVIDERS: dict[str, ReminderProvider] = {}


def reminder_provider(name: str) -> Callable[[ReminderProvider], ReminderProvider]:
    def register(provider: ReminderProvider) -> ReminderProvider:
        PROVIDERS[name] = provider
        return provider

    return register


def run_reminders(now: datetime) -> dict[str, int]:
    """Call every provider; {provider name: reminders queued}. The caller commits."""
    return {name: provider(now) for name, provider in sorted(PROVIDERS.items())}
