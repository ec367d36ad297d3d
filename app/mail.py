"""Mail: an outbox written in the caller's transaction, and senders that deliver it later with retries.

`queue_email` never talks to the network; `deliver_pending` drains the outbox (run by a background job), marking
each message sent right after the server accepts it: across a crash, at most the one message in flight is sent again,
with the same `Message-ID`.
"""
from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import unquote, urlparse

from sqlalchemy import bindparam, insert, or_, select, update
from sqlmodel import Session, col

from app import logs
from app.clock import utc_now
from app.context import unit_context
from app.db import HotStatement, claim_ids, write_session
from app.models import OutboxMessage, OutboxStatus

log = logging.getLogger("civic.mail")

# Seconds to wait before attempt n+1 (after n failures); after the last one the message is marked failed.
BACKOFF = (30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600)
LEASE = timedelta(minutes=5)


class PermanentFailure(Exception):
    """The server refused the message for good (5xx); retrying will not help."""


class Sender(Protocol):
    def send(self, message: OutboxMessage, mail_from: str) -> None: ...


# One INSERT for every e-mail: signing writes hundreds a second (`HotStatement`: no ORM object, no per-call
# statement set-up).
_OUTBOX_COLUMNS = ("to_addr", "subject", "body", "template", "status", "attempts", "created_at", "next_attempt_at",
                   "last_error", "unsubscribe_url", "request_id")
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]  # sqlmodel does not declare __table__
_OUTBOX_INSERT = HotStatement(insert(_OUTBOX).values({c: bindparam(c, type_=_OUTBOX.c[c].type) for c in _OUTBOX_COLUMNS}))


def add_to_outbox(session: Session, *, to: str, subject: str, body: str, template: str, unsubscribe: str = "") -> None:
    """Add an already rendered e-mail to the outbox in this transaction: the one way a row gets there."""
    now = utc_now()
    _OUTBOX_INSERT(session, {
        "to_addr": to, "subject": subject[:300], "body": body, "template": template[:120],
        "status": OutboxStatus.QUEUED.value, "attempts": 0, "created_at": now, "next_attempt_at": now,
        "last_error": "", "unsubscribe_url": unsubscribe, "request_id": logs.current(),
    })


def queue_email(session: Session, *, to: str, template: str, context: dict, locale: str = "en",
                unsubscribe: str = "") -> None:
    """Render `templates/emails/<template>.txt` in `locale` and add it to the outbox in this transaction.

    The template's first line is `Subject: ...`, then a blank line, then the body. `unsubscribe`: an absolute
    URL that stops this kind of e-mail when POSTed to (RFC 8058), sent as the List-Unsubscribe header so mail
    programs can offer their own "unsubscribe" button; the body should carry the same link for people.
    """
    subject, body = unit_context(session).renderer.render_email(template, context, locale)
    add_to_outbox(session, to=to, subject=subject, body=body, template=template, unsubscribe=unsubscribe)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_pending(engine, sender: Sender, mail_from: str, *, limit: int = 100, worker: str = "mailer") -> DeliveryReport:
    """Claim due messages with a lease, send each, and record each outcome as soon as it is known. Safe to run in
    many processes.

    Each message is marked sent in its own small write transaction right after the SMTP server accepted it, so a
    crash (SIGKILL, power loss) re-sends at most the one message that was in flight: the server may have accepted
    it just before the crash, and nothing we can record makes that atomic with the server's acceptance. Delivery is
    therefore at-least-once for that one message (no protocol does better without the receiver's cooperation);
    every attempt carries the same `Message-ID` (derived from the outbox row), so a receiving mail system can drop
    the duplicate. Every other message of the batch is either recorded as sent or never left.
    """
    report = DeliveryReport()
    now = utc_now()
    with write_session(engine) as session:
        ids = claim_ids(
            session, OutboxMessage, col(OutboxMessage.status) == OutboxStatus.QUEUED, col(OutboxMessage.next_attempt_at) <= now,
            or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
            order_by=(col(OutboxMessage.id),), limit=limit,
            # The lease covers the slowest batch (every send timing out), so no other worker re-sends meanwhile.
            values=lambda taken: {"locked_until": now + max(LEASE, timedelta(seconds=25 * taken))},
        )
        if not ids:
            session.commit()
            return report
        messages = list(session.scalars(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id))))
        session.commit()
    for message in messages:
        assert message.id is not None  # rows read back from the database
        try:
            sender.send(message, mail_from)
        except PermanentFailure as exc:
            _record_failure(engine, message.id, "failed", str(exc), report)
        except Exception as exc:  # network trouble, 4xx: try again later
            _record_failure(engine, message.id, "retry", f"{type(exc).__name__}: {exc}", report)
        else:
            # one short statement per message: the writer is held for a moment only, and the record follows the
            # server's acceptance as closely as it can
            with write_session(engine) as session:
                session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(
                    status=OutboxStatus.SENT, sent_at=utc_now(), attempts=col(OutboxMessage.attempts) + 1,
                    locked_until=None, last_error="").execution_options(synchronize_session=False))
                session.commit()
            report.sent += 1
    return report


def _record_failure(engine, message_id: int, outcome: str, error: str, report: DeliveryReport) -> None:
    with write_session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            session.commit()
            return
        message.attempts += 1
        message.locked_until = None
        message.last_error = error[:2000]
        if outcome == "failed" or message.attempts > len(BACKOFF):
            message.status = OutboxStatus.FAILED
            report.failed += 1
            log.error("Giving up on mail %s to %s: %s", message.id, message.to_addr, error)
        else:
            message.next_attempt_at = utc_now() + timedelta(seconds=BACKOFF[message.attempts - 1])
            report.retried += 1
            log.warning("Mail %s will be retried: %s", message.id, error)
        session.commit()


def message_id(message: OutboxMessage, mail_from: str = "") -> str:
    """The `Message-ID` of an outbox row: the same on every attempt, so receivers can drop a re-sent duplicate."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "civic.localhost"
    created = int(message.created_at.timestamp()) if message.created_at else 0
    return f"<civic-outbox.{message.id}.{created}@{domain}>"


def _build_email(message: OutboxMessage, mail_from: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    email["Message-ID"] = message_id(message, mail_from)
    email["Auto-Submitted"] = "auto-generated"
    if message.unsubscribe_url:
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body)
    return email


class SMTPSender:
    """Delivers over SMTP (`smtp://`, STARTTLS when offered, or `smtps://`)."""

    def __init__(self, url: str, timeout: float = 20.0):
        parsed = urlparse(url)
        if parsed.scheme not in {"smtp", "smtps"}:
            raise ValueError("CIVIC_SMTP_URL must start with smtp:// or smtps://")
        self.secure = parsed.scheme == "smtps"
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or (465 if self.secure else 25)
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.timeout = timeout

    def send(self, message: OutboxMessage, mail_from: str) -> None:
        email = _build_email(message, mail_from)
        try:
            client: smtplib.SMTP
            if self.secure:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if not self.secure and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
        except (socket.timeout, OSError):
            raise


class ConsoleSender:
    """Used when no SMTP server is configured: logs each message; `civic outbox` shows them in full."""

    def send(self, message: OutboxMessage, mail_from: str) -> None:
        log.info("Mail (console) to %s: %s", message.to_addr, message.subject)


def build_sender(smtp_url: str) -> Sender:
    return SMTPSender(smtp_url) if smtp_url else ConsoleSender()
