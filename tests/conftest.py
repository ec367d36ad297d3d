"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when CIVIC_TEST_DATABASE_URL is
set), the real ASGI app, sign-in through the real e-mailed token, background jobs, a live server and Chromium.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient

from app.config import Settings
from app.db import make_engine, normalise_url, unit_of_work
from app.jobs import run_until_idle
from app.models import OutboxMessage
from app.schema import import_all_models
from moderation.classifier import AbuseScore, detect_language

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("CIVIC_TEST_DATABASE_URL", "")


class RecordingSender:
    """A mail sender for tests that records what would have been delivered."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message, mail_from) -> None:
        self.sent.append(message)


# ----- database -----

def _stamp_heads(engine) -> None:
    """create_all made the schema of the latest migrations: record that, as `civic db upgrade` would (/readyz checks)."""
    from alembic import command

    from app.migrate import alembic_config

    with engine.begin() as conn:
        command.stamp(alembic_config(conn), "heads")


@pytest.fixture(scope="session")
def _pg_database():
    """Create a fresh PostgreSQL database for this run and drop it afterwards."""
    if not PG_URL:
        yield None
        return
    admin_url = normalise_url(PG_URL)
    name = f"civic_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    import_all_models()
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    _stamp_heads(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """Build the SQLite schema once; each test copies the file (much faster than create_all)."""
    import_all_models()
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(engine)
    _stamp_heads(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(tmp_path, _pg_database, _sqlite_template):
    if _pg_database:
        yield _pg_database
        engine = make_engine(_pg_database)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    path = tmp_path / "civic.db"
    shutil.copy(_sqlite_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def empty_engine(tmp_path, database_url):
    """An engine on an empty database, no schema (a new one on PostgreSQL, dropped afterwards): for migration tests
    that upgrade step by step."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
        yield engine
        engine.dispose()
        return
    admin = create_engine(normalise_url(database_url).rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = f"civic_empty_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(normalise_url(database_url).rsplit("/", 1)[0] + "/" + name)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        debug=False,
        allowed_hosts=("testserver", "127.0.0.1", "localhost"),
        base_url="https://testserver",
        data_dir=data_dir,
        run_worker_in_process=False,
        train_model_on_start=False,
        strict_templates=True,  # a misspelled template variable fails the test instead of rendering empty
    )


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def domain_settings():
    """The app's domain settings: this very mapping becomes `app.state.unit_context.domain_settings`, the one place
    routes, jobs and use cases read them. Override per test, before or after the app starts:
    `domain_settings["petitions"] = dataclasses.replace(...)` (nothing else to resync)."""
    from app.main import load_domain_settings

    return load_domain_settings(env_file=None)


@pytest.fixture
def classifier():
    """The app's abuse classifier; None: the real one (no model installed in a test's data dir). Override per module,
    or swap it in a running app with `helpers.use_classifier(app, clf)`."""
    return None


@pytest.fixture
def sender():
    return RecordingSender()


@pytest.fixture
def app(settings, engine, sender, domain_settings, classifier):
    from app.main import create_app

    return create_app(settings, engine=engine, sender=sender, domain_settings=domain_settings,
                      classifier=classifier, run_worker=False)


@pytest.fixture
def client(app):
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def make_client(app):
    """Another independent browser-like client (separate cookies) for multi-user tests."""
    clients = []

    def factory():
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        c.__enter__()
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.__exit__(None, None, None)


# ----- helpers -----

def outbox(app, to: str | None = None) -> list[OutboxMessage]:
    with unit_of_work(app.state.engine) as session:
        rows = list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    if to:
        rows = [m for m in rows if m.to_addr.lower() == to.lower()]
    return rows


def last_link(app, to: str, pattern: str = r"https?://\S+") -> str:
    """The last link e-mailed to `to` (as the person would click it)."""
    messages = outbox(app, to)
    assert messages, f"no e-mail was sent to {to}"
    links = re.findall(pattern, messages[-1].body)
    assert links, f"no link in the last e-mail to {to}: {messages[-1].body!r}"
    return links[-1]


def run_jobs(app) -> int:
    return run_until_idle(app.state.job_context, app.state.jobs)


def use_classifier(app, classifier) -> None:
    """Swap the abuse classifier of a running test app: its requests and its jobs get the same new context."""
    unit = dataclasses.replace(app.state.unit_context, classifier=classifier)
    app.state.unit_context = app.state.job_context.unit = unit


def add_user(app, email: str, role: str = "resident", name: str = "", department: str | None = None):
    from app.auth import add_user as _add

    with unit_of_work(app.state.engine) as session:
        return _add(session, email=email, role=role, name=name or email.split("@")[0].title(), department=department)


def sign_in(client, app, email: str, role: str = "resident", name: str = "", department: str | None = None):
    """Sign `client` in through the real flow: request a link, open it, press "Sign in"."""
    user = add_user(app, email, role, name, department)
    response = client.post("/auth/sign-in", data={"email": email, "next": "/"})
    assert response.status_code == 200, response.text
    link = last_link(app, email)
    path = link.replace(app.state.settings.base_url, "")
    page = client.get(path)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    done = client.post("/auth/confirm", data={"token": token})
    assert done.status_code == 303, done.text
    return user


def read_only_engine(url: str):
    """An engine on the test database whose connections answer reads and refuse every write."""
    from sqlalchemy import event

    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute("SET default_transaction_read_only = on")
            dbapi_conn.commit()
        cursor.close()

    return engine


def sign_in_page(page, app, email: str, role: str = "resident", name: str = "", department: str | None = None):
    """Sign a Chromium page in through the real flow on a live server; it ends on the home page."""
    add_user(app, email, role, name, department)
    base = app.state.base_url
    page.goto(base + "/auth/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_load_state()   # the answer to the POST is in: its transaction queued the e-mail
    page.goto(last_link(app, email))
    page.locator("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")


def wait_for(predicate, timeout=20.0, message="condition"):
    """`predicate()`'s first truthy answer, asked every 0.2 s (for what a live server's worker does meanwhile)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


class FakeClassifier:
    """A deterministic stand-in for the abuse model: 'idiot' scores high, 'stupid' medium, everything else low."""

    version = "fake-2026"
    available = True
    thresholds = {"review": 0.5, "hold": 0.9}

    def score(self, text):
        text = str(text)
        if "idiot" in text:
            return AbuseScore(0.95, self.version, detect_language(text), (("idiot", 1.2), ("you", 0.2)))
        if "stupid" in text:
            return AbuseScore(0.6, self.version, detect_language(text), (("stupid", 0.7),))
        return AbuseScore(0.05, self.version, detect_language(text), ())

    def score_many(self, texts):
        return [self.score(t) for t in texts]


@pytest.fixture
def helpers():
    """Test helpers as a namespace: helpers.sign_in(client, app, email, role=...), helpers.sign_in_page(page, app,
    email, ...), helpers.outbox(app), ..."""
    import types

    return types.SimpleNamespace(outbox=outbox, last_link=last_link, run_jobs=run_jobs, add_user=add_user,
                                 sign_in=sign_in, sign_in_page=sign_in_page, read_only_engine=read_only_engine, RecordingSender=RecordingSender,
                                 shared_data=SHARED_DATA, free_port=_free_port,
                                 wait_for=wait_for, FakeClassifier=FakeClassifier, use_classifier=use_classifier,
                                 axe_without_js=assert_accessible_without_js)


# ----- live server and browser -----

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings, engine, domain_settings, classifier):
    """The real app served by uvicorn on a free port, with background jobs running in-process."""
    import uvicorn

    from app.main import create_app

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    live_settings = dataclasses.replace(settings, base_url=base, run_worker_in_process=True)
    sender = RecordingSender()
    app = create_app(live_settings, engine=engine, sender=sender, domain_settings=domain_settings,
                     classifier=classifier, run_worker=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "live server did not start"
    app.state.base_url = base
    yield app
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is not installed: run `apt-get install chromium` (scripts/test does this).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()


AXE_SOURCE = (ROOT / "tests" / "vendor" / "axe-4.11.0.min.js").read_text()


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) in the page; returns the violations."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}); "
        "return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }"
    )
    return result


def assert_accessible(page) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core found WCAG 2.1 AA violations on {page.url}: {violations}"


def assert_accessible_without_js(browser, page) -> None:
    """axe-core can't run in a page without JavaScript: check the same HTML in a JavaScript page of the same origin."""
    html = page.content()
    context = browser.new_context()
    try:
        checker = context.new_page()
        checker.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + "/robots.txt")
        checker.set_content(html)
        assert_accessible(checker)
    finally:
        context.close()


@pytest.fixture
def axe():
    return assert_accessible
