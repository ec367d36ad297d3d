"""Deployment recipes (issue 17): the nginx site in deploy/ passes `nginx -t` (Debian's nginx; scripts/test installs
it) and, in front of the real app, caches an anonymous petition page the app marks public, never a signed-in
one, and serves static files from disk; the systemd units and the Dockerfile name commands that exist."""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.clock import utc_now
from app.db import unit_of_work
from app.templating import STATIC_DIR
from petitions.models import Petition

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HOST = "civic.example.org"


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed: run `apt-get install nginx` (scripts/test does this).")
    return found


def _site(tmp_path: Path, app_port: int, http_port: int, https_port: int) -> Path:
    """deploy/nginx/civic.conf as an operator would install it, with this machine's paths and ports."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={HOST}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    static = tmp_path / "static"
    shutil.copytree(STATIC_DIR, static)
    (static / "only-on-disk.txt").write_text("served by nginx from disk\n")
    text = (DEPLOY / "nginx" / "civic.conf").read_text()
    for old, new in (("/var/cache/nginx/civic", str(tmp_path / "cache")), ("/opt/civic/app/static/", f"{static}/"),
                     ("127.0.0.1:8000", f"127.0.0.1:{app_port}"), ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
                     (f"/etc/letsencrypt/live/{HOST}/fullchain.pem", str(cert)),
                     (f"/etc/letsencrypt/live/{HOST}/privkey.pem", str(key))):
        assert old in text, old
        text = text.replace(old, new)
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)  # (no IPv6 on every test machine)
    site = tmp_path / "civic.conf"
    site.write_text(text)
    conf = tmp_path / "nginx.conf"
    temp = tmp_path / "temp"
    temp.mkdir()
    conf.write_text(f"""
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
    include {site};
}}
""")
    return conf


def test_the_nginx_site_passes_nginx_t(tmp_path, helpers):
    conf = _site(tmp_path, 8000, helpers.free_port(), helpers.free_port())
    result = subprocess.run([_nginx(), "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, allowed_hosts=(*settings.allowed_hosts, HOST),
                               trusted_proxies=("127.0.0.1",))


def test_nginx_caches_an_anonymous_petition_page_and_serves_static_files(tmp_path, live_server, helpers):
    now = utc_now()
    with unit_of_work(live_server.state.engine) as s:
        p = Petition(action="Light the riverside path", background="Background", creator_name="Creator",
                     creator_email="c@example.org", state="open", created_at=now, updated_at=now, opened_at=now,
                     closes_at=now + timedelta(days=30))
        s.add(p)
        s.flush()
        pid = p.id
    app_port = int(live_server.state.base_url.rsplit(":", 1)[1])
    http_port, https_port = helpers.free_port(), helpers.free_port()
    conf = _site(tmp_path, app_port, http_port, https_port)
    nginx = subprocess.Popen([_nginx(), "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"https://127.0.0.1:{https_port}"
        with httpx.Client(base_url=base, verify=False, headers={"Host": HOST}, timeout=10) as c:
            deadline = time.time() + 20
            while True:
                try:
                    c.get("/static/only-on-disk.txt")
                    break
                except httpx.TransportError:
                    assert time.time() < deadline and nginx.poll() is None, nginx.stderr.read() if nginx.stderr else ""
                    time.sleep(0.2)
            first = c.get(f"/petitions/{pid}")
            second = c.get(f"/petitions/{pid}")
            assert first.status_code == second.status_code == 200 and "Light the riverside path" in second.text
            assert first.headers["x-cache-status"] in ("MISS", "EXPIRED")
            assert second.headers["x-cache-status"] == "HIT", second.headers
            assert first.headers["x-request-id"] != second.headers["x-request-id"]
            # a signed-in browser (session cookie) always reaches the app
            own = c.get(f"/petitions/{pid}", headers={"Cookie": "civic_session=anything"})
            assert own.headers["x-cache-status"] == "BYPASS"
            # static files come from disk, with the app's cache policy
            disk = c.get("/static/only-on-disk.txt")
            assert disk.status_code == 200 and disk.text == "served by nginx from disk\n"
            css = c.get("/static/civic.css?v=abc")
            assert css.status_code == 200 and "immutable" in css.headers["cache-control"]
            assert "x-cache-status" not in css.headers
        # plain HTTP redirects to HTTPS
        plain = httpx.get(f"http://127.0.0.1:{http_port}/petitions/{pid}", headers={"Host": HOST})
        assert plain.status_code == 301 and plain.headers["location"] == f"https://{HOST}/petitions/{pid}"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


def test_the_units_and_the_image_run_commands_that_exist():
    from app.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for exec_start in re.findall(r"ExecStart=.*?civic (\w+)", unit.read_text()):
            assert exec_start in commands, (unit.name, exec_start)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the image must not run as root"
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    compose = (DEPLOY / "compose.yaml").read_text()
    assert "image: postgres" in compose and 'command: ["civic", "worker"]' in compose
