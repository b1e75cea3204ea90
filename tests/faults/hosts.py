"""Run app hosts as a city would: `gunicorn wsgi:app` processes on their own ports, against the test's
database, each in its own process group so a test can stop exactly what it started."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import KEYS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_env(database_url: str, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "GREENLANE_DEMO")}
    env.update({"DATABASE_URL": database_url, "GREENLANE_LOG_LEVEL": "WARNING",
                **{f"GREENLANE_{k}": v for k, v in KEYS.items()},
                **{f"GREENLANE_{k}": str(v) for k, v in settings.items()}})
    return env


class Host:
    def __init__(self, env: dict, log: Path, *, workers: int = 2):
        self.port, self.log = free_port(), log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "4",
                 "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 45) -> "Host":  # a start, not a figure: generous for a loaded box
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                if self.request("GET", "/api/v1/service-status")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer: {self.log.read_text(errors='replace')[-2000:]}")

    def request(self, method: str, path: str, *, json_body=None, token: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            all_headers = dict(headers or {})
            body = None
            if json_body is not None:
                body, all_headers["Content-Type"] = json.dumps(json_body), "application/json"
            if token:
                all_headers["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            kind = response.getheader("Content-Type", "")
            return response.status, dict(response.getheaders()), json.loads(raw) if "json" in kind else raw
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
