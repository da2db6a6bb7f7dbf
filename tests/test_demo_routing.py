"""The demo shows teams, availability and routing as they really work: two teams on their
channels, the admin online and the agent away, rooms given out by the teams' policies with
their reasons, two rooms waiting in a queue, and the audit log of every step — and the
queue moves when the admin frees a slot, as the README says."""

from __future__ import annotations

import httpx
from conftest import ServerProcess, cli_env, wait_for


def test_the_demo_has_teams_routing_a_queue_and_an_audit_log():
    srv = ServerProcess(cli_env(CONVODESK_SMTP_PORT="0"), command="demo").wait_ready()
    try:
        token = httpx.post(
            srv.url + "/auth/login", json={"username": "admin", "password": "convodesk"}
        ).json()["token"]

        def get(path: str, **params: str) -> dict:
            r = httpx.get(srv.url + path, params={"token": token, **params})
            assert r.status_code == 200, r.text
            return r.json()

        people = {a["username"]: a for a in get("/v1.0/agents")["result"]}
        admin, agent = people["admin"], people["agent"]
        assert (admin["availability"], agent["availability"]) == ("online", "away")
        assert agent["max_open"] == 2

        accounts = {a["id"]: a for a in get("/v1.0/conversation_accounts")["result"]}
        teams = {t["name"]: t for t in get("/v1.0/teams")["result"]}
        assert set(teams) == {"Support", "Billing"}
        support, billing = teams["Support"], teams["Billing"]
        assert (support["assignment_policy"], support["max_open"]) == ("round_robin", 3)
        assert billing["assignment_policy"] == "least_busy"
        for team in (support, billing):
            assert set(team["agent_ids"]) == {admin["id"], agent["id"]}
        assert {accounts[a]["type"] for a in support["account_ids"]} == {"loopback", "webchat"}
        assert {accounts[a]["name"].split(" ")[0] for a in billing["account_ids"]} == {"Email"}
        assert set(admin["team_ids"]) == {support["id"], billing["id"]}

        rooms = {r["name"]: r for r in get("/v1.0/conversations")["result"]}
        routed = [r for r in rooms.values() if r["team_id"] and r["owner_id"]]
        assert routed and all(
            r["assignment_reason"].startswith("Assigned to ")
            and (" by round robin: " in r["assignment_reason"]) == (r["team_id"] == support["id"])
            for r in routed
        ), [r["assignment_reason"] for r in routed]
        assert rooms["Bob Builder"]["assignment_reason"] == (
            "Assigned to Ada Admin by least busy: online, 2 of 4 open"
        )
        assert {r["priority"] for r in rooms.values()} >= {"urgent", "high"}

        waiting = sorted(
            (get(f"/v1.0/conversations/{r['id']}") for r in rooms.values() if not r["owner_id"]),
            key=lambda r: r["queue_position"] or 0,
        )
        assert [(r["name"], r["team_id"], r["queue_position"]) for r in waiting] == [
            ("Priya Shah", support["id"], 1),
            ("Ravi Patel", support["id"], 2),
        ]
        assert [r["assignment_reason"] for r in waiting] == [
            "Waiting: all 2 members at capacity, position 1",
            "Waiting: all 2 members at capacity, position 2",
        ]

        log = get("/v1.0/audit_log", page_size="100")["result"]
        actions = [(e["action"], e["actor_type"]) for e in log]
        assert actions.count(("team.created", "agent")) == 2
        assert ("agent.created", "agent") in actions
        assert ("agent.updated", "agent") in actions
        assert ("conversation.assigned", "system") in actions
        assert actions.count(("conversation.queued", "system")) == 2

        # The README's walk-through: the admin closes a room, the head of the queue is theirs.
        r = httpx.put(
            f"{srv.url}/v1.0/conversations/{rooms['Bob Builder']['id']}",
            params={"token": token},
            json={"status": "closed"},
        )
        assert r.status_code == 200, r.text
        head = wait_for(
            lambda: (room := get(f"/v1.0/conversations/{waiting[0]['id']}"))["owner_id"] and room
        )
        assert head["owner_id"] == admin["id"]
        assert head["assignment_reason"] == (
            "Assigned to Ada Admin by round robin: online, 3 of 3 open"
        )
        assert get(f"/v1.0/conversations/{waiting[1]['id']}")["queue_position"] == 1
    finally:
        srv.stop()
