"""The live bus (core.bus): notices of committed events reach every process — here two
bus connections stand for two processes — through Redis or PostgreSQL, coalesced by the
publishing process's outbox; and the settings that choose the bus."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import pytest
from conftest import REDIS_URL, cli_env

from app.core import bus
from app.core.events import record_event, transaction
from app.people import customers
from app.settings import Settings, SettingsError


@pytest.fixture
async def customer_id() -> str:
    customer, _ = await customers.create_customer(
        name="Bus Inc", username="bus-admin", password="bus-pass"
    )
    return customer.id


def _settings(db_url: str, **env: str | None) -> Settings:
    return Settings.from_env(cli_env(DATABASE_URL=db_url, **env))


class Heard:
    """A process's listener: what it heard, and a way to wait for what it must hear."""

    def __init__(self) -> None:
        self.notices: list[dict] = []
        self.changed = asyncio.Event()

    def __call__(self, notice: dict) -> None:
        self.notices.append(notice)
        self.changed.set()

    async def until(self, check, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while not check(self.notices):
                self.changed.clear()
                await self.changed.wait()


async def _line(settings: Settings) -> tuple[bus.Bus, Heard, asyncio.Task]:
    line = bus.connect(settings)
    await line.start()
    heard = Heard()
    task = asyncio.create_task(bus.listen(line, heard))
    return line, heard, task


async def _subscribed(sender: bus.Bus, heard: Heard) -> None:
    """Publish probes until the listener hears one: its subscription is in place."""
    async with asyncio.timeout(10):
        while not any(n.get("type") == "probe" for n in heard.notices):
            await sender.publish(b'[{"type": "probe"}]')
            # a probe published before the subscription is lost: publish another soon
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await heard.changed.wait()


@pytest.mark.parametrize("kind", ["redis", "postgres"])
async def test_a_commit_in_one_process_is_heard_in_another(customer_id, db_url, kind):
    env = {"CONVODESK_EVENT_BUS": kind}
    writer = bus.connect(_settings(db_url, **env))
    other, heard, listening = await _line(_settings(db_url, **env))
    outbox = bus.Outbox(writer)
    outbox.start()
    bus.attach(outbox)
    try:
        await _subscribed(writer, heard)
        async with transaction():
            await record_event(customer_id, "conversation_created", {"id": "x"})
        await heard.until(lambda ns: any(n.get("customer_id") == customer_id for n in ns))
        (notice,) = [n for n in heard.notices if n.get("customer_id") == customer_id]
        assert notice["type"] == "conversation_created" and notice["id"] > 0
        assert 0 <= bus.heard_after(notice) < 10
    finally:
        bus.attach(None)
        listening.cancel()
        await outbox.close()
        await writer.close()
        await other.close()


async def test_the_outbox_coalesces_a_burst_into_few_messages(customer_id, db_url):
    """150 commits while the outbox's first message is still on its way: every notice
    arrives, in a handful of messages, each under NOTIFY's payload limit."""
    sent: list[bytes] = []
    gate = asyncio.Event()

    class Slow(bus.MemoryBus):
        async def publish(self, message: bytes) -> None:
            sent.append(message)
            await gate.wait()  # the first round trip lasts until every commit is made
            await super().publish(message)

    line = Slow()
    heard = Heard()
    listening = asyncio.create_task(bus.listen(line, heard))
    outbox = bus.Outbox(line)
    outbox.start()
    bus.attach(outbox)
    try:

        async def writer(start: int) -> None:
            for i in range(start, 150, 5):
                async with transaction():
                    await record_event(customer_id, "conversation_updated", {"i": i})

        await asyncio.gather(*(writer(w) for w in range(5)))  # 5 connections
        gate.set()
        await heard.until(lambda ns: len(ns) == 150)
        assert len({n["id"] for n in heard.notices}) == 150
        # the first commit's message, then the other 149 in messages of ~55 notices
        assert len(sent) <= 5, len(sent)
        assert all(len(m) <= bus.MAX_MESSAGE for m in sent)
    finally:
        bus.attach(None)
        listening.cancel()
        await outbox.close()


def test_messages_stay_under_the_limit_and_round_trip():
    notices = [
        {"id": i, "customer_id": "c" * 36, "type": "conversation_updated"} for i in range(400)
    ]
    messages = bus.messages_of(notices)
    assert len(messages) > 1 and all(len(m) <= bus.MAX_MESSAGE for m in messages)
    assert [n for m in messages for n in bus.notices_in(m)] == notices
    # one notice (as older publishers sent), and garbage, which is dropped
    assert bus.notices_in(msgspec.json.encode(notices[0])) == [notices[0]]
    assert bus.notices_in(b"{not json") == [] and bus.notices_in(b"[1, 2]") == []


async def test_a_listener_subscribes_again_after_redis_drops_it(db_url):
    import redis.asyncio as aioredis

    settings = _settings(db_url, CONVODESK_EVENT_BUS="redis")
    writer = bus.connect(settings)
    other, heard, listening = await _line(settings)
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        await _subscribed(writer, heard)
        # Redis closes the subscriber's connection, as a restart would
        await admin.client_kill_filter(_type="pubsub")
        heard.notices.clear()
        await _subscribed(writer, heard)
        await writer.publish(bus.messages_of([{"id": 7, "customer_id": "c", "type": "t"}])[0])
        await heard.until(lambda ns: any(n.get("id") == 7 for n in ns))
    finally:
        listening.cancel()
        await admin.aclose()
        await writer.close()
        await other.close()


def test_the_settings_choose_the_bus(db_url):
    assert _settings(db_url, CONVODESK_REDIS_URL=None).event_bus == "memory"
    assert _settings(db_url).event_bus == "redis"  # a Redis URL makes it the default
    assert _settings(db_url, CONVODESK_EVENT_BUS="postgres").event_bus == "postgres"
    with pytest.raises(SettingsError, match="CONVODESK_REDIS_URL"):
        _settings(db_url, CONVODESK_REDIS_URL=None, CONVODESK_EVENT_BUS="redis")
    with pytest.raises(SettingsError, match="CONVODESK_REDIS_URL"):
        _settings(db_url, CONVODESK_REDIS_URL="http://127.0.0.1:6379")
    # processes on other databases sharing one Redis never hear each other
    assert bus.channel_for(db_url) != bus.channel_for(db_url + "_other")
