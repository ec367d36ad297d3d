"""Composition root for the command line: `civic --help` lists every command."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

from starlette.config import Config

from app import logs
from app.config import SettingsError, load_settings
from moderation.analysis import set_thread_count as set_analysis_threads

log = logging.getLogger("civic")

# Domains add their own command groups through `register(subparsers)`.
DOMAIN_CLIS = ("moderation.cli", "moderation.analysis.cli", "consultations.cli", "petitions.cli")


def _engine(settings):
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.db import make_engine
    from app.schema import import_all_models

    import_all_models()
    return make_engine(settings.database_url)


def cmd_db_upgrade(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.migrate import upgrade

    upgrade(_engine(settings))
    print("Database is up to date.")
    return 0


def cmd_db_backup(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.backup import BackupError, backup

    try:
        print(backup(settings.database_url, args.path, force=args.force).message)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_db_restore(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.backup import BackupError, restore

    try:
        print(restore(settings.database_url, args.path, force=args.force).message)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_demo(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.demo import accounts_text, load_demo
    from app.migrate import upgrade

    engine = _engine(settings)
    upgrade(engine)
    added = load_demo(engine, settings)
    print(f"Demo content loaded ({added} new items).")
    print(accounts_text())
    return 0


def proxy_options(settings) -> dict:
    """uvicorn's proxy settings: X-Forwarded-For is believed only from CIVIC_TRUSTED_PROXIES (by default from
    nobody, so a client can't choose the IP address that rate limits and abuse checks see)."""
    trusted = ",".join(settings.trusted_proxies)
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}


def _base_url_is_set(env_file: str | Path = ".env") -> bool:
    """Whether the operator set CIVIC_BASE_URL (in the environment or `.env`), as load_settings reads it."""
    path = Path(env_file)
    return Config(path if path.is_file() else None)("CIVIC_BASE_URL", default=None) is not None


def _demo_boundaries(env_file: str | Path = ".env") -> None:
    """`serve --demo` draws the area map from the demo's synthetic boundaries unless the operator chose a file."""
    from starlette.config import Config

    from petitions.demo import BOUNDARIES

    path = Path(env_file)
    if Config(path if path.is_file() else None)("CIVIC_PETITIONS_AREA_BOUNDARIES", default=None) is None:
        os.environ["CIVIC_PETITIONS_AREA_BOUNDARIES"] = str(BOUNDARIES)


def served_base_url(host: str, port: int) -> str:
    """The URL of `civic serve --host HOST --port PORT` as a browser on this machine reaches it."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _default_base_url(args, settings):
    """Without CIVIC_BASE_URL, links in e-mails and the API point at the host and port being served.

    Set in the environment, so every server process (`--workers`) reads the same value; logged once, here.
    """
    if _base_url_is_set():
        return settings
    base = served_base_url(args.host, args.port)
    os.environ["CIVIC_BASE_URL"] = base
    log.info("CIVIC_BASE_URL is not set: links in e-mails and the API use %s, the address being served. "
             "Set CIVIC_BASE_URL to the public address when people reach Civic another way.", base)
    return dataclasses.replace(settings, base_url=base)


def cmd_serve(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    import uvicorn

    from app.migrate import upgrade

    settings = _default_base_url(args, settings)
    engine = _engine(settings)
    upgrade(engine)
    if args.demo:
        from app.demo import accounts_text, load_demo  # deferred: only with --demo (imports the whole app)

        _demo_boundaries()
        added = load_demo(engine, settings)
        print(f"Demo content ready ({added} new items).", file=sys.stderr)
        print(accounts_text(), file=sys.stderr)
    engine.dispose()
    from app.metrics import prepare_multiprocess_dir  # deferred: see _engine; prometheus_client comes in here

    if prepare_multiprocess_dir(settings.data_dir, args.workers):  # before any server process imports the metrics
        log.info("Metrics of the %d server processes are added up in %s.", args.workers,
                 os.environ["PROMETHEUS_MULTIPROC_DIR"])
    print(f"Civic is running at http://{args.host}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr)
    uvicorn.run(
        "app.main:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        **proxy_options(settings),
        log_level="warning" if not settings.debug else "info",
        access_log=args.access_log,
    )
    return 0


def cmd_worker(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.jobs import worker_loop
    from app.main import create_app

    app = create_app(settings, run_worker=False)
    logs.configure(settings)  # one JSON line per job
    ctx, registry = app.state.job_context, app.state.jobs

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("Civic worker running (Ctrl+C to stop)", file=sys.stderr)
        await worker_loop(ctx, registry, stop=stop)

    asyncio.run(main())
    return 0


def cmd_open_data_snapshot(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app import open_data
    from app.clock import utc_now
    from app.errors import ValidationFailed
    from app.main import create_app
    from app.migrate import upgrade
    from app.progress import Progress

    today = utc_now().date()
    if args.as_of:
        try:
            as_of = open_data.parse_day(args.as_of)
        except ValidationFailed:
            print(f"error: --as-of must be a day written YYYY-MM-DD, not {args.as_of!r}", file=sys.stderr)
            return 2
        if as_of >= today:
            print(f"error: {as_of} has not ended yet (UTC); a snapshot is of a whole day, so pick a day before "
                  f"{today}", file=sys.stderr)
            return 2
    else:
        as_of = open_data.last_complete_week(today)
    app = create_app(settings, run_worker=False)
    upgrade(app.state.engine)
    ctx = app.state.job_context
    registry = ctx.open_data
    with Progress(f"Open-data snapshots as of {as_of}", total=len(registry.names())) as progress:
        outcomes = open_data.take_snapshots(ctx.engine, registry, as_of, open_data.build_context(ctx),
                                            publisher=settings.site_name, unit_of_work=ctx.unit_of_work,
                                            on_built=lambda name: progress.advance(note=name))
    for o in outcomes:
        what = "archived" if o.created else "already archived, kept unchanged"
        print(f"{o.dataset} {o.as_of}: {what} ({o.size} bytes, SHA-256 {o.sha256})")
    return 0


def cmd_users_add(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from app.auth import add_user
    from app.db import unit_of_work
    from app.errors import ValidationFailed
    from app.migrate import upgrade

    engine = _engine(settings)
    upgrade(engine)
    try:
        with unit_of_work(engine) as session:
            user = add_user(session, email=args.email, role=args.role, name=args.name or "", department=args.department)
            print(f"User {user.email_display} is now {user.role}" + (f" in department {args.department}" if args.department else "") + ".")
    except ValidationFailed as exc:
        for message in exc.errors.values():
            print(f"error: {message}", file=sys.stderr)
        return 2
    return 0


def cmd_outbox(args, settings) -> int:
    # deferred: `civic --help` and the other commands stay fast (no SQLAlchemy, alembic or app import)
    from sqlmodel import col, select

    from app.db import read_session
    from app.emails import canonical_email
    from app.models import OutboxMessage

    engine = _engine(settings)
    with read_session(engine) as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id).desc())
        if not args.to:
            query = query.limit(args.limit)
        rows = list(session.exec(query))
    if args.to:
        wanted = canonical_email(args.to)
        rows = [m for m in rows if canonical_email(m.to_addr) == wanted][: args.limit]
    rows.reverse()
    if args.json:
        print(json.dumps([
            {"id": m.id, "to": m.to_addr, "subject": m.subject, "body": m.body, "status": m.status,
             "attempts": m.attempts, "created_at": m.created_at.isoformat(),
             "sent_at": m.sent_at.isoformat() if m.sent_at else None, "last_error": m.last_error}
            for m in rows
        ], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("The outbox is empty.")
    for m in rows:
        print(f"#{m.id} [{m.status}] to {m.to_addr} at {m.created_at:%Y-%m-%d %H:%M}\nSubject: {m.subject}\n\n{m.body}\n{'-' * 60}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civic", description="Civic: e-petitions, consultations and moderation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="apply migrations and serve the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load demo content first (idempotent)")
    serve.add_argument("--workers", type=int, default=1, help="number of app processes")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="load demo content (idempotent)")
    demo.set_defaults(handler=cmd_demo)

    worker = sub.add_parser("worker", help="run background jobs (mail, counts, closing petitions, analysis)")
    worker.set_defaults(handler=cmd_worker)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help="apply Alembic migrations")
    up.set_defaults(handler=cmd_db_upgrade)
    bk = db_sub.add_parser("backup", help="copy the database to PATH while Civic runs (SQLite online backup; "
                                          "PostgreSQL: pg_dump --format=custom)")
    bk.add_argument("path")
    bk.add_argument("--force", action="store_true", help="replace PATH if it exists")
    bk.set_defaults(handler=cmd_db_backup)
    rs = db_sub.add_parser("restore", help="replace the database with the backup at PATH (stop Civic first)")
    rs.add_argument("path")
    rs.add_argument("--force", action="store_true", help="replace a database that already holds data")
    rs.set_defaults(handler=cmd_db_restore)

    od = sub.add_parser("open-data", help="open-data snapshots (/open-data)")
    od_sub = od.add_subparsers(dest="open_data_command", metavar="COMMAND")
    snap = od_sub.add_parser("snapshot", help="archive every open dataset as of a day (default: the Sunday that "
                                              "ended last week); a day already archived is kept as it is")
    snap.add_argument("--as-of", default="", metavar="YYYY-MM-DD", help="the day (UTC) the snapshot is as of")
    snap.set_defaults(handler=cmd_open_data_snapshot)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", metavar="COMMAND")
    add = users_sub.add_parser("add", help="add a user or change their role")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=["resident", "official", "clerk", "moderator", "admin"])
    add.add_argument("--name", default="")
    add.add_argument("--department", default=None, help="department code (officials; clerks: limits them to its petitions)")
    add.set_defaults(handler=cmd_users_add)

    outbox = sub.add_parser("outbox", help="list queued and sent e-mail")
    outbox.add_argument("--to", default=None)
    outbox.add_argument("--json", action="store_true")
    outbox.add_argument("--limit", type=int, default=200)
    outbox.set_defaults(handler=cmd_outbox)

    for module_name in DOMAIN_CLIS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    set_analysis_threads(settings.analysis_threads)
    return int(handler(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
