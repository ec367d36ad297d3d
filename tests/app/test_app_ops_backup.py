"""`civic db backup` / `civic db restore` (issue 17): a backup taken while people sign holds every signature
acknowledged before it began; a restore refuses a database with data unless forced, and a bad path, a damaged or
foreign file, or a backup from a newer Civic get a clear message and change nothing. Runs on SQLite and, with
CIVIC_TEST_DATABASE_URL, on PostgreSQL (pg_dump/pg_restore)."""
from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from starlette.testclient import TestClient

from app.backup import BackupError, backup, restore
from app.clock import utc_now
from app.db import make_engine, normalise_url, read_session, unit_of_work
from petitions.models import Petition, Signature


@pytest.fixture
def domain_settings():
    from app.main import load_domain_settings

    sections = load_domain_settings(env_file=None)
    sections["petitions"] = dataclasses.replace(sections["petitions"], sign_rate_burst="100000/60",
                                                sign_rate_sustained="100000/300")
    return sections


def _petition(engine) -> int:
    now = utc_now()
    with unit_of_work(engine) as s:
        p = Petition(action="Keep the library open late", background="Background", creator_name="Creator",
                     creator_email="c@example.org", state="open", created_at=now, updated_at=now, opened_at=now,
                     closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        return p.id


def _emails(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            return list(s.execute(select(Signature.email)).scalars())
    finally:
        engine.dispose()


def _count(engine) -> int:
    with read_session(engine) as s:
        return s.execute(select(func.count()).select_from(Signature)).scalar()


@pytest.fixture
def empty_database(tmp_path, settings):
    """A second, empty database of the same kind to restore into."""
    if settings.database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    base = normalise_url(settings.database_url)
    name = f"civic_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_a_backup_taken_while_people_sign_restores_every_acknowledged_signature(app, settings, tmp_path,
                                                                                 empty_database):
    pid = _petition(app.state.engine)
    acked: list[str] = []
    stop = threading.Event()
    errors: list = []

    def sign(worker):
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
            i = 0
            while not stop.is_set():
                email = f"w{worker}-{i}@example.org"
                r = c.post(f"/petitions/{pid}/sign", data={"name": f"Signer {i}", "email": email, "area": "North"})
                if r.status_code == 200:
                    acked.append(email)  # the page said "check your e-mail": the signature is taken
                else:
                    errors.append(r.status_code)
                i += 1

    threads = [threading.Thread(target=sign, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = list(acked)          # acknowledged before the backup began
        outcome = backup(settings.database_url, tmp_path / "civic.backup")
        during = len(acked) - len(before)
        time.sleep(0.3)               # and signing goes on after it
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors and len(before) >= 20
    assert "Backup written to" in outcome.message and (tmp_path / "civic.backup").stat().st_mode & 0o077 == 0
    restore(empty_database, tmp_path / "civic.backup")
    restored = _emails(empty_database)
    assert set(before) <= set(restored), sorted(set(before) - set(restored))[:5]
    assert len(restored) == len(set(restored)) and set(restored) <= set(acked)  # nothing invented, nothing twice
    assert len(restored) < len(acked)  # the signatures taken after the backup are not in it
    print(f"backup under load: {len(before)} acknowledged before, {during} during, {len(acked)} in all; "
          f"{len(restored)} restored")


def test_restore_refuses_a_database_with_data_unless_forced(app, settings, tmp_path):
    engine = app.state.engine
    pid = _petition(engine)
    with TestClient(app, base_url="https://testserver") as c:
        assert c.post(f"/petitions/{pid}/sign", data={"name": "Ann", "email": "ann@example.org", "area": "North"}).status_code == 200
        backup(settings.database_url, tmp_path / "b.backup")
        assert c.post(f"/petitions/{pid}/sign", data={"name": "Bo", "email": "bo@example.org", "area": "North"}).status_code == 200
    engine.dispose()
    with pytest.raises(BackupError, match="already holds data.*--force"):
        restore(settings.database_url, tmp_path / "b.backup")
    assert sorted(_emails(settings.database_url)) == ["ann@example.org", "bo@example.org"]
    assert "Restored" in restore(settings.database_url, tmp_path / "b.backup", force=True).message
    assert _emails(settings.database_url) == ["ann@example.org"]


def test_bad_paths_and_files_get_a_clear_message_and_change_nothing(app, settings, tmp_path):
    engine = app.state.engine
    pid = _petition(engine)
    with unit_of_work(engine) as s:
        s.add(Signature(petition_id=pid, name="Ann", email="ann@example.org", canonical_email="ann@example.org",
                        created_at=utc_now(), updated_at=utc_now()))
    good = tmp_path / "good.backup"
    backup(settings.database_url, good)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for path, message in ((tmp_path / "no-such-dir" / "b.backup", "does not exist"),
                          (a_file / "b.backup", "does not exist"),
                          (tmp_path, "is a directory"),
                          (good, "already exists.*--force")):
        with pytest.raises(BackupError, match=message):
            backup(settings.database_url, path)
    assert not (tmp_path / "no-such-dir").exists() and a_file.read_text() == "x"
    assert not list(tmp_path.glob(".*.partial"))

    corrupt = tmp_path / "corrupt.backup"
    corrupt.write_bytes(good.read_bytes()[:4096] + b"\x00garbage" * 5000)
    random_bytes = tmp_path / "random.backup"
    random_bytes.write_bytes(b"not a backup at all\n" * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    cases = [(random_bytes, "not a (SQLite database|pg_dump archive)|cannot be opened|damaged"),
             (corrupt, "damaged|not a (SQLite database|pg_dump archive)"),
             (foreign, "not a Civic backup" if settings.database_url.startswith("sqlite") else "not a pg_dump archive"),
             (tmp_path / "missing.backup", "no backup file")]
    newer = tmp_path / "newer.backup"
    if settings.database_url.startswith("sqlite"):
        shutil.copy(good, newer)
        with sqlite3.connect(newer) as conn:
            conn.execute("INSERT INTO alembic_version (version_num) VALUES ('zz_from_the_future')")
    else:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('zz_from_the_future')"))
        try:
            backup(settings.database_url, newer)
        finally:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM alembic_version WHERE version_num = 'zz_from_the_future'"))
    cases.append((newer, "newer version of Civic.*zz_from_the_future.*Upgrade Civic"))
    engine.dispose()
    for path, message in cases:
        with pytest.raises(BackupError, match=message):
            restore(settings.database_url, path, force=True)
        assert _emails(settings.database_url) == ["ann@example.org"], path


def test_the_commands_report_success_and_failure(settings, tmp_path, monkeypatch, capsys, app):
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CIVIC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CIVIC_DATA_DIR", str(settings.data_dir))
    assert main(["db", "backup", str(tmp_path / "nowhere" / "x.backup")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["db", "backup", "cli.backup"]) == 0
    assert "Backup written to" in capsys.readouterr().out
    assert main(["db", "restore", "cli.backup"]) == 0  # the test database holds no one's data yet
    assert "Restored" in capsys.readouterr().out


def test_a_backup_path_with_spaces_and_hashes_round_trips(app, settings, tmp_path, empty_database):
    pid = _petition(app.state.engine)
    with unit_of_work(app.state.engine) as s:
        s.add(Signature(petition_id=pid, name="Ann", email="ann@example.org", canonical_email="ann@example.org",
                        created_at=utc_now(), updated_at=utc_now()))
    folder = tmp_path / "council backups #1 ?"
    folder.mkdir()
    backup(settings.database_url, folder / "civic 50%.backup")
    restore(empty_database, folder / "civic 50%.backup")
    assert _emails(empty_database) == ["ann@example.org"]
