"""Reports (`/v1.0/reports/…`), in-process: on a generated history the figures equal the
same report counted from scratch (messages, events, clocks, answers) and what the
generator knows it made, under every filter and in several time zones; the facts follow
each change made through the services (replies, closes, reopens, a scheduled reply, an
integration's reply, a merge, a deletion); filters change the numbers; who may read
reports; foreign and malformed ids; the per-conversation CSV, escaped."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from conftest import assert_error, inbound, run_async
from db_kit import sql, sql_value
from report_kit import KINDS, generate, median_first_response

from app.domain.enums import Permission
from app.domain.principal import Principal
from app.domain.timefmt import fmt

URL = "/v1.0/reports"
IN_PROCESS_SETTINGS = {
    "CONVODESK_REPORTS_TICK": "3600",
    "CONVODESK_IDLE_AFTER": str(365 * 86400),
    "CONVODESK_CLOSE_AFTER": str(3650 * 86400),
}
"""The events are folded when a report is read (or a test folds them), never in between:
when a message is counted is part of what the tests check. Nor does the lifecycle worker
close the generated rooms that have been quiet for a week (its first round, at the app's
start, can come late on a busy machine, after a test generated its month; the session's
server process, on the same database, never closes rooms: conftest.server)."""


def _manager(tenant) -> Principal:
    return Principal(
        customer_id=tenant.customer_id,
        agent_id=tenant.manager_id,
        username="acme-manager",
        permission=Permission.MANAGER,
        via="token",
    )


def _recounted(tenant, what: str, params: dict) -> dict:
    """The report the API gave for `params`, counted from scratch instead, as JSON."""
    from app.reports import service

    async def go():
        principal = _manager(tenant)
        scope = await service.scope_of(
            principal,
            since=params.get("from"),
            until=params.get("to"),
            team_id=params.get("team_id"),
            agent_id=params.get("agent_id"),
            reference_type=params.get("reference_type"),
            time_zone=params.get("time_zone"),
            per_agent=what == "agents",
        )
        make = service.agents if what == "agents" else service.summary
        return msgspec.to_builtins(await make(principal, scope, recount=True))

    return run_async(go())


def _get(client, tenant, what: str, **params) -> dict:
    r = client.get(f"{URL}/{what}", headers=tenant.manager, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_figures_equal_a_count_from_scratch_and_what_was_generated(client, tenant, db_url):
    h = generate(db_url, tenant, rooms=300)
    start = h.end - timedelta(days=31)
    whole = {"from": fmt(start), "to": fmt(h.end)}
    billing, agent = h.teams["Billing"], tenant.agent_id
    cases = [
        whole,
        {**whole, "team_id": billing},
        {**whole, "agent_id": agent},
        {**whole, "reference_type": "email", "time_zone": "Asia/Kolkata"},
        {**whole, "time_zone": "America/New_York"},
        # dates: whole days in the zone (Nepal is 45 minutes off the hour)
        {
            "from": (h.end - timedelta(days=20)).date().isoformat(),
            "to": (h.end - timedelta(days=6)).date().isoformat(),
            "time_zone": "Asia/Kathmandu",
        },
    ]
    for params in cases:
        for what in ("summary", "agents"):
            assert _get(client, tenant, what, **params) == _recounted(tenant, what, params), (
                what,
                params,
            )

    # and what the generator knows it made, over the whole period
    report = _get(client, tenant, "summary", **whole)
    rooms = h.counted()
    assert report["from"] == whole["from"] and report["time_zone"] == "UTC"
    assert report["opened"] == len(rooms) == sum(d["opened"] for d in report["days"])
    assert len(report["days"]) == 32  # 31 days and the start of the day after
    closed = [r for r in rooms if r.closed]
    assert report["closed"] == len(closed)
    assert report["inbound_messages"] == sum(len(r.inbound) for r in rooms)
    assert sum(map(sum, report["busiest_hours"])) == report["inbound_messages"]
    assert report["replies"] == sum(len(r.replies) for r in rooms)
    responded = [r for r in rooms if r.first_reply]
    assert report["first_response"]["count"] == len(responded) > 100
    assert report["first_response"]["median"] == pytest.approx(
        median_first_response(rooms, start, h.end), abs=1e-3
    )
    assert report["resolution"]["median"] == pytest.approx(
        statistics.median((r.closed - r.opened).total_seconds() for r in closed), abs=1e-3
    )
    ratings = Counter(r.csat[0] for r in rooms if r.csat)
    assert report["csat"]["distribution"] == [ratings[i] for i in range(1, 6)]
    assert report["csat"]["count"] == sum(ratings.values())
    assert report["csat"]["average"] == round(
        sum(k * v for k, v in ratings.items()) / sum(ratings.values()), 2
    )
    for policy in report["sla"]:
        stopped = [
            status
            for r in rooms
            for (pid, _, status, _) in r.clocks
            if pid == policy["policy_id"] and status != "running"
        ]
        assert (policy["met"], policy["breached"]) == (
            stopped.count("met"),
            stopped.count("breached"),
        )
        assert policy["percent_met"] == round(100 * stopped.count("met") / len(stopped), 1)
        assert [k["kind"] for k in policy["kinds"]] == list(KINDS)
    assert {p["name"] for p in report["sla"]} == set(h.policies)

    # a filter changes the numbers, to exactly the rooms it names
    team = _get(client, tenant, "summary", **whole, team_id=billing)
    assert team["opened"] == len(h.counted(team_id=billing)) < report["opened"]
    mine = _get(client, tenant, "summary", **whole, agent_id=agent)
    assert mine["opened"] == len(h.counted(owner_id=agent)) < report["opened"]

    table = {a["agent_id"]: a for a in _get(client, tenant, "agents", **whole)["result"]}
    assert set(table) == {tenant.admin_id, tenant.manager_id, tenant.agent_id}
    for a in h.agents:
        assert table[a]["assigned"] == len(h.counted(owner_id=a))
        assert table[a]["replied"] == sum(1 for r in rooms for _, who in r.replies if who == a)
        gave = [r for r in rooms if r.first_reply_agent == a]
        assert table[a]["first_responses"] == len(gave)
    assert table[tenant.admin_id]["replied"] == 0  # listed, with nothing to its name
    only = _get(client, tenant, "agents", **whole, agent_id=agent)["result"]
    assert [a["agent_id"] for a in only] == [agent] and only[0] == table[agent]


def _send(client, headers, room: str, text: str, **body) -> dict:
    r = client.post(
        f"/v1.0/conversations/{room}/messages", headers=headers, json={"text": text, **body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _status(client, tenant, room: str, status: str) -> None:
    r = client.put(f"/v1.0/conversations/{room}", headers=tenant.manager, json={"status": status})
    assert r.status_code == 200, r.text


def test_the_facts_follow_each_change_made_through_the_services(client, tenant, db_url):
    sms = tenant.channel("message")
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "bot"}).json()
    bot = {"Authorization": f"AccessKey {key['token']}"}
    # A: the customer writes twice, an integration answers (no one's response), the agent
    # answers (the first response), the manager too; closed, reopened by a reply, closed
    a = inbound(sms, "+15550001001", "hi").conversation_id
    inbound(sms, "+15550001001", "anyone?")
    _send(client, bot, a, "We got your message")
    _send(client, tenant.agent, a, "Hello!")
    _send(client, tenant.manager, a, "Hello from me too")
    _status(client, tenant, a, "closed")
    _send(client, tenant.agent, a, "One more thing")
    _status(client, tenant, a, "closed")
    # B: a scheduled reply (not out yet) and a canceled one: no response yet
    b = inbound(sms, "+15550001002", "hello?").conversation_id
    later = fmt(datetime.now(UTC) + timedelta(days=1))
    _send(client, tenant.agent, b, "Tomorrow", scheduled_at=later)
    canceled = _send(client, tenant.agent, b, "Never", scheduled_at=later)
    r = client.post(
        f"/v1.0/conversations/{b}/messages/{canceled['id']}/cancel", headers=tenant.agent
    )
    assert r.status_code == 200, r.text
    # C, merged into D: D's first message is C's now, and so is its first response
    c = inbound(sms, "+15550001003", "first, in C").conversation_id
    _send(client, tenant.manager, c, "answered in C")
    d = inbound(tenant.channel("email"), "dana@example.com", "later, in D").conversation_id
    _send(client, tenant.agent, d, "answered in D")
    r = client.post(
        f"/v1.0/conversations/{d}/merge", headers=tenant.manager, json={"conversation_id": c}
    )
    assert r.status_code == 200, r.text
    # F: closed, then reopened by a reply: open again, not closed
    f = inbound(sms, "+15550001006", "thanks, bye").conversation_id
    _status(client, tenant, f, "closed")
    _send(client, tenant.manager, f, "Before you go...")
    # E: deleted, out of every figure
    e = inbound(sms, "+15550001005", "to delete").conversation_id
    _send(client, tenant.agent, e, "reply to a deleted room")
    assert client.delete(f"/v1.0/conversations/{e}", headers=tenant.manager).status_code == 200

    now = datetime.now(UTC)
    period = {"from": fmt(now - timedelta(hours=1)), "to": fmt(now + timedelta(hours=1))}
    report = _get(client, tenant, "summary", **period)
    assert report == _recounted(tenant, "summary", period)
    agents = _get(client, tenant, "agents", **period)
    assert agents == _recounted(tenant, "agents", period)
    assert report["opened"] == 4  # A, B, D, F
    assert report["closed"] == 1  # A, once (its first close was undone); F is open again
    assert report["first_response"]["count"] == 3  # A (the agent's), D (C's), F
    assert report["inbound_messages"] == 6
    assert report["replies"] == 6  # A 3 by agents, D 2 (C's and its own), F 1; bots: none
    by = {x["agent_id"]: x for x in agents["result"]}
    assert (by[tenant.agent_id]["first_responses"], by[tenant.agent_id]["replied"]) == (1, 3)
    assert (by[tenant.manager_id]["first_responses"], by[tenant.manager_id]["replied"]) == (2, 3)


def test_who_may_read_reports_and_which_ids_are_refused(client, tenant, other_tenant):
    theirs = client.post("/v1.0/teams", headers=other_tenant.admin, json={"name": "Theirs"})
    theirs = theirs.json()["id"]
    for what in ("summary", "agents", "conversations.csv"):
        assert_error(client.get(f"{URL}/{what}", headers=tenant.agent), 403, "manager_required")
        assert client.get(f"{URL}/{what}", headers=tenant.admin).status_code == 200
        for params, reason in (
            ({"team_id": theirs}, "team_not_found"),
            ({"agent_id": other_tenant.agent_id}, "agent_not_found"),
            ({"agent_id": "00000000-0000-0000-0000-000000000001"}, "agent_not_found"),
        ):
            r = client.get(f"{URL}/{what}", headers=tenant.manager, params=params)
            assert_error(r, 404, reason)
        for params in (
            {"team_id": "nope"},
            {"from": "yesterday"},
            {"from": "2026-12-10", "to": "2026-12-01"},
            {"from": "2025-01-01", "to": "2026-12-01"},  # more than 366 days
            {"time_zone": "Mars/Olympus"},
            {"reference_type": "fax"},
            {"from": "9999-12-31"},
        ):
            r = client.get(f"{URL}/{what}", headers=tenant.manager, params=params)
            assert_error(r, 400)


def test_the_conversations_csv_has_a_line_per_room_and_cannot_run_formulas(client, tenant, db_url):
    sms = tenant.channel("message")
    named = inbound(
        sms, "+15550002001", "hello", peer_name='=HYPERLINK("http://x")'
    ).conversation_id
    client.put(
        f"/v1.0/conversations/{named}",
        headers=tenant.manager,
        json={"name": '=cmd|" /C calc"!A0', "owner_id": tenant.agent_id},
    )
    _send(client, tenant.agent, named, "Hi")
    _status(client, tenant, named, "closed")
    other = inbound(sms, "+15550002002", "hi").conversation_id
    client.put(
        f"/v1.0/conversations/{other}",
        headers=tenant.manager,
        json={"name": 'Plain, "quoted"\nline'},
    )
    run_async(_answer(tenant, named, 2, '+1 it was ok, "fine"'))

    r = client.get(f"{URL}/conversations.csv", headers=tenant.manager)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.text.endswith("\r\n")
    lines = list(csv.reader(io.StringIO(r.text)))
    header, rows = lines[0], {row[0]: dict(zip(lines[0], row, strict=True)) for row in lines[1:]}
    assert header[:3] == ["conversation_id", "name", "channel"] and len(rows) == 2
    first = rows[named]
    assert first["name"] == '\'=cmd|" /C calc"!A0'  # shown, never run
    assert first["assignee"] == "acme-agent" and first["first_reply_by"] == "acme-agent"
    assert first["channel"] == "message" and first["status"] == "closed"
    assert float(first["first_response_seconds"]) > 0 and first["closed_at"]
    assert (first["customer_messages"], first["agent_replies"]) == ("1", "1")
    assert (first["csat_rating"], first["csat_comment"]) == ("2", '\'+1 it was ok, "fine"')
    assert rows[other]["name"] == 'Plain, "quoted"\nline'  # quoted, read back whole
    assert rows[other]["closed_at"] == "" and rows[other]["first_reply_at"] == ""
    # a filter narrows the table
    r = client.get(
        f"{URL}/conversations.csv", headers=tenant.manager, params={"agent_id": tenant.agent_id}
    )
    assert [row[0] for row in list(csv.reader(io.StringIO(r.text)))[1:]] == [named]


async def _answer(tenant, room: str, rating: int, comment: str) -> None:
    from app.db import sql

    await sql.execute(
        "INSERT INTO csat_responses (id, customer_id, conversation_id, agent_id, reference_type,"
        " rating, comment) VALUES (gen_random_uuid(), $1, $2, $3, 'message', $4, $5)",
        tenant.customer_id,
        room,
        tenant.agent_id,
        rating,
        comment,
    )


def test_the_desk_pages_and_exports_count_the_same_rooms(client, tenant, db_url):
    h = generate(db_url, tenant, rooms=80, seed=3)
    first, last = (h.end - timedelta(days=31)).date(), (h.end - timedelta(hours=1)).date()
    period = {"from": first.isoformat(), "to": last.isoformat()}
    rooms = h.counted()

    def desk(who: dict, path: str, **params):
        client.cookies.set("token", who["Authorization"].removeprefix("Bearer "))
        return client.get(path, params={**period, **params})

    for path in ("/reports", "/reports/rooms?figure=opened", "/reports/export/days.csv"):
        assert desk(tenant.agent, path).status_code == 403
    page = desk(tenant.manager, "/reports")
    assert page.status_code == 200 and 'id="chart-hours"' in page.text
    assert f'<span class="report-card-value">{len(rooms)}</span>' in page.text

    def table(path: str, **params) -> list[dict]:
        r = desk(tenant.manager, path, **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(r.text)))

    days = table("/reports/export/days.csv")
    assert len(days) == (last - first).days + 1
    assert sum(int(d["opened"]) for d in days) == len(rooms)
    hours = table("/reports/export/hours.csv")
    assert [d["weekday"] for d in hours][:2] == ["Monday", "Tuesday"] and len(hours) == 7
    assert sum(int(v) for d in hours for k, v in d.items() if k != "weekday") == sum(
        len(r.inbound) for r in rooms
    )
    fives = [r for r in rooms if r.csat and r.csat[0] == 5]
    assert [int(d["answers"]) for d in table("/reports/export/csat.csv")][4] == len(fives)
    assert {d["policy"] for d in table("/reports/export/sla.csv")} == set(h.policies)
    by_agent = {d["agent_id"]: d for d in table("/reports/export/agents.csv")}
    assert int(by_agent[tenant.agent_id]["assigned"]) == len(h.counted(owner_id=tenant.agent_id))
    # the rooms behind a number, on the page and as CSV
    behind = table("/reports/export/rooms.csv", figure="csat", rating="5")
    assert {d["conversation_id"] for d in behind} == {r.id for r in fives}
    billing = h.teams["Billing"]
    listed = desk(tenant.manager, "/reports/rooms", figure="opened", team_id=billing)
    assert listed.status_code == 200
    assert listed.text.count('class="report-room"') == len(h.counted(team_id=billing))
    # what the pages refuse, in words
    assert desk(tenant.manager, "/reports/rooms", figure="nope").status_code == 400
    assert desk(tenant.manager, "/reports/rooms", figure="csat", rating="9").status_code == 400
    assert desk(tenant.manager, "/reports/export/secrets.csv").status_code == 404
    assert desk(tenant.manager, "/reports", team_id=str(uuid.uuid4())).status_code == 404
    client.cookies.clear()


def test_workers_folding_at_once_count_each_message_once(client, tenant, db_url):
    from app.reports import volume

    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555000{3000 + i}", "hi").conversation_id for i in range(8)]
    for room in rooms[:5]:
        _send(client, tenant.agent, room, "hello")
        inbound(sms, f"+1555000{3000 + rooms.index(room)}", "thanks")
    assert (
        client.delete(f"/v1.0/conversations/{rooms[7]}", headers=tenant.manager).status_code == 200
    )

    async def together():
        import asyncio

        await asyncio.gather(
            volume.fold_all(),
            volume.fold_all(),
            volume.catch_up(tenant.customer_id),
            volume.catch_up(tenant.customer_id, wait=False),
        )

    run_async(together())
    counted = sql(
        db_url,
        "SELECT span, sum(inbound) AS inbound, sum(replies) AS replies FROM report_volume"
        " WHERE customer_id = $1 AND agent_id = '00000000-0000-0000-0000-000000000000'"
        " AND dimension = '' GROUP BY span ORDER BY span",
        tenant.customer_id,
    )
    # 7 rooms left (one deleted): 7 first messages, 5 thanks, 5 replies
    assert [(r["span"], r["inbound"], r["replies"]) for r in counted] == [
        ("d", 12, 5),
        ("q", 12, 5),
    ]
    cursor = sql_value(
        db_url, "SELECT event_id FROM report_cursors WHERE customer_id = $1", tenant.customer_id
    )
    assert cursor == sql_value(
        db_url, "SELECT max(id) FROM events WHERE customer_id = $1", tenant.customer_id
    )


def test_a_message_counts_for_the_team_assignee_and_channel_its_room_had_when_counted(
    client, tenant, db_url
):
    from app.reports import volume

    def team(name: str) -> str:
        r = client.post("/v1.0/teams", headers=tenant.admin, json={"name": name})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def put(room: str, **changes) -> None:
        r = client.put(f"/v1.0/conversations/{room}", headers=tenant.manager, json=changes)
        assert r.status_code == 200, r.text

    first, second = team("First line"), team("Second line")
    now = datetime.now(UTC)
    period = {"from": fmt(now - timedelta(hours=1)), "to": fmt(now + timedelta(hours=1))}

    def counts(what: str = "summary", **filters) -> tuple[int, int] | dict[str, int]:
        got = _get(client, tenant, what, **period, **filters)
        if what == "agents":
            return {a["agent_id"]: a["replied"] for a in got["result"] if a["replied"]}
        return got["inbound_messages"], got["replies"]

    a = inbound(tenant.channel("message"), "+15550004001", "hi").conversation_id
    put(a, team_id=first, owner_id=tenant.agent_id)
    _send(client, tenant.agent, a, "hello")
    b = inbound(tenant.channel("email"), "erin@example.com", "hello from b").conversation_id
    put(b, team_id=first, owner_id=tenant.admin_id)
    _send(client, tenant.manager, b, "answered")
    # counted now, under the rooms as they are: the same as counting from scratch
    filters = ({"team_id": first}, {"agent_id": tenant.agent_id}, {"reference_type": "email"})
    for what in ("summary", "agents"):
        for f in filters:
            assert _get(client, tenant, what, **period, **f) == _recounted(
                tenant, what, {**period, **f}
            ), (what, f)
    assert counts(team_id=first) == (2, 2)

    # a changes hands: what was counted stays where it was counted, what follows goes
    # to the new team and assignee; the room's own figures follow the room
    put(a, team_id=second, owner_id=tenant.manager_id)
    inbound(tenant.channel("message"), "+15550004001", "one more thing")
    _send(client, tenant.manager, a, "sure")
    assert counts(team_id=first) == (2, 2)
    assert counts(team_id=second) == (1, 1)
    assert counts(agent_id=tenant.agent_id) == (1, 1)
    assert counts(agent_id=tenant.manager_id) == (1, 1)
    assert counts(reference_type="message") == (2, 2)
    assert _get(client, tenant, "summary", **period, team_id=first)["opened"] == 1  # b
    assert counts("agents", team_id=first) == {tenant.agent_id: 1, tenant.manager_id: 1}
    assert counts("agents", team_id=second) == {tenant.manager_id: 1}
    # two filters at once: the slots of the rooms that match both now
    assert counts(team_id=second, reference_type="message") == (2, 2)
    # the rooms behind the team's messages are those counted under it, wherever they are now
    client.cookies.set("token", tenant.manager["Authorization"].removeprefix("Bearer "))
    for team_id, rooms in ((first, 2), (second, 1)):
        listed = client.get(
            "/reports/rooms", params={**period, "figure": "messages", "team_id": team_id}
        )
        assert listed.status_code == 200, listed.text
        assert listed.text.count('class="report-room"') == rooms, team_id
    client.cookies.clear()

    # deleted, a room's messages leave each count they were counted in
    assert client.delete(f"/v1.0/conversations/{a}", headers=tenant.manager).status_code == 200
    assert counts(team_id=first) == (1, 1)
    assert counts(team_id=second) == (0, 0)
    assert counts(agent_id=tenant.agent_id) == counts(agent_id=tenant.manager_id) == (0, 0)
    assert counts() == (1, 1)

    # folded from the events, the counts are what a recount from the rooms makes
    def kept() -> set[tuple]:
        rows = sql(
            db_url,
            "SELECT dimension, dimension_key, span, start, agent_id, inbound, replies"
            " FROM report_volume WHERE customer_id = $1 AND (inbound <> 0 OR replies <> 0)",
            tenant.customer_id,
        )
        return {tuple(r.values()) for r in rows}

    folded = kept()
    assert {r[0] for r in folded} == {"", "team", "owner", "channel"}
    run_async(volume.recount_all(tenant.customer_id))
    assert kept() == folded
