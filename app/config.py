"""Settings: every knob an operator can turn, read from `CIVIC_*` environment variables and `.env`.

Nothing else reads the environment; `load_settings()` is called by the composition root
and the resulting frozen `Settings` is passed down.
"""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from starlette.config import Config

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "dev", "xxx"})


class SettingsError(RuntimeError):
    """Raised when settings are unusable; the message says what to change."""


def _csv(value) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):  # starlette's Config casts defaults too
        return tuple(value)
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Typed application settings. Each field maps to `CIVIC_<NAME>` (upper-case)."""

    database_url: str = "sqlite:///civic.db"
    """SQLAlchemy URL. Default: a SQLite file `civic.db` in the working directory. PostgreSQL: `postgresql://user@host/db`."""
    secret_key: str = ""
    """Signs session cookies and e-mailed tokens. Generated and stored in `<data_dir>/secret_key` when absent."""
    debug: bool = False
    """Show tracebacks in the browser and allow insecure cookies. Never in production."""
    production: bool = False
    """Production mode: refuse to start with a placeholder secret key."""
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "testserver")
    """Host names the app answers to (comma-separated; `*` for any)."""
    base_url: str = "http://127.0.0.1:8000"
    """Public URL used in e-mailed links."""
    site_name: str = "Civic"
    """The name of this site: the end of every page's title, and the publisher in every open-data snapshot and in its "How to cite" line (e.g. `Riverton City Council`)."""
    smtp_url: str = ""
    """`smtp://user:password@host:port` or `smtps://...`; empty logs mail to the console instead (see `civic outbox`)."""
    mail_from: str = "Civic <no-reply@civic.localhost>"
    """Sender address of every e-mail."""
    data_dir: Path = Path("var")
    """Directory for the generated secret key, trained models and other runtime files."""
    default_locale: str = "en"
    """Language for visitors who have not chosen one and send no usable Accept-Language (`en` or `zh-Hans`)."""
    run_worker_in_process: bool = True
    """Run background jobs (mail, counts, closing petitions, analysis) inside each app process. Set false when running `civic worker` separately."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses of your reverse proxies (comma-separated IPs or CIDR ranges). Only requests from these may set the client IP with `X-Forwarded-For`; empty trusts none, so the client IP is the connecting address. Set it (e.g. `127.0.0.1`) only when a proxy on that address always overwrites the header."""
    rate_limit_allowlist: tuple[str, ...] = ()
    """CIDR ranges exempt from per-IP rate limits (shared networks such as libraries or council offices)."""
    session_max_age_days: int = 14
    """How long a sign-in lasts, in days, however active the browser is; then the person signs in again. Signing out, "sign out everywhere" and role changes end sessions at once."""
    login_rate_limit: str = "5/300"
    """Sign-in link requests allowed per IP and per address: `count/seconds`."""
    max_body_bytes: int = 1_000_000
    """Largest request body accepted; bigger requests get 413."""
    job_lease_seconds: int = 300
    """How long a worker owns a claimed job before another worker may take it over (crash recovery)."""
    train_model_on_start: bool = True
    """Train the abuse model in the background on first start when none is installed."""
    strict_templates: bool = False
    """Fail on a template variable that is not defined instead of showing it empty (the test suite turns it on; debug always does)."""
    ready_outbox_max_age_seconds: int = 900
    """`/readyz` answers 503 when the oldest e-mail still waiting in the outbox is older than this (seconds; 0: no limit)."""
    ready_job_backlog_max: int = 1000
    """`/readyz` answers 503 when more background jobs than this are due and not yet done (0: no limit)."""
    ready_job_max_wait_seconds: int = 1800
    """`/readyz` answers 503 when the longest-waiting due job has waited longer than this (seconds; 0: no limit)."""
    log_requests: bool = True
    """Write one JSON line per request to stderr (`civic.access`; some tens of microseconds each). Turn off when your proxy logs requests already."""
    log_personal_data: bool = False
    """Debugging only: let e-mail addresses and client IP addresses into the logs (masked as `[email]` and `[ip]` otherwise)."""
    metrics_token: str = ""
    """Bearer token that `/metrics` asks for (`Authorization: Bearer <token>`). With neither this nor `CIVIC_METRICS_ALLOW`, `/metrics` answers 401 to everyone."""
    metrics_allow: tuple[str, ...] = ()
    """Client addresses (comma-separated IPs or CIDR ranges) that may read `/metrics` without the token, e.g. your Prometheus server."""
    analysis_threads: int = 1
    """BLAS/OpenMP threads one consultation analysis (themes, opinion groups) may use. 1 keeps busy shared hosts predictable: more threads made k-means several times slower there."""

    @property
    def https_only(self) -> bool:
        return not self.debug

    def allowlisted(self, ip: str | None) -> bool:
        return bool(ip) and _in_networks(ip, tuple(self.rate_limit_allowlist))


@functools.lru_cache(maxsize=4096)  # asked on every signature; parsing addresses each time showed in profiles
def _in_networks(ip: str, networks: tuple[str, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in networks)


def _cast_for(f: dataclasses.Field):
    default = f.default
    if isinstance(default, bool):
        return _bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    if isinstance(default, tuple):
        return _csv
    if isinstance(default, Path):
        return Path
    return str


def load_section(cls, prefix: str = "CIVIC_", env_file: str | Path | None = ".env", **overrides):
    """Build any settings dataclass from `<prefix><FIELD>` variables, `.env` and overrides (overrides win).

    Domains own their settings (`petitions.config.PetitionSettings` reads `CIVIC_PETITIONS_*`);
    the composition root loads each section with this one function.
    """
    env_path = Path(env_file) if env_file else None
    config = Config(env_path if env_path and env_path.is_file() else None, env_prefix=prefix)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in overrides:
            values[f.name] = overrides[f.name]
            continue
        try:
            values[f.name] = config(f.name.upper(), cast=_cast_for(f), default=f.default)
        except ValueError as exc:
            raise SettingsError(f"{prefix}{f.name.upper()} is not valid: {exc}. Fix or unset it.") from exc
    return cls(**values)


def load_settings(env_file: str | Path | None = ".env", **overrides) -> Settings:
    """Build the core Settings from the environment, `.env` and explicit overrides."""
    return ensure_secret_key(load_section(Settings, "CIVIC_", env_file, **overrides))


def ensure_secret_key(settings: Settings) -> Settings:
    """Return settings with a usable secret key, generating and storing one on first start."""
    key = settings.secret_key.strip()
    if key and key.lower() not in PLACEHOLDER_SECRETS:
        if len(key) < 16 and settings.production:
            raise SettingsError("CIVIC_SECRET_KEY is too short for production: use at least 32 random characters.")
        return settings
    if key and settings.production:
        raise SettingsError(
            "CIVIC_SECRET_KEY is a placeholder. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))') or unset it to generate one."
        )
    path = Path(settings.data_dir) / "secret_key"
    if path.is_file() and path.read_text().strip():
        stored = path.read_text().strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = secrets.token_urlsafe(48)
        path.write_text(stored)
        path.chmod(0o600)
    return dataclasses.replace(settings, secret_key=stored)


def parse_rate(spec: str) -> tuple[int, int]:
    """Parse `count/seconds` into a tuple; raises SettingsError with a hint when malformed."""
    try:
        count, seconds = spec.split("/")
        return int(count), int(seconds)
    except ValueError as exc:
        raise SettingsError(f"Rate limit {spec!r} must look like '5/300' (count per seconds).") from exc
