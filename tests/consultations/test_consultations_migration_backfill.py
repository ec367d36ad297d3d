"""The closing-and-area migration backfills the write-once timestamps of what happened before it: a consultation
already closed (or with its outcome) closed at its closing date; a published response was published when made."""
from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from app.migrate import alembic_config, pending, upgrade

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def test_closed_consultations_and_published_responses_get_their_timestamps(empty_engine):
    with empty_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "consultations_initial")
        conn.execute(text(
            "INSERT INTO \"user\" (id, email, email_display, name, role, locale, created_at, blocked_reason) "
            "VALUES (1, 'o@example.org', '', 'O', 'official', 'en', :t, '')"), {"t": T0})
        for cid, state, closes in ((1, "closed", T0), (2, "reported", T0), (3, "open", None), (4, "draft", T0)):
            conn.execute(text(
                "INSERT INTO consultation (id, title, summary, body, state, closes_at, strict_mode, created_at, "
                "updated_at, comment_count, report_text, source) VALUES (:id, 'C', '', '', :state, :closes, "
                "false, :t, :t, 0, '', '')"), {"id": cid, "state": state, "closes": closes, "t": T0})
        for rid, status in ((1, "published"), (2, "held")):
            conn.execute(text(
                "INSERT INTO consultation_response (id, consultation_id, author_id, decision, text, commitment, "
                "status, route, created_at) VALUES (:id, 1, 1, 'noted', 'Thanks.', '', :status, 'publish', :t)"),
                {"id": rid, "status": status, "t": T0})
    upgrade(empty_engine)
    assert pending(empty_engine) == set()
    with empty_engine.connect() as conn:
        closed = dict(conn.execute(text("SELECT id, closed_at IS NOT NULL AND closed_at = closes_at FROM consultation")).all())
        published = dict(conn.execute(text(
            "SELECT id, published_at IS NOT NULL AND published_at = created_at FROM consultation_response")).all())
    assert {k: bool(v) for k, v in closed.items()} == {1: True, 2: True, 3: False, 4: False}
    assert {k: bool(v) for k, v in published.items()} == {1: True, 2: False}
