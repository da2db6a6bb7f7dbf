"""`/v1.0/ws` against a real server: subscribe, receive, refusal, resume with `since`, and
delivery across two server processes sharing one database (docs/WEBSOCKETS.md)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from conftest import ServerProcess, cli_env, inbound, wait_for
from websockets.exceptions import ConnectionClosed
from ws_kit import Ws, sockets


@pytest.fixture
def ws_factory(server):
    with sockets(server.url) as make:
        yield make


def test_subscribe_and_receive_frames_shaped_like_webhooks(client, tenant, ws_factory):
    sms = tenant.channel("message")
    ws = ws_factory(tenant.admin)
    ack = ws.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    assert ack["topics"] == [f"customer_id:{tenant.customer_id}:conversation"]
    got = inbound(sms, "+15559876543", "hello live")
    frames = ws.events(3)
    assert [f["type"] for f in frames] == [
        "conversation_created",
        "conversation_message_created",
        "conversation_message_received",
    ]
    for frame in frames:
        assert set(frame) == {"id", "type", "tm_create", "data"}
    ids = [int(f["id"]) for f in frames]
    assert ids == sorted(ids)
    # `data` is the resource exactly as the API returns it
    api_message = client.get(
        f"/v1.0/conversations/{got.conversation_id}/messages", headers=tenant.admin
    ).json()["result"][0]
    assert frames[1]["data"] == api_message
    assert frames[0]["data"]["id"] == got.conversation_id
    assert frames[0]["data"]["participants"][1]["target"] == "+15559876543"


def test_the_desks_own_lines_stay_off_the_api_stream(client, tenant, ws_factory):
    """Assigning a room writes a system line in its timeline (a desk event): API clients
    get the documented events only, here the room's update and then the next message."""
    sms = tenant.channel("message")
    room = inbound(sms, "+15550000003", "hello").conversation_id
    ws = ws_factory(tenant.admin)
    ws.subscribe(f"customer_id:{tenant.customer_id}:conversation:{room}")
    r = client.put(
        f"/v1.0/conversations/{room}", headers=tenant.admin, json={"owner_id": tenant.admin_id}
    )
    assert r.status_code == 200, r.text
    inbound(sms, "+15550000003", "after the assignment")
    frames = ws.events(3)
    assert [f["type"] for f in frames] == [
        "conversation_updated",
        "conversation_message_created",
        "conversation_message_received",
    ]


def test_a_room_topic_gets_only_that_room(client, tenant, ws_factory):
    sms = tenant.channel("message")
    room = inbound(sms, "+15550000001", "one").conversation_id
    other = inbound(sms, "+15550000002", "two").conversation_id
    ws = ws_factory(tenant.admin)
    ws.subscribe(f"customer_id:{tenant.customer_id}:conversation:{room}")
    inbound(sms, "+15550000002", "to the other room")
    inbound(sms, "+15550000001", "to my room")
    frames = ws.events(2)
    assert {f["data"]["conversation_id"] for f in frames} == {room}
    assert frames[0]["data"]["text"] == "to my room"
    # nothing else came first: the room's next message is the next frame (frames follow the
    # events' order)
    inbound(sms, "+15550000001", "later in my room")
    later = ws.events(2)
    assert {f["data"]["conversation_id"] for f in later} == {room}
    assert later[0]["data"]["text"] == "later in my room"
    assert other != room


def test_topics_outside_the_callers_rights_are_refused(tenant, other_tenant, ws_factory):
    ws = ws_factory(tenant.admin)
    theirs = f"customer_id:{other_tenant.customer_id}:conversation"
    bogus = "customer_id:*:conversation"
    ws.send(
        {"type": "subscribe", "topics": [theirs, bogus, f"agent_id:{other_tenant.agent_id}:talk"]}
    )
    ack = ws.recv()
    assert ack == {"type": "subscribed", "topics": []}
    refusal = ws.recv()
    assert refusal["type"] == "error" and refusal["reason"] == "topic_forbidden"
    assert set(refusal["topics"]) == {theirs, bogus, f"agent_id:{other_tenant.agent_id}:talk"}
    inbound(other_tenant.channel("message"), "+15559876543", "not for you")
    # bad messages get an error frame; the connection stays usable
    ws.conn.send("not json")
    assert ws.recv()["reason"] == "invalid_message"
    ws.send({"type": "dance"})
    assert ws.recv()["reason"] == "invalid_message"
    ws.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    # the other customer's message never came: the caller's own later message is the first
    # event frame (events reach a socket in id order)
    mine = inbound(tenant.channel("message"), "+15559876543", "for you").conversation_id
    [first] = ws.events(1)
    assert (first["type"], first["data"]["id"]) == ("conversation_created", mine)


def test_agents_get_no_events_of_rooms_assigned_to_others(client, tenant, ws_factory):
    sms = tenant.channel("message")
    theirs = inbound(sms, "+15550000003", "c").conversation_id
    other_agent = tenant.add_agent("acme-agent2", "agent")
    client.put(
        f"/v1.0/conversations/{theirs}", headers=tenant.admin, json={"owner_id": other_agent}
    )
    agent_ws = ws_factory(tenant.agent)
    agent_ws.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    manager_ws = ws_factory(tenant.manager)
    manager_ws.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    inbound(sms, "+15550000003", "secret for agent2")
    inbound(sms, "+15550000004", "for everyone")
    agent_frames = agent_ws.events(3)
    assert {f["data"].get("reference_id") for f in agent_frames} == {"+15550000004"}
    manager_frames = manager_ws.events(5)
    assert "secret for agent2" in [f["data"].get("text") for f in manager_frames]
    # nothing of agent2's room came to the agent: their room's next message is next
    inbound(sms, "+15550000004", "for everyone, later")
    later = agent_ws.events(2)
    assert later[0]["data"]["text"] == "for everyone, later"
    assert {f["data"].get("reference_id") for f in later} == {"+15550000004"}


def test_a_token_in_the_socket_url_stays_out_of_the_log(server, tenant, ws_factory):
    token = tenant.agent["Authorization"].removeprefix("Bearer ")
    ws = ws_factory(query=f"?token={token}")
    ws.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    ws.close()
    log = wait_for(lambda: "token=[redacted]" in server.output() and server.output())
    assert token not in log
    assert token.split(".")[2] not in log  # not even the signature part


def test_bad_credentials_close_the_socket(server):
    for query in ("", "?token=garbage", "?accesskey=cdk_nope"):
        ws = Ws(server.url, query=query)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 4401


def test_a_cookie_from_another_site_is_refused(server, tenant):
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    ws = Ws(server.url, headers={"Cookie": f"token={token}", "Origin": "https://evil.example"})
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 4403
    ok = Ws(server.url, headers={"Cookie": f"token={token}", "Origin": server.url})
    ok.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    ok.close()


def test_resume_with_since_delivers_what_was_missed_in_order_once(client, tenant, ws_factory):
    sms = tenant.channel("message")
    topic = f"customer_id:{tenant.customer_id}:conversation"
    ws = ws_factory(tenant.admin)
    ws.subscribe(topic)
    inbound(sms, "+15559876543", "before the drop")
    seen = ws.events(3)
    last = seen[-1]["id"]
    ws.close()

    # while the client is away: four events (a message, then an update by the API)
    inbound(sms, "+15559876543", "missed 1")
    client.put(
        f"/v1.0/conversations/{seen[0]['data']['id']}",
        headers=tenant.admin,
        json={"name": "renamed while away"},
    )

    back = ws_factory(tenant.admin)
    back.subscribe(topic, since=last)
    missed = back.events(3)
    assert [f["type"] for f in missed] == [
        "conversation_message_created",
        "conversation_message_received",
        "conversation_updated",
    ]
    assert missed[0]["data"]["text"] == "missed 1"
    assert missed[2]["data"]["name"] == "renamed while away"
    ids = [int(f["id"]) for f in missed]
    assert ids == sorted(ids) and ids[0] > int(last)
    # then live, with nothing repeated
    inbound(sms, "+15559876543", "live again")
    live = back.events(2)
    assert live[0]["data"]["text"] == "live again"
    assert int(live[0]["id"]) > ids[-1]
    inbound(sms, "+15559876543", "and again")  # the next frame is this one's: no repeats
    assert back.events(1)[0]["data"]["text"] == "and again"


def test_resume_under_a_steady_stream_loses_nothing(client, tenant, server):
    """Messages keep arriving while the client drops and comes back: every message
    event is delivered exactly once across the two connections."""
    import threading

    sms = tenant.channel("message")
    topic = f"customer_id:{tenant.customer_id}:conversation"
    stop = threading.Event()
    sent: list[str] = []

    def stream():
        i = 0
        while not stop.is_set() and i < 40:
            inbound(sms, "+15559876543", f"n{i}")
            sent.append(f"n{i}")
            i += 1

    first = Ws(server.url, tenant.admin)
    first.subscribe(topic)
    writer = threading.Thread(target=stream)
    writer.start()
    got: list[dict] = []
    try:
        while len([f for f in got if f["type"] == "conversation_message_received"]) < 10:
            got.append(first.events(1)[0])
    finally:
        first.close()
    # away while a few more messages arrive (or the stream has ended)
    seen = len([f for f in got if f["type"] == "conversation_message_received"])
    wait_for(lambda: len(sent) >= seen + 3 or not writer.is_alive())
    second = Ws(server.url, tenant.admin)
    second.subscribe(topic, since=got[-1]["id"])
    writer.join()
    stop.set()
    while len([f for f in got if f["type"] == "conversation_message_received"]) < len(sent):
        got.append(second.events(1)[0])
    second.close()
    texts = [f["data"]["text"] for f in got if f["type"] == "conversation_message_received"]
    assert texts == sent
    ids = [int(f["id"]) for f in got]
    assert ids == sorted(set(ids))


def test_unsubscribe_stops_delivery(client, tenant, ws_factory):
    sms = tenant.channel("message")
    topic = f"customer_id:{tenant.customer_id}:conversation"
    ws = ws_factory(tenant.admin)
    ws.subscribe(topic)
    ws.send({"type": "unsubscribe", "topics": [topic]})
    assert ws.recv() == {"type": "unsubscribed", "topics": [topic]}
    inbound(sms, "+15559876543", "nobody listens")
    # a later event on another topic is the first frame: the message's events never came
    ws.subscribe(f"agent_id:{tenant.admin_id}:talk")
    talk = client.post(
        "/v1.0/talks", headers=tenant.admin, json={"name": "later", "participant_ids": []}
    )
    assert talk.status_code == 201, talk.text
    [frame] = ws.events(1)
    assert frame["type"] == "talk_created" and frame["data"]["id"] == talk.json()["id"]


def test_a_message_sent_through_one_process_reaches_a_socket_on_another(server, tenant):
    """Two `convodesk serve` processes on one database: the API call goes to A (the
    session's server), the websocket listens on B."""
    tenant.channel("message")
    a = server
    b = ServerProcess(cli_env()).wait_ready()
    try:
        room = httpx.post(
            f"{a.url}/v1.0/conversations",
            headers=tenant.admin,
            json={"participants": [{"type": "tel", "target": "+15559876543"}]},
        ).json()["id"]
        ws = Ws(b.url, tenant.admin)
        ws.subscribe(f"customer_id:{tenant.customer_id}:conversation:{room}")
        started = time.monotonic()
        sent = httpx.post(
            f"{a.url}/v1.0/conversations/{room}/messages",
            headers=tenant.admin,
            json={"text": "across processes"},
        ).json()
        frames = ws.events(1)
        took = time.monotonic() - started
        assert frames[0]["type"] == "conversation_message_created"
        assert frames[0]["data"]["id"] == sent["id"]
        # and the sender worker (in whichever process claimed it) reports back, also live
        updates = ws.events(2)
        assert {f["type"] for f in updates} == {
            "conversation_message_updated",
            "conversation_message_sent",
        }
        assert all(f["data"]["status"] == "done" for f in updates)
        ws.close()
        assert took < 5
    finally:
        b.stop()


def test_a_separate_worker_process_sends_and_the_desk_hears_it():
    """`serve` without workers plus `convodesk worker`: the worker process sends the queued
    message and announces the result over PostgreSQL to the server's websockets. (Its own
    database: the session server's workers must not take the message first.)"""
    import asyncio
    import subprocess
    import sys

    import asyncpg
    from conftest import ROOT, migrated_database, run_cli

    url = migrated_database("convodesk_worker")
    env = cli_env(DATABASE_URL=url)
    made = json.loads(
        run_cli(
            "customer",
            "create",
            "--name",
            "W",
            "--username",
            "w-admin",
            "--password",
            "w-password",
            env=env,
        ).stdout
    )

    async def loopback_account():
        conn = await asyncpg.connect(url)
        await conn.execute(
            "INSERT INTO channel_accounts (id, customer_id, type, name, detail, address,"
            " settings, secrets, tm_create, tm_update)"
            " VALUES (gen_random_uuid(), $1, 'loopback', 'sms', '', '+15550001111',"
            " '{\"reference_type\": \"message\"}', '{}', now(), now())",
            made["customer_id"],
        )
        await conn.close()

    asyncio.run(loopback_account())
    web = ServerProcess(cli_env(DATABASE_URL=url, CONVODESK_NO_WORKERS="1")).wait_ready()
    worker = None
    try:
        token = httpx.post(
            f"{web.url}/auth/login", json={"username": "w-admin", "password": "w-password"}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        room = httpx.post(
            f"{web.url}/v1.0/conversations",
            headers=auth,
            json={"participants": [{"type": "tel", "target": "+15559876543"}]},
        ).json()["id"]
        ws = Ws(web.url, auth)
        ws.subscribe(f"customer_id:{made['customer_id']}:conversation:{room}")
        sent = httpx.post(
            f"{web.url}/v1.0/conversations/{room}/messages",
            headers=auth,
            json={"text": "queued until a worker runs"},
        ).json()
        assert ws.events(1)[0]["type"] == "conversation_message_created"
        # no worker yet: it stays progressing; the room's next event (a rename) comes next
        renamed = httpx.put(
            f"{web.url}/v1.0/conversations/{room}", headers=auth, json={"name": "waiting"}
        )
        assert renamed.status_code == 200, renamed.text
        assert ws.events(1)[0]["type"] == "conversation_updated"
        worker = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        updates = ws.events(2, timeout=20)
        assert {f["type"] for f in updates} == {
            "conversation_message_updated",
            "conversation_message_sent",
        }
        assert updates[0]["data"]["id"] == sent["id"]
        assert updates[0]["data"]["status"] == "done"
        ws.close()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(20)
        web.stop()
    assert worker.returncode == 0
