"""The signatures-taken migration counts each existing petition's online signatures, in every state, so /metrics
reports them before the settle tick has recounted anything."""
from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from app.migrate import alembic_config, pending, upgrade

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_existing_petitions_get_their_signatures_in_every_state(empty_engine):
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "petitions_paper_signatures")
        for pid in (1, 2):
            conn.execute(text(
                "INSERT INTO petition (id, action, background, creator_name, creator_email, creator_locale, state, "
                "signature_count, sponsor_count, created_at, updated_at, rejection_code) VALUES (:id, 'A', 'B', "
                "'C', 'c@example.org', 'en', 'open', 0, 0, :t, :t, '')"), {"id": pid, "t": T0})
        for sid, state in enumerate(("pending", "validated", "validated", "withdrawn"), start=1):
            conn.execute(text(
                "INSERT INTO signature (id, petition_id, name, email, canonical_email, area, notify, ip_address, "
                "locale, state, is_creator, is_sponsor, confirmations_sent, created_at, updated_at) VALUES "
                "(:id, 1, 'S', :email, :email, '', false, '', 'en', :state, false, false, 1, :t, :t)"),
                {"id": sid, "email": f"s{sid}@example.org", "state": state, "t": T0})
    upgrade(empty_engine)
    assert pending(empty_engine) == set()
    with empty_engine.connect() as conn:
        taken = dict(conn.execute(text("SELECT id, signatures_taken FROM petition")).all())
    assert taken == {1: 4, 2: 0}
