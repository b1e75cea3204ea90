import socket
import uuid

import pytest

from factory import create_app

from tests.conftest import KEYS
from tests.factories import USCC, firm_data

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


def test_failed_authentication_is_limited_and_then_even_a_good_token_waits(database_url):
    client = _limited_app(database_url).test_client()
    bad = {"Authorization": "Bearer gl_" + "x" * 43}
    assert [client.get("/api/v1/firms", headers=bad).status_code for _ in range(4)] == [401] * 4
    refused = client.get("/api/v1/firms", headers=bad)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_requests_without_a_token_do_not_count_as_failed_authentication(database_url):
    client = _limited_app(database_url).test_client()
    assert all(client.get("/api/v1/firms").status_code == 401 for _ in range(10))
