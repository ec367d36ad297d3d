"""Paper signatures: clerks record counts by area from paper petitions; they count towards the thresholds, are shown
apart from online signatures, and every entry and correction stays in an audit trail only staff see."""
from __future__ import annotations

import csv
import html
import dataclasses
import io
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import utc_now
from app.db import read_session, unit_of_work
from app.errors import InvalidState, PermissionDenied
from petitions import paper
from petitions.forms import PaperInput
from petitions.models import PaperCount, PaperEntry, Petition, Signature, SignatureState

CLERK = ("clerk@example.org", "Casey Clerk")


@pytest.fixture
def domain_settings():
    from app.main import load_domain_settings

    sections = load_domain_settings(env_file=None)
    sections["petitions"] = dataclasses.replace(
        sections["petitions"], settle_interval_seconds=0.0, response_threshold=1_000, debate_threshold=2_000,
        paper_max_per_entry=1_500, page_cache_seconds=0)
    return sections


def _petition(app, helpers, *, state="open", online=3, department="transport", opened_days_ago=10) -> int:
    """An open petition of `department` with `online` confirmed online signatures in North."""
    helpers.add_user(app, f"official-{department}@example.org", role="official", department=department)
    now = utc_now()
    with unit_of_work(app.state.engine) as s:
        from app.models import Department

        dept = s.exec(select(Department).where(Department.code == department)).first()
        p = Petition(action="Keep the library open on Sundays", background="Families read together at weekends.",
                     creator_name="Creator", creator_email="creator@example.org", state=state, department_id=dept.id,
                     created_at=now - timedelta(days=opened_days_ago + 1), updated_at=now,
                     opened_at=now - timedelta(days=opened_days_ago), closes_at=now + timedelta(days=30))
        if state == "closed":
            p.closes_at = p.closed_at = now - timedelta(days=1)
        s.add(p)
        s.flush()
        for i in range(online):
            email = f"online{i}@example.org"
            s.add(Signature(petition_id=p.id, name=f"Online {i}", email=email, canonical_email=email, area="North",
                            state=SignatureState.VALIDATED, is_creator=i == 0, created_at=now, updated_at=now,
                            validated_at=now))
        return p.id


def _clerk(app, helpers, make_client, department=None, email=CLERK[0], name=CLERK[1]):
    c = make_client()
    helpers.sign_in(c, app, email, role="clerk", name=name, department=department)
    return c


def _form(client, path: str) -> dict:
    page = client.get(path)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    assert fields.get("nonce"), "the form carries an idempotency key"
    return fields


def _post(client, path: str, counts: dict[str, str], *, collected_on=None, reference="Box 12, Central Library",
          extra: dict | None = None, fields: dict | None = None):
    fields = dict(fields if fields is not None else _form(client, path))
    areas = {v: k.split("-")[1] for k, v in fields.items() if k.startswith("area-")}
    data = {k: v for k, v in fields.items()}
    for area, n in counts.items():
        data[f"count-{areas[area]}"] = n
    data["collected_on"] = collected_on or (utc_now().date() - timedelta(days=1)).isoformat()
    data["reference"] = reference
    data.update(extra or {})
    return client.post(path, data=data)


def _entries(app) -> int:
    with read_session(app.state.engine) as s:
        return len(s.exec(select(PaperEntry)).all()) + len(s.exec(select(PaperCount)).all())


def test_a_clerk_records_paper_signatures_and_the_public_sees_them_apart_from_online_ones(app, client, helpers,
                                                                                          make_client):
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    assert f"/petitions/{pid}/paper" in clerk.get(f"/petitions/{pid}").text  # the clerk's way in
    r = _post(clerk, f"/petitions/{pid}/paper", {"Central": "1200", "North": "40"})
    assert r.status_code == 303 and r.headers["location"] == f"/petitions/{pid}/paper/entries"
    record = clerk.get(r.headers["location"])
    assert "1,240 paper signatures are recorded" in record.text and "Box 12, Central Library" in record.text
    assert "Casey Clerk" in record.text  # who recorded it, for staff
    helpers.run_jobs(app)

    page = client.get(f"/petitions/{pid}")
    assert "1,243" in page.text and "including 1,240 paper signatures" in page.text
    assert "On paper" in page.text and re.search(r"<td>North</td><td class=\"num\">43</td><td class=\"num\">3</td>"
                                                 r"<td class=\"num\">40</td>", page.text)
    count = client.get(f"/petitions/{pid}/count")
    assert "including 1,240 paper signatures" in count.text
    data = client.get(f"/api/petitions/{pid}").json()
    assert (data["signature_count"], data["online_signature_count"], data["paper_signature_count"]) == (1243, 3, 1240)
    by_area = {a["area"]: a for a in data["signatures_by_area"]}
    assert by_area["Central"] == {"area": "Central", "count": 1200, "online": 0, "paper": 1200}
    assert by_area["North"] == {"area": "North", "count": 43, "online": 3, "paper": 40}
    listed = next(p for p in client.get("/api/petitions").json()["data"] if p["id"] == pid)
    assert listed["paper_signature_count"] == 1240 and listed["online_signature_count"] == 3
    rows = list(csv.DictReader(io.StringIO(client.get("/api/petitions.csv").text)))
    row = next(r for r in rows if r["id"] == str(pid))
    assert (row["signature_count"], row["online_signature_count"], row["paper_signature_count"]) == ("1243", "3", "1240")
    public = page.text + count.text + str(data) + client.get("/api/petitions.csv").text
    for secret in ("Casey", "clerk@example.org", "Box 12"):
        assert secret not in public, f"{secret!r} is staff-only"


BAD = {
    "negative": ({"Central": "-5"}, {}, "count-0", "can't be negative"),
    "decimal": ({"Central": "12.5"}, {}, "count-0", "whole number"),
    "words": ({"North": "twelve"}, {}, "count-1", "whole number"),
    "over the limit in one area": ({"Central": "1501"}, {}, "count-0", "more than 1500"),
    "over the limit in all": ({"Central": "800", "North": "800"}, {}, "counts", "add up to 1600"),
    "nothing": ({}, {}, "counts", "at least one area"),
    "unknown area": ({"Central": "5"}, {"area-0": "Atlantis"}, "counts", "“Atlantis” is not one of the areas"),
    "no reference": ({"Central": "5"}, {"reference": ""}, "reference", "Box 12, Central Library"),
    "no date": ({"Central": "5"}, {"collected_on": ""}, "collected_on", "Enter a date"),
    "bad date": ({"Central": "5"}, {"collected_on": "2026-02-30"}, "collected_on", "like 2027-03-31"),
    "future": ({"Central": "5"}, {"collected_on": "future"}, "collected_on", "in the future"),
    "before it opened": ({"Central": "5"}, {"collected_on": "early"}, "collected_on", "before the petition opened"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_is_a_422_with_the_message_by_its_field_and_records_nothing(app, helpers, make_client, case):
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    counts, extra, field, message = BAD[case]
    today = utc_now().date()
    extra = dict(extra)
    if extra.get("collected_on") == "future":
        extra["collected_on"] = (today + timedelta(days=1)).isoformat()
    elif extra.get("collected_on") == "early":
        extra["collected_on"] = (today - timedelta(days=30)).isoformat()
    r = _post(clerk, f"/petitions/{pid}/paper", counts, extra=extra)
    assert r.status_code == 422, r.text
    error = re.search(rf'<p class="error" id="error-{field}">(.*?)</p>', r.text, re.S)
    assert error and message in html.unescape(error.group(1)), r.text
    assert 'aria-invalid="true"' in r.text or field == "counts"
    if case in ("negative", "decimal"):
        assert 'value="' + counts["Central"] + '"' in r.text  # kept as typed, to correct
    assert _entries(app) == 0


def test_recording_on_a_petition_that_is_not_open_is_a_409(app, helpers, make_client):
    pid = _petition(app, helpers, state="closed")
    clerk = _clerk(app, helpers, make_client)
    r = clerk.get(f"/petitions/{pid}/paper")
    assert r.status_code == 409 and "not open for signatures" in r.text
    r = clerk.post(f"/petitions/{pid}/paper", data={"area-0": "Central", "count-0": "5", "reference": "Box 1",
                                                    "collected_on": utc_now().date().isoformat()})
    assert r.status_code == 409
    clerk_id = helpers.add_user(app, CLERK[0], role="clerk").id
    with unit_of_work(app.state.engine) as s:  # the service says so too, whatever the route did
        with pytest.raises(InvalidState):
            paper.record_paper(s, petition_id=pid, clerk_id=clerk_id, settings=app.state.unit_context.domain_settings["petitions"],
                               data=PaperInput(utc_now().date(), "Box 1", {"Central": 5}, "n" * 20))
    assert _entries(app) == 0


def test_only_clerks_may_record_and_the_service_checks_the_database_too(app, client, helpers, make_client):
    pid = _petition(app, helpers, department="transport")
    resident = make_client()
    helpers.sign_in(resident, app, "resident@example.org")
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    parks_clerk = _clerk(app, helpers, make_client, department="parks", email="parks.clerk@example.org")
    for who, c in (("anonymous", client), ("resident", resident), ("official", official), ("other clerk", parks_clerk)):
        for method in ("GET", "POST"):
            r = c.request(method, f"/petitions/{pid}/paper", data={"area-0": "Central", "count-0": "5"})
            assert r.status_code == 403, (who, method, r.status_code)
        assert f"/petitions/{pid}/paper\"" not in c.get(f"/petitions/{pid}").text
    own = _clerk(app, helpers, make_client, department="transport", email="transport.clerk@example.org")
    assert own.get(f"/petitions/{pid}/paper").status_code == 200
    # a clerk whose role was taken away since the form was opened: the service reads the role from the database
    demoted = helpers.add_user(app, "transport.clerk@example.org", role="resident")
    with unit_of_work(app.state.engine) as s, pytest.raises(PermissionDenied):
        paper.record_paper(s, petition_id=pid, clerk_id=demoted.id, settings=app.state.unit_context.domain_settings["petitions"],
                           data=PaperInput(utc_now().date(), "Box 1", {"Central": 5}, "x" * 20))
    assert _entries(app) == 0


def test_a_double_submission_records_once_and_an_old_form_with_other_numbers_is_a_409(app, helpers, make_client):
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    fields = _form(clerk, f"/petitions/{pid}/paper")
    first = _post(clerk, f"/petitions/{pid}/paper", {"Central": "30"}, fields=fields)
    again = _post(clerk, f"/petitions/{pid}/paper", {"Central": "30"}, fields=fields)
    assert first.status_code == again.status_code == 303
    assert "already submitted" in clerk.get(again.headers["location"]).text
    with read_session(app.state.engine) as s:
        assert len(s.exec(select(PaperEntry)).all()) == 1
    changed = _post(clerk, f"/petitions/{pid}/paper", {"Central": "300"}, fields=fields)
    assert changed.status_code == 409 and "already used" in changed.text
    helpers.run_jobs(app)
    with read_session(app.state.engine) as s:
        assert s.get(Petition, pid).paper_signature_count == 30


def test_a_correction_is_a_new_entry_with_a_reason_and_the_trail_keeps_every_entry(app, client, helpers, make_client):
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    _post(clerk, f"/petitions/{pid}/paper", {"Central": "100", "South": "20"}, reference="Box 7")
    with read_session(app.state.engine) as s:
        original = s.exec(select(PaperEntry)).one()
    path = f"/petitions/{pid}/paper/entries/{original.id}/correct"
    assert path in clerk.get(f"/petitions/{pid}/paper/entries").text
    form = clerk.get(path)
    assert 'value="100"' in form.text and 'value="Box 7"' in form.text  # starts from what counts now
    no_reason = _post(clerk, path, {"Central": "80", "South": "20"}, reference="Box 7")
    assert no_reason.status_code == 422 and 'id="error-reason"' in no_reason.text
    r = _post(clerk, path, {"Central": "80", "South": "20"}, reference="Box 7",
              extra={"reason": "Twenty sheets were counted twice."})
    assert r.status_code == 303
    helpers.run_jobs(app)
    assert client.get(f"/api/petitions/{pid}").json()["paper_signature_count"] == 100
    trail = clerk.get(f"/petitions/{pid}/paper/entries").text
    assert "Twenty sheets were counted twice." in trail and f"Correction of entry {original.id}" in trail
    assert "Replaced by a later correction" in trail and trail.count("<td>Casey Clerk<br>") == 2
    with read_session(app.state.engine) as s:
        kept = s.get(PaperEntry, original.id)
        assert (kept.total, kept.reference, kept.kind) == (120, "Box 7", "record")  # never edited
        assert dict(s.exec(select(PaperCount.area, PaperCount.count).where(PaperCount.entry_id == original.id)).all()) \
            == {"Central": 100, "South": 20}
    # reversing it: zeros everywhere, with a reason (the second correction names the record, not the correction)
    r = _post(clerk, path, {"Central": "0", "South": "0"}, reference="Box 7",
              extra={"reason": "The box belonged to another petition."})
    assert r.status_code == 303
    helpers.run_jobs(app)
    data = client.get(f"/api/petitions/{pid}").json()
    assert (data["signature_count"], data["paper_signature_count"]) == (3, 0)
    with read_session(app.state.engine) as s:
        entries = s.exec(select(PaperEntry).order_by(PaperEntry.id)).all()
        assert [(e.kind, e.corrects_id, e.total) for e in entries] == [
            ("record", None, 120), ("correction", original.id, 100), ("correction", original.id, 0)]
    assert "including" not in client.get(f"/petitions/{pid}").text


def test_a_correction_posted_from_a_correction_names_the_record_and_an_unknown_entry_is_a_404(app, helpers,
                                                                                               make_client):
    pid = _petition(app, helpers)
    other = _petition(app, helpers, department="parks")
    clerk = _clerk(app, helpers, make_client)
    _post(clerk, f"/petitions/{pid}/paper", {"Central": "100"}, reference="Box 7")
    _post(clerk, f"/petitions/{other}/paper", {"Central": "5"}, reference="Box 9")
    with read_session(app.state.engine) as s:
        original, elsewhere = s.exec(select(PaperEntry).order_by(PaperEntry.id)).all()
    reason = {"reason": "Recounted."}
    assert _post(clerk, f"/petitions/{pid}/paper/entries/{original.id}/correct", {"Central": "90"},
                 extra=reason).status_code == 303
    with read_session(app.state.engine) as s:
        first = s.exec(select(PaperEntry).where(PaperEntry.corrects_id == original.id)).one()
    assert _post(clerk, f"/petitions/{pid}/paper/entries/{first.id}/correct", {"Central": "80"},
                 extra=reason).status_code == 303
    before = _entries(app)
    form = _form(clerk, f"/petitions/{pid}/paper/entries/{original.id}/correct")
    for entry_id in (elsewhere.id, 99_999):
        r = _post(clerk, f"/petitions/{pid}/paper/entries/{entry_id}/correct", {"Central": "1"}, extra=reason,
                  fields=form)
        assert r.status_code == 404 and "no paper entry with that number" in r.text
        bad = _post(clerk, f"/petitions/{pid}/paper/entries/{entry_id}/correct", {"Central": "x"}, extra=reason,
                    fields=form)
        assert bad.status_code == 404
    assert _entries(app) == before
    with read_session(app.state.engine) as s:
        assert [(e.corrects_id, e.total) for e in s.exec(select(PaperEntry).where(PaperEntry.petition_id == pid)
                                                          .order_by(PaperEntry.id)).all()] == [
            (None, 100), (original.id, 90), (original.id, 80)]


def test_the_paper_record_is_for_staff_only(app, client, helpers, make_client):
    pid = _petition(app, helpers)
    resident = make_client()
    helpers.sign_in(resident, app, "resident@example.org")
    for c in (client, resident):
        assert c.get(f"/petitions/{pid}/paper/entries").status_code == 403
    official = make_client()
    helpers.sign_in(official, app, "official@example.org", role="official", department="transport")
    page = official.get(f"/petitions/{pid}/paper/entries")
    assert page.status_code == 200 and "No paper signatures have been recorded" in page.text
    assert f"/petitions/{pid}/paper\"" not in page.text  # officials read the trail; they don't record


def test_paper_signatures_reach_the_thresholds_like_online_ones(app, client, helpers, make_client):
    pid = _petition(app, helpers, online=3)
    clerk = _clerk(app, helpers, make_client)
    helpers.run_jobs(app)
    assert _post(clerk, f"/petitions/{pid}/paper", {"Central": "996"}).status_code == 303
    helpers.run_jobs(app)
    with read_session(app.state.engine) as s:
        p = s.get(Petition, pid)
        assert p.signature_count == 999 and p.response_threshold_at is None
    assert _post(clerk, f"/petitions/{pid}/paper", {"East": "1"}).status_code == 303
    helpers.run_jobs(app)
    with read_session(app.state.engine) as s:
        p = s.get(Petition, pid)
        assert p.signature_count == 1000 and p.response_threshold_at is not None and p.debate_threshold_at is None
    awaiting = client.get("/petitions/awaiting-response").text
    assert "Keep the library open on Sundays" in awaiting
    assert client.get(f"/api/petitions/{pid}").json()["response_threshold_reached_at"] is not None
    assert "will respond" in client.get(f"/petitions/{pid}").text
    assert _post(clerk, f"/petitions/{pid}/paper", {"West": "1000"}).status_code == 303
    helpers.run_jobs(app)
    data = client.get(f"/api/petitions/{pid}").json()
    assert data["signature_count"] == 2000 and data["debate_threshold_reached_at"] is not None
    assert "considered for debate" in client.get(f"/petitions/{pid}").text


def test_too_many_entries_in_a_short_time_is_a_429_with_the_form_kept(app, helpers, make_client, domain_settings):
    domain_settings["petitions"] = dataclasses.replace(domain_settings["petitions"],
                                                                 paper_rate="1/300")
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    assert _post(clerk, f"/petitions/{pid}/paper", {"Central": "5"}).status_code == 303
    r = _post(clerk, f"/petitions/{pid}/paper", {"Central": "6"}, reference="Box 13")
    assert r.status_code == 429 and "Wait a few minutes" in r.text and 'value="Box 13"' in r.text
    with read_session(app.state.engine) as s:
        assert len(s.exec(select(PaperEntry)).all()) == 1


def test_two_submissions_of_one_form_at_the_same_moment_record_once(app, helpers, make_client):
    """A double click sends the same form twice at once: on PostgreSQL the second insert waits for the first and
    then finds its key; either way one entry, and both requests end on the paper record."""
    from concurrent.futures import ThreadPoolExecutor

    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    path = f"/petitions/{pid}/paper"
    fields = _form(clerk, path)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: _post(clerk, path, {"Central": "30"}, fields=fields).status_code, range(4)))
    assert statuses == [303] * 4
    with read_session(app.state.engine) as s:
        assert [e.total for e in s.exec(select(PaperEntry)).all()] == [30]


def test_a_reference_is_shown_to_staff_as_text(app, helpers, make_client):
    pid = _petition(app, helpers)
    clerk = _clerk(app, helpers, make_client)
    hostile = '<script>alert(1)</script> Box "9" & <b>more</b>'
    assert _post(clerk, f"/petitions/{pid}/paper", {"Central": "3"}, reference=hostile).status_code == 303
    page = clerk.get(f"/petitions/{pid}/paper/entries").text
    assert "<script>alert(1)</script>" not in page and "<b>more</b>" not in page
    assert html.escape(hostile, quote=False) in page or "&lt;script&gt;alert(1)&lt;/script&gt;" in page
