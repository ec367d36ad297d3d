"""Officials see and use the response forms only for petitions of their own department (admins for all)."""
from __future__ import annotations


def test_an_official_of_another_department_sees_no_response_actions_and_gets_403(flow, app, helpers, make_client):
    pid = flow.open_petition(department="transport")
    other = make_client()
    helpers.sign_in(other, app, "parks@example.org", role="official", department="parks")
    page = other.get(f"/petitions/{pid}")
    assert page.status_code == 200
    assert f"/petitions/{pid}/respond" not in page.text and f"/petitions/{pid}/debate" not in page.text
    for path in (f"/petitions/{pid}/respond", f"/petitions/{pid}/debate"):
        r = other.get(path)
        assert r.status_code == 403 and "department responsible" in r.text
        assert other.post(path, data={}).status_code == 403  # refused before the form is read, not a 422

    own = make_client()
    helpers.sign_in(own, app, "official@example.org", role="official", department="transport")
    page = own.get(f"/petitions/{pid}")
    assert f"/petitions/{pid}/respond" in page.text
    assert own.get(f"/petitions/{pid}/respond").status_code == 200
    r = own.post(f"/petitions/{pid}/respond", data={"summary": "Yes.", "details": "Because.", "decision": "accepted"})
    assert r.status_code == 303
