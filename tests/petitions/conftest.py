"""Petitions test fixtures: settle counts on every job run, and small helpers that walk the real flows."""
from __future__ import annotations

import dataclasses
import re

import pytest


@pytest.fixture
def domain_settings():
    from app.main import load_domain_settings

    sections = load_domain_settings(env_file=None)
    sections["petitions"] = dataclasses.replace(
        sections["petitions"], settle_interval_seconds=0.0, sign_rate_burst="1000/60", sign_rate_sustained="1000/300",
        start_rate_burst="1000/60", start_rate_sustained="1000/300")
    return sections


class Flow:
    """Drives petitions through the real HTTP routes and e-mailed links."""

    def __init__(self, app, client, helpers, make_client):
        self.app, self.client, self.helpers, self.make_client = app, client, helpers, make_client

    def path(self, link: str) -> str:
        return link.replace(self.app.state.settings.base_url, "")

    def link(self, to: str, contains: str) -> str:
        return self.helpers.last_link(self.app, to, pattern=r"https?://\S*" + re.escape(contains) + r"\S*")

    def confirm(self, to: str, client=None) -> object:
        client = client or self.client
        path = self.path(self.link(to, "/signatures/confirm"))
        page = client.get(path)
        assert page.status_code == 200 and "Confirm my signature" in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        return client.post("/petitions/signatures/confirm", data={"token": token})

    def start(self, action="Build more cycle lanes in the city centre", email="creator@example.org", **extra):
        data = {"action": action, "background": "Cycling is safe and healthy when there are lanes.",
                "details": "", "name": "Creator Person", "email": email, "area": "Central",
                "stage": "submit", **extra}
        r = self.client.post("/petitions/start", data=data)
        assert r.status_code == 200, r.text
        return r

    def sign(self, petition_id: int, email: str, name: str = "Sam Signer", area: str = "North", notify: bool = True,
             client=None):
        client = client or self.client
        data = {"name": name, "email": email, "area": area}
        if notify:
            data["notify"] = "yes"
        return client.post(f"/petitions/{petition_id}/sign", data=data)

    def open_petition(self, action="Build more cycle lanes in the city centre", sponsors: int = 5,
                      department: str = "transport") -> int:
        """Start, confirm, sponsor and approve a petition; returns its id."""
        pid = self.pending_petition(action=action, sponsors=sponsors)
        mod = self.make_client()
        self.helpers.sign_in(mod, self.app, "mod@example.org", role="moderator")
        self.helpers.add_user(self.app, "official@example.org", role="official", department=department)
        r = mod.post(f"/petitions/{pid}/moderate", data={"decision": "approve"})
        assert r.status_code == 303, r.text
        return pid

    def sponsoring_petition(self, action="Build more cycle lanes in the city centre",
                            email="creator@example.org") -> tuple[int, str]:
        """Start and confirm a petition; returns its id and the supporter link's path."""
        from sqlmodel import select

        from app.db import read_session
        from petitions.models import Petition

        self.start(action=action, email=email)
        r = self.confirm(email)
        assert r.status_code == 303, r.text
        with read_session(self.app.state.engine) as s:
            pid = s.exec(select(Petition.id).where(Petition.action == action)).first()
        return pid, self.path(self.link(email, "/sponsor"))

    def pending_petition(self, action="Build more cycle lanes in the city centre", sponsors: int = 5) -> int:
        """Start, confirm and sponsor a petition: it waits for a moderator. Returns its id."""
        pid, sponsor_path = self.sponsoring_petition(action=action)
        for i in range(sponsors):
            c = self.make_client()
            page = c.get(sponsor_path)
            assert page.status_code == 200, page.text
            token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
            r = c.post(f"/petitions/{pid}/sponsor", data={"token": token, "name": f"Sponsor {i}",
                                                          "email": f"sponsor{i}@example.org", "area": "South"})
            assert r.status_code == 200, r.text
            assert self.confirm(f"sponsor{i}@example.org", client=c).status_code == 303
        return pid


@pytest.fixture
def flow(app, client, helpers, make_client):
    return Flow(app, client, helpers, make_client)


@pytest.fixture
def area_petition():
    """A factory: an open petition in `app` with these signature counts by area; returns its id."""
    from datetime import timedelta

    from app.clock import utc_now
    from app.db import unit_of_work
    from petitions.models import AreaCount, Petition

    def make(app, action: str, areas: dict[str, int]) -> int:
        now = utc_now()
        with unit_of_work(app.state.engine) as s:
            p = Petition(action=action, background="Background.", details="", creator_name="C",
                         creator_email="c@example.org", state="open", signature_count=sum(areas.values()),
                         created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
            s.add(p)
            s.flush()
            s.add_all([AreaCount(petition_id=p.id, area=a, count=n) for a, n in areas.items()])
            return p.id

    return make
