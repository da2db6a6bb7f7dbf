"""Teams (`/v1.0/teams`): CRUD, the rules on members and channel accounts, tenant
isolation, and what each change leaves behind: its event and its audit entry."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import httpx
from api_kit import named_agent
from conftest import assert_error, inbound, run_async
from db_kit import audit_entries as _entries
from db_kit import sql, sql_value

URL = "/v1.0/teams"
LIVE = "9999-01-01 00:00:00.000000"


def _events(db_url: str, customer_id: str, *types: str) -> list[dict]:
    rows = sql(
        db_url,
        "SELECT type, topics, audience::text[] AS audience, payload::text FROM events"
        " WHERE customer_id = $1 AND type = ANY($2::text[]) ORDER BY id",
        customer_id,
        list(types),
    )
    return [
        {
            "type": r["type"],
            "topics": list(r["topics"]),
            "audience": list(r["audience"]),
            "data": json.loads(r["payload"]),
        }
        for r in rows
    ]


def _team(client, tenant, **body) -> dict:
    r = client.post(URL, headers=tenant.admin, json={"name": "Support", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_admin_creates_reads_updates_and_deletes_a_team(client, tenant, db_url):
    sms = tenant.channel("message")
    created = _team(
        client,
        tenant,
        detail="Front line",
        agent_ids=[tenant.agent_id, tenant.manager_id],
        account_ids=[str(sms.id)],
        assignment_policy="round_robin",
        max_open=3,
        reassign_after=600,
    )
    assert created["customer_id"] == tenant.customer_id
    assert created["agent_ids"] == [tenant.agent_id, tenant.manager_id]
    assert created["account_ids"] == [str(sms.id)]
    assert (created["assignment_policy"], created["max_open"], created["reassign_after"]) == (
        "round_robin",
        3,
        600,
    )
    assert created["tm_delete"] == LIVE
    assert created["business_hours_id"] is None
    team_id = created["id"]

    # any agent reads teams; the agents' resources name their teams
    for who in (tenant.admin, tenant.manager, tenant.agent):
        assert client.get(f"{URL}/{team_id}", headers=who).json() == created
        assert [t["id"] for t in client.get(URL, headers=who).json()["result"]] == [team_id]
    me = client.get("/v1.0/me", headers=tenant.agent).json()
    assert me["team_ids"] == [team_id]
    agent = client.get(f"/v1.0/agents/{tenant.agent_id}", headers=tenant.admin).json()
    assert agent["team_ids"] == [team_id]

    # a list given replaces the whole list; the rest stays
    r = client.put(
        f"{URL}/{team_id}",
        headers=tenant.admin,
        json={"name": "Billing", "agent_ids": [tenant.admin_id], "max_open": 4},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["name"], updated["agent_ids"], updated["max_open"]) == (
        "Billing",
        [tenant.admin_id],
        4,
    )
    assert updated["account_ids"] == [str(sms.id)]
    assert updated["detail"] == "Front line"
    assert updated["tm_update"] > created["tm_update"]
    assert client.get("/v1.0/me", headers=tenant.agent).json()["team_ids"] == []

    # a PUT that changes nothing changes nothing (no event, no entry)
    same = client.put(f"{URL}/{team_id}", headers=tenant.admin, json={"name": "Billing"})
    assert same.json() == updated

    deleted = client.delete(f"{URL}/{team_id}", headers=tenant.admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["tm_delete"] != LIVE
    assert_error(client.get(f"{URL}/{team_id}", headers=tenant.admin), 404, "team_not_found")
    assert client.get(URL, headers=tenant.admin).json()["result"] == []
    assert_error(client.delete(f"{URL}/{team_id}", headers=tenant.admin), 404, "team_not_found")

    # the account is free again: another team may take it
    again = _team(client, tenant, name="Second", account_ids=[str(sms.id)])
    assert again["account_ids"] == [str(sms.id)]

    # events: the team resource, for every agent of the customer, on the team's topic
    events = _events(db_url, tenant.customer_id, "team_created", "team_updated", "team_deleted")
    assert [e["type"] for e in events] == [
        "team_created",
        "team_updated",
        "team_deleted",
        "team_created",
    ]
    assert events[0]["data"] == created and events[1]["data"] == updated
    assert events[2]["data"]["tm_delete"] != LIVE
    for e in events:
        assert e["topics"] == [f"customer_id:{tenant.customer_id}:team:{e['data']['id']}"]
        assert e["audience"] == []

    # audit: who, what, before and after
    (made,) = [
        e for e in _entries(db_url, tenant.customer_id, "team.created") if e["target_id"] == team_id
    ]
    assert (made["actor_type"], made["actor_id"], made["target_type"]) == (
        "agent",
        tenant.admin_id,
        "team",
    )
    assert made["before"] == {} and made["after"] == created
    (changed,) = _entries(db_url, tenant.customer_id, "team.updated")
    assert changed["before"] == created and changed["after"] == updated
    (gone,) = _entries(db_url, tenant.customer_id, "team.deleted")
    assert gone["before"] == updated and gone["after"] == {}


def test_only_admins_change_teams(client, tenant):
    team = _team(client, tenant)
    for who in (tenant.manager, tenant.agent):
        assert_error(client.post(URL, headers=who, json={"name": "x"}), 403, "admin_required")
        assert_error(
            client.put(f"{URL}/{team['id']}", headers=who, json={"name": "x"}),
            403,
            "admin_required",
        )
        assert_error(client.delete(f"{URL}/{team['id']}", headers=who), 403, "admin_required")
    assert client.get(f"{URL}/{team['id']}", headers=tenant.admin).json() == team


def test_team_input_rules(client, tenant):
    h = tenant.admin
    bad = [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 256},
        {"name": "ok", "assignment_policy": "random"},
        {"name": "ok", "max_open": 0},
        {"name": "ok", "max_open": 10**12},
        {"name": "ok", "reassign_after": -1},
        {"name": "ok", "reassign_after": 10**12},
        {"name": "ok", "agent_ids": "nope"},
        {"name": "ok", "agent_ids": ["not-a-uuid"]},
        {"name": "ok", "account_ids": [1]},
        {"name": "ok", "agent_ids": [str(uuid.uuid4())] * 1001},
        {"name": "ok", "business_hours_id": str(uuid.uuid4())},
        {"name": "bad\x00name"},
    ]
    for body in bad:
        r = client.post(URL, headers=h, json=body)
        assert r.status_code in (400, 422), (body, r.status_code, r.text)
    assert client.post(URL, headers=h, content=b"{nope", params={}).status_code in (400, 415)
    assert client.get(URL, headers=h).json()["result"] == []
    team = _team(client, tenant)
    for body in ({"name": ""}, {"max_open": 0}, {"assignment_policy": "x"}, {"nope": 1}):
        r = client.put(f"{URL}/{team['id']}", headers=h, json=body)
        assert r.status_code in (400, 422), (body, r.text)
    # the same agent twice is one member
    twice = client.put(
        f"{URL}/{team['id']}", headers=h, json={"agent_ids": [tenant.agent_id, tenant.agent_id]}
    )
    assert twice.json()["agent_ids"] == [tenant.agent_id]


def test_foreign_and_unknown_ids_are_refused(client, tenant, other_tenant):
    theirs = _team(client, other_tenant, name="Theirs")
    their_account = other_tenant.channel("message", address="+15550002222")
    ours = _team(client, tenant)
    h = tenant.admin
    # a team of another customer, or no team at all, is a 404 on every door
    for team_id in (theirs["id"], str(uuid.uuid4()), "not-a-uuid", "1"):
        assert_error(client.get(f"{URL}/{team_id}", headers=h), 404, "team_not_found")
        assert_error(
            client.put(f"{URL}/{team_id}", headers=h, json={"name": "mine"}), 404, "team_not_found"
        )
        assert_error(client.delete(f"{URL}/{team_id}", headers=h), 404, "team_not_found")
    assert client.get(f"{URL}/{theirs['id']}", headers=other_tenant.admin).json() == theirs
    # ids in bodies that are not the customer's: a 422 naming the field
    r = client.post(URL, headers=h, json={"name": "x", "agent_ids": [other_tenant.agent_id]})
    error = assert_error(r, 422, "unknown_agent")
    assert error["fields"] == [{"field": "agent_ids[0]", "message": "no such agent"}]
    r = client.put(
        f"{URL}/{ours['id']}",
        headers=h,
        json={"account_ids": [str(their_account.id)]},
    )
    error = assert_error(r, 422, "unknown_account")
    assert error["fields"][0]["field"] == "account_ids[0]"
    r = client.put(f"{URL}/{ours['id']}", headers=h, json={"agent_ids": [str(uuid.uuid4())]})
    assert_error(r, 422, "unknown_agent")
    # a deleted agent is no agent
    gone_id, _ = named_agent(tenant, "Gone")
    client.delete(f"/v1.0/agents/{gone_id}", headers=h)
    assert_error(
        client.post(URL, headers=h, json={"name": "x", "agent_ids": [gone_id]}),
        422,
        "unknown_agent",
    )
    assert client.get(URL, headers=h).json()["result"] == [ours]


def test_a_customer_never_sees_another_customers_teams(client, tenant, other_tenant):
    theirs = _team(client, other_tenant, name="Theirs", agent_ids=[other_tenant.agent_id])
    ours = _team(client, tenant, name="Ours")
    assert client.get(URL, headers=tenant.agent).json()["result"] == [ours]
    assert client.get(URL, headers=other_tenant.agent).json()["result"] == [theirs]
    assert client.get("/v1.0/me", headers=other_tenant.agent).json()["team_ids"] == [theirs["id"]]


def test_an_account_routes_to_one_team(client, tenant):
    sms = tenant.channel("message")
    first = _team(client, tenant, name="First", account_ids=[str(sms.id)])
    r = client.post(
        URL, headers=tenant.admin, json={"name": "Second", "account_ids": [str(sms.id)]}
    )
    error = assert_error(r, 409, "account_in_other_team")
    assert "First" in error["message"]
    second = _team(client, tenant, name="Second")
    r = client.put(
        f"{URL}/{second['id']}", headers=tenant.admin, json={"account_ids": [str(sms.id)]}
    )
    assert_error(r, 409, "account_in_other_team")
    # the team that has it may keep it (a PUT naming it again is no conflict)
    r = client.put(
        f"{URL}/{first['id']}",
        headers=tenant.admin,
        json={"account_ids": [str(sms.id)], "detail": "still ours"},
    )
    assert r.status_code == 200, r.text
    # once released, it may move
    client.put(f"{URL}/{first['id']}", headers=tenant.admin, json={"account_ids": []})
    r = client.put(
        f"{URL}/{second['id']}", headers=tenant.admin, json={"account_ids": [str(sms.id)]}
    )
    assert r.json()["account_ids"] == [str(sms.id)]


def test_create_is_idempotent_with_a_key(client, tenant, db_url):
    headers = {**tenant.admin, "Idempotency-Key": "team-1"}
    body = {"name": "Support", "agent_ids": [tenant.agent_id]}
    first = client.post(URL, headers=headers, json=body)
    again = client.post(URL, headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert len(client.get(URL, headers=tenant.admin).json()["result"]) == 1
    other = client.post(URL, headers=headers, json={**body, "name": "Other"})
    assert other.status_code == 422, other.text
    assert len(_events(db_url, tenant.customer_id, "team_created")) == 1


def test_teams_come_in_keyset_pages(client, tenant):
    made = [_team(client, tenant, name=f"Team {i}")["id"] for i in range(5)]
    seen, token = [], ""
    while True:
        params = {"page_size": 2, **({"page_token": token} if token else {})}
        page = client.get(URL, headers=tenant.agent, params=params).json()
        seen += [t["id"] for t in page["result"]]
        token = page["next_page_token"]
        if not token:
            break
    assert seen == list(reversed(made))
    assert_error(client.get(URL, headers=tenant.agent, params={"page_size": 0}), 400)
    assert_error(client.get(URL, headers=tenant.agent, params={"page_token": "x"}), 400)


def test_deleting_a_team_takes_its_rooms_out_of_it(client, tenant, db_url):
    sms = tenant.channel("message")
    team = _team(client, tenant, agent_ids=[tenant.agent_id], account_ids=[str(sms.id)])
    waiting = inbound(sms, "+15559870001", "hello").conversation_id
    held = inbound(sms, "+15559870002", "hi").conversation_id
    # as routing would leave them: one waiting in the queue, one with its assignee
    sql(
        db_url,
        "UPDATE conversations SET team_id = $1, tm_queued = now(), owner_id = NULL,"
        " assignment_reason = 'Waiting: all 1 members at capacity, position 1' WHERE id = $2",
        team["id"],
        waiting,
    )
    sql(
        db_url,
        "UPDATE conversations SET team_id = $1, tm_queued = NULL, owner_type = 'agent',"
        " owner_id = $3, assignment_reason = 'Assigned by hand' WHERE id = $2",
        team["id"],
        held,
        tenant.agent_id,
    )
    r = client.delete(f"{URL}/{team['id']}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    rows = {
        str(r["id"]): r
        for r in sql(
            db_url,
            "SELECT id, team_id, tm_queued, owner_id::text, assignment_reason FROM conversations"
            " WHERE customer_id = $1",
            tenant.customer_id,
        )
    }
    assert rows[waiting]["team_id"] is None and rows[waiting]["tm_queued"] is None
    assert rows[waiting]["assignment_reason"] == "Team Support was deleted: no longer waiting"
    assert rows[held]["team_id"] is None and rows[held]["owner_id"] == tenant.agent_id
    assert rows[held]["assignment_reason"] == "Assigned by hand"
    # clients hear of both rooms
    updated = [e["data"]["id"] for e in _events(db_url, tenant.customer_id, "conversation_updated")]
    assert {waiting, held} <= set(updated)
    # the account's new rooms go to no team now
    assert sql_value(db_url, "SELECT count(*) FROM team_accounts") == 0


def test_deleting_a_channel_account_is_a_change_of_its_team(client, tenant, other_tenant, db_url):
    sms = tenant.channel("message")
    team = _team(client, tenant, account_ids=[str(sms.id)])
    r = client.delete(f"/v1.0/conversation_accounts/{sms.id}", headers=other_tenant.admin)
    assert r.status_code == 404
    r = client.delete("/v1.0/conversation_accounts/not-an-id", headers=tenant.admin)
    assert r.status_code == 404
    r = client.delete(f"/v1.0/conversation_accounts/{sms.id}", headers=tenant.admin)
    assert r.status_code == 200, r.text

    assert client.get(f"{URL}/{team['id']}", headers=tenant.admin).json()["account_ids"] == []
    updated = _events(db_url, tenant.customer_id, "team_updated")
    assert [e["data"]["account_ids"] for e in updated] == [[]]
    (entry,) = _entries(db_url, tenant.customer_id, "team.updated")
    assert (entry["before"]["account_ids"], entry["after"]["account_ids"]) == ([str(sms.id)], [])
    assert len(_entries(db_url, tenant.customer_id, "account.deleted")) == 1


def test_a_write_undone_to_break_a_deadlock_answers_503_and_a_retry_passes(
    server, client, tenant, db_url
):
    """Another transaction holds the team and then wants the room that deleting the team
    has locked first: PostgreSQL breaks the deadlock by undoing the request, which
    answers `503 conflict_retry` (never a 500), and the same request then passes."""
    sms = tenant.channel("message")
    team = _team(client, tenant, account_ids=[str(sms.id)])
    room = inbound(sms, "+15550001234", "hi").conversation_id

    async def collide() -> httpx.Response:
        holder = await asyncpg.connect(db_url)
        try:
            await holder.execute("BEGIN")
            await holder.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", team["id"])
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                deleting = asyncio.create_task(
                    http.delete(f"{URL}/{team['id']}", headers=tenant.admin)
                )
                waiting = (
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
                # the request blocking is a state of the database, seen only by polling
                while not await holder.fetchval(waiting) and not deleting.done():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                await holder.execute("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", room)
                return await deleting
        finally:
            await holder.close()

    answer = run_async(collide())
    assert_error(answer, 503, "conflict_retry")
    assert answer.headers["Retry-After"] == "1"
    assert client.get(f"{URL}/{team['id']}", headers=tenant.admin).status_code == 200
    assert client.delete(f"{URL}/{team['id']}", headers=tenant.admin).status_code == 200
