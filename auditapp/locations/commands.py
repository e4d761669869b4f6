"""`import-locations --org SLUG FILE`: a .csv or .xlsx with code,name,region; re-importing updates by code."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import Organisation
from ..extensions import db
from .services import import_locations


@click.command("import-locations")
@click.option("--org", "org_slug", required=True, help="Slug of the organisation, e.g. acme.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_locations_command(org_slug: str, file: Path) -> None:
    """Import locations from FILE (.csv or .xlsx, columns code,name,region). Nothing is imported if any row is bad."""
    org = db.session.scalar(select(Organisation).where(Organisation.slug == org_slug.strip().lower()))
    if org is None:
        raise click.ClickException(f"no organisation with slug '{org_slug}'")
    outcome = import_locations(org.id, file.read_bytes(), file.name)
    for note in outcome.parsed.notes:
        click.echo(f"note: {note}", err=True)
    if outcome.summary is None:
        db.session.rollback()
        for problem in outcome.problems:
            click.echo(f"{file.name}: {problem}", err=True)
        count = len(outcome.problems)
        raise click.ClickException(f"{count} problem{'s' if count != 1 else ''} found: nothing was imported")
    db.session.commit()
    click.echo(f"Locations for {org.slug}: {outcome.summary}")


COMMANDS = [import_locations_command]
