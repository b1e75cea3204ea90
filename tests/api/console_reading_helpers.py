"""Helpers for the console's reading pages (alerts, tracing, audit): people signed in to the console, and
the text of a page."""
import re

from core.accounts import Role
from tests.api.web_helpers import csrf_token_of, html_of, sign_in
from tests.factories import WEB_PASSWORD, make_web_user

AREAS = {"city": "440300", "futian": "440304", "nanshan": "440305", "nanyuan": "440304001"}


def console_client(app, session, areas, now, who: str):
    """A test client signed in to the console: a regulator of AREAS[who], or the auditor or admin."""
    role = {"auditor": Role.AUDITOR, "admin": Role.ADMIN}.get(who, Role.REGULATOR)
    make_web_user(session, areas, now, role, username=f"console.{who}", name=f"监管 {who}",
                  area_code=AREAS.get(who) if role is Role.REGULATOR else None)
    client = app.test_client()
    assert sign_in(client, f"console.{who}", WEB_PASSWORD).status_code == 303
    return client


def token_of(client, url: str) -> str:
    return csrf_token_of(html_of(client.get(url)))


def ids_on(html: str, prefix: str) -> set[str]:
    """The ids of the rows a list page shows (id="scan-12" → "12")."""
    return set(re.findall(rf'id="{prefix}-([^"]+)"', html))
