"""The `civic` command: help, users, outbox, idempotent demo, and `serve --demo` answering within a minute
(with the area map drawn from the demo's synthetic boundaries)."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def civic(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update(CIVIC_DATABASE_URL=f"sqlite:///{tmp_path}/cli.db", CIVIC_DATA_DIR=str(tmp_path / "data"),
               CIVIC_TRAIN_MODEL_ON_START="false", PYTHONPATH=str(ROOT))

    def run(*args, check=True, timeout=180):
        result = subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=timeout)
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.env = env
    run.cwd = tmp_path
    return run


def test_help_lists_every_command(civic):
    out = civic("--help").stdout
    for command in ("serve", "demo", "worker", "db", "users", "outbox", "moderation", "feedback", "consultations"):
        assert command in out


def test_users_add_and_outbox(civic):
    refused = civic("users", "add", "o@example.org", "--role", "official", check=False)
    assert refused.returncode == 2 and "--department" in refused.stderr
    assert "is now official" in civic("users", "add", "o@example.org", "--role", "official",
                                      "--department", "transport").stdout
    assert json.loads(civic("outbox", "--json").stdout) == []
    bad = civic("users", "add", "not-an-email", "--role", "admin", check=False)
    assert bad.returncode == 2 and "not a valid" in bad.stderr
    # clerks (paper signatures) need no department; with one, they record for its petitions only
    assert "is now clerk" in civic("users", "add", "library@example.org", "--role", "clerk").stdout
    assert "is now clerk in department transport" in civic("users", "add", "desk@example.org", "--role", "clerk",
                                                           "--department", "transport").stdout


def test_demo_is_idempotent(civic):
    first = civic("demo").stdout
    second = civic("demo").stdout
    assert "Demo content loaded" in first
    assert "(0 new items)" in second


def test_outbox_shows_the_mail_for_one_address(civic):
    from app.clock import utc_now
    from app.db import make_engine, unit_of_work
    from app.models import OutboxMessage

    civic("db", "upgrade")
    engine = make_engine(civic.env["CIVIC_DATABASE_URL"])
    with unit_of_work(engine) as session:
        for to in ("Someone@Example.org", "other@example.org"):
            session.add(OutboxMessage(to_addr=to, subject=f"Hello {to}", body="Body text", created_at=utc_now(),
                                      next_attempt_at=utc_now()))
    engine.dispose()
    someone = "someone@example.org"
    mine = json.loads(civic("outbox", "--json", "--to", someone.upper()).stdout)
    assert len(mine) == 1 and mine[0]["to"].lower() == someone
    assert all({"subject", "body", "status"} <= set(r) for r in mine)
    text = civic("outbox", "--to", someone).stdout
    assert "Subject:" in text


def test_serve_demo_answers_quickly(civic, helpers):
    port = helpers.free_port()
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(port)],
                            cwd=civic.cwd, env=civic.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        page = None
        while time.time() - started < 60:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert page is not None, "civic serve --demo did not answer within a minute"
        assert page.status_code == 200 and "Civic" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["database"] == "ok"
        # the demo draws signatures by area on a map from its synthetic boundaries
        listing = httpx.get(f"http://127.0.0.1:{port}/petitions/", timeout=10).text
        first = re.search(r'href="(/petitions/\d+)"', listing).group(1)
        petition = httpx.get(f"http://127.0.0.1:{port}{first}", timeout=10).text
        assert 'class="chart choropleth"' in petition and petition.count('<path role="img"') == 8
    finally:
        proc.terminate()
        proc.wait(timeout=20)
