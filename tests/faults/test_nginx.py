"""Debian's nginx in front of two app hosts, with the proxy settings the city deploys (deploy/greenlane-proxy.conf,
included unchanged): each client is known by its own address (GREENLANE_TRUSTED_PROXIES=1), a forged
X-Forwarded-For changes nothing, and requests are spread over both hosts. Clients come from different
loopback addresses (127.0.0.2, 127.0.0.3, ...), as different phones would.

Skips when nginx is absent (`make nginx` installs it; `make test` does) or when there is no Redis (the two
hosts share their rate-limit counters through it, as in production)."""
import datetime
import http.client
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.faults.hosts import ROOT, Host, free_port, host_env
from tests.faults.test_two_hosts import _redis_up

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
pytestmark = [pytest.mark.skipif(NGINX is None, reason="nginx is absent: `make nginx` installs Debian's package"),
              pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")]
PROXY_CONF = ROOT / "deploy" / "greenlane-proxy.conf"


def _nginx_conf(tmp: Path, port: int, upstreams: list[int]) -> str:
    temp = "\n".join(f"    {kind}_temp_path {tmp / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    return f"""{'user root;' if os.geteuid() == 0 else ''}
worker_processes 1;
daemon off;
pid {tmp / 'nginx.pid'};
error_log {tmp / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    log_format upstreams '$remote_addr $upstream_addr $status';
    access_log {tmp / 'access.log'} upstreams;
{temp}
    upstream greenlane {{
{servers}
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {PROXY_CONF};
    }}
}}
"""


class Nginx:
    def __init__(self, tmp: Path, upstreams: list[int]):
        self.tmp, self.port = tmp, free_port()
        self.conf = tmp / "nginx.conf"
        self.conf.write_text(_nginx_conf(tmp, self.port, upstreams))
        self.proc = subprocess.Popen([NGINX, "-e", "stderr", "-p", str(tmp), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=(tmp / "stderr.log").open("wb"),
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(tmp / 'stderr.log').read_text(errors='replace')}")
            try:
                if self.request("127.0.0.1", "GET", "/api/v1/service-status")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def request(self, client: str, method: str, path: str, headers: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20, source_address=(client, 0))
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def upstreams_used(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in (self.tmp / "access.log").read_text().splitlines():
            upstream = line.split()[1]
            counts[upstream] = counts.get(upstream, 0) + 1
        return counts

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture
def city(database_url, tmp_path):
    env = host_env(database_url, REDIS_URL="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=f"nginx-{uuid.uuid4()}",
                   TRUSTED_PROXIES=1, RATELIMIT_FAILED_AUTH="2 per 10 minutes",
                   RATELIMIT_FAILED_AUTH_TOKEN="1000 per hour")
    hosts = [Host(env, tmp_path / "a.log", workers=1), Host(env, tmp_path / "b.log", workers=1)]
    proxy = None
    try:
        for h in hosts:
            h.wait_ready(timeout=90)  # a shared machine can be slow to import the app
        proxy = Nginx(tmp_path, [h.port for h in hosts])
        yield proxy, hosts
    finally:
        if proxy is not None:
            proxy.stop()
        for h in hosts:
            h.stop()


def _bad_token(proxy: Nginx, client: str, i: int, forwarded: str | None = None) -> int:
    headers = {"Authorization": f"Bearer gl_{i:04d}" + "z" * 39}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return proxy.request(client, "GET", "/api/v1/firms", headers)[0]


def test_behind_nginx_each_client_is_known_by_its_own_address_and_cannot_forge_another(city):
    proxy, _ = city
    # Client A runs into the failed-token limit (2 per 10 minutes per address, counted by both hosts).
    assert [_bad_token(proxy, "127.0.0.2", i) for i in range(3)] == [401, 401, 429]
    # Client B, behind the same nginx, is not locked out by A: the hosts see two addresses, not nginx's.
    assert _bad_token(proxy, "127.0.0.3", 10) == 401
    # A forged X-Forwarded-For gets A nowhere: nginx appends the address it saw, and only that one counts.
    assert _bad_token(proxy, "127.0.0.2", 11, forwarded="198.51.100.7") == 429
    assert _bad_token(proxy, "127.0.0.2", 12, forwarded="127.0.0.9, 127.0.0.8") == 429
    # Nor can client C get A's lock put on itself... or put its failures on anyone else by naming them.
    assert [_bad_token(proxy, "127.0.0.4", 20 + i, forwarded="127.0.0.3") for i in range(3)] == [401, 401, 429]
    assert _bad_token(proxy, "127.0.0.3", 30) == 401  # B had one failure of its own, and none of C's


def test_nginx_spreads_requests_over_both_hosts(city):
    proxy, hosts = city
    for _ in range(20):
        assert proxy.request("127.0.0.5", "GET", "/api/v1/service-status")[0] == 200
    used = proxy.upstreams_used()
    assert {f"127.0.0.1:{h.port}" for h in hosts} <= set(used), used
    assert min(used[f"127.0.0.1:{h.port}"] for h in hosts) >= 5, used  # round robin: about half each


def test_the_production_nginx_conf_is_valid_nginx(tmp_path):
    """deploy/nginx.conf as shipped (TLS, upstream, redirect), with its paths pointed at a scratch directory."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pass.example.gov.cn")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "greenlane.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "greenlane.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                               serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    site = (ROOT / "deploy" / "nginx.conf").read_text().replace("/etc/ssl/", f"{tmp_path}/").replace(
        "/etc/nginx/greenlane-proxy.conf", str(PROXY_CONF))
    (tmp_path / "greenlane.conf").write_text(site)
    temp = "\n".join(f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
                                         f"http {{\naccess_log off;\n{temp}\ninclude {tmp_path / 'greenlane.conf'};\n}}\n")
    result = subprocess.run([NGINX, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
