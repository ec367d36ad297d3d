"""What a change to petitions purges from the response cache (`app.response_cache`).

A petition's pages, its count fragment and its API answers live under its own paths; a change to what lists
show (a new count, a state change) also purges the lists. Only this process's cache is purged: other processes
keep their copies until `CIVIC_PETITIONS_PAGE_CACHE_SECONDS` run out.
"""
from __future__ import annotations


def purge_petition(cache, petition_id: int) -> None:
    cache.purge(f"/petitions/{petition_id}", f"/api/petitions/{petition_id}")


def purge_lists(cache) -> None:
    cache.purge("/petitions/")
