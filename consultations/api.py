"""Consultations open-data API (mounted under /api)."""
from __future__ import annotations

routes: list = []
OPENAPI_PATHS: dict = {}
OPENAPI_SCHEMAS: dict = {}
