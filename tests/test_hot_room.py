"""A hot room: many senders and inbound messages in one room at once, against a real
server. Messages into a room do not wait for each other's whole transaction (no lock on
the room until each one's last write: docs/ARCHITECTURE.md, "Hot rooms"), and the room
ends as if they had come one at a time: every message once, the latest one's preview and
time, whose turn it is, the unread count, the inbox order, the reports' counts. A change
that lands while a message is in flight sends that message the locked way, with the
result it always had."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
from conftest import inbound, run_async, wait_for
from db_kit import sql, sql_value
from routing_kit import principal

from app.domain.enums import Permission

SENDERS = 50
EACH = 4
INBOUND = 10
RECORD_UNLOCKED = "WITH room AS (UPDATE conversations SET last_message = CASE"
"""How the unlocked path's one room statement begins (app/conversations/store.py)."""


def _headers(tenant) -> list[dict[str, str]]:
    return [tenant.admin, tenant.manager, tenant.agent]


def _receive_together(account, peer: str, texts: list[str]) -> list:
    """`texts` arriving from `peer` at the same time, each through the inbound entry point
    in a transaction of its own."""
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    async def go():
        return await asyncio.gather(
            *(messages.receive(account, InboundMessage(peer=peer, text=t)) for t in texts)
        )

    return run_async(go())


def test_fifty_senders_and_inbound_messages_in_one_room(server, client, tenant, db_url):
    account = tenant.channel("message")
    hot = inbound(account, "+12025550100", "first words").conversation_id
    other = inbound(account, "+12025550101", "another room").conversation_id
    # before the burst the other room is the latest one
    assert sql_value(db_url, "SELECT tm_activity FROM conversations WHERE id = $1", other) > (
        sql_value(db_url, "SELECT tm_activity FROM conversations WHERE id = $1", hot)
    )
    start = threading.Barrier(SENDERS + 1)
    headers = _headers(tenant)

    def sender(n: int) -> list[tuple[str, int]]:
        done = []
        with httpx.Client(base_url=server.url, timeout=60) as http:
            start.wait()
            for i in range(EACH):
                text = f"reply {n}-{i}"
                r = http.post(
                    f"/v1.0/conversations/{hot}/messages",
                    headers=headers[n % 3],
                    json={"text": text},
                )
                done.append((text, r.status_code))
        return done

    inbound_texts = [f"customer again {i}" for i in range(INBOUND)]
    with ThreadPoolExecutor(SENDERS + 1) as pool:
        sends = [pool.submit(sender, n) for n in range(SENDERS)]

        def customer() -> list:
            start.wait()
            return _receive_together(account, "+12025550100", inbound_texts)

        received = pool.submit(customer).result()
        results = [item for f in sends for item in f.result()]

    assert [code for _, code in results if code != 201] == []
    assert {r.conversation_id for r in received} == {hot}
    assert not any(r.duplicate or r.new_room for r in received)

    stored = sql(
        db_url,
        "SELECT text, direction, agent_id, tm_create FROM messages WHERE conversation_id = $1"
        " ORDER BY tm_create, id",
        hot,
    )
    texts = [m["text"] for m in stored]
    expected = ["first words", *inbound_texts, *(text for text, _ in results)]
    assert sorted(texts) == sorted(expected)  # every message, each once
    last = stored[-1]
    room = sql(db_url, "SELECT * FROM conversations WHERE id = $1", hot)[0]
    assert room["status"] == "active"
    assert room["tm_last_message"] == last["tm_create"]
    assert room["tm_activity"] == last["tm_create"]
    ties = [m["text"] for m in stored if m["tm_create"] == last["tm_create"]]
    assert room["last_message"] in ties  # the latest message's (by time) preview
    # whose turn it is follows the latest message by time, as one at a time would leave it
    assert room["sla_turn"] == ("customer" if last["direction"] == "inbound" else "agent")
    # the reports counted each message once
    counts = sql(
        db_url,
        "SELECT sum(inbound) AS inbound, sum(replies) AS replies FROM report_slots"
        " WHERE conversation_id = $1",
        hot,
    )[0]
    assert (counts["inbound"], counts["replies"]) == (1 + INBOUND, SENDERS * EACH)

    # the desk's inbox: the hot room first, with every inbound message unread
    from app.desk import inbox as desk_inbox

    viewer = principal(tenant.customer_id, tenant.agent_id, "acme-agent", Permission.AGENT)
    rows, _ = run_async(desk_inbox.inbox(viewer, desk_inbox.InboxFilter()))
    assert [r.room.id for r in rows[:2]] == [hot, other]
    assert rows[0].unread == 1 + INBOUND
    assert rows[0].room.last_message == room["last_message"]


class RoomHolder:
    """A connection of the test's own holding the room's row lock, as any change of the
    room (an assignment, a close) holds it; on an event loop of its own, as asyncpg
    connections keep to theirs."""

    def __init__(self, db_url: str, room_id: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.room_id = room_id
        self.conn: asyncpg.Connection = self.loop.run_until_complete(asyncpg.connect(db_url))
        self.run("BEGIN")
        self.run("SELECT 1 FROM conversations WHERE id = $1 FOR NO KEY UPDATE", room_id)

    def run(self, query: str, *args) -> None:
        self.loop.run_until_complete(self.conn.execute(query, *args))

    def close_room(self) -> None:
        self.run(
            "UPDATE conversations SET status = 'closed', tm_closed = now() WHERE id = $1",
            self.room_id,
        )

    def end(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def _waiting_at_last_write(db_url: str) -> bool:
    """A server backend waits for the room's lock at the unlocked path's room statement:
    everything before it (the route, the message, the queue) was done without the lock."""
    found = sql_value(
        db_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND starts_with(query, $1)",
        RECORD_UNLOCKED,
    )
    return found > 0


def _reply_held_at_its_last_write(client, tenant, db_url, peer: str, text: str, meanwhile):
    """A room whose turn is the agent's; a reply to it that gets as far as its last write
    while another transaction holds the room, in which `meanwhile(holder)` runs before it
    commits. The room and the reply's answer."""
    account = tenant.channel("message")
    room = inbound(account, peer, "hello").conversation_id
    r = client.post(
        f"/v1.0/conversations/{room}/messages", headers=tenant.agent, json={"text": "first"}
    )
    assert r.status_code == 201, r.text  # the agent's turn now: the next reply fits
    holder = RoomHolder(db_url, room)
    try:
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(
                client.post,
                f"/v1.0/conversations/{room}/messages",
                headers=tenant.agent,
                json={"text": text},
            )
            wait_for(lambda: _waiting_at_last_write(db_url))
            meanwhile(holder)
            holder.run("COMMIT")
            return room, sent.result()
    finally:
        holder.end()


def test_a_reply_waits_for_the_room_only_at_its_last_write(server, client, tenant, db_url):
    room, r = _reply_held_at_its_last_write(
        client, tenant, db_url, "+12025550110", "second", lambda holder: None
    )
    assert r.status_code == 201, r.text
    row = sql(db_url, "SELECT last_message, status FROM conversations WHERE id = $1", room)[0]
    assert (row["last_message"], row["status"]) == ("second", "active")


def test_a_room_closed_while_a_reply_is_in_flight_is_reopened_by_it(server, client, tenant, db_url):
    # the close commits first; the reply's conditional write no longer fits
    room, r = _reply_held_at_its_last_write(
        client, tenant, db_url, "+12025550120", "after all", lambda holder: holder.close_room()
    )
    assert r.status_code == 201, r.text
    # as a reply to a closed room always did: it reopens it, and says so
    row = sql(db_url, "SELECT status, last_message FROM conversations WHERE id = $1", room)[0]
    assert (row["status"], row["last_message"]) == ("active", "after all")
    assert (
        sql_value(
            db_url,
            "SELECT count(*) FROM messages WHERE text = 'after all' AND conversation_id = $1",
            room,
        )
        == 1
    )
    updated = sql(
        db_url,
        "SELECT payload->>'status' AS status FROM events WHERE customer_id = $1"
        " AND type = 'conversation_updated' AND payload->>'id' = $2 ORDER BY id DESC LIMIT 1",
        tenant.customer_id,
        room,
    )
    assert updated and updated[0]["status"] == "active"


def test_an_inbound_message_into_a_room_closed_meanwhile_opens_a_new_room(
    server, client, tenant, db_url
):
    account = tenant.channel("message")
    peer = "+12025550130"
    room = inbound(account, peer, "hello").conversation_id  # the customer's turn already
    holder = RoomHolder(db_url, room)
    try:
        with ThreadPoolExecutor(1) as pool:
            arriving = pool.submit(inbound, account, peer, "one more thing")
            wait_for(lambda: _waiting_at_last_write(db_url))
            holder.close_room()
            holder.run("COMMIT")
            got = arriving.result()
    finally:
        holder.end()
    # a closed room takes no message: it opens a new one, as it always did
    assert got.new_room and got.conversation_id != room
    placed = sql(db_url, "SELECT conversation_id::text FROM messages WHERE text = 'one more thing'")
    assert [p["conversation_id"] for p in placed] == [got.conversation_id]
    assert sql_value(db_url, "SELECT status FROM conversations WHERE id = $1", room) == "closed"
