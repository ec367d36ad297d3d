"""`civic db backup PATH` and `civic db restore PATH`: a consistent copy taken while the app runs, and its way back.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the database page by page under one read
transaction, so the copy is the database as of one moment, with every committed write before it, while the app
keeps writing (WAL mode). The copy is a plain SQLite file.

PostgreSQL: the command runs
    pg_dump --format=custom --no-owner --no-privileges --file PATH
with the connection taken from CIVIC_DATABASE_URL (PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE in its
environment, so the password never shows in the process list). pg_dump reads under one snapshot: consistent
while the app runs. Restore runs
    pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error --dbname ...
so a failed restore changes nothing. Both need the PostgreSQL client tools (Debian: `postgresql-client`) of the
server's major version or newer.

A restore checks first and changes nothing when the file is not a readable backup, is not a Civic database, or
comes from a newer Civic (its schema has migrations this code does not know: upgrade Civic first). It refuses to
overwrite a database that holds data unless asked to (`--force`). A backup from an older Civic is brought up to
date by the migrations after the restore. Stop the app (and workers) before restoring.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from app.db import make_engine, normalise_url
from app.migrate import alembic_config, upgrade

# Tables every Civic database has (a file without them is not a Civic backup).
CORE_TABLES = frozenset({"alembic_version", "user", "outbox_message", "job"})
# Tables that never hold anyone's data: a database with rows only in these counts as empty.
BOOKKEEPING = frozenset({"alembic_version", "department", "rate_limit_bucket", "used_token", "job"})


class BackupError(RuntimeError):
    """A backup or restore that did not happen; the message says why and what to do. Nothing was changed."""


@dataclass
class Outcome:
    path: Path
    message: str


def _known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _check_revisions(revisions: set[str], what: str) -> None:
    if not revisions:
        raise BackupError(f"{what} is not a Civic backup: it records no schema version (alembic_version is empty).")
    unknown = sorted(revisions - _known_revisions())
    if unknown:
        raise BackupError(f"{what} comes from a newer version of Civic (schema revisions {', '.join(unknown)} are "
                          "unknown here). Upgrade Civic to the version that made the backup, then restore. "
                          "Nothing was changed.")


def _writable_target(path: Path, force: bool) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise BackupError(f"{path} is a directory: give a file name for the backup.")
    if path.exists() and not force:
        raise BackupError(f"{path} already exists. Choose another name, or add --force to replace it.")
    if not parent.is_dir():
        raise BackupError(f"Cannot write the backup to {path}: the directory {parent} does not exist.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BackupError(f"Cannot write the backup to {path}: the directory {parent} is not writable "
                          "by this user.")


# ----- SQLite -----

def _read_only_uri(path: Path) -> str:
    return f"file:{urllib.parse.quote(str(Path(path).absolute()))}?mode=ro"


def _sqlite_path(url) -> Path:
    database = url.database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _sqlite_backup(url, path: Path) -> None:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"There is no database at {source} to back up.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        src = sqlite3.connect(_read_only_uri(source), uri=True, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        os.chmod(tmp, 0o600)  # it holds residents' e-mail addresses
        os.replace(tmp, path)
    except OSError as exc:
        raise BackupError(f"Cannot write the backup to {path}: {exc.strerror or exc}.") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _inspect_sqlite_file(path: Path) -> set[str]:
    """The schema revisions of a SQLite backup file; BackupError when it is not a sound Civic backup."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened as a backup: {exc}. Nothing was changed.") from exc
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"{path} is damaged ({check}). Nothing was changed: use another backup.")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not CORE_TABLES <= tables:
            raise BackupError(f"{path} is not a Civic backup (it lacks the tables "
                              f"{', '.join(sorted(CORE_TABLES - tables))}). Nothing was changed.")
        return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database or is damaged ({exc}). Nothing was changed: "
                          "use another backup.") from exc
    finally:
        conn.close()


def _sqlite_restore(url, path: Path) -> None:
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(_read_only_uri(path), uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        dst.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # replaces every page of the target in one write transaction
    except sqlite3.Error as exc:
        raise BackupError(f"Restoring into {target} failed ({exc}); the database was left as it was.") from exc
    finally:
        dst.close()
        src.close()


# ----- PostgreSQL -----

def _pg_env(url) -> dict:
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    for key, value in (url.query or {}).items():
        if key == "sslmode":
            env["PGSSLMODE"] = str(value)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools (Debian: "
                          "`apt-get install postgresql-client`) of your server's version.")
    return found


def pg_dump_command(path: Path) -> list[str]:
    """The documented pg_dump call (the connection comes from PG* variables)."""
    return [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(path)]


def pg_restore_command(path: Path, dbname: str) -> list[str]:
    return [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", "--dbname", dbname, str(path)]


def _pg_backup(url, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    try:
        result = subprocess.run(pg_dump_command(Path(tmp)), env=_pg_env(url), capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _inspect_pg_file(url, path: Path) -> set[str]:
    env = _pg_env(url)
    listing = subprocess.run([_tool("pg_restore"), "--list", str(path)], env=env, capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump archive or is damaged ({listing.stderr.strip()}). "
                          "Nothing was changed: use another backup.")
    tables = set(re.findall(r" TABLE (?:DATA )?\S+ (\S+) ", listing.stdout))
    if not CORE_TABLES <= tables:
        raise BackupError(f"{path} is not a Civic backup (it lacks the tables "
                          f"{', '.join(sorted(CORE_TABLES - tables))}). Nothing was changed.")
    data = subprocess.run([_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
                          env=env, capture_output=True, text=True)
    if data.returncode != 0:
        raise BackupError(f"{path} cannot be read ({data.stderr.strip()}). Nothing was changed.")
    rows = re.search(r"COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)\\\.", data.stdout, re.S)
    return set(rows.group(1).split()) if rows else set()


def _pg_restore(url, path: Path) -> None:
    env = _pg_env(url)
    result = subprocess.run(pg_restore_command(path, env.get("PGDATABASE", "")), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed, the database was left as it was: {result.stderr.strip()}")


# ----- the commands -----

def holds_data(engine) -> bool:
    """Whether any table other than bookkeeping ones has a row."""
    names = set(inspect(engine).get_table_names()) - BOOKKEEPING
    preparer = engine.dialect.identifier_preparer
    with engine.connect() as conn:
        for name in sorted(names):
            if conn.execute(text(f"SELECT 1 FROM {preparer.quote(name)} LIMIT 1")).first() is not None:
                return True
    return False


def backup(database_url: str, path: str | Path, *, force: bool = False) -> Outcome:
    path = Path(path).expanduser().absolute()
    _writable_target(path, force)
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(url, path)
        how = "SQLite online backup"
    elif url.get_backend_name() == "postgresql":
        _pg_backup(url, path)
        how = "pg_dump --format=custom"
    else:
        raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")
    size = path.stat().st_size
    return Outcome(path, f"Backup written to {path} ({size:,} bytes, {how}). Restore with `civic db restore {path}`.")


def restore(database_url: str, path: str | Path, *, force: bool = False) -> Outcome:
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise BackupError(f"There is no backup file at {path}. Nothing was changed.")
    if not os.access(path, os.R_OK):
        raise BackupError(f"{path} is not readable by this user. Nothing was changed.")
    url = make_url(normalise_url(database_url))
    sqlite = url.get_backend_name() == "sqlite"
    revisions = _inspect_sqlite_file(path) if sqlite else _inspect_pg_file(url, path)
    _check_revisions(revisions, str(path))
    engine = make_engine(database_url)
    try:
        if not force and holds_data(engine):
            raise BackupError("The database already holds data. Restoring replaces all of it: add --force if "
                              "that is what you want (take a backup of it first). Nothing was changed.")
    finally:
        engine.dispose()
    if sqlite:
        _sqlite_restore(url, path)
    else:
        _pg_restore(url, path)
    engine = make_engine(database_url)
    try:
        upgrade(engine)  # a backup from an older Civic: bring its schema up to date
    finally:
        engine.dispose()
    return Outcome(path, f"Restored {path}. Start Civic again.")
