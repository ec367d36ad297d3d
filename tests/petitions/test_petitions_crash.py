"""Crash test: kill -9 `civic serve` in the middle of a signing burst; every acknowledged signature survives
(on SQLite and on PostgreSQL)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env, port, log):
    return subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, cwd=env["CRASH_CWD"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(url, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


@pytest.fixture
def crash_database_url(tmp_path, _pg_database):
    """A database of its own (on PostgreSQL, a new one beside the run's, dropped afterwards): the killed server's
    connections and the restarted server must not meet other tests' data."""
    if not _pg_database:
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    from sqlalchemy import create_engine, text

    base = _pg_database.rsplit("/", 1)[0]
    name = f"civic_crash_{os.getpid()}_{int(time.time())}"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.slow
def test_kill_9_mid_load_keeps_every_acknowledged_signature(tmp_path, crash_database_url):
    sys.path.insert(0, str(ROOT))
    from bench.viral_petition import seed

    url = crash_database_url
    pid = seed(url)
    port = _port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), CRASH_CWD=str(tmp_path), CIVIC_DATABASE_URL=url,
               CIVIC_SECRET_KEY="crash-secret-" + "x" * 32, CIVIC_DATA_DIR=str(tmp_path / "data"),
               CIVIC_RATE_LIMIT_ALLOWLIST="127.0.0.0/8", CIVIC_TRAIN_MODEL_ON_START="false",
               CIVIC_RUN_WORKER_IN_PROCESS="false", CIVIC_BASE_URL=f"http://127.0.0.1:{port}")
    log = (tmp_path / "serve.log").open("w")
    proc = _serve(env, port, log)
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        _wait(base + "/healthz", proc)

        def load(n: int) -> None:
            with httpx.Client(base_url=base, timeout=5) as client:
                i = 0
                while not stop.is_set():
                    i += 1
                    email = f"crash-{n}-{i}@example.org"
                    try:
                        r = client.post(f"/petitions/{pid}/sign", data={"name": "Crash Tester", "email": email,
                                                                       "area": "North"},
                                        headers={"HX-Request": "true", "Sec-Fetch-Site": "same-origin"})
                    except httpx.HTTPError:
                        return  # the server died mid-request: not acknowledged
                    if 200 <= r.status_code < 300:
                        with lock:
                            acked.append(email)

        threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        deadline = time.time() + 15
        while len(acked) < 60 and time.time() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 mid-load
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
        assert len(acked) >= 20, "too little load reached the server before the kill"

        proc = _serve(env, port, log)  # restart on the same database
        _wait(base + "/healthz", proc)
        from sqlalchemy import text

        from app.db import make_engine

        engine = make_engine(url)
        with engine.connect() as conn:
            rows = {r[0] for r in conn.execute(text("SELECT email FROM signature WHERE petition_id = :p"), {"p": pid})}
            outbox = {r[0] for r in conn.execute(text("SELECT to_addr FROM outbox_message"))}
        engine.dispose()
        missing = set(acked) - rows
        assert not missing, f"{len(missing)} acknowledged signatures were lost: {sorted(missing)[:5]}"
        assert set(acked) <= outbox, "an acknowledged signature lost its confirmation e-mail"
        assert len(rows) == len(set(rows))
        r = httpx.post(f"{base}/petitions/{pid}/sign", data={"name": "After", "email": "after@example.org",
                                                           "area": "North"},
                       headers={"HX-Request": "true", "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 200  # the restarted server takes signatures again
    finally:
        stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_group_commit_runs_each_request_with_its_own_use_case(tmp_path):
    """Signing and confirming requests that wait together are committed together, each by its own function."""
    import threading as th

    from sqlmodel import SQLModel

    from app.db import make_engine, read_session
    from app.schema import import_all_models
    from petitions import writes

    import_all_models()
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    SQLModel.metadata.create_all(engine)
    from app.models import Department

    def add(session, *, code):
        session.add(Department(code=code, name=code))
        return code

    def fail(session, *, code):
        session.add(Department(code=code, name=code))
        raise ValueError("refused")

    results, errors = [], []
    writer = writes.GroupCommitWriter(engine)

    def call(fn, code):
        try:
            results.append(writer.submit_blocking(fn, {"code": code}))
        except ValueError:
            errors.append(code)

    threads = [th.Thread(target=call, args=(fail if i % 4 == 0 else add, f"d{i}")) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with read_session(engine) as s:
        codes = set(s.execute(__import__("sqlalchemy").select(Department.code)).scalars())
    assert codes == {f"d{i}" for i in range(40) if i % 4}
    assert sorted(results) == sorted(codes) and len(errors) == 10
    engine.dispose()


def test_group_commit_without_savepoints_still_isolates_each_request(tmp_path):
    """A use case run without a savepoint may refuse with a DomainError (nothing written yet); any other
    error sends the batch back one request at a time, so half a write is never committed."""
    import threading as th

    import sqlalchemy as sa
    from sqlmodel import SQLModel

    from app.db import make_engine, read_session
    from app.errors import InvalidState
    from app.models import Department
    from app.schema import import_all_models
    from petitions import writes

    import_all_models()
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    SQLModel.metadata.create_all(engine)
    writer = writes.GroupCommitWriter(engine)

    def use_case(session, *, code):
        if code.startswith("refused"):
            raise InvalidState("refused before writing")
        session.execute(sa.insert(Department).values(code=code, name=code))
        if code.startswith("broken"):
            raise ValueError("failed after writing")
        return code

    outcomes = {}

    def call(code):
        try:
            outcomes[code] = writer.submit_blocking(use_case, {"code": code}, savepoint=False)
        except (InvalidState, ValueError) as exc:
            outcomes[code] = type(exc).__name__

    codes = [("refused" if i % 5 == 0 else "broken" if i % 7 == 0 else "ok") + str(i) for i in range(60)]
    threads = [th.Thread(target=call, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with read_session(engine) as s:
        stored = set(s.execute(sa.select(Department.code)).scalars())
    assert stored == {c for c in codes if c.startswith("ok")}
    assert all(outcomes[c] == ("InvalidState" if c.startswith("refused") else "ValueError" if c.startswith("broken")
                               else c) for c in codes)
    engine.dispose()
