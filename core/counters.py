"""Named counters and locks in the database: pass serials, the status-list version, key creation, and the
versions that invalidate per-process caches (read together, one statement per request)."""
from typing import Mapping

from sqlalchemy import BigInteger, String, bindparam, case, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db import Base, DriverStatement

PASS_SERIAL = "pass_serial"
STATUS_LIST_VERSION = "status_list_version"
SIGNING_KEYS = "signing_keys"
POLICY_VERSION = "policy_version"
# Cache versions, bumped at commit by every transaction that changed a watched table (see watch()).
ACCOUNTS_VERSION = "accounts_version"
SITES_VERSION = "sites_version"
KEYS_VERSION = "keys_version"
PASSES_VERSION = "passes_version"  # passes, their drivers, firms, vehicles, people and health tests
ALL = {PASS_SERIAL: -1, STATUS_LIST_VERSION: 0, SIGNING_KEYS: 0, POLICY_VERSION: 0, ACCOUNTS_VERSION: 0,
       SITES_VERSION: 0, KEYS_VERSION: 0, PASSES_VERSION: 0}


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def next_value(session: Session, name: str, *, by: int = 1, also: tuple[str, ...] = ()) -> int:
    """Increment (by `by`: a block of values) and return the new value; the row stays locked until the
    caller's transaction ends, so values are handed out once each and in commit order per counter.
    `also`: counters bumped by 1 in the same statement (their rows locked in name order, as at commit).
    Runs on the connection: the ORM layer adds nothing to one UPDATE ... RETURNING but time."""
    connection = session.connection()
    if not also:
        return connection.execute(_NEXT_VALUE, {"counter": name, "by": by}).scalar_one()
    values = dict(connection.execute(_NEXT_VALUES, {"counter": name, "by": by, "names": [name, *also]}).all())
    return values[name]


_COUNTERS = Counter.__table__
_NEXT_VALUE = (update(_COUNTERS).where(_COUNTERS.c.name == bindparam("counter"))
               .values(value=_COUNTERS.c.value + bindparam("by")).returning(_COUNTERS.c.value))
# Several rows in one statement: the sub-select locks them in name order first (PostgreSQL), so two
# transactions bumping overlapping sets cannot deadlock.
_NEXT_VALUES = (update(_COUNTERS)
                .where(_COUNTERS.c.name.in_(select(_COUNTERS.c.name)
                                            .where(_COUNTERS.c.name.in_(bindparam("names", expanding=True)))
                                            .order_by(_COUNTERS.c.name).with_for_update()))
                .values(value=_COUNTERS.c.value + case((_COUNTERS.c.name == bindparam("counter"), bindparam("by")),
                                                       else_=1))
                .returning(_COUNTERS.c.name, _COUNTERS.c.value))


def current_value(session: Session, name: str) -> int:
    return session.get(Counter, name).value


def lock(session: Session, name: str) -> None:
    """Serialise a critical section across processes and hosts (a row lock; SQLite already holds the
    database write lock inside transaction())."""
    session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value))


def snapshot(session: Session) -> Mapping[str, int]:
    """Every counter's value, read once per transaction (one statement): the versions a request checks its
    caches against. Later calls in the same transaction get the same values."""
    transaction = session.get_transaction()
    memo = session.info.get("counters_snapshot")
    if memo is not None and transaction is not None and memo[0] is transaction:
        return memo[1]
    values = dict(_ALL_COUNTERS.all(session.connection(), {}))  # to the driver: once per request
    session.info["counters_snapshot"] = (session.get_transaction(), values)
    return values


_ALL_COUNTERS = DriverStatement(select(Counter.__table__.c.name, Counter.__table__.c.value))


def mark_changed(session: Session, name: str) -> None:
    """Bump cache version `name` when the caller's transaction commits (for writes the ORM does not see,
    such as bulk inserts)."""
    session.info.setdefault("counters_to_bump", set()).add(name)


def watch(factory: sessionmaker, tables: Mapping[type, str]) -> None:
    """Bump a cache version whenever a transaction adds, changes or deletes an instance of a watched model.

    The bumps run at commit, after every other statement of the transaction and in name order: the
    version rows are always locked last and in one order, so two transactions cannot deadlock on them
    (PostgreSQL), and the change and its new version become visible in the same commit."""

    @event.listens_for(factory, "before_flush")
    def _collect(session, _context, _instances):
        changed = session.info.setdefault("counters_to_bump", set())
        for obj in (*session.new, *session.deleted):
            if (name := tables.get(type(obj))) is not None:
                changed.add(name)
        for obj in session.dirty:
            if (name := tables.get(type(obj))) is not None and session.is_modified(obj):
                changed.add(name)

    @event.listens_for(factory, "before_commit")
    def _bump(session):
        session.flush()  # the final flush collects its changes first
        names = session.info.pop("counters_to_bump", None)
        if names:
            connection = session.connection()
            for name in sorted(names):
                connection.execute(_NEXT_VALUE, {"counter": name, "by": 1})

    @event.listens_for(factory, "after_soft_rollback")
    def _forget(session, _previous):
        session.info.pop("counters_to_bump", None)
