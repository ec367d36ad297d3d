"""Authorization matrix: every route and method of the real routing table, called by every role, each with a
fresh session and with a revoked one (a cookie replayed after sign-out), against a declared table of who may
do what. A route missing from the table fails the test: add it to TABLE when you add the route.

Allowed: 2xx, a 3xx that is not a sign-in redirect, or a 4xx that answers the request's content (validation
400/409/410/422/429; 404 only where the entry says the empty request names nothing, e.g. a missing token).
Refused: 401, 403, 404, or a redirect to the sign-in page.
"""
from __future__ import annotations

from dataclasses import dataclass

from security_world import EMAILS, OWN_CLERK, OWN_OFFICIAL, ROLES, all_routes, report, revoked_session_for, session_for

MATRIX_ROLES = (*ROLES, OWN_OFFICIAL, OWN_CLERK)
EVERYONE = frozenset(MATRIX_ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
OFFICIALS = frozenset({"official_own", "official_other", "admin"})   # any department
DEPARTMENT = frozenset({"official_own", "admin"})                    # the department that owns the object
MODERATORS = frozenset({"moderator", "admin"})
ADMINS = frozenset({"admin"})
CLERKS = frozenset({"clerk_own", "admin"})                          # paper signatures of the department's petitions
STAFF = frozenset({"official_own", "official_other", "moderator", "clerk_own", "admin"})
NOBODY = frozenset()  # e.g. only the comment's author, who is none of the matrix roles


@dataclass(frozen=True)
class Rule:
    who: frozenset
    missing_ok: bool = False   # an allowed caller may get 404: the bare request names nothing (no token, no data)
    why: str = ""


R = Rule
TABLE: dict[str, Rule] = {
    # site
    "GET /": R(EVERYONE),
    "GET /about": R(EVERYONE),
    "GET /open-data": R(EVERYONE),
    "GET /open-data/{dataset}/{day}": R(EVERYONE),
    "GET /locale": R(EVERYONE),
    "POST /locale": R(EVERYONE),
    "GET /healthz": R(EVERYONE),
    "GET /readyz": R(EVERYONE),
    "GET /metrics": R(NOBODY, why="a bearer token (CIVIC_METRICS_TOKEN) or an address in CIVIC_METRICS_ALLOW, not a role"),
    "GET /robots.txt": R(EVERYONE),
    "GET /favicon.ico": R(EVERYONE),
    "GET /static/{path}": R(EVERYONE),
    "GET /account": R(SIGNED_IN),
    "POST /account": R(SIGNED_IN),
    "POST /account/sign-out-everywhere": R(EVERYONE, why="without a session there is nothing to end"),
    "GET /auth/sign-in": R(EVERYONE),
    "POST /auth/sign-in": R(EVERYONE),
    "GET /auth/confirm": R(EVERYONE),
    "POST /auth/confirm": R(EVERYONE, why="the token is the credential; a bad one is 400"),
    "POST /auth/sign-out": R(EVERYONE),
    # petitions (public pages; signing and sponsoring work by e-mailed link, not by account)
    "GET /petitions/": R(EVERYONE),
    "GET /petitions/awaiting-response": R(EVERYONE),
    "GET /petitions/how-we-respond": R(EVERYONE),
    "GET /petitions/start": R(EVERYONE),
    "POST /petitions/start": R(EVERYONE),
    "GET /petitions/similar": R(EVERYONE),
    "GET /petitions/signatures/confirm": R(EVERYONE),
    "POST /petitions/signatures/confirm": R(EVERYONE, missing_ok=True),
    "GET /petitions/signatures/confirmed": R(EVERYONE, missing_ok=True),
    "GET /petitions/signatures/withdraw": R(EVERYONE, missing_ok=True),
    "POST /petitions/signatures/withdraw": R(EVERYONE, missing_ok=True),
    "GET /petitions/signatures/stop-updates": R(EVERYONE, missing_ok=True),
    "POST /petitions/signatures/stop-updates": R(EVERYONE, missing_ok=True),
    "GET /petitions/moderation": R(MODERATORS),
    "GET /petitions/reasons": R(ADMINS),
    "POST /petitions/reasons": R(ADMINS),
    "GET /petitions/{petition_id:int}": R(EVERYONE),
    "GET /petitions/{petition_id:int}/count": R(EVERYONE),
    "GET /petitions/{petition_id:int}/sign": R(EVERYONE),
    "POST /petitions/{petition_id:int}/sign": R(EVERYONE),
    "GET /petitions/{petition_id:int}/sponsor": R(EVERYONE, missing_ok=True, why="needs the sponsor token"),
    "POST /petitions/{petition_id:int}/sponsor": R(EVERYONE, missing_ok=True, why="needs the sponsor token"),
    "GET /petitions/{petition_id:int}/moderate": R(MODERATORS),
    "POST /petitions/{petition_id:int}/moderate": R(MODERATORS),
    "GET /petitions/{petition_id:int}/respond": R(DEPARTMENT),
    "POST /petitions/{petition_id:int}/respond": R(DEPARTMENT),
    "GET /petitions/{petition_id:int}/debate": R(DEPARTMENT),
    "POST /petitions/{petition_id:int}/debate": R(DEPARTMENT),
    "GET /petitions/{petition_id:int}/paper": R(CLERKS),
    "POST /petitions/{petition_id:int}/paper": R(CLERKS),
    "GET /petitions/{petition_id:int}/paper/entries": R(STAFF, why="the audit trail of paper entries"),
    "GET /petitions/{petition_id:int}/paper/entries/{entry_id:int}/correct": R(CLERKS),
    "POST /petitions/{petition_id:int}/paper/entries/{entry_id:int}/correct": R(CLERKS),
    # officials' analysis dashboard: the consultation's department only
    "GET /officials/consultations/{consultation_id:int}/analysis": R(DEPARTMENT),
    "GET /officials/consultations/{consultation_id:int}/analysis.json": R(DEPARTMENT, missing_ok=True,
                                                                           why="no analysis has run in the world"),
    "GET /officials/consultations/{consultation_id:int}/analysis.csv": R(DEPARTMENT, missing_ok=True),
    "GET /officials/consultations/{consultation_id:int}/analysis/report": R(DEPARTMENT),
    "POST /officials/consultations/{consultation_id:int}/analysis/run": R(DEPARTMENT),
    "POST /officials/consultations/{consultation_id:int}/analysis/merge": R(DEPARTMENT),
    "GET /officials/consultations/{consultation_id:int}/analysis/themes/{theme_key:int}":
        R(DEPARTMENT, missing_ok=True, why="no analysis has run in the world"),
    "POST /officials/consultations/{consultation_id:int}/analysis/themes/{theme_key:int}/rename":
        R(DEPARTMENT, missing_ok=True),
    "POST /officials/consultations/{consultation_id:int}/analysis/themes/{theme_key:int}/split":
        R(DEPARTMENT, missing_ok=True),
    "POST /officials/consultations/{consultation_id:int}/analysis/themes/{theme_key:int}/answer":
        R(DEPARTMENT, missing_ok=True),
    "GET /officials/consultations/{consultation_id:int}/analysis/campaigns/{position:int}":
        R(DEPARTMENT, missing_ok=True),
    # consultations
    "GET /consultations/": R(EVERYONE),
    "GET /consultations/new": R(OFFICIALS),
    "POST /consultations/new": R(OFFICIALS),
    "GET /consultations/unsubscribe": R(EVERYONE, missing_ok=True),
    "POST /consultations/unsubscribe": R(EVERYONE, missing_ok=True),
    "GET /consultations/{consultation_id:int}": R(EVERYONE),
    "GET /consultations/{consultation_id:int}/edit": R(DEPARTMENT),
    "POST /consultations/{consultation_id:int}/edit": R(DEPARTMENT),
    "POST /consultations/{consultation_id:int}/state": R(DEPARTMENT),
    "GET /consultations/{consultation_id:int}/report": R(DEPARTMENT),
    "POST /consultations/{consultation_id:int}/report": R(DEPARTMENT),
    "GET /consultations/{consultation_id:int}/responses": R(EVERYONE),
    "POST /consultations/{consultation_id:int}/respond": R(DEPARTMENT),
    "POST /consultations/{consultation_id:int}/follow": R(SIGNED_IN),
    "GET /consultations/{consultation_id:int}/questions/{question_id:int}": R(EVERYONE),
    "POST /consultations/{consultation_id:int}/comments": R(SIGNED_IN),
    "GET /consultations/{consultation_id:int}/comments/{comment_id:int}": R(EVERYONE),
    "GET /consultations/{consultation_id:int}/comments/{comment_id:int}/edit": R(NOBODY, why="author only"),
    "POST /consultations/{consultation_id:int}/comments/{comment_id:int}/edit": R(NOBODY, why="author only"),
    "POST /consultations/{consultation_id:int}/comments/{comment_id:int}/delete": R(NOBODY, why="author only"),
    "POST /consultations/{consultation_id:int}/comments/{comment_id:int}/vote": R(SIGNED_IN),
    "GET /consultations/{consultation_id:int}/comments/{comment_id:int}/report": R(SIGNED_IN),
    "POST /consultations/{consultation_id:int}/comments/{comment_id:int}/report": R(SIGNED_IN),
    "GET /consultations/{consultation_id:int}/statements": R(EVERYONE),
    "POST /consultations/{consultation_id:int}/statements": R(SIGNED_IN),
    "GET /consultations/{consultation_id:int}/stance": R(EVERYONE),
    # moderation
    "GET /moderation/": R(MODERATORS),
    "GET /moderation/cases/{case_id:int}": R(MODERATORS),
    "POST /moderation/cases/{case_id:int}/claim": R(MODERATORS),
    "POST /moderation/cases/{case_id:int}/release": R(MODERATORS),
    "POST /moderation/cases/{case_id:int}/decide": R(MODERATORS),
    "GET /moderation/groups/{case_id:int}": R(MODERATORS),
    "POST /moderation/groups/{case_id:int}/decide": R(MODERATORS),
    "GET /moderation/quality": R(MODERATORS),
    "GET /moderation/audit": R(ADMINS),
    "GET /moderation/audit.csv": R(ADMINS),
    "GET /moderation/log": R(EVERYONE),
    "GET /moderation/transparency": R(EVERYONE),
    "GET /moderation/appeal": R(EVERYONE, missing_ok=True, why="needs the e-mailed appeal token"),
    "POST /moderation/appeal": R(EVERYONE, missing_ok=True, why="needs the e-mailed appeal token"),
    # public read-only API
    "GET /api/openapi.json": R(EVERYONE),
    "GET /api/petitions": R(EVERYONE),
    "GET /api/petitions.csv": R(EVERYONE),
    "GET /api/petitions/how-we-respond": R(EVERYONE),
    "GET /api/petitions/how-we-respond.csv": R(EVERYONE),
    "GET /api/moderation/transparency": R(EVERYONE),
    "GET /api/moderation/transparency.csv": R(EVERYONE),
    "GET /api/snapshots": R(EVERYONE),
    "GET /api/snapshots/{dataset}/{day}.json": R(EVERYONE),
    "GET /api/snapshots/{dataset}/{day}.csv": R(EVERYONE),
    "GET /api/petitions/{petition_id:int}": R(EVERYONE),
    "GET /api/petitions/{petition_id:int}/signatures-by-hour": R(EVERYONE),
    "GET /api/consultations": R(EVERYONE),
    "GET /api/consultations/{consultation_id:int}": R(EVERYONE),
    "GET /api/consultations/{consultation_id:int}/comments.csv": R(EVERYONE),
    "GET /api/consultations/{consultation_id:int}/votes.csv": R(EVERYONE),
    "GET /api/consultations/{consultation_id:int}/participation-by-area.csv": R(EVERYONE),
    "GET /api/consultations/how-we-respond": R(EVERYONE),
    "GET /api/consultations/how-we-respond.csv": R(EVERYONE),
}

# Staff reads of objects the public must not see: (path template, who may read it). Checked like the table.
PRIVATE_READS = {
    "GET /consultations/{draft}": R(DEPARTMENT),
    "GET /consultations/{draft}/questions/{draft_question}": R(DEPARTMENT),
    "GET /consultations/{draft}/comments/{comment_draft}": R(DEPARTMENT),
    "GET /consultations/{draft}/statements": R(DEPARTMENT),
    "POST /consultations/{draft}/statements": R(DEPARTMENT, why="nobody can vote on a draft, but a refused vote's "
                                                                 "answer shows its statement card"),
    "GET /consultations/{draft}/stance": R(DEPARTMENT),
    "GET /api/consultations/{draft}": R(NOBODY, why="the API is public: it shows what the public page shows"),
    "GET /api/consultations/{draft}/comments.csv": R(NOBODY),
    "GET /api/consultations/{draft}/participation-by-area.csv": R(NOBODY),
    "GET /api/petitions/{petition_hidden}": R(EVERYONE, why="like its page, a notice without its text"),
    "GET /api/petitions/{petition_pending}": R(NOBODY),
    "GET /petitions/{petition_pending}": R(MODERATORS),
    "GET /petitions/{petition_hidden}": R(EVERYONE, why="a notice that it was hidden (test_visibility keeps its "
                                                       "text out)"),
}

ALLOWED_4XX = {400, 409, 410, 422, 429}
REFUSED = {401, 403, 404}


def _params(world) -> dict:
    return {"petition_id": world.petition, "consultation_id": world.consultation, "comment_id": world.comment,
            "question_id": world.question, "case_id": world.case, "theme_key": 0, "position": 0,
            "path": "civic.css", "draft": world.draft, "draft_question": world.draft_question,
            "comment_draft": world.comment_draft, "petition_hidden": world.petition_hidden,
            "petition_pending": world.petition_pending, "entry_id": world.paper_entry,
            "dataset": world.datasets[0], "day": world.snapshot_day}


def _is_sign_in_redirect(response) -> bool:
    return response.status_code in (301, 302, 303, 307, 308) and "/auth/sign-in" in response.headers.get("location", "")


def _judge(rule: Rule, role: str, response) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    refused = status in REFUSED or _is_sign_in_redirect(response)
    if role in rule.who:
        if refused and not (status == 404 and rule.missing_ok):
            return f"{status} {response.headers.get('location', '')} but {role} may use it"
        if not refused and not (200 <= status < 400 or status in ALLOWED_4XX or status == 404):
            return f"unexpected {status}"
        return None
    if not refused:
        return f"{status} {response.headers.get('location', '')} but {role} may not use it"
    return None


def _call(client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.request(method, path, data={})


# These end the session: called last so they do not change what the role's other calls see.
SESSION_ENDERS = ("POST /account/sign-out-everywhere", "POST /auth/sign-out")


def run_matrix(clients: dict, app, world, *, as_if: dict | None = None) -> tuple[int, list[str]]:
    """Call every route with every client; `as_if` maps a client to the role whose rights it must have."""
    params = _params(world)
    checked, failures = 0, []
    routes = all_routes(app)
    for role, client in clients.items():
        expected_role = (as_if or {}).get(role, role)
        calls = [(route.method, route.fill(params), TABLE.get(route.key)) for route in routes
                 if route.key not in SESSION_ENDERS]
        calls += [(key.split(" ", 1)[0], key.split(" ", 1)[1].format(**params), rule)
                  for key, rule in PRIVATE_READS.items()]
        calls += [(route.method, route.fill(params), TABLE.get(route.key))
                  for key in SESSION_ENDERS for route in routes if route.key == key]
        for method, path, rule in calls:
            if rule is None:
                failures.append(f"{method} {path}: no entry in TABLE")
                continue
            checked += 1
            response = _call(client, method, path)
            if expected_role == "demoted":
                # signed out by the role change, or a resident: either way no more than a resident may do
                demoted_may = "resident" in rule.who and response.status_code < 500
                problem = None if demoted_may else _judge(rule, "resident", response)
            else:
                problem = _judge(rule, expected_role, response)
            if problem:
                failures.append(f"{role}: {method} {path} -> {problem}")
    return checked, failures


def test_every_route_has_an_entry_in_the_table(app):
    missing = sorted({r.key for r in all_routes(app)} - set(TABLE))
    assert not missing, ("routes without an entry in the authorization table (say who may use them in "
                         f"tests/security/test_authorization_matrix.py TABLE): {missing}")
    stale = sorted(set(TABLE) - {r.key for r in all_routes(app)})
    assert not stale, f"entries for routes that no longer exist: {stale}"


def test_every_route_refuses_every_role_it_should_with_a_fresh_session(app, world, make_client, helpers):
    missing = sorted({r.key for r in all_routes(app)} - set(TABLE))
    assert not missing, f"routes without an entry in the authorization table: {missing}"
    clients = {role: session_for(make_client, app, helpers, role) for role in MATRIX_ROLES}
    checked, failures = run_matrix(clients, app, world)
    n_routes = f"{len(all_routes(app))} route-methods + {len(PRIVATE_READS)} private reads"
    report(f"authorization matrix (fresh sessions): ({n_routes}) x {len(clients)} roles = {checked} checks, "
          f"{len(failures)} failures")
    assert not failures, "\n".join(failures)


def test_a_cookie_replayed_after_sign_out_has_no_rights(app, world, make_client, helpers):
    clients = {role: revoked_session_for(make_client, app, helpers, role) for role in MATRIX_ROLES
               if role != "anonymous"}
    checked, failures = run_matrix(clients, app, world, as_if={role: "anonymous" for role in clients})
    n_routes = f"{len(all_routes(app))} route-methods + {len(PRIVATE_READS)} private reads"
    report(f"authorization matrix (revoked sessions): ({n_routes}) x {len(clients)} roles = {checked} checks, "
          f"{len(failures)} failures")
    assert not failures, "\n".join(failures)


def test_a_staff_cookie_has_no_more_than_resident_rights_once_the_role_is_taken_away(app, world, make_client, helpers):
    clients = {role: session_for(make_client, app, helpers, role) for role in ("official_own", "clerk_own", "moderator", "admin")}
    for role in clients:
        helpers.add_user(app, EMAILS[role][0], role="resident")  # the operator's `civic add-user --role resident`
    checked, failures = run_matrix(clients, app, world, as_if={role: "demoted" for role in clients})
    n_routes = f"{len(all_routes(app))} route-methods + {len(PRIVATE_READS)} private reads"
    report(f"authorization matrix (demoted staff): ({n_routes}) x {len(clients)} roles = {checked} checks, "
           f"{len(failures)} failures")
    assert not failures, "\n".join(failures)
