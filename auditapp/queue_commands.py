"""`flask worker`: a Huey consumer for this app's queue (TASK_QUEUE_URL), with the periodic scheduler."""
from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.option("--scheduler/--no-scheduler", default=True, show_default=True,
              help="Also run the periodic tasks (sweep, expired exports, scheduled scorecards, mail). Safe on several "
                   "hosts at once: each periodic job claims its work in the database.")
@click.option("--once", is_flag=True, help="Run what is queued now and the sweep, then stop (cron, debugging).")
@with_appcontext
def worker(workers: int, scheduler: bool, once: bool) -> None:
    """Run background jobs: exports, scheduled scorecards, webhooks, mail. Stop with Ctrl-C or SIGTERM."""
    from .queue import huey, run_pending, run_sweeps

    if once:
        swept = run_sweeps()
        done = run_pending()
        click.echo(f"ran {done} task(s); sweep: {swept}")
        return
    if huey.immediate:
        raise click.ClickException("TASK_QUEUE_URL=immediate runs tasks in the caller: there is nothing to consume")
    if type(huey.storage).__name__ == "MemoryStorage":
        raise click.ClickException("TASK_QUEUE_URL=memory:// is a queue inside one process: a worker cannot see it")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(logging.INFO)
    click.echo(f"worker: queue {huey.name!r} on {type(huey.storage).__name__}, {workers} thread(s), "
               f"scheduler {'on' if scheduler else 'off'} (app {current_app.name})")
    run_sweeps()  # work lost while no worker ran: do not wait for the first minute
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=scheduler,
                                    check_worker_health=True, max_delay=2.0)
    consumer.run()


COMMANDS = [worker]
