"""Alembic environment: SQLModel metadata of every package, batch mode for SQLite."""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from app.config import load_settings
from app.db import make_engine
from app.schema import import_all_models

import_all_models()
config = context.config
target_metadata = SQLModel.metadata
only_tables = config.attributes.get("only_tables")


def include_object(obj, name, type_, reflected, compare_to):
    if only_tables is None:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else (table.name if table is not None else None)
    return table_name in only_tables


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(load_settings().database_url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
    )
    context.run_migrations()


run_migrations_online()
