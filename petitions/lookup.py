"""Helpers shared by the petitions use cases (`service` and `paper`).

They live here, not in `service`, because `service` imports `paper` (the settle tick counts paper signatures), so
`paper` cannot import `service` without an import cycle.
"""
from __future__ import annotations

from sqlmodel import Session

from app import ratelimit
from app.config import parse_rate
from app.errors import NotFound
from app.i18n import gettext as _

from .models import Petition


def rate(session: Session, key: str, spec: str, message: str) -> None:
    """Count one attempt under `key` against the rate `spec` ("N/seconds"). Raises: RateLimited."""
    limit, window = parse_rate(spec)
    ratelimit.enforce(session, key, limit=limit, window=window, message=message)


def get_petition(session: Session, petition_id: int) -> Petition:
    """The petition with that id. Raises: NotFound."""
    petition = session.get(Petition, petition_id)
    if petition is None:
        raise NotFound(_("We couldn't find that petition. It may have been removed; search the list of petitions."))
    return petition
