"""Helpers for the portal page tests: a firm with a signed-in web user, a second firm, hostile strings."""
import re

from core.accounts import FirmRole, Role
from tests.api.helpers import uscc
from tests.api.web_helpers import html_of, sign_in
from tests.factories import WEB_PASSWORD, make_firm, make_web_user

# Names a hostile person may type; every page must show them as text.
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "\u202Eevil", "长" * 2000]


def firm_user(client, session, areas, now, *, username="hjx.manager", firm_role=FirmRole.MANAGER,
              approved=True, **firm_overrides):
    """An approved firm and one of its web users, signed in on `client`. Returns (firm, account)."""
    firm, _ = make_firm(session, areas, now, approved=approved, **firm_overrides)
    account = make_web_user(session, areas, now, Role.FIRM, username=username, firm_id=firm.id,
                            firm_role=firm_role, name="陈经理")
    assert sign_in(client, username, WEB_PASSWORD).status_code == 303
    return firm, account


def other_firm(session, areas, now):
    """A second firm (Nanshan) that the signed-in user must never see."""
    firm, _ = make_firm(session, areas, now, uscc=uscc("MA5G0009"), name="南山冷链", area_code="440305")
    return firm


def assert_inert(html: str):
    """No hostile markup got through as markup: only escaped text."""
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;img" in html


def field_error(html: str, name: str) -> str | None:
    """The message shown beside a field, or None."""
    match = re.search(rf'id="f-{name}-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else None


def value_of(html: str, name: str) -> str | None:
    match = re.search(rf'<input id="f-{name}" name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def page(client, url, **headers):
    response = client.get(url, headers={"Accept-Language": "zh-CN", **headers})
    return response, html_of(response)
