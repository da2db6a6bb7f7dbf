"""Talk events live (docs/WEBSOCKETS.md): over `/v1.0/ws` on `agent_id:<aid>:talk`, in the
order things happened, to the talk's participants only (not to outsiders, not to admins
outside the talk); resuming with `since`; and a talk message as a signed webhook."""

from __future__ import annotations

import json

import httpx
import pytest
from api_kit import named_agent
from conftest import ServerProcess, Tenant, own_database, wait_for
from webhook_kit import allowing, endpoint, verifies
from ws_kit import sockets

TIMEOUT = 20.0  # generous: the 2-core CI machine runs other suites beside this one


@pytest.fixture
def ws_factory(server):
    with sockets(server.url, patience=TIMEOUT / 2) as make:
        yield make


def agents(tenant: Tenant, *names: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Named agents of the tenant: name → (agent id, auth headers)."""
    return {name: named_agent(tenant, name) for name in names}


def topic(agent_id: str) -> str:
    return f"agent_id:{agent_id}:talk"


def ok(r: httpx.Response) -> dict:
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_every_change_reaches_the_participants_in_order_and_nobody_else(client, tenant, ws_factory):
    people = agents(tenant, "Alice", "Bob", "Carol", "Dave")
    (alice, ha), (bob, hb), (carol, hc) = people["Alice"], people["Bob"], people["Carol"]
    dave = people["Dave"][0]
    sockets = {}
    for name, (aid, headers) in (
        ("alice", (alice, ha)),
        ("bob", (bob, hb)),
        ("carol", (carol, hc)),
    ):
        sockets[name] = ws_factory(headers)
        sockets[name].subscribe(topic(aid))
    # an admin outside the talk, subscribed to their own talk topic and the customer's
    sockets["admin"] = ws_factory(tenant.admin)
    sockets["admin"].subscribe(
        topic(tenant.admin_id), f"customer_id:{tenant.customer_id}:conversation"
    )

    expected: list[tuple[str, dict]] = []
    talk = ok(
        client.post("/v1.0/talks", headers=ha, json={"name": "Ops", "participant_ids": [bob]})
    )
    tid = talk["id"]
    base = f"/v1.0/talks/{tid}"
    expected.append(("talk_created", talk))

    def message(mid: str) -> dict:
        return ok(client.get(f"{base}/messages/{mid}", headers=ha))

    def last_system() -> dict:
        return next(
            m
            for m in ok(client.get(f"{base}/messages", headers=ha))["result"]
            if m["type"] == "system"
        )

    root = ok(client.post(f"{base}/messages", headers=ha, json={"text": "root"}))
    expected.append(("talk_message_created", root))
    reply = ok(
        client.post(f"{base}/messages", headers=hb, json={"text": "re", "parent_id": root["id"]})
    )
    expected += [("talk_message_created", reply), ("talk_message_updated", message(root["id"]))]
    assert expected[-1][1]["reply_count"] == 1
    edited = ok(client.put(f"{base}/messages/{root['id']}", headers=ha, json={"text": "root!"}))
    expected.append(("talk_message_updated", edited))
    reacted = ok(
        client.post(f"/v1.0/messages/{root['id']}/reactions", headers=hb, json={"emoji": "tada"})
    )
    expected.append(("talk_reaction_added", reacted))
    unreacted = ok(client.delete(f"/v1.0/messages/{root['id']}/reactions/tada", headers=hb))
    expected.append(("talk_reaction_removed", unreacted))
    deleted = ok(client.delete(f"{base}/messages/{reply['id']}", headers=hb))
    expected += [("talk_message_deleted", deleted), ("talk_message_updated", message(root["id"]))]
    assert expected[-1][1]["reply_count"] == 0
    joined = ok(client.post(f"{base}/participants", headers=ha, json={"agent_id": dave}))
    expected += [("talk_participant_joined", joined), ("talk_message_created", last_system())]
    assert expected[-1][1]["text"] == "Dave joined the talk."
    left = ok(client.delete(f"{base}/participants/{joined['id']}", headers=people["Dave"][1]))
    expected += [("talk_participant_left", left), ("talk_message_created", last_system())]
    assert expected[-1][1]["text"] == "Dave left the talk."
    closed = ok(client.post(f"{base}/close", headers=hb))
    expected += [("talk_message_created", last_system()), ("talk_closed", closed)]
    assert expected[-2][1]["text"] == "Bob closed the talk."
    reopened = ok(client.post(f"{base}/reopen", headers=ha))
    expected += [("talk_message_created", last_system()), ("talk_updated", reopened)]

    for name in ("alice", "bob"):
        frames = sockets[name].events(len(expected))
        assert [(f["type"], f["data"]) for f in frames] == expected, name
        assert all(list(f) == ["id", "type", "tm_create", "data"] for f in frames)
        ids = [int(f["id"]) for f in frames]
        assert ids == sorted(set(ids))
    # a later talk with all four is the next frame everywhere: nothing else came before it
    # (not to alice and bob, and nothing at all to carol and the admin)
    later = ok(
        client.post(
            "/v1.0/talks",
            headers=ha,
            json={"name": "Later", "participant_ids": [bob, carol, tenant.admin_id]},
        )
    )
    for name in ("alice", "bob", "carol", "admin"):
        [frame] = sockets[name].events(1)
        assert (frame["type"], frame["data"]["id"]) == ("talk_created", later["id"]), name


def test_another_agents_topic_is_refused(client, tenant, ws_factory):
    people = agents(tenant, "Alice", "Bob")
    (_, ha), (bob, hb) = people["Alice"], people["Bob"]
    talk = ok(client.post("/v1.0/talks", headers=hb, json={"name": "Bob's", "participant_ids": []}))
    ws = ws_factory(ha)
    theirs = [topic(bob), f"{topic(bob)}:{talk['id']}"]
    ws.send({"type": "subscribe", "topics": theirs})
    assert ws.recv() == {"type": "subscribed", "topics": []}
    refusal = ws.recv()
    assert refusal["type"] == "error" and refusal["reason"] == "topic_forbidden"
    assert refusal["topics"] == theirs
    # an admin may not listen in on an agent's talks either
    admin_ws = ws_factory(tenant.admin)
    admin_ws.send({"type": "subscribe", "topics": [topic(bob)]})
    assert admin_ws.recv() == {"type": "subscribed", "topics": []}
    assert admin_ws.recv()["reason"] == "topic_forbidden"
    ok(client.post(f"/v1.0/talks/{talk['id']}/messages", headers=hb, json={"text": "private"}))
    # a later talk of their own is the first frame each gets: the private message never came
    alice = people["Alice"][0]
    ws.subscribe(topic(alice))
    admin_ws.subscribe(topic(tenant.admin_id))
    later = ok(
        client.post(
            "/v1.0/talks",
            headers=hb,
            json={"name": "Later", "participant_ids": [alice, tenant.admin_id]},
        )
    )
    for socket in (ws, admin_ws):
        [frame] = socket.events(1)
        assert (frame["type"], frame["data"]["id"]) == ("talk_created", later["id"])


def test_a_removed_agent_hears_of_it_then_nothing(client, tenant, ws_factory):
    people = agents(tenant, "Alice", "Bob", "Carol")
    (_, ha), (bob, hb), (carol, hc) = people["Alice"], people["Bob"], people["Carol"]
    talk = ok(
        client.post(
            "/v1.0/talks", headers=ha, json={"name": "Ops", "participant_ids": [bob, carol]}
        )
    )
    tid = talk["id"]
    carol_ws = ws_factory(hc)
    carol_ws.subscribe(f"{topic(carol)}:{tid}")  # the one talk's topic
    bob_ws = ws_factory(hb)
    bob_ws.subscribe(topic(bob))
    participant = next(p for p in talk["participants"] if p["agent_id"] == carol)
    removed = ok(client.delete(f"/v1.0/talks/{tid}/participants/{participant['id']}", headers=ha))
    ok(client.post(f"/v1.0/talks/{tid}/messages", headers=ha, json={"text": "after Carol"}))
    ok(client.put(f"/v1.0/talks/{tid}", headers=ha, json={"name": "Ops (2)"}))
    [frame] = carol_ws.events(1)
    assert frame["type"] == "talk_participant_left" and frame["data"] == removed
    assert removed["status"] == "left"
    got = bob_ws.events(4)
    assert [f["type"] for f in got] == [
        "talk_participant_left",
        "talk_message_created",
        "talk_message_created",
        "talk_updated",
    ]
    assert got[1]["data"]["text"] == "Alice removed Carol from the talk."
    assert got[2]["data"]["text"] == "after Carol"
    # then nothing of that talk: a later talk of Carol's is her next frame
    carol_ws.subscribe(topic(carol))
    later = ok(
        client.post("/v1.0/talks", headers=ha, json={"name": "Later", "participant_ids": [carol]})
    )
    [frame] = carol_ws.events(1)
    assert (frame["type"], frame["data"]["id"]) == ("talk_created", later["id"])


def test_reconnecting_with_since_replays_missed_talk_events(client, tenant, ws_factory):
    people = agents(tenant, "Alice", "Bob")
    (_, ha), (bob, hb) = people["Alice"], people["Bob"]
    ws = ws_factory(hb)
    ws.subscribe(topic(bob))
    talk = ok(
        client.post("/v1.0/talks", headers=ha, json={"name": "Ops", "participant_ids": [bob]})
    )
    [created] = ws.events(1)
    assert created["type"] == "talk_created" and created["data"] == talk
    ws.close()

    base = f"/v1.0/talks/{talk['id']}"
    one = ok(client.post(f"{base}/messages", headers=ha, json={"text": "while away 1"}))
    two = ok(client.post(f"{base}/messages", headers=ha, json={"text": "while away 2"}))
    edited = ok(client.put(f"{base}/messages/{one['id']}", headers=ha, json={"text": "fixed"}))

    back = ws_factory(hb)
    back.subscribe(topic(bob), since=created["id"])
    missed = back.events(3)
    assert [(f["type"], f["data"]) for f in missed] == [
        ("talk_message_created", one),
        ("talk_message_created", two),
        ("talk_message_updated", edited),
    ]
    live = ok(client.post(f"{base}/messages", headers=ha, json={"text": "live"}))
    [frame] = back.events(1)
    assert frame["data"] == live and int(frame["id"]) > int(missed[-1]["id"])
    again = ok(client.post(f"{base}/messages", headers=ha, json={"text": "again"}))
    [frame] = back.events(1)  # the next one, nothing repeated before it
    assert frame["data"] == again


# --- webhooks -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hook_server():
    """A database and server of the module's own: only its dispatcher delivers, and it may
    call the receiver on 127.0.0.1. Yields (server, database URL)."""
    url = own_database("talk_hooks")
    srv = ServerProcess(allowing(url)).wait_ready()
    yield srv, url
    srv.stop()


def test_a_talk_message_goes_out_as_a_signed_webhook(hook_server):
    server, db_url = hook_server
    receiver = endpoint()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            tenant = Tenant(client, "hooks", db_url=db_url)
            r = client.put(
                "/v1.0/customer",
                headers=tenant.admin,
                json={
                    "webhook_uri": receiver.url + "/hook",
                    "webhook_events": ["talk_message_created"],
                },
            )
            assert r.status_code == 200, r.text
            secret = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin).json()[
                "webhook_secret"
            ]
            people = agents(tenant, "Alice", "Bob")
            (_, ha), (bob, _) = people["Alice"], people["Bob"]
            talk = ok(
                client.post(
                    "/v1.0/talks", headers=ha, json={"name": "Ops", "participant_ids": [bob]}
                )
            )
            sent = ok(
                client.post(
                    f"/v1.0/talks/{talk['id']}/messages",
                    headers=ha,
                    json={
                        "text": "hooked",
                        "medias": [{"type": "image/png", "url": "https://x.example/a.png"}],
                    },
                )
            )
            [request] = wait_for(lambda: receiver.received("POST", "/hook.*"), timeout=TIMEOUT)
            # a later message's delivery comes next: the first was delivered once
            later = ok(
                client.post(
                    f"/v1.0/talks/{talk['id']}/messages", headers=ha, json={"text": "later"}
                )
            )
            first, second = wait_for(
                lambda: (got := receiver.received("POST", "/hook.*"))[1:] and got,
                timeout=TIMEOUT,
            )
            assert first == request
            assert json.loads(second.body)["data"]["id"] == later["id"]
            assert verifies(request, secret)
            body = json.loads(request.body)
            assert list(body) == ["id", "type", "tm_create", "data"]
            assert body["type"] == "talk_message_created"
            assert body["id"] == request.headers["webhook-id"]
            assert body["data"] == sent
            assert body["data"] == ok(
                client.get(f"/v1.0/talks/{talk['id']}/messages/{sent['id']}", headers=ha)
            )
            assert len(receiver.received("POST", "/hook.*")) == 2
    finally:
        receiver.stop()
