"""The lifecycle timers: active → idle → closed for rooms without messages; and the
housekeeping that goes with them (early delivery statuses nobody claimed)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.conversations.messages import forget_early_statuses
from app.conversations.service import sweep_lifecycle
from app.settings import Settings

log = logging.getLogger(__name__)


async def run(settings: Settings) -> None:
    idle_after = timedelta(seconds=settings.idle_after_seconds)
    close_after = timedelta(seconds=settings.close_after_seconds)
    while True:
        try:
            idled, closed = await sweep_lifecycle(idle_after=idle_after, close_after=close_after)
            if idled or closed:
                log.info("lifecycle: %d room(s) idle, %d closed", idled, closed)
            await forget_early_statuses()
        except Exception:  # noqa: BLE001 - try again next round
            log.exception("lifecycle sweep failed")
        await asyncio.sleep(settings.lifecycle_interval_seconds)
