"""Routing through the JSON API: the room's new fields, moving a room between teams and
setting its priority by `PUT`, the list's team and priority filters and its priority sort,
and bad input."""

from __future__ import annotations

import uuid

from conftest import assert_error
from db_kit import sql

TEL = "+1555880{:04d}"


def make_team(db_url, tenant, name, members=(), *, account=None, policy="round_robin", max_open=5):
    team_id = str(uuid.uuid4())
    sql(
        db_url,
        "INSERT INTO teams (id, customer_id, name, assignment_policy, max_open)"
        " VALUES ($1, $2, $3, $4, $5)",
        team_id,
        tenant.customer_id,
        name,
        policy,
        max_open,
    )
    for agent_id in members:
        sql(
            db_url,
            "INSERT INTO team_members (customer_id, team_id, agent_id) VALUES ($1, $2, $3)",
            tenant.customer_id,
            team_id,
            agent_id,
        )
    if account is not None:
        sql(
            db_url,
            "INSERT INTO team_accounts (customer_id, team_id, account_id) VALUES ($1, $2, $3)",
            tenant.customer_id,
            team_id,
            account.id,
        )
    return team_id


def create_room(client, tenant, n: int, account=None) -> dict:
    body = {"participants": [{"type": "tel", "target": TEL.format(n)}]}
    if account is not None:
        body["account_id"] = str(account.id)
    r = client.post("/v1.0/conversations", headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_created_room_on_a_team_channel_is_routed_and_shows_why(client, tenant, db_url):
    account = tenant.channel("message")
    sql(db_url, "UPDATE agents SET availability = 'online' WHERE id = $1", tenant.agent_id)
    team_id = make_team(db_url, tenant, "Support", [tenant.agent_id], account=account, max_open=1)
    first = create_room(client, tenant, 1, account)
    assert first["team_id"] == team_id
    assert first["owner_id"] == tenant.agent_id
    assert first["assignment_reason"].startswith("Assigned to acme-agent by round robin")
    assert first["queue_position"] is None
    assert first["priority"] == "none"
    second = create_room(client, tenant, 2, account)
    assert (second["owner_id"], second["queue_position"]) == (None, 1)
    r = client.get(f"/v1.0/conversations/{second['id']}", headers=tenant.agent)
    assert r.json()["queue_position"] == 1
    # the agent closes its room: the waiting one is its own at once
    r = client.put(
        f"/v1.0/conversations/{first['id']}", headers=tenant.agent, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text
    r = client.get(f"/v1.0/conversations/{second['id']}", headers=tenant.agent)
    assert (r.json()["owner_id"], r.json()["queue_position"]) == (tenant.agent_id, None)


def test_put_moves_a_room_between_teams_and_sets_its_priority(client, tenant, db_url):
    room = create_room(client, tenant, 1)
    assert room["team_id"] is None
    team_id = make_team(db_url, tenant, "Sales", policy="manual")
    url = f"/v1.0/conversations/{room['id']}"
    r = client.put(url, headers=tenant.agent, json={"team_id": team_id, "priority": "urgent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["team_id"], body["priority"]) == (team_id, "urgent")
    assert body["assignment_reason"] == "Team Sales assigns by hand"
    assert body["queue_position"] == 1
    r = client.put(url, headers=tenant.admin, json={"team_id": None})
    body = r.json()
    assert (body["team_id"], body["queue_position"], body["assignment_reason"]) == (None, None, "")


def test_put_refuses_foreign_deleted_and_malformed_teams_and_priorities(
    client, tenant, other_tenant, db_url
):
    room = create_room(client, tenant, 1)
    url = f"/v1.0/conversations/{room['id']}"
    theirs = make_team(db_url, other_tenant, "Theirs")
    gone = make_team(db_url, tenant, "Gone")
    sql(db_url, "UPDATE teams SET tm_delete = now() WHERE id = $1", gone)
    for team_id in (theirs, gone, str(uuid.uuid4())):
        r = client.put(url, headers=tenant.admin, json={"team_id": team_id})
        assert_error(r, 422, "invalid_team")
    for bad in ("not-a-uuid", 12, "x" * 10_000, "\x00"):
        assert_error(client.put(url, headers=tenant.admin, json={"team_id": bad}), 422)
    for bad in ("critical", "", None, 3, "urgent\x00"):
        assert_error(client.put(url, headers=tenant.admin, json={"priority": bad}), 422)
    # a room of another customer is not found, whatever the body
    r = client.put(url, headers=other_tenant.admin, json={"team_id": theirs})
    assert_error(r, 404, "conversation_not_found")
    assert client.get(url, headers=tenant.admin).json()["team_id"] is None


def test_the_list_filters_by_team_and_priority_and_sorts_by_priority(client, tenant, db_url):
    support = make_team(db_url, tenant, "Support", policy="manual")
    rooms = [create_room(client, tenant, n) for n in range(7)]
    priorities = ["low", "urgent", "none", "urgent", "high", "medium", "low"]
    for room, priority in zip(rooms, priorities, strict=True):
        body = {"priority": priority, **({"team_id": support} if priority == "urgent" else {})}
        r = client.put(f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json=body)
        assert r.status_code == 200, r.text

    def listed(**params) -> list[dict]:
        found, token = [], None
        while True:
            query = {**params, "page_size": 2, **({"page_token": token} if token else {})}
            r = client.get("/v1.0/conversations", headers=tenant.admin, params=query)
            assert r.status_code == 200, r.text
            found += r.json()["result"]
            token = r.json()["next_page_token"]
            if not token:
                return found

    by_priority = listed(sort="priority")
    assert [r["priority"] for r in by_priority] == [
        "urgent",
        "urgent",
        "high",
        "medium",
        "low",
        "low",
        "none",
    ]
    # newest first within a priority
    assert [r["id"] for r in by_priority[:2]] == [rooms[3]["id"], rooms[1]["id"]]
    assert [r["id"] for r in by_priority[4:6]] == [rooms[6]["id"], rooms[0]["id"]]
    assert {r["id"] for r in listed(team_id=support)} == {rooms[1]["id"], rooms[3]["id"]}
    assert [r["id"] for r in listed(priority="low")] == [rooms[6]["id"], rooms[0]["id"]]
    assert listed(team_id=str(uuid.uuid4())) == []


def test_the_list_refuses_bad_filters_sorts_and_tokens(client, tenant):
    for params, reason in (
        ({"sort": "name"}, None),
        ({"priority": "critical"}, None),
        ({"team_id": "not-a-uuid"}, "invalid_team_id"),
        ({"sort": "priority", "page_token": "urgent/yesterday"}, "invalid_page_token"),
        ({"sort": "priority", "page_token": "2022-06-17 06:06:14.446158"}, "invalid_page_token"),
    ):
        r = client.get("/v1.0/conversations", headers=tenant.admin, params=params)
        assert_error(r, 400, reason)
    # a NUL is refused like everywhere else in the API
    r = client.get("/v1.0/conversations", headers=tenant.admin, params={"team_id": "\x00"})
    assert_error(r, 422, "invalid_character")
