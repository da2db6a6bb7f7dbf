"""The retention timer: prunes events past `CONVODESK_EVENT_RETENTION_DAYS` every
`CONVODESK_EVENT_PRUNE_INTERVAL` seconds (core.event_retention says what is kept)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.core.event_retention import prune
from app.settings import Settings

log = logging.getLogger(__name__)
# The first round waits this long (or one interval, if shorter). At start every worker
# asks the pool for a connection at once; a prune among them made the pool open one more
# connection for good, and the sender's work spread over one more backend cost PostgreSQL
# about 25% more CPU per message (docs/PERFORMANCE.md, "the sender's database CPU").
FIRST_ROUND_DELAY = 60.0


async def run(settings: Settings) -> None:
    retention = timedelta(days=settings.event_retention_days)
    await asyncio.sleep(min(FIRST_ROUND_DELAY, settings.event_prune_interval_seconds))
    while True:
        try:
            pruned = await prune(retention)
            if pruned:
                log.info("retention: %d event(s) pruned", pruned)
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("event pruning failed")
        await asyncio.sleep(settings.event_prune_interval_seconds)
