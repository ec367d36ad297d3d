"""Residents see the deliberation: vote on statements one at a time (unseen first, progress, skip, pass), and
"Where you stand" (opinion groups as regions, the viewer's own point for the viewer alone, small groups hidden)."""
from __future__ import annotations

import html
import re

import pytest

from app.errors import InvalidState
from consultations.config import ConsultationSettings
from consultations import deliberation, service
from consultations.models import Comment, CommentVote

LIMITS = ConsultationSettings(vote_rate_limit="100000/60")


def _statements(app, factories, cid, n):
    return [factories.comment(app, cid, f"author{i}@example.org", f"Statement number {i} about school streets")
            for i in range(n)]


def _vote(app, factories, user_id, comment_id, vote):
    with factories.uow(app) as session:
        service.cast_vote(session, comment_id=comment_id, user_id=user_id, vote=vote, limits=LIMITS)


def _deck(app, factories, cid, viewer_id, skipped=()):
    with factories.uow(app) as session:
        return deliberation.statement_deck(session, consultation_id=cid, viewer_id=viewer_id, skipped=skipped)


def _stance(app, factories, cid, viewer_id):
    with factories.uow(app) as session:
        return deliberation.stance_page(session, consultation_id=cid, viewer_id=viewer_id,
                                        secret=app.state.settings.secret_key)


def _two_camps(app, helpers, factories, cid, ids, camp_a=6, camp_b=6, prefix="voter"):
    """`camp_a` residents agree with the first half of the statements and disagree with the rest; `camp_b` the
    opposite. Returns their user ids."""
    users = []
    half = len(ids) // 2
    for n in range(camp_a + camp_b):
        user = helpers.add_user(app, f"{prefix}{n}@example.org")
        users.append(user.id)
        for i, c in enumerate(ids):
            agree = (i < half) == (n < camp_a)
            if i == len(ids) - 1:
                agree = True  # everyone agrees on the last statement
            _vote(app, factories, user.id, c, "agree" if agree else "disagree")
    return users


# ----- the deck -----

def test_unvoted_statements_come_first_in_order_and_progress_counts_votes_and_skips(app, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 4)
    reply = factories.comment(app, cid, "replier@example.org", "A reply is not a statement", parent_id=ids[0])
    me = helpers.add_user(app, "me@example.org")
    deck = _deck(app, factories, cid, me.id)
    assert (deck.statement.id, deck.position, deck.total, deck.voted) == (ids[0], 1, 4, 0)
    _vote(app, factories, me.id, ids[0], "agree")
    _vote(app, factories, me.id, ids[2], "pass")  # pass counts as a vote
    deck = _deck(app, factories, cid, me.id)
    assert (deck.statement.id, deck.position, deck.voted) == (ids[1], 3, 2)
    deck = _deck(app, factories, cid, me.id, skipped=(ids[1], 99999))  # unknown ids are dropped
    assert (deck.statement.id, deck.position, deck.skipped) == (ids[3], 4, (ids[1],))
    assert reply not in {deck.statement.id}
    _vote(app, factories, me.id, ids[3], "disagree")
    deck = _deck(app, factories, cid, me.id, skipped=(ids[1],))
    assert deck.statement is None and deck.skipped == (ids[1],) and not deck.all_voted
    deck = _deck(app, factories, cid, me.id)  # the skipped one comes back when the skip list is dropped
    assert deck.statement.id == ids[1]
    _vote(app, factories, me.id, ids[1], "agree")
    assert _deck(app, factories, cid, me.id).all_voted


def test_parse_skipped_ignores_junk_and_duplicates():
    assert deliberation.parse_skipped("3, 7,x,3,,-1") == (3, 7)


# ----- routes: vote on statements -----

def test_no_javascript_vote_redirects_to_the_next_statement_and_skip_is_not_a_vote(app, client, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 3)
    helpers.sign_in(client, app, "rita@example.org")
    page = client.get(f"/consultations/{cid}/statements")
    assert page.status_code == 200 and "Statement 1 of 3" in page.text and "Statement number 0" in page.text
    assert f'href="/consultations/{cid}/comments/{ids[0]}"' in page.text  # the statement's thread
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[0], "vote": "agree"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/consultations/{cid}/statements#statement"
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[1], "vote": "skip"})
    assert response.status_code == 303 and f"skip={ids[1]}" in response.headers["location"]
    page = client.get(response.headers["location"].split("#")[0])
    assert "Statement 3 of 3" in page.text and "Statement number 2" in page.text and "1 skipped." in page.text
    with app.state.engine.connect() as conn:
        votes = conn.execute(CommentVote.__table__.select()).all()
    assert [(v.comment_id, v.vote) for v in votes] == [(ids[0], 1)]  # the skip recorded nothing


def test_htmx_vote_returns_the_next_card_and_errors_keep_the_statement(app, client, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 2)
    helpers.sign_in(client, app, "rita@example.org")
    hx = {"HX-Request": "true"}
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[0], "vote": "pass"},
                           headers=hx)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="statement"')
    assert "Statement 2 of 2" in response.text and "data-civic-focus" in response.text
    assert "<html" not in response.text
    bad = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[1], "vote": "maybe"}, headers=hx)
    assert bad.status_code == 422 and "Choose Agree, Disagree or Pass." in bad.text
    assert "Statement number 1" in bad.text
    again = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[0], "vote": "pass"}, headers=hx)
    assert again.status_code == 409 and "Statement number 0" in again.text
    assert "You already voted \u201cPass\u201d on this statement." in again.text  # the card's word, not "comment"
    with app.state.engine.connect() as conn:
        assert conn.execute(Comment.__table__.select().where(Comment.id == ids[0])).one().pass_count == 1


def test_closed_consultation_refuses_the_vote_with_409(app, client, helpers, factories):
    me = helpers.add_user(app, "me@example.org")
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 1)
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    with factories.uow(app) as session:
        service.change_state(session, user_id=official.id, consultation_id=cid, action="close")
    with pytest.raises(InvalidState) as exc:
        _vote(app, factories, me.id, ids[0], "agree")
    assert exc.value.status_code == 409
    helpers.sign_in(client, app, "rita@example.org")
    page = client.get(f"/consultations/{cid}/statements")
    assert "Voting has closed for this consultation." in page.text and 'value="agree"' not in page.text
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[0], "vote": "agree"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 409 and "Voting has closed" in response.text


def test_a_vote_on_no_statement_of_the_consultation_is_a_422_in_the_card_in_both_languages(app, client, helpers,
                                                                                         factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 2)
    reply = factories.comment(app, cid, "replier@example.org", "A reply", parent_id=ids[0])
    elsewhere = factories.comment(app, factories.consultation(app, title="Another"), "x@example.org", "Elsewhere")
    helpers.sign_in(client, app, "rita@example.org")
    for comment_id in (elsewhere, reply, 999_999, "", "abc"):
        for hx in ({}, {"HX-Request": "true"}):
            response = client.post(f"/consultations/{cid}/statements", headers=hx,
                                   data={"comment_id": comment_id, "vote": "agree", "skip": str(ids[0])})
            assert response.status_code == 422, comment_id
            assert "That isn't one of this consultation's statements." in html.unescape(response.text)
            assert "Statement number 1" in response.text and "1 skipped." in response.text  # the place is kept
    client.cookies.set("civic_locale", "zh-Hans")
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": reply, "vote": "agree"})
    assert response.status_code == 422 and "这不是此公众咨询中的观点。" in response.text
    with factories.uow(app) as session:
        service.set_comment_status(session, session.get(Comment, ids[0]), "hidden")
    response = client.post(f"/consultations/{cid}/statements", data={"comment_id": ids[0], "vote": "agree"})
    assert response.status_code == 409 and "你投票的观点已被删除或隐藏" in response.text
    with app.state.engine.connect() as conn:
        assert conn.execute(CommentVote.__table__.select()).all() == []


def test_statements_page_in_chinese_and_for_visitors(app, client, factories):
    cid = factories.consultation(app)
    _statements(app, factories, cid, 2)
    page = client.get(f"/consultations/{cid}/statements")
    assert "Sign in to vote" in page.text and 'name="vote"' not in page.text
    client.cookies.set("civic_locale", "zh-Hans")
    page = client.get(f"/consultations/{cid}/statements")
    assert 'lang="zh-Hans"' in page.text and "Vote on statements" not in page.text
    assert "第 1 条，共 2 条" in page.text
    detail = client.get(f"/consultations/{cid}")
    assert f'href="/consultations/{cid}/statements"' in detail.text and f'href="/consultations/{cid}/stance"' in detail.text


def test_in_chinese_pass_and_skip_are_told_apart_on_the_card(app, client, helpers, factories):
    # Pass is a vote ("no opinion / unsure", counted); Skip is not (the statement comes back): two different words,
    # and the note under the buttons uses the same two words.
    cid = factories.consultation(app)
    _statements(app, factories, cid, 2)
    helpers.sign_in(client, app, "rita@example.org")
    client.cookies.set("civic_locale", "zh-Hans")
    page = client.get(f"/consultations/{cid}/statements").text
    buttons = dict(re.findall(r'<button type="submit" name="vote" value="(\w+)"[^>]*>([^<]+)</button>', page))
    assert buttons == {"agree": "赞同", "disagree": "反对", "pass": "不确定", "skip": "跳过"}
    assert "“不确定”表示您没有意见" in page and "“跳过”不算投票" in page


# ----- where you stand -----

def test_below_the_threshold_the_page_says_how_many_votes_are_needed(app, client, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 2)
    me = helpers.add_user(app, "me@example.org")
    _vote(app, factories, me.id, ids[0], "agree")
    s = _stance(app, factories, cid, me.id)
    assert not s.ready and s.votes_needed == deliberation.MIN_VOTES - 1 and s.groups == ()
    page = client.get(f"/consultations/{cid}/stance")
    assert f"{deliberation.MIN_VOTES - 1} more votes are needed" in page.text
    client.cookies.set("civic_locale", "zh-Hans")
    page = client.get(f"/consultations/{cid}/stance")
    assert f"还需要 {deliberation.MIN_VOTES - 1} 票" in page.text


def test_map_shows_group_regions_and_only_the_viewers_own_point(app, client, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 8)
    users = _two_camps(app, helpers, factories, cid, ids)
    s = _stance(app, factories, cid, users[0])
    assert s.ready and len(s.groups) == 2 and sorted(g.region.size for g in s.groups) == [6, 6]
    assert s.me is not None and s.my_group in (1, 2)
    mine = next(g for g in s.groups if g.region.number == s.my_group)
    assert any(st.id == ids[0] and st.direction == "agree" for st in mine.statements)
    assert [st.id for st in s.consensus] == [ids[-1]]
    # Another resident's page marks their own point, not the first one's; a visitor's marks none.
    other = _stance(app, factories, cid, users[-1])
    assert other.me != s.me and other.my_group != s.my_group
    assert _stance(app, factories, cid, None).me is None
    helpers.sign_in(client, app, "voter0@example.org")
    page = client.get(f"/consultations/{cid}/stance")
    assert page.status_code == 200 and page.text.count('class="stance-me"') == 1
    assert page.text.count('class="stance-group ') == 2
    assert "What everyone agrees on" in page.text and "How this is computed" in page.text
    assert page.headers["cache-control"] == "private, no-store"


def test_groups_under_five_people_are_hidden(app, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 8)
    users = _two_camps(app, helpers, factories, cid, ids, camp_a=12, camp_b=3)
    s = _stance(app, factories, cid, users[-1])
    assert all(g.region.size >= deliberation.MIN_GROUP_SIZE for g in s.groups)
    assert s.n_hidden == 3 and len(s.groups) == 1
    # The small group's member still sees their own point, but no group of 3 is drawn.
    assert s.me is not None and s.my_group is None


def test_viewer_with_too_few_votes_has_no_point(app, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 8)
    _two_camps(app, helpers, factories, cid, ids)
    newcomer = helpers.add_user(app, "new@example.org")
    _vote(app, factories, newcomer.id, ids[0], "agree")
    s = _stance(app, factories, cid, newcomer.id)
    assert s.ready and s.me is None and s.my_votes == 1 and s.votes_to_place == 7


def test_stance_page_in_chinese(app, client, helpers, factories):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 8)
    _two_camps(app, helpers, factories, cid, ids)
    client.cookies.set("civic_locale", "zh-Hans")
    page = client.get(f"/consultations/{cid}/stance")
    assert page.status_code == 200 and 'lang="zh-Hans"' in page.text
    assert "Where you stand" not in page.text and re.search(r"第 ?1 ?组", page.text)


def test_the_map_is_recomputed_after_new_votes_at_most_once_per_refresh_interval(app, helpers, factories,
                                                                                 monkeypatch):
    cid = factories.consultation(app)
    ids = _statements(app, factories, cid, 8)
    _two_camps(app, helpers, factories, cid, ids)
    late = helpers.add_user(app, "late@example.org")
    assert _stance(app, factories, cid, late.id).me is None
    for c in ids[:7]:
        _vote(app, factories, late.id, c, "agree")
    stale = _stance(app, factories, cid, late.id)  # within the interval: the earlier map, without them yet
    assert stale.me is None and stale.my_votes == 7
    monkeypatch.setattr(deliberation, "REFRESH_SECONDS", 0.0)
    fresh = _stance(app, factories, cid, late.id)
    assert fresh.me is not None
