"""The moderation domain's public facade: the only moderation API petitions and consultations may use.

Contract (kept stable; the implementation behind it grows):
- `screen_content(session, ref)` scores a new item and returns its route (publish / review / hold);
- `report_content(session, ref, reporter_id=..., reason=...)` records a resident's report;
- `latest_score(session, kind, item_id)` returns the stored score for display;
- `ModerationDecided` is published on the event bus when a moderator decides an item, in the same
  transaction, so the owning domain can hide, redact or restore it (`extra` carries `case_id`, `decision_id`,
  `moderator_id`, `appeal`, `blocked_until` and, when a redaction is undone, `original_text`);
- `is_blocked(session, user_id)` says whether a moderator's block on an author is running (`col(User.blocked_until)`).
- `close_content_cases(session, kind, item_id, moderator_id=..., hidden=...)` closes an item's open queue cases
  when the owning domain decided it in its own workflow (petitions are approved or rejected on their own page).
`Screening` also carries the detected `language` and the routing `reason`. `build_classifier` provides a
`ClassifierHolder` that loads the current model lazily and follows retraining; `on_startup` queues first-start
training. Moderation imports neither petitions nor consultations.

The value types live in `moderation.contract`, a leaf module: the facade imports the service, never the reverse.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, select, col

from app.clock import utc_now
from app.jobs import enqueue
from app.models import User
from moderation.contract import (  # noqa: F401 - re-exported: the facade's types
    ContentRef,
    Decision,
    ModerationDecided,
    ModerationSettings,
    ReportOutcome,
    Route,
    Screening,
)
from moderation.models import CaseReason, CaseState, ItemStatus, ModerationCase, ModerationItem

if TYPE_CHECKING:  # the classifier package itself loads numpy, scipy and sklearn: imported only when used
    from moderation.classifier.scoring import Classifier

log = logging.getLogger("civic.moderation")


class ClassifierHolder:
    """The abuse classifier for an app process: loaded lazily from `<data_dir>/models/abuse`, reloaded when
    another process (`civic moderation retrain`, the first-start job) changes the CURRENT version.

    Behaves like a `Classifier` (version, available, thresholds, score, score_many, reason). When no model
    loads it behaves like `NullClassifier` and `reason` says why (also logged).
    """

    def __init__(self, data_dir, *, check_seconds: float = 0.0):
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._loaded_for: object = object()   # the CURRENT value the loaded classifier belongs to
        self._classifier: Classifier | None = None
        self._check_seconds = check_seconds
        self._checked_at = 0.0
        self.said_training = False  # on_startup said (once for this app) that a model trains in the background

    def _current_name(self):
        from moderation.classifier.artifacts import current_version  # deferred: the package loads sklearn

        return current_version(self.data_dir)

    def get(self):
        """The classifier for the CURRENT version (re-read on every call unless `check_seconds` is set)."""
        now = time.monotonic()
        if self._classifier is not None and self._check_seconds and now - self._checked_at < self._check_seconds:
            return self._classifier
        name = self._current_name()
        with self._lock:
            self._checked_at = now
            if self._classifier is None or name != self._loaded_for:
                # deferred: the classifier package loads numpy/scipy/sklearn (seconds); `import moderation` stays light
                from moderation.classifier import NullClassifier, load_classifier
                from moderation.classifier.artifacts import models_root

                if name is None:  # none installed yet: on_startup said so once, and what happens next
                    reason = f"no current abuse model in {models_root(self.data_dir)}"
                    self._classifier, self._loaded_for = NullClassifier(reason), name
                    return self._classifier
                try:
                    clf = load_classifier(self.data_dir)
                except Exception as exc:  # noqa: BLE001 - the app keeps running without a model
                    log.exception("loading the abuse model failed")
                    clf = NullClassifier(f"loading failed: {exc}")
                if not getattr(clf, "available", False):
                    log.warning("abuse model unavailable, items go to moderators: %s", getattr(clf, "reason", ""))
                self._classifier, self._loaded_for = clf, name
            return self._classifier

    @property
    def version(self) -> str:
        return self.get().version

    @property
    def available(self) -> bool:
        return bool(getattr(self.get(), "available", False))

    @property
    def thresholds(self) -> dict:
        return dict(getattr(self.get(), "thresholds", {}) or {})

    @property
    def reason(self) -> str:
        return str(getattr(self.get(), "reason", ""))

    def score(self, text):
        return self.get().score(text)

    def score_many(self, texts):
        return self.get().score_many(texts)


def build_classifier(settings) -> ClassifierHolder:
    """The abuse classifier the composition root puts in the app's `UnitContext` (screening runs inside units of
    work)."""
    return ClassifierHolder(settings.data_dir)


ENSURE_MODEL_JOB = "moderation.ensure_model"
NO_MODEL_YET = "no abuse model is installed yet"


def on_startup(ctx, *, enqueue_training: bool) -> None:
    """Called once when an app process starts: queue first-start model training when no model loads.

    The job is deduplicated per hour, so several processes starting together queue it once. Never raises.
    """
    if not enqueue_training:
        return
    try:
        classifier = ctx.unit.classifier
        if classifier is not None and getattr(classifier, "available", False):
            return
        slot = utc_now().strftime("%Y%m%d%H")
        with ctx.unit_of_work() as session:
            enqueue(session, ENSURE_MODEL_JOB, {}, dedupe_key=f"{ENSURE_MODEL_JOB}@{slot}", max_attempts=2)
        # said once per app (its classifier holder), not per process: a test process starts many apps
        holder = classifier if isinstance(classifier, ClassifierHolder) else None
        if holder is None or not holder.said_training:
            if holder is not None:
                holder.said_training = True
            log.warning("abuse classifier unavailable: %s. Training one from the shipped data in the background; "
                        "it is usually ready within a few minutes. Until then new items go to moderators, and they are "
                        "scored once the model is ready.", getattr(classifier, "reason", "") or NO_MODEL_YET)
    except Exception:  # noqa: BLE001 - startup must not fail because of the model
        log.exception("could not queue abuse model training")


def rescreen_unscored(session: Session, *, limit: int = 2000) -> int:
    """Once a model loads, score the items that were screened without one (on a first start, the demo content
    is loaded while the model trains). Returns how many were scored.

    Only items no moderator has touched: published or held, with no case or an unclaimed "no-model" or "strict"
    one (a strict case stays as it is, now with the score). Each
    keeps its visibility (its owner acted on the first screening). Its "no-model" case is replaced by what the
    model says: none when it would publish a visible item, else a case for the model's reason with the score.
    """
    from moderation import service  # deferred: service loads sklearn (via policy); `import moderation` stays light

    classifier = service._classifier(session)
    if not getattr(classifier, "available", False):
        return 0
    items = list(session.exec(select(ModerationItem).where(
        col(ModerationItem.model_version) == "none",
        col(ModerationItem.status).in_([ItemStatus.PUBLISHED, ItemStatus.HELD])).order_by(col(ModerationItem.id)).limit(limit)))
    scored = 0
    for item in items:
        assert item.id is not None  # a stored row (loaded)
        case = service._open_case_of(session, item.id)
        if case is not None and (case.reason not in (CaseReason.NO_MODEL, CaseReason.STRICT)
                                 or case.claimed_by is not None):
            continue
        status = item.status
        if case is not None and case.reason == CaseReason.NO_MODEL:  # opened only because no model was there
            session.delete(case)
            session.flush()
        service.screen(session, ContentRef(
            kind=item.kind, item_id=item.item_id, text=item.text, author_id=item.author_id,
            context_id=item.context_id, context_title=item.context_title, url=item.url, reach=item.reach,
            strict=item.strict))
        item.status = status
        session.add(item)
        if status == ItemStatus.HELD and service._open_case_of(session, item.id) is None:
            service._ensure_open_case(session, item, CaseReason.NO_MODEL, item.updated_at)  # hidden: a human clears it
        scored += 1
    session.flush()
    return scored


def screen_content(session: Session, ref: ContentRef) -> Screening:
    """Score a new (or edited) item, route it, store the score, model version and explanation with it, and
    queue it for moderators when the route is review or hold. Never raises because of the model."""
    from moderation import service  # deferred: service loads sklearn (via policy); `import moderation` stays light

    return service.screen(session, ref)


def report_content(session: Session, ref: ContentRef, *, reporter_id: int, reason: str) -> ReportOutcome:
    """Record a resident's report of an item (once per resident); puts the item in the queue and tells the
    owner to hide it once `report_threshold` reports arrived."""
    from moderation import service  # deferred: service loads sklearn (via policy); `import moderation` stays light

    return service.report(session, ref, reporter_id=reporter_id, reason=reason)


def latest_score(session: Session, kind: str, item_id: int) -> Screening | None:
    """The stored screening of an item, for display beside it (None when never screened)."""
    from moderation import service  # deferred: service loads sklearn (via policy); `import moderation` stays light

    return service.stored_screening(session, kind, item_id)


def close_content_cases(session: Session, kind: str, item_id: int, *, moderator_id: int, hidden: bool,
                        now: datetime | None = None) -> int:
    """The owning domain decided an item in its own workflow (a petition approved or rejected on its moderation
    page): close the item's open queue cases and record whether it is now hidden or cleared, so the queue only
    shows what still waits. Returns how many cases were closed."""
    item = session.exec(select(ModerationItem).where(col(ModerationItem.kind) == kind,
                                                     col(ModerationItem.item_id) == item_id)).first()
    if item is None:
        return 0
    now = now or utc_now()
    cases = list(session.exec(select(ModerationCase).where(col(ModerationCase.item_pk) == item.id,
                                                           col(ModerationCase.state) == CaseState.OPEN)))
    for case in cases:
        case.state, case.decided_at, case.decided_by = CaseState.DECIDED, now, moderator_id
        case.claimed_by = case.claimed_until = None
        session.add(case)
    item.status, item.updated_at = (ItemStatus.HIDDEN if hidden else ItemStatus.APPROVED), now
    session.add(item)
    return len(cases)


def is_blocked(session: Session, user_id: int | None, *, now: datetime | None = None) -> bool:
    """True while a moderator's block on this user runs (other domains refuse their new posts)."""
    if user_id is None:
        return False
    user = session.get(User, user_id)
    if user is None or user.blocked_until is None:
        return False
    until = user.blocked_until
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until > (now or utc_now())
