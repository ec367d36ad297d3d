"""Consultation settings (CIVIC_CONSULTATIONS_*)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsultationSettings:
    comment_max_length: int = 2000
    """Longest comment accepted, in characters."""
    edit_window_minutes: int = 15
    """Minutes after posting during which an author may edit a comment (earlier versions are kept)."""
    max_reply_depth: int = 3
    """Deepest nesting of a thread: 1 is a top-level comment, 3 is a reply to a reply."""
    page_size: int = 20
    """Top-level comments shown per page of a thread."""
    replies_page_size: int = 50
    """Replies loaded per request when a reader opens a comment's replies."""
    report_threshold: int = 3
    """Residents' reports that hide a comment pending a moderator's review."""
    comment_rate_limit: str = "10/300"
    """Comments and replies one resident may post: `count/seconds`."""
    comment_ip_rate_limit: str = "40/300"
    """Comments and replies one IP address may post (shared networks can be allowlisted): `count/seconds`."""
    vote_rate_limit: str = "240/300"
    """Votes one resident may cast or change: `count/seconds`."""
