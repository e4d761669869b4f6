"""Mail commands of the CLI: send the outbox (cron, later the task queue) and queue the due reminders."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from ..timeutil import utcnow
from .delivery import deliver_pending
from .reminders import PROVIDERS, run_reminders


@click.command("send-mail")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="At most this many messages in this run.")
@with_appcontext
def send_mail(limit: int) -> None:
    """Send the e-mails waiting in the outbox; failures are retried later with a backoff. Run it from cron."""
    report = deliver_pending(limit=limit)
    if report.not_configured:
        raise click.ClickException(str(report))
    click.echo(str(report))


@click.command("send-reminders")
@click.option("--no-send", is_flag=True, help="Only queue the reminders; `send-mail` sends them.")
@with_appcontext
def send_reminders(no_send: bool) -> None:
    """Queue the reminders that are due (actions due or overdue...), then send the outbox. Run it daily or hourly."""
    if not PROVIDERS:
        click.echo("No reminder providers are registered: nothing to queue.")
    counts = run_reminders(utcnow())
    db.session.commit()
    for name, count in counts.items():
        click.echo(f"{name}: {count} reminder(s) queued")
    if not no_send:
        click.echo(str(deliver_pending(limit=100_000)))


COMMANDS = [send_mail, send_reminders]
