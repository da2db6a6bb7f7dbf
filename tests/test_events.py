"""The event stream's base: events are rows written in the caller's transaction, ordered
per customer by id, and announced on the live bus only after commit."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from app.core import bus
from app.core.events import record_event, transaction
from app.db.tables import Event
from app.people import customers


@pytest.fixture
async def customer_id() -> str:
    customer, _ = await customers.create_customer(
        name="Events Inc", username="events-admin", password="events-pass"
    )
    return customer.id


@pytest.fixture
def announced():
    got: list[dict] = []

    async def collect(notice):
        got.append(notice)

    bus.attach(collect)
    yield got
    bus.attach(None)


async def test_an_event_is_a_row_announced_after_commit(customer_id, announced):
    async with transaction():
        await record_event(
            customer_id, "conversation_created", {"id": "c1"}, [f"customer_id:{customer_id}"]
        )
        await record_event(customer_id, "conversation_updated", {"id": "c1", "n": 2})
        assert announced == []  # nothing leaves before the commit
        assert await Event.count() == 0  # written at the very end, with the order lock
    first, second = (n["id"] for n in announced)
    assert second > first
    assert announced[0] == {"id": first, "customer_id": customer_id, "type": "conversation_created"}
    rows = await Event.select().where(Event.customer_id == customer_id).order_by(Event.id)
    assert [(r["type"], json.loads(r["payload"]), r["topics"]) for r in rows] == [
        ("conversation_created", {"id": "c1"}, [f"customer_id:{customer_id}"]),
        ("conversation_updated", {"id": "c1", "n": 2}, []),
    ]


async def test_a_rolled_back_transaction_leaves_no_event_and_announces_nothing(
    customer_id, announced
):
    with pytest.raises(RuntimeError, match="boom"):
        async with transaction():
            await record_event(customer_id, "conversation_created", {"id": "c1"})
            raise RuntimeError("boom")
    assert announced == []
    assert await Event.count().where(Event.customer_id == customer_id) == 0


async def test_record_event_outside_a_transaction_is_a_programming_error(customer_id):
    with pytest.raises(RuntimeError, match="inside"):
        await record_event(customer_id, "conversation_created", {})


async def test_a_failing_publisher_never_undoes_a_commit(customer_id):
    async def broken(_):
        raise ConnectionError("bus down")

    bus.attach(broken)
    try:
        async with transaction():
            await record_event(customer_id, "conversation_created", {"id": "c1"})
    finally:
        bus.attach(None)
    assert await Event.count().where(Event.customer_id == customer_id) == 1


async def test_other_customers_are_not_held_up(customer_id):
    other, _ = await customers.create_customer(
        name="Other", username="other-admin", password="other-pass"
    )
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold():
        async with transaction():
            await record_event(customer_id, "conversation_created", {})
            holding.set()
            await release.wait()

    async def other_writes():
        await holding.wait()
        async with transaction():
            await record_event(other.id, "conversation_created", {})
        release.set()

    await asyncio.wait_for(asyncio.gather(hold(), other_writes()), timeout=10)


@pytest.mark.parametrize("backend", ["memory", "postgres"])
async def test_notices_reach_subscribers_through_litestar_channels(customer_id, backend, db_url):
    """The same wiring the app uses: a ChannelsPlugin on the memory backend (one process)
    or on PostgreSQL LISTEN/NOTIFY (several processes: here, two plugins with their own
    connections stand for two processes)."""
    if backend == "memory":
        publisher_side = listener_side = ChannelsPlugin(
            backend=MemoryChannelsBackend(), channels=[bus.CHANNEL]
        )
        plugins = [publisher_side]
    else:
        publisher_side = ChannelsPlugin(
            backend=AsyncPgChannelsBackend(dsn=db_url), channels=[bus.CHANNEL]
        )
        listener_side = ChannelsPlugin(
            backend=AsyncPgChannelsBackend(dsn=db_url), channels=[bus.CHANNEL]
        )
        plugins = [publisher_side, listener_side]
    for plugin in plugins:
        await plugin.__aenter__()
    try:
        subscriber = await listener_side.subscribe(bus.CHANNEL)

        async def publish(notice):
            await publisher_side.wait_published(notice, bus.CHANNEL)

        announced: list[int] = []
        bus.attach(lambda n: (announced.append(n["id"]), publish(n))[1])
        async with transaction():
            await record_event(customer_id, "conversation_created", {"id": "x"})
        (event_id,) = announced
        received = []
        async with asyncio.timeout(10):
            async for raw in subscriber.iter_events():
                received.append(msgspec.json.decode(raw))
                break
        assert received == [
            {"id": event_id, "customer_id": customer_id, "type": "conversation_created"}
        ]
    finally:
        bus.attach(None)
        for plugin in plugins:
            await plugin.__aexit__(None, None, None)
