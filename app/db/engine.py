"""Where the database is: an external PostgreSQL from DATABASE_URL, or an embedded one.

When DATABASE_URL is unset, the first caller starts (or reuses) a PostgreSQL server from
the `pgserver` package under `<data dir>/pg`, makes sure a `convodesk` database exists,
and exports its URI as DATABASE_URL so that everything after it — Piccolo's engine, uvicorn
worker processes, the CLI's child commands — talks to the same server. The server stops
when the last process that started it exits (pgserver counts its users).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.settings import Settings

_embedded = None  # the pgserver handle; kept alive for the life of this process
EMBEDDED_DB = "convodesk"


def start_embedded(data_dir: Path) -> str:
    """Start or reuse the embedded PostgreSQL and return a URI for its `convodesk` database."""
    global _embedded
    import warnings

    # pgserver keeps a lock file in the user's runtime dir; without XDG_RUNTIME_DIR set
    # (containers, CI) platformdirs warns and falls back to /tmp, which is fine.
    warnings.filterwarnings("ignore", category=UserWarning, module="platformdirs")
    import pgserver  # imported here: only the embedded mode needs it

    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    if _embedded is None:
        _embedded = pgserver.get_server(pgdata)
    exists = _embedded.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB}';")
    if "(1 row)" not in exists:
        _embedded.psql(f"CREATE DATABASE {EMBEDDED_DB};")
    return _embedded.get_uri(EMBEDDED_DB)


def engine_config(url: str) -> dict:
    """How the app connects (Piccolo's engine, its pool, and plain asyncpg connections)."""
    return {"dsn": url}


def database_url(settings: Settings) -> str:
    """The URL to connect to; starts the embedded server when none is configured."""
    if settings.database_url:
        return settings.database_url
    url = start_embedded(settings.data_dir)
    os.environ["DATABASE_URL"] = url
    return url


def embedded_secret_key(data_dir: Path) -> str:
    """The signing key of an embedded installation, made once and kept beside its data."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def resolve(settings: Settings) -> Settings:
    """Settings with a concrete database URL and secret key, exported for child processes."""
    url = database_url(settings)
    key = settings.secret_key
    if key is None and settings.database_url is None:
        key = embedded_secret_key(settings.data_dir)
        os.environ["CONVODESK_SECRET_KEY"] = key
    resolved = settings.with_overrides(database_url=url, secret_key=key)
    resolved.require_secret_key()
    return resolved
