"""Alembic, driven from code: each package owns a migration branch in `<package>/migrations/`.

`upgrade(engine)` applies every branch ("heads"); on PostgreSQL an advisory lock makes concurrent
starts of several app hosts safe.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
BRANCHES = {
    "app": ROOT / "app" / "migrations" / "versions",
    "petitions": ROOT / "petitions" / "migrations",
    "consultations": ROOT / "consultations" / "migrations",
    "moderation": ROOT / "moderation" / "migrations",
}
_LOCK_ID = 727_001


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "app" / "migrations"))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_locations", " ".join(str(p) for p in BRANCHES.values()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine) -> None:
    """Apply all pending migrations."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        command.upgrade(alembic_config(conn), "heads")


def pending(engine) -> set[str]:
    """Revision heads not yet applied (empty when the database is current)."""
    script = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return set(script.get_heads()) - current
