"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
import importlib.util
import shutil
from pathlib import Path

import pytest

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from app import migrate
from app.migrate import pending, upgrade
from app.schema import import_all_models


def test_migrations_match_models(empty_engine):
    import_all_models()
    upgrade(empty_engine)
    assert pending(empty_engine) == set()
    upgrade(empty_engine)  # a second start is a no-op
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    assert diff == [], f"models and migrations differ; run scripts/makemigration.py: {diff}"


@pytest.fixture
def makemigration(tmp_path, monkeypatch):
    """scripts/makemigration.py, working on copies of the four branches (the repository's files stay untouched)."""
    for package, directory in list(migrate.BRANCHES.items()):
        copy = tmp_path / package
        shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setitem(migrate.BRANCHES, package, copy)
    spec = importlib.util.spec_from_file_location("civic_makemigration",
                                                  Path(migrate.ROOT) / "scripts" / "makemigration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_makemigration_refuses_to_regenerate_an_initial_revision_that_has_shipped(makemigration, capsys):
    before = {p.name: p.read_bytes() for p in migrate.BRANCHES["petitions"].glob("*.py")}
    assert makemigration.main(["petitions"]) == 2
    message = capsys.readouterr().err
    assert "Refusing to regenerate petitions's initial revision" in message and "petitions_paper_signatures" in message
    assert 'python scripts/makemigration.py petitions --new "what changed"' in message
    assert {p.name: p.read_bytes() for p in migrate.BRANCHES["petitions"].glob("*.py")} == before


def test_makemigration_new_appends_a_named_revision_on_the_branch_head(makemigration, capsys):
    assert makemigration.main(["petitions", "--new", "Paper signatures"]) == 2  # that name is taken
    assert "petitions_paper_signatures exists already" in capsys.readouterr().err
    head = makemigration._branch_head(migrate.alembic_config(), migrate.BRANCHES["petitions"])
    assert makemigration.main(["petitions", "--new", "Notes on paper entries"]) == 0
    written = migrate.BRANCHES["petitions"] / "petitions_notes_on_paper_entries.py"
    text = written.read_text()
    assert "revision = 'petitions_notes_on_paper_entries'" in text and f"down_revision = '{head}'" in text
    assert (migrate.BRANCHES["petitions"] / "petitions_initial_initial.py").exists()
