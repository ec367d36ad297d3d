"""The details people notice: one date style and grouped numbers in both languages, a favicon, static files that
browsers keep, and residents' English text marked `lang="en"` inside the Chinese interface."""
from __future__ import annotations

import re
import types
from datetime import date, datetime, timedelta

from app import i18n
from app.clock import utc_now
from app.db import unit_of_work


def _render(app, source: str, locale: str = "en", **context) -> str:
    with i18n.use_locale(locale):
        return app.state.templates.from_string(source).render(**context)


def test_one_date_style_whatever_format_a_template_asks_for(app):
    moment = datetime(2026, 12, 3, 18, 9, 49)
    page = _render(app, "{{ m|date }}|{{ m|datetime }}|{{ m|datetime('short') }}|{{ m|datetime('medium') }}|"
                        "{{ d|date('short') }}|{{ iso|date }}", m=moment, d=date(2027, 6, 3), iso="2027-06-03")
    assert page == ("3 December 2026|3 December 2026, 18:09|3 December 2026, 18:09|3 December 2026, 18:09|"
                    "3 June 2027|3 June 2027")
    # dates that travelled as ISO text (job payloads, a model's metadata) read the same
    assert _render(app, "{{ t|datetime }}", t="2026-12-03T18:09:49+00:00") == "3 December 2026, 18:09"
    chinese = _render(app, "{{ m|date }}|{{ m|datetime('short') }}", "zh-Hans", m=moment)
    assert chinese == "2026年12月3日|2026年12月3日 18:09"


def test_counts_have_thousands_separators_in_every_plural_message(app):
    page = _render(app, '{{ ngettext("%(num)s signature", "%(num)s signatures", n) }}; '
                        '{{ ngettext("%(num)d report", "%(num)d reports", n) }}; {{ n|number }}', n=10201)
    assert page == "10,201 signatures; 10,201 reports; 10,201"
    assert i18n.ngettext("%(num)s comment", "%(num)s comments", 1234) == "1,234 comments"
    with i18n.use_locale("zh-Hans"):
        assert "10,201" in i18n.ngettext("%(num)s signature", "%(num)s signatures", 10201)
    # a template's own variables still reach the message
    assert _render(app, '{{ ngettext("%(num)s x in %(y)s", "%(num)s xs in %(y)s", 2000, y="Z") }}') == "2,000 xs in Z"


def test_emails_write_dates_in_the_site_style(app):
    petition = types.SimpleNamespace(id=1, action="Plant more trees", closes_at=datetime(2027, 6, 3, 12, 0))
    _, body = app.state.renderer.render_email("petitions/published", {"petition": petition}, "en")
    assert "until 3 June 2027." in body and "2027-06-03" not in body


def test_favicon_is_a_real_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] in ("image/vnd.microsoft.icon", "image/x-icon")
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in client.get("/").text


def test_versioned_static_files_are_immutable_for_a_year(client):
    html = client.get("/").text
    css = re.search(r'href="(/static/civic\.css\?v=[0-9a-f]+)"', html).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    script = re.search(r'src="(/static/vendor/htmx[^"]+\?v=[0-9a-f]+)"', html).group(1)
    assert "immutable" in client.get(script).headers["cache-control"]
    # without its version (or with an old one) a file may change: browsers check again soon
    assert "immutable" not in client.get("/static/civic.css").headers["cache-control"]
    assert "immutable" not in client.get("/static/civic.css?v=0000000000").headers["cache-control"]


def _open_petition(app, action: str, background: str) -> int:
    from petitions.models import Petition, PetitionState

    now = utc_now()
    with unit_of_work(app.state.engine) as session:
        petition = Petition(action=action, background=background, creator_name="Petra",
                            creator_email="petra@example.org", state=PetitionState.OPEN.value, created_at=now,
                            updated_at=now, opened_at=now, closes_at=now + timedelta(days=90))
        session.add(petition)
        session.flush()
        return petition.id


def test_english_petition_in_the_chinese_interface_is_marked_english(client, app):
    pid = _open_petition(app, "Open the Riverside library on Sundays", "Many people work during the week.")
    client.cookies.set("civic_locale", "zh-Hans")
    zh = client.get(f"/petitions/{pid}").text
    assert '<html lang="zh-Hans">' in zh
    assert '<h1 lang="en">Open the Riverside library on Sundays</h1>' in zh
    assert re.search(r'<div class="petition-prose" lang="en">\s*(<p>)?Many people', zh)
    listing = client.get("/petitions/").text
    assert re.search(r'lang="en">Open the Riverside library on Sundays</a>', listing)
    # in the English interface nothing needs marking
    client.cookies.set("civic_locale", "en")
    en = client.get(f"/petitions/{pid}").text
    assert '<h1>Open the Riverside library on Sundays</h1>' in en


def test_chinese_petition_in_the_english_interface_is_marked_chinese(client, app):
    pid = _open_petition(app, "周日开放河畔图书馆", "很多人工作日没有时间去图书馆。")
    client.cookies.set("civic_locale", "en")
    en = client.get(f"/petitions/{pid}").text
    assert '<h1 lang="zh-Hans">周日开放河畔图书馆</h1>' in en


def test_templates_in_tests_fail_on_a_misspelled_variable(app):
    import jinja2
    import pytest

    from app.config import Settings
    from app.templating import build_environment

    env = app.state.templates
    for source in ("{{ petiton.action }}", "{% if erors %}x{% endif %}", "{{ p.acton }}"):
        with pytest.raises(jinja2.UndefinedError):
            env.from_string(source).render(p=types.SimpleNamespace(action="Plant trees"))
    # a key a dict lacks reads as empty: every form asks `errors.<field>`
    assert env.from_string("[{{ errors.area }}]{% if errors.area %}!{% endif %}").render(errors={}) == "[]"
    # in production a mistake shows as an empty value rather than an error page
    assert build_environment(Settings()).from_string("[{{ petiton.action }}]").render() == "[]"
