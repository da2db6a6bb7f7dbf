"""Event retention: events past the retention are pruned in batches, except those the
webhook queue still needs; the workers do it on their interval; and a client resuming
from a pruned event is told to start afresh — the API websocket with an error frame and
close code 4410, the desk by reloading its page, the widget with `resync`.

Events are made old by moving their `tm_create` back in the test database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from browser_kit import live
from conftest import ServerProcess, cli_env, inbound, run_async, wait_for
from playwright.sync_api import expect
from test_desk_browser import live_room_then_stop
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from ws_kit import Ws

from app.core import event_retention
from app.core.events import last_event_id, pruned_through, record_event, transaction
from app.domain.enums import EventType, Permission
from app.domain.errors import InvalidInput
from app.domain.principal import Principal
from app.people import customers
from app.webhooks import log as webhook_log
from app.webhooks import queue as webhook_queue
from app.widget import service as widget

RETENTION = timedelta(days=30)


def age(db_url: str, customer_id: str, through: int | None = None, days: int = 40) -> None:
    """Move the customer's events (up to id `through`) `days` into the past."""

    async def go():
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute(
                "UPDATE events SET tm_create = tm_create - make_interval(days => $3)"
                " WHERE customer_id = $1 AND id <= $2",
                customer_id,
                through if through is not None else 2**62,
                days,
            )
        finally:
            await conn.close()

    run_async(go())


def event_ids(db_url: str, customer_id: str) -> list[int]:
    async def go():
        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch(
                "SELECT id FROM events WHERE customer_id = $1 ORDER BY id", customer_id
            )
            return [r["id"] for r in rows]
        finally:
            await conn.close()

    return run_async(go())


async def _customer(label: str) -> tuple[str, Principal]:
    customer, admin_id = await customers.create_customer(
        name=f"Retention {label}", username=f"retention-{label}", password="retention-pass"
    )
    admin = Principal(
        customer_id=customer.id,
        agent_id=admin_id,
        username=f"retention-{label}",
        permission=Permission.ADMIN,
        via="token",
    )
    return customer.id, admin


async def _events(customer_id: str, count: int, db_url: str) -> list[int]:
    for n in range(count):
        async with transaction():
            await record_event(customer_id, EventType.CONVERSATION_UPDATED, {"n": n})
    return event_ids(db_url, customer_id)[-count:]


# --- what is pruned and what is kept ----------------------------------------------------


async def test_old_events_go_in_batches_young_ones_stay_and_the_watermark_says_where(db_url):
    cid, _ = await _customer("a")
    other, _ = await _customer("b")
    ids = await _events(cid, 7, db_url)
    theirs = await _events(other, 2, db_url)
    age(db_url, cid, through=ids[4])
    assert await pruned_through(cid) == 0

    assert await event_retention.prune(RETENTION, batch=2) == 5
    assert event_ids(db_url, cid) == ids[5:]
    assert event_ids(db_url, other) == theirs  # young: untouched
    assert await pruned_through(cid) == ids[4]
    assert await last_event_id(cid) == ids[-1]
    assert await event_retention.prune(RETENTION, batch=2) == 0  # nothing more is old

    # once every event is gone, the stream still stands where it was: a reader starting
    # "now" is not taken for one resuming from before the pruning
    age(db_url, cid)
    assert await event_retention.prune(RETENTION) == 2
    assert event_ids(db_url, cid) == []
    assert await last_event_id(cid) == await pruned_through(cid) == ids[-1]
    # the widget resumes from before the pruning with a resync, from the end without one
    assert await widget.resume_point(cid, ids[3]) == (None, True)
    assert await widget.resume_point(cid, ids[-1]) == (ids[-1], False)


async def test_events_the_webhook_queue_still_needs_are_kept_whatever_their_age(db_url):
    from app.db import sql

    cid, admin = await _customer("hooks")
    # an endpoint that answered 410 Gone: deliveries wait, nothing is attempted
    await sql.execute(
        "UPDATE customers SET webhook_uri = 'http://127.0.0.1:9/hook',"
        " webhook_disabled_at = now() WHERE id = $1",
        cid,
    )
    ids = await _events(cid, 6, db_url)
    while await webhook_queue.fan_out():  # one pending delivery per event
        continue  # drain: fan out until no event is left
    deliveries = {
        r["event_id"]: str(r["id"])
        for r in await sql.fetch(
            "SELECT id, event_id FROM webhook_deliveries WHERE customer_id = $1", cid
        )
    }
    assert set(deliveries) == set(ids)
    # as the dispatcher would leave them: two delivered, one failed for good, one being
    # attempted, two still waiting
    for event_id, status in zip(
        ids, ["delivered", "delivered", "failed", "sending", "pending", "pending"], strict=True
    ):
        await sql.execute(
            "UPDATE webhook_deliveries SET status = $2, lease_until = now() + interval '1 hour'"
            " WHERE id = $1",
            deliveries[event_id],
            status,
        )
    later = await _events(cid, 2, db_url)  # not turned into deliveries yet: after the cursor
    age(db_url, cid)

    assert await event_retention.prune(RETENTION) == 3
    assert event_ids(db_url, cid) == ids[3:] + later
    assert await pruned_through(cid) == ids[2]
    # a delivery whose event is gone cannot be sent again; one whose event is kept can
    with pytest.raises(InvalidInput) as refused:
        await webhook_log.retry_delivery(admin, deliveries[ids[0]])
    assert refused.value.reason == "event_pruned"
    again = await webhook_log.retry_delivery(admin, deliveries[ids[4]])
    assert again.status == "pending"


async def test_a_retry_holds_the_customers_events_while_it_runs(db_url):
    """The admin's retry takes the prune lock (shared) before it makes a delivery
    pending: a pruner that meets it leaves the customer for its next run."""
    from app.db.piccolo_conf import DB

    cid, _ = await _customer("lock")
    ids = await _events(cid, 3, db_url)
    age(db_url, cid)
    holding, done = asyncio.Event(), asyncio.Event()

    async def retrying():
        async with DB.transaction():
            await event_retention.hold_events(cid)
            holding.set()
            await done.wait()

    held = asyncio.create_task(retrying())
    await holding.wait()
    try:
        assert await event_retention.prune(RETENTION) == 0
        assert event_ids(db_url, cid) == ids
    finally:
        done.set()
        await held
    assert await event_retention.prune(RETENTION) == 3


def test_the_workers_prune_on_their_interval(server, tenant, db_url):
    sms = tenant.channel("message")
    inbound(sms, "+15559876543", "old news")
    ids = event_ids(db_url, tenant.customer_id)
    age(db_url, tenant.customer_id)
    worker = ServerProcess(
        cli_env(CONVODESK_EVENT_RETENTION_DAYS="30", CONVODESK_EVENT_PRUNE_INTERVAL="0.2"),
        command="worker",
    )
    try:
        wait_for(lambda: event_ids(db_url, tenant.customer_id) == [], timeout=60)
        assert run_async(pruned_through(tenant.customer_id)) == ids[-1]
    finally:
        worker.stop()


def test_a_bad_retention_setting_is_refused():
    from app.settings import Settings, SettingsError

    assert Settings.from_env({}).event_retention_days == 30
    for value in ("0", "soon", "-3"):
        with pytest.raises(SettingsError, match="CONVODESK_EVENT_RETENTION_DAYS"):
            Settings.from_env({"CONVODESK_EVENT_RETENTION_DAYS": value})


# --- resuming from a pruned event ------------------------------------------------------


def test_the_api_stream_says_events_pruned_and_closes_4410(server, tenant, db_url):
    sms = tenant.channel("message")
    topic = f"customer_id:{tenant.customer_id}:conversation"
    setup = event_ids(db_url, tenant.customer_id)  # the tenant's agents being added
    for text in ("one", "two", "three"):
        inbound(sms, "+15559876543", text)
    # the customer's contact is made first (a contact event, not on the room's topic)
    contact, *ids = event_ids(db_url, tenant.customer_id)[len(setup) :]
    assert len(ids) == 7  # the room opens, then two per message
    age(db_url, tenant.customer_id, through=ids[4])  # "one" and "two"
    assert run_async(event_retention.prune(RETENTION)) == len(setup) + 1 + 5

    stale = Ws(server.url, tenant.admin)
    try:
        stale.subscribe(topic, since=str(ids[2]))
        assert stale.recv() == {
            "type": "error",
            "reason": "events_pruned",
            "message": "Some events after `since` are older than the event retention and no"
            " longer kept. Fetch what you show again, then subscribe without `since`.",
        }
        with pytest.raises(ConnectionClosed) as closed:
            stale.recv()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4410, "events_pruned")
    finally:
        stale.close()

    # from the last pruned event on, nothing is missing: the replay is the kept events
    fresh = Ws(server.url, tenant.admin)
    try:
        fresh.subscribe(topic, since=str(ids[4]))
        replay = fresh.events(2)
        assert [int(f["id"]) for f in replay] == ids[5:]
        assert replay[0]["data"]["text"] == "three"
    finally:
        fresh.close()


def test_the_desk_socket_closes_4410_for_a_page_older_than_the_kept_events(server, tenant, db_url):
    sms = tenant.channel("message")
    inbound(sms, "+15559876543", "one")
    inbound(sms, "+15559876543", "two")
    ids = event_ids(db_url, tenant.customer_id)
    age(db_url, tenant.customer_id)
    run_async(event_retention.prune(RETENTION))
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    headers = {"Cookie": f"token={token}", "Origin": server.url}
    url = server.url.replace("http://", "ws://") + "/desk/ws?since="
    with connect(url + str(ids[0]), additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4410
    # a page rendered now (its `since` is where the stream stands) goes live
    with connect(url + str(ids[-1]), additional_headers=headers) as ws:
        assert 'data-state="live"' in ws.recv(timeout=10)


def test_a_desk_page_older_than_the_kept_events_reloads_itself(server, tenant, new_page, db_url):
    """The page stays open while its server restarts; meanwhile messages arrive and are
    pruned. Coming back, its socket resumes from before them: the page reloads and shows
    what a fresh load shows."""
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "before").conversation_id
    srv = ServerProcess(cli_env()).wait_ready()
    port = srv.port
    page = new_page()
    try:
        live_room_then_stop(page, srv, tenant.password, room)
        page.evaluate("() => { window.loadedBefore = true; }")
        inbound(sms, "+15559876543", "while you were away")
        age(db_url, tenant.customer_id)
        assert run_async(event_retention.prune(RETENTION)) > 0
        with page.expect_event("load", timeout=30_000):  # the page reloads itself
            srv = ServerProcess(cli_env(), port=port).wait_ready()
        assert page.evaluate("() => window.loadedBefore") is None  # a new page
        expect(page.locator("#timeline")).to_contain_text("while you were away")
        live(page)
    finally:
        srv.stop()
