"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from app.db import make_engine, normalise_url
from app.migrate import pending, upgrade
from app.schema import import_all_models


def _fresh_engine(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        return make_engine(f"sqlite:///{tmp_path}/migrated.db"), None
    admin = create_engine(normalise_url(database_url).rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = f"civic_mig_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_engine(normalise_url(database_url).rsplit("/", 1)[0] + "/" + name), (admin, name)


def test_migrations_match_models(tmp_path, database_url):
    import_all_models()
    engine, cleanup = _fresh_engine(tmp_path, database_url)
    try:
        upgrade(engine)
        assert pending(engine) == set()
        upgrade(engine)  # a second start is a no-op
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        assert diff == [], f"models and migrations differ; run scripts/makemigration.py: {diff}"
    finally:
        engine.dispose()
        if cleanup:
            admin, name = cleanup
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
