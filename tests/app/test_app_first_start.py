"""First start as an operator sees it: `civic serve` on another port without CIVIC_BASE_URL writes that port into
e-mails and API URLs and says so once; the demo prints its accounts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.cli import served_base_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def civic_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update(CIVIC_DATABASE_URL=f"sqlite:///{tmp_path}/serve.db", CIVIC_DATA_DIR=str(tmp_path / "data"),
               CIVIC_TRAIN_MODEL_ON_START="false", PYTHONPATH=str(ROOT))
    return env


def _serve(env, cwd, port, *extra):
    log = open(Path(cwd) / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), *extra],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc, log
        except httpx.HTTPError:
            time.sleep(0.3)
        assert proc.poll() is None, Path(cwd, "serve.log").read_text()
    proc.terminate()
    raise AssertionError("civic serve did not answer within 90 seconds")


def _stop(proc, log) -> str:
    proc.terminate()
    proc.wait(timeout=20)
    log.seek(0)
    return log.read()


def test_served_base_url_is_reachable_from_this_machine():
    assert served_base_url("127.0.0.1", 9000) == "http://127.0.0.1:9000"
    assert served_base_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert served_base_url("localhost", 8123) == "http://localhost:8123"
    assert served_base_url("::1", 9000) == "http://[::1]:9000"


def test_serve_on_another_port_writes_that_port_into_emails_and_api(civic_env, tmp_path, helpers):
    port = helpers.free_port()
    subprocess.run([sys.executable, "-m", "app.cli", "users", "add", "rita@example.org", "--role", "resident"],
                   cwd=tmp_path, env=civic_env, check=True, capture_output=True)
    proc, log = _serve(civic_env, tmp_path, port, "--demo")
    try:
        base = f"http://127.0.0.1:{port}"
        sent = httpx.post(base + "/auth/sign-in", data={"email": "rita@example.org", "next": "/"}, timeout=10)
        assert sent.status_code == 200
        listed = httpx.get(base + "/api/petitions", timeout=10).json()
        urls = [item["url"] for item in listed["data"]]
        assert urls and all(u.startswith(base + "/petitions/") for u in urls), urls[:3]
    finally:
        output = _stop(proc, log)
    mails = json.loads(subprocess.run([sys.executable, "-m", "app.cli", "outbox", "--json", "--to", "rita@example.org"],
                                      cwd=tmp_path, env=civic_env, check=True, capture_output=True,
                                      text=True).stdout)
    assert mails and f"{base}/auth/" in mails[-1]["body"], mails[-1]["body"] if mails else "no mail"
    assert "127.0.0.1:8000" not in mails[-1]["body"]
    said = [line for line in output.splitlines() if "CIVIC_BASE_URL is not set" in line]
    assert len(said) == 1 and base in said[0], output


def test_a_base_url_the_operator_set_is_kept(monkeypatch, tmp_path, settings):
    import argparse

    from app.cli import _default_base_url

    monkeypatch.chdir(tmp_path)
    args = argparse.Namespace(host="0.0.0.0", port=9000)
    monkeypatch.setenv("CIVIC_BASE_URL", "https://civic.example.org")
    assert _default_base_url(args, settings) is settings
    monkeypatch.delenv("CIVIC_BASE_URL")
    (tmp_path / ".env").write_text("CIVIC_BASE_URL=https://from-dotenv.example.org\n")
    assert _default_base_url(args, settings) is settings
    (tmp_path / ".env").unlink()
    assert _default_base_url(args, settings).base_url == "http://127.0.0.1:9000"
    assert os.environ["CIVIC_BASE_URL"] == "http://127.0.0.1:9000"  # what each server process reads


def test_demo_prints_its_accounts_with_roles_and_departments(civic_env, tmp_path):
    out = subprocess.run([sys.executable, "-m", "app.cli", "demo"], cwd=tmp_path, env=civic_env, check=True,
                         capture_output=True, text=True).stdout
    for line in ("admin@example.org", "moderator@example.org", "moderator2@example.org"):
        assert line in out
    official = next(line for line in out.splitlines() if "  official@example.org" in line)
    assert "official, department Transport" in official
    second = next(line for line in out.splitlines() if "environment.official@example.org" in line)
    assert "official, department Environment" in second
    clerk = next(line for line in out.splitlines() if "clerk@example.org" in line)
    assert "clerk: records paper signatures" in clerk
    readme = (ROOT / "README.md").read_text()
    assert "environment.official@example.org" in readme and "department Environment" in readme
    assert "`clerk@example.org` | Casey Clerk | clerk" in readme


@pytest.fixture
def first_start(settings, engine, monkeypatch):
    """An app on a fresh data directory that trains its model on start; training is the tiny model (seconds)."""
    import dataclasses

    import moderation.classifier
    from moderation.classifier import train_to_dir

    monkeypatch.setattr(moderation.classifier, "train_to_dir", lambda data_dir, **kw: train_to_dir(data_dir, sample=300))
    # the job calls ensure_model, which looks for a model (and says none loads) before it trains
    return dataclasses.replace(settings, train_model_on_start=True)


def test_first_start_says_once_that_the_model_trains_and_scores_the_demo_when_ready(first_start, engine, caplog,
                                                                                      domain_settings, helpers):
    import logging

    from sqlmodel import select
    from starlette.testclient import TestClient

    from app.db import read_session
    from app.demo import load_demo
    from app.main import create_app
    from moderation.models import CaseReason, CaseState, ModerationCase, ModerationItem

    caplog.set_level(logging.INFO, logger="civic")
    load_demo(engine, first_start, domain_settings=domain_settings)
    app = create_app(first_start, engine=engine, sender=helpers.RecordingSender(), domain_settings=domain_settings,
                     run_worker=False)
    with TestClient(app, base_url="https://testserver") as client:  # start-up: the model is missing
        for _ in range(3):
            assert client.get("/").status_code == 200
        with read_session(engine) as session:
            waiting = session.exec(select(ModerationCase).where(ModerationCase.state == CaseState.OPEN,
                                                                ModerationCase.reason == CaseReason.NO_MODEL)).all()
        assert waiting, "the demo content was screened before any model existed"
        helpers.run_jobs(app)  # the first-start job trains, then scores what waited
    said = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(said) == 1, said
    assert "in the background" in said[0] and "within a few minutes" in said[0]
    with read_session(engine) as session:
        items = session.exec(select(ModerationItem)).all()
        still = session.exec(select(ModerationCase).where(ModerationCase.state == CaseState.OPEN,
                                                          ModerationCase.reason == CaseReason.NO_MODEL)).all()
        open_cases = {c.item_pk: c for c in session.exec(select(ModerationCase).where(
            ModerationCase.state == CaseState.OPEN)).all()}
    waited = [i for i in items if i.status in ("published", "held")
              and (i.id not in open_cases or open_cases[i.id].claimed_by is None)]
    unscored = [(i.kind, i.status, open_cases.get(i.id) and open_cases[i.id].reason) for i in waited
                if i.model_version == "none"]
    assert waited and not unscored, unscored
    assert not still, "the queue still shows items marked 'No model'"
