"""E-mail notifications through an outbox: queued with the change that causes them, sent after the commit.

Why an outbox: a message is a row added in the SAME transaction as the state change it announces, so none is lost
(it is in the database once the change is) and none is sent for a change that was rolled back. Delivery happens
after the commit: right after the request that queued it (best effort: a mail failure never fails the request),
and by `flask send-mail` from cron (and later the task queue), which retries failures with a backoff.

API for the other domains (services flush, callers commit, as everywhere):

- `outbox.queue(kind, user, subject, body, *, key, org_id, html=None) -> OutboxMessage | None`
  Queue one message. `kind` is a key of `kinds.KINDS` (critical_fail, dispute_opened, dispute_decided, action_due,
  action_overdue). `key` is the dedupe key, unique over the whole outbox ("<kind>:<object id>:...:<user id>"): a
  key queued before queues nothing. Skipped (None) as well for a user who turned the kind off, an inactive user,
  or a user who is not a member of `org_id`.
- `notices.notify_critical_fail(evaluation)`: called by `evaluations.services.submit_evaluation` for every stored
  or resubmitted evaluation; mails `recipients.org_managers(...)` when a shopper evaluation has a critical fail, and
  `recipients.site_managers(...)` (location and regional managers) once it is approved.
- `notices.notify_dispute_opened(org_id=, dispute_id=, evaluation_id=, location_name=, journey_name=,
  moment_name=, question_text=, reason=, opened_by_name=, recipients=[User...], link=None)`
- `notices.notify_dispute_decided(org_id=, dispute_id=, location_name=, journey_name=, moment_name=,
  question_text=, decision="accepted"|"declined", reason=, decided_by_name=, recipients=[User...], link=None)`
- `notices.notify_action_due(action, owner, link=None)` and `notices.notify_action_overdue(action, owner, today=,
  link=None)`: `action` is a `results.models.Action` or a `notices.ActionNotice`; `owner` a User.
- `recipients.location_managers(org_id, location_id)`: THE choice of who looks after a location: the
  organisation's admins and managers plus `recipients.site_managers(org_id, location_id)`, the location managers
  of the location and the regional managers of its region.
  `recipients.org_managers(org_id)`: admins and managers, the side that decides disputes.
- `reminders.reminder_provider(name)`: registers `provider(now) -> int` for `flask send-reminders`.
- `delivery.deliver_pending(limit=100, ids=None) -> DeliveryReport`: sends due messages; safe to run in several
  processes at once. Without MAIL_SERVER it sends nothing and the messages wait (Outbox page for admins).

Pages: /account/notifications (every user: one checkbox per kind of their role), /admin/outbox (admins: recent
messages with status and last error, "try again"). Commands: `flask send-mail`, `flask send-reminders`.
"""
from flask import Blueprint

bp = Blueprint("notify", __name__)

# Views are imported by auditapp.web.register_web, so importing a model never drags in the views.
