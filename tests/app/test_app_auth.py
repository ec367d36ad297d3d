"""Passwordless sign-in: e-mailed single-use link, confirmed by a POST button."""
import re

import itsdangerous


def _confirm_path(app, helpers, email):
    link = helpers.last_link(app, email)
    assert link.startswith("https://testserver/auth/confirm?token=")
    return link.replace("https://testserver", "")


def test_sign_in_by_emailed_link(client, app, helpers):
    page = client.get("/auth/sign-in")
    assert 'for="field-email">Email address</label>' in page.text
    assert "Email me a sign-in link" in page.text
    response = client.post("/auth/sign-in", data={"email": "Resident@Example.org", "next": "/account"})
    assert response.status_code == 200
    assert "Check your e-mail" in response.text
    mail = helpers.outbox(app, "Resident@Example.org")
    assert len(mail) == 1 and mail[0].subject == "Your sign-in link"
    path = _confirm_path(app, helpers, "Resident@Example.org")

    # Opening the link (as a mail scanner would) does not sign in or use up the token.
    opened = client.get(path)
    assert opened.status_code == 200 and ">Sign in</button>" in opened.text
    assert client.get("/account").status_code == 303
    token = re.search(r'name="token" value="([^"]+)"', opened.text).group(1)

    done = client.post("/auth/confirm", data={"token": token})
    assert done.status_code == 303 and done.headers["location"] == "/account"
    assert client.get("/account").status_code == 200


def test_token_is_single_use(client, make_client, app, helpers):
    client.post("/auth/sign-in", data={"email": "a@example.org"})
    token = re.search(r"token=(\S+)", helpers.outbox(app)[-1].body).group(1)
    assert client.post("/auth/confirm", data={"token": token}).status_code == 303
    other = make_client()
    again = other.post("/auth/confirm", data={"token": token})
    assert again.status_code == 400
    assert "already been used" in again.text
    assert other.get("/account").status_code == 303


def test_expired_token_is_refused(client, app, helpers, monkeypatch):
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) - 31 * 60)
    client.post("/auth/sign-in", data={"email": "late@example.org"})
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    token = re.search(r"token=(\S+)", helpers.outbox(app)[-1].body).group(1)
    response = client.post("/auth/confirm", data={"token": token})
    assert response.status_code == 400 and "expired" in response.text


def test_tampered_token_is_refused(client, app, helpers):
    client.post("/auth/sign-in", data={"email": "a@example.org"})
    token = re.search(r"token=(\S+)", helpers.outbox(app)[-1].body).group(1)
    response = client.post("/auth/confirm", data={"token": token[:-3] + "abc"})
    assert response.status_code == 400 and "not valid" in response.text


def test_bad_email_shows_message_next_to_field(client, app, helpers):
    response = client.post("/auth/sign-in", data={"email": "not-an-address"})
    assert response.status_code == 422
    assert 'id="error-email"' in response.text and "name@example.com" in response.text
    assert 'value="not-an-address"' in response.text  # what was typed is kept
    assert helpers.outbox(app) == []


def test_sign_in_requests_are_rate_limited(client, app, helpers):
    statuses = [client.post("/auth/sign-in", data={"email": "flood@example.org"}).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    limited = client.post("/auth/sign-in", data={"email": "flood@example.org"})
    assert "Wait a few minutes" in limited.text and int(limited.headers["retry-after"]) > 0
    assert len(helpers.outbox(app, "flood@example.org")) == 5


def test_session_cookie_flags(client, app, helpers):
    helpers.sign_in(client, app, "a@example.org")
    response = client.post("/account", data={"name": "Ann", "locale": "en"})
    cookie = response.headers.get("set-cookie", "")
    assert "civic_session=" in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "secure" in cookie.lower()


def test_sign_out(client, app, helpers):
    helpers.sign_in(client, app, "a@example.org")
    assert client.post("/auth/sign-out").status_code == 303
    assert client.get("/account").status_code == 303


def test_profile_validation(client, app, helpers):
    helpers.sign_in(client, app, "a@example.org")
    response = client.post("/account", data={"name": "x" * 81, "locale": "xx"})
    assert response.status_code == 422
    assert "80 characters" in response.text and "listed languages" in response.text


def test_chinese_visitor_gets_chinese_messages(client, app, helpers):
    client.cookies.set("civic_locale", "zh-Hans")
    page = client.get("/auth/sign-in")
    assert '<html lang="zh-Hans">' in page.text and "电子邮件地址" in page.text
    response = client.post("/auth/sign-in", data={"email": "bad"})
    assert response.status_code == 422 and "请输入类似" in response.text
    client.post("/auth/sign-in", data={"email": "zh@example.org"})
    assert helpers.outbox(app, "zh@example.org")[-1].subject == "您的登录链接"
