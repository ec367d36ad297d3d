"""One queue: petitions waiting for a moderator are in the main moderation queue (with their real reach), the
petitions' own moderation page is in the moderators' navigation, and a decision on either takes them out."""
from __future__ import annotations

import re

from sqlmodel import select

from app.db import read_session
from moderation.models import CaseState, ItemStatus, ModerationCase, ModerationItem

ACTION = "Put benches along the riverside path"


def _moderator(flow):
    mod = flow.make_client()
    flow.helpers.sign_in(mod, flow.app, "mod@example.org", role="moderator")
    return mod


def _row(page: str, text: str) -> str:
    """The queue table row that contains `text`."""
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S):
        if text in row:
            return row
    raise AssertionError(f"no queue row with {text!r}")


def _item(app, pid):
    with read_session(app.state.engine) as s:
        item = s.exec(select(ModerationItem).where(ModerationItem.kind == "petition",
                                                   ModerationItem.item_id == pid)).one()
        cases = s.exec(select(ModerationCase.state).where(ModerationCase.item_pk == item.id)).all()
        return item.status, item.reach, list(cases)


def test_a_petition_waiting_for_a_moderator_is_in_the_main_queue_with_its_supporters_as_reach(flow):
    pid = flow.pending_petition(action=ACTION, sponsors=5)
    mod = _moderator(flow)
    for params in ({}, {"kind": "petition"}):
        page = mod.get("/moderation/", params=params)
        assert page.status_code == 200
        row = _row(page.text, ACTION)
        assert f'href="/petitions/{pid}/moderate"' in row  # decided on its own page: department, petition reasons
        assert "Every petition is checked before it is published" in row
        assert '<td class="num">6</td>' in row  # the creator and five supporters, not 0
    assert ACTION not in mod.get("/moderation/", params={"kind": "comment"}).text


def test_the_petitions_moderation_page_is_in_the_moderators_navigation(flow):
    mod = _moderator(flow)
    queue = mod.get("/moderation/").text
    nav = re.search(r'<nav aria-label="Moderation">.*?</nav>', queue, flags=re.S).group(0)
    assert 'href="/petitions/moderation"' in nav
    page = mod.get("/petitions/moderation")
    assert page.status_code == 200 and 'href="/moderation/"' in page.text
    assert 'href="/petitions/moderation" aria-current="page"' in page.text


def test_approving_or_rejecting_a_petition_takes_it_out_of_the_queue(flow):
    approved = flow.pending_petition(action=ACTION)
    mod = _moderator(flow)
    assert ACTION in mod.get("/moderation/").text
    assert mod.post(f"/petitions/{approved}/moderate", data={"decision": "approve"}).status_code == 303
    assert ACTION not in mod.get("/moderation/").text
    assert _item(flow.app, approved)[0] == ItemStatus.APPROVED
    assert _item(flow.app, approved)[2] == [CaseState.DECIDED]

    hidden_action = "Ban the neighbour at number 12 from the park"
    hidden = flow.pending_petition(action=hidden_action)
    assert hidden_action in mod.get("/moderation/", params={"kind": "petition"}).text
    r = mod.post(f"/petitions/{hidden}/moderate", data={"decision": "reject", "code": "personal-information"})
    assert r.status_code == 303
    assert hidden_action not in mod.get("/moderation/").text
    assert _item(flow.app, hidden)[0] == ItemStatus.HIDDEN


def test_demo_petitions_waiting_for_a_moderator_are_in_the_main_queue(app, flow):
    import petitions.demo
    from app.clock import utc_now
    from app.db import unit_of_work
    from petitions.models import Petition

    st = app.state
    with unit_of_work(st.engine, st.unit_context) as session:
        petitions.demo.load(session, renderer=st.renderer, now=utc_now())
    with read_session(st.engine) as s:
        pending = s.exec(select(Petition.id, Petition.action).where(Petition.state == "pending")).all()
    assert len(pending) == 2
    page = _moderator(flow).get("/moderation/", params={"kind": "petition"}).text
    for pid, action in pending:
        row = _row(page, f'href="/petitions/{pid}/moderate"')
        assert '<td class="num">6</td>' in row


def _open_case_id(app, pid) -> int:
    with read_session(app.state.engine) as s:
        item = s.exec(select(ModerationItem).where(ModerationItem.kind == "petition",
                                                   ModerationItem.item_id == pid)).one()
        return s.exec(select(ModerationCase.id).where(ModerationCase.item_pk == item.id,
                                                      ModerationCase.state == CaseState.OPEN)).one()


def _petition_state(app, pid) -> str:
    from petitions.models import Petition

    with read_session(app.state.engine) as s:
        return s.get(Petition, pid).state


def test_a_petition_case_cannot_be_decided_from_the_queue_only_on_the_petitions_own_page(flow):
    """Approving a petition's queue case closed the case and left the petition pending: out of the queue, never
    published. The queue's case page now links to the petition's page, and a decision POSTed there changes nothing."""
    pid = flow.pending_petition(action=ACTION)
    mod = _moderator(flow)
    case_id = _open_case_id(flow.app, pid)
    decide = f"/moderation/cases/{case_id}/decide"

    page = mod.get(f"/moderation/cases/{case_id}")
    assert page.status_code == 200
    assert f'action="{decide}"' not in page.text and 'name="decision"' not in page.text
    assert f'<a href="/petitions/{pid}/moderate">Approve or reject this petition</a>' in page.text

    for decision in ({"decision": "approve"}, {"decision": "hide", "reason": "abuse"}):
        r = mod.post(decide, data={"reason": "", "passages": "", "block_days": "0", "note": "", **decision})
        assert r.status_code == 409, r.text
        assert "Nothing was changed. Petitions are approved or rejected on their own moderation page" in r.text
        assert f'<a href="/petitions/{pid}/moderate">Approve or reject this petition</a>' in r.text
        assert _petition_state(flow.app, pid) == "pending"
        assert _item(flow.app, pid)[0] == ItemStatus.HELD and _item(flow.app, pid)[2] == [CaseState.OPEN]
        assert ACTION in mod.get("/moderation/").text  # still waiting in the queue

    # nor through the group form (petitions are never grouped, but a crafted POST must not slip through)
    r = mod.post(f"/moderation/groups/{case_id}/decide",
                 data={"case_ids": str(case_id), "decision": "approve", "reason": "", "passages": "",
                       "block_days": "0", "note": ""})
    assert r.status_code == 303
    assert _petition_state(flow.app, pid) == "pending" and _item(flow.app, pid)[2] == [CaseState.OPEN]

    # the petition's own page still decides it, and that closes the case
    assert mod.post(f"/petitions/{pid}/moderate", data={"decision": "approve"}).status_code == 303
    assert _petition_state(flow.app, pid) == "open"
    assert _item(flow.app, pid)[0] == ItemStatus.APPROVED and _item(flow.app, pid)[2] == [CaseState.DECIDED]
