"""The response cache keys on what the app actually renders:
the negotiated locale, and a fragment or a whole page. Requests that differ only in what the cache ignored can't
be served each other's response."""
from __future__ import annotations


from app.i18n import negotiate, parse_accept_language

HX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def _is_page(response) -> bool:
    assert response.status_code == 200, response.text
    return "<html" in response.text


def _lang(response) -> str:
    assert response.status_code == 200, response.text
    return response.text.split('<html lang="', 1)[1].split('"', 1)[0]


def test_a_history_restore_does_not_poison_the_fragment_key(client):
    restored = client.get("/petitions/", headers=RESTORE)
    assert _is_page(restored)  # htmx asks for the whole page when restoring history
    fragment = client.get("/petitions/", headers=HX)
    assert not _is_page(fragment), "an htmx request got the whole page stored by a history restore"
    assert _is_page(client.get("/petitions/"))


def test_a_fragment_is_never_served_as_the_page(client):
    assert not _is_page(client.get("/petitions/", headers=HX))
    assert _is_page(client.get("/petitions/"))
    assert _is_page(client.get("/petitions/", headers=RESTORE))


def test_the_cache_keys_on_the_negotiated_locale_not_the_header(client):
    assert _lang(client.get("/petitions/", headers={"Accept-Language": "fr-FR,zh-CN"})) == "zh-Hans"
    assert _lang(client.get("/petitions/", headers={"Accept-Language": "fr-FR,en"})) == "en"
    assert _lang(client.get("/petitions/", headers={"Accept-Language": "zh-TW,en;q=0.5"})) == "zh-Hans"
    assert _lang(client.get("/petitions/", headers={"Accept-Language": "zh;q=0.1,en"})) == "en"


def test_negotiation_honours_q_values():
    assert negotiate(None, "fr-FR,zh-CN;q=0.9,en;q=0.8", "en") == "zh-Hans"
    assert negotiate(None, "fr-FR,en;q=0.5,zh-CN;q=0.9", "en") == "zh-Hans"
    assert negotiate(None, "zh-CN;q=0.3,en-GB;q=0.7", "en") == "en"
    assert negotiate(None, "zh;q=0,en", "zh-Hans") == "en"  # q=0 means "not this one"
    assert negotiate(None, "fr, de;q=0.5", "zh-Hans") == "zh-Hans"  # nothing we have: the site default
    assert negotiate("en", "zh-CN", "en") == "en"  # the visitor's own choice wins
    assert negotiate(None, "en;q=nonsense, zh", "en") == "zh-Hans"
    assert parse_accept_language("a;q=0.2, b, c;q=0.9, *;q=0.1") == ["b", "c", "a"]


def test_pages_negotiate_with_q_values(client):
    assert _lang(client.get("/about", headers={"Accept-Language": "fr-FR,en;q=0.5,zh-CN;q=0.9"})) == "zh-Hans"
    assert _lang(client.get("/about", headers={"Accept-Language": "zh-CN;q=0.5,en;q=0.9"})) == "en"
