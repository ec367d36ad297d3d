"""The only itsdangerous wrapper: signed, purpose-bound, expiring and (optionally) single-use tokens."""
from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.clock import utc_now
from app.db import insert_ignore
from app.errors import TokenInvalid
from app.i18n import gettext as _
from app.models import UsedToken


class Signer:
    """Signs payloads per purpose; a token for one purpose never verifies for another (own salt)."""

    def __init__(self, secret_key: str):
        self._secret = secret_key
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:  # built once per purpose: two tokens are signed for every signature
            serializer = self._serializers[purpose] = URLSafeTimedSerializer(self._secret, salt=f"civic.{purpose}")
        return serializer

    def sign(self, purpose: str, payload: dict[str, Any], *, single_use: bool = True) -> str:
        data = dict(payload)
        if single_use:
            data["jti"] = secrets.token_urlsafe(12)
        return self._serializer(purpose).dumps(data)

    def unsign(self, purpose: str, token: str, *, max_age: int | None) -> dict[str, Any]:
        """Verify a token. Raises TokenInvalid with a message saying what to do next."""
        if not token or len(token) > 2000:
            raise TokenInvalid(_("This link is incomplete. Copy the whole link from the e-mail, or ask for a new one."))
        try:
            data = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise TokenInvalid(_("This link has expired. Ask for a new one.")) from exc
        except BadSignature as exc:
            raise TokenInvalid(_("This link is not valid. Copy the whole link from the e-mail, or ask for a new one.")) from exc
        if not isinstance(data, dict):
            raise TokenInvalid(_("This link is not valid. Ask for a new one."))
        return data

    def consume(self, session, purpose: str, token: str, *, max_age: int | None) -> dict[str, Any]:
        """Verify a single-use token and mark it used in the caller's transaction.

        Raises TokenInvalid when bad, expired or already used.
        """
        data = self.unsign(purpose, token, max_age=max_age)
        jti = data.get("jti")
        if not jti:
            raise TokenInvalid(_("This link is not valid. Ask for a new one."))
        inserted = insert_ignore(
            session, UsedToken.__table__, {"jti": str(jti)[:64], "purpose": purpose, "used_at": utc_now()}, ["jti"]  # type: ignore[attr-defined]  # sqlmodel does not declare a table class's __table__
        )
        if not inserted:
            raise TokenInvalid(_("This link has already been used. Ask for a new one if you need to."))
        return data
