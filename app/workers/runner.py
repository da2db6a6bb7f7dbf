"""Starts and stops the background workers as one group."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from app.automation import engine as automation
from app.automation import timers as automation_timers
from app.conversations import lifecycle, sender, snooze
from app.core.hub import Hub
from app.csat import sender as csat
from app.domain.enums import EventType
from app.reports import volume as report_counts
from app.routing import availability, reassign
from app.settings import Settings
from app.sla import worker as sla_worker
from app.webhooks import dispatcher as webhooks
from app.workers import retention

log = logging.getLogger(__name__)


class Workers:
    def __init__(self, settings: Settings, hub: Hub | None = None) -> None:
        self.settings = settings
        self.wake_sender = asyncio.Event()
        self.wake_webhooks = asyncio.Event()
        self.wake_csat = asyncio.Event()
        self.tasks: list[asyncio.Task] = []
        if hub is not None:
            hub.watch(self.on_notice)

    def on_notice(self, notice: dict) -> None:
        # any event may be one a webhook subscribes to
        self.wake_webhooks.set()
        # a new message, or a failed one sent again, may be waiting in the queue
        if notice.get("type") in (
            EventType.CONVERSATION_MESSAGE_CREATED,
            EventType.CONVERSATION_MESSAGE_UPDATED,
        ):
            self.wake_sender.set()
        # a closed room's survey may be due now (no delay)
        if notice.get("type") == EventType.CONVERSATION_CLOSED:
            self.wake_csat.set()

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(
                sender.run(self.wake_sender, concurrency=self.settings.send_concurrency),
                name="sender",
            ),
            asyncio.create_task(lifecycle.run(self.settings), name="lifecycle"),
            asyncio.create_task(automation_timers.run(self.settings), name="automation-timer"),
            asyncio.create_task(reassign.run(self.settings), name="routing-timer"),
            asyncio.create_task(retention.run(self.settings), name="event-retention"),
            asyncio.create_task(availability.run(self.settings), name="auto-offline"),
            asyncio.create_task(
                webhooks.run(self.settings, self.wake_webhooks), name="webhook-dispatcher"
            ),
            asyncio.create_task(snooze.run(self.settings), name="snooze"),
            asyncio.create_task(csat.run(self.settings, self.wake_csat), name="csat"),
            asyncio.create_task(sla_worker.run(self.settings), name="sla"),
            asyncio.create_task(report_counts.run(self.settings), name="report-counts"),
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
    commit on the bus (Redis, or PostgreSQL when the settings name no bus that crosses
    processes), so the web processes' websockets hear it, and they hear the web
    processes' notices to start work at once (without them they still poll)."""
    from app.channels import runtime
    from app.core import bus
    from app.db.engine import engine_config
    from app.db.piccolo_conf import DB
    from app.db.pool import close_pool

    database_url = settings.require_database_url()
    DB.config = engine_config(database_url)
    runtime.configure(settings)
    automation.install()  # rules run in this process's transactions too
    await DB.start_connection_pool(min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    line = bus.connect(settings, across_processes=True)
    await line.start()
    outbox = bus.Outbox(line)
    outbox.start()
    bus.attach(outbox)
    workers = Workers(settings)
    workers.start()
    listener = asyncio.create_task(bus.listen(line, workers.on_notice), name="bus-listener")
    # SIGTERM and Ctrl+C ask the loop to stop, and the workers then stop as they do inside
    # `serve`. (A SystemExit raised from a plain signal handler lands inside whichever task
    # runs at that moment; the shutdown could then hang with a connection half closed.)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    running: asyncio.Future[Any] = asyncio.gather(*workers.tasks)
    asked: asyncio.Future[Any] = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({running, asked}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # a worker failed: its exception ends the process
    finally:
        asked.cancel()
        await workers.stop()
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        bus.attach(None)
        await outbox.close()
        await line.close()
        await runtime.close()
        await close_pool()
