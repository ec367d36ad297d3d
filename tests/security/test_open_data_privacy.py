"""Open-data snapshots hold no personal data and nothing the public may not see: with the world's published and
hidden petitions both past the response deadline, every snapshot (JSON and CSV, every dataset) is checked for the
world's unpublished markers, its people's e-mail addresses and names, IP addresses and any petition's text."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, UTC

from app import open_data
from app.db import unit_of_work
from petitions.models import Petition
from security_world import EMAILS, report

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
IPV4 = re.compile(r"\b(\d{1,3}\.){3}\d{1,3}\b")
IPV6 = re.compile(r"\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}\b", re.I)


def test_snapshots_hold_no_personal_data_and_no_unpublished_text(app, world, client):
    day = date.fromisoformat(world.snapshot_day) - timedelta(days=7)
    reached = datetime.combine(day, time(9), tzinfo=UTC) - timedelta(days=45)
    with unit_of_work(app.state.engine) as s:
        titles = []
        for pid in (world.petition, world.petition_hidden):
            p = s.get(Petition, pid)
            p.response_threshold_at = reached
            titles.append(p.action)
            s.add(p)
    ctx = app.state.job_context
    open_data.take_snapshots(ctx.engine, app.state.open_data, day, open_data.build_context(ctx), publisher="Civic",
                             unit_of_work=ctx.unit_of_work)
    names = [role.replace("_", " ").title() for role in EMAILS]
    checked, leaks = 0, []
    for dataset in world.datasets:
        for ext in ("json", "csv"):
            response = client.get(f"/api/snapshots/{dataset}/{day.isoformat()}.{ext}")
            assert response.status_code == 200, (dataset, ext)
            text = response.text
            checked += 1
            found = [m for m in world.secrets.values() if m in text]
            found += [e for e, *_ in EMAILS.values() if e in text] + [m.group() for m in EMAIL.finditer(text)]
            found += [m.group() for m in IPV4.finditer(text)] + [m.group() for m in IPV6.finditer(text)]
            found += [n for n in names if n in text] + [t for t in titles if t in text]
            if found:
                leaks.append(f"{dataset}.{ext}: {sorted(set(found))[:5]}")
    how = client.get(f"/api/snapshots/petitions-how-we-respond/{day.isoformat()}.json").json()["data"]
    # both petitions are in the figures, so the check above looked where their text could have been
    assert [o["id"] for o in how["overdue"]] == [world.petition] and how["overdue_not_listed"] == 1
    report(f"open data: {checked} snapshot files checked for {len(world.secrets)} markers, e-mail and IP "
           f"addresses, names and petition titles; {len(leaks)} leaks")
    assert not leaks, "\n".join(leaks)
