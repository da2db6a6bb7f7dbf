"""Conversations over real HTTP: the basic flow, room matching, sending, lifecycle,
pagination, idempotency, visibility and tenant isolation (docs/API.md)."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import asyncpg
from conftest import assert_error, inbound, run_async, wait_for

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
LIVE = "9999-01-01 00:00:00.000000"
LINE_USER = "Ud871bcaf7c3ad13d2a0b0d78a42a287f"


def messages_of(client, headers, conversation_id, **params):
    r = client.get(
        f"/v1.0/conversations/{conversation_id}/messages", headers=headers, params=params
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_the_seed_tutorial_flow(client, tenant):
    """An API client's first steps: list conversations, get one, send a message, list its
    messages."""
    line = tenant.channel("line")
    inbound(line, LINE_USER, "hi there", provider_message_id="line-evt-1")
    h = tenant.admin

    listed = client.get("/v1.0/conversations", headers=h).json()
    assert set(listed) == {"result", "next_page_token"}
    assert listed["next_page_token"] == ""
    (room,) = listed["result"]
    for field in (
        "id",
        "name",
        "detail",
        "reference_type",
        "reference_id",
        "participants",
        "tm_create",
        "tm_update",
        "tm_delete",
    ):
        assert field in room
    assert room["reference_type"] == "line"
    assert room["reference_id"] == LINE_USER
    assert TIME.match(room["tm_create"]) and TIME.match(room["tm_update"])
    assert room["tm_delete"] == LIVE
    assert room["status"] == "active"
    assert room["last_message"] == "hi there"
    me, peer = room["participants"]
    assert {k: me[k] for k in ("type", "target_name", "name", "detail")} == {
        "type": "line",
        "target_name": "me",
        "name": "",
        "detail": "",
    }
    assert {k: peer[k] for k in ("type", "target", "target_name")} == {
        "type": "line",
        "target": LINE_USER,
        "target_name": "Unknown",
    }

    detail = client.get(f"/v1.0/conversations/{room['id']}", headers=h).json()
    assert detail == room

    sent = client.post(
        f"/v1.0/conversations/{room['id']}/messages",
        headers=h,
        json={"text": "hi, this is test message. Good to see you. hahaha :)"},
    )
    assert sent.status_code == 201
    message = sent.json()
    for field in (
        "id",
        "conversation_id",
        "status",
        "reference_type",
        "reference_id",
        "source_target",
        "text",
        "medias",
        "tm_create",
        "tm_update",
        "tm_delete",
    ):
        assert field in message
    assert message["conversation_id"] == room["id"]
    assert message["status"] == "progressing"
    assert (message["reference_type"], message["reference_id"]) == ("line", LINE_USER)
    assert message["source_target"] == line.address
    assert message["direction"] == "outbound"
    assert message["medias"] == []

    history = messages_of(client, h, room["id"])
    assert [m["text"] for m in history["result"]] == [
        "hi, this is test message. Good to see you. hahaha :)",
        "hi there",
    ]
    assert history["next_page_token"] == ""
    # the loopback channel takes it, and the sender worker marks it done
    done = wait_for(lambda: messages_of(client, h, room["id"])["result"][0]["status"] == "done")
    assert done
    final = messages_of(client, h, room["id"])["result"][0]
    assert final["provider_message_id"].startswith("loopback-")
    assert final["tm_update"] > final["tm_create"]


def test_same_peer_same_room_other_peer_other_room(client, tenant):
    sms = tenant.channel("message")
    first = inbound(sms, "+1 (555) 987-6543", "one")
    second = inbound(sms, "+15559876543", "two")
    other = inbound(sms, "+15551112222", "three")
    assert first.new_room and not second.new_room and other.new_room
    assert first.conversation_id == second.conversation_id != other.conversation_id
    history = messages_of(client, tenant.admin, first.conversation_id)["result"]
    assert [m["text"] for m in history] == ["two", "one"]
    assert history[0]["reference_id"] == "+15559876543"
    assert history[0]["source"]["target"] == "+15559876543"


def test_a_closed_room_is_not_reused(client, tenant):
    sms = tenant.channel("message")
    first = inbound(sms, "+15559876543", "before")
    r = client.put(
        f"/v1.0/conversations/{first.conversation_id}",
        headers=tenant.admin,
        json={"status": "closed"},
    )
    assert r.json()["status"] == "closed"
    after = inbound(sms, "+15559876543", "after")
    assert after.new_room and after.conversation_id != first.conversation_id
    # reopening the old room makes it the most recently active again? no: activity decides
    client.put(
        f"/v1.0/conversations/{first.conversation_id}",
        headers=tenant.admin,
        json={"status": "active"},
    )
    again = inbound(sms, "+15559876543", "again")
    assert again.conversation_id == first.conversation_id  # reopened: now the most recent


def test_phone_and_email_of_one_person_land_in_one_room(client, tenant):
    sms, email = tenant.channel("message"), tenant.channel("email")
    first = inbound(sms, "+15559876543", "When will my order arrive?")
    added = client.post(
        f"/v1.0/conversations/{first.conversation_id}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": "Cust@Example.com", "target_name": "Cust"},
    )
    assert added.status_code == 201
    assert added.json()["target"] == "cust@example.com"
    by_mail = inbound(email, "cust@example.com", "Can I change the delivery address?")
    assert by_mail.conversation_id == first.conversation_id and not by_mail.new_room
    history = messages_of(client, tenant.admin, first.conversation_id)["result"]
    assert [(m["reference_type"], m["text"]) for m in history] == [
        ("email", "Can I change the delivery address?"),
        ("message", "When will my order arrive?"),
    ]
    # a reply goes to whoever wrote last: now by email
    reply = client.post(
        f"/v1.0/conversations/{first.conversation_id}/messages",
        headers=tenant.admin,
        json={"text": "Yes, updated."},
    ).json()
    assert (reply["reference_type"], reply["reference_id"]) == ("email", "cust@example.com")
    assert reply["account_id"] == str(email.id)
    # unless the agent picks the phone
    phone = [
        p
        for p in client.get(
            f"/v1.0/conversations/{first.conversation_id}", headers=tenant.admin
        ).json()["participants"]
        if p["type"] == "tel" and p["target_name"] != "me"
    ][0]
    forced = client.post(
        f"/v1.0/conversations/{first.conversation_id}/messages",
        headers=tenant.admin,
        json={"text": "Confirmation sent to your email.", "participant_id": phone["id"]},
    ).json()
    assert (forced["reference_type"], forced["reference_id"]) == ("message", "+15559876543")


def test_media_goes_only_over_a_channel_that_carries_it(client, tenant):
    sms = tenant.channel("message", media=False)
    tenant.channel("email")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    client.post(
        f"/v1.0/conversations/{room}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": "cust@example.com"},
    )
    media = {"type": "application/pdf", "url": "https://files.example.com/t.pdf", "name": "t.pdf"}
    sent = client.post(
        f"/v1.0/conversations/{room}/messages",
        headers=tenant.admin,
        json={"text": "tracking details", "medias": [media]},
    ).json()
    assert sent["reference_type"] == "email"  # the phone (last writer) cannot take a PDF
    assert sent["medias"] == [media]
    text_only = client.post(
        f"/v1.0/conversations/{room}/messages", headers=tenant.admin, json={"text": "ok"}
    ).json()
    assert text_only["reference_type"] == "message"
    phone = next(
        p["id"]
        for p in client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()[
            "participants"
        ]
        if p["type"] == "tel" and p["target_name"] != "me"
    )
    r = client.post(
        f"/v1.0/conversations/{room}/messages",
        headers=tenant.admin,
        json={"text": "x", "medias": [media], "participant_id": phone},
    )
    assert_error(r, 422, "channel_cannot_carry_media")


def test_a_refused_message_fails_with_the_reason(client, tenant):
    sms = tenant.channel("message", simulate="fail")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    sent = client.post(
        f"/v1.0/conversations/{room}/messages", headers=tenant.admin, json={"text": "hello"}
    ).json()
    failed = wait_for(
        lambda: [
            m
            for m in messages_of(client, tenant.admin, room)["result"]
            if m["id"] == sent["id"] and m["status"] == "failed"
        ]
    )
    assert "refuse" in failed[0]["error"]


def test_a_provider_retry_is_stored_once(client, tenant):
    sms = tenant.channel("message")
    first = inbound(sms, "+15559876543", "hello", provider_message_id="SM123")
    again = inbound(sms, "+15559876543", "hello", provider_message_id="SM123")
    assert again.duplicate and not first.duplicate
    assert again.message.id == first.message.id
    assert len(messages_of(client, tenant.admin, first.conversation_id)["result"]) == 1

    # the same first message delivered twice at the same moment: one room, one message
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda _: inbound(sms, "+15553334444", "hi", provider_message_id="SM999"),
                range(4),
            )
        )
    assert len({r.conversation_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    rooms = client.get("/v1.0/conversations", headers=tenant.admin, params={"q": "+15553334444"})
    assert len(rooms.json()["result"]) == 1


def test_first_messages_from_a_new_person_at_once_open_one_room(client, tenant):
    sms = tenant.channel("message")
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda i: inbound(sms, "+15557778888", f"msg {i}"), range(5)))
    assert len({r.conversation_id for r in results}) == 1
    assert sum(r.new_room for r in results) == 1
    assert len(messages_of(client, tenant.admin, results[0].conversation_id)["result"]) == 5


def test_lifecycle_with_a_controllable_clock(client, tenant):
    from app.conversations.service import sweep_lifecycle
    from app.domain.timefmt import now

    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id

    def sweep(after):
        return run_async(
            sweep_lifecycle(
                idle_after=timedelta(minutes=30),
                close_after=timedelta(days=7),
                at=now() + after,
            )
        )

    def status():
        return client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()["status"]

    assert sweep(timedelta(minutes=29)) == (0, 0)
    assert status() == "active"
    assert sweep(timedelta(minutes=31)) == (1, 0)
    assert status() == "idle"
    # a message makes an idle room active, in the same room
    again = inbound(sms, "+15559876543", "still there?")
    assert again.conversation_id == room and status() == "active"
    assert sweep(timedelta(days=8)) == (0, 1)
    assert status() == "closed"
    # now the person's rooms are all closed: a new message opens a new room
    assert inbound(sms, "+15559876543", "new issue").new_room


def test_the_lifecycle_worker_runs_in_the_server(tenant):
    from conftest import ServerProcess, cli_env

    srv = ServerProcess(
        cli_env(
            CONVODESK_IDLE_AFTER="1", CONVODESK_CLOSE_AFTER="3", CONVODESK_LIFECYCLE_INTERVAL="0.2"
        )
    ).wait_ready()
    try:
        import httpx

        sms = tenant.channel("message")
        room = inbound(sms, "+15559876543", "hi").conversation_id

        def status():
            return httpx.get(f"{srv.url}/v1.0/conversations/{room}", headers=tenant.admin).json()[
                "status"
            ]

        wait_for(lambda: status() == "idle", timeout=5)
        wait_for(lambda: status() == "closed", timeout=8)
    finally:
        srv.stop()


def test_update_rename_assign_tag_close_reopen(client, tenant):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    h = tenant.admin
    url = f"/v1.0/conversations/{room}"
    r = client.put(
        url,
        headers=h,
        json={"name": "Order #5678", "detail": "VIP", "tags": ["shipping", "vip", "shipping"]},
    ).json()
    assert (r["name"], r["detail"], r["tags"]) == ("Order #5678", "VIP", ["shipping", "vip"])
    r = client.put(url, headers=h, json={"owner_id": tenant.agent_id}).json()
    assert (r["owner_type"], r["owner_id"]) == ("agent", tenant.agent_id)
    r = client.put(url, headers=h, json={"owner_id": None}).json()
    assert (r["owner_type"], r["owner_id"]) == ("", None)
    assert client.put(url, headers=h, json={"status": "closed"}).json()["status"] == "closed"
    assert client.put(url, headers=h, json={"status": "active"}).json()["status"] == "active"
    assert_error(client.put(url, headers=h, json={"status": "idle"}), 422, "invalid_status")
    assert_error(
        client.put(url, headers=h, json={"owner_id": "00000000-0000-0000-0000-000000000000"}),
        422,
        "invalid_owner",
    )
    assert_error(client.put(url, headers=h, json={"tags": ["a,b"]}), 422, "invalid_body")


def test_each_change_is_one_event(client, tenant, db_url):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    h = tenant.admin
    url = f"/v1.0/conversations/{room}"
    client.put(url, headers=h, json={"name": "Renamed", "tags": ["x"]})
    client.put(url, headers=h, json={"owner_id": tenant.agent_id})
    client.put(url, headers=h, json={"status": "closed"})
    client.put(url, headers=h, json={"status": "active"})
    added = client.post(
        f"{url}/participants", headers=h, json={"type": "email", "target": "c@example.com"}
    ).json()
    client.delete(f"{url}/participants/{added['id']}", headers=h)
    client.delete(url, headers=h)

    async def types():
        conn = await asyncpg.connect(db_url)
        rows = await conn.fetch(  # the room's events (adding the tenant's agents wrote some)
            "SELECT type, payload FROM events WHERE type LIKE 'conversation\\_%' ORDER BY id"
        )
        await conn.close()
        return rows

    rows = asyncio.run(types())
    # the desk's timeline lines are events of their own
    lines = [
        json.loads(r["payload"])["text"]
        for r in rows
        if r["type"] == "conversation_activity_created"
    ]
    assert lines == [
        "Administrator assigned the conversation to acme-agent",
        "Administrator closed the conversation",
        "Administrator reopened the conversation",
        "Administrator added c@example.com (email)",
        "Administrator removed c@example.com (email)",
    ]
    assert [r["type"] for r in rows if r["type"] != "conversation_activity_created"] == [
        "conversation_created",
        "conversation_message_created",
        "conversation_message_received",
        "conversation_updated",
        "conversation_updated",
        "conversation_closed",
        "conversation_updated",
        "conversation_participant_added",
        "conversation_participant_removed",
        "conversation_deleted",
    ]


def test_filters_and_search(client, tenant):
    sms, email = tenant.channel("message"), tenant.channel("email")
    a = inbound(sms, "+15550000001", "my parcel is late").conversation_id
    b = inbound(email, "bob@example.com", "invoice question", peer_name="Bob Builder")
    b = b.conversation_id
    c = inbound(sms, "+15550000003", "hello").conversation_id
    h = tenant.admin
    client.put(f"/v1.0/conversations/{a}", headers=h, json={"tags": ["shipping"]})
    client.put(f"/v1.0/conversations/{b}", headers=h, json={"owner_id": tenant.agent_id})
    client.put(f"/v1.0/conversations/{c}", headers=h, json={"status": "closed"})

    def ids(**params):
        r = client.get("/v1.0/conversations", headers=h, params=params)
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["result"]}

    assert ids() == {a, b, c}
    assert ids(status="closed") == {c}
    assert ids(status="active") == {a, b}
    assert ids(reference_type="email") == {b}
    assert ids(tag="shipping") == {a}
    assert ids(owner_id=tenant.agent_id) == {b}
    assert ids(owner_id="none") == {a, c}
    assert ids(q="parcel") == {a}
    assert ids(q="Builder") == {b}
    assert ids(q="bob@") == {b}
    assert ids(q="+15550000003") == {c}
    assert ids(q="100%_\\") == set()
    assert_error(
        client.get("/v1.0/conversations", headers=h, params={"status": "sleeping"}),
        400,
        "invalid_parameter",
    )
    assert_error(
        client.get("/v1.0/conversations", headers=h, params={"owner_id": "bob"}),
        400,
        "invalid_owner_id",
    )


def test_agents_see_their_own_and_unassigned_rooms_only(client, tenant):
    sms = tenant.channel("message")
    mine = inbound(sms, "+15550000001", "a").conversation_id
    free = inbound(sms, "+15550000002", "b").conversation_id
    theirs = inbound(sms, "+15550000003", "c").conversation_id
    other_agent = tenant.add_agent("acme-agent2", "agent")
    h = tenant.admin
    client.put(f"/v1.0/conversations/{mine}", headers=h, json={"owner_id": tenant.agent_id})
    client.put(f"/v1.0/conversations/{theirs}", headers=h, json={"owner_id": other_agent})

    seen = {
        x["id"] for x in client.get("/v1.0/conversations", headers=tenant.agent).json()["result"]
    }
    assert seen == {mine, free}
    for path in (f"/v1.0/conversations/{theirs}", f"/v1.0/conversations/{theirs}/messages"):
        assert_error(client.get(path, headers=tenant.agent), 404, "conversation_not_found")
    assert_error(
        client.post(
            f"/v1.0/conversations/{theirs}/messages", headers=tenant.agent, json={"text": "x"}
        ),
        404,
        "conversation_not_found",
    )
    # managers see everything
    seen = {
        x["id"] for x in client.get("/v1.0/conversations", headers=tenant.manager).json()["result"]
    }
    assert seen == {mine, free, theirs}
    # an agent may take an unassigned room and let it go, but not hand it to someone else
    url = f"/v1.0/conversations/{free}"
    assert (
        client.put(url, headers=tenant.agent, json={"owner_id": tenant.agent_id}).status_code == 200
    )
    assert_error(
        client.put(url, headers=tenant.agent, json={"owner_id": other_agent}),
        403,
        "assignment_not_allowed",
    )
    assert client.put(url, headers=tenant.agent, json={"owner_id": None}).status_code == 200
    assert_error(client.delete(url, headers=tenant.agent), 403, "manager_required")


def test_another_customers_ids_are_not_found_everywhere(client, tenant, other_tenant):
    sms = tenant.channel("message")
    got = inbound(sms, "+15559876543", "hi")
    room = got.conversation_id
    participant = client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()[
        "participants"
    ][1]["id"]
    h = other_tenant.admin
    base = f"/v1.0/conversations/{room}"
    calls = [
        ("GET", base, None),
        ("PUT", base, {"name": "x"}),
        ("DELETE", base, None),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"text": "x"}),
        ("POST", f"{base}/participants", {"type": "tel", "target": "+15551230000"}),
        ("DELETE", f"{base}/participants/{participant}", None),
    ]
    for method, path, body in calls:
        assert_error(
            client.request(method, path, headers=h, json=body), 404, "conversation_not_found"
        )
    assert client.get("/v1.0/conversations", headers=h).json()["result"] == []
    # the other customer cannot create a room on this customer's account either
    assert_error(
        client.post(
            "/v1.0/conversations",
            headers=h,
            json={
                "participants": [{"type": "tel", "target": "+15551230000"}],
                "account_id": str(sms.id),
            },
        ),
        404,
        "account_not_found",
    )
    # and nothing changed for the owner
    assert client.get(base, headers=tenant.admin).json()["name"] == got.message.source.target


def test_create_a_conversation_and_manage_participants(client, tenant):
    tenant.channel("message")
    h = tenant.admin
    created = client.post(
        "/v1.0/conversations",
        headers=h,
        json={
            "name": "Customer Support #1234",
            "participants": [
                {"type": "tel", "target": "+15551234567", "target_name": "Kim"},
                {"type": "email", "target": "kim@example.com"},
            ],
        },
    )
    assert created.status_code == 201
    room = created.json()
    assert room["name"] == "Customer Support #1234"
    assert room["reference_type"] == "message" and room["reference_id"] == "+15551234567"
    kinds = [(p["type"], p["target"], p["target_name"]) for p in room["participants"]]
    assert kinds == [
        ("tel", "+15550001111", "me"),
        ("tel", "+15551234567", "Kim"),
        ("email", "kim@example.com", "Unknown"),
    ]
    url = f"/v1.0/conversations/{room['id']}"
    extra = client.post(
        f"{url}/participants", headers=h, json={"type": "tel", "target": "+15559876543"}
    )
    assert extra.status_code == 201
    assert_error(
        client.post(
            f"{url}/participants", headers=h, json={"type": "tel", "target": "+1 555 987 6543"}
        ),
        409,
        "participant_exists",
    )
    me = room["participants"][0]["id"]
    assert_error(client.delete(f"{url}/participants/{me}", headers=h), 409, "cannot_remove_me")
    removed = client.delete(f"{url}/participants/{extra.json()['id']}", headers=h)
    assert removed.status_code == 200
    assert len(client.get(url, headers=h).json()["participants"]) == 3
    assert_error(
        client.delete(f"{url}/participants/{extra.json()['id']}", headers=h),
        404,
        "participant_not_found",
    )
    # with no email account connected, an email reply is refused clearly
    kim_mail = room["participants"][2]["id"]
    assert_error(
        client.post(f"{url}/messages", headers=h, json={"text": "x", "participant_id": kim_mail}),
        422,
        "no_channel_account",
    )


def test_bad_input_on_every_endpoint(client, tenant):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    h = tenant.admin
    cases = [
        ("POST", "/v1.0/conversations", {}, 422, "invalid_body"),
        ("POST", "/v1.0/conversations", {"participants": []}, 422, "invalid_body"),
        (
            "POST",
            "/v1.0/conversations",
            {"participants": [{"type": "tel", "target": "not a number"}]},
            422,
            "invalid_address",
        ),
        (
            "POST",
            "/v1.0/conversations",
            {"participants": [{"type": "fax", "target": "1"}]},
            422,
            "invalid_body",
        ),
        (
            "POST",
            "/v1.0/conversations",
            {"participants": [{"type": "agent", "target": tenant.agent_id}]},
            422,
            "invalid_participant_type",
        ),
        (
            "POST",
            "/v1.0/conversations",
            {
                "participants": [
                    {"type": "email", "target": "a@b.co"},
                    {"type": "email", "target": "A@B.co"},
                ]
            },
            422,
            "duplicate_participant",
        ),
        ("PUT", f"/v1.0/conversations/{room}", {"name": 5}, 422, "invalid_body"),
        ("PUT", f"/v1.0/conversations/{room}", {"owner": "x"}, 422, "invalid_body"),
        ("POST", f"/v1.0/conversations/{room}/messages", {}, 422, "empty_message"),
        ("POST", f"/v1.0/conversations/{room}/messages", {"text": "   "}, 422, "empty_message"),
        (
            "POST",
            f"/v1.0/conversations/{room}/messages",
            {"text": "x" * 20001},
            422,
            "invalid_body",
        ),
        (
            "POST",
            f"/v1.0/conversations/{room}/messages",
            {"text": "x", "medias": [{"type": "image/png", "url": "javascript:alert(1)"}]},
            422,
            "invalid_body",
        ),
        (
            "POST",
            f"/v1.0/conversations/{room}/messages",
            {"text": "x", "participant_id": "nope"},
            422,
            "invalid_body",
        ),
        ("POST", f"/v1.0/conversations/{room}/participants", {"type": "tel"}, 422, "invalid_body"),
        (
            "GET",
            f"/v1.0/conversations/{room}/messages?page_size=500",
            None,
            400,
            "invalid_parameter",
        ),
        (
            "GET",
            f"/v1.0/conversations/{room}/messages?page_token=x",
            None,
            400,
            "invalid_page_token",
        ),
        ("GET", "/v1.0/conversations/not-a-uuid", None, 404, "conversation_not_found"),
    ]
    for method, path, body, status, reason in cases:
        r = client.request(method, path, headers=h, json=body)
        assert_error(r, status, reason)
    assert_error(
        client.post(
            f"/v1.0/conversations/{room}/messages",
            headers=h,
            content=b"{",
        ),
        415,
    )
    assert_error(
        client.post(
            f"/v1.0/conversations/{room}/messages",
            headers=h | {"content-type": "application/json"},
            content=b"{",
        ),
        400,
        "malformed_json",
    )
    # HTML is stored and returned as text, never interpreted
    xss = '<img src=x onerror="alert(1)">'
    sent = client.post(f"/v1.0/conversations/{room}/messages", headers=h, json={"text": xss})
    assert sent.json()["text"] == xss


def test_idempotency_key_creates_once(client, tenant):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    h = tenant.admin | {"Idempotency-Key": "send-42"}
    url = f"/v1.0/conversations/{room}/messages"
    first = client.post(url, headers=h, json={"text": "only once"})
    second = client.post(url, headers=h, json={"text": "only once"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    texts = [m["text"] for m in messages_of(client, tenant.admin, room)["result"]]
    assert texts.count("only once") == 1
    assert_error(
        client.post(url, headers=h, json={"text": "different"}), 422, "idempotency_key_reused"
    )
    # keys are per customer, and a failed request does not use the key up
    bad = client.post(url, headers=tenant.admin | {"Idempotency-Key": "k2"}, json={"text": ""})
    assert bad.status_code == 422
    good = client.post(url, headers=tenant.admin | {"Idempotency-Key": "k2"}, json={"text": "ok"})
    assert good.status_code == 201
    created = client.post(
        "/v1.0/conversations",
        headers=tenant.admin | {"Idempotency-Key": "c1"},
        json={"participants": [{"type": "tel", "target": "+15550009999"}]},
    )
    again = client.post(
        "/v1.0/conversations",
        headers=tenant.admin | {"Idempotency-Key": "c1"},
        json={"participants": [{"type": "tel", "target": "+15550009999"}]},
    )
    assert created.json()["id"] == again.json()["id"]


def test_pages_of_messages_sharing_one_timestamp(client, tenant, db_url):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "m0").conversation_id
    for i in range(1, 25):
        inbound(sms, "+15559876543", f"m{i}")

    async def same_time():
        conn = await asyncpg.connect(db_url)
        # 15 of them in one microsecond, across several page boundaries
        await conn.execute(
            "UPDATE messages SET tm_create = '2026-05-05 05:05:05.555555+00'"
            " WHERE text = ANY($1::text[])",
            [f"m{i}" for i in range(5, 20)],
        )
        await conn.close()

    asyncio.run(same_time())
    seen, token = [], ""
    for _ in range(30):
        params = {"page_size": 4} | ({"page_token": token} if token else {})
        page = messages_of(client, tenant.admin, room, **params)
        seen += [m["text"] for m in page["result"]]
        token = page["next_page_token"]
        if not token:
            break
    assert sorted(seen) == sorted(f"m{i}" for i in range(25))
    assert len(seen) == 25
