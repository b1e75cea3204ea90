"""Fixtures shared by the browser tests."""
import threading

import pytest
from werkzeug.serving import make_server


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
