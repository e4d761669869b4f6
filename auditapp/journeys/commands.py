"""Journey workbook commands of the CLI (contract section 1): import-journey and export-journey (also XLSForm)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import Organisation
from ..extensions import db
from . import services, versioning
from .models import Journey
from .services import version_to_spec
from .workbook import WorkbookError, write_journey_workbook
from .xlsform import read_any_workbook, write_xlsform

IF_EXISTS = ("fail", "new-version", "copy")


@click.command("import-journey")
@click.option("--org", "org_slug", required=True, help="Short id (slug) of the organisation.")
@click.option("--if-exists", "if_exists", type=click.Choice(IF_EXISTS), default="fail", show_default=True,
              help="When a journey with the workbook's name exists (ignoring case and spaces; archived journeys "
                   "count): fail and import nothing; new-version: publish the workbook as that journey's next "
                   "version (history kept); copy: import it as a new journey under --copy-name.")
@click.option("--copy-name", default=None, metavar="NAME",
              help="With --if-exists copy: the new journey's name (default: the first free 'Name (2)', 'Name (3)'...).")
@click.option("--journey", "journey_id", type=int, default=None, metavar="ID",
              help="With --if-exists new-version, when several journeys share the name: the one to get the version.")
@click.option("--accept-unsupported", is_flag=True, default=False,
              help="For an XLSForm: import it without the parts a journey cannot hold (repeats, calculations, "
                   "relevant and other expressions, select_multiple, geopoints, metadata...). Without this flag such "
                   "a form imports nothing, lists those parts and exits 1.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_journey_command(org_slug: str, if_exists: str, copy_name: str | None, journey_id: int | None,
                           accept_unsupported: bool, path: Path) -> None:
    """Import a journey workbook or an XLSForm as a published journey; print the journey id on the last line.

    PATH is a journey workbook (sheets journey, moments, questions) or an XLSForm from KoboToolbox or ODK (sheets
    survey, choices, settings): each outer group becomes a moment (questions outside groups go into a moment
    named General), select_one a choice scored from the choices' score column (yes/no lists: yes_no), integer and
    decimal a number with a constraint '. <= N' as its target, range 1-5 a rating, text text, image photo, note
    help, acknowledge yes_no. Every part that has no place in a journey is listed (sheet, row, what, why).

    Without --if-exists, a workbook whose journey name is taken imports nothing and exits 1. With new-version the
    id printed last is the existing journey's.
    """
    if copy_name is not None and if_exists != "copy":
        raise click.UsageError("--copy-name goes with --if-exists copy")
    if journey_id is not None and if_exists != "new-version":
        raise click.UsageError("--journey goes with --if-exists new-version")
    org = db.session.scalar(select(Organisation).where(Organisation.slug == org_slug))
    if org is None:
        raise click.ClickException(f"no organisation with slug '{org_slug}'")
    try:
        result = read_any_workbook(path, filename=path.name)
    except WorkbookError as error:
        click.echo(f"Nothing imported: {error}", err=True)
        raise SystemExit(1) from None
    spec = result.spec
    if result.unsupported:
        count = len(result.unsupported)
        listing = "\n".join(f"- {item}" for item in result.unsupported)
        if not accept_unsupported:
            click.echo(f"Nothing imported: {count} part{'s' if count != 1 else ''} of the XLSForm cannot be part of "
                       f"a journey:\n{listing}\nRun again with --accept-unsupported to import the journey without "
                       f"{'them' if count != 1 else 'it'}.", err=True)
            raise SystemExit(1)
        click.echo(f"Left out of the journey (--accept-unsupported), {count} part{'s' if count != 1 else ''}:\n"
                   f"{listing}")
    moments = len(spec.moments)
    questions = sum(len(m.questions) for m in spec.moments)
    matches = services.journeys_named(org.id, spec.name)
    if not matches:
        journey = services.import_journey(org.id, spec, source=path.name)
        db.session.commit()
        click.echo(f"Imported '{journey.name}' into {org.slug}: {moments} moments, {questions} questions, published.")
        click.echo(str(journey.id))
        return
    if if_exists == "fail":
        raise click.ClickException(
            f"nothing imported: {_describe(matches)} already exist{'s' if len(matches) == 1 else ''} in {org.slug} "
            f"(names are compared ignoring case and spaces; archived journeys count). Use --if-exists new-version "
            f"to publish the workbook as {_next_version_words(matches)}, or --if-exists copy [--copy-name NAME] to "
            f"import it as a new journey (for example '{services.free_copy_name(org.id, spec.name)}')."
        )
    if if_exists == "copy":
        try:
            name = services.check_copy_name(org.id, copy_name if copy_name is not None
                                            else services.free_copy_name(org.id, spec.name))
        except services.BuilderError as error:
            raise click.ClickException(f"nothing imported: --copy-name: {error.message}") from None
        journey = services.import_journey(org.id, spec, source=path.name, copy_name=name)
        db.session.commit()
        click.echo(f"Imported '{spec.name}' into {org.slug} as a copy named '{journey.name}': {moments} moments, "
                   f"{questions} questions, published.")
        click.echo(str(journey.id))
        return
    target = _pick(matches, journey_id)
    try:
        version = services.import_as_new_version(target, spec, source=path.name)
    except versioning.VersionError as error:  # a draft is in the way; the message says what to do
        db.session.rollback()
        raise click.ClickException(f"{error} (journey id {target.id})") from None
    except versioning.DraftConflict as conflict:
        db.session.rollback()
        raise click.ClickException(f"nothing imported: {conflict.by_name} {conflict.what} (id {target.id}) a "
                                   "moment ago; check it, then import again") from None
    db.session.commit()
    archived = " The journey is archived: restore it to offer it again." if target.archived else ""
    click.echo(f"Imported '{spec.name}' into {org.slug} as version {version.number} of journey {target.id} "
               f"'{target.name}': {moments} moments, {questions} questions, published.{archived}")
    click.echo(str(target.id))


def _describe(journeys: list[Journey]) -> str:
    parts = [f"id {j.id}{', archived' if j.archived else ''}" for j in journeys]
    if len(journeys) == 1:
        return f"a journey named '{journeys[0].name}' ({parts[0]})"
    return f"{len(journeys)} journeys named '{journeys[0].name}' ({'; '.join(parts)})"


def _next_version_words(journeys: list[Journey]) -> str:
    if len(journeys) == 1:
        return f"version {_next_number(journeys[0])} of it"
    return "the next version of one of them (say which with --journey ID)"


def _next_number(journey: Journey) -> int:
    return max((v.number for v in journey.versions), default=0) + 1


def _pick(matches: list[Journey], journey_id: int | None) -> Journey:
    if journey_id is None:
        if len(matches) > 1:
            raise click.ClickException(f"nothing imported: {_describe(matches)} exist; say which one gets the new "
                                       "version with --journey ID")
        return matches[0]
    chosen = next((j for j in matches if j.id == journey_id), None)
    if chosen is None:
        raise click.ClickException(f"nothing imported: --journey {journey_id} is not one of the journeys named "
                                   f"'{matches[0].name}': {', '.join(str(j.id) for j in matches)}")
    return chosen


@click.command("export-journey")
@click.option("--format", "fmt", type=click.Choice(("journey", "xlsform")), default="journey", show_default=True,
              help="journey: the journey workbook (sheets journey, moments, questions), which import-journey reads "
                   "back as the same journey. xlsform: an XLSForm (sheets survey, choices, settings) for ODK Collect, "
                   "Enketo, KoboToolbox or ODK Central, which pyxform converts to an XForm: each moment a group, "
                   "yes_no and mnm select_one lists with a score column, rating a 1-5 range, number a decimal "
                   "with its target as the constraint, photo an image; import-journey reads it back as the same "
                   "journey.")
@click.argument("journey_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def export_journey_command(fmt: str, journey_id: int, path: Path) -> None:
    """Write a journey's current published version as a journey workbook, or with --format xlsform an XLSForm."""
    journey = db.session.get(Journey, journey_id)
    if journey is None:
        raise click.ClickException(f"no journey with id {journey_id}")
    if journey.current_version is None:
        raise click.ClickException(f"journey {journey_id} has never been published: there is no version to export")
    spec = version_to_spec(journey, journey.current_version)
    path.write_bytes(write_xlsform(spec) if fmt == "xlsform" else write_journey_workbook(spec))
    what = "an XLSForm" if fmt == "xlsform" else "a journey workbook"
    click.echo(f"Wrote '{journey.name}' version {journey.current_version.number} to {path} as {what}.")


COMMANDS = [import_journey_command, export_journey_command]
