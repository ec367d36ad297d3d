"""Consultations background jobs (registered by app.main.build_job_registry): e-mail fan-out, opening on the
opening date and closing on the closing date."""
from __future__ import annotations

from datetime import timedelta

from . import notifications, service


def notify_response(ctx, payload: dict) -> None:
    with ctx.unit_of_work() as session:
        notifications.notify_people_of_response(session, response_id=int(payload["response_id"]),
                                                followers=bool(payload.get("followers", True)))


def notify_report(ctx, payload: dict) -> None:
    with ctx.unit_of_work() as session:
        notifications.notify_followers_of_report(session, consultation_id=int(payload["consultation_id"]))


def close_expired(ctx, payload: dict) -> None:
    with ctx.unit_of_work() as session:
        service.close_expired(session)


def open_scheduled(ctx, payload: dict) -> None:
    with ctx.unit_of_work() as session:
        service.open_scheduled(session)


def register(registry) -> None:
    """Register job handlers and periodic schedules."""
    registry.register("consultations.notify_response", notify_response)
    registry.register("consultations.notify_report", notify_report)
    registry.register("consultations.close_expired", close_expired, every=timedelta(minutes=5))
    registry.register("consultations.open_scheduled", open_scheduled, every=timedelta(minutes=5))
