"""`execute_fast`: the hot path's raw statements store and read values exactly like `session.execute`."""
from datetime import datetime, timezone

from sqlalchemy import bindparam, insert, select, update

from app.db import execute_fast, unit_of_work
from app.models import OutboxMessage

T = OutboxMessage.__table__
WHEN = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=timezone.utc)
INSERT = insert(T).values({c: bindparam(c) for c in ("to_addr", "subject", "body", "template", "status", "attempts",
                                                      "created_at", "next_attempt_at", "last_error")}).returning(T.c.id)
READ = select(T.c.to_addr, T.c.created_at, T.c.locked_until, T.c.attempts).where(T.c.id == bindparam("mid"))
RETRY = update(T).where(T.c.id == bindparam("mid")).values(attempts=T.c.attempts + 1, locked_until=None,
                                                           status="queued", next_attempt_at=bindparam("when"))


def _row(to):
    return {"to_addr": to, "subject": "Hello", "body": "Body", "template": "t", "status": "sent", "attempts": 2,
            "created_at": WHEN, "next_attempt_at": WHEN, "last_error": ""}


def test_rows_written_by_execute_fast_read_back_like_rows_written_by_sqlalchemy(engine):
    with unit_of_work(engine) as session:
        fast_id = execute_fast(session, INSERT, _row("fast@example.org"))[0][0]
        slow_id = session.execute(INSERT, _row("slow@example.org")).scalar_one()
    with unit_of_work(engine) as session:
        fast, slow = session.get(OutboxMessage, fast_id), session.get(OutboxMessage, slow_id)
        for field in ("subject", "body", "status", "attempts", "created_at", "next_attempt_at"):
            assert getattr(fast, field) == getattr(slow, field), field
        assert fast.created_at.replace(tzinfo=timezone.utc) == WHEN
        # reading through execute_fast applies the column types' result processing (a datetime, not a string)
        (to, created, locked, attempts), = execute_fast(session, READ, {"mid": fast_id})
        assert (to, attempts, locked) == ("fast@example.org", 2, None)
        assert created == session.execute(select(T.c.created_at).where(T.c.id == fast_id)).scalar_one()


def test_values_written_into_the_statement_are_sent_too(engine):
    with unit_of_work(engine) as session:
        mid = execute_fast(session, INSERT, _row("retry@example.org"))[0][0]
        execute_fast(session, RETRY, {"mid": mid, "when": WHEN})
    with unit_of_work(engine) as session:
        row = session.get(OutboxMessage, mid)
        assert (row.attempts, row.status, row.locked_until) == (3, "queued", None)


def test_a_missing_parameter_is_an_error_not_a_null(engine):
    import pytest

    with pytest.raises(KeyError), unit_of_work(engine) as session:
        execute_fast(session, READ, {})
