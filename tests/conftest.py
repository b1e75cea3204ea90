"""Fixtures: a migrated database per test (SQLite file copy, or truncated PostgreSQL), app, client, now."""
import base64
import logging
import os
import re
import shutil
from datetime import datetime, timezone

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from core import counters
from factory import create_app
from core.config import normalise_database_url

KEYS = {
    "DATA_KEY": base64.b64encode(bytes(range(32))).decode(),
    "INDEX_KEY": base64.b64encode(bytes(range(32, 64))).decode(),
    "KEY_PASSPHRASE": "test passphrase",
}
# Reference tables survive between tests (sites: only the shipped crossings; tests add theirs and
# they are deleted below); everything else is emptied.
KEEP_TABLES = {"areas", "alembic_version", "sites"}


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return normalise_database_url(url) if url else None


def _app_for(url: str, **extra):
    return create_app({"DATABASE_URL": url, "TESTING": True, **KEYS, **extra})


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Run the real migrations once: into a template SQLite file, or into the PostgreSQL test database."""
    pg = _postgres_url()
    if pg:
        engine = create_engine(pg)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = pg
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.db'}"
    app = _app_for(url)
    with app.app_context():
        upgrade()
    app.extensions["db"].engine.dispose()
    return url


@pytest.fixture
def database_url(database_template, tmp_path):
    if database_template.startswith("sqlite"):
        copy = tmp_path / "test.db"
        shutil.copy(database_template.removeprefix("sqlite:///"), copy)
        return f"sqlite:///{copy}"
    engine = create_engine(database_template)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) if r[0] not in KEEP_TABLES]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("DELETE FROM sites WHERE ref_code IS NULL"))
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
        for name, value in counters.ALL.items():
            conn.execute(text("INSERT INTO counters (name, value) VALUES (:n, :v)"), {"n": name, "v": value})
    engine.dispose()
    return database_template


@pytest.fixture
def app(database_url):
    app = _app_for(database_url)
    yield app
    app.extensions["db"].engine.dispose()


@pytest.fixture
def app_factory(database_url):
    """Another app on the test's database with extra settings (a demo instance, a second factor rule)."""
    made = []

    def make(**extra):
        made.append(_app_for(database_url, **extra))
        return made[-1]
    yield make
    for other in made:
        other.extensions["db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    # No app context is kept open: the test client must get a fresh one (and a fresh `g`) per request.
    s = app.extensions["db"].sessionmaker()
    yield s
    s.close()


@pytest.fixture
def areas(app):
    return app.extensions["areas"]


@pytest.fixture
def cipher(app):
    return app.extensions["pii"]


@pytest.fixture
def ring(app):
    return app.extensions["keyring"]


@pytest.fixture
def now():
    return datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)


# ---- secrets never reach the logs ------------------------------------------------------------------
# Every log record of the whole run is kept and searched at the end for anything secret: API tokens,
# private keys, and the clear identity numbers the tests use.
class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 -- a broken record must not hide the others
            self.lines.append(str(record.msg))


LOG_RECORDER = _Recorder()
LOG_RECORDER.setFormatter(logging.Formatter("%(name)s %(message)s"))
logging.getLogger().addHandler(LOG_RECORDER)
SECRET_PATTERNS = [re.compile(r"gl_[A-Za-z0-9_-]{40,}"), re.compile(r"gls_[A-Za-z0-9_-]{40,}"), re.compile(r"PRIVATE KEY"),
                   re.compile(r"\b\d{17}[\dX]\b"), re.compile(r"(?<!\\)\b[A-Z]{1,2}\d{6}\(?[\dA]\)?")]


def secret_leaks(lines: list[str]) -> list[str]:
    return [line for line in lines if any(p.search(line) for p in SECRET_PATTERNS)]


def pytest_sessionfinish(session, exitstatus):
    leaks = secret_leaks(LOG_RECORDER.lines)
    if leaks:
        print("\nSECRETS IN LOGS:\n" + "\n".join(leaks[:20]))
        session.exitstatus = 1
