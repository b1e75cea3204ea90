"""Two app hosts (two gunicorn processes, two workers each, on their own ports) on one database and one
Redis, as the city runs them: one signing key however they race to create it, a change made through host
A seen by the very next scan on host B, rate limits counted together, one audit chain, one status list."""
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core import audit
from core.keys import KeyStatus, SigningKey
from tests.api.checkpoint_helpers import KENGZI, NANYUAN, build_post
from tests.api.helpers import uscc
from tests.factories import firm_data
from tests.faults.hosts import ROOT, Host, host_env


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
FIRM = {k: (v.value if hasattr(v, "value") else v) for k, v in firm_data().items()}


@pytest.fixture
def hosts(database_url, tmp_path):
    env = host_env(database_url, REDIS_URL="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=f"faults-{uuid.uuid4()}",
                   RATELIMIT_REGISTRATION="4 per hour")
    started = [Host(env, tmp_path / "a.log"), Host(env, tmp_path / "b.log")]
    try:
        yield [h.wait_ready() for h in started]
    finally:
        for h in started:
            h.stop()


def _scan(host, post, vpass, who="officer_a"):
    status, _, body = host.request("POST", "/api/v1/scans", json_body={"qr": vpass.qr}, token=post.tokens[who])
    assert status == 200, body
    return body["verdict"], body["reasons"]


def _status_list_version(host) -> str:
    status, headers, _ = host.request("GET", "/api/v1/status-list")
    assert status == 200
    return headers["ETag"].strip('"').split("-")[1]


def test_two_hosts_on_one_database_and_one_redis_behave_as_one(hosts, app, session, areas, cipher, database_url, now):
    a, b = hosts
    # 1. First use: both hosts race to create the signing key; exactly one becomes active.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: (a, b)[i % 2].request("GET", "/api/v1/status-list")[0], range(8)))
    assert answers == [200] * 8
    assert session.scalar(select(func.count()).select_from(SigningKey)
                          .where(SigningKey.status == KeyStatus.ACTIVE)) == 1
    assert a.request("GET", "/api/v1/trust-list")[2] == b.request("GET", "/api/v1/trust-list")[2]

    # 2. A change through host A is seen by the next scan on host B (each pass scanned on B first, so any
    # per-process state B keeps is warm).
    post = build_post(session, areas, cipher, app.extensions["keyring"], now)
    revoked, suspended, sealed, keyed = (post.issue(0), post.issue(1), post.issue(2, scope=("440304",)),
                                         post.issue(3, scope=(KENGZI,)))  # a district-wide pass: a sealed street refuses it
    for vpass, who in ((revoked, "officer_a"), (suspended, "officer_a"), (sealed, "officer_a"), (keyed, "officer_b")):
        assert _scan(b, post, vpass, who) == ("accept", [])
    version_before = _status_list_version(b)
    for vpass, action in ((revoked, "revoke"), (suspended, "suspend")):
        status, _, body = a.request("POST", f"/api/v1/passes/{vpass.id}/{action}", json_body={"reason": "测试 test"},
                                    token=post.tokens["admin"])
        assert status == 200, body
    assert "revoked" in _scan(b, post, revoked)[1]
    assert "suspended" in _scan(b, post, suspended)[1]
    status, _, body = a.request("PUT", f"/api/v1/areas/{NANYUAN}/risk", json_body={"level": "sealed", "reason": "疫情"},
                                token=post.tokens["city"])
    assert status == 200, body
    assert "sealed_zone" in _scan(b, post, sealed)[1]
    # 3. The status list has one version, whichever host signs it, and it moved with the changes.
    assert _status_list_version(a) == _status_list_version(b) != version_before
    # 4. A key revoked by the operator (the CLI, on any host) is refused at the next scan on B.
    kid = a.request("GET", "/api/v1/trust-list")[2]["keys"][0]["kid"]
    revoked_key = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "keys", "revoke", "--", kid],
                                 cwd=ROOT, env=host_env(database_url), capture_output=True, text=True, timeout=60)
    assert revoked_key.returncode == 0, revoked_key.stderr[-500:]
    assert "key_revoked" in _scan(b, post, keyed, "officer_b")[1]

    # 5. Rate limits are counted together: 4 anonymous applications per address per hour, across hosts.
    def register(i):
        return (a, b)[i % 2].request("POST", "/api/v1/firms", json_body={**FIRM, "uscc": uscc(f"H{i:07d}"),
                                                                         "name": f"firm {i}"})[0]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(register, range(8)))
    assert sorted(statuses) == [201] * 4 + [429] * 4

    # 6. One audit chain, written by four processes at once: intact and gap-free.
    session.expire_all()
    assert audit.verify_chain(session) is None
    head = session.get(audit.AuditHead, 1)
    assert head.seq == session.scalar(select(func.count()).select_from(audit.AuditEntry))
