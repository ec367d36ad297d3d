"""Consultations test factories: consultations in each state and comments, built through the real services."""
from __future__ import annotations

import types

import pytest

from app.db import unit_of_work
from consultations import forms, service
from consultations.config import ConsultationSettings


def _uow(app):
    state = app.state
    return unit_of_work(state.engine, state.unit_context)


def make_consultation(app, helpers, *, state: str = "open", questions=(), strict: bool = False,
                      title: str = "Safer streets around schools", official: str = "official@example.org") -> int:
    user = helpers.add_user(app, official, role="official", name="Olivia Official", department="transport")
    data = forms.ConsultationData(title=title, summary="Should streets outside schools close at drop-off times?",
                                  body="<p>We propose <strong>school streets</strong>.</p><script>alert(1)</script>",
                                  department_id=None, questions=tuple(questions), opens_on=None, closes_on=None,
                                  strict_mode=strict)
    with _uow(app) as session:
        consultation = service.create_consultation(session, user_id=user.id, data=data)
        cid = consultation.id
    if state in ("open", "closed", "reported"):
        with _uow(app) as session:
            service.change_state(session, user_id=user.id, consultation_id=cid, action="open")
    if state in ("closed", "reported"):
        with _uow(app) as session:
            service.change_state(session, user_id=user.id, consultation_id=cid, action="close")
    if state == "reported":
        with _uow(app) as session:
            service.publish_report(session, user_id=user.id, consultation_id=cid, text="<p>We heard you.</p>")
    return cid


def make_comment(app, helpers, cid: int, email: str, body: str, *, parent_id=None, question_id=None) -> int:
    user = helpers.add_user(app, email)
    with _uow(app) as session:
        comment = service.post_comment(session, consultation_id=cid, author_id=user.id, body=body,
                                       parent_id=parent_id, question_id=question_id,
                                       limits=ConsultationSettings(comment_rate_limit="1000/60"))
        return comment.id


@pytest.fixture
def factories(helpers):
    return types.SimpleNamespace(
        consultation=lambda app, **kw: make_consultation(app, helpers, **kw),
        comment=lambda app, cid, email, body, **kw: make_comment(app, helpers, cid, email, body, **kw),
        uow=_uow,
    )
