"""E-mails rendered once per petition with markers read exactly like e-mails rendered in full."""
import jinja2
import pytest

NAMES = ["Ann", "Zoë %(name)s {{ 7*7 }} <b>&amp;", "王小明", "\\1 \\g<0> $1"]


@pytest.mark.parametrize("locale", ["en", "zh-Hans"])
def test_personal_rendering_matches_full_rendering(app, locale):
    renderer = app.state.renderer
    shared = {"petition_id": 7, "action": "Keep the library open on Sundays"}
    for name in NAMES:  # names are no longer mailed (they are whatever a signer typed): awkward links instead
        personal = {"confirm_url": f"https://civic.example/c?token={name}x",
                    "withdraw_url": f"https://civic.example/w?token={name[::-1]}"}
        fast = renderer.render_email_personal("petitions/confirm_signature", shared, personal, locale)
        full = renderer.render_email("petitions/confirm_signature", {**shared, **personal}, locale)
        assert fast == full
        assert personal["confirm_url"] in fast[1] and personal["withdraw_url"] in fast[1]


def test_a_template_that_changes_a_personal_value_is_rendered_in_full(app):
    renderer = app.state.renderer
    loader = renderer.env.loader
    renderer.env.loader = jinja2.ChoiceLoader([
        jinja2.DictLoader({"emails/test/shout.txt": "Subject: Hi {{ name|upper }}\n\nHello {{ name|upper }}"}), loader])
    try:
        for name in ("ann", "bob"):
            assert renderer.render_email_personal("test/shout", {}, {"name": name}, "en") == (
                f"Hi {name.upper()}", f"Hello {name.upper()}\n")
    finally:
        renderer.env.loader = loader
