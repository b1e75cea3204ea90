"""The scanner page through a PostgreSQL outage: while the database is unreachable (every connection refused,
through a TCP proxy this test owns) the server answers 503 and the page verifies on the device and queues
each scan; when the database is back the queue drains by itself and every scan is stored exactly once.

Needs PostgreSQL (TEST_DATABASE_URL) and Debian's chromium; skipped otherwise."""
import os
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from checkpoints.models import Scan
from factory import create_app
from tests.browser import test_scanner_page as scanner_page
from tests.conftest import KEYS
from tests.faults.tcp_proxy import TcpProxy
from tests.faults.test_postgres_faults import _through

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")
DRAIN_MS = 45_000  # the page uploads its queue every 15 s
world, browser_page = scanner_page.world, scanner_page.browser_page  # the scanner page tests' fixtures
scan, wait_until = scanner_page.scan, scanner_page.wait_until


@pytest.fixture
def proxy(database_url):
    parts = urlsplit(database_url)
    p = TcpProxy((parts.hostname, parts.port or 5432))
    yield p
    p.close()


@pytest.fixture
def app(database_url, proxy):
    """The app reaches PostgreSQL only through the proxy, so the test can take the database away."""
    app = create_app({"DATABASE_URL": _through(proxy, database_url), "TESTING": True, **KEYS})
    yield app
    app.extensions["db"].engine.dispose()


def stored(database_url) -> list[Scan]:
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS})  # directly, not through the proxy
    try:
        with app.extensions["db"].sessionmaker() as s:
            return list(s.scalars(select(Scan).order_by(Scan.id)))
    finally:
        app.extensions["db"].engine.dispose()


def test_the_scanner_page_queues_through_a_database_outage_and_drains_after_it(database_url, proxy, server, world,
                                                                               browser_page):
    context, page, errors = browser_page
    answers = []
    page.on("response", lambda r: answers.append((r.status, r.url)) if "/api/v1/" in r.url else None)
    page.goto(f"{server}/scan")
    page.fill("#token", world["officer"])
    page.click("#signin-btn")
    page.wait_for_selector("#scanner:not([hidden])")
    wait_until(page, "() => document.getElementById('last-sync').textContent !== '—'", errors)
    online = scan(page, world["valid"]["qr"])
    assert (online["verdict"], online["mode"]) == ("accept", "online")

    proxy.cut()  # PostgreSQL gone: open connections reset, new ones refused
    during = [scan(page, world[name]["qr"]) for name in ("valid", "late", "valid")]
    assert [(v["verdict"], v["mode"]) for v in during] == [("accept", "offline")] * 3
    assert int(page.text_content("#queue-len")) == 3
    refused = [status for status, url in answers if url.endswith("/api/v1/scans")][1:]
    assert refused and set(refused) == {503}, answers  # the server said "later", never a 500
    queued = page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.queue')).map(q => q.scan.client_scan_id)")
    assert len(stored(database_url)) == 1

    proxy.resume()
    page.wait_for_function("() => document.getElementById('queue-len').textContent === '0'", timeout=DRAIN_MS)
    scans = stored(database_url)
    assert len(scans) == 4
    assert sorted(s.client_scan_id for s in scans[1:]) == sorted(queued)
    assert [s.verdict.value for s in scans] == ["accept"] * 4
    assert all(status < 500 or status == 503 for status, _ in answers), answers
    # The page said the uploads failed while the database was down (console errors are only the 503 loads).
    assert all("503" in e or "Failed to load resource" in e for e in errors), errors
