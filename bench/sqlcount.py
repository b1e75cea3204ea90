"""Count the SQL statements an engine runs (a SQLAlchemy event listener): the bench reports statements per
scan, and tests/integration/test_scan_statements.py pins that number so it cannot silently grow. Statements
sent straight to the driver (core.db.send, DriverStatement) are reported to the same listeners;
tests/integration/test_driver_statements.py checks the count against what the driver itself ran."""
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, event


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every statement sent to the database inside the block (BEGIN and COMMIT included when the
    driver sends them as SQL, as our SQLite set-up does for BEGIN)."""
    seen: list[str] = []

    def _record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


def statements_per_scan(app, *, token: str, qr: str, warm_up: int = 3) -> list[str]:
    """The statements of one recorded scan through the real route, after a few warm-up scans (so that
    per-process caches are in the state they are in under load)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(warm_up):
        assert client.post("/api/v1/scans", json={"qr": qr}, headers=headers).status_code == 200
    with statements(app.extensions["db"].engine) as seen:
        response = client.post("/api/v1/scans", json={"qr": qr}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return seen
