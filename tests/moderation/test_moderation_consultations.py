"""Integration with the consultations domain: a real comment is held by screening, appears in the queue, and a
moderator's decision hides or redacts it in the same transaction (through ModerationDecided)."""
from __future__ import annotations

import pytest

from app.clock import utc_now
from app.db import unit_of_work

consultation_models = pytest.importorskip("consultations.models")
consultation_service = pytest.importorskip("consultations.service")


@pytest.fixture
def classifier(helpers):
    return helpers.FakeClassifier()


def test_a_held_consultation_comment_is_hidden_or_redacted_by_a_moderator(app, client, helpers):
    m = consultation_models
    s = app.state
    author = helpers.add_user(app, "author@example.org", name="Ann")
    with unit_of_work(s.engine, s.unit_context) as session:
        now = utc_now()
        c = m.Consultation(title="Riverside park", state=m.ConsultationState.OPEN, created_at=now, updated_at=now)
        session.add(c)
        session.flush()
        held = consultation_service.post_comment(session, consultation_id=c.id, author_id=author.id,
                                                 body="you idiot, the park is fine", limits=s.unit_context.settings("consultations"))
        other = consultation_service.post_comment(session, consultation_id=c.id, author_id=author.id,
                                                  body="Call the idiot Tom on 555-0100 about benches",
                                                  limits=s.unit_context.settings("consultations"))
        held_id, other_id = held.id, other.id
    assert held.status == m.CommentStatus.HELD
    helpers.sign_in(client, app, "mod@example.org", role="moderator")
    queue = client.get("/moderation/", params={"consultation": c.id})
    assert "you idiot, the park is fine" in queue.text and "Riverside park" in queue.text
    import re

    cases = dict((text, int(cid)) for cid, text in re.findall(r'href="/moderation/cases/(\d+)"[^>]*>([^<]+)</a>', queue.text))
    hide_case = next(cid for text, cid in cases.items() if text.startswith("you idiot"))
    redact_case = next(cid for text, cid in cases.items() if text.startswith("Call the idiot"))
    r = client.post(f"/moderation/cases/{hide_case}/decide",
                    data={"decision": "hide", "reason": "abuse", "block_days": "0"})
    assert r.status_code == 303
    r = client.post(f"/moderation/cases/{redact_case}/decide",
                    data={"decision": "redact", "reason": "personal-information", "passages": "Tom on 555-0100",
                          "block_days": "0"})
    assert r.status_code == 303
    with unit_of_work(s.engine) as session:
        assert session.get(m.Comment, held_id).status == m.CommentStatus.HIDDEN
        redacted = session.get(m.Comment, other_id)
        assert redacted.status == m.CommentStatus.PUBLISHED and redacted.body == "Call the idiot [...] about benches"
