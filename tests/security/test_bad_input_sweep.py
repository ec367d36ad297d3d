"""Bad input on every route: integer path parameters past 64 bits, more form fields than the parser allows,
repeated and odd query parameters, htmx and history-restore requests of every page. Whatever the role, the answer is a 4xx (or a page), never a 5xx."""
from __future__ import annotations

from urllib.parse import urlencode

from security_world import all_routes, report, session_for

FORM = {"content-type": "application/x-www-form-urlencoded"}
# Each page's htmx requests (a fragment), history restores, and another language.
HTMX_HEADERS = ({"HX-Request": "true"}, {"HX-Request": "true", "HX-History-Restore-Request": "true"},
                {"HX-Request": "true", "HX-Target": "main", "Accept-Language": "zh-CN,zh;q=0.9"},
                {"Accept-Language": "fr-FR,zh-CN;q=0.5"})

HUGE_IDS = (2**63, 2**63 - 1, 2**64 + 1, 10**30, 0)
ODD_QUERIES = ("page=99999999999999999999999", "page=-1", "page=1e9", "page=%00", "state=%ff%fe", "q=" + "x" * 5000,
               "page=1&page=2&page=x", "sort=__class__", "facet=%25s%25(x)s")


def test_no_route_answers_bad_input_with_a_server_error(app, world, make_client, helpers):
    clients = {"anonymous": session_for(make_client, app, helpers, "anonymous"),
               "admin": session_for(make_client, app, helpers, "admin")}
    normal = {"petition_id": world.petition, "consultation_id": world.consultation, "comment_id": world.comment,
              "question_id": world.question, "case_id": world.case, "theme_key": 0, "position": 0, "path": "civic.css",
              "entry_id": world.paper_entry, "dataset": world.datasets[0], "day": world.snapshot_day}
    many_fields = [(f"f{i}", "x") for i in range(1200)]
    requests, failures = 0, []
    for route in all_routes(app):
        if route.key in ("POST /auth/sign-out", "POST /account/sign-out-everywhere"):
            continue
        calls = []
        for name in route.params:
            if name == "path":
                continue
            for huge in HUGE_IDS:
                calls.append((route.method, route.fill({**normal, name: huge}), {}))
        path = route.fill(normal)
        if route.method == "POST":
            calls.append(("POST", path, many_fields))
            calls.append(("POST", path, [("token", "%s%(x)s" * 300), ("petition", str(2**70)), ("page", "-1")]))
        else:
            calls += [("GET", f"{path}?{q}", {}) for q in ODD_QUERIES]
            calls += [("GET", path, headers) for headers in HTMX_HEADERS]
        for role, client in clients.items():
            for method, url, data in calls:
                requests += 1
                headers = data if data in HTMX_HEADERS else (FORM if data else None)
                body = urlencode(data) if data and data not in HTMX_HEADERS else None
                try:
                    response = client.request(method, url, content=body, headers=headers)
                except Exception as exc:  # the test client re-raises what the app did not handle
                    failures.append(f"{role}: {method} {url[:120]} -> {type(exc).__name__}: {str(exc)[:80]}")
                    continue
                if response.status_code >= 500:
                    failures.append(f"{role}: {method} {url[:120]} -> {response.status_code}")
    report(f"bad input: {requests} requests over {len(all_routes(app))} routes, {len(failures)} server errors")
    assert not failures, "\n".join(failures)
