"""Starts and stops the background workers as one group."""

from __future__ import annotations

import asyncio
import contextlib

from app.realtime.hub import Hub
from app.settings import Settings
from app.workers import lifecycle, sender


class Workers:
    def __init__(self, settings: Settings, hub: Hub | None = None) -> None:
        self.settings = settings
        self.wake_sender = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        if hub is not None:
            hub.watch(self._on_notice)

    def _on_notice(self, notice: dict) -> None:
        # a new message, or a failed one sent again, may be waiting in the queue
        if notice.get("type") in ("conversation_message_created", "conversation_message_updated"):
            self.wake_sender.set()

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(sender.run(self.wake_sender), name="sender"),
            asyncio.create_task(lifecycle.run(self.settings), name="lifecycle"),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks = []


async def run_standalone(settings: Settings) -> None:
    """`convodesk worker`: the workers without a web server. They announce what they
    commit over PostgreSQL, so the web processes' websockets hear it."""
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.realtime import bus

    DB.config = engine_config(settings.database_url)
    await DB.start_connection_pool(min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    publisher = bus.PostgresPublisher(settings.database_url)
    bus.attach(publisher)
    workers = Workers(settings)
    workers.start()
    try:
        await asyncio.gather(*workers.tasks)
    finally:
        await workers.stop()
        bus.attach(None)
        await publisher.close()
        await DB.close_connection_pool()
