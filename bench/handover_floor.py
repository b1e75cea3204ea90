"""The floor under the yard's events: SQLite's own work for the bench's journeys, without the services.

`python -m bench.handover_floor [N]` records N journeys through the services (bench/handover_world.py) while
capturing every statement, with its parameters as the driver received them, and every commit; then it
replays the captured journeys with a bare `sqlite3` connection (same pragmas) on a fresh migrated database
and times that. What the services take beyond the replay is Python: SQLAlchemy, the session, the rules, the
audit hash and the pass check (docs/performance.md, "Yard events")."""
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

from bench.handover_world import COUNTED, STEPS, record_handovers
from bench.world import migrated_app, sqlite_url


def floor(workdir: Path, n: int) -> dict:
    app = migrated_app(sqlite_url(workdir, "services"))
    engine, captured = app.extensions["db"].engine, []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: captured.append((sql, params, many)))
    event.listen(engine, "commit", lambda conn: captured.append(("COMMIT", (), False)))
    event.listen(engine, "rollback", lambda conn: captured.append(("ROLLBACK", (), False)))
    services = record_handovers(app, n)
    engine.dispose()
    migrated_app(sqlite_url(workdir, "replay")).extensions["db"].engine.dispose()
    replay = sqlite3.connect(workdir / "replay.db", isolation_level=None)
    for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
        replay.execute(pragma)
    # The journeys start with the transaction of the first booking; what comes before is the world's set-up.
    first = next(i for i, (sql, _, _) in enumerate(captured) if sql.startswith("INSERT INTO handovers"))
    first = max(i for i in range(first) if captured[i][0].startswith("BEGIN"))
    _play(replay, captured[:first])
    started, cpu_started = time.perf_counter(), time.process_time()
    _play(replay, captured[first:])
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    events = (n + COUNTED) * (1 + len(STEPS))
    return {"services": services, "replayed_events": events,
            "replayed_statements": sum(1 for sql, _, _ in captured[first:] if sql not in ("COMMIT", "ROLLBACK")),
            "replay_cpu_ms_per_event": round(1000 * cpu_seconds / events, 3),
            "replay_events_per_s": round(events / seconds), "load_average": round(os.getloadavg()[0], 1)}


def _play(connection: sqlite3.Connection, statements: list) -> None:
    for sql, params, many in statements:
        if sql in ("COMMIT", "ROLLBACK"):
            if connection.in_transaction:
                connection.execute(sql)
        else:
            (connection.executemany if many else connection.execute)(sql, params).fetchall()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="greenlane-floor-") as directory:
        print(floor(Path(directory), int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
