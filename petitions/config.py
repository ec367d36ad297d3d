"""Petition settings (CIVIC_PETITIONS_*)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PetitionSettings:
    sponsor_threshold: int = 5
    """Confirmed supporters needed before a new petition goes to moderation."""
    open_days: int = 182
    """How long a petition stays open for signatures once published (days; about 6 months)."""
    response_threshold: int = 10_000
    """Signatures at which an official response is due."""
    response_deadline_days: int = 30
    """Days the responsible department has to respond once a petition reaches the response threshold (the "How we respond" page counts a longer wait as overdue)."""
    debate_threshold: int = 100_000
    """Signatures at which the petition is considered for debate."""
    areas: tuple[str, ...] = ("Central", "North", "South", "East", "West", "Riverside", "Hillside", "Outside the city")
    """Areas a signer can choose (comma-separated); signatures are counted per area. The site's one list of areas: consultation participants may choose one too."""
    postcode_areas: tuple[str, ...] = ()
    """Optional postcode prefixes mapped to areas, as `PREFIX=Area` items (comma-separated); unmapped postcodes count under their outward code."""
    area_boundaries: str = ""
    """Path to a GeoJSON FeatureCollection of the areas' boundaries (each feature's `properties.name` an area, Polygon or MultiPolygon geometry, longitude/latitude, at most 5 MB). Petition pages then draw signatures by area, and consultation pages participants by area, as a map; empty: tables (and petitions' bar chart) only. `civic serve --demo` uses the synthetic `petitions/demo_data/areas.geojson`."""
    sign_rate_burst: str = "1/60"
    """Signatures allowed per IP address and petition in a short burst: `count/seconds`."""
    sign_rate_sustained: str = "5/300"
    """Signatures allowed per IP address and petition over a longer window: `count/seconds`."""
    start_rate_burst: str = "1/60"
    """New petitions allowed per IP address in a short burst: `count/seconds`."""
    start_rate_sustained: str = "5/3600"
    """New petitions allowed per IP address over a longer window: `count/seconds`."""
    max_confirmation_emails: int = 3
    """How many times a confirmation e-mail is sent for one signature (repeat attempts re-send it)."""
    confirm_token_days: int = 30
    """Days an e-mailed confirmation link stays valid."""
    sponsor_link_days: int = 30
    """Days the supporter link e-mailed to a petition's creator stays usable (it stops working anyway once the petition is published or rejected)."""
    anonymise_after_days: int = 182
    """Days after closing when signers' names, e-mail and IP addresses are erased."""
    settle_interval_seconds: float = 1.0
    """How often (seconds) confirmed signatures are counted into the published totals."""
    page_cache_seconds: int = 5
    """Seconds a rendered petition page or count is served from memory and allowed in shared caches."""
    stale_while_revalidate_seconds: int = 60
    """Seconds a cache may serve a stale petition page or count while it fetches a fresh one."""
    count_poll_seconds: int = 10
    """How often (seconds) an open petition page refreshes its count with htmx."""
    page_size: int = 20
    """Petitions per page in lists and the open-data API."""
    paper_max_per_entry: int = 5000
    """Most paper signatures one clerk's entry (or correction) may record, all areas together; a larger count is refused as implausible (record big deliveries in several entries, one per box or bundle)."""
    paper_rate: str = "30/300"
    """Paper-signature entries and corrections one clerk may record in a window: `count/seconds`."""
