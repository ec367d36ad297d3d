"""Polis open-data interchange: import a conversation export (comments.csv, votes.csv) into a new consultation,
and write a consultation back out in the same format with pseudonymous participant ids.

Polis encodes votes as 1 agree, -1 disagree, 0 pass, and `moderated` as 1 accepted, 0 unmoderated,
-1 moderated out. Its votes.csv is a log: a participant who changed their mind appears more than once, and
the latest row is their current vote (which is what Civic counts: one vote per person per comment).
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import html
import io
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app import csv_export
from app.clock import as_utc, utc_now
from app.db import pk
from app.errors import ValidationFailed
from app.models import Department, Role, User

from .models import (
    Comment,
    CommentStatus,
    CommentVote,
    CommentVoteEvent,
    Consultation,
    ConsultationState,
)

COMMENT_COLUMNS = ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                   "comment-body"]
VOTE_COLUMNS = ["timestamp", "datetime", "comment-id", "voter-id", "vote"]
_COUNTER = {1: "agree_count", -1: "disagree_count", 0: "pass_count"}
csv.field_size_limit(10_000_000)


def placeholder_email(conversation: str, pid: int | str) -> str:
    """Internal address of an imported Polis participant: never shown, exported or mailed (`.invalid`)."""
    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in conversation.lower())[:60]
    return f"polis-{safe}-{pid}@invalid"


VOTER_PURPOSE = b"consultations.voter-id"


def pseudonym(secret: str, consultation_id: int, user_id: int) -> int:
    """An author id for exports (comments.csv `author-id`): stable within one consultation, unlinkable to user ids
    or across consultations."""
    digest = hmac.new(secret.encode(), f"consultation:{consultation_id}:user:{user_id}".encode(), hashlib.sha256)
    return int(digest.hexdigest()[:12], 16)


def voter_pseudonym(secret: str, consultation_id: int, user_id: int) -> int:
    """A voter id for exports (votes.csv `voter-id`) and the analysis: stable within one consultation, but from a
    namespace of its own (another key, derived for this purpose), so it cannot be joined to the same person's
    author id. Otherwise the thread's named comments would tie every vote to a name. Polis tools accept this:
    an author is then a participant who cast no vote, and a voter one who wrote nothing."""
    key = hmac.new(secret.encode(), VOTER_PURPOSE, hashlib.sha256).digest()
    digest = hmac.new(key, f"consultation:{consultation_id}:user:{user_id}".encode(), hashlib.sha256)
    return int(digest.hexdigest()[:12], 16)


def _ts(ms: str | int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def _ms(value: datetime) -> int:
    return int(as_utc(value).timestamp() * 1000)


def _day_start(value: datetime) -> datetime:
    return as_utc(value).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _polis_datetime(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


@dataclass(frozen=True)
class ImportResult:
    consultation_id: int
    comments: int
    votes: int
    vote_events: int
    participants: int


def _read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_summary(directory: Path) -> dict[str, str]:
    path = directory / "summary.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}


def _user_ids(session: Session, emails: list[str]) -> dict[str, int]:
    rows = session.exec(select(col(User.email), col(User.id)).where(col(User.email).in_(emails))).all()
    return {email: pk(user_id) for email, user_id in rows}


def _ensure_users(session: Session, conversation: str, pids: Iterable[int], now: datetime) -> dict[int, int]:
    wanted = {pid: placeholder_email(conversation, pid) for pid in pids}
    by_email: dict[str, int] = {}
    emails = list(wanted.values())
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        by_email.update(_user_ids(session, chunk))
    missing = [{"email": e, "email_display": "", "name": "", "role": Role.RESIDENT, "locale": "en",
                "created_at": now, "blocked_reason": ""} for e in emails if e not in by_email]
    for start in range(0, len(missing), 2000):
        session.execute(insert(User), missing[start:start + 2000])
    if missing:
        for start in range(0, len(emails), 500):
            chunk = emails[start:start + 500]
            by_email.update(_user_ids(session, chunk))
    return {pid: by_email[email] for pid, email in wanted.items()}


def import_polis(session: Session, *, directory: Path, title: str | None = None, department_code: str | None = None,
                 state: str = ConsultationState.CLOSED, progress=None, source_name: str | None = None) -> ImportResult:
    """Load a Polis export into a new consultation (comments, every vote with its time, moderation flags).

    Raises: ValidationFailed when the directory lacks comments.csv or votes.csv or their columns.
    """
    directory = Path(directory)
    comments_path, votes_path = directory / "comments.csv", directory / "votes.csv"
    if not comments_path.is_file() or not votes_path.is_file():
        raise ValidationFailed({"directory": f"{directory} must contain comments.csv and votes.csv (a Polis export)."})
    comments = _read_csv(comments_path)
    votes = _read_csv(votes_path)
    if comments and not set(COMMENT_COLUMNS[2:]).issubset(comments[0]):
        raise ValidationFailed({"directory": f"comments.csv needs the columns {', '.join(COMMENT_COLUMNS)}."})
    if votes and not {"timestamp", "comment-id", "voter-id", "vote"}.issubset(votes[0]):
        raise ValidationFailed({"directory": f"votes.csv needs the columns {', '.join(VOTE_COLUMNS)}."})
    conversation = source_name or directory.name
    summary = read_summary(directory)
    now = utc_now()
    if progress:
        progress.step(f"read {len(comments)} comments and {len(votes)} votes")

    pids = {int(c["author-id"]) for c in comments} | {int(v["voter-id"]) for v in votes}
    users = _ensure_users(session, conversation, sorted(pids), now)
    if progress:
        progress.step(f"{len(users)} participants")

    department_id = None
    if department_code:
        dept = session.exec(select(Department).where(Department.code == department_code)).first()
        department_id = dept.id if dept else None
    times = [_ts(c["timestamp"]) for c in comments] + [_ts(v["timestamp"]) for v in votes]
    first, last = (min(times), max(times)) if times else (now, now)
    description = summary.get("conversation-description", "").strip()
    body = "".join(f"<p>{html.escape(p.strip())}</p>" for p in description.split("\n\n") if p.strip())
    body += (f"<p>Imported from the Polis conversation <a href=\"{html.escape(summary['url'])}\">"
             f"{html.escape(summary['url'])}</a> (open data, CC BY 4.0, The Computational Democracy Project).</p>"
             if summary.get("url") else "<p>Imported from a Polis conversation (open data).</p>")
    consultation = Consultation(
        title=(title or summary.get("topic") or conversation)[:200], summary=description[:600], body=body,
        department_id=department_id, state=state, opens_at=first,
        closes_at=last if state != ConsultationState.OPEN else None, created_at=first, updated_at=now,
        closed_at=last if state in (ConsultationState.CLOSED, ConsultationState.REPORTED) else None,
        source=f"polis:{conversation}"[:200])
    session.add(consultation)
    session.flush()
    assert consultation.id is not None  # flushed

    # Current vote per participant and comment: the latest row of the log wins.
    ordered = sorted(votes, key=lambda v: (int(v["timestamp"]), int(v["comment-id"]), int(v["voter-id"])))
    current: dict[tuple[int, int], tuple[int, datetime]] = {}
    for v in ordered:
        current[(int(v["comment-id"]), int(v["voter-id"]))] = (int(v["vote"]), _ts(v["timestamp"]))
    counters: dict[int, dict[str, int]] = {}
    for (cid, _pid), (value, _at) in current.items():
        counters.setdefault(cid, {"agree_count": 0, "disagree_count": 0, "pass_count": 0})[_COUNTER[value]] += 1

    rows = []
    published = 0
    for c in sorted(comments, key=lambda c: (int(c["timestamp"]), int(c["comment-id"]))):
        moderated = int(c.get("moderated") or 0)
        status = CommentStatus.HIDDEN if moderated < 0 else CommentStatus.PUBLISHED
        published += status == CommentStatus.PUBLISHED
        counts = counters.get(int(c["comment-id"]), {})  # the counters of a comment nobody voted on stay 0
        rows.append(Comment(
            consultation_id=consultation.id, depth=1, author_id=users[int(c["author-id"])],
            body=(c.get("comment-body") or "").strip(), status=status, listed=status == CommentStatus.PUBLISHED,
            route="publish", moderation_decision={1: "approve", -1: "hide"}.get(moderated, ""),
            created_at=_ts(c["timestamp"]), source_ref=int(c["comment-id"]), agree_count=counts.get("agree_count", 0),
            disagree_count=counts.get("disagree_count", 0), pass_count=counts.get("pass_count", 0)))
    session.add_all(rows)
    session.flush()
    consultation.comment_count = published
    session.add(consultation)
    comment_ids = {row.source_ref: row.id for row in rows}
    if progress:
        progress.step(f"{len(rows)} comments")

    events = [{"consultation_id": consultation.id, "comment_id": comment_ids[int(v["comment-id"])],
               "user_id": users[int(v["voter-id"])], "vote": int(v["vote"]), "created_at": _ts(v["timestamp"])}
              for v in ordered if int(v["comment-id"]) in comment_ids]
    for start in range(0, len(events), 5000):
        session.execute(insert(CommentVoteEvent), events[start:start + 5000])
    current_rows = [{"consultation_id": consultation.id, "comment_id": comment_ids[cid], "user_id": users[pid],
                     "vote": value, "created_at": at} for (cid, pid), (value, at) in current.items()
                    if cid in comment_ids]
    for start in range(0, len(current_rows), 5000):
        session.execute(insert(CommentVote), current_rows[start:start + 5000])
        if progress:
            progress.advance(len(current_rows[start:start + 5000]))
    session.flush()
    return ImportResult(consultation_id=consultation.id, comments=len(rows), votes=len(current_rows),
                        vote_events=len(events), participants=len(users))


# ----- export -----

def _moderated(comment: Comment) -> int:
    if comment.status in (CommentStatus.HIDDEN, CommentStatus.HELD):
        return -1
    return 1 if comment.moderation_decision in ("approve", "redact") else 0


def export_comments_csv(session: Session, *, consultation_id: int, secret: str) -> str:
    """comments.csv in Polis's format. Text of comments that aren't shown on the site (hidden, held, deleted by
    their author) is left out; the row stays, so ids and vote counts still line up."""
    out = io.StringIO()
    writer = csv_export.writer(out, lineterminator="\n")
    writer.writerow(COMMENT_COLUMNS)
    rows = session.exec(select(Comment).where(Comment.consultation_id == consultation_id).order_by(col(Comment.id)))
    for c in rows:
        body = c.body if c.status == CommentStatus.PUBLISHED else ""
        writer.writerow([_ms(c.created_at), _polis_datetime(c.created_at), c.id,
                         pseudonym(secret, consultation_id, c.author_id), c.agree_count, c.disagree_count,
                         _moderated(c), body])
    return out.getvalue()


def export_votes_csv(session: Session, *, consultation_id: int, secret: str) -> str:
    """votes.csv in Polis's format: every vote, day by day (a changed vote appears again after the earlier one).

    Voter ids come from `voter_pseudonym`, unlinked to comments.csv's author ids. Times are the start of the
    vote's day (UTC), and within a day rows go by voter id, not by time: an exact time would let anyone who saw
    when a named resident posted a comment, or watched them vote, find their voter id and so all their votes."""
    out = io.StringIO()
    writer = csv_export.writer(out, lineterminator="\n")
    writer.writerow(VOTE_COLUMNS)
    query = (select(CommentVoteEvent.created_at, CommentVoteEvent.comment_id, CommentVoteEvent.user_id,
                    CommentVoteEvent.vote)
             .where(CommentVoteEvent.consultation_id == consultation_id)
             .order_by(col(CommentVoteEvent.created_at), col(CommentVoteEvent.id)))
    cache: dict[int, int] = {}

    def pseudonym(user_id: int) -> int:
        pid = cache.get(user_id)
        if pid is None:
            pid = cache[user_id] = voter_pseudonym(secret, consultation_id, user_id)
        return pid

    rows = session.exec(query)
    for day, votes in groupby(rows, key=lambda row: _day_start(row[0])):
        ms, stamp = _ms(day), _polis_datetime(day)
        # A stable sort: one voter's rows keep their order, so a changed vote still follows the earlier one.
        for pid, comment_id, vote in sorted(((pseudonym(user_id), comment_id, vote)
                                             for _, comment_id, user_id, vote in votes), key=lambda r: r[0]):
            writer.writerow([ms, stamp, comment_id, pid, vote])
    return out.getvalue()
