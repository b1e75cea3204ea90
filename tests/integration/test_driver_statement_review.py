"""Review probes for core.db.DriverStatement / send(): a lost connection, rows of the clone check's UNION,
and the audit's hand conversion against the JSON round trip."""
import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from checkpoints.services import _NEAREST_ACCEPTED
from core import counters
from core.audit import _as_stored
from core.db import DriverStatement, _Plan, transaction


def test_a_lost_postgresql_connection_is_invalidated_and_the_next_transaction_works(app, session):
    engine = app.extensions["db"].engine
    if engine.dialect.name != "postgresql":
        pytest.skip("needs a server whose backend can be terminated")
    with transaction(session):
        counters.snapshot(session)
    with pytest.raises(OperationalError) as raised, transaction(session):
        pid = session.connection().exec_driver_sql("select pg_backend_pid()").scalar()
        with engine.connect() as killer:
            killer.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
        session.info.pop("counters_snapshot", None)
        counters.snapshot(session)  # a DriverStatement on the dead connection
    assert raised.value.connection_invalidated
    with transaction(session):  # a fresh connection from the pool, not the dead one
        assert session.connection().exec_driver_sql("select 1").scalar() == 1


def test_the_clone_checks_union_converts_every_column_as_core(app, session):
    """The UNION's scanned_at must come back aware (UTCDateTime's result processor) and rank as int."""
    dialect = app.extensions["db"].engine.dialect
    plan = _Plan(_NEAREST_ACCEPTED.statement, dialect, {"pass_id": "x", "at": datetime.now(timezone.utc)})
    assert plan.row_type._fields == ("rank", "id", "site_id", "scanned_at")
    assert 3 in dict(plan.row_converters)
    with transaction(session):
        raw = (0, 1, 2, datetime(2026, 12, 4, 1, 0, 0))
        row = plan.row(raw if dialect.name != "sqlite" else (0, 1, 2, "2026-12-04 01:00:00.000000"))
    assert row.scanned_at == datetime(2026, 12, 4, 1, 0, 0, tzinfo=timezone.utc)


def _random_value(rng: random.Random):
    choice = rng.randrange(9)
    if choice == 0:
        return rng.choice(["", "a", "粤Z·1234港", "\u00e9", "x" * 40])
    if choice == 1:
        return rng.choice([0, -1, 2**70, True, False])
    if choice == 2:
        return None
    if choice == 3:
        return datetime(2026, 1, 2, 3, 4, 5, rng.choice([0, 123456]),
                        tzinfo=rng.choice([None, timezone.utc, timezone(timedelta(hours=8))]))
    if choice == 4:
        return [rng.choice(["HK1", "", "é"]) for _ in range(rng.randrange(4))]
    if choice == 5:
        return [1, "a"]
    if choice == 6:
        return {"nested": datetime(2026, 1, 1, tzinfo=timezone.utc)}
    if choice == 7:
        return 1.5
    return (rng.choice(["a", "b"]),)


def test_as_stored_by_hand_gives_the_json_round_trip_for_random_changes():
    rng = random.Random(11)
    for _ in range(5000):
        changes = {f"k{i}": _random_value(rng) for i in range(rng.randrange(0, 5))}
        expected = json.loads(json.dumps(changes, default=str, ensure_ascii=False))
        got = _as_stored(changes)
        assert got == expected and json.dumps(got) == json.dumps(expected), changes
        assert [type(v) for v in got.values()] == [type(v) for v in expected.values()], changes


def test_a_bind_processors_error_is_sqlalchemys_statement_error_as_with_core(app, session):
    from sqlalchemy.exc import StatementError
    from checkpoints.models import Scan
    query = select(Scan.id).where(Scan.scanned_at > __import__("sqlalchemy").bindparam("at"))
    naive = {"at": datetime(2026, 12, 4, 1, 0)}
    with transaction(session):
        with pytest.raises(StatementError):
            session.connection().execute(query, naive)
    with transaction(session):
        with pytest.raises(StatementError):
            DriverStatement(query).all(session.connection(), naive)
