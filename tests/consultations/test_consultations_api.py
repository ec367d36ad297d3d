"""Open data: JSON API, Polis-compatible CSV exports, `civic consultations import-polis`, and the round trip."""
from __future__ import annotations

import collections
import csv
import io

import pytest

from consultations import forms, polis, service


def test_json_api_lists_and_details_without_drafts_or_personal_data(app, client, helpers, factories):
    open_id = factories.consultation(app, questions=["Which streets?"], title="Open one")
    draft_id = factories.consultation(app, state="draft", title="Secret draft")
    cmt = factories.comment(app, open_id, "author@example.org", "Crossing please")
    official = helpers.add_user(app, "official@example.org", role="official", department="transport")
    with factories.uow(app) as session:
        service.publish_response(session, consultation_id=open_id, official_id=official.id, comment_id=cmt,
                                 data=forms.ResponseData("will_act", "We will.", "By May.", None))
    listing = client.get("/api/consultations").json()
    assert [c["title"] for c in listing["items"]] == ["Open one"] and listing["total"] == 1
    assert listing["items"][0]["url"] == f"https://testserver/consultations/{open_id}"  # absolute, followable
    assert client.get("/api/consultations?state=closed").json()["items"] == []
    detail = client.get(f"/api/consultations/{open_id}").json()
    assert detail["questions"][0]["text"] == "Which streets?"
    assert detail["responses"][0]["decision"] == "will_act" and detail["responses"][0]["comment_id"] == cmt
    assert detail["responses"][0]["department"] == "Transport"
    missing = client.get(f"/api/consultations/{draft_id}")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404
    assert client.get(f"/api/consultations/{draft_id}/comments.csv").status_code == 404
    spec = client.get("/api/openapi.json").json()
    for path in ("/consultations", "/consultations/{id}", "/consultations/{id}/comments.csv",
                 "/consultations/{id}/votes.csv"):
        assert path in spec["paths"]
    everything = str(listing) + str(detail) + client.get(f"/api/consultations/{open_id}/comments.csv").text
    assert "@example.org" not in everything and "Author" not in everything


def test_csv_exports_use_pseudonymous_ids_and_hide_hidden_text(app, client, make_client, helpers, factories):
    cid = factories.consultation(app)
    author = helpers.add_user(app, "author@example.org", name="Ada Author")
    keep = factories.comment(app, cid, "author@example.org", "Visible text")
    hide = factories.comment(app, cid, "author@example.org", "Phone me on 07700 900123")
    with factories.uow(app) as session:
        service.apply_moderation_decision(session, kind="comment", item_id=hide, decision="hide")
    voter = make_client()
    user = helpers.sign_in(voter, app, "voter@example.org")
    voter.post(f"/consultations/{cid}/comments/{keep}/vote", data={"vote": "agree"})
    voter.post(f"/consultations/{cid}/comments/{keep}/vote", data={"vote": "disagree"})
    comments = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{cid}/comments.csv").text)))
    votes = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{cid}/votes.csv").text)))
    assert list(comments[0]) == polis.COMMENT_COLUMNS and list(votes[0]) == polis.VOTE_COLUMNS
    by_id = {int(row["comment-id"]): row for row in comments}
    assert by_id[keep]["comment-body"] == "Visible text" and by_id[keep]["disagrees"] == "1"
    assert by_id[hide]["comment-body"] == "" and by_id[hide]["moderated"] == "-1"
    assert by_id[keep]["author-id"] == by_id[hide]["author-id"] != str(author.id)
    assert [v["vote"] for v in votes] == ["1", "-1"] and votes[0]["voter-id"] != str(user.id)
    assert len({v["voter-id"] for v in votes}) == 1
    assert "Ada" not in str(comments) and "example.org" not in str(comments) + str(votes)


def test_voter_ids_cannot_be_joined_to_author_ids(app, client, make_client, helpers, factories):
    """A commenter's name is on the thread; their votes must not be findable through comments.csv's author-id."""
    cid = factories.consultation(app)
    other = factories.consultation(app, title="Another consultation")
    people = []
    for n in range(3):
        email = f"person{n}@example.org"
        comment_id = factories.comment(app, cid, email, f"Comment by person {n}")
        factories.comment(app, other, email, f"Elsewhere by person {n}")
        c = make_client()
        user = helpers.sign_in(c, app, email, name=f"Person {n}")
        people.append((c, user, comment_id))
    for c, _user, own in people:
        for _c2, _u2, target in people:
            if target != own:
                assert c.post(f"/consultations/{cid}/comments/{target}/vote", data={"vote": "agree"}).status_code == 303

    def export(consultation_id):
        comments = list(csv.DictReader(io.StringIO(
            client.get(f"/api/consultations/{consultation_id}/comments.csv").text)))
        votes = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{consultation_id}/votes.csv").text)))
        return comments, votes

    comments, votes = export(cid)
    assert (comments, votes) == export(cid)  # the same ids in every export
    author_of = {int(row["comment-id"]): row["author-id"] for row in comments}
    author_ids, voter_ids = set(author_of.values()), {v["voter-id"] for v in votes}
    assert len(author_ids) == 3 and len(voter_ids) == 3
    assert not author_ids & voter_ids  # two namespaces: no voter-id is anyone's author-id
    # Per consultation: the same resident's ids differ between consultations.
    other_comments, _ = export(other)
    assert not {row["author-id"] for row in other_comments} & author_ids
    assert int(next(iter(voter_ids))) > 0 and all(v.isdigit() for v in voter_ids)  # still Polis's integer ids
    about = client.get("/about").text
    assert "votes.csv" in about and "voter number" in about


def test_votes_export_does_not_tell_when_anyone_voted(app, client, make_client, helpers, factories):
    """Someone who saw a named resident comment, or vote, at a given moment must not find their voter id by time."""
    cid = factories.consultation(app)
    statements = [factories.comment(app, cid, "author@example.org", f"Statement {n}") for n in range(3)]
    voters = []
    for n in range(4):
        c = make_client()
        helpers.sign_in(c, app, f"voter{n}@example.org")
        voters.append(c)
    for c in voters:  # one after another: the last voter is the one an onlooker would pick by time
        for sid in statements:
            assert c.post(f"/consultations/{cid}/comments/{sid}/vote", data={"vote": "agree"}).status_code == 303
    voters[0].post(f"/consultations/{cid}/comments/{statements[0]}/vote", data={"vote": "disagree"})
    votes = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{cid}/votes.csv").text)))
    assert len(votes) == 13
    assert all(int(v["timestamp"]) % 86_400_000 == 0 and " 00:00:00 UTC " in v["datetime"] for v in votes)
    days = sorted({v["timestamp"] for v in votes})
    assert len(days) == 1 or (len(days) == 2 and int(days[1]) - int(days[0]) == 86_400_000)  # run at midnight
    ids = [int(v["voter-id"]) for v in votes if v["timestamp"] == days[0]]
    assert len(days) == 2 or ids == sorted(ids)  # by voter, not by time
    changed = [v["vote"] for v in votes if v["comment-id"] == str(statements[0]) and ids.count(int(v["voter-id"])) == 4]
    assert changed == ["1", "-1"]  # a changed vote still follows the earlier one


POLIS_CONVERSATION = "15-per-hour-seattle"


@pytest.fixture
def polis_dir(helpers):
    path = helpers.shared_data / "polis" / POLIS_CONVERSATION
    if not (path / "comments.csv").is_file():
        pytest.skip(f"{path} is not available (../shared/data)")
    return path


def test_polis_import_then_export_round_trip(app, client, factories, polis_dir):
    """Import a real Polis conversation and export it back: same comments, same votes, same counts.

    Polis's own comments.csv counts every row of its vote log, including votes later changed by the same
    participant; Civic counts one current vote per participant. So the exported vote *log* reproduces Polis's
    counts exactly, and the exported comments.csv counts equal the latest vote of each participant.
    """
    source_comments = list(csv.DictReader((polis_dir / "comments.csv").open(encoding="utf-8")))
    source_votes = list(csv.DictReader((polis_dir / "votes.csv").open(encoding="utf-8")))
    with factories.uow(app) as session:
        result = polis.import_polis(session, directory=polis_dir)
    cid = result.consultation_id
    assert result.comments == len(source_comments) and result.vote_events == len(source_votes)
    exported = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{cid}/comments.csv").text)))
    exported_votes = list(csv.DictReader(io.StringIO(client.get(f"/api/consultations/{cid}/votes.csv").text)))
    assert len(exported) == len(source_comments) and len(exported_votes) == len(source_votes)

    # Map exported ids to Polis ids by creation time (each comment keeps its timestamp).
    source_by_ts = {(int(c["timestamp"]), c["comment-body"].strip()): c for c in source_comments}
    mapping = {}
    for row in exported:
        moderated = row["moderated"]
        match = [c for (ts, body), c in source_by_ts.items() if ts == int(row["timestamp"])]
        assert len(match) == 1
        source = match[0]
        mapping[row["comment-id"]] = source["comment-id"]
        assert moderated == source["moderated"]
        if source["moderated"] != "-1":
            assert row["comment-body"] == source["comment-body"].strip()  # same text
        else:
            assert row["comment-body"] == ""  # moderated out: kept as a row, text not republished

    # The vote log comes back row for row (day, comment, vote), with consistent pseudonymous voters; times
    # are published as the start of the vote's day (UTC), so a voter id can't be found by when someone voted.
    day_ms = 86_400_000

    def log(rows, ids=None):
        return sorted((int(v["timestamp"]) // day_ms * day_ms, (ids or {}).get(v["comment-id"], v["comment-id"]),
                       v["vote"]) for v in rows)
    assert log(exported_votes, mapping) == log(source_votes)
    assert all(int(v["timestamp"]) % day_ms == 0 and " 00:00:00 UTC " in v["datetime"] for v in exported_votes)
    source_ids = {v["voter-id"] for v in source_votes}
    exported_ids = {v["voter-id"] for v in exported_votes}
    assert len(exported_ids) == len(source_ids)  # one pseudonym per Polis participant
    per_voter = collections.Counter(collections.Counter(v["voter-id"] for v in source_votes).values())
    assert per_voter == collections.Counter(collections.Counter(v["voter-id"] for v in exported_votes).values())

    # Counting the exported log as Polis does gives Polis's agrees/disagrees for every comment.
    counted = collections.Counter((mapping[v["comment-id"]], v["vote"]) for v in exported_votes)
    latest = {}
    for v in sorted(source_votes, key=lambda v: int(v["timestamp"])):
        latest[(v["comment-id"], v["voter-id"])] = v["vote"]
    current = collections.Counter((c, vote) for (c, _), vote in latest.items())
    for row in exported:
        source = next(c for c in source_comments if c["comment-id"] == mapping[row["comment-id"]])
        assert counted[(source["comment-id"], "1")] == int(source["agrees"])
        assert counted[(source["comment-id"], "-1")] == int(source["disagrees"])
        # comments.csv: one current vote per participant.
        assert int(row["agrees"]) == current[(source["comment-id"], "1")]
        assert int(row["disagrees"]) == current[(source["comment-id"], "-1")]
    # Imported participants are placeholders that never appear anywhere.
    page = client.get(f"/consultations/{cid}")
    assert page.status_code == 200 and "@invalid" not in page.text


def test_cli_imports_a_polis_directory(tmp_path, settings, capsys, polis_dir):
    import dataclasses

    from app.cli import main

    db = tmp_path / "cli.db"
    import os
    env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_DATA_DIR": str(tmp_path / "var")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert main(["consultations", "import-polis", str(polis_dir), "--title", "Minimum wage"]) == 0
        assert main(["consultations", "import-polis", str(tmp_path)]) == 2
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    out = capsys.readouterr()
    assert "Imported consultation 1: 54 comments" in out.out
    assert "must contain comments.csv and votes.csv" in out.err
    assert dataclasses.is_dataclass(settings)
