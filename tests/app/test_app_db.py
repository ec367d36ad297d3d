"""`HotStatement`: the hot path's statements store values exactly like `session.execute`, and fail like it."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.db import HotStatement, unit_of_work
from app.models import OutboxMessage

T = OutboxMessage.__table__
WHEN = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=timezone.utc)
COLUMNS = ("to_addr", "subject", "body", "template", "status", "attempts", "created_at", "next_attempt_at", "last_error")
INSERT = insert(T).values({c: bindparam(c, type_=T.c[c].type) for c in COLUMNS}).returning(T.c.id)
HOT_INSERT = HotStatement(INSERT)
RETRY = HotStatement(update(T).where(T.c.id == bindparam("mid")).values(
    attempts=T.c.attempts + 1, locked_until=None, status="queued", next_attempt_at=bindparam("when")))


def _row(to):
    return {"to_addr": to, "subject": "Hello", "body": "Body", "template": "t", "status": "sent", "attempts": 2,
            "created_at": WHEN, "next_attempt_at": WHEN, "last_error": ""}


def test_rows_written_by_a_hot_statement_read_back_like_rows_written_by_sqlalchemy(engine):
    with unit_of_work(engine) as session:
        (hot_id,), = HOT_INSERT(session, _row("hot@example.org"))
        slow_id = session.execute(INSERT, _row("slow@example.org")).scalar_one()
    with unit_of_work(engine) as session:
        hot, slow = session.get(OutboxMessage, hot_id), session.get(OutboxMessage, slow_id)
        for field in ("subject", "body", "status", "attempts", "created_at", "next_attempt_at"):
            assert getattr(hot, field) == getattr(slow, field), field
        assert hot.created_at.replace(tzinfo=timezone.utc) == WHEN
        # the stored text is the same too, not only what the ORM reads back from it
        raw = select(T.c.created_at.cast(T.c.to_addr.type)).where(T.c.id.in_([hot_id, slow_id]))
        assert len(set(session.execute(raw).scalars())) == 1


def test_values_written_into_the_statement_are_sent_too(engine):
    with unit_of_work(engine) as session:
        (mid,), = HOT_INSERT(session, _row("retry@example.org"))
        RETRY(session, {"mid": mid, "when": WHEN})
    with unit_of_work(engine) as session:
        row = session.get(OutboxMessage, mid)
        assert (row.attempts, row.status, row.locked_until) == (3, "queued", None)


def test_a_missing_parameter_is_an_error_not_a_null(engine):
    with pytest.raises(KeyError), unit_of_work(engine) as session:
        RETRY(session, {"mid": 1})


def test_a_database_error_is_raised_as_sqlalchemy_raises_it(engine):
    """Callers and the error handlers see one kind of database error whichever path ran the statement."""
    bad = {**_row("null@example.org"), "subject": None}  # NOT NULL
    with pytest.raises(IntegrityError), unit_of_work(engine) as session:
        HOT_INSERT(session, bad)
