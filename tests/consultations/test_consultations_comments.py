"""Residents commenting, replying, editing and deleting, with and without htmx, and every refusal."""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from sqlmodel import select

from consultations.models import Comment, CommentEdit


def _comments(app):
    with app.state.engine.connect() as conn:
        return conn.execute(select(Comment.id, Comment.body, Comment.status, Comment.parent_id, Comment.depth)
                            .order_by(Comment.id)).all()


def test_resident_comments_without_javascript_and_sees_it_in_the_thread(app, client, helpers, factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org", name="Rita")
    page = client.get(f"/consultations/{cid}")
    assert "Your comment" in page.text and "Post comment" in page.text
    # Rich proposal text is sanitized: formatting kept, script removed.
    assert "<strong>school streets</strong>" in page.text and "<script>alert" not in page.text
    response = client.post(f"/consultations/{cid}/comments",
                           data={"body": "Close the street.\n\nSee https://example.org/plan <b>now</b>"})
    assert response.status_code == 303
    assert re.search(rf"/consultations/{cid}#comment-\d+$", response.headers["location"])
    page = client.get(f"/consultations/{cid}")
    assert "Your comment is posted." in page.text
    assert "<p>Close the street.</p>" in page.text
    assert '<a href="https://example.org/plan" rel="noopener noreferrer nofollow ugc">' in page.text
    assert "&lt;b&gt;now&lt;/b&gt;" in page.text  # plain text: markup is shown, never run
    assert "Discussion <span class=\"count\">(1)</span>" in page.text


def test_htmx_comment_swaps_the_thread_and_validation_errors_stay_next_to_the_field(app, client, helpers,
                                                                                   factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    response = client.post(f"/consultations/{cid}/comments", data={"body": "With htmx"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="thread"')
    assert "With htmx" in response.text and "<html" not in response.text
    bad = client.post(f"/consultations/{cid}/comments", data={"body": "   "}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert "Write your comment before posting it." in bad.text and 'aria-invalid="true"' in bad.text


def test_empty_and_over_long_comments_are_refused_with_nothing_written(app, client, helpers, factories,
                                                                      domain_settings):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    empty = client.post(f"/consultations/{cid}/comments", data={"body": "  \n "})
    assert empty.status_code == 422 and "Write your comment before posting it." in empty.text
    long = client.post(f"/consultations/{cid}/comments", data={"body": "x" * 2001})
    assert long.status_code == 422
    assert "Your comment is 2001 characters long. Shorten it to 2000 characters or fewer." in long.text
    assert "x" * 2001 in long.text  # what they wrote is kept in the form
    assert _comments(app) == []


def test_comment_length_limit_is_configurable(app, client, helpers, factories, domain_settings):
    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"], comment_max_length=10)
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    assert client.post(f"/consultations/{cid}/comments", data={"body": "12345678901"}).status_code == 422
    assert client.post(f"/consultations/{cid}/comments", data={"body": "1234567890"}).status_code == 303


def test_anonymous_visitors_are_sent_to_sign_in(app, client, factories):
    cid = factories.consultation(app)
    page = client.get(f"/consultations/{cid}")
    assert "Sign in to comment and vote" in page.text and "Post comment" not in page.text
    response = client.post(f"/consultations/{cid}/comments", data={"body": "hi"})
    assert response.status_code == 303 and response.headers["location"].startswith("/auth/sign-in")
    assert _comments(app) == []


def test_replies_nest_to_depth_three_and_load_on_demand(app, client, helpers, factories):
    cid = factories.consultation(app)
    top = factories.comment(app, cid, "a@example.org", "Top level")
    helpers.sign_in(client, app, "rita@example.org")
    r1 = client.post(f"/consultations/{cid}/comments", data={"body": "First reply", "parent_id": str(top)})
    assert r1.status_code == 303 and r1.headers["location"].startswith(f"/consultations/{cid}/comments/{top}#")
    reply1 = _comments(app)[-1].id
    client.post(f"/consultations/{cid}/comments", data={"body": "Second level", "parent_id": str(reply1)})
    reply2 = _comments(app)[-1].id
    assert [row.depth for row in _comments(app)] == [1, 2, 3]
    too_deep = client.post(f"/consultations/{cid}/comments", data={"body": "Too deep", "parent_id": str(reply2)})
    assert too_deep.status_code == 409 and "Replies can only go 3 levels deep" in too_deep.text
    assert len(_comments(app)) == 3
    # The thread lists only the top level, with a link that loads replies (plain link without JavaScript).
    thread = client.get(f"/consultations/{cid}")
    assert "Top level" in thread.text and "First reply" not in thread.text
    assert f'hx-get="/consultations/{cid}/comments/{top}"' in thread.text and "Show 1 reply" in thread.text
    partial = client.get(f"/consultations/{cid}/comments/{top}", headers={"HX-Request": "true"})
    assert "First reply" in partial.text and "<html" not in partial.text and "Second level" not in partial.text
    full = client.get(f"/consultations/{cid}/comments/{top}")
    assert "<html" in full.text and "First reply" in full.text and "Post comment" in full.text


def test_htmx_reply_returns_the_replies_region(app, client, helpers, factories):
    cid = factories.consultation(app)
    top = factories.comment(app, cid, "a@example.org", "Top level")
    helpers.sign_in(client, app, "rita@example.org")
    response = client.post(f"/consultations/{cid}/comments", data={"body": "Inline reply", "parent_id": str(top)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Inline reply" in response.text and "<html" not in response.text
    assert f'id="reply-form-{top}"' in response.text


def test_the_reply_count_in_the_heading_follows_a_reply_with_and_without_javascript(app, client, helpers,
                                                                                     factories):
    cid = factories.consultation(app)
    top = factories.comment(app, cid, "a@example.org", "Top level")
    page_url = f"/consultations/{cid}/comments/{top}"
    helpers.sign_in(client, app, "rita@example.org")
    assert re.search(r'id="reply-count-\d+">\(0\)<', client.get(page_url).text)
    # Without JavaScript: the page after the redirect counts the reply.
    done = client.post(f"/consultations/{cid}/comments", data={"body": "First reply", "parent_id": str(top)})
    assert done.status_code == 303
    page = client.get(done.headers["location"].split("#")[0]).text
    assert "First reply" in page and re.search(rf'id="reply-count-{top}">\(1\)<', page)
    # With htmx the replies region is swapped, and the heading's count comes along out of band.
    swapped = client.post(f"/consultations/{cid}/comments", data={"body": "Second reply", "parent_id": str(top)},
                          headers={"HX-Request": "true", "HX-Current-URL": f"https://testserver{page_url}"})
    assert swapped.status_code == 200 and "Second reply" in swapped.text
    assert re.search(rf'<span class="count" id="reply-count-{top}" hx-swap-oob="true">\(2\)</span>', swapped.text)
    # Replying inside a thread page (replies opened in place): the "Show N replies" link counts it instead.
    assert f'id="show-replies-{top}"' in client.get(f"/consultations/{cid}").text
    inline = client.post(f"/consultations/{cid}/comments", data={"body": "Third reply", "parent_id": str(top)},
                         headers={"HX-Request": "true", "HX-Current-URL": f"https://testserver/consultations/{cid}"})
    assert "Third reply" in inline.text and f'id="reply-count-{top}"' not in inline.text
    assert re.search(rf'<a id="show-replies-{top}" hx-swap-oob="true"[^>]*>Show 3 replies</a>', inline.text)


def test_replies_to_deleted_or_hidden_comments_are_refused(app, client, helpers, factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    client.post(f"/consultations/{cid}/comments", data={"body": "Mine"})
    mine = _comments(app)[-1].id
    client.post(f"/consultations/{cid}/comments", data={"body": "Reply", "parent_id": str(mine)})
    assert client.post(f"/consultations/{cid}/comments/{mine}/delete").status_code == 303
    refused = client.post(f"/consultations/{cid}/comments", data={"body": "Late", "parent_id": str(mine)})
    assert refused.status_code == 409 and "removed or hidden" in refused.text
    page = client.get(f"/consultations/{cid}")
    assert "[removed by author]" in page.text and "Show 1 reply" in page.text
    assert "Mine" not in page.text.split('id="thread"')[1]
    with factories.uow(app) as session:
        from consultations import service
        other = service.post_comment(session, consultation_id=cid, author_id=1, body="To hide",
                                     limits=app.state.unit_context.settings("consultations"))
        service.apply_moderation_decision(session, kind="comment", item_id=other.id, decision="hide")
        hidden_id = other.id
    refused = client.post(f"/consultations/{cid}/comments", data={"body": "x", "parent_id": str(hidden_id)})
    assert refused.status_code == 409
    assert client.get(f"/consultations/{cid}/comments/{hidden_id}").status_code == 404


def test_edit_within_the_window_keeps_history_and_only_the_author_may_edit(app, client, make_client, helpers,
                                                                            factories):
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    client.post(f"/consultations/{cid}/comments", data={"body": "Frist draft"})
    cmt = _comments(app)[-1].id
    form = client.get(f"/consultations/{cid}/comments/{cmt}/edit")
    assert form.status_code == 200 and "Frist draft" in form.text
    saved = client.post(f"/consultations/{cid}/comments/{cmt}/edit", data={"body": "First draft"})
    assert saved.status_code == 303
    page = client.get(f"/consultations/{cid}/comments/{cmt}")
    assert "First draft" in page.text and "edited" in page.text
    with app.state.engine.connect() as conn:
        assert conn.execute(select(CommentEdit.body, CommentEdit.kind)).all() == [("Frist draft", "edit")]
    other = make_client()
    helpers.sign_in(other, app, "mallory@example.org")
    denied = other.post(f"/consultations/{cid}/comments/{cmt}/edit", data={"body": "Hijacked"})
    assert denied.status_code == 403 and "You can only edit your own comments." in denied.text
    denied = other.post(f"/consultations/{cid}/comments/{cmt}/delete")
    assert denied.status_code == 403 and "only delete your own" in denied.text
    with factories.uow(app) as session:
        from consultations import service
        from app.errors import PermissionDenied
        import pytest
        with pytest.raises(PermissionDenied):
            service.edit_comment(session, comment_id=cmt, user_id=999, body="x",
                                 limits=app.state.unit_context.settings("consultations"))
    assert _comments(app)[-1].body == "First draft"
    # After the window, editing is refused.
    with factories.uow(app) as session:
        row = session.get(Comment, cmt)
        row.created_at = row.created_at - timedelta(minutes=16)
        session.add(row)
    # The edit page says so instead of offering a form that can only fail.
    page = client.get(f"/consultations/{cid}/comments/{cmt}/edit")
    assert page.status_code == 200 and "This comment can no longer be edited" in page.text
    assert "15 minutes" in page.text and 'name="body"' not in page.text and "Save changes" not in page.text
    late = client.post(f"/consultations/{cid}/comments/{cmt}/edit", data={"body": "Too late"})
    assert late.status_code == 409 and "15 minutes" in late.text and "can no longer be edited" in late.text
    assert "Too late" in late.text and 'name="body"' not in late.text  # what they typed, to copy into a reply
    assert _comments(app)[-1].body == "First draft"
    # A closed consultation's comments, likewise.
    with factories.uow(app) as session:
        row = session.get(Comment, cmt)
        row.created_at = row.created_at + timedelta(minutes=16)
        session.add(row)
    assert "Save changes" in client.get(f"/consultations/{cid}/comments/{cmt}/edit").text
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    with factories.uow(app) as session:
        service.change_state(session, user_id=official.id, consultation_id=cid, action="close")
    closed = client.get(f"/consultations/{cid}/comments/{cmt}/edit").text
    assert "can no longer be edited" in closed and "closed" in closed and "Save changes" not in closed


def test_comments_are_rate_limited_per_resident(app, client, helpers, factories, domain_settings):
    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"],
                                                           comment_rate_limit="2/300")
    cid = factories.consultation(app)
    helpers.sign_in(client, app, "rita@example.org")
    assert client.post(f"/consultations/{cid}/comments", data={"body": "one"}).status_code == 303
    assert client.post(f"/consultations/{cid}/comments", data={"body": "two"}).status_code == 303
    third = client.post(f"/consultations/{cid}/comments", data={"body": "three"})
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert len(_comments(app)) == 2


def test_closed_consultations_take_no_comments(app, client, helpers, factories):
    cid = factories.consultation(app, state="closed")
    helpers.sign_in(client, app, "rita@example.org")
    page = client.get(f"/consultations/{cid}")
    assert "not open for comments" in page.text and "Post comment" not in page.text
    refused = client.post(f"/consultations/{cid}/comments", data={"body": "late"})
    assert refused.status_code == 409 and _comments(app) == []


def test_question_threads_are_separate(app, client, helpers, factories):
    cid = factories.consultation(app, questions=["Which streets?", "What times?"])
    helpers.sign_in(client, app, "rita@example.org")
    page = client.get(f"/consultations/{cid}")
    qid = int(re.search(rf"/consultations/{cid}/questions/(\d+)", page.text).group(1))
    response = client.post(f"/consultations/{cid}/comments", data={"body": "Elm Street", "question_id": str(qid)})
    assert response.status_code == 303 and f"/questions/{qid}#comment-" in response.headers["location"]
    assert "Elm Street" in client.get(f"/consultations/{cid}/questions/{qid}").text
    assert "Elm Street" not in client.get(f"/consultations/{cid}").text
    assert "1 comment" in client.get(f"/consultations/{cid}").text
