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
