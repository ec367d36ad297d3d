"""In Chromium, with JavaScript on and off: the "vote on statements" form's refusals. A bad or missing choice and
a tampered statement id are a 422, a statement moderated out or a consultation closed while the form was open
(or the same vote sent twice) a 409, too many votes a 429. Each shows its message in the statement card, next to
the vote buttons, keeps the resident's place (the statement, the count, what was skipped), says what to do next,
and is never an error page, a blank page or a 500; with JavaScript the card is swapped in place and focus moves
to the message. Every page with a message is axe-core clean."""
from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode

import pytest
from playwright.sync_api import Response
from sqlmodel import select

from app.db import read_session
from app.models import User
from consultations import service
from consultations.models import Comment, CommentStatus, CommentVote
from tests.conftest import assert_accessible_without_js

pytestmark = [pytest.mark.browser]

N = 3
js_on_and_off = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


@pytest.fixture
def domain_settings(domain_settings):
    # Three votes in five minutes, so the fourth is refused.
    domain_settings["consultations"] = dataclasses.replace(domain_settings["consultations"],
                                                           vote_rate_limit="3/300")
    return domain_settings


def _world(app, factories, n: int = N) -> tuple[int, list[int], int, int]:
    """An open consultation with `n` statements (and a reply, which is no statement); another consultation's
    statement, for a tampered id."""
    cid = factories.consultation(app)
    ids = [factories.comment(app, cid, f"author{i}@example.org", f"Statement {i}: school street idea {i}")
           for i in range(n)]
    reply = factories.comment(app, cid, "replier@example.org", "A reply, not a statement", parent_id=ids[0])
    other = factories.consultation(app, title="Another consultation")
    foreign = factories.comment(app, other, "elsewhere@example.org", "A statement of another consultation")
    return cid, ids, reply, foreign


@contextmanager
def _resident(browser, app, helpers, cid: int, *, js: bool, lang: str = "en"):
    """Rita, signed in, on the consultation's statements page in `lang` (with JavaScript: marked, so a reload would
    show); at the end, no script error, Content Security Policy report or htmx error was logged."""
    context = browser.new_context(java_script_enabled=js, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and ("Content Security Policy" in m.text or "htmx" in m.text.lower()) else None)
    try:
        helpers.sign_in_page(page, app, "rita@example.org")
        context.add_cookies([{"name": "civic_locale", "value": lang, "url": app.state.base_url}])
        page.goto(f"{app.state.base_url}/consultations/{cid}/statements")
        if js:
            page.evaluate("window.__noReload = true")
        yield page
        assert not problems, problems
    finally:
        context.close()


def _check_axe(browser, page, axe, js: bool) -> None:
    if js:
        axe(page)
    else:
        assert_accessible_without_js(browser, page)


def _tamper(page, **changes: str) -> None:
    """Rewrite the next vote the page sends (as an edited page or a stale script would): the fields in `changes`."""
    def handle(route):
        fields = dict(parse_qsl(route.request.post_data or "", keep_blank_values=True))
        fields.update(changes)
        route.continue_(post_data=urlencode(fields))

    page.route(re.compile(r"/statements$"), handle, times=1)


def _press(page, name: str) -> Response:
    """Press one of the card's buttons; the answer to the vote."""
    with page.expect_response(lambda r: r.request.method == "POST" and "/statements" in r.url) as answer:
        page.locator("#statement").get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()
    return answer.value


def _expect_message(page, js: bool, text: str) -> None:
    """The message is in the card, next to the vote buttons, announced (role=alert); with JavaScript it has focus;
    the page is still the statements page (not an error page)."""
    message = page.locator("#statement .error[role=alert]")
    message.wait_for()
    assert text in message.inner_text(), message.inner_text()
    assert page.get_by_role("heading", level=1).inner_text() == "Vote on statements"
    if js:
        page.wait_for_function("() => document.activeElement && document.activeElement.matches('#statement .error')")
        assert page.evaluate("window.__noReload") is True, "the card was swapped in place"


def _expect_place(page, *, heading: str, body: str, voted: int, skipped: int = 0) -> None:
    assert page.locator("#statement-heading").inner_text() == heading
    assert body in page.locator(".statement-body").inner_text()
    assert page.locator("progress.statement-progress").get_attribute("value") == str(voted)
    meta = page.locator("#statement .meta").first.inner_text()
    assert f"You have voted on {voted} statement" in meta
    assert (f"{skipped} skipped." in meta) if skipped else ("skipped" not in meta)


def _votes(app, email: str) -> dict[int, int]:
    """The votes counted for the resident: statement id -> vote (1 agree, -1 disagree, 0 pass)."""
    with read_session(app.state.engine) as s:
        uid = s.exec(select(User.id).where(User.email == email)).one()
        return dict(s.exec(select(CommentVote.comment_id, CommentVote.vote).where(CommentVote.user_id == uid)).all())


@js_on_and_off
def test_a_bad_choice_or_a_tampered_statement_is_a_422_in_the_card_with_the_place_kept(
        live_server, browser, helpers, factories, axe, js):
    app = live_server
    cid, ids, reply, foreign = _world(app, factories)
    with _resident(browser, app, helpers, cid, js=js) as page:
        assert _press(page, "Agree").status in (200, 303)
        page.locator("#statement-heading", has_text=f"Statement 2 of {N}").wait_for()
        assert _press(page, "Skip").status in (200, 303)  # skip the second: the place now includes a skipped one
        page.locator("#statement-heading", has_text=f"Statement 3 of {N}").wait_for()

        # a choice that is none of Agree, Disagree, Pass
        _tamper(page, vote="maybe")
        assert _press(page, "Agree").status == 422
        _expect_message(page, js, "Choose Agree, Disagree or Pass.")
        _expect_place(page, heading=f"Statement 3 of {N}", body="Statement 2: school", voted=1, skipped=1)
        _check_axe(browser, page, axe, js)

        # no choice at all
        _tamper(page, vote="")
        assert _press(page, "Disagree").status == 422
        _expect_message(page, js, "Choose Agree, Disagree or Pass.")
        _expect_place(page, heading=f"Statement 3 of {N}", body="Statement 2: school", voted=1, skipped=1)

        # a statement id of another consultation, a reply's, or none: no such statement here (not a 404 page)
        for tampered in (str(foreign), str(reply), "not-a-number"):
            _tamper(page, comment_id=tampered)
            assert _press(page, "Agree").status == 422, tampered
            _expect_message(page, js, "isn't one of this consultation's statements")
            assert "Vote on the statement shown" in page.locator("#statement .error").inner_text()
            _expect_place(page, heading=f"Statement 3 of {N}", body="Statement 2: school", voted=1, skipped=1)
        _check_axe(browser, page, axe, js)

        # an area that is none of the listed ones: the message is by the area field
        _tamper(page, area="Atlantis")
        assert _press(page, "Agree").status == 422
        page.locator("#statement-area-error").wait_for()
        assert "Choose your area from the list, or leave it empty." in page.locator("#statement-area-error").inner_text()
        assert page.locator("#statement-area").get_attribute("aria-invalid") == "true"
        if js:
            page.wait_for_function("() => document.activeElement && document.activeElement.id === 'statement-area'")
        _expect_place(page, heading=f"Statement 3 of {N}", body="Statement 2: school", voted=1, skipped=1)
        _check_axe(browser, page, axe, js)
        assert _votes(app, "rita@example.org") == {ids[0]: 1}, "no refused vote was counted"

        # the form still works from where the resident was: the vote counts, the skipped one comes back
        assert _press(page, "Agree").status in (200, 303)
        page.get_by_role("heading", name="You have seen every statement").wait_for()
        page.get_by_role("link", name="Go back to the 1 statement you skipped").wait_for()
        assert _votes(app, "rita@example.org") == {ids[0]: 1, ids[2]: 1}


@js_on_and_off
def test_a_statement_moderated_out_a_repeated_vote_and_a_closed_consultation_are_a_409_in_the_card(
        live_server, browser, helpers, factories, axe, js):
    app = live_server
    cid, ids, _, _ = _world(app, factories)
    with _resident(browser, app, helpers, cid, js=js) as page:
        _expect_place(page, heading=f"Statement 1 of {N}", body="Statement 0: school", voted=0)

        # a moderator hides the statement while the resident reads it: the vote is refused, the next one shown
        with factories.uow(app) as s:
            service.set_comment_status(s, s.get(Comment, ids[0]), CommentStatus.HIDDEN)
        assert _press(page, "Agree").status == 409
        _expect_message(page, js, "The statement you voted on was removed or hidden")
        assert "your vote was not counted" in page.locator("#statement .error").inner_text()
        _expect_place(page, heading=f"Statement 1 of {N - 1}", body="Statement 1: school", voted=0)
        _check_axe(browser, page, axe, js)

        # the same vote sent from another tab meanwhile: the statement stays, with the vote it has
        rita = helpers.add_user(app, "rita@example.org")
        with factories.uow(app) as s:
            service.cast_vote(s, comment_id=ids[1], user_id=rita.id, vote="agree",
                              limits=app.state.unit_context.settings("consultations"))
        assert _press(page, "Agree").status == 409
        _expect_message(page, js, "You already voted \u201cAgree\u201d on this statement.")
        assert "Choose another option" in page.locator("#statement .error").inner_text()
        assert page.locator("#statement").get_by_text("Your vote: Agree").is_visible()
        _expect_place(page, heading=f"Statement 1 of {N - 1}", body="Statement 1: school", voted=1)
        _check_axe(browser, page, axe, js)

        # the consultation closes while the form is open
        official = helpers.add_user(app, "official@example.org", role="official", department="transport")
        with factories.uow(app) as s:
            service.change_state(s, user_id=official.id, consultation_id=cid, action="close")
        assert _press(page, "Disagree").status == 409
        _expect_message(page, js, "Voting has closed for this consultation. The results stay on the page.")
        assert page.locator("#statement").get_by_role("button").count() == 0, "no buttons to press in vain"
        _expect_place(page, heading=f"Statement 1 of {N - 1}", body="Statement 1: school", voted=1)
        assert page.locator("main").get_by_role("link", name="Where you stand").is_visible()
        _check_axe(browser, page, axe, js)
        assert _votes(app, "rita@example.org") == {ids[1]: 1}


@js_on_and_off
def test_the_last_statement_moderated_out_ends_the_deck_with_the_message(live_server, browser, helpers, factories,
                                                                          axe, js):
    app = live_server
    cid, ids, _, _ = _world(app, factories)
    rita = helpers.add_user(app, "rita@example.org")
    with factories.uow(app) as s:
        for c in ids[:-1]:
            service.cast_vote(s, comment_id=c, user_id=rita.id, vote="pass", limits=app.state.unit_context.settings("consultations"))
    with _resident(browser, app, helpers, cid, js=js) as page:
        _expect_place(page, heading=f"Statement {N} of {N}", body=f"Statement {N - 1}: school", voted=N - 1)
        with factories.uow(app) as s:
            service.set_comment_status(s, s.get(Comment, ids[-1]), CommentStatus.HIDDEN)
        assert _press(page, "Agree").status == 409
        _expect_message(page, js, "The statement you voted on was removed or hidden")
        page.get_by_role("heading", name="You have voted on every statement").wait_for()
        page.locator("#statement").get_by_role("link", name="See where you stand").wait_for()
        _check_axe(browser, page, axe, js)


@js_on_and_off
def test_too_many_votes_is_a_429_in_the_card_with_the_statement_kept(live_server, browser, helpers, factories, axe,
                                                                     js):
    app = live_server
    cid, _, _, _ = _world(app, factories, 5)
    with _resident(browser, app, helpers, cid, js=js) as page:
        for i in range(3):  # three votes in five minutes is the test's limit
            assert _press(page, "Disagree").status in (200, 303)
            page.locator("#statement-heading", has_text=f"Statement {i + 2} of 5").wait_for()
        answer = _press(page, "Agree")
        assert answer.status == 429
        assert answer.headers.get("retry-after", "").isdigit(), "says when to come back"
        _expect_message(page, js, "Wait a few minutes, then try again.")
        _expect_place(page, heading="Statement 4 of 5", body="Statement 3: school", voted=3)
        assert page.locator("#statement").get_by_role("button", name="Agree", exact=True).is_visible()
        _check_axe(browser, page, axe, js)
        assert len(_votes(app, "rita@example.org")) == 3


@js_on_and_off
def test_in_chinese_a_refused_vote_is_explained_in_chinese(live_server, browser, helpers, factories, axe, js):
    app = live_server
    cid, ids, reply, _ = _world(app, factories)
    with _resident(browser, app, helpers, cid, js=js, lang="zh-Hans") as page:
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        _tamper(page, comment_id=str(reply))
        assert _press(page, "赞同").status == 422
        page.locator("#statement .error[role=alert]", has_text="这不是此公众咨询中的观点。").wait_for()
        assert page.locator("#statement-heading").inner_text() == f"第 1 条，共 {N} 条"
        _check_axe(browser, page, axe, js)
        with factories.uow(app) as s:
            service.set_comment_status(s, s.get(Comment, ids[0]), CommentStatus.HIDDEN)
        assert _press(page, "反对").status == 409
        page.locator("#statement .error[role=alert]", has_text="你投票的观点已被删除或隐藏").wait_for()
        assert page.locator("#statement-heading").inner_text() == f"第 1 条，共 {N - 1} 条"
        _check_axe(browser, page, axe, js)
