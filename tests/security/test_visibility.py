"""Visibility: a petition in every non-public state, a comment in every non-public state and officials' responses
that are held or hidden each carry a unique marker; an anonymous visitor (and a signed-in resident who wrote none of them) crawls every GET route of the
routing table, pages, API and exports, with the ids of those objects in the path and in the query parameters
handlers read. No marker may appear anywhere. Rule: what the public page does not show, no route shows."""
from __future__ import annotations

import itertools
import re
import time

from security_world import all_routes, report, session_for

# Query strings the crawler adds to every route (handlers read these; unknown ones are ignored).
STATIC_QUERIES = [
    "", "facet=draft", "facet=all", "state=hidden", "state=pending", "state=sponsoring", "state=unconfirmed",
    "state=all", "all=1", "q=SECRET", "action=SECRET&background=SECRET", "include=hidden", "status=held",
    "status=hidden", "sort=new", "page=1",
]


def _id_queries(world) -> list[str]:
    petitions = [world.petition_unconfirmed, world.petition_sponsoring, world.petition_pending, world.petition_hidden]
    out = []
    for pid in petitions:
        out += [f"petition={pid}&kind=creator", f"petition={pid}&kind=signature", f"petition={pid}&kind=sponsor",
                f"petition={pid}", f"petition_id={pid}", f"id={pid}"]
    for cid in (world.draft, world.strict_consultation):
        out += [f"consultation={cid}", f"consultation_id={cid}"]
    for comment in (world.comment_held, world.comment_hidden, world.comment_removed, world.comment_draft):
        out += [f"comment={comment}", f"parent={comment}", f"highlight={comment}"]
    return out


def _values(world) -> dict[str, list]:
    return {
        "petition_id": [world.petition, world.petition_unconfirmed, world.petition_sponsoring,
                        world.petition_pending, world.petition_hidden],
        "consultation_id": [world.consultation, world.strict_consultation, world.draft],
        "comment_id": [world.comment, world.comment_held, world.comment_hidden, world.comment_hidden_reply,
                       world.comment_removed, world.comment_draft],
        "question_id": [world.question, world.draft_question],
        "case_id": [world.case],
        "theme_key": [0, 1],
        "position": [0],
        "path": ["civic.css"],
        "entry_id": [world.paper_entry],
        "dataset": world.datasets,
        "day": [world.snapshot_day],
    }


def crawl(client, app, world, static_queries=STATIC_QUERIES) -> tuple[int, list[str]]:
    values = _values(world)
    id_queries = _id_queries(world)
    markers = re.compile("|".join(re.escape(m) for m in world.secrets.values()))
    requests, leaks = 0, []
    for route in all_routes(app):
        if route.method != "GET" or route.path.startswith("/static"):
            continue
        names = route.params
        combos = itertools.product(*(values[n] for n in names)) if names else [()]
        queries = list(static_queries) + (id_queries if not names else [])
        for combo in combos:
            path = route.fill(dict(zip(names, combo)))
            for query in queries:
                url = path + ("?" + query if query else "")
                # the htmx request of a page gets its partial: as closed as the page
                for headers in ({}, {"HX-Request": "true"}) if not query else ({},):
                    response = client.get(url, headers=headers)
                    requests += 1
                    how = " (htmx)" if headers else ""
                    if response.status_code >= 500:
                        leaks.append(f"GET {url}{how} -> {response.status_code}")
                        continue
                    found = set(markers.findall(response.text))
                    if found:
                        leaks.append(f"GET {url}{how} ({response.status_code}) shows {sorted(found)}")
    return requests, leaks


def test_nothing_unpublished_shows_to_the_public(app, world, client):
    assert len(world.secrets) >= 12
    started = time.monotonic()
    requests, leaks = crawl(client, app, world)
    report(f"visibility: {len(world.secrets)} markers in {requests} anonymous requests "
          f"({time.monotonic() - started:.1f} s), {len(leaks)} leaks")
    assert not leaks, "\n".join(leaks)


def test_nothing_unpublished_shows_to_a_resident_who_did_not_write_it(app, world, make_client, helpers):
    c = session_for(make_client, app, helpers, "author")  # wrote only the world's public comment
    requests, leaks = crawl(c, app, world, static_queries=("", "facet=draft", "state=hidden"))
    report(f"visibility (signed-in resident): {requests} requests, {len(leaks)} leaks")
    assert not leaks, "\n".join(leaks)


def test_links_in_e_mails_show_nothing_of_a_hidden_petition(app, world, client):
    """A sponsor link is shared freely and a signer's links never expire: once the petition is hidden, none of
    them shows its text (or the moderator's private explanation) any more."""
    from sqlmodel import select

    from app.db import read_session
    from petitions import service
    from petitions.models import Signature

    signer = app.state.signer
    with read_session(app.state.engine) as session:
        sid = session.exec(select(Signature.id).where(Signature.petition_id == world.petition_hidden)).first()
    sponsor = service.sponsor_token(signer, world.petition_hidden)
    withdraw = signer.sign(service.WITHDRAW_PURPOSE, {"sid": sid}, single_use=False)
    stop = signer.sign(service.STOP_UPDATES_PURPOSE, {"sid": sid}, single_use=False)
    confirm = signer.sign(service.SIGNATURE_PURPOSE, {"sid": sid})
    calls = [
        ("GET", f"/petitions/{world.petition_hidden}/sponsor?token={sponsor}", None),
        ("POST", f"/petitions/{world.petition_hidden}/sponsor", {"token": sponsor, "name": "Sam Sponsor",
                                                                 "email": "sam@example.org", "area": "North"}),
        ("GET", f"/petitions/{world.petition_hidden}/sign?token={sponsor}", None),
        ("GET", f"/petitions/signatures/withdraw?token={withdraw}", None),
        ("GET", f"/petitions/signatures/stop-updates?token={stop}", None),
        ("POST", f"/petitions/signatures/stop-updates?token={stop}", {"token": stop}),
        ("GET", f"/petitions/signatures/confirm?token={confirm}", None),
        ("POST", "/petitions/signatures/confirm", {"token": confirm}),
        ("POST", "/petitions/signatures/withdraw", {"token": withdraw}),
    ]
    markers = [m for k, m in world.secrets.items() if k.startswith("petition-hidden")]
    leaks = []
    for method, url, data in calls:
        response = client.request(method, url, data=data)
        if response.status_code >= 300 and response.status_code < 400:
            response = client.get(response.headers["location"])
        shown = [m for m in markers if m in response.text]
        if response.status_code >= 500 or shown:
            leaks.append(f"{method} {url.split('?')[0]} -> {response.status_code} shows {shown}")
    report(f"visibility (links of a hidden petition): {len(calls)} links, {len(leaks)} leaks")
    assert not leaks, "\n".join(leaks)
