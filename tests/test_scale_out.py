"""Scale-out with real processes: two `convodesk serve` processes and one `convodesk
worker` on one database and one Redis. What one process takes in reaches the sockets and
desks connected to the other, and the worker's sends reach both."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import pytest
from browser_kit import both_viewing
from conftest import (
    LIVE_MS,
    ServerProcess,
    Tenant,
    cli_env,
    own_database,
    run_async,
)
from playwright.sync_api import expect
from ws_kit import Ws

pytestmark = pytest.mark.timeout(180)


class Topology:
    def __init__(self, url: str):
        env = cli_env(DATABASE_URL=url, CONVODESK_NO_WORKERS="1")
        self.web = [ServerProcess(env), ServerProcess(env)]
        self.worker = ServerProcess(cli_env(DATABASE_URL=url), command="worker")
        for web in self.web:
            web.wait_ready()

    def stop(self) -> None:
        for process in (*self.web, self.worker):
            process.stop()


@pytest.fixture(scope="module")
def db() -> str:
    return own_database("scale_out")


@pytest.fixture(scope="module")
def topology(db):
    made = Topology(db)
    yield made
    made.stop()


@pytest.fixture
def tenant(topology, db) -> Tenant:
    with httpx.Client(base_url=topology.web[0].url, timeout=30) as c:
        made = Tenant(c, "acme", db_url=db)
    run_async(_loopback_account(db, made.customer_id))
    return made


async def _loopback_account(url: str, customer_id: str) -> None:
    """An SMS number served by the loopback driver (its sends always succeed)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO channel_accounts (id, customer_id, type, name, detail, address,"
            " settings, secrets, tm_create, tm_update)"
            " VALUES (gen_random_uuid(), $1, 'loopback', 'sms', '', '+15550001111',"
            " '{\"reference_type\": \"message\"}', '{}', now(), now())",
            customer_id,
        )
    finally:
        await conn.close()


def _room(base: str, tenant: Tenant) -> str:
    r = httpx.post(
        f"{base}/v1.0/conversations",
        headers=tenant.admin,
        json={"participants": [{"type": "tel", "target": "+15559876543"}]},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_messages_posted_to_one_process_reach_sockets_on_the_other(topology, tenant):
    """40 replies posted to process 1 at 200 a second: the API websocket on process 2
    gets each one's creation, then (from the worker, a third process) each one's sending."""
    one, two = topology.web
    room = _room(one.url, tenant)
    ws = Ws(two.url, tenant.admin)
    ws.subscribe(f"customer_id:{tenant.customer_id}:conversation:{room}")
    posted: dict[str, float] = {}
    arrived: dict[str, float] = {}
    done: set[str] = set()

    def read() -> None:
        deadline = time.monotonic() + 60
        while len(done) < 40 and time.monotonic() < deadline:
            frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            data = frame.get("data") or {}
            if frame.get("type") == "conversation_message_created":
                arrived.setdefault(data["id"], time.monotonic())
            elif frame.get("type") == "conversation_message_updated" and data["status"] == "done":
                done.add(data["id"])

    reader = threading.Thread(target=read)
    reader.start()
    with httpx.Client(base_url=one.url, headers=tenant.admin, timeout=30) as c:
        start = time.monotonic()
        for i in range(40):
            time.sleep(max(0.0, start + i / 200 - time.monotonic()))
            r = c.post(f"/v1.0/conversations/{room}/messages", json={"text": f"reply {i}"})
            assert r.status_code == 201, r.text
            posted[r.json()["id"]] = time.monotonic()
    reader.join(70)
    ws.close()
    assert set(arrived) == set(posted)
    assert done == set(posted)  # sent by the worker process, heard on process 2
    # the frame can come before the POST's answer is read: count those as 0
    latency = [max(0.0, arrived[m] - posted[m]) * 1000 for m in posted]
    # bench/scale_out.py measures the target (p99 <= 50 ms) on a quiet machine; here the
    # suite shares 2 cores with other tests, so only a bound that catches polling
    assert statistics.median(latency) < 500, latency


def test_desks_on_two_processes_see_each_other(topology, tenant, new_page):
    """An admin's desk on process 1 and a manager's on process 2, in one room: each sees
    the other viewing it, and a reply sent on one shows on the other at once."""
    one, two = topology.web
    room = _room(one.url, tenant)
    admin, manager = new_page(), new_page()
    both_viewing(admin, manager, one.url, two.url, room, tenant.password)
    admin.fill("#reply-text", "Sent from process one")
    admin.click("#send")
    expect(manager.locator("#timeline")).to_contain_text("Sent from process one", timeout=LIVE_MS)
    manager.close()
    expect(admin.locator("#viewers")).to_have_text("", timeout=LIVE_MS)
