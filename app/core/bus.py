"""The live bus: how one process tells every process that events were committed.

The bus carries only small notices — `{"id": <event id>, "customer_id": ..., "type": ...}`
— never the resource itself: readers load what they need from the `events` table, which
is the source of truth. So a notice that is lost (a crash between commit and publish, a
dropped LISTEN connection) delays a reader until its next catch-up; it never loses data.

The service layer calls `announce()`; the web app attaches a publisher (Litestar channels
with the memory or PostgreSQL backend) at start-up. Without one attached — the CLI
seeding demo data, say — announcing does nothing, which is right: nobody is listening
in that process, and the rows are already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "convodesk_events"
"""The one channel every notice goes to (a PostgreSQL NOTIFY channel name, too)."""

Publisher = Callable[[dict[str, Any]], Awaitable[None]]

_publisher: Publisher | None = None


def attach(publisher: Publisher | None) -> None:
    global _publisher
    _publisher = publisher


async def announce(notices: Iterable[dict[str, Any]]) -> None:
    """Publish notices of committed events; failures are logged, never raised, because the
    caller's change has already committed and readers catch up from the table."""
    if _publisher is None:
        return
    for notice in notices:
        try:
            await _publisher(notice)
        except Exception:  # noqa: BLE001 - see docstring
            log.exception("could not publish event %s on the live bus", notice.get("id"))


class PostgresPublisher:
    """Publishes notices with NOTIFY on one reused connection (reopened after a failure):
    for processes without the web app (`convodesk worker`), which must still tell the web
    processes about the events they commit. The payload is what Litestar's asyncpg
    channels backend delivers to its subscribers."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: asyncpg.Connection | None = None
        # one connection runs one statement at a time; concurrent senders take turns
        # (without this, the second would fail and reconnect — a connection per notice)
        self._turn = asyncio.Lock()

    async def __call__(self, notice: dict[str, Any]) -> None:
        import msgspec

        payload = msgspec.json.encode(notice).decode()
        async with self._turn:
            await self._publish(payload)

    async def _publish(self, payload: str) -> None:
        import asyncpg

        for attempt in (1, 2):
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn)
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                self._conn = None
                if attempt == 2:
                    raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
