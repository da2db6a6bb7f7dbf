"""The parts of a web process that live as long as it does, and their lifespans: the
database pool, the live bus and this process's outbox on it (core.bus: memory, Redis or
PostgreSQL), the hub that hands committed events to this process's websockets, presence,
the desks' proof of life (auto-offline), the SMTP listener and the background workers.

One `Live` per application, kept on `app.state.live`; doors reach its parts through the
`hub`, `presence` and `settings` dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide

from app.channels import runtime, smtp_listener
from app.core import bus
from app.core.hub import Hub
from app.db.piccolo_conf import DB
from app.db.pool import close_pool
from app.desk.liveness import DeskLife
from app.desk.presence import Presence
from app.routing import availability
from app.settings import Settings
from app.workers.runner import Workers

log = logging.getLogger("convodesk")


class Live:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = bus.connect(settings)
        self.outbox = bus.Outbox(self.bus)
        self.hub = Hub()
        self.presence = Presence(self.publish)
        self.hub.watch(self.presence.on_notice)
        self.desk_life = DeskLife(availability.heartbeat_seconds(settings))

    async def publish(self, notice: dict[str, Any]) -> None:
        """Presence's notices go out like events' (they are not events: nothing stores
        them)."""
        self.outbox.put([notice])

    def heard(self, notice: dict[str, Any]) -> None:
        """Every notice this process hears, from itself or from other processes."""
        self.hub.notify(notice)

    def dependencies(self) -> dict[str, Provide]:
        return {
            "settings": Provide(lambda: self.settings, use_cache=True, sync_to_thread=False),
            "hub": Provide(lambda: self.hub, use_cache=True, sync_to_thread=False),
            "presence": Provide(lambda: self.presence, use_cache=True, sync_to_thread=False),
            "desk_life": Provide(lambda: self.desk_life, use_cache=True, sync_to_thread=False),
        }

    @asynccontextmanager
    async def database(self, _: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        await DB.start_connection_pool(min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        bus.attach(self.outbox)
        yield
        bus.attach(None)
        await runtime.close()
        await close_pool()

    @asynccontextmanager
    async def realtime(self, _: Litestar) -> AsyncIterator[None]:
        # The bus is up before anything announces, and down only after the workers stop.
        await self.bus.start()
        self.outbox.start()
        async with smtp_listener.serving(self.settings):
            listener = asyncio.create_task(bus.listen(self.bus, self.heard), name="bus-listener")
            self.presence.start()
            self.desk_life.start()
            workers = Workers(self.settings, self.hub)
            if self.settings.run_workers:
                workers.start()
            yield
            await workers.stop()
            await self.presence.close()
            await self.desk_life.close()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            await self.hub.close()
        await self.outbox.close()
        await self.bus.close()
