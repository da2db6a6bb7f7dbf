"""The event stream's base: events are rows written in the caller's transaction, ordered
per customer by id, and announced on the live bus only after commit. (Their order:
tests/test_event_order.py; the bus itself: tests/test_bus.py.)"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

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
    bus.attach(got.extend)  # the process's outbox takes them so
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
    assert {k: v for k, v in announced[0].items() if k != "at"} == {
        "id": first,
        "customer_id": customer_id,
        "type": "conversation_created",
    }
    assert abs(announced[0]["at"] - time.time()) < 5  # when announced: the bus's lag starts
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
    def broken(_):
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
