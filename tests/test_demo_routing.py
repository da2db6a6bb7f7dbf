"""The demo shows teams, availability and routing as they really work: two teams on their
channels, the admin online and the agent away, rooms given out by the teams' policies with
their reasons, two rooms waiting in a queue, and the audit log of every step — and the
queue moves when the admin frees a slot, as the README says.

And service levels as the README shows them: office hours with a lunch break and holidays,
the Urgent and Standard policies, today's urgent rooms amber and red, and a week of rooms
answered, closed and rated over every channel, whose report equals its count from
scratch."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import msgspec
from conftest import ServerProcess, cli_env, run_async, wait_for

from app.domain.enums import Permission
from app.domain.principal import Principal


def test_the_demo_has_teams_routing_service_levels_and_a_week_to_report():
    srv = ServerProcess(cli_env(CONVODESK_SMTP_PORT="0"), command="demo").wait_ready()
    try:
        token = httpx.post(
            srv.url + "/auth/login", json={"username": "admin", "password": "convodesk"}
        ).json()["token"]

        def get(path: str, **params: str) -> dict:
            r = httpx.get(srv.url + path, params={"token": token, **params})
            assert r.status_code == 200, r.text
            return r.json()

        service_levels(get)
        routing(srv, token, get)
    finally:
        srv.stop()


def service_levels(get) -> None:
    [hours] = get("/v1.0/business_hours")["result"]
    assert (hours["name"], hours["time_zone"]) == ("Office hours", "Europe/Berlin")
    assert sorted((p["day"], p["start"], p["end"]) for p in hours["periods"]) == [
        (day, start, end)
        for day in range(5)
        for start, end in (("09:00", "12:30"), ("13:30", "18:00"))
    ]
    assert sorted((h["date"][5:], h["yearly"]) for h in hours["holidays"]) == [
        ("01-01", True),
        ("12-25", True),
    ]
    assert {t["business_hours_id"] for t in get("/v1.0/teams")["result"]} == {hours["id"]}
    assert get("/v1.0/customer")["business_hours_id"] == hours["id"]
    policies = {p["name"]: p for p in get("/v1.0/sla_policies")["result"]}
    urgent, standard = policies["Urgent"], policies["Standard"]
    assert (urgent["priority"], urgent["business_hours_id"]) == ("urgent", None)
    assert (
        urgent["first_response_minutes"],
        urgent["next_response_minutes"],
        urgent["resolution_minutes"],
    ) == (15, 30, 240)
    assert (standard["priority"], standard["business_hours_id"]) == (None, hours["id"])
    assert (standard["first_response_minutes"], standard["resolution_minutes"]) == (240, 4320)

    # Today's urgent rooms, whenever the demo starts: one red, one amber.
    rooms = {r["name"]: r for r in get("/v1.0/conversations")["result"]}
    lee, checkout = rooms["Lee Chen"], rooms["visitor-7f3a"]
    assert (lee["sla"]["kind"], lee["sla"]["status"]) == ("first_response", "breached")
    assert (checkout["sla"]["kind"], checkout["sla"]["status"]) == ("first_response", "warning")
    assert rooms["Priya Shah"]["sla"]["status"] == "running"
    clocks = {c["kind"]: c for c in get(f"/v1.0/conversations/{lee['id']}/sla")["result"]}
    first = clocks["first_response"]
    assert (first["policy_id"], first["status"], first["target"]) == (urgent["id"], "breached", 15)
    assert first["intervals"] and all(i["counted"] for i in first["intervals"])

    # The week: answers by SMS, LINE, the widget and email's link.
    answers = get("/v1.0/csat_responses")["result"]
    assert len(answers) == 20
    assert {a["reference_type"] for a in answers} == {"message", "line", "webchat", "email"}

    zone = ZoneInfo("Europe/Berlin")
    today = datetime.now(zone).date()
    week = {"from": str(today - timedelta(days=6)), "to": str(today)}
    report = get("/v1.0/reports/summary", **week)
    assert report["time_zone"] == "Europe/Berlin"
    assert [d["date"] for d in report["days"]] == [
        str(today - timedelta(days=n)) for n in range(6, -1, -1)
    ]
    assert all(d["opened"] >= 3 and d["closed"] >= 3 for d in report["days"][:-1])
    assert report["csat"]["count"] == 20 and report["csat"]["distribution"][4] >= 5
    assert {s["name"] for s in report["sla"]} == {"Urgent", "Standard"}
    assert any(s["breached"] for s in report["sla"]) and all(s["met"] for s in report["sla"])
    agents = get("/v1.0/reports/agents", **week)
    assert sorted(a["name"] for a in agents["result"]) == ["Ada Admin", "Sam Agent"]
    assert all(a["replied"] and a["csat_count"] for a in agents["result"])

    # ... and both are what the messages, closes, clocks and answers themselves count
    [admin] = [a for a in get("/v1.0/agents")["result"] if a["username"] == "admin"]
    assert (report, agents) == run_async(_recounted(admin, week))


async def _recounted(admin: dict, week: dict) -> tuple[dict, dict]:
    from app.reports import service

    principal = Principal(
        customer_id=admin["customer_id"],
        agent_id=admin["id"],
        username="admin",
        permission=Permission.ADMIN,
        via="token",
    )
    counted = []
    for make, per_agent in ((service.summary, False), (service.agents, True)):
        scope = await service.scope_of(
            principal, since=week["from"], until=week["to"], per_agent=per_agent
        )
        counted.append(msgspec.to_builtins(await make(principal, scope, recount=True)))
    return counted[0], counted[1]


def routing(srv: ServerProcess, token: str, get) -> None:
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
