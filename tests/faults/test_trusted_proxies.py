"""The client address behind a reverse proxy: opt-in GREENLANE_TRUSTED_PROXIES=<hops> (Werkzeug ProxyFix).
A direct client forging X-Forwarded-For changes nothing, with or without the setting."""
import pytest

from factory import StartupError, create_app
from tests.conftest import KEYS

PROXY = "10.0.0.2"  # the reverse proxy as the app sees it


def _app(database_url, **config):
    return create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS,
                       "RATELIMIT_FAILED_AUTH": "2 per 10 minutes", "RATELIMIT_FAILED_AUTH_TOKEN": "1000 per hour",
                       **config})


def _bad_token(client, i, *, remote, forwarded=None):
    headers = {"Authorization": f"Bearer gl_{i:04d}" + "y" * 39}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.get("/api/v1/firms", headers=headers, environ_base={"REMOTE_ADDR": remote}).status_code


def test_without_the_setting_a_forged_forwarded_for_does_not_change_the_address(database_url):
    client = _app(database_url).test_client()
    forged = [_bad_token(client, i, remote="203.0.113.9", forwarded=f"198.51.100.{i}") for i in range(4)]
    assert forged == [401, 401, 429, 429]  # one address, whatever the header claims


def test_behind_one_trusted_proxy_each_client_has_its_own_limit(database_url):
    client = _app(database_url, TRUSTED_PROXIES=1).test_client()
    first = [_bad_token(client, i, remote=PROXY, forwarded="198.51.100.1") for i in range(3)]
    assert first == [401, 401, 429]
    # Another client behind the same proxy is not locked out by the first one.
    assert _bad_token(client, 9, remote=PROXY, forwarded="198.51.100.2") == 401


def test_behind_a_trusted_proxy_a_client_cannot_forge_its_way_out_of_the_limit(database_url):
    client = _app(database_url, TRUSTED_PROXIES=1).test_client()
    # The proxy appends the address it saw; only that last, trusted, value is used.
    forged = [_bad_token(client, i, remote=PROXY, forwarded=f"192.0.2.{i}, 198.51.100.7") for i in range(4)]
    assert forged == [401, 401, 429, 429]


def test_a_hop_count_that_is_not_a_small_whole_number_stops_the_start(database_url):
    for wrong in ("yes", -1, 11):
        with pytest.raises(StartupError, match="GREENLANE_TRUSTED_PROXIES"):
            _app(database_url, TRUSTED_PROXIES=wrong)
