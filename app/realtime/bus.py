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

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

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
