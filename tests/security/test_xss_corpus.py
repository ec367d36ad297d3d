"""XSS corpus: every payload of xss_payloads.txt through every text field residents, officials and admins write,
and every page that shows it opened in Chromium (as the visitor or the staff member who would see it).

Fails on any script run (payloads call `__xss(N)`, defined by an init script), any element a payload injected
(payloads carry `data-xss`), any request a payload triggered (htmx payloads ask for /xss-hx/N; any POST), or any
5xx. The page's Content-Security-Policy is bypassed so a payload that escaped would run: the check is on
escaping, not on the CSP that backs it up. Payloads are packed into as few objects as each field's length
allows; a payload counts for a (field, page) only when the page shows its text literally.
"""
from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from app.clock import utc_now
from app.db import unit_of_work
from consultations.config import ConsultationSettings
from security_world import EMAILS, report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAYLOADS = [line for line in (Path(__file__).parent / "xss_payloads.txt").read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("# ")]

INIT = """
window.__xssHits = [];
window.__xss = function (n) { window.__xssHits.push(String(n)); };
"""
SHOWN_JS = """() => {
  const parts = [document.documentElement.textContent];
  for (const el of document.querySelectorAll('input, textarea')) parts.push(el.value);
  for (const el of document.querySelectorAll('[title]')) parts.push(el.getAttribute('title'));
  return parts.join('\\n');
}"""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def chunks(limit: int, sep: str = " ") -> list[list[int]]:
    """Payload indexes packed greedily into groups whose joined text fits `limit` characters."""
    groups: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, p in enumerate(PAYLOADS):
        if len(p) > limit:
            continue
        extra = len(p) + (len(sep) if current else 0)
        if current and size + extra > limit:
            groups.append(current)
            current, size = [], 0
            extra = len(p)
        current.append(i)
        size += extra
    if current:
        groups.append(current)
    return groups


def joined(group: list[int], sep: str = " ") -> str:
    return sep.join(PAYLOADS[i] for i in group)


ALL = list(range(len(PAYLOADS)))


class Plan:
    """Which payloads went into which field, and which pages show which fields."""

    def __init__(self):
        self.fields: dict[str, set[int]] = {}
        self.visits: dict[tuple[str, str], dict[str, set[int]]] = {}

    def put(self, field: str, group) -> None:
        self.fields.setdefault(field, set()).update(group)

    def show(self, role: str, path: str, field: str, group) -> None:
        self.visits.setdefault((role, path), {}).setdefault(field, set()).update(group)


def _uow(app):
    s = app.state
    return unit_of_work(s.engine, s.unit_context)


def build(app, helpers) -> Plan:
    from app.models import User
    from consultations import dashboard_jobs, forms, service
    from consultations.models import Question
    from moderation import latest_analysis
    from moderation.facade import Decision
    from moderation.models import ModerationCase, ModerationDecision, ModerationItem
    from moderation.service import APPEAL_PURPOSE, DecisionInput, decide_case, submit_appeal
    from petitions.models import Debate, RejectionReason, Response
    from security_world import _petition

    plan = Plan()
    users = {role: helpers.add_user(app, email, role=r, department=dept)
             for role, (email, r, dept) in EMAILS.items()}
    dept = users["official_own"].department_id
    official = users["official_own"].id

    # ----- petitions: action, background, details, creator name; official response and debate -----
    action, background, name = chunks(80), chunks(300), chunks(120)
    response_summary = chunks(500)
    n = max(len(action), len(background), len(name), len(response_summary))
    petition_ids = []
    with _uow(app) as session:
        for i in range(n):
            a = action[i] if i < len(action) else []
            b = background[i] if i < len(background) else []
            nm = name[i] if i < len(name) else []
            p = _petition(session, joined(a) or f"Petition number {i}", "open",
                          background=joined(b) or "A plain background.", department_id=dept,
                          details=joined(ALL, "\n") if i == 0 else "", creator=joined(nm) or "Plain Name")
            petition_ids.append(p.id)
            plan.put("petition action", a), plan.put("petition background", b), plan.put("creator name", nm)
            if nm or i == 0:  # the creator's name is shown on the petition's page only
                plan.show("anonymous", f"/petitions/{p.id}", "petition action", a)
                plan.show("anonymous", f"/petitions/{p.id}", "petition background", b)
                plan.show("anonymous", f"/petitions/{p.id}", "creator name", nm)
            plan.show("anonymous", "/petitions/?sort=newest", "petition action", a)
            plan.show("anonymous", "/petitions/?sort=newest", "petition background", b)
            rs = response_summary[i] if i < len(response_summary) and nm else []
            if rs or i == 0:
                now = utc_now()
                session.add(Response(petition_id=p.id, summary=joined(rs) or "Plain summary.",
                                     details=joined(ALL, "\n") if i == 0 else "Plain details.", decision="accepted",
                                     official_id=official, department_id=dept, published_at=now))
                plan.put("petition response summary", rs)
                plan.show("anonymous", f"/petitions/{p.id}", "petition response summary", rs)
        session.add(Debate(petition_id=petition_ids[0], debated_on=date(2026, 1, 5), summary=joined(ALL, "\n"),
                           links="\n".join(PAYLOADS), official_id=official, published_at=utc_now()))
        for field in ("petition details", "petition response details", "debate summary", "debate links"):
            plan.put(field, ALL)
            plan.show("anonymous", f"/petitions/{petition_ids[0]}", field, ALL)
        plan.show("anonymous", "/", "petition action", action[0])
        # admin-written rejection reasons (title 200, description text) and the moderator's rejection detail
        reasons = chunks(200)
        for i, group in enumerate(reasons):
            session.add(RejectionReason(code=f"xss-{i}", title=joined(group), description=joined(ALL, "\n"),
                                        hides_petition=False, position=100 + i))
            plan.put("rejection reason title", group), plan.put("rejection reason description", ALL)
            for role, path in (("admin", "/petitions/reasons"),):
                plan.show(role, path, "rejection reason title", group)
        session.flush()
        for i, group in enumerate(chunks(2000)):
            p = _petition(session, f"Rejected petition {i}", "rejected", background="Rejected.")
            p.rejection_code, p.rejection_detail, p.rejected_at = f"xss-{i}", joined(group), utc_now()
            session.add(p)
            session.flush()
            plan.put("rejection detail", group)
            plan.show("anonymous", f"/petitions/{p.id}", "rejection reason title", reasons[i])
            plan.show("anonymous", f"/petitions/{p.id}", "rejection reason description", ALL)
            plan.show("anonymous", f"/petitions/{p.id}", "rejection detail", group)
        pending = _petition(session, "A petition waiting for a moderator", "pending", background="Pending.")
        for i, group in enumerate(reasons):
            plan.show("moderator", f"/petitions/{pending.id}/moderate", "rejection reason title", group)
    plan.show("moderator", "/petitions/moderation", "petition action", [])

    # ----- consultations: title, summary, body (sanitized HTML), questions, closing report -----
    titles, summaries, questions = chunks(200), chunks(600), chunks(500)
    consultation_ids = []
    for i in range(max(len(titles), len(summaries))):
        t = titles[i] if i < len(titles) else []
        s = summaries[i] if i < len(summaries) else []
        data = forms.ConsultationData(
            title=joined(t) or f"Consultation {i}", summary=joined(s) or "Plain summary.",
            body=joined(ALL, "\n") if i == 0 else "<p>Plain.</p>", department_id=None,
            questions=tuple(joined(q) for q in questions) if i == 0 else (), opens_on=None, closes_on=None,
            strict_mode=False)
        with _uow(app) as session:
            cid = service.create_consultation(session, user_id=official, data=data).id
        with _uow(app) as session:
            service.change_state(session, user_id=official, consultation_id=cid, action="open")
        consultation_ids.append(cid)
        plan.put("consultation title", t), plan.put("consultation summary", s)
        pages = [("anonymous", f"/consultations/?facet=all&page={i // 20 + 1}")]
        if i < 3:
            pages += [("anonymous", f"/consultations/{cid}"), ("official_own", f"/consultations/{cid}/edit")]
        for role, path in pages:
            plan.show(role, path, "consultation title", t)
            plan.show(role, path, "consultation summary", s)
    main = consultation_ids[0]
    plan.put("consultation body (HTML)", ALL), plan.put("consultation questions", ALL)
    plan.show("anonymous", f"/consultations/{main}", "consultation body (HTML)", ALL)
    for q in questions:
        plan.show("anonymous", f"/consultations/{main}", "consultation questions", q)
        plan.show("official_own", f"/consultations/{main}/edit", "consultation questions", q)
    with _uow(app) as session:
        qids = session.exec(select(Question.id).where(Question.consultation_id == main)).all()
    for qid, q in list(zip(qids, questions))[:2]:
        plan.show("anonymous", f"/consultations/{main}/questions/{qid}", "consultation questions", q)
    reported = consultation_ids[-1]
    with _uow(app) as session:
        service.change_state(session, user_id=official, consultation_id=reported, action="close")
    with _uow(app) as session:
        service.publish_report(session, user_id=official, consultation_id=reported, text=joined(ALL, "\n"))
    plan.put("closing report (HTML)", ALL)
    plan.show("anonymous", f"/consultations/{reported}", "closing report (HTML)", ALL)
    plan.show("anonymous", f"/consultations/{reported}/responses", "closing report (HTML)", ALL)

    # ----- comments, replies, display names, officials' responses; moderation queue -----
    limits = ConsultationSettings(comment_rate_limit="100000/60", comment_ip_rate_limit="100000/60")
    bodies, names = chunks(2000), chunks(80)
    comment_ids, thread = [], []
    for i, group in enumerate(bodies + [[]] * max(0, len(names) - len(bodies))):
        nm = names[i] if i < len(names) else []
        author = helpers.add_user(app, f"author{i}@example.org", name="Plain Author")
        with _uow(app) as session:
            u = session.get(User, author.id)
            u.name = joined(nm) or "Plain Author"
            session.add(u)
            comment_ids.append(service.post_comment(session, consultation_id=main, author_id=author.id,
                                                    body=joined(group) or f"Plain comment {i}", limits=limits).id)
        plan.put("comment", group), plan.put("display name", nm)
        thread.append((group, nm))
        if group:  # long comments also on their own page
            plan.show("anonymous", f"/consultations/{main}/comments/{comment_ids[-1]}", "comment", group)
            plan.show("anonymous", f"/consultations/{main}/comments/{comment_ids[-1]}", "display name", nm)
        plan.show("moderator", "/moderation/", "comment", group)
    parent = comment_ids[0]
    for group in bodies:
        with _uow(app) as session:
            service.post_comment(session, consultation_id=main, author_id=users["resident"].id, body=joined(group),
                                 parent_id=parent, limits=limits)
        plan.put("reply", group)
        plan.show("anonymous", f"/consultations/{main}/comments/{parent}", "reply", group)
    response_texts = chunks(2000)
    for i, group in enumerate(response_texts):
        with _uow(app) as session:
            service.publish_response(session, consultation_id=main, official_id=official,
                                     comment_id=comment_ids[i % len(comment_ids)],
                                     data=forms.ResponseData(decision="will_act", text=joined(group),
                                                             commitment=joined(group), follow_up_on=None))
        plan.put("official response", group), plan.put("official commitment", group)
        for path in (f"/consultations/{main}/responses",
                     f"/consultations/{main}/comments/{comment_ids[i % len(comment_ids)]}"):
            plan.show("anonymous", path, "official response", group)
            plan.show("anonymous", path, "official commitment", group)
    # the moderator hides a comment with a note; its author appeals with payloads; the appeal case shows both
    with _uow(app) as session:
        hidden = service.post_comment(session, consultation_id=main, author_id=users["resident"].id,
                                      body="A comment a moderator will hide.", limits=limits).id
    with _uow(app) as session:
        case_id = session.exec(select(ModerationCase.id).join(ModerationItem, ModerationItem.id == ModerationCase.item_pk)
                               .where(ModerationItem.kind == "comment", ModerationItem.item_id == hidden)).first()
    notes = chunks(1000)
    with _uow(app) as session:
        decide_case(session, case_id=case_id, moderator_id=users["admin"].id,
                    data=DecisionInput(decision=Decision.HIDE, reason_code="spam", note=joined(notes[0])))
    with _uow(app) as session:
        record = session.exec(select(ModerationDecision).order_by(ModerationDecision.id.desc())).first()
        token = app.state.signer.sign(APPEAL_PURPOSE, {"d": record.id})
    statements = chunks(4000)
    with _uow(app) as session:
        submit_appeal(session, token=token, statement=joined(statements[0]), signer=app.state.signer)
    with _uow(app) as session:
        appeal_case = session.exec(select(ModerationCase.id).order_by(ModerationCase.id.desc())).first()
    plan.put("appeal statement", statements[0]), plan.put("moderator note", notes[0])
    plan.show("moderator", f"/moderation/cases/{appeal_case}", "appeal statement", statements[0])
    plan.show("moderator", f"/moderation/cases/{appeal_case}", "moderator note", notes[0])
    plan.show("admin", "/moderation/audit", "moderator note", notes[0])
    plan.show("admin", "/moderation/audit", "comment", [])
    plan.show("anonymous", "/moderation/log", "comment", [])

    # ----- theme labels: analyse the main consultation, then rename its themes -----
    seeds = ["We need protected bike lanes on Main Street", "Bike lanes on Main Street would make cycling safe",
             "Please build more protected bike lanes", "Safer cycling needs separated bike lanes",
             "Bus fares are far too high for families", "Make bus tickets cheaper for students",
             "Lower bus fares so people leave the car at home", "Cheaper bus fares and more frequent buses",
             "Plant more trees along the streets for shade", "More trees and benches in the park",
             "Street trees keep the city cool in summer", "Plant trees on every street near schools"]
    for i, text in enumerate(seeds * 2):
        author = helpers.add_user(app, f"seed{i}@example.org")
        with _uow(app) as session:
            service.post_comment(session, consultation_id=main, author_id=author.id, body=f"{text} ({i})",
                                 limits=limits)
    with _uow(app) as session:
        dashboard_jobs.request_reanalysis(session, consultation_id=main, official_id=official)
    deadline = time.monotonic() + 60
    themes = []
    while time.monotonic() < deadline:
        with _uow(app) as session:
            analysis = latest_analysis(session, "consultation", main)
            themes = list(analysis.themes) if analysis is not None else []
        if themes:
            break
        time.sleep(0.3)
    assert themes, "the background analysis did not finish within 60 s"
    labels = chunks(200)
    with _uow(app) as session:
        for theme, group in zip(themes, labels):
            dashboard_jobs.rename_theme(session, consultation_id=main, theme_key=theme.key, label=joined(group),
                                        official_id=official)
            plan.put("theme label", group)
            plan.show("official_own", f"/officials/consultations/{main}/analysis", "theme label", group)
            plan.show("official_own", f"/officials/consultations/{main}/analysis/themes/{theme.key}", "theme label",
                      group)
    plan.show("official_own", f"/consultations/{main}", "comment", bodies[0])
    # the thread lists 20 top-level comments a page (newest first): every page, each may show any of them
    for page in range(1, (len(thread) + len(seeds) * 2) // 20 + 2):
        for group, nm in thread:
            plan.show("anonymous", f"/consultations/{main}?page={page}", "comment", group)
            plan.show("anonymous", f"/consultations/{main}?page={page}", "display name", nm)
    plan.show("official_own", f"/officials/consultations/{main}/analysis/report", "theme label", [])
    return plan


def _cookie_for(app, helpers, role: str, base: str) -> str | None:
    if role == "anonymous":
        return None
    email, r, dept = EMAILS[role]
    with TestClient(app, base_url=base, follow_redirects=False) as c:
        helpers.sign_in(c, app, email, role=r, department=dept)
        return c.cookies.get("civic_session")


class Browser:
    """One Chromium context per role with the tripwires installed; `visit` loads a page and returns problems."""

    def __init__(self, browser, base: str, cookie: str | None, locale: str = "en-GB"):
        self.context = browser.new_context(locale=locale, bypass_csp=True)
        if cookie:
            self.context.add_cookies([{"name": "civic_session", "value": cookie, "url": base}])
        self.context.add_init_script(INIT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.bad_requests: list[str] = []
        self.server_errors: list[str] = []
        self.page.on("request", lambda req: self.bad_requests.append(f"{req.method} {req.url}")
                     if "/xss-hx/" in req.url or req.method != "GET" or req.url.startswith("javascript") else None)
        self.page.on("response", lambda res: self.server_errors.append(f"{res.status} {res.url}")
                     if res.status >= 500 else None)

    def visit(self, url: str, where: str, *, ok_statuses=range(200, 400)) -> tuple[list[str], str]:
        self.bad_requests.clear(), self.server_errors.clear()
        response = self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(150)  # let onerror/onload/htmx load triggers fire
        problems = []
        if response is None or response.status not in ok_statuses:
            problems.append(f"{where}: HTTP {response.status if response else 'no response'}")
        hits = self.page.evaluate("() => window.__xssHits")
        injected = self.page.evaluate("() => Array.from(document.querySelectorAll('[data-xss]'))"
                                      ".map(e => e.outerHTML.slice(0, 120))")
        if hits:
            problems.append(f"{where}: payloads ran: {sorted(set(hits))}")
        if injected:
            problems.append(f"{where}: payload elements in the DOM: {injected[:3]}")
        if self.bad_requests:
            problems.append(f"{where}: requests triggered by payloads: {self.bad_requests[:5]}")
        if self.server_errors:
            problems.append(f"{where}: server errors: {self.server_errors[:5]}")
        return problems, _norm(self.page.evaluate(SHOWN_JS))

    def close(self):
        self.context.close()


def test_no_payload_runs_injects_or_requests_anything(live_server, browser, helpers):
    app, base = live_server, live_server.state.base_url
    assert len(PAYLOADS) >= 100
    started = time.monotonic()
    plan = build(app, helpers)
    built = time.monotonic() - started
    failures: list[str] = []
    shown: set[tuple[int, str, str]] = set()
    roles = sorted({role for role, _ in plan.visits})
    cookies = {role: _cookie_for(app, helpers, role, base) for role in roles}
    # in Chinese too (other catalogs, other formatting paths): one page of each kind
    zh_pages, shapes = set(), set()
    for role, path in sorted(plan.visits):
        shape = (role, re.sub(r"\d+", "N", path))
        if shape not in shapes:
            shapes.add(shape)
            zh_pages.add(path)
    loads = 0
    for role in roles:
        for locale in ("en-GB", "zh-CN"):
            tab = Browser(browser, base, cookies[role], locale)
            for (visit_role, path), fields in sorted(plan.visits.items()):
                if visit_role != role or (locale != "en-GB" and path not in zh_pages):
                    continue
                problems, text = tab.visit(base + path, f"{role} {locale} {path}", ok_statuses=range(200, 400))
                failures += problems
                loads += 1
                for field, group in fields.items():
                    for i in group:
                        if _norm(PAYLOADS[i]) in text:
                            shown.add((i, field, f"{locale} {path}"))
            tab.close()
    fields = {f for _, f, _ in shown}
    pages = {p for _, _, p in shown}
    report(f"XSS corpus (stored): {len(PAYLOADS)} payloads through {len(plan.fields)} fields "
           f"({sum(len(g) for g in plan.fields.values())} payload x field placements); "
           f"{len(shown)} payload x field x page sightings over {len(fields)} fields and {len(pages)} pages "
           f"in en and zh-Hans ({loads} page loads, build {built:.1f} s, total {time.monotonic() - started:.1f} s); "
           f"{len(failures)} failures")
    assert not failures, "\n".join(failures)
    missing = sorted(set(plan.fields) - fields - {"consultation body (HTML)", "closing report (HTML)",
                                                   "debate links"})
    assert not missing, f"fields whose payloads no page showed (the plan's page list is wrong): {missing}"


# Query parameters handlers read; a page that echoes one back gets every payload through it.
QUERY_PARAMS = ("q", "action", "background", "token", "next", "state", "sort", "facet", "kind", "petition", "page",
                "lang", "all", "area", "name", "email", "detail", "label", "statement", "consultation", "comment")


def test_no_payload_in_a_query_parameter_runs_injects_or_requests_anything(live_server, browser, helpers):
    """Reflected input: find (in-process, cheaply) which GET pages echo which query parameters back, then open
    each such page in Chromium with every payload in those parameters."""
    from urllib.parse import quote

    from security_world import all_routes, build_world

    app, base = live_server, live_server.state.base_url
    started = time.monotonic()
    world = build_world(app, helpers)
    values = {"petition_id": world.petition, "consultation_id": world.consultation, "comment_id": world.comment,
              "question_id": world.question, "case_id": world.case, "theme_key": 0, "position": 0,
              "entry_id": world.paper_entry, "dataset": world.datasets[0], "day": world.snapshot_day}
    roles = {"anonymous": None, "admin": _cookie_for(app, helpers, "admin", base)}
    reflecting: dict[tuple[str, str], list[str]] = {}
    with TestClient(app, base_url=base, follow_redirects=False) as probe_client:
        if roles["admin"]:
            admin_client = TestClient(app, base_url=base, follow_redirects=False)
            admin_client.cookies.set("civic_session", roles["admin"])
        for route in all_routes(app):
            if route.method != "GET" or route.path.startswith("/static") or route.path.endswith((".csv", ".json")):
                continue
            path = route.fill(values)
            # a space: the page's own links carry the query URL-encoded ("zq0+qz"); only a real echo shows "zq0 qz"
            query = "&".join(f"{name}=zq{i}%20qz" for i, name in enumerate(QUERY_PARAMS))
            for role, c in (("anonymous", probe_client), ("admin", admin_client)):
                text = c.get(f"{path}?{query}").text
                echoed = [name for i, name in enumerate(QUERY_PARAMS) if f"zq{i} qz" in text]
                if echoed:
                    reflecting[(role, path)] = echoed
    assert reflecting, "some pages should echo a query parameter (the search box keeps its words)"
    failures, loads, shown = [], 0, 0
    groups = chunks(2000)
    for role, cookie in roles.items():
        tab = Browser(browser, base, cookie)
        for (visit_role, path), names in sorted(reflecting.items()):
            if visit_role != role:
                continue
            for group in groups:
                value = quote(joined(group), safe="")
                query = "&".join(f"{name}={value}" for name in names)
                problems, text = tab.visit(f"{base}{path}?{query}", f"{role} {path}?{','.join(names)}",
                                           ok_statuses=range(200, 500))
                failures += problems
                loads += 1
                shown += sum(1 for i in group if _norm(PAYLOADS[i]) in text)
        tab.close()
    report(f"XSS corpus (reflected): {len(reflecting)} pages echo {sum(len(v) for v in reflecting.values())} "
           f"query parameters; {len(PAYLOADS)} payloads through each ({loads} page loads, {shown} payload sightings, "
           f"{time.monotonic() - started:.1f} s); {len(failures)} failures")
    assert not failures, "\n".join(failures)
