"""Event order without writers queueing behind each other (core.events, migration 0037).

A customer's transactions write their events under a shared lock, so they commit in any
order: here a transaction draws its event id and then stays open (as if its COMMIT were
slow) while a second one draws a higher id and commits first. Every reader — the event
reads behind the websockets, the hub, the webhook outbox — must neither skip the
lower id nor hand out the higher one before it: they read up to the customer's horizon,
which waits for the open transaction and then includes both."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from app.core import events
from app.core.events import Pending, StoredEvent, _write_events
from app.core.hub import Hub
from app.db import sql
from app.db.piccolo_conf import DB
from app.domain.principal import Permission, Principal
from app.domain.timefmt import now
from app.people import customers
from app.webhooks import queue as webhook_queue


@pytest.fixture
async def customer_id() -> str:
    customer, _ = await customers.create_customer(
        name="Order Inc", username="order-admin", password="order-pass"
    )
    return customer.id


def _pending(customer_id: str, who: str) -> Pending:
    return Pending(
        customer_id=customer_id,
        type="conversation_created",
        payload=json.dumps({"who": who}),
        topics=[],
        audience=[],
        tm_create=now(),
    )


class OutOfOrder:
    """A transaction that has drawn its event id and has not committed ("slow"), and the
    id of a later one that committed meanwhile ("fast")."""

    def __init__(self, slow_id: int, fast_id: int, release: asyncio.Event):
        self.slow_id, self.fast_id, self.release = slow_id, fast_id, release


@asynccontextmanager
async def out_of_order(customer_id: str) -> AsyncIterator[OutOfOrder]:
    drawn: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def slow() -> None:
        async with DB.transaction():
            (notice,) = await _write_events([_pending(customer_id, "slow")])
            drawn.set_result(notice["id"])
            await release.wait()

    holder = asyncio.create_task(slow())
    slow_id = await asyncio.wait_for(drawn, 10)
    # a second writer of the same customer is not held up by the first: it commits now
    async with asyncio.timeout(10):
        async with DB.transaction():
            (fast,) = await _write_events([_pending(customer_id, "fast")])
    assert fast["id"] > slow_id
    try:
        yield OutOfOrder(slow_id, fast["id"], release)
    finally:
        release.set()
        await holder


async def _waiting_on_the_writer(db_url: str) -> None:
    """Returns once some session waits for an advisory lock: a reader waiting for the
    slow writer to finish."""
    conn = await asyncpg.connect(db_url)
    try:
        async with asyncio.timeout(10):
            while not await conn.fetchval(  # noqa: ASYNC110 - another session's state
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
                " AND datname = current_database()"
            ):
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def test_a_reader_never_passes_an_id_that_commits_late(customer_id, db_url):
    async with out_of_order(customer_id) as held:
        # the later id is committed and visible to a plain read ...
        assert (
            await sql.fetchval("SELECT max(id) FROM events WHERE customer_id = $1", customer_id)
            == held.fast_id
        )
        # ... but a reader of the stream waits for the open transaction
        read = asyncio.create_task(events.events_after(customer_id, 0))
        where = asyncio.create_task(events.last_event_id(customer_id))
        await _waiting_on_the_writer(db_url)
        assert not read.done() and not where.done()
        held.release.set()
        got = await asyncio.wait_for(read, 10)
        assert [e.id for e in got] == [held.slow_id, held.fast_id]
        assert await asyncio.wait_for(where, 10) == held.fast_id


async def test_a_rolled_back_writer_leaves_a_gap_that_readers_pass(customer_id, db_url):
    gone = asyncio.Event()
    drawn: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def doomed() -> None:
        with pytest.raises(RuntimeError):
            async with DB.transaction():
                (notice,) = await _write_events([_pending(customer_id, "doomed")])
                drawn.set_result(notice["id"])
                await gone.wait()
                raise RuntimeError("rolled back")

    task = asyncio.create_task(doomed())
    doomed_id = await asyncio.wait_for(drawn, 10)
    async with DB.transaction():
        (kept,) = await _write_events([_pending(customer_id, "kept")])
    read = asyncio.create_task(events.events_after(customer_id, 0))
    await _waiting_on_the_writer(db_url)
    gone.set()
    await task
    assert [e.id for e in await asyncio.wait_for(read, 10)] == [kept["id"]]
    assert kept["id"] > doomed_id


class Collected:
    """A websocket's stand-in at the hub's edge: it keeps the batches it is handed."""

    kind = "api"

    def __init__(self, customer_id: str):
        self.customer_id = customer_id
        self.principal = Principal(
            customer_id=customer_id,
            agent_id="",
            username="",
            permission=Permission.ADMIN,
            via="token",
        )
        self.batches: list[list[int]] = []
        self.got = asyncio.Event()

    def deliver(self, batch: list[StoredEvent]) -> None:
        self.batches.append([e.id for e in batch])
        self.got.set()


async def test_the_hub_hands_out_both_in_id_order(customer_id, db_url):
    hub = Hub(poll_interval=3600)  # only notices wake the pump here
    try:
        connection = Collected(customer_id)
        await hub.register(connection)
        async with out_of_order(customer_id) as held:
            hub.notify({"id": held.fast_id, "customer_id": customer_id})
            await _waiting_on_the_writer(db_url)
            assert connection.batches == []
            held.release.set()
            await asyncio.wait_for(connection.got.wait(), 10)
        assert connection.batches == [[held.slow_id, held.fast_id]]
    finally:
        await hub.close()


async def test_the_webhook_outbox_makes_both_deliveries(customer_id, db_url):
    await sql.execute(
        "UPDATE customers SET webhook_uri = 'http://127.0.0.1:9/hook',"
        " webhook_event_cursor = (SELECT coalesce(max(id), 0) FROM events WHERE customer_id = $1)"
        " WHERE id = $1",
        customer_id,
    )
    async with out_of_order(customer_id) as held:
        fan_out = asyncio.create_task(webhook_queue.fan_out())
        await _waiting_on_the_writer(db_url)
        held.release.set()
        await asyncio.wait_for(fan_out, 10)
    made = await sql.fetch(
        "SELECT event_id FROM webhook_deliveries WHERE customer_id = $1 ORDER BY event_id",
        customer_id,
    )
    assert [r["event_id"] for r in made] == [held.slow_id, held.fast_id]
    cursor = await sql.fetchval(
        "SELECT webhook_event_cursor FROM customers WHERE id = $1", customer_id
    )
    assert cursor == held.fast_id
