"""Composition root: builds the Starlette app from settings and wires every domain in.

Run with `civic serve` (which applies migrations first) or `uvicorn app.main:create_app --factory`.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Mount, Route

import consultations.api
import consultations.config
import consultations.dashboard
import consultations.dashboard_jobs
import consultations.handlers
import consultations.how_we_respond
import consultations.jobs
import consultations.queries
import consultations.routes
import moderation.api
import moderation.facade
import moderation.jobs
import moderation.routes
import petitions.api
import petitions.config
import petitions.handlers
import petitions.jobs
import petitions.queries
import petitions.routes
from moderation.analysis import set_thread_count as set_analysis_threads
from app import api as app_api
from app import metrics as app_metrics
from app import auth, errors, i18n, logs, open_data, open_data_api, open_data_pages, ratelimit
from app import routes as app_routes
from app.clock import utc_now
from app.config import Settings, load_section, load_settings
from app.context import UnitContext
from app.csrf import BodySizeLimitMiddleware, CrossOriginProtectionMiddleware, SecurityHeadersMiddleware
from app.db import make_engine
from app.events import EventBus
from app.geo import SiteAreas
from app.http import bound_int_path_params
from app.jobs import JobContext, JobRegistry, worker_loop
from app.mail import build_sender, deliver_pending
from app.response_cache import SESSION_COOKIE, ResponseCache, ResponseCacheMiddleware
from app.schema import import_all_models
from app.security import Signer
from app.templating import STATIC_DIR, Renderer, VersionedStaticFiles, build_environment
from moderation.analysis.models import AnalysisRun, RunStatus
from moderation.models import CaseState, ModerationCase
from petitions.models import Petition

log = logging.getLogger("civic")

# Each domain owns a settings section read from CIVIC_<SECTION>_* variables.
DOMAIN_SETTINGS = {
    "petitions": petitions.config.PetitionSettings,
    "consultations": consultations.config.ConsultationSettings,
    "moderation": moderation.facade.ModerationSettings,
}


def load_domain_settings(env_file=".env", overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    return {
        name: load_section(cls, f"CIVIC_{name.upper()}_", env_file, **overrides.get(name, {}))
        for name, cls in DOMAIN_SETTINGS.items()
    }


def build_event_bus() -> EventBus:
    bus = EventBus()
    petitions.handlers.subscribe(bus)
    consultations.handlers.subscribe(bus)
    return bus


def build_job_registry() -> JobRegistry:
    registry = JobRegistry()

    def deliver_mail(ctx: JobContext) -> int:
        report = deliver_pending(ctx.engine, ctx.services["mail_sender"], ctx.settings.mail_from)
        return report.sent + report.failed

    registry.ticks.append(deliver_mail)

    def purge_rate_limits(ctx: JobContext, payload: dict) -> None:
        with ctx.unit_of_work() as session:
            ratelimit.purge_expired(session)
            auth.purge_expired_sessions(session)  # (signed-in sessions past their lifetime, in the same sweep)

    registry.register("app.purge_rate_limits", purge_rate_limits, every=timedelta(hours=1))
    # weekly snapshots, checked daily: a week missed while no worker ran is archived the next day
    registry.register(open_data.JOB_KIND, open_data.snapshot_job, every=timedelta(days=1))
    petitions.jobs.register(registry)
    consultations.jobs.register(registry)
    consultations.dashboard_jobs.register(registry)
    moderation.jobs.register(registry)
    return registry


def build_open_data() -> open_data.DatasetRegistry:
    """The datasets archived as dated snapshots (/open-data): each domain registers its own."""
    registry = open_data.DatasetRegistry()
    petitions.api.register_datasets(registry)
    moderation.api.register_datasets(registry)
    consultations.api.register_datasets(registry)
    return registry


def metrics_sources(domain_settings: dict) -> list:
    """Figures the domains add to /metrics, read from their tables at scrape time (app.metrics.Sample)."""
    sla = timedelta(hours=domain_settings["moderation"].sla_hours)

    def figures(session):
        Sample, count = app_metrics.Sample, func.count()
        # The settled per-petition figures (the settle tick recounts a petition whenever its signatures change, about
        # once a second): a sum over the petitions, not a count of the signature table at every scrape.
        taken, confirmed = session.execute(select(
            func.coalesce(func.sum(Petition.signatures_taken), 0),
            func.coalesce(func.sum(Petition.signature_count - Petition.paper_signature_count), 0))).one()
        yield Sample("civic_signatures_acknowledged", "Signatures taken and acknowledged (every state), as settled.",
                     taken, "counter")
        yield Sample("civic_signatures_confirmed", "Signatures confirmed by e-mail and still standing, as settled.",
                     confirmed, "counter")
        now = utc_now()
        open_, overdue = session.execute(
            select(count, func.count().filter(col(ModerationCase.opened_at) < now - sla))
            .where(col(ModerationCase.state) == CaseState.OPEN)).one()
        yield Sample("civic_moderation_queue", "Open cases in the moderators' queue.", open_)
        yield Sample("civic_moderation_overdue", "Open cases older than CIVIC_MODERATION_SLA_HOURS.", overdue)
        last = session.execute(select(func.max(AnalysisRun.finished_at))
                                .where(col(AnalysisRun.status) == RunStatus.DONE)).scalar()
        yield Sample("civic_analysis_last_run_timestamp_seconds",
                     "When the last analysis run finished (Unix time; 0: never).",
                     (last if last.tzinfo else last.replace(tzinfo=datetime.UTC)).timestamp() if last else 0)

    return [figures]


def create_app(
    settings: Settings | None = None,
    *,
    engine=None,
    sender=None,
    domain_settings: dict | None = None,
    classifier=None,
    run_worker: bool | None = None,
) -> Starlette:
    """Build the app. Tests pass their own settings, engine, mail sender, domain settings and abuse classifier
    (by default moderation's `ClassifierHolder`, which loads the installed model from `settings.data_dir`)."""
    settings = settings or load_settings()
    set_analysis_threads(settings.analysis_threads)
    import_all_models()
    i18n.load_catalogs()
    engine = engine or make_engine(settings.database_url)
    domain_settings = domain_settings or load_domain_settings()
    bus = build_event_bus()
    registry = build_job_registry()
    env = build_environment(settings)

    if classifier is None:
        classifier = moderation.facade.build_classifier(settings)
    # The worker's and the request handlers' own objects; what use cases need travels in the UnitContext below.
    response_cache = ResponseCache()
    all_services: dict[str, Any] = {"mail_sender": sender or build_sender(settings.smtp_url)}
    datasets = build_open_data()

    app_metrics.instrument_engine(engine)
    routes = [
        *app_routes.routes,
        *open_data_pages.routes,
        Route("/metrics", app_metrics.metrics, name="metrics"),
        *auth.account_routes,
        Mount("/auth", routes=auth.routes, name="auth"),
        Mount("/petitions", routes=petitions.routes.routes, name="petitions"),
        Mount("/officials", routes=consultations.dashboard.routes, name="dashboard"),
        Mount("/consultations", routes=consultations.routes.routes, name="consultations"),
        Mount("/moderation", routes=moderation.routes.routes, name="moderation"),
        Mount("/api", routes=app_api.build_routes([petitions.api, consultations.api, moderation.api,
                                                     open_data_api.api_module(datasets)], domain_settings),
              name="api"),
        Mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        Middleware(app_metrics.MetricsMiddleware),
        Middleware(ResponseCacheMiddleware, cache=response_cache, default_locale=settings.default_locale),
        Middleware(SecurityHeadersMiddleware, hsts=not settings.debug and settings.base_url.startswith("https")),
        Middleware(GZipMiddleware, minimum_size=800),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts) or ["*"]),
        Middleware(app_api.OpenCORSMiddleware),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                   https_only=settings.https_only, same_site="lax", max_age=settings.session_max_age_days * 86400),
        Middleware(auth.SessionCheckMiddleware),
        Middleware(i18n.LocaleMiddleware, default_locale=settings.default_locale),
        Middleware(CrossOriginProtectionMiddleware),
    ]
    worker = settings.run_worker_in_process if run_worker is None else run_worker
    ctx_holder: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        stop = asyncio.Event()
        task = None
        moderation.facade.on_startup(ctx_holder["ctx"], enqueue_training=settings.train_model_on_start)
        if getattr(app.state, "freeze_gc_after_start", False):
            # Compile every template now rather than in the first visitors' requests (on a busy start those
            # requests queue behind the compiler for a quarter of a second).
            for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt"))):
                env.get_template(name)
            # What start-up made lives as long as the process: keep it out of every later garbage collection,
            # so a full collection does not stop all requests for tens of milliseconds.
            gc.collect()
            gc.freeze()
        if worker:
            task = asyncio.create_task(worker_loop(ctx_holder["ctx"], registry, stop=stop))
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, timeout=10)

    app = Starlette(debug=settings.debug, routes=routes, middleware=middleware,
                    exception_handlers=errors.exception_handlers(), lifespan=lifespan)
    bound_int_path_params(app.routes)  # an id above 2^63 - 1 is a 404, not an OverflowError in the database
    renderer = Renderer(env, settings, router=app.router)
    signer = Signer(settings.secret_key)
    unit = UnitContext(events=bus, renderer=renderer, signer=signer, classifier=classifier,
                       domain_settings=domain_settings)
    ctx = JobContext(engine=engine, settings=settings, unit=unit, services=all_services, response_cache=response_cache,
                     open_data=datasets)
    ctx_holder["ctx"] = ctx

    state = app.state
    state.settings, state.engine, state.unit_context = settings, engine, unit
    state.templates, state.renderer, state.services = env, renderer, all_services
    state.response_cache = response_cache
    # (the same object as unit.signer: route handlers check tokens before any unit of work opens)
    state.signer = signer
    state.jobs, state.job_context = registry, ctx
    state.open_data = datasets
    state.metrics_sources = metrics_sources(domain_settings)
    state.home_providers = [petitions.queries.home_section, consultations.queries.home_section]
    # Sections other domains add to petitions' "How we respond" page (petitions may not import them).
    state.how_we_respond_sections = [consultations.how_we_respond.section]
    # One list of areas for the whole site; it is configured in the petitions section, where it began.
    state.areas = SiteAreas(lambda: (unit.domain_settings["petitions"].areas,
                                     unit.domain_settings["petitions"].area_boundaries))
    return app


def create_served_app() -> Starlette:
    """The app as `civic serve` runs it in each server process (a uvicorn factory)."""
    app = create_app()
    logs.configure(app.state.settings)
    app.state.freeze_gc_after_start = True
    return app
