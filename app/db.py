"""Database engine and units of work for SQLite (default) and PostgreSQL.

Knows nothing about domains. Every state change runs inside exactly one `unit_of_work`.
"""
from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

from app.context import UnitContext, attach

T = TypeVar("T")

WRITE = "civic_write"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the pragmas and pool sizes Civic relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy emit BEGIN itself so that writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); a power loss may lose the last commits.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that later writes can fail with SQLITE_BUSY without waiting
        # (its snapshot is stale); writers therefore BEGIN IMMEDIATE and queue on busy_timeout.
        if conn.get_execution_options().get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def is_postgres(engine_or_session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


@contextmanager
def unit_of_work(engine: Engine, context: UnitContext | None = None) -> Iterator[Session]:
    """Open a write session: commit on success, roll back on any error.

    `context` (the app's event bus, renderer, signer, classifier and settings; see `app.context`) goes with the
    session, so event handlers, `app.mail.queue_email` and use cases reach them inside the same transaction. Without
    one, a use case that needs them raises `MissingUnitContext`.
    """
    with write_session(engine) as session:
        if context is not None:
            attach(session, context)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one write transaction that the caller commits; on SQLite it holds the write lock."""
    lock = sqlite_write_lock(engine)
    if lock is not None:
        lock.acquire()
    try:
        with Session(engine.execution_options(**{WRITE: True}), expire_on_commit=False) as session:
            yield session
    finally:
        if lock is not None:
            lock.release()


class _SQLiteWriteLock:
    """Whose turn it is to write to one SQLite file: threads of this process queue on a lock, processes on
    an advisory lock of `<db>.write-lock`.

    SQLite has one writer at a time and makes the others sleep in its busy handler (1, 2, 5 ... 100 ms), so
    under load throughput drops and the slowest writers wait seconds. Queued here, each transaction starts
    the moment the previous one commits, in the web processes and the background worker alike.
    """

    def __init__(self, path: str):
        self.path, self.depth = path, 0
        self.pid: int | None = None
        self.fd: int | None = None
        self.thread_lock = threading.RLock()

    def acquire(self) -> None:
        self.thread_lock.acquire()
        if self.depth == 0:
            if self.pid != os.getpid():  # a forked child needs its own open file (flock is per open file)
                self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            assert self.fd is not None  # opened just above in this process
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.depth += 1

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            assert self.fd is not None  # acquire() opened it
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.thread_lock.release()


_write_locks: dict[str, _SQLiteWriteLock] = {}
_write_locks_guard = threading.Lock()


def sqlite_write_lock(engine: Engine) -> _SQLiteWriteLock | None:
    """The write lock of this engine's SQLite file (None for PostgreSQL and in-memory databases)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    path = os.path.abspath(engine.url.database) + ".write-lock"
    with _write_locks_guard:
        lock = _write_locks.get(path)
        if lock is None:
            lock = _write_locks[path] = _SQLiteWriteLock(path)
    return lock


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """Open a read-only session (never commits)."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        # close() (not rollback()) so loaded objects stay readable after the block, detached.
        session.close()


def run_write(engine: Engine, fn: Callable[..., T], /, *, context: UnitContext | None = None, **kwargs: Any) -> T:
    """Run `fn(session, **kwargs)` in one transaction and return its result."""
    with unit_of_work(engine, context) as session:
        return fn(session, **kwargs)


def run_read(engine: Engine, fn: Callable[..., T], /, **kwargs: Any) -> T:
    with read_session(engine) as session:
        return fn(session, **kwargs)


async def run_in_session(request, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a whole write unit of work for a route in the thread pool."""
    state = request.app.state
    return await run_in_threadpool(run_write, state.engine, fn, context=state.unit_context, **kwargs)


async def run_query(request, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a read-only query function for a route in the thread pool."""
    return await run_in_threadpool(run_read, request.app.state.engine, fn, **kwargs)


def claim_ids(session: Session, model, *conditions, order_by, limit: int, values) -> list[int]:
    """Take up to `limit` due rows of `model` for this worker by setting `values` (a lease) on them.

    `values` is a dict, or a function of how many rows were taken that returns one.

    PostgreSQL skips rows another worker is claiming at the same moment (FOR UPDATE SKIP LOCKED); SQLite
    writers are serialised by BEGIN IMMEDIATE, so the select-then-update cannot interleave there.
    """
    due = select(model.id).where(*conditions).order_by(*order_by).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(session.execute(due).scalars())
    if ids:
        chosen = values(len(ids)) if callable(values) else values
        session.execute(update(model).where(model.id.in_(ids)).values(**chosen))
    return ids


def insert_ignore(session: Session, table, values: dict, conflict_cols: list[str]) -> bool:
    """INSERT a row unless one with the same `conflict_cols` exists; True when inserted.

    Portable across SQLite and PostgreSQL without aborting the surrounding transaction.
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = (module.insert(table).values(**values).on_conflict_do_nothing(index_elements=conflict_cols)
            .returning(table.c[conflict_cols[0]]))
    # RETURNING rather than rowcount: psycopg reports -1 for rowcount here.
    return session.execute(stmt).first() is not None


class HotStatement:
    """A Core statement for a hot path (signing: hundreds a second), run on the transaction's DBAPI cursor.

    Per signature the writer thread runs two INSERTs. Measured per signature in one transaction on SQLite (the
    `sign_petition` call alone): 34 µs on the DBAPI cursor, 63 µs through `Connection.exec_driver_sql`, 100 µs
    through `session.execute`; the viral bench's signing fell 16 % with `exec_driver_sql`. So this class takes
    the route SQLAlchemy documents for work it does not need to wrap ("Working with the DBAPI cursor
    directly"): the statement is compiled once per dialect with `ClauseElement.compile`, values go through the
    column types' own bind processors (`TypeEngine.bind_processor`), so they are stored exactly as
    `session.execute` stores them, and the SQL runs on `Connection.connection.cursor()` of the session's
    transaction. Database errors are wrapped as `session.execute` wraps them (`IntegrityError`,
    `OperationalError` ...). Rows come back without result processing: use it for statements that return
    plain integers and strings, not datetimes. Everything else goes through `session.execute`.
    """

    def __init__(self, statement):
        self.statement = statement
        self._plans: dict[str, tuple] = {}  # dialect name -> (sql, names, positional, processors, defaults)

    def _plan(self, dialect) -> tuple:
        compiled = self.statement.compile(dialect=dialect)
        positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if positional else list(compiled.binds)
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        # values written into the statement itself (`.values(state=...)`) travel as bound parameters too
        defaults = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
        plan = self._plans[dialect.name] = (compiled.string, names, positional, processors, defaults)
        return plan

    def __call__(self, session: Session, params: dict) -> list[tuple]:
        connection = session.connection()
        dialect = connection.dialect
        sql, names, positional, processors, defaults = self._plans.get(dialect.name) or self._plan(dialect)
        values = []
        for name in names:
            value = params[name] if name in params else defaults[name]  # a missing parameter is a KeyError
            values.append(processors[name](value) if name in processors else value)
        args = tuple(values) if positional else dict(zip(names, values))
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if cursor.description else []
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(sql, args, error, dialect.loaded_dbapi.Error, dialect=dialect) from error
        finally:
            cursor.close()


def pk(value: int | None) -> int:
    """A stored row's primary key as `int`: the models declare `id: int | None` (None only before the row is
    first flushed), so views built from loaded rows use this to say the id is there."""
    assert value is not None, "the row has not been flushed yet"
    return value
