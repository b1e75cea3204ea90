"""core.db.DriverStatement sends prebuilt statements straight to the driver (the yard's events, every audit
entry): the statement counters must still see every statement the driver runs, the values must come back as
SQLAlchemy's own execution gives them, and a driver error must be SQLAlchemy's error, on SQLite and
PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from bench.sqlcount import statements
from core import audit
from core.accounts import SYSTEM
from core.audit import AuditEntry
from core.db import DriverStatement, transaction
from logistics.models import Handover
from tests.api.logistics_helpers import build_relay


@pytest.fixture
def relay(session, areas, cipher, app, now):
    return build_relay(session, areas, cipher, app.extensions["keyring"], now)


def _driver_sees(engine, seen: list[str]):
    """Record, below SQLAlchemy, every statement the driver runs on a connection checked out from now on:
    SQLite's trace callback, or a psycopg cursor class that notes each execute."""

    def on_checkout(dbapi_connection, _record, _proxy):
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(seen.append)
        else:
            base = dbapi_connection.cursor_factory

            class Noting(base):
                def execute(self, query, params=None, **kwargs):
                    seen.append(str(query))
                    return super().execute(query, params, **kwargs)

            dbapi_connection.cursor_factory = Noting

    def on_checkin(dbapi_connection, _record):
        if engine.dialect.name == "sqlite":
            dbapi_connection.set_trace_callback(None)
        elif dbapi_connection.cursor_factory.__name__ == "Noting":
            dbapi_connection.cursor_factory = dbapi_connection.cursor_factory.__mro__[1]

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    return on_checkout, on_checkin


def _first_words(sql: str) -> str:
    return " ".join(sql.split()[:2])


def test_the_statement_counter_sees_every_statement_the_driver_runs(app, relay, now):
    engine = app.extensions["db"].engine
    handover = relay.book(now, outbound=True)
    relay.event(handover.id, "arrived", now + timedelta(minutes=1))
    below: list[str] = []
    hooks = _driver_sees(engine, below)
    try:
        with statements(engine) as counted:
            relay.event(handover.id, "seals_checked", now + timedelta(minutes=2), client_event_id="station-1/9")
            relay.event(handover.id, "disinfected", now + timedelta(minutes=3))
    finally:
        event.remove(engine, "checkout", hooks[0])
        event.remove(engine, "checkin", hooks[1])
    # The driver's own COMMIT (sqlite3's commit()) is transaction control, which the pinned counts leave out.
    driver = [_first_words(s) for s in below if s.strip().upper() not in ("COMMIT", "ROLLBACK")]
    assert len(counted) == 12, counted  # six per plain event (tests/integration/test_handover_fast_path.py)
    assert [_first_words(s) for s in counted] == driver


def test_rows_come_back_as_sqlalchemy_gives_them(app, session, relay, now):
    handover = relay.book(now, outbound=True)
    relay.event(handover.id, "arrived", now + timedelta(minutes=1))
    relay.event(handover.id, "seals_checked", now + timedelta(minutes=2), seals_seen=["HK2026001", "XX"])
    query = select(Handover.__table__).where(Handover.id == handover.id)
    with transaction(session):
        core_row = session.connection().execute(query).one()
        driver_row = DriverStatement(query).first(session.connection(), {})
    assert driver_row._asdict() == core_row._asdict()
    assert driver_row.state.value == "held" and driver_row.booked_at.tzinfo is not None
    assert driver_row.seals == ["HK2026001", "HK2026002"]


def test_a_driver_error_is_sqlalchemys_error_and_nothing_is_written(app, session, now):
    with transaction(session):
        audit.record(session, SYSTEM.audit, "test.first", object_type="test", object_id=1, at=now)
    first = session.scalars(select(AuditEntry)).one()
    again = DriverStatement(insert(AuditEntry.__table__))
    with pytest.raises(IntegrityError), transaction(session):  # the same seq twice: the unique index refuses it
        again.execute(session.connection(), {c: getattr(first, c) for c in AuditEntry.__table__.c.keys()
                                              if c != "id"})
    assert session.scalars(select(AuditEntry)).all() == [first]
    assert audit.verify_chain(session) is None
