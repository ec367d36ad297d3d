"""Citable open data: dated, write-once snapshots of the accountability datasets.

A domain registers a dataset with a function that builds its JSON document as of the end of a given day (UTC);
the composition root (`app.main.build_open_data`) collects them. A weekly job archives every registered dataset
as of the last day of the last complete week (Monday to Sunday, UTC): the canonical JSON bytes and their SHA-256,
in a row that is inserted once and never changed (a second run for the same day inserts nothing). The stable
URLs (`/api/snapshots/{dataset}/{day}.json` and `.csv`) serve those bytes, so a citation's hash always matches.

Because an archived snapshot can never be edited, a dataset's document must hold nothing a moderator may later
take down (residents' text such as petition titles): ids, links, counts and department names only.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session, col

from app import csv_export
from app.clock import utc_now
from app.db import insert_ignore, read_session
from app.errors import N_, NotFound
from app.i18n import gettext as _
from app.i18n import use_locale
from app.models import OpenDataSnapshot
from app import reporting
from app.reporting import cutoff

log = logging.getLogger("civic.open_data")

JOB_KIND = "app.open_data_weekly_snapshot"
# A dataset name is part of a URL: lower-case words joined by hyphens.
NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
DAY_PATTERN = reporting.DAY_PATTERN
LICENCE = {"name": "Open Government Licence v3.0",
           "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"}


@dataclass(frozen=True)
class BuildContext:
    """What a dataset's builder may use: the moment the figures are as of, absolute URLs (`url(route name,
    **params)`, the renderer's `absolute_url`) and the domain settings."""

    now: datetime
    url: Callable[..., str]
    domain_settings: Mapping[str, Any]


Builder = Callable[[Session, date, BuildContext], dict]


@dataclass(frozen=True)
class Dataset:
    """One open dataset. `title` and `description` are lazy translations; `page`, `live_json` and `live_csv` are
    route names of its page and live API (shown beside its snapshots)."""

    name: str
    title: Any
    description: Any
    build: Builder
    page: str = ""
    live_json: str = ""
    live_csv: str = ""


@dataclass
class DatasetRegistry:
    datasets: dict[str, Dataset] = field(default_factory=dict)

    def register(self, dataset: Dataset) -> None:
        if not re.fullmatch(NAME_PATTERN, dataset.name):
            raise ValueError(f"dataset name {dataset.name!r} must be lower-case words joined by hyphens")
        if dataset.name in self.datasets:
            raise ValueError(f"dataset {dataset.name!r} is registered twice")
        self.datasets[dataset.name] = dataset

    def names(self) -> list[str]:
        return sorted(self.datasets)

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self.datasets[name] for name in self.names())

    def get(self, name: str) -> Dataset | None:
        return self.datasets.get(name)


# ----- days and weeks -----

def last_complete_week(today: date) -> date:
    """The Sunday that ended the last complete Monday-to-Sunday week before `today`."""
    return today - timedelta(days=today.weekday() + 1)


def parse_day(text: str, *, field_name: str = "day") -> date:
    """A snapshot's day written YYYY-MM-DD. Raises ValidationFailed (422) with a message that says what to send."""
    return reporting.parse_day(text, field_name=field_name, message=N_(
        "The date must be a day written as YYYY-MM-DD, for example 2026-03-29."))


# ----- the documents -----

def canonical_json(document: dict) -> bytes:
    """One byte sequence per document (sorted keys, no spaces, UTF-8), so its SHA-256 identifies the content."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def envelope(dataset: Dataset, as_of: date, data: dict, *, publisher: str, created_at: datetime) -> dict:
    return {
        "dataset": dataset.name,
        "title": str(dataset.title),
        "as_of": as_of.isoformat(),
        "as_of_end": cutoff(as_of).isoformat(),
        "created_at": created_at.isoformat(),
        "publisher": publisher,
        "licence": LICENCE,
        "data": data,
    }


@dataclass(frozen=True)
class Outcome:
    dataset: str
    as_of: date
    created: bool
    size: int
    sha256: str


def build_snapshot(session: Session, dataset: Dataset, as_of: date, ctx: BuildContext, *, publisher: str,
                   created_at: datetime) -> bytes:
    """The canonical bytes of `dataset` as of the end of `as_of`."""
    with use_locale("en"):  # the archive is in English, whichever language the caller (a request) uses
        data = dataset.build(session, as_of, ctx)
        return canonical_json(envelope(dataset, as_of, data, publisher=publisher, created_at=created_at))


def store(session: Session, *, dataset: str, as_of: date, body: bytes, now: datetime) -> Outcome:
    """Insert the snapshot unless one exists for that dataset and day (then the archived one stands, unchanged)."""
    digest = hashlib.sha256(body).hexdigest()
    created = insert_ignore(session, OpenDataSnapshot.__table__, {  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        "dataset": dataset, "as_of": as_of, "created_at": now, "size": len(body), "sha256": digest, "body": body},
        ["dataset", "as_of"])
    return Outcome(dataset, as_of, True, len(body), digest) if created else archived(session, dataset, as_of)


def archived_on(session: Session, as_of: date) -> dict[str, Outcome]:
    """What is archived for the day, by dataset name."""
    rows = session.execute(select(col(OpenDataSnapshot.dataset), col(OpenDataSnapshot.size),
                                  col(OpenDataSnapshot.sha256)).where(col(OpenDataSnapshot.as_of) == as_of))
    return {name: Outcome(name, as_of, False, size, digest) for name, size, digest in rows}


def take_snapshots(engine, registry: DatasetRegistry, as_of: date, ctx: BuildContext, *, publisher: str, unit_of_work,
                   on_built: Callable[[str], None] | None = None) -> list[Outcome]:
    """Archive every registered dataset as of `as_of` that is not archived yet: documents are built in a read
    session, then inserted together in one write transaction (`unit_of_work()`), so the write lock is held only
    for the inserts. A dataset archived meanwhile (another worker) keeps its first snapshot."""
    now = utc_now()
    bodies = {}
    with read_session(engine) as session:
        outcomes = archived_on(session, as_of)
        for dataset in registry:
            if dataset.name not in outcomes:
                bodies[dataset.name] = build_snapshot(session, dataset, as_of, ctx, publisher=publisher, created_at=now)
            if on_built is not None:
                on_built(dataset.name)
    if bodies:  # the daily check of an archived week writes nothing (and takes no write lock)
        with unit_of_work() as session:
            for name, body in bodies.items():
                outcomes[name] = store(session, dataset=name, as_of=as_of, body=body, now=now)
    return [outcomes[dataset.name] for dataset in registry]


def archived(session: Session, dataset: str, as_of: date) -> Outcome:
    """What is archived for the dataset and day (which exists)."""
    size, digest = session.execute(select(col(OpenDataSnapshot.size), col(OpenDataSnapshot.sha256)).where(
        col(OpenDataSnapshot.dataset) == dataset, col(OpenDataSnapshot.as_of) == as_of)).one()
    return Outcome(dataset, as_of, False, size, digest)


def build_context(job_ctx) -> BuildContext:
    """The builder's context from a job context (the worker, the CLI and the tests all have one)."""
    return BuildContext(now=utc_now(), url=job_ctx.unit.renderer.absolute_url,
                        domain_settings=job_ctx.unit.domain_settings)


def snapshot_job(ctx, payload: dict) -> None:
    """The weekly snapshot: checked daily, so a week is archived within a day of its end even after downtime."""
    as_of = date.fromisoformat(payload["as_of"]) if payload.get("as_of") else last_complete_week(utc_now().date())
    outcomes = take_snapshots(ctx.engine, ctx.open_data, as_of, build_context(ctx),
                              publisher=ctx.settings.site_name, unit_of_work=ctx.unit_of_work)
    made = [o.dataset for o in outcomes if o.created]
    if made:
        log.info("Open-data snapshots as of %s: %s", as_of, ", ".join(made))


# ----- reading the archive -----

@dataclass(frozen=True)
class SnapshotInfo:
    dataset: str
    as_of: date
    created_at: datetime
    size: int
    sha256: str


def list_snapshots(session: Session, dataset: str | None = None) -> list[SnapshotInfo]:
    """Every snapshot (without its bytes), newest day first."""
    query = select(col(OpenDataSnapshot.dataset), col(OpenDataSnapshot.as_of), col(OpenDataSnapshot.created_at),
                   col(OpenDataSnapshot.size), col(OpenDataSnapshot.sha256))
    if dataset is not None:
        query = query.where(col(OpenDataSnapshot.dataset) == dataset)
    rows = session.execute(query.order_by(col(OpenDataSnapshot.as_of).desc(), col(OpenDataSnapshot.dataset)))
    return [SnapshotInfo(*row) for row in rows]


@dataclass(frozen=True)
class Snapshot:
    info: SnapshotInfo
    body: bytes


_INFO = (col(OpenDataSnapshot.dataset), col(OpenDataSnapshot.as_of), col(OpenDataSnapshot.created_at),
         col(OpenDataSnapshot.size), col(OpenDataSnapshot.sha256))


def _lookup(session: Session, registry: DatasetRegistry, dataset: str, day: str, *, body: bool) -> Row:
    """The archived row named by a URL's dataset and day: its SnapshotInfo columns, then its bytes if `body`.

    Raises: ValidationFailed (422) for a malformed day; NotFound (404) saying which datasets or days exist.
    """
    as_of = parse_day(day)
    if registry.get(dataset) is None:
        raise NotFound(_("There is no dataset called “%(name)s”. The datasets are: %(names)s.",
                         name=dataset[:80], names=", ".join(registry.names())))
    columns = (*_INFO, col(OpenDataSnapshot.body)) if body else _INFO
    row = session.execute(select(*columns).where(col(OpenDataSnapshot.dataset) == dataset,
                                                 col(OpenDataSnapshot.as_of) == as_of)).first()
    if row is None:
        days = [s.as_of.isoformat() for s in list_snapshots(session, dataset)]
        if not days:
            raise NotFound(_("No snapshot of “%(name)s” has been taken yet. One is taken after the end of each "
                             "week (Sunday, UTC); the list is on the open data page.", name=dataset))
        shown = ", ".join(days[:10]) + (_(" and %(num)s older", num=len(days) - 10) if len(days) > 10 else "")
        raise NotFound(_("There is no snapshot of “%(name)s” for %(day)s. Snapshots exist for: %(days)s.",
                         name=dataset, day=as_of.isoformat(), days=shown))
    return row


def find(session: Session, registry: DatasetRegistry, dataset: str, day: str) -> Snapshot:
    """The archived snapshot, with its bytes, named by a URL's dataset and day. Raises: see `_lookup`."""
    row = _lookup(session, registry, dataset, day, body=True)
    return Snapshot(SnapshotInfo(*row[:-1]), bytes(row[-1]))


def find_info(session: Session, registry: DatasetRegistry, dataset: str, day: str) -> SnapshotInfo:
    """What is known of that snapshot without reading its bytes (its page). Raises: see `_lookup`."""
    return SnapshotInfo(*_lookup(session, registry, dataset, day, body=False))


# ----- CSV from the archived JSON -----

CSV_HEADER = ("dataset", "as_of", "path", "value")


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield path, None
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        if not value:
            yield path, None
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    elif isinstance(value, bool):
        yield path, "true" if value else "false"   # as JSON writes them, not Python's True/False
    else:
        yield path, value


def snapshot_csv(body: bytes) -> str:
    """The archived document in long form, one row per value (`data.figures.answered`, `data.overdue[0].id`),
    made from the archived bytes alone, through the formula-guarded writer."""
    document = json.loads(body)
    rows = [[document.get("dataset"), document.get("as_of"), path, value]
            for path, value in _leaves(document.get("data", {}), "data")]
    return csv_export.to_csv(rows, header=CSV_HEADER)
