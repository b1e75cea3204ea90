"""The backup and restore drill of docs/deploy.md: pg_dump the live database, restore it into a fresh one,
then `flask audit verify` passes and passes issued before the backup get the same verdicts there."""
import os
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from factory import create_app
from tests.api.checkpoint_helpers import build_post
from tests.conftest import KEYS
from tests.factories import bearer

pytestmark = [
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                       reason="needs PostgreSQL (TEST_DATABASE_URL)"),
    pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                       reason="pg_dump/pg_restore not installed"),
]


def _libpq(url: str) -> list[str]:
    parts = urlsplit(url)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


def _scan(client, post, vpass, scan_id):
    r = client.post("/api/v1/scans", json={"qr": vpass.qr, "client_scan_id": scan_id}, headers=post.headers("officer_a"))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["verdict"], r.get_json()["reasons"]


def test_a_restored_backup_verifies_its_audit_chain_and_gives_the_same_verdicts(app, client, session, areas, cipher,
                                                                                database_url, tmp_path, now):
    post = build_post(session, areas, cipher, app.extensions["keyring"], now)
    good, revoked = post.issue(0), post.issue(1)
    assert client.post(f"/api/v1/passes/{revoked.id}/revoke", json={"reason": "备份演练 drill"},
                       headers=post.headers("admin")).status_code == 200
    before = [_scan(client, post, good, "before-1"), _scan(client, post, revoked, "before-2")]
    assert before[0] == ("accept", []) and "revoked" in before[1][1]
    session.close()

    dump = tmp_path / "greenlane.dump"
    source = urlsplit(database_url).path.lstrip("/")
    fresh = f"{source}_restore"  # this test's own scratch database, dropped at the end
    subprocess.run(["pg_dump", *_libpq(database_url), "-Fc", "-f", str(dump), source], check=True, timeout=120)
    admin = create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}"'))
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    restored_url = database_url.rsplit("/", 1)[0] + f"/{fresh}"
    restored = None
    try:
        subprocess.run(["pg_restore", *_libpq(database_url), "--no-owner", "-d", fresh, str(dump)], check=True,
                       timeout=120)
        restored = create_app({"DATABASE_URL": restored_url, "TESTING": True, **KEYS})
        verified = restored.test_cli_runner().invoke(args=["audit", "verify"])
        assert verified.exit_code == 0 and "intact" in verified.output, verified.output
        other = restored.test_client()
        after = [_scan(other, post, good, "after-1"), _scan(other, post, revoked, "after-2")]
        assert after == before
        # The restored copy knows the scans made before the backup too (a repeat gives the first answer).
        first = other.post("/api/v1/scans", json={"qr": good.qr, "client_scan_id": "before-1"},
                           headers=bearer(post.tokens["officer_a"])).get_json()
        assert first["verdict"] == "accept" and first["client_scan_id"] == "before-1"
    finally:
        if restored is not None:
            restored.extensions["db"].engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()
