"""Every setting Convodesk reads, in one object, from the environment.

`Settings.from_env()` validates everything it reads and raises `SettingsError` with a
one-line message naming the variable, which the CLI prints before it exits; nothing else
in the code base looks at `os.environ` for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

PASSWORD_HASHINGS = ("standard", "fast")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


_N = TypeVar("_N", int, float)


def _number(
    env: dict[str, str], name: str, default: _N, lo: _N, hi: _N, kind: type[_N], what: str
) -> _N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _int(env: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    return _number(env, name, default, lo, hi, int, "a whole number")


def _choice(env: dict[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "0").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {raw!r}")


def _float(env: dict[str, str], name: str, default: float, lo: float, hi: float) -> float:
    return _number(env, name, default, lo, hi, float, "a number of seconds")


def _region(env: dict[str, str]) -> str:
    raw = (env.get("CONVODESK_DEFAULT_REGION") or "US").strip().upper()
    if len(raw) != 2 or not raw.isalpha():
        raise SettingsError(
            f"CONVODESK_DEFAULT_REGION must be a two-letter country code, got {raw!r}"
        )
    return raw


def _database_url(env: dict[str, str]) -> str | None:
    raw = (env.get("DATABASE_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SettingsError(f"DATABASE_URL must start with postgresql://, got {parts.scheme!r}")
    return raw


def _public_url(env: dict[str, str]) -> str:
    raw = (env.get("CONVODESK_PUBLIC_URL") or "http://127.0.0.1:8000").strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            "CONVODESK_PUBLIC_URL must be an http(s) URL like https://desk.example.com,"
            f" got {raw!r}"
        )
    return raw


def _redis_url(env: dict[str, str]) -> str | None:
    raw = (env.get("CONVODESK_REDIS_URL") or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise SettingsError(
            f"CONVODESK_REDIS_URL must be a Redis URL like redis://127.0.0.1:6379/0, got {raw!r}"
        )
    return raw


def _event_bus(env: dict[str, str], redis_url: str | None) -> str:
    bus = _choice(
        env,
        "CONVODESK_EVENT_BUS",
        "redis" if redis_url else "memory",
        ("memory", "postgres", "redis"),
    )
    if bus == "redis" and redis_url is None:
        raise SettingsError("CONVODESK_EVENT_BUS=redis needs CONVODESK_REDIS_URL")
    return bus


def _secret_key(env: dict[str, str]) -> str | None:
    raw = env.get("CONVODESK_SECRET_KEY")
    if raw is None or raw == "":
        return None
    if len(raw) < 32:
        raise SettingsError("CONVODESK_SECRET_KEY must be at least 32 characters long")
    return raw


def _api_base(env: dict[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw


@dataclass(frozen=True, slots=True)
class ProviderBases:
    """Where each provider's API lives: the real ones by default; tests and staging point
    them at local servers that speak the same wire format."""

    twilio: str = "https://api.twilio.com"
    line: str = "https://api.line.me"
    line_data: str = "https://api-data.line.me"
    whatsapp: str = "https://graph.facebook.com"
    whatsapp_version: str = "v21.0"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> ProviderBases:
        real = cls()
        version = (env.get("CONVODESK_WHATSAPP_API_VERSION") or real.whatsapp_version).strip()
        if not (version.startswith("v") and version[1:].replace(".", "").isdigit()):
            raise SettingsError(
                f"CONVODESK_WHATSAPP_API_VERSION must look like v21.0, got {version!r}"
            )
        return cls(
            twilio=_api_base(env, "CONVODESK_TWILIO_API_BASE", real.twilio),
            line=_api_base(env, "CONVODESK_LINE_API_BASE", real.line),
            line_data=_api_base(env, "CONVODESK_LINE_DATA_API_BASE", real.line_data),
            whatsapp=_api_base(env, "CONVODESK_WHATSAPP_API_BASE", real.whatsapp),
            whatsapp_version=version,
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    """None means: start the embedded PostgreSQL under `data_dir`."""
    data_dir: Path
    secret_key: str | None
    """None is only allowed with the embedded database (a key is kept in `data_dir`)."""
    public_url: str
    smtp_host: str | None
    """Where the inbound SMTP listener binds; None: the host `serve` listens on."""
    smtp_port: int
    """The inbound SMTP listener; 0 turns it off."""
    header_timeout_seconds: float
    """A request's head (request line and headers) must arrive within this; a body gets
    this long as grace before its rate floor applies."""
    body_min_rate: int
    """Bytes per second a request body must average after the grace; slower is cut off."""
    keepalive_timeout_seconds: float
    """An idle keep-alive connection is closed after this."""
    max_connections: int
    """Open connections per process (lowered to what the file limit allows); at the cap the
    oldest connection still waiting for a request head makes room."""
    providers: ProviderBases
    token_ttl_seconds: int
    max_body_bytes: int
    redis_url: str | None
    """Redis, through which processes exchange event notices and presence."""
    event_bus: str
    """`memory` (one process), `redis` (the default when `redis_url` is set) or `postgres`
    (LISTEN/NOTIFY from one coalescing publisher per process: the fallback without Redis)."""
    db_pool_min: int
    db_pool_max: int
    log_level: str
    allow_private_webhooks: bool
    idle_after_seconds: int
    """A room with no message for this long goes from active to idle."""
    close_after_seconds: int
    """A room with no message for this long is closed."""
    lifecycle_interval_seconds: float
    """How often the lifecycle worker looks for rooms to idle or close."""
    routing_tick_seconds: float
    """How often the routing timer looks for rooms to reassign (a team's reassign_after)
    and for queues a member has room for."""
    auto_offline_after_seconds: int
    """An agent whose desks gave no sign of life for this long becomes offline (and online
    again when it returns, if it was online)."""
    default_region: str
    """Country assumed for phone numbers written without +country code (ISO 3166, "US")."""
    run_workers: bool
    """Whether `serve` runs the background workers in its own process(es)."""
    send_lease_seconds: int
    """How long a sender worker holds a message it is sending; a worker that dies leaves it
    to be sent by another once this runs out."""
    send_concurrency: int
    """How many messages one sender worker has at providers at once."""
    webhook_lease_seconds: int
    """How long a webhook dispatcher holds a delivery it is making (longer than the 5 s an
    endpoint has to answer); a dispatcher that dies leaves it to another after this."""
    webhook_concurrency: int
    """How many deliveries one dispatcher has in flight at once, over all endpoints."""
    webhook_endpoint_concurrency: int
    """How many of them may wait on one endpoint: a slow or dead endpoint holds at most
    this many, so the others' deliveries always find room."""
    event_retention_days: int
    """Events older than this are pruned (except those a webhook delivery still needs);
    a client resuming from a pruned event is told to reload."""
    event_prune_interval_seconds: float
    """How often the workers prune events past the retention."""
    password_hashing: str
    """`standard`: Argon2id with the argon2-cffi defaults. `fast`: Argon2id at its lowest
    cost, for test suites that create and sign in thousands of agents; never in production."""
    snooze_tick_seconds: float
    """How often the snooze worker wakes the rooms whose snooze time has come."""
    csat_tick_seconds: float
    """How often the survey worker sends the satisfaction surveys whose delay has passed
    (a close wakes it at once)."""
    sla_tick_seconds: float
    """How often the SLA worker gives the warnings and breaches whose time has come."""
    automation_tick_seconds: float
    """How often the automation worker runs the time rules whose rooms are due."""
    reports_tick_seconds: float
    """How often the reports' worker folds new events into the customers' message counts
    (a report folds what is left before it reads, so this only keeps that short)."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(
            env.get("CONVODESK_DATA_DIR") or Path.home() / ".local" / "share" / "convodesk"
        ).expanduser()
        pool_max = _int(env, "CONVODESK_DB_POOL_SIZE", 10, 2, 500)
        redis_url = _redis_url(env)
        return cls(
            database_url=_database_url(env),
            data_dir=data_dir.resolve(),
            secret_key=_secret_key(env),
            public_url=_public_url(env),
            smtp_host=(env.get("CONVODESK_SMTP_HOST") or "").strip() or None,
            smtp_port=_int(env, "CONVODESK_SMTP_PORT", 2525, 0, 65535),
            header_timeout_seconds=_float(env, "CONVODESK_HEADER_TIMEOUT", 10.0, 0.1, 600),
            body_min_rate=_int(env, "CONVODESK_BODY_MIN_RATE", 1024, 1, 1 << 30),
            keepalive_timeout_seconds=_float(env, "CONVODESK_KEEPALIVE_TIMEOUT", 5.0, 0.1, 3600),
            max_connections=_int(env, "CONVODESK_MAX_CONNECTIONS", 10000, 16, 1_000_000),
            providers=ProviderBases.from_env(env),
            token_ttl_seconds=_int(env, "CONVODESK_TOKEN_TTL", 86400, 60, 90 * 86400),
            max_body_bytes=_int(env, "CONVODESK_MAX_BODY_BYTES", 1 << 20, 1024, 1 << 30),
            redis_url=redis_url,
            event_bus=_event_bus(env, redis_url),
            db_pool_min=min(2, pool_max),
            db_pool_max=pool_max,
            log_level=_choice(
                env, "CONVODESK_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
            ),
            allow_private_webhooks=_bool(env, "CONVODESK_ALLOW_PRIVATE_WEBHOOKS"),
            idle_after_seconds=_int(env, "CONVODESK_IDLE_AFTER", 30 * 60, 1, 365 * 86400),
            close_after_seconds=_int(env, "CONVODESK_CLOSE_AFTER", 7 * 86400, 1, 3650 * 86400),
            lifecycle_interval_seconds=_float(
                env, "CONVODESK_LIFECYCLE_INTERVAL", 30.0, 0.05, 3600
            ),
            routing_tick_seconds=_float(env, "CONVODESK_ROUTING_TICK", 5.0, 0.05, 3600),
            auto_offline_after_seconds=_int(env, "CONVODESK_AUTO_OFFLINE_AFTER", 300, 1, 7 * 86400),
            default_region=_region(env),
            run_workers=not _bool(env, "CONVODESK_NO_WORKERS"),
            send_lease_seconds=_int(env, "CONVODESK_SEND_LEASE", 60, 5, 3600),
            send_concurrency=_int(env, "CONVODESK_SEND_CONCURRENCY", 32, 1, 1000),
            webhook_lease_seconds=_int(env, "CONVODESK_WEBHOOK_LEASE", 30, 6, 3600),
            webhook_concurrency=_int(env, "CONVODESK_WEBHOOK_CONCURRENCY", 256, 1, 10000),
            webhook_endpoint_concurrency=_int(
                env, "CONVODESK_WEBHOOK_ENDPOINT_CONCURRENCY", 32, 1, 10000
            ),
            event_retention_days=_int(env, "CONVODESK_EVENT_RETENTION_DAYS", 30, 1, 36500),
            event_prune_interval_seconds=_float(
                env, "CONVODESK_EVENT_PRUNE_INTERVAL", 3600.0, 0.05, 86400
            ),
            password_hashing=_choice(
                env, "CONVODESK_PASSWORD_HASHING", "standard", PASSWORD_HASHINGS
            ),
            snooze_tick_seconds=_float(env, "CONVODESK_SNOOZE_TICK", 10.0, 0.05, 3600),
            csat_tick_seconds=_float(env, "CONVODESK_CSAT_TICK", 10.0, 0.05, 3600),
            sla_tick_seconds=_float(env, "CONVODESK_SLA_TICK", 10.0, 0.05, 3600),
            automation_tick_seconds=_float(env, "CONVODESK_AUTOMATION_TICK", 30.0, 0.05, 3600),
            reports_tick_seconds=_float(env, "CONVODESK_REPORTS_TICK", 5.0, 0.05, 3600),
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def require_secret_key(self) -> str:
        if self.secret_key is None:
            raise SettingsError(
                "CONVODESK_SECRET_KEY is not set (it is required when DATABASE_URL is set)"
            )
        return self.secret_key

    def require_database_url(self) -> str:
        """The database URL, once `app.db.engine.resolve()` has found or started one."""
        if self.database_url is None:
            raise SettingsError("DATABASE_URL is not resolved; call app.db.engine.resolve()")
        return self.database_url
