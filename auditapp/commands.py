"""Account commands of the CLI (contract section 1); each domain adds its own in <package>/commands.py."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from .audit import record
from .auth.models import ROLE_LABELS, ROLES
from .auth.services import AccountError, add_user, create_api_token, find_user, get_or_create_org
from .extensions import db


@click.command("create-admin")
@click.option("--org-name", required=True, help="Organisation name (used when the organisation is new).")
@click.option("--org-slug", required=True, help="Short id of the organisation, e.g. acme.")
@click.option("--email", required=True)
@click.option("--name", default="", help="The admin's display name.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin(org_name: str, org_slug: str, email: str, name: str, password: str) -> None:
    """Create the organisation (if new) and an admin user in it."""
    if len(password) < 10:
        raise click.ClickException("the password must have at least 10 characters")
    try:
        org = get_or_create_org(org_name, org_slug)
        existing = find_user(email)
        old_role = existing.membership_in(org.id).role if existing and existing.membership_in(org.id) else None
        user = add_user(org, email, name, password, "admin")
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    if old_role is None:
        record("user.created", user, org_id=org.id, summary=f"{user.email} added as admin from the command line")
    elif old_role != "admin":
        record("user.role_changed", user, org_id=org.id,
               summary=f"{user.email}: {old_role} -> admin (from the command line)")
    db.session.commit()
    click.echo(f"Admin {user.email} in organisation {org.slug} (id {org.id}).")


@click.command("create-token")
@click.option("--email", required=True)
@click.option("--name", default="", help="A label for the token.")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Print a new API token for that user, alone on its line. Only its hash is stored."""
    user = find_user(email)
    if user is None or not user.memberships:
        raise click.ClickException(f"no user with email {email} in any organisation")
    _, token = create_api_token(user, user.memberships[0].org_id, name or "cli")
    db.session.commit()
    click.echo(token)


@click.command("create-user")
@click.option("--org", "org_slug", required=True, help="The organisation's short id (slug).")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", default="", help="The display name (for a new user).")
@click.option("--locations", default="", help="Location codes, comma separated: a location manager's locations "
                                              "(or a staff member's one location).")
@click.option("--regions", default="", help="Region names, comma separated: a regional manager's regions.")
@click.option("--password", default=None, help="For a new user; asked for when not given.")
@with_appcontext
def create_user(org_slug: str, email: str, role: str, name: str, locations: str, regions: str,
                password: str | None) -> None:
    """Create a member of an organisation, or change the role (and places) of an existing one."""
    from sqlalchemy import select

    from .auth.models import Organisation
    from .locations.models import Location

    org = db.session.scalar(select(Organisation).where(Organisation.slug == org_slug.strip().lower()))
    if org is None:
        raise click.ClickException(f"no organisation with slug {org_slug!r}")
    codes = [c.strip() for c in locations.split(",") if c.strip()]
    found = {loc.code: loc for loc in db.session.scalars(select(Location).where(Location.org_id == org.id,
                                                                                  Location.code.in_(codes or [""])))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise click.ClickException(f"no location with code {', '.join(missing)} in {org.slug}")
    if role == "staff" and len(codes) > 1:
        raise click.ClickException("staff belong to one location: give one code with --locations")
    existing = find_user(email)
    old_role = existing.membership_in(org.id).role if existing and existing.membership_in(org.id) else None
    if existing is None and password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if existing is None and len(password or "") < 10:
        raise click.ClickException("the password must have at least 10 characters")
    try:
        user = add_user(org, email, name, password or "", role,
                        location_id=found[codes[0]].id if role == "staff" and codes else None,
                        location_ids=[found[c].id for c in codes] if role == "location_manager" else (),
                        regions=[r.strip() for r in regions.split(",")] if role == "regional_manager" else ())
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    membership = user.membership_in(org.id)
    places = ", ".join(membership.region_names) or ", ".join(c for c in codes)
    if old_role is None:
        record("user.created", user, org_id=org.id, summary=f"{user.email} added as {role} from the command line"
               + (f" ({places})" if places else ""))
    else:
        record("user.role_changed", user, org_id=org.id,
               summary=f"{user.email}: {old_role} -> {role} (from the command line)" + (f" ({places})" if places else ""))
    db.session.commit()
    click.echo(f"{ROLE_LABELS[role]} {user.email} in organisation {org.slug}" + (f": {places}" if places else "") + ".")


COMMANDS = [create_admin, create_token, create_user]


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Exit quietly (status 0) when the database already has data.")
@with_appcontext
def demo(if_empty: bool) -> None:
    """Fill an empty database with a realistic demo organisation; refuse to touch a non-empty one."""
    from .demo import build_demo, database_is_empty

    if not database_is_empty():
        if if_empty:
            click.echo("The database has data already: demo data not added.")
            return
        raise click.ClickException("the database is not empty: demo data is only added to an empty database")
    result = build_demo()
    db.session.commit()
    for line in result.lines:
        click.echo(line)


COMMANDS.append(demo)


@click.command("backup")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the .tar.gz (default: instance/backups/auditapp-<time>.tar.gz).")
@with_appcontext
def backup(output: Path | None) -> None:
    """Back up the database (SQLite online backup or pg_dump) and the uploaded photos into one .tar.gz."""
    from flask import current_app

    from .backup import BackupError, create_backup
    from .timeutil import utcnow

    if output is None:
        output = Path(current_app.instance_path) / "backups" / f"auditapp-{utcnow():%Y%m%d-%H%M%S}.tar.gz"
    try:
        info = create_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["UPLOAD_DIR"], output)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup of the {info.dialect} database and {info.photos} photo files: {info.size_bytes} bytes")
    click.echo(str(info.path))


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the current data.")
@with_appcontext
def restore(archive: Path, yes: bool) -> None:
    """Replace the database and photos with those of a backup. Stop the app first."""
    from flask import current_app

    from .backup import BackupError, restore_backup

    if not yes:
        click.confirm("This replaces every record in the database with the backup. Go on?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no open connection may hold the database while it is replaced
    try:
        manifest = restore_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["UPLOAD_DIR"], archive)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored the backup made {manifest['created_at']}.")


COMMANDS += [backup, restore]

from .queue_commands import worker  # noqa: E402

COMMANDS.append(worker)
