"""Consultations demo content: an open consultation seeded from a real Polis conversation (CC BY 4.0, see
demo_data/freshwater/SOURCE.txt) with questions, comments, votes and an official response; a draft; and a
closed consultation with its report; one closed weeks ago still waiting for its outcome; and (synthetic) areas for
the open one's participants, for its map. Idempotent: each item is keyed by its `source`.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from app.auth import find_or_create_user
from app.clock import utc_now
from app.db import pk
from app.models import User

from . import forms, polis, service
from .config import ConsultationSettings
from .models import Comment, CommentVote, Consultation, ConsultationState, ParticipantArea, Question

DATA = Path(__file__).resolve().parent / "demo_data"
LIMITS = ConsultationSettings(comment_rate_limit="1000/60", comment_ip_rate_limit="1000/60", vote_rate_limit="1000/60")


def _exists(session, source: str) -> bool:
    return session.exec(select(Consultation.id).where(Consultation.source == source)).first() is not None


def _user(session, email: str, name: str) -> User:
    user = find_or_create_user(session, email=email, name=name)
    if not user.name:
        user.name = name
        session.add(user)
    return user


def _official(session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()




def _freshwater(session, now) -> int:
    result = polis.import_polis(session, directory=DATA / "freshwater", department_code="environment",
                                state=ConsultationState.OPEN, source_name="demo-freshwater",
                                title="Clean rivers and lakes: how should we protect our freshwater?")
    consultation = session.get(Consultation, result.consultation_id)
    consultation.source = "demo:freshwater"
    consultation.summary = ("Statements from a public conversation about freshwater quality. Vote on each one, "
                            "add your own, and answer our two questions.")
    consultation.body = (
        "<p>Our rivers, lakes and drinking water are under pressure from pollution and extraction. Before we "
        "write the next freshwater plan we want to hear what matters to you.</p>"
        "<ul><li>Vote <strong>Agree</strong>, <strong>Disagree</strong> or <strong>Pass</strong> on each "
        "statement.</li><li>Add statements of your own, or reply to others.</li></ul>"
        "<p>The first statements come from the HiveMind freshwater conversation run with Polis "
        "(open data, CC BY 4.0, The Computational Democracy Project).</p>")
    consultation.opens_at = now - timedelta(days=7)
    consultation.closes_at = now + timedelta(days=30)
    consultation.created_at = now - timedelta(days=7)
    session.add(consultation)
    q1 = Question(consultation_id=consultation.id, position=0, text="Who should pay to clean up polluted waterways?")
    q2 = Question(consultation_id=consultation.id, position=1,
                  text="What would help you use local rivers and lakes safely?")
    session.add(q1)
    session.add(q2)
    session.flush()
    riley = _user(session, "resident@example.org", "Riley Resident")
    sam = _user(session, "sam@example.org", "Sam")
    first = service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(riley.id),
                                 question_id=pk(q1.id),
                                 body="The companies whose discharge permits allow the pollution should pay most "
                                      "of it. Ratepayers already pay for water treatment.", limits=LIMITS)
    service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(sam.id), parent_id=pk(first.id),
                         body="Agreed, but small farms will need help to change. A transition fund would be fair.",
                         limits=LIMITS)
    service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(sam.id), question_id=pk(q2.id),
                         body="Publish water quality at swimming spots every week, on a sign and online.\n\n"
                              "Then families can decide for themselves.", limits=LIMITS)
    service.cast_vote(session, comment_id=pk(first.id), user_id=pk(sam.id), vote="agree", limits=LIMITS)
    official = _official(session, "environment.official@example.org")
    target = session.exec(select(Comment).where(Comment.consultation_id == consultation.id,
                                                col(Comment.body).like("5. Businesses that pollute%"))).first()
    if official is not None and target is not None:
        service.publish_response(session, consultation_id=pk(consultation.id), official_id=pk(official.id),
                                 comment_id=target.id, data=forms.ResponseData(
                                     decision="will_act",
                                     text="We agree. From next year, consent holders whose discharges breach the "
                                          "national limits will pay a pollution charge, published by site.",
                                     commitment="Draft charging policy published for comment.",
                                     follow_up_on=(now + timedelta(days=90)).date()))
        service.publish_response(session, consultation_id=pk(consultation.id), official_id=pk(official.id),
                                 question_id=q2.id, data=forms.ResponseData(
                                     decision="already_happening",
                                     text="Weekly water tests at 40 swimming spots are already published on the "
                                          "council website from December to March.",
                                     commitment="", follow_up_on=None))
    return 1 + result.comments


def _draft(session, now) -> int:
    official = _official(session, "official@example.org")
    if official is None:
        return 0
    consultation = service.create_consultation(session, user_id=pk(official.id), data=forms.ConsultationData(
        title="Bus lanes on the High Street", summary="A morning and evening bus lane between the station and the "
                                                      "hospital.",
        body="<p>Buses on the High Street are often late at peak times. We propose bus lanes from 7 to 10 am and "
             "4 to 7 pm.</p>", department_id=None,
        questions=("Would you use the bus more if it were on time?", "How would the lanes affect your deliveries?"),
        opens_on=(now + timedelta(days=14)).date(), closes_on=(now + timedelta(days=60)).date(), strict_mode=False))
    consultation.source = "demo:bus-lanes"
    session.add(consultation)
    return 1


def _closed(session, now) -> int:
    official = _official(session, "official@example.org")
    if official is None:
        return 0
    consultation = service.create_consultation(session, user_id=pk(official.id), data=forms.ConsultationData(
        title="School streets: closing roads at drop-off times",
        summary="Should streets outside primary schools close to traffic at the start and end of the school day?",
        body="<p>We trialled closing four streets outside primary schools for 45 minutes at the start and end of "
             "the day. Tell us what worked and what did not.</p>", department_id=None, questions=(),
        opens_on=None, closes_on=None, strict_mode=False))
    consultation.source = "demo:school-streets"
    service.change_state(session, user_id=pk(official.id), consultation_id=pk(consultation.id), action="open")
    riley = _user(session, "resident@example.org", "Riley Resident")
    sam = _user(session, "sam@example.org", "Sam")
    c1 = service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(riley.id),
                              body="My children walk to school now. The street is calm and the air feels cleaner.",
                              limits=LIMITS)
    c2 = service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(sam.id),
                              body="Carers who need to drive were not considered. Please allow blue badge "
                                   "holders through.", limits=LIMITS)
    service.cast_vote(session, comment_id=pk(c1.id), user_id=pk(sam.id), vote="agree", limits=LIMITS)
    service.cast_vote(session, comment_id=pk(c2.id), user_id=pk(riley.id), vote="pass", limits=LIMITS)
    service.publish_response(session, consultation_id=pk(consultation.id), official_id=pk(official.id),
                             comment_id=pk(c2.id),
                             data=forms.ResponseData(decision="will_act",
                                                     text="Blue badge holders will be given permits to enter "
                                                          "school streets.",
                                                     commitment="Permits available from the start of next term.",
                                                     follow_up_on=None))
    service.change_state(session, user_id=pk(official.id), consultation_id=pk(consultation.id), action="close")
    service.publish_report(session, user_id=pk(official.id), consultation_id=pk(consultation.id), text=(
        "<p>42 residents took part. Most supported school streets; carers who drive asked for access.</p>"
        "<h2>What we will do</h2><ul><li>Make the four trial streets permanent.</li>"
        "<li>Issue permits to blue badge holders.</li><li>Add six more schools next year.</li></ul>"))
    return 1


# Synthetic: the Polis data records no areas. Spread so the demo map shows counts and "fewer than 5" areas.
DEMO_AREAS = ("Central", "Central", "Central", "North", "North", "South", "Riverside", "East", "Hillside")


def _areas(session, source: str) -> None:
    """Give the consultation's participants (authors and voters) a demo area each, deterministically."""
    cid = session.exec(select(Consultation.id).where(Consultation.source == source)).first()
    if cid is None or session.exec(select(ParticipantArea.id).where(ParticipantArea.consultation_id == cid)).first():
        return
    voters = set(session.exec(select(CommentVote.user_id).where(CommentVote.consultation_id == cid)).all())
    authors = set(session.exec(select(Comment.author_id).where(Comment.consultation_id == cid)).all())
    for i, user_id in enumerate(sorted(voters | authors)):
        area = "Outside the city" if i < 3 else DEMO_AREAS[user_id % len(DEMO_AREAS)]   # one area below 5
        service.record_area(session, consultation_id=cid, user_id=user_id, area=area)


def _waiting(session, now) -> int:
    """A consultation closed a few weeks ago whose outcome is not published yet (How we respond lists it)."""
    official = _official(session, "official@example.org")
    if official is None:
        return 0
    consultation = service.create_consultation(session, user_id=pk(official.id), data=forms.ConsultationData(
        title="Library opening hours", summary="Should branch libraries open later on weekdays and on Sundays?",
        body="<p>We could open branch libraries until 8 pm on weekdays and from 12 to 4 pm on Sundays, by "
             "closing on Monday mornings.</p>", department_id=None,
        questions=("Which hours would you use?",), opens_on=None, closes_on=None, strict_mode=False))
    consultation.source = "demo:library-hours"
    service.change_state(session, user_id=pk(official.id), consultation_id=pk(consultation.id), action="open")
    riley = _user(session, "resident@example.org", "Riley Resident")
    service.post_comment(session, consultation_id=pk(consultation.id), author_id=pk(riley.id),
                         body="Sunday afternoons would suit families who work all week.", limits=LIMITS,
                         area="Riverside", areas=("Riverside",))
    service.change_state(session, user_id=pk(official.id), consultation_id=pk(consultation.id), action="close")
    consultation.closed_at = now - timedelta(days=24)   # closed some weeks ago, so the wait shows
    consultation.closes_at = consultation.closed_at
    session.add(consultation)
    return 1


def load(session, *, renderer=None, now=None) -> int:
    """Load demo content idempotently; return how many items were added."""
    now = now or utc_now()
    added = 0
    if not _exists(session, "demo:freshwater"):
        added += _freshwater(session, now)
    if not _exists(session, "demo:bus-lanes"):
        added += _draft(session, now)
    if not _exists(session, "demo:school-streets"):
        added += _closed(session, now)
    if not _exists(session, "demo:library-hours"):
        added += _waiting(session, now)
    session.flush()
    _areas(session, "demo:freshwater")
    return added
