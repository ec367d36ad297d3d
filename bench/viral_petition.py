#!/usr/bin/env python
"""Viral-day benchmark for petitions: concurrent signing, page reads and count reads against `civic serve`.

    .venv/bin/python bench/viral_petition.py                 # SQLite and PostgreSQL, 10 s per phase
    .venv/bin/python bench/viral_petition.py --db sqlite --duration 5

The load comes from `wrk` (apt-get install wrk) in separate processes on loopback; Lua scripts generate unique
e-mail addresses (and deliberate duplicates in other spellings), record every acknowledged signature, and
confirm signatures with the tokens from the e-mails in the outbox. Printed per database:

- hello: a bare Starlette endpoint on the same uvicorn, measured in the same run (calibration);
- isolated phases: page reads, count reads, sign POSTs, confirmation POSTs (each alone);
- mixed phase: signing, page reads and count reads at the same time;
- integrity: lost (a 2xx sign without its row) and duplicated (two rows or two "created" answers for one
  person) signatures, and whether the published count equals the confirmed rows once the batch settles.

Servers: `civic serve --workers N` with the in-process worker off, plus one `civic worker` (nice 10) for the
outbox and count settling, so mail delivery never competes with signing at the same priority. Loopback is
allow-listed from the per-IP rate limits (CIVIC_RATE_LIMIT_ALLOWLIST), as a shared network would be.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1/test")

LUA_DONE = r'''
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
'''

LUA_SIGN = LUA_DONE + r'''
local counter = 0
local out
local areas = {"Central", "North", "South", "East", "West", "Riverside", "Hillside"}
local hdrs = {["Content-Type"] = "application/x-www-form-urlencoded", ["Sec-Fetch-Site"] = "same-origin",
              ["HX-Request"] = "true"}
function init(args)
  prefix = args[1]; path = args[2]
  out = io.open(args[3] .. "/sign-" .. prefix .. "-" .. tid .. ".txt", "w")
  out:setvbuf("line")
end
function request()
  counter = counter + 1
  local n = counter
  local domain = "example.org"
  -- every 25th request repeats an earlier address in another spelling: it must never add a row
  if counter % 25 == 0 then n = counter - 24; domain = "EXAMPLE.ORG" end
  local body = "name=Bench+Signer+" .. n .. "&email=" .. prefix .. "-" .. tid .. "-" .. n .. "%40" .. domain ..
               "&area=" .. areas[(n % 7) + 1] .. "&notify=yes"
  return wrk.format("POST", path, hdrs, body)
end
function response(status, headers, body)
  if status >= 200 and status < 300 then
    local outcome = string.match(body, 'data%-outcome="(%a+)"') or "unknown"
    local email = string.match(body, 'data%-email="([^"]+)"') or "?"
    out:write(outcome, " ", email, "\n")
  else
    out:write("status ", status, "\n")
  end
end
'''

LUA_CONFIRM = LUA_DONE + r'''
local tokens = {}
local i = 0
local out
local hdrs = {["Content-Type"] = "application/x-www-form-urlencoded", ["Sec-Fetch-Site"] = "same-origin"}
function init(args)
  local nthreads = tonumber(args[2])
  local k = 0
  for line in io.lines(args[1]) do
    if k % nthreads == tid - 1 then table.insert(tokens, line) end
    k = k + 1
  end
  out = io.open(args[3] .. "/confirm-" .. tid .. ".txt", "w")
  out:setvbuf("line")
end
function request()
  i = i + 1
  if i > #tokens then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("POST", "/petitions/signatures/confirm", hdrs, "token=" .. tokens[i])
end
function response(status, headers, body)
  out:write(status, "\n")
end
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def spawn(args: list[str], env: dict, log: Path, nice: int = 0) -> subprocess.Popen:
    prefix = ["nice", "-n", str(nice)] if nice else []
    return subprocess.Popen(prefix + args, env=env, cwd=env["BENCH_CWD"], stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def run_wrk(url: str, *, duration: float, connections: int, threads: int, script: Path, args: list[str] = (),
            background: bool = False):
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s", "--timeout", "10s",
           "-s", str(script), url]
    if args:
        cmd += ["--", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc if background else parse_wrk(proc)


def parse_wrk(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    match = re.search(r"^RESULT (\{.*\})$", out, re.M)
    if not match:
        raise RuntimeError("wrk failed:\n" + out)
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    data["rps"] = data["requests"] / seconds if seconds else 0.0
    data["seconds"] = seconds
    return data


def fmt(label: str, r: dict, ok: int | None = None) -> str:
    ok_rps = f", {ok / r['seconds']:.0f} ok/s" if ok is not None else ""
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return (f"  {label:<22} {r['rps']:>9.0f} req/s{ok_rps}  p50 {r['p50_us'] / 1000:.1f} ms  "
            f"p99 {r['p99_us'] / 1000:.1f} ms  non-2xx/3xx {r['status']}  socket errors {errors}")


# ----- database setup -----

def prepare_database(kind: str, tmp: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text

    from app.db import normalise_url

    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    name = f"civic_bench_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' "
                              "AND pid <> pg_backend_pid()"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


def seed(url: str) -> int:
    from app.clock import utc_now
    from app.db import make_engine, unit_of_work
    from app.migrate import upgrade
    from app.schema import import_all_models
    from petitions.models import Petition, PetitionState

    import_all_models()
    engine = make_engine(url)
    upgrade(engine)
    now = utc_now()
    from datetime import timedelta

    with unit_of_work(engine) as session:
        p = Petition(action="Keep the central library open on Sundays", background="Benchmark petition.",
                     creator_name="Bench", creator_email="bench@example.org", state=PetitionState.OPEN,
                     created_at=now, updated_at=now, opened_at=now, closes_at=now + timedelta(days=30))
        session.add(p)
        session.flush()
        pid = p.id
    engine.dispose()
    return pid


def confirmation_tokens(url: str, path: Path) -> int:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(url)
    pattern = re.compile(r"/petitions/signatures/confirm\?token=([A-Za-z0-9_.\-]+)")
    n = 0
    with engine.connect() as conn, path.open("w") as fh:
        rows = conn.execute(text("SELECT body FROM outbox_message WHERE template = 'petitions/confirm_signature' ORDER BY id"))
        for (body,) in rows:
            match = pattern.search(body)
            if match:
                fh.write(match.group(1) + "\n")
                n += 1
    engine.dispose()
    return n


def integrity(url: str, pid: int, outdir: Path, settle_timeout: float) -> dict:
    from sqlalchemy import text

    from app.db import make_engine
    from app.emails import canonical_email

    created, resent, other_2xx, statuses = [], 0, 0, {}
    for f in outdir.glob("sign-*.txt"):
        for line in f.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "created":
                created.append(canonical_email(value))
            elif kind == "resent":
                resent += 1
            elif kind == "status":
                statuses[value] = statuses.get(value, 0) + 1
            else:
                other_2xx += 1
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT canonical_email FROM signature WHERE petition_id = :p"), {"p": pid})]
        validated = conn.execute(text("SELECT count(*) FROM signature WHERE petition_id = :p AND state = 'validated'"),
                                 {"p": pid}).scalar()
    row_set = set(rows)
    acked = set(created)
    result = {
        "acknowledged_created": len(created),
        "acknowledged_resent": resent,
        "rejected_by_status": statuses,
        "rows": len(rows),
        "lost": len(acked - row_set),
        "duplicated": (len(rows) - len(row_set)) + (len(created) - len(acked)),
        "rows_without_ack": len(row_set - acked),
        "validated": validated,
    }
    deadline = time.time() + settle_timeout
    settled = None
    while time.time() < deadline:
        with engine.connect() as conn:
            settled = conn.execute(text("SELECT signature_count FROM petition WHERE id = :p"), {"p": pid}).scalar()
        if settled == validated:
            break
        time.sleep(0.5)
    result["settled_count"] = settled
    result["settled_exact"] = settled == validated
    engine.dispose()
    return result


# ----- one database -----

def bench_database(kind: str, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"civic-bench-{kind}-"))
    url, drop = prepare_database(kind, tmp)
    procs: list[subprocess.Popen] = []
    report: dict = {"database": kind}
    try:
        pid = seed(url)
        scripts = {name: tmp / f"{name}.lua" for name in ("done", "sign", "confirm")}
        scripts["done"].write_text(LUA_DONE)
        scripts["sign"].write_text(LUA_SIGN)
        scripts["confirm"].write_text(LUA_CONFIRM)
        outdir = tmp / "out"
        outdir.mkdir()
        port, hello_port = free_port(), free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_CWD=str(tmp), CIVIC_DATABASE_URL=url,
                   CIVIC_SECRET_KEY="bench-secret-key-" + "x" * 32, CIVIC_DATA_DIR=str(tmp / "data"),
                   CIVIC_BASE_URL=base, CIVIC_RATE_LIMIT_ALLOWLIST="127.0.0.0/8,::1/128",
                   CIVIC_TRAIN_MODEL_ON_START="false", CIVIC_RUN_WORKER_IN_PROCESS="false",
                   CIVIC_ALLOWED_HOSTS="127.0.0.1,localhost")
        d, c, t = args.duration, args.connections, args.threads

        # calibration: a bare Starlette endpoint on the same server stack
        hello = spawn([PY, "-m", "uvicorn", "bench.petitions_hello:app", "--port", str(hello_port), "--workers",
                       str(args.workers), "--log-level", "warning", "--no-access-log"], env, tmp / "hello.log")
        procs.append(hello)
        wait_http(f"http://127.0.0.1:{hello_port}/")
        report["hello"] = run_wrk(f"http://127.0.0.1:{hello_port}/", duration=d, connections=c, threads=t,
                                  script=scripts["done"])
        stop(hello)

        server = spawn([PY, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(args.workers)],
                       env, tmp / "serve.log")
        procs.append(server)
        wait_http(base + "/healthz")
        worker = spawn([PY, "-m", "app.cli", "worker"], env, tmp / "worker.log")
        procs.append(worker)
        page, count, sign = f"{base}/petitions/{pid}", f"{base}/petitions/{pid}/count", f"{base}/petitions/{pid}/sign"

        report["page"] = run_wrk(page, duration=d, connections=c, threads=t, script=scripts["done"])
        report["count"] = run_wrk(count, duration=d, connections=c, threads=t, script=scripts["done"])
        report["sign"] = run_wrk(sign, duration=d, connections=c, threads=t, script=scripts["sign"],
                                 args=["a", f"/petitions/{pid}/sign", str(outdir)])
        tokens = tmp / "tokens.txt"
        time.sleep(1.0)
        report["tokens"] = confirmation_tokens(url, tokens)
        report["confirm"] = run_wrk(base, duration=d, connections=c, threads=t, script=scripts["confirm"],
                                    args=[str(tokens), str(t), str(outdir)])
        report["confirm_ok"] = sum(line.strip() == "303" for f in outdir.glob("confirm-*.txt")
                                   for line in f.read_text().splitlines())
        mixed = {
            "sign": run_wrk(sign, duration=d, connections=max(8, c // 2), threads=1, script=scripts["sign"],
                            args=["m", f"/petitions/{pid}/sign", str(outdir)], background=True),
            "page": run_wrk(page, duration=d, connections=max(8, c // 4), threads=1, script=scripts["done"], background=True),
            "count": run_wrk(count, duration=d, connections=max(8, c // 4), threads=1, script=scripts["done"], background=True),
        }
        report["mixed"] = {name: parse_wrk(proc) for name, proc in mixed.items()}
        report["integrity"] = integrity(url, pid, outdir, settle_timeout=30)
    finally:
        for proc in reversed(procs):
            stop(proc)
        drop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"  (kept {tmp})")
    return report


def print_report(r: dict, workers: int) -> None:
    print(f"\n== {r['database']} (civic serve --workers {workers}, wrk on loopback, {os.cpu_count()} CPUs) ==")
    print(fmt("hello (calibration)", r["hello"]))
    print("  isolated phases:")
    print(fmt("petition page reads", r["page"]))
    print(fmt("count reads", r["count"]))
    created = r["integrity"]["acknowledged_created"]
    print(fmt("sign POSTs", r["sign"]))
    print(fmt("confirm POSTs", r["confirm"], ok=r["confirm_ok"]))
    print(f"    confirmed signatures: {r['confirm_ok']} of {r['tokens']} e-mailed links "
          f"({r['confirm_ok'] / r['confirm']['seconds']:.0f} confirmed/s)")
    print("  mixed phase (signing, page reads and count reads at the same time):")
    for name in ("sign", "page", "count"):
        print(fmt(name, r["mixed"][name]))
    i = r["integrity"]
    print(f"  integrity: {created} signatures acknowledged (2xx), {i['acknowledged_resent']} repeat attempts re-sent, "
          f"rejected {i['rejected_by_status']}; rows {i['rows']}; lost {i['lost']}, duplicated {i['duplicated']}, "
          f"rows without ack {i['rows_without_ack']}")
    print(f"  settled count {i['settled_count']} vs confirmed rows {i['validated']}: "
          f"{'exact' if i['settled_exact'] else 'NOT EXACT'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="civic serve --workers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    reports = []
    for kind in kinds:
        report = bench_database(kind, args)
        reports.append(report)
        print_report(report, args.workers)
        sys.stdout.flush()
    if args.json:
        print(json.dumps(reports, indent=2))
    bad = any(r["integrity"]["lost"] or r["integrity"]["duplicated"] or not r["integrity"]["settled_exact"] for r in reports)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
