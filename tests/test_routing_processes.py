"""Routing across server processes: rooms arriving at once at two servers on one database
never push an agent past its capacity, each room is decided once, and the queue is served
in order as slots free; the reassign-after timer runs in the servers' workers."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ServerProcess, cli_env, wait_for
from db_kit import sql, sql_value
from test_routing_api import make_team

ARRIVALS = 60


@pytest.fixture(scope="module")
def second_server(server):
    """Another server process on the session's database, its routing timer fast."""
    srv = ServerProcess(cli_env(CONVODESK_ROUTING_TICK="0.1")).wait_ready()
    yield srv
    srv.stop()


def _agents(tenant, db_url, names):
    from api_kit import named_agent

    made = [named_agent(tenant, name)[0] for name in names]
    sql(db_url, "UPDATE agents SET availability = 'online' WHERE id = ANY($1::uuid[])", made)
    return made


def _create(base_url: str, headers: dict, account_id: str, n: int) -> dict:
    body = {
        "participants": [{"type": "tel", "target": f"+1555770{n:04d}"}],
        "account_id": account_id,
    }
    r = httpx.post(base_url + "/v1.0/conversations", headers=headers, json=body, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


def test_concurrent_arrivals_on_two_processes_never_exceed_capacity(
    server, second_server, client, tenant, db_url
):
    account = tenant.channel("message")
    members = _agents(tenant, db_url, ["Ann", "Bob", "Cyd"])
    team_id = make_team(db_url, tenant, "Support", members, account=account, max_open=2)
    urls = [server.url, second_server.url]
    with ThreadPoolExecutor(16) as pool:
        made = list(
            pool.map(
                lambda n: _create(urls[n % 2], tenant.admin, str(account.id), n), range(ARRIVALS)
            )
        )
    assert len({r["id"] for r in made}) == ARRIVALS
    rows = sql(
        db_url,
        "SELECT id, owner_id, tm_queued FROM conversations WHERE team_id = $1",
        team_id,
    )
    owners = Counter(str(r["owner_id"]) for r in rows if r["owner_id"])
    assert owners == {m: 2 for m in members}
    assert sum(r["tm_queued"] is not None for r in rows) == ARRIVALS - 6
    # each room decided exactly once: one event and one audit entry per room
    assert sql_value(
        db_url,
        "SELECT count(DISTINCT payload->>'id') = count(*) AND count(*) = $2 FROM events"
        " WHERE customer_id = $1 AND type = 'conversation_assigned'",
        tenant.customer_id,
        ARRIVALS,
    )
    assert sql_value(
        db_url,
        "SELECT count(DISTINCT target_id) = count(*) AND count(*) = $2 FROM audit_log"
        " WHERE customer_id = $1 AND action IN ('conversation.assigned', 'conversation.queued')",
        tenant.customer_id,
        ARRIVALS,
    )
    # the queue: positions 1..54, served by age (equal priorities) as slots free
    r = client.get(
        "/v1.0/conversations", headers=tenant.admin, params={"team_id": team_id, "page_size": 100}
    )
    waiting = sorted(
        (room for room in r.json()["result"] if room["queue_position"]),
        key=lambda room: room["queue_position"],
    )
    assert [room["queue_position"] for room in waiting] == list(range(1, ARRIVALS - 6 + 1))
    # every assigned room is closed, at both servers at once: each slot goes to the head
    assigned = [str(r["id"]) for r in rows if r["owner_id"]]

    def close(n_room):
        n, room_id = n_room
        r = httpx.put(
            f"{urls[n % 2]}/v1.0/conversations/{room_id}",
            headers=tenant.admin,
            json={"status": "closed"},
            timeout=60,
        )
        assert r.status_code == 200, r.text

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(close, enumerate(assigned)))
    now_assigned = sql(
        db_url,
        "SELECT id, owner_id FROM conversations WHERE team_id = $1 AND owner_id IS NOT NULL"
        " AND status <> 'closed'",
        team_id,
    )
    assert Counter(str(r["owner_id"]) for r in now_assigned) == {m: 2 for m in members}
    assert {str(r["id"]) for r in now_assigned} == {room["id"] for room in waiting[:6]}


def test_the_workers_reassign_a_room_nobody_answered(server, second_server, client, tenant, db_url):
    account = tenant.channel("message")
    members = _agents(tenant, db_url, ["Dan", "Eve"])
    team_id = make_team(db_url, tenant, "Night", members, account=account)
    sql(db_url, "UPDATE teams SET reassign_after = 1 WHERE id = $1", team_id)
    room = _create(second_server.url, tenant.admin, str(account.id), 1)
    first = room["owner_id"]
    assert first in members

    def moved():
        r = client.get(f"/v1.0/conversations/{room['id']}", headers=tenant.admin)
        owner = r.json()["owner_id"]
        return r.json() if owner not in (None, first) else None

    now = wait_for(moved, timeout=15)
    (other,) = set(members) - {first}
    assert now["owner_id"] == other
    lines = [
        r["text"]
        for r in sql(
            db_url,
            "SELECT text FROM conversation_activities WHERE conversation_id = $1"
            " ORDER BY tm_create",
            room["id"],
        )
    ]
    assert lines[1].endswith("did not reply within 1 second")
    assert lines[2].startswith("Assigned to Eve" if other == members[1] else "Assigned to Dan")


def test_admins_changing_a_team_while_rooms_arrive_deadlock_nothing(
    server, second_server, tenant, db_url
):
    """The teams API locks a team like routing does: arrivals at both servers and an
    admin's changes to their team, all at once, all succeed."""
    account = tenant.channel("message")
    members = _agents(tenant, db_url, ["Fay", "Gus"])
    team_id = make_team(db_url, tenant, "Busy", members, account=account, max_open=3)
    urls = [server.url, second_server.url]

    def change(n: int) -> None:
        r = httpx.put(
            f"{urls[n % 2]}/v1.0/teams/{team_id}",
            headers=tenant.admin,
            json={"max_open": 3 + n % 2, "detail": f"change {n}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text

    def work(n: int) -> None:
        if n % 4 == 0:
            change(n)
        else:
            _create(urls[n % 2], tenant.admin, str(account.id), 100 + n)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(work, range(48)))
    owners = Counter(
        str(r["owner_id"])
        for r in sql(
            db_url,
            "SELECT owner_id FROM conversations WHERE team_id = $1 AND owner_id IS NOT NULL",
            team_id,
        )
    )
    assert sum(owners.values()) <= 8 and max(owners.values()) <= 4
    assert (
        sql_value(
            db_url,
            "SELECT count(*) FROM conversations WHERE team_id = $1 AND owner_id IS NULL"
            " AND tm_queued IS NULL",
            team_id,
        )
        == 0
    )
