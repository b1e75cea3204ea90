"""Fixtures shared by the browser tests: the live server, Debian's Chromium, a signed-in session."""
import os
import threading

import pytest
from werkzeug.serving import make_server

from core import websessions
from core.clock import utcnow
from tests.browser.shots import CHROMIUM_ARGS

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000


@pytest.fixture
def server(app):
    """The real app on 127.0.0.1 and a free port, in a thread; shut down after the test."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


@pytest.fixture
def browser():
    """Debian's headless Chromium (Playwright only drives it); the test is skipped where it is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def session_cookie(app, server):
    """session_cookie(account) → the cookie of a fresh web session of `account`, for a browser context
    (pages behind sign-in are photographed without typing the password each time)."""
    def make(account) -> list[dict]:
        with app.app_context():
            db = app.extensions["db"].sessionmaker()
            try:
                token = websessions.start_session(db, account, policy=app.extensions["session_policy"],
                                                  now=utcnow())[1]
            finally:
                db.close()
        return [{"name": "greenlane_session", "value": token, "url": server, "httpOnly": True, "sameSite": "Lax"}]
    return make
