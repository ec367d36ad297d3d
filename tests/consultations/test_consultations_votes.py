"""Agree / disagree / pass on comments: one vote per resident per comment, changeable, counted, kept with times."""
from __future__ import annotations

from sqlmodel import select

from consultations.models import Comment, CommentVote, CommentVoteEvent


def _counts(app, comment_id):
    with app.state.engine.connect() as conn:
        row = conn.execute(select(Comment.agree_count, Comment.disagree_count, Comment.pass_count)
                           .where(Comment.id == comment_id)).one()
    return tuple(row)


def test_vote_change_and_double_vote_without_javascript(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "Lower the speed limit")
    helpers.sign_in(client, app, "voter@example.org")
    page = client.get(f"/consultations/{cid}")
    for label in ("Agree", "Disagree", "Pass"):
        assert f">{label}</button>" in page.text
    response = client.post(f"/consultations/{cid}/comments/{cmt}/vote",
                           data={"vote": "agree", "next": f"/consultations/{cid}"})
    assert response.status_code == 303 and response.headers["location"] == f"/consultations/{cid}#comment-{cmt}"
    assert _counts(app, cmt) == (1, 0, 0)
    page = client.get(f"/consultations/{cid}")
    assert "Your vote is recorded." in page.text
    assert 'value="agree" class="vote vote-agree" aria-pressed="true"' in page.text
    again = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "agree"})
    assert again.status_code == 409 and "You already voted \u201cAgree\u201d on this comment." in again.text
    assert _counts(app, cmt) == (1, 0, 0)
    changed = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "disagree"})
    assert changed.status_code == 303
    assert _counts(app, cmt) == (0, 1, 0)
    with app.state.engine.connect() as conn:
        votes = conn.execute(select(CommentVote.vote, CommentVote.created_at)).all()
        events = conn.execute(select(CommentVoteEvent.vote).order_by(CommentVoteEvent.id)).scalars().all()
    assert len(votes) == 1 and votes[0].vote == -1 and votes[0].created_at is not None
    assert events == [1, -1]  # the full history, each with its time, for opinion-group analysis later


def test_htmx_vote_swaps_the_buttons_and_shows_errors_inline(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "More trees")
    helpers.sign_in(client, app, "voter@example.org")
    response = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "pass"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<form id="votes-{cmt}"')
    assert 'value="pass" class="vote vote-pass" aria-pressed="true"' in response.text
    again = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "pass"},
                        headers={"HX-Request": "true"})
    assert again.status_code == 409 and f'id="votes-{cmt}"' in again.text and "You already voted" in again.text
    bad = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "maybe"},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "Choose Agree, Disagree or Pass." in bad.text
    assert _counts(app, cmt) == (0, 0, 1)


def test_votes_on_closed_consultations_and_removed_comments_are_refused(app, client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "Keep the park")
    helpers.sign_in(client, app, "voter@example.org")
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    from consultations import service
    with factories.uow(app) as session:
        service.change_state(session, user_id=official.id, consultation_id=cid, action="close")
    refused = client.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": "agree"})
    assert refused.status_code == 409 and "Voting has closed" in refused.text
    assert _counts(app, cmt) == (0, 0, 0)
    page = client.get(f"/consultations/{cid}")
    assert ">Agree</button>" not in page.text and '<span class="vote-label">Agree</span>' in page.text


def test_counts_add_up_across_residents(app, make_client, helpers, factories):
    cid = factories.consultation(app)
    cmt = factories.comment(app, cid, "a@example.org", "Night buses")
    for i, vote in enumerate(["agree", "agree", "disagree", "pass"]):
        c = make_client()
        helpers.sign_in(c, app, f"v{i}@example.org")
        assert c.post(f"/consultations/{cid}/comments/{cmt}/vote", data={"vote": vote}).status_code == 303
    assert _counts(app, cmt) == (2, 1, 1)
    page = make_client().get(f"/consultations/{cid}?sort=agreed")
    assert '<span class="vote-count">2</span>' in page.text


def test_sorts_order_the_thread(app, client, helpers, factories):
    cid = factories.consultation(app)
    quiet = factories.comment(app, cid, "a@example.org", "Quiet comment")
    popular = factories.comment(app, cid, "b@example.org", "Popular comment")
    discussed = factories.comment(app, cid, "c@example.org", "Discussed comment")
    newest = factories.comment(app, cid, "d@example.org", "Newest comment")
    factories.comment(app, cid, "e@example.org", "A reply", parent_id=discussed)
    factories.comment(app, cid, "f@example.org", "Another reply", parent_id=discussed)
    helpers.sign_in(client, app, "voter@example.org")
    client.post(f"/consultations/{cid}/comments/{popular}/vote", data={"vote": "agree"})
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    from consultations import forms, service
    with factories.uow(app) as session:
        service.publish_response(session, consultation_id=cid, official_id=official.id, comment_id=quiet,
                                 data=forms.ResponseData("noted", "Thanks", "", None))

    def order(sort):
        text = client.get(f"/consultations/{cid}?sort={sort}").text
        names = ["Quiet comment", "Popular comment", "Discussed comment", "Newest comment"]
        return sorted(names, key=text.index)[0]

    assert order("newest") == "Newest comment"
    assert order("agreed") == "Popular comment"
    assert order("discussed") == "Discussed comment"
    assert order("official") == "Quiet comment"
    assert newest


def test_thread_is_paginated(app, client, factories, domain_settings):
    import dataclasses

    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"], page_size=3)
    cid = factories.consultation(app)
    for i in range(7):
        factories.comment(app, cid, f"p{i}@example.org", f"Comment number {i}")
    first = client.get(f"/consultations/{cid}")
    assert "Page 1 of 3" in first.text and "Comment number 6" in first.text and "Comment number 3" not in first.text
    third = client.get(f"/consultations/{cid}?sort=newest&page=3")
    assert "Comment number 0" in third.text and "Comment number 6" not in third.text
    partial = client.get(f"/consultations/{cid}?page=2", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<section id="thread"') and "Page 2 of 3" in partial.text


def test_voting_without_javascript_returns_to_the_same_page_and_sort(app, client, helpers, factories,
                                                                    domain_settings):
    import dataclasses

    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"], page_size=2)
    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"p{i}@example.org", f"Comment {i}") for i in range(3)]
    helpers.sign_in(client, app, "voter@example.org")
    page = client.get(f"/consultations/{cid}?sort=newest&page=2")
    assert f'name="next" value="/consultations/{cid}?sort=newest&amp;page=2"' in page.text
    response = client.post(f"/consultations/{cid}/comments/{ids[0]}/vote",
                           data={"vote": "agree", "next": f"/consultations/{cid}?sort=newest&page=2"})
    assert response.headers["location"] == f"/consultations/{cid}?sort=newest&page=2#comment-{ids[0]}"
    evil = client.post(f"/consultations/{cid}/comments/{ids[1]}/vote",
                       data={"vote": "agree", "next": "https://evil.example/"})
    assert evil.headers["location"].startswith("/#comment-")  # no open redirect
