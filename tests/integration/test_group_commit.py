"""Group commit of scans (core/groupcommit.py): writes queued while a batch commits go together in the next
one; each caller is answered only after the commit that holds its write; a bad write fails alone.

The grouping is made certain, not left to thread timing: a first write holds its batch open on an Event
until the others have queued behind it."""
import threading

import pytest
from sqlalchemy import func, insert, select

from bench.world import build_world
from core import audit
from core.accounts import Account, Actor, hash_token
from core.groupcommit import GroupCommit
from checkpoints.models import Scan, Verdict
from checkpoints.services import record_scan

WAIT = 20


def _scan_row(i: int, account_id: int, site_id: int, now, client_scan_id: str | None = None) -> dict:
    return dict(account_id=account_id, client_scan_id=client_scan_id or f"gc-{i}", site_id=site_id, pass_id=None,
                serial=None, plate_seen=None, scanned_at=now, received_at=now, verdict=Verdict.REJECT,
                reasons=["unreadable"])


def _officer(session, token: str) -> Actor:
    return Actor.of(session.scalars(select(Account).where(Account.token_hash == hash_token(token))).one())


def _insert(row: dict):
    return lambda tx: tx.connection().execute(insert(Scan.__table__), row).inserted_primary_key[0]


def _submit(app, writer: GroupCommit, work):
    """As a request thread does: with a session of its own."""
    with app.extensions["db"].sessionmaker() as session:
        return writer.submit(work, session)


def _queue_behind_a_held_batch(app, writer: GroupCommit, works: list) -> tuple[list, threading.Event, list]:
    """Start a write that keeps its batch open, queue `works` behind it, and return their outcomes (filled
    in once they finish) and the event that lets the first batch commit."""
    release, holding = threading.Event(), threading.Event()

    def hold(tx):
        holding.set()
        assert release.wait(WAIT)
        return "first"

    outcomes: list = [None] * len(works)
    threads = [threading.Thread(target=lambda: _submit(app, writer, hold), daemon=True)]
    threads[0].start()
    assert holding.wait(WAIT)

    def run(i, work):
        try:
            outcomes[i] = ("ok", _submit(app, writer, work))
        except Exception as e:  # noqa: BLE001 -- the test looks at every outcome
            outcomes[i] = ("error", e)

    for i, work in enumerate(works):
        t = threading.Thread(target=run, args=(i, work), daemon=True)
        t.start()
        threads.append(t)
    _wait_until(lambda: len(writer._queue) == len(works))  # all queued behind the held batch
    return outcomes, release, threads


def _wait_until(condition) -> None:
    done = threading.Event()
    for _ in range(WAIT * 100):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")


def _join(threads) -> None:
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a writer is still waiting (lost wake-up?)"


def test_writes_queued_behind_a_batch_commit_together_and_each_gets_its_own_row(app, session, now):
    world = build_world(app, now=now)
    officer = _officer(session, world.officer_token)
    writer = GroupCommit()
    rows = [_scan_row(i, officer.account_id, world.site_id, now) for i in range(12)]
    outcomes, release, threads = _queue_behind_a_held_batch(app, writer, [_insert(r) for r in rows])
    assert outcomes == [None] * 12  # nobody is answered before their commit
    release.set()
    _join(threads)
    assert writer.batches == 2 and writer.writes == 13  # the held one, then the twelve in one commit
    session.rollback()
    stored = dict(session.execute(select(Scan.client_scan_id, Scan.id).where(Scan.client_scan_id.like("gc-%"))).all())
    assert {r["client_scan_id"]: ("ok", stored[r["client_scan_id"]]) for r in rows} == {
        r["client_scan_id"]: o for r, o in zip(rows, outcomes)}


def test_a_bad_write_fails_alone_and_the_rest_of_its_batch_lands(app, session, now):
    world = build_world(app, now=now)
    officer = _officer(session, world.officer_token)
    writer = GroupCommit()
    good = [_scan_row(i, officer.account_id, world.site_id, now) for i in range(5)]
    twice = _scan_row(99, officer.account_id, world.site_id, now, client_scan_id="gc-twice")

    def broken(tx):
        raise ValueError("this write is refused")

    works = [_insert(good[0]), _insert(twice), broken, _insert(good[1]), _insert(dict(twice)), *map(_insert, good[2:])]
    outcomes, release, threads = _queue_behind_a_held_batch(app, writer, works)
    release.set()
    _join(threads)
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 2 and kinds[2] == "error" and isinstance(outcomes[2][1], ValueError)
    assert {kinds[1], kinds[4]} == {"ok", "error"}  # the same client_scan_id twice: one row, one IntegrityError
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Scan).where(Scan.client_scan_id.like("gc-%"))) == 6


def test_grouped_scans_answer_as_scans_alone_do_and_keep_the_audit_chain(app, session, areas, now):
    world = build_world(app, now=now)
    officer = _officer(session, world.officer_token)
    cache: dict = {}
    alone = record_scan(session, data={"qr": world.qr, "client_scan_id": "alone"}, actor=officer, areas=areas,
                        cache=cache, now=now)
    writer = GroupCommit()
    sessions = [app.extensions["db"].sessionmaker() for _ in range(6)]

    def scan(i):
        return lambda: record_scan(sessions[i], data={"qr": world.qr, "client_scan_id": f"grouped-{i % 3}"},
                                   actor=officer, areas=areas, cache=cache, now=now, writer=writer)

    answers: list = [None] * 6

    def run(i):
        answers[i] = scan(i)()

    release, holding = threading.Event(), threading.Event()
    first = threading.Thread(target=lambda: _submit(app, writer, lambda tx: (holding.set(), release.wait(WAIT))), daemon=True)
    first.start()
    assert holding.wait(WAIT)
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    _wait_until(lambda: len(writer._queue) == 6)
    release.set()
    _join([first, *threads])
    for s in sessions:
        s.close()
    strip = lambda a: {k: v for k, v in a.items() if k not in ("scan_id", "client_scan_id")}
    assert all(strip(a) == strip(alone) for a in answers)  # the same verdict, pass, drivers and times
    by_client = {}
    for a in answers:  # each client_scan_id sent twice in one batch: both answers name the one row
        by_client.setdefault(a["client_scan_id"], set()).add(a["scan_id"])
    session.rollback()
    stored = dict(session.execute(select(Scan.client_scan_id, Scan.id).where(Scan.client_scan_id.like("grouped-%"))).all())
    assert by_client == {cid: {scan_id} for cid, scan_id in stored.items()} and len(stored) == 3
    assert audit.verify_chain(session) is None


def test_a_failing_commit_answers_every_caller_with_an_error_not_a_hang(app, now):
    writer = GroupCommit()
    with pytest.raises(ZeroDivisionError):
        _submit(app, writer, lambda tx: 1 / 0)
    assert _submit(app, writer, lambda tx: "next") == "next"  # the lead was handed back
