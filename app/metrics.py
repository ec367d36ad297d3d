"""`/metrics` in Prometheus' text format (prometheus-client), for the operators' monitoring.

Two kinds of figures:
- counted in the processes: requests by route template and status, their latency, database errors. Behind
  `civic serve --workers N` each process writes them to files in `PROMETHEUS_MULTIPROC_DIR` (the serve command
  points it at `<data_dir>/prometheus` and empties it at start) and a scrape adds every process up, so any
  process answers for all of them;
- read from the database at scrape time, so every process and host reports the same truth: signatures
  acknowledged and confirmed (summed from the petitions' settled counts, never counted in the signature table
  at a scrape), outbox depth and oldest age, jobs waiting/running/failed and oldest wait,
  moderation queue size and overdue items, the model version and the last analysis run. Domains supply theirs
  through `app.state.metrics_sources` (the composition root wires them).

Access: `Authorization: Bearer <CIVIC_METRICS_TOKEN>` or a client address in `CIVIC_METRICS_ALLOW`; anyone else
gets 401. With neither setting the endpoint is closed.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import event, func, select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount

from app import logs
from app.clock import utc_now
from app.config import _in_networks
from app.db import read_session
from app.models import Job, OutboxMessage, OutboxStatus

log = logging.getLogger("civic")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Counted in this process (in multiprocess mode: written to this process' files; registry=None then, the
# collector reads the files). Created once per interpreter: prometheus-client decides at import whether values
# live in memory or in files, so `civic serve` sets PROMETHEUS_MULTIPROC_DIR before any process imports this.
_LOCAL = CollectorRegistry(auto_describe=True)
_REG = None if os.environ.get(MULTIPROC_ENV) else _LOCAL
REQUESTS = Counter("civic_http_requests", "HTTP requests answered, by method, route template and status.",
                   ["method", "route", "status"], registry=_REG)
LATENCY = Histogram("civic_http_request_duration_seconds", "Time to answer an HTTP request, by method and route "
                    "template.", ["method", "route"], registry=_REG,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
DB_ERRORS = Counter("civic_db_errors", "Errors the database driver raised, by exception class.", ["kind"],
                    registry=_REG)


@dataclass(frozen=True)
class Sample:
    """One figure read from the database at scrape time. kind: "gauge" or "counter" (a total)."""

    name: str
    help: str
    value: float
    kind: str = "gauge"
    labels: dict = field(default_factory=dict)


Source = Callable[[object], Iterable[Sample]]   # (read session) -> samples


# ----- requests -----

def route_template(scope) -> str:
    """`/petitions/{petition_id}` rather than `/petitions/42`, so a label has a bounded number of values."""
    route = scope.get("route")
    if route is None:
        return ""
    prefix = scope.get("root_path", "")[len(scope.get("civic.metrics_root", "")):]
    if isinstance(route, Mount):
        return f"{prefix}/{{path}}"
    return prefix + getattr(route, "path_format", getattr(route, "path", ""))


class MetricsMiddleware:
    """Counts every HTTP request by route template and status and times it, and writes its JSON log line with
    its request id (app.logs). Outermost, so it sees cache hits too (labelled `(cached)`: the in-process cache
    answered before routing)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope["civic.metrics_root"] = scope.get("root_path", "")
        status = {"code": 500}
        start = time.perf_counter()
        rid = logs.incoming_id(scope)
        token = logs.request_id.set(rid)

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            logs.request_id.reset(token)
            route = route_template(scope)
            if not route:
                route = "(cached)" if status["code"] in (200, 304) and scope["method"] == "GET" else "(no route)"
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            seconds = time.perf_counter() - start
            REQUESTS.labels(method, route, str(status["code"])).inc()
            LATENCY.labels(method, route).observe(seconds)
            logs.log_request(scope, rid, route, status["code"], seconds)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _count_db_error(context) -> None:
    DB_ERRORS.labels(type(context.original_exception).__name__).inc()


def instrument_engine(engine) -> None:
    """Count the errors the database raises (connection refused, read-only, deadlocks, constraint violations)."""
    if not event.contains(engine, "handle_error", _count_db_error):
        event.listen(engine, "handle_error", _count_db_error)


# ----- figures read at scrape time -----

def _age(now, then) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:
        now = now.replace(tzinfo=None)
    return max(0.0, (now - then).total_seconds())


def core_samples(session) -> Iterable[Sample]:
    """Outbox and job queue."""
    now = utc_now()
    by_status = dict(session.execute(select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))).all())
    oldest = session.execute(select(func.min(col(OutboxMessage.created_at)))
                             .where(col(OutboxMessage.status) == OutboxStatus.QUEUED)).scalar()
    yield Sample("civic_outbox_queued", "E-mails waiting in the outbox (the outbox depth).",
                 by_status.get(OutboxStatus.QUEUED, 0))
    yield Sample("civic_outbox_oldest_age_seconds", "Age of the oldest e-mail still waiting in the outbox.",
                 _age(now, oldest))
    yield Sample("civic_outbox_sent", "E-mails sent.", by_status.get(OutboxStatus.SENT, 0), "counter")
    yield Sample("civic_outbox_failed", "E-mails given up on after every retry.",
                 by_status.get(OutboxStatus.FAILED, 0), "counter")
    unfinished = col(Job.finished_at).is_(None)
    leased = col(Job.locked_until).is_not(None) & (col(Job.locked_until) >= now)
    waiting, oldest_job = session.execute(select(func.count(), func.min(col(Job.run_at)))
                                          .where(unfinished, col(Job.run_at) <= now, ~leased)).one()
    running = session.execute(select(func.count()).where(unfinished, leased)).scalar()
    failed = session.execute(select(func.count()).select_from(Job).where(col(Job.failed).is_(True))).scalar()
    yield Sample("civic_jobs_waiting", "Background jobs due and not taken by a worker.", waiting)
    yield Sample("civic_jobs_running", "Background jobs a worker holds a lease on.", running)
    yield Sample("civic_jobs_failed", "Background jobs given up on after every attempt.", failed, "counter")
    yield Sample("civic_jobs_oldest_wait_seconds", "How long the longest-waiting due job has waited.",
                 _age(now, oldest_job))


def model_samples(classifier) -> Iterable[Sample]:
    if classifier is None:
        return
    try:
        available, version = bool(getattr(classifier, "available", False)), str(getattr(classifier, "version", ""))
    except Exception:  # noqa: BLE001 - a broken model shows as not loaded
        available, version = False, ""
    yield Sample("civic_model_loaded", "1 when the abuse model is loaded in the answering process.", int(available))
    if available:
        yield Sample("civic_model_info", "The abuse model version in use (the value is always 1).", 1,
                     labels={"version": version})


class _DatabaseCollector:
    def __init__(self, engine, sources: list[Source], classifier):
        self.engine, self.sources, self.classifier = engine, sources, classifier

    def collect(self):
        samples: list[Sample] = []
        ok = 1
        try:
            with read_session(self.engine) as session:
                samples.extend(core_samples(session))
                for source in self.sources:
                    samples.extend(source(session))
        except Exception as exc:  # noqa: BLE001 - report what we can; the error shows as civic_metrics_database_up 0
            log.warning("/metrics: reading the database failed: %s", exc)
            ok = 0
        samples.extend(model_samples(self.classifier))
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
        for s in samples:
            family = families.get(s.name)
            if family is None:
                cls = CounterMetricFamily if s.kind == "counter" else GaugeMetricFamily
                family = families[s.name] = cls(s.name, s.help, labels=sorted(s.labels))
            family.add_metric([str(s.labels[k]) for k in sorted(s.labels)], float(s.value or 0))
        yield GaugeMetricFamily("civic_metrics_database_up", "1 when this scrape could read the database.", value=ok)
        yield from families.values()


def exposition(engine, sources: list[Source], classifier) -> bytes:
    """The text a scrape gets (blocking: database reads)."""
    registry = CollectorRegistry(auto_describe=False)
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
    registry.register(_DatabaseCollector(engine, sources, classifier))
    out = generate_latest(registry)
    if not path:
        out = generate_latest(_LOCAL) + out
    return out


# ----- the route -----

def allowed(request: Request, settings) -> bool:
    token = settings.metrics_token.strip()
    header = request.headers.get("authorization", "")
    if token and header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    ip = request.client.host if request.client else ""
    return bool(settings.metrics_allow) and bool(ip) and _in_networks(ip, tuple(settings.metrics_allow))


async def metrics(request: Request) -> Response:
    state = request.app.state
    if not allowed(request, state.settings):
        return PlainTextResponse(
            "Metrics need `Authorization: Bearer <token>` with the token in CIVIC_METRICS_TOKEN, or a client "
            "address listed in CIVIC_METRICS_ALLOW.\n", status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="civic-metrics"', "Cache-Control": "no-store"})
    body = await run_in_threadpool(exposition, state.engine, getattr(state, "metrics_sources", []),
                                   state.unit_context.classifier)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def prepare_multiprocess_dir(data_dir, workers: int) -> str | None:
    """For `civic serve --workers N` (N > 1): an empty `<data_dir>/prometheus` in PROMETHEUS_MULTIPROC_DIR, set
    before the server processes start. An operator's own PROMETHEUS_MULTIPROC_DIR is kept (and emptied)."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path and workers <= 1:
        return None
    if not path:
        path = str((data_dir / "prometheus").resolve())
        os.environ[MULTIPROC_ENV] = path
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    return path
