"""Relay-yard operator commands: `flask --app wsgi logistics check-overdue` (run it from cron)."""
import click
from flask import current_app
from flask.cli import AppGroup

from core.clock import utcnow
from logistics.services import raise_overdue_returns

logistics_cli = AppGroup("logistics", help="Relay-yard housekeeping.")


@logistics_cli.command("check-overdue")
def check_overdue():
    """Alert for inbound drivers who did not scan out at their crossing in time."""
    with current_app.extensions["db"].sessionmaker() as session:
        ids = raise_overdue_returns(session, now=utcnow())
    click.echo(f"{len(ids)} new overdue-return alert(s){': ' + ', '.join(map(str, ids)) if ids else ''}")
