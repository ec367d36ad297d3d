"""The app's UnitContext: use cases get the bus, renderer, signer, classifier and settings from the one object the
composition root built, and a session opened without it fails loudly instead of using defaults."""
import dataclasses

import pytest
from sqlmodel import select

from app.context import MissingUnitContext, unit_context
from app.db import read_session, unit_of_work
from app.events import publish
from app.http import settings_reader
from app.mail import queue_email
from app.models import OutboxMessage
from moderation.service import settings_of


class Happened:
    pass


def _outbox(engine):
    with read_session(engine) as s:
        return list(s.exec(select(OutboxMessage)))


def test_a_session_without_the_context_refuses_and_writes_nothing(app):
    engine = app.state.engine
    with pytest.raises(MissingUnitContext, match="app.state.unit_context"):
        with unit_of_work(engine) as session:
            queue_email(session, to="a@example.org", template="auth/sign_in", context={"link": "x"})
    with pytest.raises(MissingUnitContext):
        with unit_of_work(engine) as session:
            publish(session, Happened())
    with pytest.raises(MissingUnitContext), read_session(engine) as session:
        settings_of(session)  # no silent ModerationSettings() default
    assert _outbox(engine) == []


def test_routes_jobs_and_use_cases_share_one_context(app, domain_settings):
    unit = app.state.unit_context
    assert app.state.job_context.unit is unit and unit.domain_settings is domain_settings
    heard = []
    unit.events.subscribe(Happened, lambda session, event: heard.append(unit_context(session)))
    with app.state.job_context.unit_of_work() as session:
        publish(session, Happened())
    with unit_of_work(app.state.engine, unit) as session:
        publish(session, Happened())
    assert heard == [unit, unit]


def test_a_settings_change_made_once_reaches_routes_jobs_and_use_cases(app, domain_settings):
    domain_settings["moderation"] = dataclasses.replace(domain_settings["moderation"], claim_minutes=7)

    class Request:  # what a route handler's settings reader looks at
        pass

    request = Request()
    request.app = app
    assert settings_reader("moderation")(request).claim_minutes == 7
    with app.state.job_context.unit_of_work() as session:
        assert settings_of(session).claim_minutes == 7
