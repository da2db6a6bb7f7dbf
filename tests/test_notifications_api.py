"""`/v1.0/notifications` over HTTP: the caller's own list (keyset pages, `read` filter,
admins' `agent_id`), `…/{id}/read`, `…/read_all`; foreign ids 404, bad bodies 422. And the
API websocket: a notification's events reach only the notified agent's socket."""

from __future__ import annotations

import pytest
from conftest import assert_error, inbound
from ws_kit import sockets

N = "/v1.0/notifications"


def assign(client, tenant, room: str, owner_id: str, by: dict | None = None) -> None:
    r = client.put(
        f"/v1.0/conversations/{room}", headers=by or tenant.admin, json={"owner_id": owner_id}
    )
    assert r.status_code == 200, r.text


def rooms_for_agent(client, tenant, n: int) -> list[str]:
    """`n` rooms the admin assigned to the tenant's agent (each notifies it)."""
    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555300{i:04d}", f"hello {i}").conversation_id for i in range(n)]
    for room in rooms:
        assign(client, tenant, room, tenant.agent_id)
    return rooms


def test_the_agent_lists_its_notifications_in_pages_and_marks_them_read(client, tenant):
    rooms = rooms_for_agent(client, tenant, 3)
    seen, token = [], ""
    while True:
        params = {"page_size": 2, **({"page_token": token} if token else {})}
        r = client.get(N, headers=tenant.agent, params=params)
        assert r.status_code == 200, r.text
        seen += r.json()["result"]
        token = r.json()["next_page_token"]
        if not token:
            break
    assert [n["conversation_id"] for n in seen] == rooms[::-1]
    first = seen[0]
    assert set(first) == {
        "id", "customer_id", "agent_id", "type", "conversation_id", "message_id",
        "actor_id", "text", "read", "tm_read", "tm_create",
    }  # fmt: skip
    assert (first["type"], first["agent_id"], first["actor_id"]) == (
        "assigned",
        tenant.agent_id,
        tenant.admin_id,
    )
    assert first["read"] is False and first["tm_read"] is None
    # the others have none
    assert client.get(N, headers=tenant.manager).json()["result"] == []

    r = client.post(f"{N}/{first['id']}/read", headers=tenant.agent)
    assert r.status_code == 200, r.text
    assert r.json()["read"] is True and r.json()["tm_read"]
    unread = client.get(N, headers=tenant.agent, params={"read": "false"}).json()["result"]
    assert [n["conversation_id"] for n in unread] == rooms[:2][::-1]
    read = client.get(N, headers=tenant.agent, params={"read": "true"}).json()["result"]
    assert [n["id"] for n in read] == [first["id"]]

    r = client.post(f"{N}/read_all", headers=tenant.agent, json={"conversation_id": rooms[0]})
    assert r.status_code == 200 and r.json() == {"updated": 1}
    r = client.post(f"{N}/read_all", headers=tenant.agent)
    assert r.status_code == 200 and r.json() == {"updated": 1}
    assert client.get(N, headers=tenant.agent, params={"read": "false"}).json()["result"] == []


def test_admins_may_read_another_agents_list_others_may_not(client, tenant, other_tenant):
    rooms_for_agent(client, tenant, 1)
    listed = client.get(N, headers=tenant.admin, params={"agent_id": tenant.agent_id})
    assert listed.status_code == 200 and len(listed.json()["result"]) == 1
    assert_error(
        client.get(N, headers=tenant.manager, params={"agent_id": tenant.agent_id}),
        403,
        "admin_required",
    )
    # another customer's agent is not found
    assert_error(
        client.get(N, headers=other_tenant.admin, params={"agent_id": tenant.agent_id}),
        404,
        "agent_not_found",
    )
    assert_error(
        client.get(N, headers=tenant.admin, params={"agent_id": "nope"}), 400, "invalid_parameter"
    )


def test_foreign_and_unknown_ids_are_not_found(client, tenant, other_tenant):
    rooms = rooms_for_agent(client, tenant, 1)
    mine = client.get(N, headers=tenant.agent).json()["result"][0]
    for headers in (other_tenant.admin, tenant.admin, tenant.manager):  # not theirs
        assert_error(
            client.post(f"{N}/{mine['id']}/read", headers=headers), 404, "notification_not_found"
        )
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert_error(client.post(f"{N}/{bad}/read", headers=tenant.agent), 404)
    theirs = other_tenant.channel("message")
    foreign_room = inbound(theirs, "+15553009999", "x").conversation_id
    assert_error(
        client.post(f"{N}/read_all", headers=tenant.agent, json={"conversation_id": foreign_room}),
        404,
        "conversation_not_found",
    )
    # nothing was marked by any of it
    assert client.get(N, headers=tenant.agent).json()["result"][0]["read"] is False
    assert rooms


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": 5},
        {"conversation_id": "not-an-id"},
        {"conversation_id": None, "extra": True},
        ["a list"],
        {"conversation_id": "a\u0000b"},
    ],
)
def test_bad_read_all_bodies_are_422(client, tenant, body):
    assert_error(client.post(f"{N}/read_all", headers=tenant.agent, json=body), 422)


def test_bad_list_parameters_are_400(client, tenant):
    assert_error(client.get(N, headers=tenant.agent, params={"read": "maybe"}), 400)
    assert_error(client.get(N, headers=tenant.agent, params={"page_size": 0}), 400)
    assert_error(client.get(N, headers=tenant.agent, params={"page_token": "x"}), 400)


def test_only_the_notified_agents_socket_gets_its_notification(server, client, tenant):
    """The manager's socket, subscribed to its own notifications, misses the agent's: the
    first notification frame it gets is its own, assigned after the agent's."""
    sms = tenant.channel("message")
    first = inbound(sms, "+15553001001", "first").conversation_id
    second = inbound(sms, "+15553001002", "second").conversation_id
    with sockets(server.url) as make:
        agent_ws = make(tenant.agent)
        agent_ws.subscribe(f"agent_id:{tenant.agent_id}:notification")
        manager_ws = make(tenant.manager)
        manager_ws.subscribe(f"agent_id:{tenant.manager_id}")  # everything that is its own
        admin_ws = make(tenant.admin)  # admins see every room's events, not others' notices
        admin_ws.subscribe(f"agent_id:{tenant.admin_id}:notification")
        # nobody may subscribe to another agent's notifications
        manager_ws.send(
            {"type": "subscribe", "topics": [f"agent_id:{tenant.agent_id}:notification"]}
        )
        assert manager_ws.recv()["type"] == "subscribed"
        refusal = manager_ws.recv()
        assert refusal["reason"] == "topic_forbidden"

        assign(client, tenant, first, tenant.agent_id)
        assign(client, tenant, second, tenant.manager_id)
        mine = agent_ws.events(1)[0]
        assert mine["type"] == "notification_created"
        assert mine["data"]["agent_id"] == tenant.agent_id
        assert mine["data"]["conversation_id"] == first
        theirs = manager_ws.events(1)[0]
        assert theirs["type"] == "notification_created"
        assert theirs["data"]["conversation_id"] == second  # not the agent's, before it

        # reading it is an update, on the owner's socket only; the admin's socket, which
        # got nothing so far, gets its own notification next
        r = client.post(f"{N}/{mine['data']['id']}/read", headers=tenant.agent)
        assert r.status_code == 200
        updated = agent_ws.events(1)[0]
        assert updated["type"] == "notification_updated" and updated["data"]["read"] is True
        assign(client, tenant, first, tenant.admin_id, by=tenant.manager)
        own = admin_ws.events(1)[0]
        assert own["type"] == "notification_created"
        assert own["data"]["agent_id"] == tenant.admin_id
        assert own["data"]["actor_id"] == tenant.manager_id
