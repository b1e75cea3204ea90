"""Operator commands: `flask --app wsgi users ...` and `flask --app wsgi audit verify`."""
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import accounts, audit, keys
from core.accounts import SYSTEM, FirmRole, Role
from core.clock import utcnow
from core.errors import Conflict, InvalidState, NotFound, Unprocessable
from core.passwords import normalise_username, password_problems
from core.signing import b64url, b64url_decode


def _session():
    return current_app.extensions["db"].sessionmaker()


users = AppGroup("users", help="Manage accounts and their API tokens.")
audit_cli = AppGroup("audit", help="Check the audit log.")


@users.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--area", "area_code", help="area code (regulators)")
@click.option("--firm", "firm_id", type=int, help="firm id (firm accounts)")
@click.option("--site", "site_id", type=int, help="site id (officer and yard accounts)")
@click.option("--firm-role", type=click.Choice([r.value for r in FirmRole]),
              help="manager or clerk (firm accounts; default manager)")
@click.option("--username", help="a user name to sign in on the web with (needs --password-prompt)")
@click.option("--password-prompt", is_flag=True, help="ask for the web password (hidden, twice)")
def create_user(name, role, area_code, firm_id, site_id, firm_role, username, password_prompt):
    """Create an account; its token is printed once, as the last line."""
    if (username is None) != (not password_prompt):
        raise click.UsageError("--username and --password-prompt go together")
    password_hash = None
    if username is not None:
        try:
            username = normalise_username(username)
        except ValueError as e:
            raise click.UsageError(f"username: {e}") from e
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problems = password_problems(password, username=username)
        if problems:
            raise click.UsageError(f"password: {'; '.join(problems)}")
        password_hash = current_app.extensions["passwords"].hash(password)
    with _session() as session:
        # Sites belong to checkpoints, which core does not import: the factory hands over their finder.
        if site_id is not None and current_app.extensions["find_site"](session, site_id) is None:
            raise click.UsageError(f"site {site_id} does not exist (see GET /api/v1/sites)")
        try:
            account, token = accounts.create_account(
                session, name=name, role=Role(role), area_code=area_code, firm_id=firm_id, site_id=site_id,
                areas=current_app.extensions["areas"], actor=SYSTEM, now=utcnow(), username=username,
                password_hash=password_hash, firm_role=FirmRole(firm_role) if firm_role else None)
        except Unprocessable as e:
            raise click.UsageError("; ".join(f"{k}: {', '.join(v)}" for k, v in e.fields.items())) from e
        except Conflict as e:
            raise click.ClickException(e.message) from e
    signs_in = f" signs in as {account.username}" if account.username else ""
    click.echo(f"created account {account.id} ({account.role.value}) {account.name}{signs_in}")
    click.echo(token)


@users.command("revoke")
@click.argument("account_id", type=int)
def revoke_user(account_id):
    """End an account's token and its web sessions."""
    with _session() as session:
        try:
            accounts.revoke_account(session, account_id, actor=SYSTEM, now=utcnow())
        except NotFound as e:
            raise click.ClickException(e.message) from e
    click.echo(f"revoked account {account_id}")


@users.command("list")
def list_users():
    """Accounts with their bindings (never their tokens)."""
    with _session() as session:
        for a in accounts.list_accounts(session):
            state = "revoked" if a.revoked_at else "active"
            click.echo(f"{a.id}\t{a.role.value}\t{state}\tarea={a.area_code or '-'}\tfirm={a.firm_id or '-'}"
                       f"\tsite={a.site_id or '-'}\t{a.name}")


@audit_cli.command("verify")
def verify_audit():
    """Recompute the hash chain; exit 1 and name the first broken entry."""
    with _session() as session:
        result = audit.check_chain(session)  # the same check as the console's chain check page
    broken = result.broken
    if broken is not None:
        click.echo(f"audit chain BROKEN at entry seq={broken.seq} (id={broken.entry_id}): {broken.problem}",
                   err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {result.entries} entries")


keys_cli = AppGroup("keys", help="Manage the Ed25519 signing keys.")


@keys_cli.command("rotate")
def rotate_keys():
    """A new key signs from now on; what older keys signed stays valid."""
    with _session() as session:
        key = keys.rotate_key(session, current_app.extensions["keyring"], actor=SYSTEM, now=utcnow())
    click.echo(f"new active key {key.kid}")


@keys_cli.command("revoke")
@click.argument("kid")
@click.option("--reason", default="revoked by operator", show_default=True)
def revoke_keys(kid, reason):
    """Revoke KID (hex or base64url): everything it signed is rejected from now on.

    A base64url kid may start with "-": put "--" before it (keys revoke -- -AbC...)."""
    with _session() as session:
        try:
            key = keys.revoke_key(session, _kid_hex(kid), actor=SYSTEM, now=utcnow(), reason=reason)
        except (NotFound, InvalidState) as e:
            raise click.ClickException(e.message) from e
    click.echo(f"revoked key {key.kid}")


@keys_cli.command("list")
def list_keys():
    """Key ids, status and dates (never private material)."""
    with _session() as session:
        for k in keys.list_keys(session):
            click.echo(f"{k.kid}\t{b64url(bytes.fromhex(k.kid))}\t{k.status.value}\t{k.not_before:%Y-%m-%d %H:%M}"
                       f"\t{k.not_after or ''}")


def _kid_hex(kid: str) -> str:
    if len(kid) == 16 and all(c in "0123456789abcdefABCDEF" for c in kid):
        return kid.lower()
    try:
        return b64url_decode(kid).hex()
    except ValueError as e:
        raise click.BadParameter("give the kid as 16 hex digits or base64url") from e


def register(app: Flask) -> None:
    for group in (users, audit_cli, keys_cli):
        app.cli.add_command(group)
