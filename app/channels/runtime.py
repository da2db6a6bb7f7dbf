"""What drivers need from the running process: the provider API base URLs, the public URL
providers call back, and one shared HTTP client per event loop (connection reuse matters
to the sender's throughput).

`configure(settings)` is called by the web app and the standalone worker; code that never
called it (service tests, benchmarks) gets the settings read from the environment.
"""

from __future__ import annotations

import asyncio
import weakref

import httpx

from app.settings import Settings

_settings: Settings | None = None
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def configure(settings: Settings) -> None:
    global _settings
    _settings = settings


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def hook_url(account_type: str, account_id: str, sub: str = "") -> str:
    """The URL a provider must call for this account: what the setup page shows."""
    url = f"{settings().public_url}/hooks/{account_type}/{account_id}"
    return f"{url}/{sub}" if sub else url


def http() -> httpx.AsyncClient:
    """The HTTP client for provider calls on the running loop. Redirects are not followed:
    a provider API that redirects is misconfigured, and following would resend secrets."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=TIMEOUT,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            headers={"User-Agent": "Convodesk/1.0"},
        )
        _clients[loop] = client
    return client


async def close() -> None:
    """Close this loop's client (at shutdown)."""
    loop = asyncio.get_running_loop()
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()
