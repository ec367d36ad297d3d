#!/usr/bin/env python
"""Scale-out benchmark: two app "hosts", two workers, one PostgreSQL, a round-robin proxy, a viral day.

    .venv/bin/python bench/scaleout.py                      # 4 phases x 10 s
    .venv/bin/python bench/scaleout.py --phase-seconds 2.5  # a smoke run (about 10 s of load)

What runs (all on loopback):
- a fresh PostgreSQL database (BENCH_PG_URL names the server; default postgresql://postgres@127.0.0.1/test);
- two `civic serve --workers 1` on two ports, started at the same moment (migrations under the advisory lock);
- two `civic worker` (jobs leased for 5 s here, CIVIC_JOB_LEASE_SECONDS), one killed with SIGKILL mid-run;
- a TCP round-robin proxy (this script, in its own process) that hands each connection to the next host;
- an SMTP sink (aiosmtpd) that records every delivered e-mail;
- the load: asyncio + httpx clients through the proxy.

Phases of a viral day: `reads` (petition page and count), `surge` (signing with page and count reads), `confirm`
(people click their confirmation links), `tail` (reads and late signatures). Meanwhile the script enqueues
background jobs (an idempotent housekeeping kind) to see them run across the workers.

Reported: requests/s and p50/p99 latency per phase; lost signatures (acknowledged with 2xx but no row) and
duplicated ones (two rows for one person); each outbox e-mail delivered exactly once (deliveries vs. rows marked
sent, and by Message-ID, which is stable per outbox row); each job's work committed exactly once (runs counted from the
workers' JSON log lines, `civic.jobs.run`, plus jobs the killed worker committed but could not log: their row is done
and still names the killed worker, because a handler's unit of work marks its job done in the same transaction).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from viral_petition import free_port, wait_http  # noqa: E402 - the same start-up helpers as the viral bench
PY = sys.executable
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1/test")
JOB_KIND = "app.purge_rate_limits"   # idempotent: a second run of one job does no harm, but is counted


# ----- the round-robin proxy (runs as `scaleout.py --proxy PORT BACKEND_PORT...`) -----

async def _pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass


def run_proxy(port: int, backends: list[int]) -> None:
    turn = [0]

    async def handle(client_reader, client_writer):
        backend = backends[turn[0] % len(backends)]
        turn[0] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ----- SMTP sink -----

class Sink:
    def __init__(self):
        self.deliveries: list[tuple[str, str]] = []
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        from email import message_from_bytes
        from email.header import decode_header, make_header

        parsed = message_from_bytes(envelope.content)
        subject = str(make_header(decode_header(parsed.get("Subject", ""))))
        with self.lock:
            self.message_ids.append(parsed.get("Message-ID", ""))
            for rcpt in envelope.rcpt_tos:
                self.deliveries.append((rcpt.lower(), subject))
        return "250 OK"


# ----- processes -----

def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([PY, "-m", "app.cli", *args], cwd=ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# ----- load -----

class Phase:
    def __init__(self, name):
        self.name, self.latencies, self.errors, self.started = name, [], collections.Counter(), time.perf_counter()
        self.ended = None

    def record(self, seconds, status):
        self.latencies.append(seconds)
        if status >= 400:
            self.errors[status] += 1

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None  # noqa: E731
        took = (self.ended or time.perf_counter()) - self.started
        return {"phase": self.name, "requests": len(lat), "rps": round(len(lat) / took, 1), "p50_ms": pick(0.5),
                "p99_ms": pick(0.99), "errors": dict(self.errors)}


async def load(base: str, pid: int, phase_seconds: float, concurrency: int, on_phase, tokens_for) -> tuple:
    import httpx

    headers = {"Sec-Fetch-Site": "same-origin", "Origin": base}
    acked: list[str] = []
    phases: list[Phase] = []
    counter = [0]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        async def timed(phase, method, url, **kw):
            t0 = time.perf_counter()
            try:
                r = await client.request(method, url, **kw)
                phase.record(time.perf_counter() - t0, r.status_code)
                return r
            except httpx.HTTPError:
                phase.record(time.perf_counter() - t0, 599)
                return None

        async def sign(phase):
            counter[0] += 1
            email = f"viral-{counter[0]}@example.org"
            r = await timed(phase, "POST", f"/petitions/{pid}/sign", headers={"HX-Request": "true"},
                            data={"name": f"Signer {counter[0]}", "email": email, "area": "North"})
            if r is not None and 200 <= r.status_code < 300 and 'data-outcome="created"' in r.text:
                acked.append(email)

        async def read(phase, i):
            await timed(phase, "GET", f"/petitions/{pid}" if i % 2 else f"/petitions/{pid}/count")

        async def run_phase(name, mix, tokens=None):
            phase = Phase(name)
            phases.append(phase)
            on_phase(name)
            deadline = time.perf_counter() + phase_seconds
            queue = collections.deque(tokens or [])

            async def user(u):
                i = u
                while time.perf_counter() < deadline:
                    i += 1
                    kind = mix[i % len(mix)]
                    if kind == "sign":
                        await sign(phase)
                    elif kind == "confirm" and queue:
                        await timed(phase, "POST", "/petitions/signatures/confirm", data={"token": queue.popleft()})
                    else:
                        await read(phase, i)

            await asyncio.gather(*(user(u) for u in range(concurrency)))
            phase.ended = time.perf_counter()

        await run_phase("reads", ["read"])
        await run_phase("surge", ["sign", "sign", "read", "sign", "read"])
        await run_phase("confirm", ["confirm", "confirm", "read"], tokens=tokens_for())
        await run_phase("tail", ["read", "read", "read", "sign"])
    return acked, phases


# ----- the run -----

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--settle-seconds", type=float, default=30.0, help="how long to wait for mail and jobs")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--proxy", nargs="+", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.proxy:
        run_proxy(args.proxy[0], args.proxy[1:])
        return 0

    from aiosmtpd.controller import Controller
    from sqlalchemy import create_engine, func, select, text

    from app.clock import utc_now
    from app.db import make_engine, normalise_url, read_session, unit_of_work
    from app.jobs import enqueue
    from app.models import Job, OutboxMessage
    from app.schema import import_all_models
    from petitions.models import Petition, Signature

    import_all_models()
    work = Path(tempfile.mkdtemp(prefix="civic-scaleout-"))
    name = f"civic_scaleout_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    sink = Sink()
    smtp_port = free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    ports = [free_port(), free_port()]
    proxy_port = free_port()
    base = f"http://127.0.0.1:{proxy_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")}
    env.update(CIVIC_DATABASE_URL=db_url, CIVIC_DATA_DIR=str(work / "data"), CIVIC_SECRET_KEY=secrets.token_urlsafe(48),
               CIVIC_BASE_URL=base, CIVIC_ALLOWED_HOSTS="127.0.0.1,localhost", CIVIC_RUN_WORKER_IN_PROCESS="false",
               CIVIC_TRAIN_MODEL_ON_START="false", CIVIC_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
               CIVIC_RATE_LIMIT_ALLOWLIST="127.0.0.0/8", CIVIC_JOB_LEASE_SECONDS="5", PYTHONPATH=str(ROOT))
    procs: list[subprocess.Popen] = []
    engine = None
    try:
        hosts = [start(["serve", "--host", "127.0.0.1", "--port", str(p)], env, work / f"host{i}.log")
                 for i, p in enumerate(ports)]
        procs += hosts
        proxy = subprocess.Popen([PY, __file__, "--proxy", str(proxy_port), *map(str, ports)], start_new_session=True)
        procs.append(proxy)
        for p in ports:
            wait_http(f"http://127.0.0.1:{p}/healthz", timeout=120.0)
        workers = [start(["worker"], env, work / f"worker{i}.log") for i in range(2)]
        procs += workers
        engine = make_engine(db_url)
        now = utc_now()
        with unit_of_work(engine) as s:
            petition = Petition(action="Save the harbour ferry", background="The ferry is the only link.",
                                creator_name="Creator", creator_email="creator@example.org", state="open",
                                created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
            s.add(petition)
            s.flush()
            pid = petition.id
        wait_http(f"{base}/petitions/{pid}", timeout=120.0)

        stop_jobs = threading.Event()
        enqueued: list[str] = []

        def feed_jobs():
            i = 0
            while not stop_jobs.is_set():
                with unit_of_work(engine) as s:
                    for _ in range(10):
                        key = f"bench-{i}"
                        enqueue(s, JOB_KIND, {}, dedupe_key=key)
                        enqueued.append(key)
                        i += 1
                stop_jobs.wait(0.5)

        feeder = threading.Thread(target=feed_jobs, daemon=True)
        feeder.start()
        killed = {}

        victim = workers[0]
        victim_name = f"{socket.gethostname()}:{victim.pid}"   # app.jobs.worker_name()

        def kill_while_holding_a_job():
            """Freeze the worker at random moments until it holds a claimed, unfinished bench job, then SIGKILL it
            (its lease must run out before the other worker takes those jobs over)."""
            deadline = time.time() + 5
            while time.time() < deadline:
                os.kill(victim.pid, signal.SIGSTOP)
                with read_session(engine) as s:
                    held = list(s.execute(select(Job.id).where(
                        Job.locked_by == victim_name, Job.finished_at.is_(None),
                        Job.dedupe_key.like("bench-%"))).scalars())
                if held:
                    killed["holding_jobs"] = len(held)
                    break
                os.kill(victim.pid, signal.SIGCONT)
                time.sleep(0.01)
            os.killpg(victim.pid, signal.SIGKILL)
            killed.setdefault("holding_jobs", 0)

        def on_phase(phase_name):
            if phase_name == "confirm":  # mid-run: one worker dies without cleaning up
                threading.Thread(target=kill_while_holding_a_job, daemon=True).start()

        def tokens_for():
            with read_session(engine) as s:
                bodies = s.execute(select(OutboxMessage.body).where(OutboxMessage.template.like("%confirm%"))).scalars()
                found = [re.search(r"signatures/confirm\?token=([^\s&]+)", b) for b in bodies]
            return [urllib.parse.unquote(m.group(1)) for m in found if m]

        t0 = time.perf_counter()
        acked, phases = asyncio.run(load(base, pid, args.phase_seconds, args.concurrency, on_phase, tokens_for))
        load_seconds = time.perf_counter() - t0
        stop_jobs.set()
        feeder.join()

        # let mail and jobs finish (a job the killed worker held comes back after its 5 s lease)
        deadline = time.time() + args.settle_seconds
        while time.time() < deadline:
            with read_session(engine) as s:
                open_jobs = s.execute(select(func.count()).select_from(Job).where(
                    Job.dedupe_key.like("bench-%"), Job.finished_at.is_(None))).scalar()
                queued = s.execute(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status == "queued", OutboxMessage.locked_until.is_(None))).scalar()
            if not open_jobs and not queued:
                break
            time.sleep(0.5)

        with read_session(engine) as s:
            emails = list(s.execute(select(Signature.canonical_email)).scalars())
            mail_rows = s.execute(select(OutboxMessage.to_addr, OutboxMessage.subject, OutboxMessage.status)).all()
            confirmed = s.execute(select(func.count()).select_from(Signature)
                                  .where(Signature.state == "validated")).scalar()
            outbox_total = s.execute(select(func.count()).select_from(OutboxMessage)).scalar()
            still_leased = s.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "queued", OutboxMessage.locked_until.is_not(None))).scalar()
            jobs = s.execute(select(Job.id, Job.attempts, Job.finished_at, Job.failed, Job.locked_by)
                             .where(Job.dedupe_key.like("bench-%"))).all()
        job_ids = {j.id for j in jobs}
        runs = collections.Counter()
        fenced = collections.Counter()
        for i in range(2):
            for line in (work / f"worker{i}.log").read_text(errors="replace").splitlines():
                if line.startswith("{") and '"event":"job"' in line:
                    record = json.loads(line)
                    if record.get("job_id") in job_ids and record.get("outcome") == "ok":
                        runs[record["job_id"]] += 1
                    elif record.get("job_id") in job_ids and "LeaseLost" in (record.get("error") or ""):
                        fenced[record["job_id"]] += 1
        # committed by the killed worker, which died before logging and clearing its lease: done, never re-run
        silent = {j.id for j in jobs if j.finished_at and not j.failed and j.locked_by == victim_name and not runs[j.id]}
        commits = {j.id: runs[j.id] + (j.id in silent) for j in jobs}
        row_counts = collections.Counter(emails)
        delivered = collections.Counter(sink.deliveries)
        rows = collections.Counter((to.lower(), subject) for to, subject, _ in mail_rows)
        marked_sent = sum(1 for *_, status in mail_rows if status == "sent")
        report = {
            "load_seconds": round(load_seconds, 1),
            "phases": [p.summary() for p in phases],
            "signatures": {"acknowledged": len(acked), "rows": len(emails), "confirmed": confirmed,
                           "lost": len(set(acked) - set(row_counts)),
                           "duplicated": sum(1 for n in row_counts.values() if n > 1)},
            # (to, subject) identifies a message here: every signer has their own address
            "mail": {"outbox_rows": outbox_total, "marked_sent": marked_sent, "deliveries": sum(delivered.values()),
                     "delivered_exactly_once": sum(1 for k, n in rows.items() if delivered.get(k, 0) == n),
                     "delivered_more_than_once": sum(1 for k, n in rows.items() if delivered.get(k, 0) > n),
                     "not_delivered": sum(1 for k, n in rows.items() if delivered.get(k, 0) < n),
                     "delivered_but_not_recorded": sum(1 for to, subject, status in mail_rows
                                                       if status != "sent" and delivered.get((to.lower(), subject))),
                     # at most the one message the killed worker had in flight: sent again once the 5-minute
                     # lease ends, with the same Message-ID (delivery is at-least-once for that one message)
                     "still_leased_by_killed_worker": still_leased,
                     "message_ids_delivered_more_than_once": sum(
                         1 for n in collections.Counter(sink.message_ids).values() if n > 1)},
            "jobs": {"enqueued": len(jobs), "finished": sum(1 for j in jobs if j.finished_at and not j.failed),
                     "committed_once": sum(1 for j in jobs if commits[j.id] == 1),
                     "committed_more_than_once": sum(1 for j in jobs if commits[j.id] > 1),
                     "never_committed": sum(1 for j in jobs if commits[j.id] == 0),
                     "committed_by_killed_worker_not_rerun": len(silent),
                     "attempts_fenced_out": sum(fenced.values()),
                     "claimed_more_than_once": sum(1 for j in jobs if j.attempts > 1),
                     "killed_worker_was_holding": killed.get("holding_jobs")},
        }
    finally:
        for proc in reversed(procs):
            stop(proc)
        smtp.stop()
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"scale-out: 2 hosts x civic serve, 2 civic worker (one SIGKILLed holding jobs as 'confirm' began), PostgreSQL, "
          f"{args.concurrency} clients, {args.phase_seconds:g} s per phase")
    for p in report["phases"]:
        print(f"  {p['phase']:<8} {p['requests']:>6} req  {p['rps']:>7} req/s  p50 {p['p50_ms']} ms  "
              f"p99 {p['p99_ms']} ms  errors {p['errors'] or 0}")
    for section in ("signatures", "mail", "jobs"):
        print(f"  {section}: " + ", ".join(f"{k} {v}" for k, v in report[section].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
