"""Named counters and locks in the database: pass serials, the status-list version, key creation."""
from sqlalchemy import BigInteger, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base

PASS_SERIAL = "pass_serial"
STATUS_LIST_VERSION = "status_list_version"
SIGNING_KEYS = "signing_keys"
POLICY_VERSION = "policy_version"
ALL = {PASS_SERIAL: -1, STATUS_LIST_VERSION: 0, SIGNING_KEYS: 0, POLICY_VERSION: 0}


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def next_value(session: Session, name: str) -> int:
    """Increment and return; the row stays locked until the caller's transaction ends, so values are
    handed out once each and in commit order per counter."""
    return session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
                           .returning(Counter.value)).scalar_one()


def current_value(session: Session, name: str) -> int:
    return session.get(Counter, name).value


def lock(session: Session, name: str) -> None:
    """Serialise a critical section across processes and hosts (a row lock; SQLite already holds the
    database write lock inside transaction())."""
    session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value))
