"""Export commands: the Excel scorecard (the same file as the download button and the API) and responses as CSV."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import Organisation
from ..extensions import db
from ..locations.models import Location
from ..results.queries import FilterError, NotFound, load_journey
from .csvexport import responses_csv
from .queries import load_scorecard, responses
from .views import export_options
from .workbook import write_scorecard

_OPTION_NAMES = {"journey_id": "--journey", "location_id": "--location", "from": "--from", "to": "--to"}


def _filter_options(command):
    for option in reversed([
        click.option("--org", "org_slug", required=True, help="The organisation's short id (slug)."),
        click.option("--journey", "journey_id", required=True, help="Journey id."),
        click.option("--from", "date_from", default="", help="First day, YYYY-MM-DD (the organisation's time zone)."),
        click.option("--to", "date_to", default="", help="Last day, YYYY-MM-DD (inclusive)."),
        click.option("--location", default="", help="A location code (or id): only that location."),
        click.option("--region", default="", help="Only the locations of this region."),
        click.option("--source", default="", help="shopper, staff or all (default shopper: secret shoppers only)."),
        click.option("--status", default="", help="counted (every evaluation that counts, the default) or approved."),
    ]):
        command = option(command)
    return command


def _resolve(org_slug: str, journey_id: str, date_from: str, date_to: str, location: str, region: str, source: str,
             status: str, **extra: str):
    org = db.session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        raise click.ClickException(f"no organisation with slug {org_slug!r}")
    location_id = ""
    if location:
        found = db.session.scalar(select(Location).where(Location.org_id == org.id, Location.code == location))
        location_id = str(found.id) if found else location  # not a code: try it as an id (checked below)
    args = {"journey_id": journey_id, "from": date_from, "to": date_to, "location_id": location_id, "region": region,
            "source": source, "status": status, **extra}
    try:
        filters, per_location, grain = export_options({k: v for k, v in args.items() if v}, org)
        load_journey(org, filters.journey_id)
    except FilterError as error:
        problems = "\n".join(f"  {_OPTION_NAMES.get(i['field'], '--' + i['field'])}: {i['message']}" for i in error.errors)
        raise click.ClickException(f"the options have problems:\n{problems}") from None
    except NotFound:
        raise click.ClickException(f"journey {journey_id} is not in organisation {org_slug}") from None
    return org, filters, per_location, grain


def _write_atomically(path: str, write, mode: str = "wb", **open_args) -> None:
    """Write to a temporary file beside `path`, then rename: a failed export never leaves half a file."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", suffix=".part")
    try:
        with os.fdopen(handle, mode, **open_args) as out:
            write(out)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command("export-scorecard")
@_filter_options
@click.option("--per-location", is_flag=True, help="Add one Summary-like sheet per location.")
@click.option("--grain", default="", help="Trend periods: month or week (default as on the dashboard).")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_scorecard(file: str, per_location: bool, grain: str, **options: str) -> None:
    """Write the Excel scorecard of a journey to FILE.xlsx (the dashboard's filters as options)."""
    org, filters, per_location, grain = _resolve(**options, per_location="yes" if per_location else "", grain=grain)
    data = load_scorecard(org, filters, grain=grain)
    _write_atomically(file, lambda out: write_scorecard(out, data, per_location=per_location))
    stated = ", ".join(f"{label.lower()} {value.lower()}" for label, value in filters.describe())
    click.echo(f"Scorecard of {data.journey} ({data.evaluations} evaluations; {stated}) written to {file}")


@click.command("export-responses")
@_filter_options
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_responses(file: str, **options: str) -> None:
    """Write every answer of a journey to FILE.csv (UTF-8 with BOM, one row per answer)."""
    org, filters, _, _ = _resolve(**options)

    def write(out):
        for chunk in responses_csv(responses(org, filters), org.timezone or "UTC"):
            out.write(chunk)

    _write_atomically(file, write, "w", encoding="utf-8", newline="")
    stated = ", ".join(f"{label.lower()} {value.lower()}" for label, value in filters.describe())
    click.echo(f"Responses ({stated}) written to {file}")


COMMANDS = [export_scorecard, export_responses]
