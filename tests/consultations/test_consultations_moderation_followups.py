"""Follow-ups to moderators' decisions: an upheld appeal restores a redacted comment; blocked authors can't post."""
from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import utc_now
from app.db import unit_of_work
from app.events import publish
from app.models import User
from consultations import service
from consultations.models import Comment, CommentEdit
from moderation import Decision, ModerationDecided


def _open_consultation(app, helpers, client):
    official = helpers.add_user(app, "o@example.org", role="official", department="transport")
    from consultations import forms

    with unit_of_work(app.state.engine, app.state.unit_context) as session:
        data = forms.parse_consultation_form({"title": "Buses", "summary": "Routes", "body": "<p>Plan</p>",
                                              "questions": ""})[0]
        c = service.create_consultation(session, user_id=official.id, data=data)
        service.change_state(session, user_id=official.id, consultation_id=c.id, action="open")
        return c.id


def test_upheld_appeal_restores_the_redacted_words(app, helpers, client):
    cid = _open_consultation(app, helpers, client)
    author = helpers.add_user(app, "r@example.org")
    state = app.state
    with unit_of_work(state.engine, state.unit_context) as session:
        comment = service.post_comment(session, consultation_id=cid, author_id=author.id, body="Call me on 07700 900123 about buses",
                                       limits=app.state.unit_context.settings("consultations"))
        comment_id = comment.id
    with unit_of_work(state.engine, state.unit_context) as session:
        publish(session, ModerationDecided(kind="comment", item_id=comment_id, decision=Decision.REDACT,
                                           reason_code="personal-information", redacted_text="Call me on [...] about buses"))
    with unit_of_work(state.engine, state.unit_context) as session:
        assert session.get(Comment, comment_id).body == "Call me on [...] about buses"
        publish(session, ModerationDecided(kind="comment", item_id=comment_id, decision=Decision.APPROVE,
                                           reason_code="appeal-upheld",
                                           extra={"original_text": "Call me on 07700 900123 about buses"}))
    with unit_of_work(state.engine) as session:
        assert session.get(Comment, comment_id).body == "Call me on 07700 900123 about buses"
        kinds = [e.kind for e in session.exec(select(CommentEdit).where(CommentEdit.comment_id == comment_id))]
        assert kinds == ["redact", "restore"]


def test_blocked_author_cannot_post(app, helpers, client):
    cid = _open_consultation(app, helpers, client)
    author = helpers.add_user(app, "r@example.org")
    with unit_of_work(app.state.engine) as session:
        user = session.get(User, author.id)
        user.blocked_until = utc_now() + timedelta(days=3)
        session.add(user)
    helpers.sign_in(client, app, "r@example.org")
    response = client.post(f"/consultations/{cid}/comments", data={"body": "Hello"})
    assert response.status_code == 403
    assert "paused your account" in response.text
    with unit_of_work(app.state.engine) as session:
        assert session.exec(select(Comment)).all() == []


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_decision_email_subjects_name_the_kind_in_lower_case_in_both_languages(app, locale):
    """"Your Comment was hidden": the kind's queue label was put mid-sentence. Each kind has its own subject."""
    expected = {
        "en": {("comment", "hide"): "Your comment was hidden", ("petition", "hide"): "Your petition was hidden",
               ("response", "hide"): "Your response was hidden",
               ("comment", "redact"): "Part of your comment was removed",
               ("petition", "redact"): "Part of your petition was removed",
               ("response", "redact"): "Part of your response was removed"},
        "zh-Hans": {("comment", "hide"): "您的评论已被隐藏", ("petition", "hide"): "您的请愿已被隐藏",
                    ("response", "hide"): "您的回应已被隐藏",
                    ("comment", "redact"): "您的评论中有部分内容被删除",
                    ("petition", "redact"): "您的请愿中有部分内容被删除",
                    ("response", "redact"): "您的回应中有部分内容被删除"},
    }[locale]
    labels = {"comment": "Comment", "petition": "Petition", "response": "Response"}  # as moderation passes them
    for (kind, decision), subject in expected.items():
        context = {"name": "Rita", "kind": kind, "kind_label": labels[kind], "decision": decision,
                   "reason_title": "Spam", "reason_description": "", "excerpt": "text", "redacted_text": "",
                   "blocked_until": None, "item_url": "/x", "context_title": "", "token": "t", "appeal_days": 14}
        rendered, _body = app.state.renderer.render_email("moderation/decision", context, locale)
        assert rendered == subject


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_decision_and_appeal_emails_name_the_kind_in_a_natural_sentence_in_both_languages(app, locale):
    """The body said "A moderator hid your Comment because ...": the queue label (capitalised) was put mid-sentence.
    Each kind is now a translated lower-case noun phrase ("your comment", 您的评论) inside a full sentence."""
    expected = {
        "en": {("comment", "hide"): "A moderator hid your comment because it breaks the rule “Spam”.",
               ("petition", "hide"): "A moderator hid your petition because it breaks the rule “Spam”.",
               ("comment", "redact"): "A moderator replaced part of your comment with [...] because it breaks the rule “Spam”.",
               ("petition", "redact"): "A moderator replaced part of your petition with [...] because it breaks the rule “Spam”.",
               ("comment", "overturned"): "agreed with you: your comment is visible again.",
               ("petition", "upheld"): "kept the decision, because your petition breaks the rule “Spam”."},
        "zh-Hans": {("comment", "hide"): "审核员隐藏了您的评论，因为它违反了“Spam”规则。",
                    ("petition", "hide"): "审核员隐藏了您的请愿，因为它违反了“Spam”规则。",
                    ("comment", "redact"): "审核员将您的评论中的部分内容替换为 [...]，因为它违反了“Spam”规则。",
                    ("petition", "redact"): "审核员将您的请愿中的部分内容替换为 [...]，因为它违反了“Spam”规则。",
                    ("comment", "overturned"): "同意您的意见：您的评论已重新公开显示。",
                    ("petition", "upheld"): "维持原决定，因为您的请愿违反了“Spam”规则。"},
    }[locale]
    labels = {"comment": "Comment", "petition": "Petition"}  # the queue labels moderation passes as kind_label
    for (kind, decision), sentence in expected.items():
        context = {"name": "Rita", "kind": kind, "kind_label": labels[kind], "decision": decision,
                   "reason_title": "Spam", "reason_description": "", "excerpt": "text", "redacted_text": "",
                   "blocked_until": None, "item_url": "/x", "context_title": "", "token": "t", "appeal_days": 14}
        if decision in ("overturned", "upheld"):
            context.update(decision="hide", outcome=decision)
            _subject, body = app.state.renderer.render_email("moderation/appeal_outcome", context, locale)
        else:
            _subject, body = app.state.renderer.render_email("moderation/decision", context, locale)
        assert sentence in body, body
        assert "Comment" not in body and "Petition" not in body
