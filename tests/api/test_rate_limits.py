import socket
import uuid
from datetime import datetime, timezone

import pytest

from core.accounts import Role
from factory import create_app

from tests.conftest import KEYS
from tests.factories import USCC, bearer, firm_data, make_token

FIRM = {k: (v.value if hasattr(v, "value") else v) for k, v in firm_data().items()}


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def _limited_app(database_url, **config):
    return create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS, "RATELIMIT_REGISTRATION": "3 per hour",
                       "RATELIMIT_FAILED_AUTH": "4 per 10 minutes", **config})


def _register(client, i):
    return client.post("/api/v1/firms", json={**FIRM, "uscc": USCC[i % len(USCC)], "name": f"firm {i}"})


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_anonymous_registration_is_limited_per_address_with_retry_after(database_url, storage):
    if storage == "redis" and not _redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    extra = {"REDIS_URL": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4()}"} \
        if storage == "redis" else {}
    client = _limited_app(database_url, **extra).test_client()
    statuses = [_register(client, i).status_code for i in range(3)]
    assert statuses == [201, 201, 201]
    refused = _register(client, 3)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0 and refused.get_json()["code"] == "rate_limited"


def _good_token(app, now=datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)):
    session = app.extensions["db"].sessionmaker()
    try:
        return make_token(session, app.extensions["areas"], now, Role.ADMIN)
    finally:
        session.close()


def _bad(i: int) -> dict:
    return {"Authorization": f"Bearer gl_{i:04d}" + "x" * 39}


def test_failed_authentication_is_limited_per_address_but_a_good_token_is_never_refused(database_url):
    app = _limited_app(database_url, RATELIMIT_FAILED_AUTH_TOKEN="100 per 10 minutes")
    client, token = app.test_client(), _good_token(app)
    assert [client.get("/api/v1/firms", headers=_bad(i)).status_code for i in range(4)] == [401] * 4
    refused = client.get("/api/v1/firms", headers=_bad(4))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Behind a shared NAT the officers' own tokens still work: the limit only ever refuses bad tokens.
    assert [client.get("/api/v1/firms", headers=bearer(token)).status_code for _ in range(3)] == [200] * 3
    # Another address is not affected by this one's failures.
    other = client.get("/api/v1/firms", headers=_bad(5), environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 401


def test_one_bad_token_sent_again_and_again_is_limited_on_its_own(database_url):
    app = _limited_app(database_url, RATELIMIT_FAILED_AUTH="100 per 10 minutes",
                       RATELIMIT_FAILED_AUTH_TOKEN="3 per 10 minutes")
    client = app.test_client()
    stale = _bad(0)  # e.g. a scanner still holding a revoked token
    assert [client.get("/api/v1/firms", headers=stale).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert client.get("/api/v1/firms", headers=_bad(1)).status_code == 401


def test_requests_without_a_token_do_not_count_as_failed_authentication(database_url):
    client = _limited_app(database_url).test_client()
    assert all(client.get("/api/v1/firms").status_code == 401 for _ in range(10))
