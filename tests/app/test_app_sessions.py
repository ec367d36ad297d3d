"""Sessions have a server-side identity: signing out, "sign out everywhere", a role change or the end of the
session lifetime turn an old (or copied) cookie anonymous. Anonymous requests never touch the database for this."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update
from starlette.testclient import TestClient

from app.clock import utc_now
from app.db import read_session, unit_of_work
from app.models import User, UserSession


def _replay(app, cookie: str) -> TestClient:
    """A different browser that sends a copied session cookie."""
    other = TestClient(app, base_url="https://testserver", follow_redirects=False)
    other.cookies.set("civic_session", cookie, domain="testserver.local")
    return other


def _signed_in(response) -> bool:
    return response.status_code == 200 and "Your account" in response.text


def test_a_cookie_replayed_after_sign_out_is_anonymous(client, app, helpers):
    helpers.sign_in(client, app, "ann@example.org", name="Ann")
    cookie = client.cookies["civic_session"]
    with _replay(app, cookie) as thief:
        assert _signed_in(thief.get("/account"))
    assert client.post("/auth/sign-out").status_code == 303
    with _replay(app, cookie) as thief:
        response = thief.get("/account")
        assert response.status_code == 303 and "/auth/sign-in" in response.headers["location"]
        page = thief.get("/about")
        assert "Sign out" not in page.text and "Sign in" in page.text
        assert "civic_session=null" in page.headers.get("set-cookie", "")  # the stale cookie is cleared


def test_a_demoted_moderator_can_no_longer_read_staff_pages(client, app, helpers):
    helpers.sign_in(client, app, "mo@example.org", role="moderator", name="Mo")
    cookie = client.cookies["civic_session"]
    assert client.get("/moderation/").status_code == 200
    assert client.get("/moderation/quality").status_code == 200
    helpers.add_user(app, "mo@example.org", role="resident")  # what `civic users add mo@... --role resident` does
    with _replay(app, cookie) as old:
        for path in ("/moderation/", "/moderation/quality"):
            response = old.get(path)
            assert response.status_code == 403, (path, response.status_code)
    assert client.get("/moderation/").status_code == 403
    with read_session(app.state.engine) as s:
        user_id = s.exec(select(User.id).where(User.email == "mo@example.org")).scalar_one()
        assert s.exec(select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)).scalar_one() == 0


def test_a_role_changed_in_the_database_directly_also_ends_old_cookies(client, app, helpers):
    user = helpers.sign_in(client, app, "off@example.org", role="official", department="transport")
    assert _signed_in(client.get("/account"))
    with unit_of_work(app.state.engine) as s:
        s.execute(update(User).where(User.id == user.id).values(role="resident"))
    assert client.get("/account").status_code == 303


def test_signing_in_again_with_the_same_role_keeps_other_sessions(client, app, helpers, make_client):
    helpers.sign_in(client, app, "ann@example.org")
    helpers.sign_in(make_client(), app, "ann@example.org")
    assert _signed_in(client.get("/account"))


def test_sign_out_everywhere_ends_every_session_of_that_person_only(client, app, helpers, make_client):
    helpers.sign_in(client, app, "ann@example.org", name="Ann")
    phone, bob = make_client(), make_client()
    helpers.sign_in(phone, app, "ann@example.org")
    helpers.sign_in(bob, app, "bob@example.org")
    page = client.get("/account")
    assert 'action="/account/sign-out-everywhere"' in page.text and "Sign out everywhere" in page.text
    assert "A sign-in lasts 3 days at most." in page.text
    assert "在所有设备上退出登录" in client.get("/account", headers={"Accept-Language": "zh-CN"}).text
    # like every unsafe request, it is refused from another site
    refused = phone.post("/account/sign-out-everywhere", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and _signed_in(client.get("/account"))
    done = phone.post("/account/sign-out-everywhere", headers={"Sec-Fetch-Site": "same-origin"})
    assert done.status_code == 303
    assert phone.get("/account").status_code == 303
    assert client.get("/account").status_code == 303
    assert _signed_in(bob.get("/account"))


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, session_max_age_days=3)


def test_the_session_lifetime_setting_limits_a_sign_in(client, app, helpers):
    helpers.sign_in(client, app, "ann@example.org")
    set_cookie = client.post("/account", data={"name": "Ann", "locale": "en"}).headers["set-cookie"]
    assert f"Max-Age={3 * 86400}" in set_cookie
    with read_session(app.state.engine) as s:
        row = s.exec(select(UserSession)).scalar_one()
    assert timedelta(days=3) - timedelta(minutes=5) < row.expires_at - utc_now() <= timedelta(days=3)
    assert _signed_in(client.get("/account"))
    with unit_of_work(app.state.engine) as s:  # three days later: the cookie is still signed, the session is over
        s.execute(update(UserSession).values(expires_at=utc_now() - timedelta(seconds=1)))
    assert client.get("/account").status_code == 303


def test_only_signed_in_requests_check_the_session_in_the_database(client, app, helpers):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        assert client.get("/about").status_code == 200
        client.post("/auth/sign-out")  # leaves a session cookie with only a flash message in it
        assert "civic_session" in client.cookies
        assert client.get("/about").status_code == 200
        assert [s for s in statements if "user_session" in s] == []
        helpers.sign_in(client, app, "ann@example.org")
        statements.clear()
        assert client.get("/about").status_code == 200
        assert len([s for s in statements if "user_session" in s]) == 1
        statements.clear()
        assert client.get("/static/civic.css").status_code == 200
        assert statements == []
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)


def test_asking_for_a_link_creates_no_account_until_it_is_used(client, app, helpers):
    import re

    def users():
        with read_session(app.state.engine) as s:
            return s.exec(select(func.count()).select_from(User)).scalar_one()

    before = users()
    assert client.post("/auth/sign-in", data={"email": "New.Person@Example.org", "next": "/about"}).status_code == 200
    assert client.post("/auth/sign-in", data={"email": "someone.else@example.org"}).status_code == 200
    assert users() == before, "asking for a sign-in link created an account"
    link = helpers.last_link(app, "New.Person@Example.org")
    page = client.get(link.replace(app.state.settings.base_url, ""))
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post("/auth/confirm", data={"token": token})
    assert done.status_code == 303 and done.headers["location"] == "/about"
    assert users() == before + 1
    with read_session(app.state.engine) as s:
        user = s.exec(select(User).where(User.email == "new.person@example.org")).scalar_one()
    assert user.role == "resident" and user.last_sign_in_at is not None
    assert _signed_in(client.get("/account"))
    # the same link can't be used twice, and a second link for the same address finds the account
    assert client.post("/auth/confirm", data={"token": token}).status_code == 400
    helpers.sign_in(client, app, "new.person@example.org")
    assert users() == before + 1
