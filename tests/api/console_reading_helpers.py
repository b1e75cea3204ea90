"""Helpers for the console's reading pages (alerts, tracing, audit): people signed in to the console, the
rows a page lists, and a world of scans with formulas for names (for the CSV exports)."""
import re
from datetime import timedelta

from core.accounts import SYSTEM, Role
from core.db import transaction
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from tests.api.checkpoint_helpers import NANYUAN, build_post, clock, scan
from tests.api.web_helpers import csrf_token_of, html_of, sign_in
from tests.factories import WEB_PASSWORD, make_token, make_web_user
from whitelist.models import Firm

FORMULAS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_SITE = '=HYPERLINK("http://evil.example","点我")'
HOSTILE_FIRM = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_PLATE = "+1+2"

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


def scanned_world(app, client, session, areas, cipher, now) -> dict:
    """Two passes of one firm (driver 0 on the first, driver 1 on the second), scanned at the Futian site A,
    at the Pingshan site B and at a Futian site with a formula for a name; the firm's name is one too."""
    post = build_post(session, areas, cipher, app.extensions["keyring"], now)
    evil = create_site(session, data=dict(name=HOSTILE_SITE, kind=SiteKind.CHECKPOINT, area_code=NANYUAN, lat=22.54,
                                          lon=114.08, capacity=None), actor=SYSTEM, areas=areas, now=now)
    post.tokens["officer_evil"] = make_token(session, areas, now, Role.OFFICER, site_id=evil.id)
    with transaction(session):
        session.get(Firm, post.firm_id).name = HOSTILE_FIRM
    at = clock()
    first, second = (post.issue(v, drivers=(v,), at=at - timedelta(hours=4)) for v in (0, 1))
    scans = {"first_a": scan(client, post, first.qr, "officer_a", scanned_at=at - timedelta(hours=3)),
             "second_a": scan(client, post, second.qr, "officer_a", scanned_at=at - timedelta(hours=2)),
             "first_b": scan(client, post, first.qr, "officer_b", scanned_at=at - timedelta(minutes=30)),
             "first_evil": scan(client, post, first.qr, "officer_evil", scanned_at=at - timedelta(hours=1),
                                plate_seen=HOSTILE_PLATE)}
    return {"post": post, "first": first, "second": second,
            "scan": {name: str(s["scan_id"]) for name, s in scans.items()}}
