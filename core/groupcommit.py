"""Group commit: writes from many request threads of one process committed together, each caller answered
only after the commit that holds its write.

Why: a recorded scan's own work is one INSERT, but alone it also pays a transaction — on SQLite the
writer lock (taken in turn by every thread of every worker), BEGIN IMMEDIATE and COMMIT; on PostgreSQL a
connection check-out and a COMMIT that waits for the WAL flush. While one batch commits, the writes that
arrive queue; the first of them then leads the next batch. Under no load a batch is one write and costs
what it cost before; under load each commit carries several.

A write is a function of a Session that runs inside the batch's transaction and returns a value. When a
batch fails, each of its writes is run again alone in a transaction of its own, so that one bad write (a
duplicate key, say) fails only its own caller, with its own exception.
"""
import threading
from typing import Callable, Generic, TypeVar

from sqlalchemy.orm import Session

from core.db import transaction

T = TypeVar("T")
MAX_BATCH = 64


class _Write(Generic[T]):
    __slots__ = ("work", "result", "error", "done", "wake", "lead")

    def __init__(self, work: Callable[[Session], T]):
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False
        self.lead = False
        self.wake = threading.Event()


class GroupCommit:
    """One per process (per app). `submit(work)` returns work's result once its transaction committed, or
    raises what work (or the commit) raised."""

    def __init__(self, *, max_batch: int = MAX_BATCH):
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Write] = []
        self._leading = False
        self.batches = 0  # how many commits carried how many writes (the tests read them)
        self.writes = 0

    def submit(self, work: Callable[[Session], T], session: Session) -> T:
        """`session` is the caller's own: when the caller leads a batch, the batch runs in it (no second
        session or connection for a write that finds nobody else waiting)."""
        write = _Write(work)
        with self._lock:
            self._queue.append(write)
            if not self._leading:
                self._leading = write.lead = True
        while not write.lead and not write.done:
            write.wake.wait()
            write.wake.clear()
        if not write.done:
            self._lead(session)
        if write.error is not None:
            raise write.error
        return write.result

    def _lead(self, session: Session) -> None:
        """Commit everything queued so far as one batch, then hand the lead to the first write that arrived
        meanwhile (each leader runs one batch, so no caller waits behind an endless stream)."""
        with self._lock:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
        try:
            self._run(batch, session)
        finally:
            for write in batch:  # whatever happened, nobody is left waiting
                if not write.done:
                    write.error = write.error or RuntimeError("the group commit stopped before this write")
                    write.done = True
            with self._lock:
                self.batches, self.writes = self.batches + 1, self.writes + len(batch)
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].wake.set()
                else:
                    self._leading = False
            for write in batch:
                write.wake.set()

    def _run(self, batch: list[_Write], session: Session) -> None:
        try:
            with transaction(session):
                results = [write.work(session) for write in batch]
        except Exception as error:
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
                return
            for write in batch:  # one failed: each alone, so the others still land
                try:
                    with transaction(session):
                        write.result = write.work(session)
                except Exception as own_error:
                    write.error = own_error
                write.done = True
            return
        for write, result in zip(batch, results):
            write.result, write.done = result, True
