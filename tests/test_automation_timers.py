"""Automation's time triggers and the triggers other workers' events fire, on the
in-process app and the real database, each worker's round run by the test at the time it
chooses: `no_agent_reply` and `waiting_on_customer` once per room and turn, counted in
business minutes when the room has business hours, exactly once with two workers racing
and after a restart, conditions checked once at the due time; `snooze_woke` from the
snooze worker, `sla_warning` and `sla_breached` from the SLA worker. And the event path's
shortcuts: the quick verdict on a rule, the customer's rules kept between changes."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from conftest import inbound, run_async
from db_kit import sql, sql_value

from app.domain.timefmt import fmt

RULES = "/v1.0/automation_rules"
IN_PROCESS_SETTINGS = {
    # the tests run the workers' rounds themselves, at the times they choose
    "CONVODESK_AUTOMATION_TICK": "3600",
    "CONVODESK_SNOOZE_TICK": "3600",
    "CONVODESK_SLA_TICK": "3600",
}


def _rule(client, tenant, trigger: str, tags: list[str], **body) -> dict:
    payload = {
        "name": f"{trigger} {tags[0]}",
        "trigger": trigger,
        "active": True,
        "actions": [{"type": "add_tags", "value": tags}],
        **body,
    }
    r = client.post(RULES, headers=tenant.admin, json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def _fire(at: datetime, workers: int = 1, batch: int = 500) -> list[int]:
    """`workers` rounds of the time-trigger worker at the time `at`, at once, each on a
    connection of its own."""
    from app.automation import timers

    async def race():
        return await asyncio.gather(*(timers.fire_due(at=at, batch=batch) for _ in range(workers)))

    return run_async(race())


def _turn(db_url, room_id: str) -> tuple[str, datetime]:
    row = sql(db_url, "SELECT sla_turn, tm_turn FROM conversations WHERE id = $1", room_id)[0]
    return row["sla_turn"], row["tm_turn"]


def _tags(client, tenant, room_id: str) -> list[str]:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["tags"]


def _runs(db_url, rule_id: str) -> dict[str, int]:
    """How many times the rule ran, by room."""
    rows = sql(
        db_url,
        "SELECT conversation_id::text AS room, count(*) AS n FROM automation_runs"
        " WHERE rule_id = $1 GROUP BY 1",
        rule_id,
    )
    return {r["room"]: r["n"] for r in rows}


def _reply(client, tenant, room_id: str, text: str = "on it") -> None:
    r = client.post(
        f"/v1.0/conversations/{room_id}/messages", headers=tenant.agent, json={"text": text}
    )
    assert r.status_code == 201, r.text


def _many_rooms(account, n: int) -> list[str]:
    """`n` rooms, each opened by a customer's message through the inbound entry point."""
    from app.conversations import messages
    from app.domain.inbound import InboundMessage

    async def receive() -> list[str]:
        made = []
        for i in range(n):
            message = InboundMessage(peer=f"+1555010{i:04d}", text="help")
            made.append((await messages.receive(account, message)).conversation_id)
        return made

    return run_async(receive())


def test_no_agent_reply_fires_once_per_customer_turn(client, tenant, db_url):
    rule = _rule(client, tenant, "no_agent_reply", ["late"], trigger_minutes=30)
    sms = tenant.channel()
    waiting = inbound(sms, "+15550001001", "anyone there?").conversation_id
    answered = inbound(sms, "+15550001002", "hello").conversation_id
    _reply(client, tenant, answered)  # before the 30 minutes: the turn is the agent's
    turn, began = _turn(db_url, waiting)
    assert turn == "customer"
    # the customer's second message in the same turn does not move its start
    inbound(sms, "+15550001001", "hello??")
    assert _turn(db_url, waiting) == ("customer", began)

    assert _fire(began + timedelta(minutes=29)) == [0]
    assert _tags(client, tenant, waiting) == []
    assert _fire(began + timedelta(minutes=31)) == [1]
    assert _tags(client, tenant, waiting) == ["late"]
    assert _tags(client, tenant, answered) == []
    assert _fire(began + timedelta(minutes=90)) == [0]  # once per turn
    assert _runs(db_url, rule["id"]) == {waiting: 1}
    run = client.get(f"{RULES}/{rule['id']}/runs", headers=tenant.admin).json()["result"][0]
    assert (run["trigger"], run["status"], run["depth"]) == ("no_agent_reply", "done", 0)
    lines = sql_value(
        db_url,
        "SELECT array_agg(text) FROM conversation_activities WHERE conversation_id = $1"
        " AND kind = 'system'",
        waiting,
    )
    assert "Rule 'no_agent_reply late' added tag late" in lines

    # an agent's reply ends the turn; the customer's next message starts a new one, which
    # fires again when it has lasted 30 minutes
    _reply(client, tenant, waiting)
    assert _turn(db_url, waiting)[0] == "agent"
    r = client.put(f"/v1.0/conversations/{waiting}", headers=tenant.admin, json={"tags": []})
    assert r.status_code == 200, r.text
    inbound(sms, "+15550001001", "still broken")
    turn, again = _turn(db_url, waiting)
    assert turn == "customer" and again > began
    assert _fire(again + timedelta(minutes=20)) == [0]
    assert _fire(again + timedelta(minutes=30)) == [1]  # at the minute itself
    assert _tags(client, tenant, waiting) == ["late"]
    assert _runs(db_url, rule["id"]) == {waiting: 2}
    fired = sql(
        db_url,
        "SELECT anchor, fired_at FROM automation_timers WHERE rule_id = $1 ORDER BY anchor",
        rule["id"],
    )
    # the runs keep the history; the timers keep only the turn not left yet
    assert [(t["anchor"], t["fired_at"]) for t in fired] == [
        (again, again + timedelta(minutes=30)),
    ]


def test_waiting_on_customer_fires_after_the_agents_reply(client, tenant, db_url):
    rule = _rule(client, tenant, "waiting_on_customer", ["nudge"], trigger_minutes=60)
    late = _rule(client, tenant, "no_agent_reply", ["late"], trigger_minutes=60)
    sms = tenant.channel()
    quiet = inbound(sms, "+15550002001", "my order?").conversation_id
    _reply(client, tenant, quiet, "it ships today, anything else?")
    talking = inbound(sms, "+15550002002", "my order?").conversation_id
    _reply(client, tenant, talking, "it ships today")
    inbound(sms, "+15550002002", "thanks!")  # the customer answered: the agent's turn again
    unanswered = inbound(sms, "+15550002003", "hello").conversation_id
    turn, replied = _turn(db_url, quiet)
    assert turn == "agent"

    assert _fire(replied + timedelta(minutes=59)) == [0]
    assert _fire(replied + timedelta(minutes=61)) == [3]  # quiet; talking and unanswered: late
    assert _tags(client, tenant, quiet) == ["nudge"]
    assert _tags(client, tenant, talking) == ["late"]
    assert _tags(client, tenant, unanswered) == ["late"]
    assert _runs(db_url, rule["id"]) == {quiet: 1}
    assert _runs(db_url, late["id"]) == {talking: 1, unanswered: 1}
    assert _fire(replied + timedelta(days=2)) == [0]  # once per turn, for each rule


def test_business_hours_count_only_open_minutes(client, tenant, db_url):
    """A calendar open around the clock except today (a holiday): the team's room waits
    until 30 minutes into tomorrow, a room of no team (the customer has no default
    calendar) 30 wall-clock minutes; then, with the calendar as the customer's default,
    rooms of no team count in it too."""
    today = datetime.now(UTC).date()
    r = client.post(
        "/v1.0/business_hours",
        headers=tenant.admin,
        json={
            "name": "Office",
            "time_zone": "UTC",
            "periods": [{"day": d, "start": "00:00", "end": "24:00"} for d in range(7)],
            "holidays": [{"date": today.isoformat(), "yearly": False, "name": "Today"}],
        },
    )
    assert r.status_code == 201, r.text
    hours = r.json()["id"]
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Office team", "business_hours_id": hours, "agent_ids": [tenant.agent_id]},
    )
    assert r.status_code == 201, r.text
    team = r.json()["id"]
    rule = _rule(client, tenant, "no_agent_reply", ["late"], trigger_minutes=30)
    sms = tenant.channel()
    office = inbound(sms, "+15550003001", "hi").conversation_id
    r = client.put(f"/v1.0/conversations/{office}", headers=tenant.admin, json={"team_id": team})
    assert r.status_code == 200, r.text
    anywhere = inbound(sms, "+15550003002", "hi").conversation_id
    began = max(_turn(db_url, office)[1], _turn(db_url, anywhere)[1])
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)

    assert _fire(began + timedelta(minutes=31)) == [1]
    assert _runs(db_url, rule["id"]) == {anywhere: 1}
    # the office room is not due yet: its timer says when to look again
    waits = sql(
        db_url,
        "SELECT due_at, fired_at FROM automation_timers WHERE conversation_id = $1",
        office,
    )
    assert [(w["due_at"], w["fired_at"]) for w in waits] == [
        (tomorrow + timedelta(minutes=30), None)
    ]
    assert _fire(tomorrow + timedelta(minutes=29)) == [0]
    assert _tags(client, tenant, office) == []
    assert _fire(tomorrow + timedelta(minutes=30, seconds=1)) == [1]
    assert _tags(client, tenant, office) == ["late"]
    assert _runs(db_url, rule["id"]) == {anywhere: 1, office: 1}

    # the customer's default calendar: a room of no team counts in it
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"business_hours_id": hours})
    assert r.status_code == 200, r.text
    later = inbound(sms, "+15550003003", "hi").conversation_id
    began = _turn(db_url, later)[1]
    assert _fire(began + timedelta(minutes=31)) == [0]
    assert _fire(tomorrow + timedelta(minutes=31)) == [1]
    assert _tags(client, tenant, later) == ["late"]


def test_two_workers_act_on_each_due_room_once_and_a_restart_adds_nothing(client, tenant, db_url):
    rule = _rule(client, tenant, "no_agent_reply", ["escalated"], trigger_minutes=30)
    sms = tenant.channel()
    rooms = _many_rooms(sms, 40)
    began = max(_turn(db_url, room)[1] for room in rooms)
    at = began + timedelta(minutes=31)
    # small batches, so that the two interleave over many transactions
    rounds = _fire(at, workers=2, batch=5)
    assert sum(rounds) == len(rooms)
    assert all(rounds), rounds  # both took part
    assert _runs(db_url, rule["id"]) == {room: 1 for room in rooms}
    tagged = sql(
        db_url,
        "SELECT id::text, tags FROM conversations WHERE customer_id = $1",
        tenant.customer_id,
    )
    assert {r["id"]: list(r["tags"]) for r in tagged} == {room: ["escalated"] for room in rooms}
    executed = sql(
        db_url,
        "SELECT payload->>'conversation_id' AS room, count(*) AS n FROM events"
        " WHERE customer_id = $1 AND type = 'automation_rule_executed' GROUP BY 1",
        tenant.customer_id,
    )
    assert {r["room"]: r["n"] for r in executed} == {room: 1 for room in rooms}
    # a worker started later (the same turns, a later clock) finds nothing to do
    assert _fire(at + timedelta(hours=5), workers=2) == [0, 0]
    assert sql_value(
        db_url, "SELECT count(*) FROM automation_runs WHERE rule_id = $1", rule["id"]
    ) == len(rooms)


def test_conditions_are_checked_once_at_the_due_time(client, tenant, db_url):
    rule = _rule(
        client,
        tenant,
        "no_agent_reply",
        ["refund-late"],
        trigger_minutes=15,
        conditions=[{"field": "text", "operator": "contains", "value": "refund"}],
    )
    sms = tenant.channel()
    refund = inbound(sms, "+15550005001", "I want a REFUND").conversation_id
    other = inbound(sms, "+15550005002", "where is my parcel").conversation_id
    began = max(_turn(db_url, refund)[1], _turn(db_url, other)[1])
    assert _fire(began + timedelta(minutes=16)) == [1]
    assert _tags(client, tenant, refund) == ["refund-late"]
    assert _tags(client, tenant, other) == []
    assert _runs(db_url, rule["id"]) == {refund: 1}
    # the room that did not match has its turn's timer too: later rounds pass it by
    timers = sql(
        db_url,
        "SELECT conversation_id::text AS room, fired_at FROM automation_timers WHERE rule_id = $1",
        rule["id"],
    )
    assert {t["room"] for t in timers if t["fired_at"] is not None} == {refund, other}

    from app.automation import store

    async def still_waiting():
        return await store.lock_waiting_rooms(
            uuid.UUID(tenant.customer_id),
            uuid.UUID(rule["id"]),
            "customer",
            began + timedelta(days=1),
            began + timedelta(days=1),
            100,
        )

    assert run_async(still_waiting()) == []
    # a message in the same turn makes it match: the turn was judged at its due time
    inbound(sms, "+15550005002", "refund then")
    assert _fire(began + timedelta(minutes=40)) == [0]
    assert _tags(client, tenant, other) == []


def test_snooze_woke_and_sla_triggers_run_their_rules(client, tenant, db_url):
    woke = _rule(client, tenant, "snooze_woke", ["woke"])
    warned = _rule(client, tenant, "sla_warning", ["sla-warning"])
    breached = _rule(
        client,
        tenant,
        "sla_breached",
        ["sla-breached"],
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    r = client.post(
        "/v1.0/sla_policies",
        headers=tenant.admin,
        json={"name": "Standard", "first_response_minutes": 15},
    )
    assert r.status_code == 201, r.text
    sms = tenant.channel()
    sleepy = inbound(sms, "+15550006001", "tomorrow is fine").conversation_id
    hurried = inbound(sms, "+15550006002", "urgent!").conversation_id
    _reply(client, tenant, sleepy)  # its clock stops: no SLA event for it
    began = _turn(db_url, hurried)[1]

    until = datetime.now(UTC) + timedelta(minutes=5)
    r = client.post(
        f"/v1.0/conversations/{sleepy}/snooze",
        headers=tenant.admin,
        json={"until": fmt(until), "until_reply": False},
    )
    assert r.status_code == 200, r.text
    from app.conversations import snooze
    from app.sla import worker

    assert run_async(snooze.wake_due(at=until - timedelta(minutes=1))) == 0
    assert _tags(client, tenant, sleepy) == []
    assert run_async(snooze.wake_due(at=until + timedelta(seconds=1))) == 1
    assert _tags(client, tenant, sleepy) == ["woke"]
    assert _runs(db_url, woke["id"]) == {sleepy: 1}

    assert run_async(worker.fire_due(at=began + timedelta(minutes=13))) == (1, 0)
    assert _tags(client, tenant, hurried) == ["sla-warning"]
    assert run_async(worker.fire_due(at=began + timedelta(minutes=16))) == (0, 1)
    room = client.get(f"/v1.0/conversations/{hurried}", headers=tenant.admin).json()
    assert (room["priority"], room["tags"]) == ("urgent", ["sla-warning"])
    assert _runs(db_url, warned["id"]) == {hurried: 1}
    assert _runs(db_url, breached["id"]) == {hurried: 1}
    triggers = sql(
        db_url,
        "SELECT trigger FROM automation_runs WHERE customer_id = $1 ORDER BY tm_create",
        tenant.customer_id,
    )
    assert [t["trigger"] for t in triggers] == ["snooze_woke", "sla_warning", "sla_breached"]
    said = sql_value(
        db_url, "SELECT actions::text FROM automation_runs WHERE rule_id = $1", breached["id"]
    )
    assert [a["said"] for a in json.loads(said)] == ["set priority urgent"]


# --- the event path's shortcuts ----------------------------------------------------------


@pytest.mark.pure
def test_the_quick_verdict_agrees_with_evaluate_for_every_field_and_operator():
    """The event path tries every rule with `matches` and records `evaluate`'s results
    only for those that match: both say the same of every field and operator."""
    import itertools

    from app.domain import automation as rules

    team = str(uuid.uuid4())
    long_text = "x" * 70_000 + " refund"  # past what is searched
    facts = [
        rules.Facts(
            channel="message",
            account_id=None,
            team_id=team,
            assignee_id=None,
            status="active",
            priority="high",
            tags=["vip", "Billing"],
            text=text,
            contact_addresses=["+15550001111", "ann@example.com"],
            contact_tags=["gold"],
            attributes={"plan": "enterprise", "seats": 12},
            open_now=open_now,
        )  # fmt: skip
        for text, open_now in (
            ("  Where is my REFUND?  ", True),
            ("ticket-7 is still open", False),
            (None, None),
            (long_text, None),
            ("", True),
        )
    ]
    raw = [
        ("channel", "equals", "message"), ("channel", "not_in", ["email", "line"]),
        ("team_id", "equals", team), ("team_id", "is_set", None),
        ("assignee_id", "is_not_set", None), ("status", "in", ["active", "idle"]),
        ("priority", "not_equals", "high"), ("tags", "includes", ["billing"]),
        ("tags", "excludes", ["vip"]), ("text", "contains", "refund"),
        ("text", "not_contains", "refund"), ("text", "starts_with", "where"),
        ("text", "ends_with", "open"), ("text", "equals", "where is my refund?"),
        ("text", "matches", r"ticket-\d+"), ("text", "is_set", None),
        ("contact_address", "ends_with", "@example.com"),
        ("contact_address", "not_contains", "555"), ("contact_tag", "includes", ["gold"]),
        ("attribute.plan", "equals", "Enterprise"), ("attribute.seats", "starts_with", "1"),
        ("attribute.missing", "not_equals", "x"), ("business_hours", "within", None),
        ("business_hours", "outside", None),
    ]  # fmt: skip
    conditions = [
        rules.check_condition(
            msgspec.convert({"field": f, "operator": o, "value": v}, rules.Condition), "c"
        )
        for f, o, v in raw
    ]
    tried = 0
    for fact in facts:
        for pair in itertools.combinations(conditions, 2):
            for match in ("all", "any"):
                ok, results = rules.evaluate(match, list(pair), fact)
                assert rules.matches(match, list(pair), fact) is ok, (match, pair, fact.text)
                tried += 1
        assert [rules.holds(c, fact)[0] for c in conditions].count(True) > 0
    assert rules.matches("any", [], facts[0]) and rules.matches("all", [], facts[0])
    assert tried == len(facts) * len(conditions) * (len(conditions) - 1)


def test_a_rule_changed_anywhere_applies_to_the_next_message(client, tenant, db_url):
    """The event path keeps a customer's rules between transactions and rereads them
    when they changed: through the API, or by another process (here: SQL)."""
    rule = _rule(client, tenant, "message_received", ["first"])
    sms = tenant.channel()
    room = inbound(sms, "+15550007001", "one").conversation_id
    assert _tags(client, tenant, room) == ["first"]
    r = client.put(
        f"{RULES}/{rule['id']}",
        headers=tenant.admin,
        json={"actions": [{"type": "add_tags", "value": ["second"]}]},
    )
    assert r.status_code == 200, r.text
    inbound(sms, "+15550007001", "two")
    assert _tags(client, tenant, room) == ["first", "second"]
    sql(
        db_url,
        'UPDATE automation_rules SET actions = \'[{"type": "add_tags", "value": ["third"]}]\','
        " tm_update = clock_timestamp() WHERE id = $1",
        rule["id"],
    )
    inbound(sms, "+15550007001", "three")
    assert _tags(client, tenant, room) == ["first", "second", "third"]
    r = client.put(f"{RULES}/{rule['id']}", headers=tenant.admin, json={"active": False})
    assert r.status_code == 200, r.text
    other = _rule(client, tenant, "message_received", ["fourth"])
    inbound(sms, "+15550007001", "four")
    assert _tags(client, tenant, room) == ["first", "second", "third", "fourth"]
    assert _runs(db_url, rule["id"]) == {room: 3}
    assert _runs(db_url, other["id"]) == {room: 1}


def test_a_merge_gives_the_room_the_turn_its_messages_say(client, tenant, db_url):
    """Merging moves messages between rooms: the room's turn, and when it began, follow
    the messages it now holds (a room with no SLA policy: sla/store.set_turn)."""
    sms = tenant.channel("message")
    answered = inbound(sms, "+15550131001", "first").conversation_id
    _reply(client, tenant, answered)  # its turn: the customer's reply is awaited
    waiting = inbound(sms, "+15550131002", "still waiting").conversation_id
    assert _turn(db_url, answered)[0] == "agent"
    wrote = _turn(db_url, waiting)
    r = client.post(
        f"/v1.0/conversations/{answered}/merge",
        headers=tenant.admin,
        json={"conversation_id": waiting},
    )
    assert r.status_code == 200, r.text
    # the other room's customer message is the newest: an agent is awaited since then
    assert _turn(db_url, answered) == ("customer", wrote[1])


def test_a_merge_of_rooms_with_sla_clocks_moves_when_the_turn_began_too(client, tenant, db_url):
    policy = {"name": "Std", "first_response_minutes": 60, "next_response_minutes": 60}
    assert client.post("/v1.0/sla_policies", headers=tenant.admin, json=policy).is_success
    sms = tenant.channel("message")
    answered = inbound(sms, "+15550132001", "first").conversation_id
    _reply(client, tenant, answered)
    waiting = inbound(sms, "+15550132002", "still waiting").conversation_id
    wrote = _turn(db_url, waiting)
    r = client.post(
        f"/v1.0/conversations/{answered}/merge",
        headers=tenant.admin,
        json={"conversation_id": waiting},
    )
    assert r.status_code == 200, r.text
    assert _turn(db_url, answered) == ("customer", wrote[1])
