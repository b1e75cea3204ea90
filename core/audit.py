"""The append-only, hash-chained audit log: one row per state change, written in the same transaction."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping
from weakref import WeakKeyDictionary

from sqlalchemy import (JSON, BigInteger, Connection, Engine, Index, Integer, Select, String, Text, and_, bindparam,
                        false, insert, or_, select, update)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, DriverStatement, paged

GENESIS_HASH = "0" * 64


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_entries_object", "object_type", "object_id"),
                      {"sqlite_autoincrement": True})


class AuditHead(Base):
    """One row holding the chain's tip; updating it first serialises writers so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class AuditActor:
    """Who did it, as the log remembers it (a copy, so later account changes don't rewrite history)."""

    id: int | None
    name: str
    role: str


def entry_hash(*, seq: int, at: datetime, actor_id: int | None, actor_name: str, actor_role: str,
               action: str, object_type: str, object_id: str, changes: dict[str, Any],
               prev_hash: str) -> str:
    """SHA-256 over a canonical JSON rendering of the entry and the previous entry's hash."""
    canonical = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor_id, actor_name, actor_role, action,
         object_type, object_id, changes, prev_hash],
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(session: Session, actor: AuditActor, action: str, *, object_type: str, object_id: Any,
           changes: dict[str, Any] | None = None, at: datetime) -> AuditEntry:
    """Append one entry to the chain. Adds and flushes; the caller's transaction commits it."""
    entry_id, fields = _append(session.connection(), actor, action, object_type=object_type,
                               object_id=object_id, changes=changes, at=at)
    session.flush()  # as before: everything the caller added is flushed when record() returns
    return AuditEntry(id=entry_id, **fields)


def append(connection: Connection, actor: AuditActor, action: str, *, object_type: str, object_id: Any,
           changes: dict[str, Any] | None = None, at: datetime) -> tuple[int, str]:
    """As record(), on the connection of the caller's transaction, for a hot path written with Core that
    needs only the entry's seq and hash: nothing is flushed and no entry object is built (an ORM instance
    costs more than the three statements)."""
    _, fields = _append(connection, actor, action, object_type=object_type, object_id=object_id, changes=changes,
                        at=at)
    return fields["seq"], fields["hash"]


def _append(connection: Connection, actor: AuditActor, action: str, *, object_type: str, object_id: Any,
            changes: dict[str, Any] | None, at: datetime) -> tuple[int, dict[str, Any]]:
    changes = _as_stored(changes)  # the stored value and the hashed value are the same
    at = at.astimezone(timezone.utc)
    fields = dict(seq=0, at=at, actor_id=actor.id, actor_name=actor.name, actor_role=actor.role, action=action,
                  object_type=object_type, object_id=str(object_id), changes=changes, prev_hash="")
    # The head row is moved first: it serialises writers, so the chain never forks. First from the tip this
    # process last wrote, in one UPDATE that matches only if the head is still there (else another writer
    # moved it, or our transaction was rolled back: nothing is written and we read the head instead).
    tip = _TIPS.get(connection.engine)
    if tip is not None:
        fields["seq"], fields["prev_hash"] = tip[0] + 1, tip[1]
        digest = entry_hash(**fields)
        moved = _SEND_MOVE_HEAD_FROM.execute(connection, {"seq": tip[0], "prev": tip[1], "by": 1, "digest": digest})
    if tip is None or moved.rowcount != 1:
        fields["seq"], fields["prev_hash"] = _SEND_ADVANCE_HEAD.first(connection, {"by": 1})
        digest = entry_hash(**fields)
        _SEND_SET_HEAD_HASH.execute(connection, {"digest": digest})
    fields["hash"] = digest
    # Written with Core, not added to the session: the entry is never changed, so the unit of work (the
    # largest cost of a yard event) has nothing to do for it. The four statements of an entry go straight
    # to the driver (core.db.DriverStatement): SQLAlchemy's execution machinery cost more than SQLite's work.
    entry_id = _SEND_ENTRY.inserted_id(connection, fields)  # lastrowid or RETURNING: never a statement more
    _TIPS[connection.engine] = (fields["seq"], digest)
    return entry_id, fields


_HEAD = AuditHead.__table__
_ADVANCE_HEAD = (update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("by"))
                 .returning(_HEAD.c.seq, _HEAD.c.hash))
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("digest"))
_MOVE_HEAD_FROM = (update(_HEAD).where(_HEAD.c.id == 1, _HEAD.c.seq == bindparam("seq"),
                                       _HEAD.c.hash == bindparam("prev"))
                   .values(seq=_HEAD.c.seq + bindparam("by"), hash=bindparam("digest")))
# The tip each engine's last append left (a hint checked by _MOVE_HEAD_FROM, never trusted).
_TIPS: "WeakKeyDictionary[Engine, tuple[int, str]]" = WeakKeyDictionary()
_INSERT_ENTRY = insert(AuditEntry.__table__)
_SEND_ADVANCE_HEAD, _SEND_SET_HEAD_HASH, _SEND_MOVE_HEAD_FROM, _SEND_ENTRY = map(
    DriverStatement, (_ADVANCE_HEAD, _SET_HEAD_HASH, _MOVE_HEAD_FROM, _INSERT_ENTRY))


def record_many(session: Session, actor: AuditActor, entries: list[tuple[str, str, Any, dict[str, Any]]], *,
                at: datetime) -> None:
    """Append one entry per (action, object_type, object_id, changes), exactly as that many record() calls
    would (same seq numbers, same chained hashes): two statements whatever their number when the head is
    still where this process last left it (as _append), three otherwise."""
    if not entries:
        return
    connection = session.connection()
    at = at.astimezone(timezone.utc)
    tip = _TIPS.get(connection.engine)
    if tip is not None:
        rows = _chained(actor, entries, at=at, seq=tip[0], prev_hash=tip[1])
        moved = connection.execute(_MOVE_HEAD_FROM, {"seq": tip[0], "prev": tip[1], "by": len(entries),
                                                     "digest": rows[-1]["hash"]})
    if tip is None or moved.rowcount != 1:
        seq, prev_hash = connection.execute(_ADVANCE_HEAD, {"by": len(entries)}).one()
        rows = _chained(actor, entries, at=at, seq=seq - len(entries), prev_hash=prev_hash)
        connection.execute(_SET_HEAD_HASH, {"digest": rows[-1]["hash"]})
    connection.execute(_INSERT_ENTRY, rows)
    _TIPS[connection.engine] = (rows[-1]["seq"], rows[-1]["hash"])


def _chained(actor: AuditActor, entries: list[tuple[str, str, Any, dict[str, Any]]], *, at: datetime, seq: int,
             prev_hash: str) -> list[dict[str, Any]]:
    """The rows of `entries` chained after the entry (seq, prev_hash)."""
    rows = []
    for seq_no, (action, object_type, object_id, changes) in enumerate(entries, start=seq + 1):
        fields = dict(seq=seq_no, at=at, actor_id=actor.id, actor_name=actor.name, actor_role=actor.role,
                      action=action, object_type=object_type, object_id=str(object_id),
                      changes=_as_stored(changes), prev_hash=prev_hash)
        prev_hash = entry_hash(**fields)
        rows.append({**fields, "hash": prev_hash})
    return rows


# Values that a JSON round trip gives back unchanged.
_JSON_NATIVE = (str, int, bool, type(None))


def _as_stored(changes: dict[str, Any] | None) -> dict[str, Any]:
    """The changes as stored and hashed: a JSON round trip (dates become strings), done by hand when every
    value is a plain string, integer, boolean or None (kept as is), an aware or naive datetime (its str(), as
    the round trip's default=str gives) or a list of plain strings (a yard event's time and seals)."""
    if changes:
        stored = {}
        for key, value in changes.items():
            kind = type(value)
            if type(key) is not str:
                break
            if kind in _JSON_NATIVE:
                stored[key] = value
            elif kind is datetime:
                stored[key] = str(value)
            elif kind is list and all(type(item) is str for item in value):
                stored[key] = list(value)
            else:
                break
        else:
            return stored
    return json.loads(json.dumps(changes or {}, default=str, ensure_ascii=False))


def list_entries(session: Session, *, filters: dict, page, areas: list[str] | None,
                 resolvers: Mapping[str, Select]) -> tuple[list[AuditEntry], int]:
    """Entries newest first, filtered by object_type, object_id and action.

    `areas` limits the list to entries about objects lying in one of these area codes (None: no limit).
    `resolvers` maps an object_type to a SELECT of (object_id, area_code) rows, as the domain packages
    register them; an object type without a resolver has no area and is left out of a limited list."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    for key in ("object_type", "object_id", "action"):
        if filters.get(key):
            query = query.where(getattr(AuditEntry, key) == filters[key])
    if areas is not None:
        query = query.where(_about_objects_in(areas, resolvers))
    return paged(session, query, page)


def _about_objects_in(areas: list[str], resolvers: Mapping[str, Select]):
    # One semi-join per object type, all in SQL, so paging and the total count stay exact.
    clauses = []
    for object_type, pairs in sorted(resolvers.items()):
        located = pairs.subquery()
        clauses.append(and_(AuditEntry.object_type == object_type, AuditEntry.object_id.in_(
            select(located.c.object_id).where(located.c.area_code.in_(areas)))))
    return or_(*clauses) if clauses and areas else false()


def ensure_head(session: Session) -> None:
    """Create the chain's tip row if the database is new (idempotent)."""
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, hash=GENESIS_HASH))
        session.flush()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    entry_id: int
    problem: str
    kind: str = ""  # missing, link, content or truncated: what the pages translate


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of one walk of the chain: how many entries were checked, and the first break if any."""

    entries: int
    broken: ChainBreak | None


def check_chain(session: Session, *, batch: int = 5000) -> ChainCheck:
    """Walk the whole log in order (read-only) and stop at the first entry whose hash or link is wrong:
    `flask audit verify` and the console's chain check page both run this. `entries` counts the entries
    found intact before the break."""
    expected_prev, expected_seq, intact = GENESIS_HASH, 1, 0
    for entry in _iter_entries(session, batch):
        broken = _break_at(entry, expected_seq=expected_seq, expected_prev=expected_prev)
        if broken is not None:
            return ChainCheck(intact, broken)
        expected_prev, expected_seq, intact = entry.hash, entry.seq + 1, intact + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return ChainCheck(intact, ChainBreak(expected_seq, 0, "entries after the last one were deleted", "truncated"))
    return ChainCheck(intact, None)


def verify_chain(session: Session, *, batch: int = 5000) -> ChainBreak | None:
    """Walk the whole log in order; return the first entry whose hash or link is wrong, else None."""
    return check_chain(session, batch=batch).broken


def _break_at(entry: AuditEntry, *, expected_seq: int, expected_prev: str) -> ChainBreak | None:
    if entry.seq != expected_seq:
        return ChainBreak(expected_seq, entry.id, f"entry {expected_seq} is missing", "missing")
    if entry.prev_hash != expected_prev:
        return ChainBreak(entry.seq, entry.id, "link to the previous entry is broken", "link")
    recomputed = entry_hash(seq=entry.seq, at=entry.at, actor_id=entry.actor_id, actor_name=entry.actor_name,
                            actor_role=entry.actor_role, action=entry.action, object_type=entry.object_type,
                            object_id=entry.object_id, changes=entry.changes, prev_hash=entry.prev_hash)
    if recomputed != entry.hash:
        return ChainBreak(entry.seq, entry.id, "content does not match its hash", "content")
    return None


def _iter_entries(session: Session, batch: int) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq > last)
                               .order_by(AuditEntry.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()
