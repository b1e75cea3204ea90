"""Database plumbing: declarative base, engine per app, one session per request, and transactions."""
import enum
import fcntl
import os
import threading
import time
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps
from operator import itemgetter
from typing import Any, Iterator, Mapping

from flask import Flask, current_app, g, request
from sqlalchemy import Connection, DateTime, Engine, Enum, MetaData, Select, create_engine, event, func, select
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores UTC, returns aware datetimes; SQLite has no time zones, so we never trust the driver."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def str_enum(cls: type[enum.Enum]) -> Enum:
    """Enums stored as their string values (no native PG enum type), so adding a value needs no type migration."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda c: [m.value for m in c],
                validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


@dataclass
class Database:
    """What Flask-Migrate and the request session need: an engine, a session factory and the metadata."""

    engine: Engine
    sessionmaker: sessionmaker
    metadata: MetaData = Base.metadata


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=StaticPool if memory else None,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # The pysqlite driver's own BEGIN handling is broken for our needs; we emit BEGIN ourselves so that
    # write transactions can take the write lock up front (BEGIN IMMEDIATE) instead of failing with
    # "database is locked" when a reader later upgrades to a writer.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        send(conn, "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")


class DriverStatement:
    """A prebuilt Core statement sent straight to the driver on the connection of the caller's transaction:
    compiled once per dialect and set of parameter names, its parameters converted by the column types' own
    bind processors and its rows by their result processors, as SQLAlchemy would, without its per-execution
    machinery (cache key, execution context, result set-up), which on the yard's events cost several times
    SQLite's own work. Statements with Python-side column defaults are refused (nothing here computes them).
    Like every statement sent by send(), it is reported to the engine's before_cursor_execute listeners (the
    statement counters) with the SQL and parameters the driver receives."""

    def __init__(self, statement):
        self.statement = statement
        self._plans: dict[tuple, _Plan] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]):
        """Run the statement; returns the driver's cursor (rowcount)."""
        return self._run(connection, params)[0]

    def first(self, connection: Connection, params: Mapping[str, Any]):
        """The first row, converted, as a named tuple (attributes and _asdict()), or None."""
        cursor, plan = self._run(connection, params)
        raw = cursor.fetchone()
        cursor.close()
        return None if raw is None else plan.row(raw)

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list:
        """Every row, converted, as named tuples."""
        cursor, plan = self._run(connection, params)
        return [plan.row(raw) for raw in cursor.fetchall()]

    def inserted_id(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Run an INSERT and return the new row's id (RETURNING where the dialect renders it, else the
        driver's lastrowid, as SQLAlchemy does)."""
        cursor, plan = self._run(connection, params)
        return cursor.fetchone()[0] if plan.returning else cursor.lastrowid

    def _run(self, connection: Connection, params: Mapping[str, Any]):
        dialect = connection.dialect
        plan = self._plans.get((dialect, *params))
        if plan is None:
            plan = self._plans[(dialect, *params)] = _Plan(self.statement, dialect, params)
        values = {**plan.fixed, **params} if plan.fixed else params
        try:
            if plan.positional:  # SQLite's qmark: a tuple in the statement's order, converted where the type asks
                parameters = plan.getter(values)
                if plan.converters:
                    parameters = list(parameters)
                    for index, convert in plan.converters:
                        parameters[index] = convert(parameters[index])
            else:  # psycopg's named parameters
                parameters = dict(values)
                for name, convert in plan.converters:
                    parameters[name] = convert(parameters[name])
        except Exception as e:  # a type refused a value (a naive datetime, an unknown enum string): as Core says it
            raise StatementError(str(e), plan.sql, params, e) from e
        return send(connection, plan.sql, parameters), plan


class _Plan:
    """What DriverStatement needs to run one compiled form of its statement."""

    def __init__(self, statement, dialect, params: Mapping[str, Any]):
        compiled = statement.compile(dialect=dialect, column_keys=sorted(params))
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("DriverStatement cannot compute Python-side column defaults")
        if compiled.post_compile_params:
            raise ValueError("DriverStatement cannot render an expanding IN at execution")
        self.sql, self.positional = compiled.string, compiled.positional
        self.returning = bool(compiled.effective_returning)
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = list(compiled.positiontup) if self.positional else list(dict.fromkeys(by_name))
        processors = {name: by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names}
        # A literal of the statement (WHERE id = 1, LIMIT 1) is converted once, here.
        self.fixed = {name: processors[name](by_name[name].effective_value) if processors[name]
                      else by_name[name].effective_value for name in names if name not in params}
        getter = itemgetter(*names) if names else (lambda _values: ())
        self.getter = getter if len(names) != 1 else (lambda values: (getter(values),))
        self.converters = [(index if self.positional else name, processors[name])
                           for index, name in enumerate(names) if name in params and processors[name]]
        if not self.positional:
            self.converters = list(dict(self.converters).items())  # a name used twice is converted once
        columns = list(statement.exported_columns)  # a SELECT's columns, or what an UPDATE returns
        self.row_type = namedtuple("DriverRow", [c.key for c in columns], rename=True) if columns else None
        self.row_converters = [(i, p) for i, c in enumerate(columns)
                               if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]

    def row(self, raw: tuple):
        if not self.row_converters:
            return self.row_type._make(raw)
        values = list(raw)
        for index, convert in self.row_converters:
            values[index] = convert(values[index])
        return self.row_type._make(values)


def send(connection: Connection, sql: str, parameters=()):
    """Send one statement to the driver on `connection` (in its transaction), reporting it to the engine's
    before_cursor_execute listeners first; a driver error is raised as SQLAlchemy's DBAPIError (a lost
    connection invalidates it), so the callers' error handling is the same as for any statement."""
    fairy = connection.connection
    cursor = fairy.dbapi_connection.cursor()
    if connection.engine.dispatch.before_cursor_execute:  # listeners on the engine (a connection's own are not seen)
        connection.dispatch.before_cursor_execute(connection, cursor, sql, parameters, None, False)
    try:
        cursor.execute(sql, parameters)
    except connection.dialect.loaded_dbapi.Error as e:
        lost = connection.dialect.is_disconnect(e, fairy.dbapi_connection, cursor)
        try:
            cursor.close()
        except connection.dialect.loaded_dbapi.Error:
            pass  # a cursor of a dead connection: the invalidation below deals with the connection
        if lost:
            connection.invalidate(e)
        raise DBAPIError.instance(sql, parameters, e, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=connection.dialect) from e
    return cursor


class SQLiteWriteLock:
    """SQLite has one writer at a time, and a writer that finds the database locked sleeps in SQLite's busy
    handler (1, 2, 5, 10, 15... ms between attempts): under load that sleep, not the work, sets the latency.
    Writers queue here instead, and are woken the moment the previous one commits: threads on a lock,
    processes on an flock() of a file beside the database. Re-entrant within a thread."""

    def __init__(self, database: str | None):
        self._threads = threading.RLock()
        self._depth = 0
        if database and database.startswith("file:"):  # a URI filename (e.g. file:/path?mode=ro)
            database = database.removeprefix("file:").split("?", 1)[0]
        memory = not database or database == ":memory:" or "mode=memory" in database
        self._path = None if memory else f"{os.path.abspath(database)}.writer-lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self._threads.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            try:
                if self._fd is None:  # opened lazily, so a forked worker opens its own
                    try:
                        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    except OSError:
                        # A read-only or full directory: queue on the thread lock only and let SQLite
                        # refuse the write itself (answered 503 database_unavailable), never a 500 here.
                        self._path = None
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._depth -= 1
                self._threads.release()
                raise

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


def init_app(app: Flask) -> Database:
    engine = make_engine(app.config["DATABASE_URL"])
    info = {"write_lock": SQLiteWriteLock(engine.url.database)} if engine.dialect.name == "sqlite" else {}
    database = Database(engine=engine, sessionmaker=sessionmaker(engine, expire_on_commit=False, info=info))
    app.extensions["db"] = database

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            close_quietly(session)

    return database


def close_quietly(session: Session) -> None:
    """Close a session whose connection may have died with a transaction open (a database restart, a
    terminated backend): the server already rolled it back, so the answer must not turn into a 500."""
    try:
        session.close()
    except DBAPIError:
        session.invalidate()


READ_ATTEMPTS = 3  # a GET whose connection was cut (database restart, terminated backend) is tried again


def retry_reads(app: Flask) -> None:
    """Wrap every view so that a GET or HEAD that lost its database connection runs again on a fresh one
    (the pool's pre-ping replaces dead connections), at most READ_ATTEMPTS times. Writes are not retried
    here: their transaction was rolled back and the client sends them again after the 503."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _retrying_reads(view)


def _retrying_reads(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return view(*args, **kwargs)
            except DBAPIError as e:
                if not e.connection_invalidated or attempt == READ_ATTEMPTS:
                    raise
                session = g.pop("db_session", None)
                if session is not None:
                    close_quietly(session)
                time.sleep(0.05 * attempt)
    return wrapper


def get_session() -> Session:
    """The request's session, created on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db"].sessionmaker()
    return g.db_session


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One unit of work: commit once at the outermost level, roll back on any exception.

    Nested calls join the outer transaction. The transaction is opened as a writer, so on SQLite it
    holds the write lock from the start and on PostgreSQL it behaves as usual.
    """
    depth = session.info.get("tx_depth", 0)
    write_lock = session.info.get("write_lock") if depth == 0 else None
    if depth == 0:
        if session.in_transaction():
            # A read-only transaction left open (e.g. by a lookup) is ended so that ours starts clean.
            session.commit()
        if write_lock is not None:
            write_lock.acquire()
    try:
        if depth == 0:
            session.connection(execution_options={"write": True})
        session.info["tx_depth"] = depth + 1
        yield session
        if depth == 0:
            session.commit()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info["tx_depth"] = depth
        if write_lock is not None:
            write_lock.release()


@dataclass(frozen=True)
class Page:
    """Which slice of a list to return (1-based page number)."""

    number: int = 1
    size: int = 50

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def paged(session: Session, query: Select, page: Page) -> tuple[list, int]:
    """One page of `query` and the total number of rows it matches."""
    return list(session.scalars(query.offset(page.offset).limit(page.size))), count_of(session, query)


def paged_rows(session: Session, query: Select, page: Page) -> tuple[list, int]:
    """As paged(), for a SELECT of several columns: one page of rows (not objects) and the total."""
    return list(session.execute(query.offset(page.offset).limit(page.size))), count_of(session, query)


def count_of(session: Session, query: Select) -> int:
    """How many rows `query` matches."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
