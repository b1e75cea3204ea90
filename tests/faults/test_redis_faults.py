"""Redis, which holds the shared rate-limit counters, unreachable, dying mid-run or hanging: every
rate-limited path keeps answering (the limits fail open), never a 500, a warning at most once a minute,
and a count of the checks skipped in GET /api/v1/service-status."""
import logging
import socket
import time
import uuid

import pytest

from core import ratelimit
from core.accounts import Role
from factory import create_app
from tests.conftest import KEYS
from tests.api.helpers import uscc
from tests.factories import bearer, firm_data, make_token
from tests.faults.tcp_proxy import TcpProxy

FIRM = {k: (v.value if hasattr(v, "value") else v) for k, v in firm_data().items()}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket closes


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")


def _app(database_url, redis_url, **config):
    # Our own key prefix: the shared Redis is never flushed, and other runs' counters are not ours.
    return create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS, "REDIS_URL": redis_url,
                       "RATELIMIT_KEY_PREFIX": f"faults-{uuid.uuid4()}", "RATELIMIT_REGISTRATION": "3 per hour",
                       "RATELIMIT_FAILED_AUTH": "2 per 10 minutes", "RATELIMIT_STORAGE_RETRY_SECONDS": 0.2,
                       **config})


def _register(client, i):
    return client.post("/api/v1/firms", json={**FIRM, "uscc": uscc(f"F{i:07d}"), "name": f"firm {i}"})


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _fail_open_total(client) -> int:
    return client.get("/api/v1/service-status").get_json()["rate_limits"]["fail_open_total"]


def test_with_redis_at_a_closed_port_registration_and_sign_in_keep_answering(database_url, caplog, now):
    app = _app(database_url, f"redis://127.0.0.1:{_closed_port()}/0")
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="greenlane.ratelimit")
    # More applications than the limit allows: nothing counts them, and nothing crashes.
    assert [_register(client, i).status_code for i in range(5)] == [201] * 5
    bad = {"Authorization": "Bearer gl_" + "x" * 43}
    assert [client.get("/api/v1/firms", headers=bad).status_code for _ in range(4)] == [401] * 4
    with app.app_context():
        session = app.extensions["db"].sessionmaker()
        token = make_token(session, app.extensions["areas"], now, Role.ADMIN)
        session.close()
    assert client.get("/api/v1/firms", headers=bearer(token)).status_code == 200
    with app.test_request_context():  # the per-firm limits (imports, fleet applications) fail open too
        ratelimit.consume_or_refuse("import", key="firm:1", message="no")
    warnings = [r for r in caplog.records if r.name == "greenlane.ratelimit"]
    assert len(warnings) == 1 and "fail open" in warnings[0].getMessage()
    status = client.get("/api/v1/service-status").get_json()
    assert status["rate_limits"]["storage"] == "redis" and status["rate_limits"]["fail_open_total"] >= 5


@needs_redis
def test_redis_dying_mid_run_fails_open_and_the_limit_is_back_when_it_returns(database_url):
    proxy = TcpProxy(("127.0.0.1", 6379))
    try:
        client = _app(database_url, proxy.url).test_client()
        assert [_register(client, i).status_code for i in range(2)] == [201, 201]
        assert _fail_open_total(client) == 0
        proxy.cut()
        answers = [_timed(lambda i=i: _register(client, 2 + i)) for i in range(3)]
        assert [r.status_code for r, _ in answers] == [201, 201, 201]  # over the limit, but Redis is gone
        assert max(seconds for _, seconds in answers) < 1.5
        assert _fail_open_total(client) >= 3
        proxy.resume()
        time.sleep(0.3)  # the storage is asked again after RATELIMIT_STORAGE_RETRY_SECONDS
        # The counters Redis kept (two applications) count again: one more, then 429.
        assert _register(client, 5).status_code == 201
        refused = _register(client, 6)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert client.get("/api/v1/service-status").get_json()["status"] == "ok"
    finally:
        proxy.close()


@needs_redis
def test_a_hanging_redis_costs_a_request_a_fraction_of_a_second_not_a_500(database_url):
    proxy = TcpProxy(("127.0.0.1", 6379))
    try:
        client = _app(database_url, proxy.url, RATELIMIT_STORAGE_RETRY_SECONDS=30).test_client()
        assert _register(client, 0).status_code == 201
        proxy.stall()
        proxy.drop_connections()  # the pooled connection is gone; the next one hangs
        first, slow = _timed(lambda: _register(client, 1))
        assert first.status_code == 201 and slow < 1.5
        # While the storage is known to be down it is not asked: the next requests do not wait at all.
        rest = [_timed(lambda i=i: _register(client, 2 + i)) for i in range(3)]
        assert [r.status_code for r, _ in rest] == [201] * 3 and max(s for _, s in rest) < 0.5
        bad = {"Authorization": "Bearer gl_" + "x" * 43}
        assert client.get("/api/v1/firms", headers=bad).status_code == 401
    finally:
        proxy.close()


def test_without_redis_the_start_up_log_says_the_limits_are_per_process(database_url, caplog):
    caplog.set_level(logging.INFO, logger="greenlane.ratelimit")
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS, })
    said = [r.getMessage() for r in caplog.records if r.name == "greenlane.ratelimit"]
    assert any("per process" in line and "GREENLANE_REDIS_URL" in line for line in said), said
    limits = app.test_client().get("/api/v1/service-status").get_json()["rate_limits"]
    assert limits["storage"] == "memory" and limits["shared"] is False


@needs_redis
def test_with_redis_the_start_up_log_says_the_limits_are_shared(database_url, caplog):
    caplog.set_level(logging.INFO, logger="greenlane.ratelimit")
    app = _app(database_url, "redis://127.0.0.1:6379/0")
    said = [r.getMessage() for r in caplog.records if r.name == "greenlane.ratelimit"]
    assert any("shared" in line for line in said) and not any("per process" in line for line in said)
    assert app.test_client().get("/api/v1/service-status").get_json()["rate_limits"]["shared"] is True
