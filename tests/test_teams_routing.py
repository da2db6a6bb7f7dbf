"""What the teams API and agents' availability mean for routing: each change that may give
a waiting room a free slot hands the queue's head out in the same request — an agent going
online, a team's capacity raised, members added, a policy no longer manual, an agent's own
capacity raised — and a deactivated agent's rooms go back to routing."""

from __future__ import annotations

from api_kit import named_agent
from conftest import inbound
from db_kit import sql

URL = "/v1.0/teams"


def _room(client, tenant, room_id: str) -> dict:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def _online(client, headers) -> None:
    r = client.put("/v1.0/me/availability", headers=headers, json={"availability": "online"})
    assert r.status_code == 200, r.text


def _team(client, tenant, **body) -> dict:
    r = client.post(URL, headers=tenant.admin, json={"name": "Support", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_going_online_takes_the_queue_head(client, tenant):
    sms = tenant.channel("message")
    sam_id, sam = named_agent(tenant, "Sam")
    _team(
        client,
        tenant,
        agent_ids=[sam_id],
        account_ids=[str(sms.id)],
        assignment_policy="round_robin",
        max_open=1,
    )
    first = inbound(sms, "+15559870001", "hello").conversation_id
    second = inbound(sms, "+15559870002", "hi").conversation_id
    waiting = _room(client, tenant, first)
    assert (waiting["owner_id"], waiting["queue_position"]) == (None, 1)
    assert waiting["assignment_reason"].startswith("Waiting")
    assert _room(client, tenant, second)["queue_position"] == 2

    _online(client, sam)
    # at once, in the same request: the head is Sam's; the next one waits (capacity 1)
    got = _room(client, tenant, first)
    assert got["owner_id"] == sam_id and got["queue_position"] is None
    assert got["assignment_reason"].startswith("Assigned to Sam by round robin")
    assert _room(client, tenant, second)["queue_position"] == 1

    # away and offline agents get nothing more; online again with room, they do
    client.put("/v1.0/me/availability", headers=sam, json={"availability": "away"})
    r = client.put(f"/v1.0/agents/{sam_id}", headers=tenant.admin, json={"max_open": 2})
    assert r.status_code == 200
    assert _room(client, tenant, second)["owner_id"] is None
    _online(client, sam)
    assert _room(client, tenant, second)["owner_id"] == sam_id


def test_raising_a_teams_capacity_adding_members_and_leaving_manual_drain_the_queue(client, tenant):
    sms = tenant.channel("message")
    ann_id, ann = named_agent(tenant, "Ann")
    bob_id, bob = named_agent(tenant, "Bob")
    _online(client, ann)
    _online(client, bob)
    team = _team(client, tenant, agent_ids=[ann_id], account_ids=[str(sms.id)], max_open=1)
    rooms = [inbound(sms, f"+1555987000{i}", "hello").conversation_id for i in range(4)]
    # manual: everything waits, the reason says why
    assert all(_room(client, tenant, r)["owner_id"] is None for r in rooms)
    assert _room(client, tenant, rooms[0])["assignment_reason"] == "Team Support assigns by hand"

    def put(**body) -> None:
        r = client.put(f"{URL}/{team['id']}", headers=tenant.admin, json=body)
        assert r.status_code == 200, r.text

    def owners() -> list[str | None]:
        return [_room(client, tenant, r)["owner_id"] for r in rooms]

    put(assignment_policy="least_busy")
    assert owners() == [ann_id, None, None, None]
    put(max_open=2)
    assert owners() == [ann_id, ann_id, None, None]
    put(agent_ids=[ann_id, bob_id])
    assert owners() == [ann_id, ann_id, bob_id, bob_id]


def test_a_deactivated_agents_rooms_go_back_to_routing(client, tenant, db_url):
    sms = tenant.channel("message")
    ann_id, ann = named_agent(tenant, "Ann")
    bob_id, bob = named_agent(tenant, "Bob")
    _online(client, ann)
    _team(
        client,
        tenant,
        agent_ids=[ann_id, bob_id],
        account_ids=[str(sms.id)],
        assignment_policy="round_robin",
        max_open=5,
    )
    room = inbound(sms, "+15559870001", "hello").conversation_id
    assert _room(client, tenant, room)["owner_id"] == ann_id
    _online(client, bob)

    r = client.put(f"/v1.0/agents/{ann_id}", headers=tenant.admin, json={"status": "deactivated"})
    assert r.status_code == 200, r.text
    moved = _room(client, tenant, room)
    assert moved["owner_id"] == bob_id
    assert moved["assignment_reason"].startswith("Assigned to Bob")
    texts = [
        r["text"]
        for r in sql(
            db_url,
            "SELECT text FROM conversation_activities WHERE conversation_id = $1"
            " ORDER BY tm_create",
            room,
        )
    ]
    assert "Unassigned: Ann was deactivated" in texts

    # with nobody else online, the next deactivated agent's room waits in the queue
    r = client.put(f"/v1.0/agents/{bob_id}", headers=tenant.admin, json={"status": "deactivated"})
    assert r.status_code == 200
    waiting = _room(client, tenant, room)
    assert waiting["owner_id"] is None and waiting["queue_position"] == 1
