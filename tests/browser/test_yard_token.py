"""The yard board page (GET /yards/ID) in a real headless Chromium: an officer posted at the yard signs in once on
/scan, and the board then loads with that same token (issue 13, item 14)."""
import os

import pytest

from core.accounts import Role
from tests.api.logistics_helpers import build_relay, clock
from tests.factories import make_token

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture
def browser_page():
    """A fresh Chromium context and page that records console errors, page errors and CSP violations."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                                "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
        page = context.new_page()
        errors = []
        # Failed loads are recorded by URL below (the browser's console line does not name it).
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
                and not r.url.endswith("/favicon.ico") else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            yield page, errors
        finally:
            context.close()
            browser.close()


def test_the_yard_board_loads_with_the_token_signed_in_on_the_scanner_page(app, session, areas, cipher, server,
                                                                            browser_page):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock())
    waiting = relay.book(clock())
    officer = make_token(session, areas, clock(), Role.OFFICER, site_id=relay.ids["yard"], name="场站检查员 王")
    page, errors = browser_page

    page.goto(f"{server}/scan")
    page.fill("#token", officer)
    page.click("#signin-btn")
    page.wait_for_selector("#scanner:not([hidden])")

    page.goto(f"{server}/yards/{relay.ids['yard']}")
    page.wait_for_function("() => document.getElementById('yard-name').textContent !== ''")
    assert page.text_content("#yard-name") == "福田接驳场 Futian relay yard"
    assert page.input_value("#token") == ""  # nothing typed here: the /scan sign-in was enough
    rows = page.eval_on_selector_all("#waiting tr", "rows => rows.slice(1).map(r => r.cells[0].textContent)")
    assert rows == [f"#{waiting.id}"]
    assert page.text_content("#occupancy").startswith("0 / 3")
    assert page.text_content("#status").startswith("更新于 ")  # the page's language (zh-CN here), from the catalog
    assert errors == []
