"""Group commit for the signing hot path: one writer thread per process commits many requests' writes at once.

A viral petition gets hundreds of signatures a second. Sending each through the thread pool into its own
transaction wastes most of the time on thread hand-offs, transaction set-up and (on PostgreSQL) one WAL flush
per signature. Instead, requests queue for one writer thread per process and database; the thread takes
everything waiting (up to `MAX_BATCH`) and commits it in one transaction.

The contract (`run_batched_write(request, fn, savepoint=..., **kwargs)`; `GroupCommitWriter.submit_blocking` from
a plain thread):

- **When it answers.** It returns `fn(session, **kwargs)`'s result, or raises its exception, only after the
  transaction holding the request's writes has committed (or was rolled back for it): an acknowledged
  signature is in the database's log. The request's context variables (its request id, which goes into the
  e-mails it queues) travel with it into the writer thread.
- **What `fn` may do.** It is a use case like any other: it takes the session, never commits, and has no side
  effects outside the database, because it may run twice (see failures). It must not count on session state
  another request left behind; objects are expunged after a failed item.
- **Isolation between requests.** With `savepoint=True` each request runs in its own SAVEPOINT, so an exception
  undoes only that request's writes. `savepoint=False` saves two statements per request, for a use case that
  raises its expected errors (`app.errors.DomainError`) before writing anything that would have to be undone
  (`petitions.service.sign_petition`; rate-limit counters count refused attempts on purpose). Any other
  exception then breaks the batch.
- **Failures.** If a flush breaks the transaction, or the commit fails, nothing of the batch was written: every
  request of it is run again alone, in its own transaction (`app.db.run_write`), so one bad request never
  loses another's signature.
- **Order.** Requests commit in the order they reached this process's writer; there is no order between
  processes. On SQLite every process's writers (and the worker's) queue on the database's write lock
  (`app.db.unit_of_work`).
- **The thread.** Started by the first request, it exits after `IDLE_SECONDS` without work. Do everything that
  needs no transaction (parsing, signing tokens, rendering) before submitting: this thread is the one serial
  step of the hot path.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from typing import Any

from app.context import UnitContext
from app.db import run_write, unit_of_work
from app.errors import DomainError

log = logging.getLogger(__name__)

MAX_BATCH = 256
IDLE_SECONDS = 30.0  # an idle writer thread exits; the next request starts a new one


class _Item:
    __slots__ = ("fn", "kwargs", "savepoint", "result", "error", "loop", "future", "event", "context")

    def __init__(self, fn, kwargs, savepoint=True):
        self.fn, self.kwargs, self.savepoint = fn, kwargs, savepoint
        self.context = contextvars.copy_context()  # the request's (its request id goes into the e-mails it queues)
        self.result: Any = None
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.future: asyncio.Future | None = None
        self.event: threading.Event | None = None

    def settle(self) -> None:
        """Hand the outcome back to whoever waits: an asyncio future or a thread."""
        if self.future is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(_resolve, self.future, self.result, self.error)
        elif self.event is not None:
            self.event.set()


def _resolve(future: asyncio.Future, result, error) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommitWriter:
    """Commits the use cases submitted to it in batches, from one thread per process and database."""

    def __init__(self, engine, context: UnitContext | None = None):
        # Without a context, a use case that asks for the app's services raises MissingUnitContext.
        self.engine, self.context = engine, context
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # ----- submitting -----

    async def submit(self, fn, kwargs: dict, *, savepoint: bool = True):
        """Run `fn(session, **kwargs)` in the next batch; return its result once that batch has committed."""
        item = _Item(fn, kwargs, savepoint)
        item.loop = asyncio.get_running_loop()
        item.future = item.loop.create_future()
        self._put(item)
        return await item.future

    def submit_blocking(self, fn, kwargs: dict, *, savepoint: bool = True):
        """The same from a plain thread (CLI, tests)."""
        item = _Item(fn, kwargs, savepoint)
        item.event = threading.Event()
        self._put(item)
        item.event.wait()
        if item.error is not None:
            raise item.error
        return item.result

    def _put(self, item: _Item) -> None:
        self._queue.put(item)
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="civic-group-commit", daemon=True)
                self._thread.start()

    # ----- the writer thread -----

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a request waiting, whatever happened
                log.exception("group commit failed")
                for it in batch:
                    it.result, it.error = None, exc if isinstance(exc, Exception) else RuntimeError("write failed")
            for it in batch:
                it.settle()

    def _commit(self, batch: list[_Item]) -> None:
        try:
            with unit_of_work(self.engine, self.context) as session:
                connection = session.connection()
                for it in batch:
                    # A plain SQL savepoint: SQLAlchemy's nested transactions cost more than the signature itself.
                    if it.savepoint:
                        connection.exec_driver_sql("SAVEPOINT civic_item")
                    try:
                        it.result = it.context.run(it.fn, session, **it.kwargs)
                        session.flush()
                    except Exception as exc:
                        if not session.is_active:  # a failed flush broke the whole transaction
                            raise _BatchBroken() from exc
                        if it.savepoint:
                            connection.exec_driver_sql("ROLLBACK TO SAVEPOINT civic_item")
                        elif not isinstance(exc, DomainError):  # it may have left half a write behind
                            raise _BatchBroken() from exc
                        session.expunge_all()  # forget objects the failed request touched
                        it.result, it.error = None, exc
                    if it.savepoint:
                        connection.exec_driver_sql("RELEASE SAVEPOINT civic_item")
        except _BatchBroken:
            self._one_by_one(batch)
        except Exception:
            if len(batch) == 1:
                raise
            self._one_by_one(batch)  # the commit failed: nothing was written; give each request its own chance

    def _one_by_one(self, items: list[_Item]) -> None:
        for it in items:
            try:
                it.result, it.error = it.context.run(run_write, self.engine, it.fn, context=self.context,
                                                     **it.kwargs), None
            except Exception as exc:
                it.result, it.error = None, exc


class _BatchBroken(Exception):
    pass


def writer_for(state) -> GroupCommitWriter:
    """This app's writer (one per app, hence per database and process)."""
    writer = getattr(state, "petitions_writer", None)
    if writer is None:
        writer = state.petitions_writer = GroupCommitWriter(state.engine, state.unit_context)
    return writer


async def run_batched_write(request, fn, /, *, savepoint: bool = True, **kwargs: Any):
    """Run `fn(session, **kwargs)` with group commit and return its result once it has committed (the
    contract is this module's docstring)."""
    return await writer_for(request.app.state).submit(fn, kwargs, savepoint=savepoint)
