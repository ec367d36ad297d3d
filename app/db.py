"""Database engine and units of work for SQLite (default) and PostgreSQL.

Knows nothing about domains. Every state change runs inside exactly one `unit_of_work`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine
from starlette.concurrency import run_in_threadpool

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
def unit_of_work(engine: Engine, bus=None, renderer=None, services: dict | None = None) -> Iterator[Session]:
    """Open a write session: commit on success, roll back on any error.

    The event bus and the mail renderer (if any) are attached to `session.info` so event handlers
    and `app.mail.queue_email` work inside the same transaction.
    """
    session = Session(engine.execution_options(**{WRITE: True}), expire_on_commit=False)
    session.info["events"] = bus
    session.info["renderer"] = renderer
    # Shared app services (e.g. the abuse classifier) that a domain's facade needs inside a use case.
    session.info["services"] = services or {}
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """Open a read-only session (never commits)."""
    session = Session(engine, expire_on_commit=False)
    session.info["services"] = {}
    try:
        yield session
    finally:
        # close() (not rollback()) so loaded objects stay readable after the block, detached.
        session.close()


def run_write(engine: Engine, fn: Callable[..., T], /, *, bus=None, renderer=None, services=None, **kwargs: Any) -> T:
    """Run `fn(session, **kwargs)` in one transaction and return its result."""
    with unit_of_work(engine, bus, renderer, services) as session:
        return fn(session, **kwargs)


def run_read(engine: Engine, fn: Callable[..., T], /, **kwargs: Any) -> T:
    with read_session(engine) as session:
        return fn(session, **kwargs)


async def run_in_session(request, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a whole write unit of work for a route in the thread pool."""
    state = request.app.state
    return await run_in_threadpool(run_write, state.engine, fn, bus=state.events, renderer=state.renderer,
                                   services=state.services, **kwargs)


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
