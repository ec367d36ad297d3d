"""Mail goes through the outbox and a real SMTP server (aiosmtpd), with retries and permanent failures."""
import email
import time

import pytest
from aiosmtpd.controller import Controller

from app.db import unit_of_work
import app.mail as mail
from app.mail import OutboxStatus, SMTPSender, deliver_pending, queue_email
from sqlmodel import select

from app.models import OutboxMessage


class Inbox:
    def __init__(self, refuse: bool = False):
        self.messages = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode("utf8", "replace")))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(helpers):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=helpers.free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def _queue(app, to="resident@example.org", locale="en"):
    with unit_of_work(app.state.engine, app.state.unit_context) as session:
        queue_email(session, to=to, template="auth/sign_in", context={"token": "abc", "name": ""}, locale=locale)


def _messages(app):
    with unit_of_work(app.state.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_outbox_message_is_delivered_over_smtp(app, smtp_server):
    inbox, port = smtp_server
    _queue(app)
    report = deliver_pending(app.state.engine, SMTPSender(f"smtp://127.0.0.1:{port}"), "Civic <no-reply@civic.test>")
    assert report.sent == 1
    (mail_from, rcpts, content), = inbox.messages
    parsed = email.message_from_string(content)
    assert rcpts == ["resident@example.org"] and parsed["Subject"] == "Your sign-in link"
    assert "https://testserver/auth/confirm?token=abc" in parsed.get_payload(decode=True).decode()
    message, = _messages(app)
    assert message.status == OutboxStatus.SENT and message.sent_at is not None
    # Delivering again sends nothing twice.
    assert deliver_pending(app.state.engine, SMTPSender(f"smtp://127.0.0.1:{port}"), "x@y.z").sent == 0
    assert len(inbox.messages) == 1


def test_stoppable_notifications_carry_a_one_click_unsubscribe_header(app, smtp_server):
    inbox, port = smtp_server
    _queue(app, to="signin@example.org")  # a sign-in link is not a subscription: no header
    with unit_of_work(app.state.engine, app.state.unit_context) as session:
        queue_email(session, to="follower@example.org", template="auth/sign_in", context={"token": "t", "name": ""},
                    unsubscribe="https://testserver/consultations/unsubscribe?token=xyz")
    assert deliver_pending(app.state.engine, SMTPSender(f"smtp://127.0.0.1:{port}"), "x@y.z").sent == 2
    by_to = {rcpts[0]: email.message_from_string(content) for _, rcpts, content in inbox.messages}
    assert by_to["signin@example.org"]["List-Unsubscribe"] is None
    follower = by_to["follower@example.org"]
    assert follower["List-Unsubscribe"] == "<https://testserver/consultations/unsubscribe?token=xyz>"
    assert follower["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unreachable_server_means_retry_later_not_loss(app, helpers):
    _queue(app)
    dead = SMTPSender(f"smtp://127.0.0.1:{helpers.free_port()}", timeout=2)
    report = deliver_pending(app.state.engine, dead, "x@y.z")
    assert report.retried == 1
    message, = _messages(app)
    assert message.status == OutboxStatus.QUEUED and message.attempts == 1
    assert message.next_attempt_at > message.created_at and message.last_error
    # Not due yet: a second run doesn't hammer the server.
    assert deliver_pending(app.state.engine, dead, "x@y.z").retried == 0


def test_permanent_refusal_is_marked_failed(app, helpers):
    handler = Inbox(refuse=True)
    controller = Controller(handler, hostname="127.0.0.1", port=helpers.free_port())
    controller.start()
    try:
        _queue(app)
        report = deliver_pending(app.state.engine, SMTPSender(f"smtp://127.0.0.1:{controller.port}"), "x@y.z")
    finally:
        controller.stop()
    assert report.failed == 1
    message, = _messages(app)
    assert message.status == OutboxStatus.FAILED and "550" in message.last_error


def test_mail_is_written_in_the_same_transaction_as_the_change(app):
    with pytest.raises(RuntimeError):
        with unit_of_work(app.state.engine, app.state.unit_context) as session:
            queue_email(session, to="a@example.org", template="auth/sign_in", context={"token": "t", "name": ""})
            raise RuntimeError("the change failed")
    assert _messages(app) == []


def test_mail_is_rendered_in_the_recipients_language(app):
    _queue(app, locale="zh-Hans")
    message, = _messages(app)
    assert message.subject == "您的登录链接" and "30 分钟" in message.body


def test_in_process_worker_delivers_sign_in_mail(live_server, helpers):
    import httpx

    base = live_server.state.base_url
    with httpx.Client(base_url=base) as c:
        assert c.post("/auth/sign-in", data={"email": "w@example.org"}).status_code == 200
    sender = live_server.state.services["mail_sender"]
    deadline = time.time() + 10
    while time.time() < deadline and not sender.sent:
        time.sleep(0.1)
    assert [m.to_addr for m in sender.sent] == ["w@example.org"]


class _WorkerDied(BaseException):
    """Stands in for SIGKILL: nothing after it runs in the worker."""


class _Recording:
    """A sender that records what the server accepted; `die_on` the n-th send, the worker dies before it returns."""

    def __init__(self, die_on: int | None = None):
        self.accepted: list[int] = []
        self.die_on = die_on

    def send(self, message, mail_from):
        if self.die_on is not None and len(self.accepted) + 1 == self.die_on:
            raise _WorkerDied
        self.accepted.append(message.id)


def test_crash_mid_batch_resends_only_the_messages_not_recorded_as_sent(app, monkeypatch):
    for n in range(4):
        _queue(app, to=f"resident{n}@example.org")
    first, *rest = [m.id for m in _messages(app)]
    dying = _Recording(die_on=2)  # the server accepts the first message; the worker dies during the second
    with pytest.raises(_WorkerDied):
        deliver_pending(app.state.engine, dying, "x@y.z")
    assert dying.accepted == [first]
    assert {m.id: m.status for m in _messages(app)}[first] == OutboxStatus.SENT  # recorded before the next send
    later = mail.utc_now() + mail.LEASE + mail.timedelta(minutes=1)
    monkeypatch.setattr(mail, "utc_now", lambda: later)  # the batch's lease has run out: another worker delivers
    survivor = _Recording()
    assert deliver_pending(app.state.engine, survivor, "x@y.z").sent == 3
    assert survivor.accepted == rest, "a message already recorded as sent was sent again"
    assert all(m.status == OutboxStatus.SENT and m.attempts == 1 for m in _messages(app))


def test_every_attempt_of_a_message_carries_the_same_message_id(app, smtp_server):
    inbox, port = smtp_server
    _queue(app)
    message, = _messages(app)
    assert mail._build_email(message, "Civic <no-reply@civic.test>")["Message-ID"] == \
        mail._build_email(message, "Civic <no-reply@civic.test>")["Message-ID"]
    deliver_pending(app.state.engine, SMTPSender(f"smtp://127.0.0.1:{port}"), "Civic <no-reply@civic.test>")
    (_, _, content), = inbox.messages
    sent_id = email.message_from_string(content)["Message-ID"]
    assert sent_id == mail.message_id(message, "Civic <no-reply@civic.test>")
    assert sent_id.startswith(f"<civic-outbox.{message.id}.") and sent_id.endswith("@civic.test>")
