"""Cross-site form posts are refused; same-site ones go through."""


def test_cross_site_post_is_refused_with_an_explanation(client, app, helpers):
    response = client.post("/auth/sign-in", data={"email": "victim@example.org"},
                           headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "another site" in response.text
    assert helpers.outbox(app) == []  # nothing was done on the victim's behalf


def test_foreign_origin_without_fetch_metadata_is_refused(client, app, helpers):
    response = client.post("/auth/sign-in", data={"email": "victim@example.org"},
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert helpers.outbox(app) == []


def test_same_site_post_is_accepted(client, app, helpers):
    response = client.post("/auth/sign-in", data={"email": "me@example.org"},
                           headers={"Sec-Fetch-Site": "same-origin", "Origin": "https://testserver"})
    assert response.status_code == 200
    assert len(helpers.outbox(app, "me@example.org")) == 1


def test_same_origin_header_without_fetch_metadata_is_accepted(client, app, helpers):
    response = client.post("/auth/sign-in", data={"email": "me@example.org"}, headers={"Origin": "https://testserver"})
    assert response.status_code == 200


def test_cross_site_sign_out_cannot_end_a_session(client, app, helpers):
    helpers.sign_in(client, app, "me@example.org")
    refused = client.post("/auth/sign-out", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert client.get("/account").status_code == 200  # still signed in
