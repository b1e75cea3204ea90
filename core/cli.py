"""Operator commands: `flask --app wsgi users ...` and `flask --app wsgi audit verify`."""
import sys

import click
from flask import Flask, current_app

from core import accounts, audit
from core.accounts import SYSTEM, Role
from core.clock import utcnow
from core.errors import NotFound, Unprocessable


def _session():
    return current_app.extensions["db"].sessionmaker()


users = click.Group("users", help="Manage accounts and their API tokens.")
audit_cli = click.Group("audit", help="Check the audit log.")


@users.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--area", "area_code", help="area code (regulators)")
@click.option("--firm", "firm_id", type=int, help="firm id (firm accounts)")
@click.option("--site", "site_id", type=int, help="site id (officer and yard accounts)")
def create_user(name, role, area_code, firm_id, site_id):
    """Create an account; its token is printed once, as the last line."""
    with _session() as session:
        try:
            account, token = accounts.create_account(
                session, name=name, role=Role(role), area_code=area_code, firm_id=firm_id, site_id=site_id,
                areas=current_app.extensions["areas"], actor=SYSTEM, now=utcnow())
        except Unprocessable as e:
            raise click.UsageError("; ".join(f"{k}: {', '.join(v)}" for k, v in e.fields.items())) from e
    click.echo(f"created account {account.id} ({account.role.value}) {account.name}")
    click.echo(token)


@users.command("revoke")
@click.argument("account_id", type=int)
def revoke_user(account_id):
    """End an account's token."""
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
        broken = audit.verify_chain(session)
        count = session.get(audit.AuditHead, 1)
    if broken is not None:
        click.echo(f"audit chain BROKEN at entry seq={broken.seq} (id={broken.entry_id}): {broken.problem}",
                   err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {count.seq if count else 0} entries")


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(audit_cli)
