"""Security standing checks: fixtures (the world of security_world.py, lifted rate limits); the rest comes from
tests/conftest.py."""
from __future__ import annotations

import dataclasses

import pytest
from security_world import FIGURES, build_world


@pytest.fixture
def settings(settings):
    # Every role signs in several times (fresh and revoked sessions): lift the sign-in rate limit.
    return dataclasses.replace(settings, login_rate_limit="10000/60")


@pytest.fixture
def domain_settings():
    from app.main import load_domain_settings

    sections = load_domain_settings(env_file=None)
    sections["petitions"] = dataclasses.replace(
        sections["petitions"], settle_interval_seconds=0.0, sign_rate_burst="10000/60",
        sign_rate_sustained="10000/300", start_rate_burst="10000/60", start_rate_sustained="10000/300",
        page_size=500)
    sections["consultations"] = dataclasses.replace(
        sections["consultations"], comment_rate_limit="10000/60", comment_ip_rate_limit="10000/60",
        vote_rate_limit="10000/60")
    return sections


@pytest.fixture
def world(app, helpers):
    return build_world(app, helpers)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("standing security checks")
        for line in FIGURES:
            terminalreporter.write_line(line)
