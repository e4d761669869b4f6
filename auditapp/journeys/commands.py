"""Journey workbook commands of the CLI (contract section 1): import-journey and export-journey."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import Organisation
from ..extensions import db
from .models import Journey
from .services import import_journey, version_to_spec
from .workbook import WorkbookError, read_journey_workbook, write_journey_workbook


@click.command("import-journey")
@click.option("--org", "org_slug", required=True, help="Short id (slug) of the organisation.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_journey_command(org_slug: str, path: Path) -> None:
    """Import a journey workbook as a published journey; print the new journey id on the last line."""
    org = db.session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        raise click.ClickException(f"no organisation with slug '{org_slug}'")
    try:
        spec = read_journey_workbook(path)
    except WorkbookError as error:
        click.echo(f"Nothing imported: {error}", err=True)
        raise SystemExit(1) from None
    journey = import_journey(org.id, spec, source=path.name)
    db.session.commit()
    moments = len(spec.moments)
    questions = sum(len(m.questions) for m in spec.moments)
    click.echo(f"Imported '{journey.name}' into {org.slug}: {moments} moments, {questions} questions, published.")
    click.echo(str(journey.id))


@click.command("export-journey")
@click.argument("journey_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_journey_command(journey_id: int, path: Path) -> None:
    """Write a journey's current published version as a journey workbook."""
    journey = db.session.get(Journey, journey_id)
    if journey is None:
        raise click.ClickException(f"no journey with id {journey_id}")
    if journey.current_version is None:
        raise click.ClickException(f"journey {journey_id} has never been published: there is no version to export")
    path.write_bytes(write_journey_workbook(version_to_spec(journey, journey.current_version)))
    click.echo(f"Wrote '{journey.name}' version {journey.current_version.number} to {path}.")


COMMANDS = [import_journey_command, export_journey_command]
