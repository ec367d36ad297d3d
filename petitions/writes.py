"""Serialised short write transactions for the signing hot path on SQLite.

SQLite has one writer at a time; when many threads ask at once, its busy handler makes the losers sleep
(1, 2, 5 ... 100 ms), so throughput drops and the slowest requests wait seconds. Here the writers of a
process queue on a lock and the processes on an advisory file lock next to the database, so each
transaction starts the moment the previous one commits. PostgreSQL needs none of this.
"""
from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from starlette.concurrency import run_in_threadpool

from app.db import run_write

_thread_lock = threading.Lock()
_files: dict[str, int] = {}


def _lock_fd(engine) -> int | None:
    path = engine.url.database
    if not path or path == ":memory:":
        return None
    lock_path = os.path.abspath(path) + ".write-lock"
    fd = _files.get(lock_path)
    if fd is None:
        fd = _files[lock_path] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    return fd


def _serialised(engine, fn, bus, renderer, services, kwargs, prepare=None):
    if prepare is not None:  # rendering and token signing happen before the lock and the transaction
        kwargs = dict(kwargs, prepared=prepare(engine=engine, renderer=renderer, **kwargs))
    with _thread_lock:
        fd = _lock_fd(engine)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            return run_write(engine, fn, bus=bus, renderer=renderer, services=services, **kwargs)
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _direct(engine, fn, bus, renderer, services, kwargs, prepare=None):
    if prepare is not None:
        kwargs = dict(kwargs, prepared=prepare(engine=engine, renderer=renderer, **kwargs))
    return run_write(engine, fn, bus=bus, renderer=renderer, services=services, **kwargs)


class _Item:
    __slots__ = ("fn", "kwargs", "done", "result", "error")

    def __init__(self, fn, kwargs):
        self.fn, self.kwargs, self.done, self.result, self.error = fn, kwargs, False, None, None


_pending: dict[int, list[_Item]] = {}  # per engine: a batch only ever holds one database's requests
_pending_lock = threading.Lock()


def _batched(engine, fn, bus, renderer, services, kwargs, prepare=None):
    """Group commit: whoever holds the write lock commits every waiting request in one transaction.

    Each request runs in its own SAVEPOINT, so one request's error (rate limit, closed petition) rolls back
    only that request. Every caller returns only after the transaction holding its row has committed.
    """
    if prepare is not None:
        kwargs = dict(kwargs, prepared=prepare(engine=engine, renderer=renderer, **kwargs))
    item = _Item(fn, kwargs)
    with _pending_lock:
        _pending.setdefault(id(engine), []).append(item)
    with _thread_lock:
        if not item.done:
            with _pending_lock:
                batch = _pending.pop(id(engine), [])
            fd = _lock_fd(engine)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                _run_batch(engine, bus, renderer, services, batch)
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
    if item.error is not None:
        raise item.error
    return item.result


def _run_batch(engine, bus, renderer, services, batch: list[_Item]) -> None:
    from app.db import unit_of_work

    try:
        with unit_of_work(engine, bus, renderer, services) as session:
            for it in batch:
                try:
                    with session.begin_nested():
                        it.result = it.fn(session, **it.kwargs)  # each request keeps its own use case
                except Exception as exc:  # this request's own failure: its savepoint is rolled back
                    it.error = exc
    except BaseException as exc:  # the commit itself failed: nobody in the batch is acknowledged
        for it in batch:
            it.result, it.error = None, exc if isinstance(exc, Exception) else RuntimeError("write failed")
            it.done = True
        raise
    for it in batch:
        it.done = True


async def run_batched_write(request, fn, /, *, prepare=None, **kwargs: Any):
    """Like `run_short_write`, with group commit on SQLite (one transaction for the requests waiting)."""
    state = request.app.state
    runner = _batched if state.engine.dialect.name == "sqlite" else _direct
    return await run_in_threadpool(runner, state.engine, fn, state.events, state.renderer, state.services, kwargs,
                                   prepare)


async def run_short_write(request, fn, /, *, prepare=None, **kwargs: Any):
    """Like `app.db.run_in_session`, but writers queue instead of spinning on SQLite's busy handler.

    `prepare(engine=..., renderer=..., **kwargs)` runs first, outside the transaction; its result is passed
    to `fn` as `prepared=`.
    """
    state = request.app.state
    runner = _serialised if state.engine.dialect.name == "sqlite" else _direct
    return await run_in_threadpool(runner, state.engine, fn, state.events, state.renderer, state.services, kwargs,
                                   prepare)
