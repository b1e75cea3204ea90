"""PostgreSQL failing under a stream of scans: its backends terminated (pg_terminate_backend, on this
test's database only) and then a restart (every connection reset and new ones refused for two seconds,
through a proxy this test owns). Every answer is 200 or 503 with Retry-After, never a 500; reads are
retried on a fresh connection; every scan a device sent is stored exactly once after its retries."""
import os
import threading
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from checkpoints.models import Scan
from core import db
from core.db import get_session
from factory import create_app
from tests.api.checkpoint_helpers import build_post
from tests.conftest import KEYS
from tests.faults.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                                reason="needs PostgreSQL (TEST_DATABASE_URL)")
DEVICES, SCANS_PER_DEVICE = 3, 30


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f"@{parts.hostname}:{parts.port or 5432}", f"@127.0.0.1:{proxy.port}", 1)


def _terminate_backends(admin_url: str) -> int:
    """End every other connection to this test's database (never another database's)."""
    engine = create_engine(admin_url)
    with engine.connect() as conn:
        ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    engine.dispose()
    return ended


class Device:
    """A scanner with an offline queue: sends each scan until the server acknowledges it."""

    def __init__(self, app, name, headers, qr):
        self.client, self.name, self.headers, self.qr = app.test_client(), name, headers, qr
        self.statuses: list[int] = []
        self.acknowledged: dict[str, int] = {}
        self.bad: list[tuple[int, str]] = []

    def run(self):
        for i in range(SCANS_PER_DEVICE):
            scan_id = f"{self.name}-{i}"
            for _ in range(200):
                r = self.client.post("/api/v1/scans", json={"qr": self.qr, "client_scan_id": scan_id},
                                     headers=self.headers)
                self.statuses.append(r.status_code)
                if r.status_code == 200:
                    self.acknowledged[scan_id] = r.get_json()["scan_id"]
                    break
                if r.status_code != 503 or "Retry-After" not in r.headers \
                        or r.mimetype != "application/problem+json":
                    self.bad.append((r.status_code, r.get_data(as_text=True)[:200]))
                    break
                time.sleep(0.05)  # the page waits Retry-After; the test only needs to come back soon
            time.sleep(0.01)


class Reader:
    def __init__(self, app, headers):
        self.client, self.headers = app.test_client(), headers
        self.statuses: list[int] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.statuses.append(self.client.get("/api/v1/firms", headers=self.headers).status_code)
            time.sleep(0.02)


def test_scans_survive_terminated_backends_and_a_restart_with_503s_and_no_lost_scan(database_url, now):
    proxy = TcpProxy(("127.0.0.1", urlsplit(database_url).port or 5432))
    app = create_app({"DATABASE_URL": _through(proxy, database_url), "TESTING": True, **KEYS})
    try:
        session = app.extensions["db"].sessionmaker()
        post = build_post(session, app.extensions["areas"], app.extensions["pii"], app.extensions["keyring"], now)
        qr = post.issue(0).qr
        session.close()
        devices = [Device(app, f"dev{d}", post.headers("officer_a"), qr) for d in range(DEVICES)]
        reader = Reader(app, post.headers("city"))
        threads = [threading.Thread(target=d.run) for d in devices] + [threading.Thread(target=reader.run)]
        for t in threads:
            t.start()
        time.sleep(0.8)
        terminated = _terminate_backends(database_url)
        time.sleep(0.5)
        proxy.cut()  # the restart: connections reset, new ones refused
        time.sleep(2.0)
        down_statuses = sum(len(d.statuses) for d in devices)
        proxy.resume()
        for t in threads[:-1]:
            t.join(timeout=60)
        reader.stop.set()
        threads[-1].join(timeout=10)
        assert not any(t.is_alive() for t in threads) and terminated >= 1
        statuses = [s for d in devices for s in d.statuses] + reader.statuses
        assert [bad for d in devices for bad in d.bad] == []
        assert set(statuses) <= {200, 503} and 503 in statuses and down_statuses > 0
        acknowledged = {k: v for d in devices for k, v in d.acknowledged.items()}
        assert len(acknowledged) == DEVICES * SCANS_PER_DEVICE  # every queued scan went through in the end
        check = create_engine(database_url)
        with check.connect() as conn:
            rows = conn.execute(select(Scan.client_scan_id, Scan.id)).all()
            assert conn.execute(select(func.count()).select_from(Scan)).scalar() == len(acknowledged)
        check.dispose()
        assert dict(rows) == acknowledged  # each acknowledged scan stored once, under the id it was given
        # The reads during the outage were answered too: 200 before and after, 503 while it was down.
        assert reader.statuses.count(200) > 0 and set(reader.statuses) <= {200, 503}
    finally:
        proxy.close()
        app.extensions["db"].engine.dispose()


def _app_with_a_dying_read(database_url):
    """A route whose first run loses its connection (its backend is terminated under it)."""
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS})
    runs = []

    def read():
        runs.append(1)
        session = get_session()
        if len(runs) == 1:
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return {"runs": len(runs), "one": session.execute(text("SELECT 1")).scalar()}

    app.add_url_rule("/_faults/read", view_func=read, methods=["GET", "POST"])
    db.retry_reads(app)
    return app


def test_a_read_that_loses_its_connection_is_run_again_on_a_fresh_one(database_url):
    app = _app_with_a_dying_read(database_url)
    answer = app.test_client().get("/_faults/read")
    assert answer.status_code == 200 and answer.get_json() == {"runs": 2, "one": 1}
    app.extensions["db"].engine.dispose()


def test_a_write_that_loses_its_connection_is_not_retried_but_answered_503(database_url):
    app = _app_with_a_dying_read(database_url)
    client = app.test_client()
    answer = client.post("/_faults/read")
    assert answer.status_code == 503 and answer.get_json()["code"] == "database_unavailable"
    assert client.post("/_faults/read").get_json() == {"runs": 2, "one": 1}  # the client's own retry works
    app.extensions["db"].engine.dispose()
