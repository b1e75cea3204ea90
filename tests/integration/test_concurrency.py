"""Concurrency: many callers racing for the same row get one winner and clean answers, never a 500.

Runs on both databases; the point is PostgreSQL (READ COMMITTED, real parallel writers). On SQLite every
write transaction is BEGIN IMMEDIATE, so writers are serialised and the races mostly resolve in the
existence checks. Each thread has its own session from the app's sessionmaker; a Barrier makes them
start together, and every wait is bounded.
"""
import threading
import time

import pytest
from sqlalchemy import func, select

from bench.world import build_world, resident_id
from core import audit
from core.accounts import PUBLIC, SYSTEM, Account, Actor, Role, create_account, hash_token
from core.db import transaction
from checkpoints.services import record_scan
from checkpoints.models import Scan
from whitelist import imports, services
from whitelist.errors import DuplicateCreditCode, DuplicatePerson, ImportRejected
from whitelist.models import Firm, Person

from tests.factories import USCC, firm_data, make_firm

THREADS = 8
BARRIER_SECONDS = 15
JOIN_SECONDS = 30


def run_together(app, work, *, observer, n: int = THREADS) -> list[tuple[str, object]]:
    """Run work(session, i) in n threads released together; return [("ok", result) | ("error", exc)].

    `observer` is the test's own session: its read transaction is ended before and after the race, so
    no snapshot taken earlier hides the racers' rows (SQLite WAL keeps a reader's snapshot)."""
    barrier = threading.Barrier(n, timeout=BARRIER_SECONDS)
    outcomes: list[tuple[str, object] | None] = [None] * n
    observer.rollback()

    def runner(i: int) -> None:
        session = app.extensions["db"].sessionmaker()
        try:
            barrier.wait()
            outcomes[i] = ("ok", work(session, i))
        except BaseException as e:  # noqa: BLE001 -- every outcome is reported to the test
            outcomes[i] = ("error", e)
        finally:
            session.close()

    threads = [threading.Thread(target=runner, args=(i,), name=f"racer-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + JOIN_SECONDS
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"still running after {JOIN_SECONDS}s (deadlock or lock wait?): {stuck}"
    assert all(o is not None for o in outcomes)
    observer.rollback()
    return outcomes


def _describe(outcomes) -> list[str]:
    return [(f"{kind}: {type(value).__name__}: {value}" if kind == "error" else f"ok: {value!r}")[:300]
            for kind, value in outcomes]


def _officer(session, token: str) -> Actor:
    return Actor.of(session.scalars(select(Account).where(Account.token_hash == hash_token(token))).one())


# ---- scans: the same upload replayed at once -------------------------------------------------------

@pytest.mark.parametrize("grouped", [False, True], ids=["own-transaction", "group-commit"])
def test_concurrent_uploads_of_one_client_scan_id_record_one_scan(app, session, areas, now, grouped):
    world = build_world(app, now=now)
    writer = app.extensions["scan_writer"] if grouped else None
    officer = _officer(session, world.officer_token)
    cache: dict = {}  # shared, as the app's signed_cache is shared by a worker's threads
    for round_ in range(3):
        client_id = f"phone-1/{round_:04d}"
        outcomes = run_together(app, lambda s, i: record_scan(
            s, data={"qr": world.qr, "client_scan_id": client_id}, actor=officer, areas=areas, cache=cache,
            now=now, writer=writer), observer=session)
        assert all(kind == "ok" for kind, _ in outcomes), _describe(outcomes)
        answers = [value for _, value in outcomes]
        assert {(a["scan_id"], a["verdict"], tuple(a["reasons"])) for a in answers} == {
            (answers[0]["scan_id"], "accept", ())}, _describe(outcomes)
        rows = session.scalars(select(Scan).where(Scan.client_scan_id == client_id)).all()
        assert [r.id for r in rows] == [answers[0]["scan_id"]]
    assert session.scalar(select(func.count()).select_from(Scan)) == 3
    assert audit.verify_chain(session) is None


# ---- firms: the same credit code registered at once ------------------------------------------------

def test_concurrent_registrations_of_one_credit_code_leave_one_firm(app, session, areas, now):
    def register(s, i):
        firm, token = services.register_firm(s, data=firm_data(name=f"抢注公司 {i}"), actor=PUBLIC, areas=areas,
                                             cipher=app.extensions["pii"], now=now)
        return firm.id

    outcomes = run_together(app, register, observer=session)
    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    assert len(winners) == 1, _describe(outcomes)
    assert all(isinstance(e, DuplicateCreditCode) and e.status == 409 for e in losers), _describe(outcomes)
    assert session.scalars(select(Firm.id).where(Firm.uscc == USCC[0])).all() == winners
    assert session.scalars(select(Account.firm_id).where(Account.role == Role.FIRM)).all() == winners
    assert audit.verify_chain(session) is None


# ---- people: the same CSV imported at once ---------------------------------------------------------

PEOPLE = 25
CSV = ("kind,name,id_type,id_number,phone\r\n" + "".join(
    f"courier,快递员{i},cn_resident_id,{resident_id(1000 + i)},13800138{i:03d}\r\n" for i in range(PEOPLE))).encode()


def test_concurrent_imports_of_one_csv_leave_no_duplicates(app, session, areas, cipher, now):
    firm_id = make_firm(session, areas, now)[0].id  # plain values only: no ORM object crosses threads

    def run_import(s, i):
        return imports.import_people(s, firm_id, CSV, actor=SYSTEM, areas=areas, cipher=cipher, now=now)

    outcomes = run_together(app, run_import, observer=session)
    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [value for kind, value in outcomes if kind == "error"]
    # Whatever happens, the constraint keeps the list clean: exactly the rows of one import.
    rows = session.execute(select(Person.id_hash, func.count()).where(Person.firm_id == firm_id)
                           .group_by(Person.id_hash)).all()
    assert len(rows) == PEOPLE and all(count == 1 for _, count in rows)
    assert len(winners) == 1 and winners[0].imported == PEOPLE, _describe(outcomes)
    # The losers get a clean domain error: every row "already on the firm's list" (or a 409).
    assert all(isinstance(e, (ImportRejected, DuplicatePerson)) for e in losers), _describe(outcomes)
    for e in losers:
        if isinstance(e, ImportRejected):
            assert len(e.fields) == PEOPLE and {f["message"] for f in e.fields} == {"already on the firm's list"}
    assert audit.verify_chain(session) is None


# ---- the audit chain under concurrent writers ------------------------------------------------------

def test_concurrent_audit_writers_keep_the_chain_intact(app, session, areas, now):
    firm_id = make_firm(session, areas, now)[0].id
    per_thread = 5

    def write(s, i):
        for j in range(per_thread):
            create_account(s, name=f"auditor {i}/{j}", role=Role.AUDITOR, areas=areas, actor=SYSTEM, now=now)
            # a second kind of writer on the same chain: a raw entry in its own transaction
            with transaction(s):
                audit.record(s, SYSTEM.audit, "test.concurrent", object_type="firm", object_id=firm_id,
                             changes={"thread": i, "n": j}, at=now)
        return i

    outcomes = run_together(app, write, observer=session)
    assert all(kind == "ok" for kind, _ in outcomes), _describe(outcomes)
    before = 2  # firm.registered + account.created of make_firm
    entries = session.scalars(select(audit.AuditEntry.seq).order_by(audit.AuditEntry.seq)).all()
    assert entries == list(range(1, before + 2 * THREADS * per_thread + 1))
    assert audit.verify_chain(session) is None

