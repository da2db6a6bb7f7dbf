"""SLA policies (`/v1.0/sla_policies`) and the rooms' clocks, on the in-process app and
the real database: CRUD, who may do what, validation and foreign ids; clocks moving with
messages, replies, snoozes, closes and reopens, priority changes and business hours; the
room's `sla` summary, the list's `sort=sla` and `sla=` filter; `GET …/{id}/sla` with its
intervals; the worker's warning and breach, once, with two workers racing; and the stored
clocks equal to the room's history folded from scratch after many changes."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import assert_error, inbound, run_async
from db_kit import audit_entries, sql, sql_value

from app.domain.timefmt import fmt, parse

URL = "/v1.0/sla_policies"
LIVE = "9999-01-01 00:00:00.000000"
IN_PROCESS_SETTINGS = {
    # the tests run the SLA worker's rounds themselves, at the times they choose; and time
    # moved on by a virtual clock must not close the rooms under them
    "CONVODESK_SLA_TICK": "3600",
    "CONVODESK_CLOSE_AFTER": str(3650 * 86400),
}


class VirtualClock:
    """The time every module of the app reads (`now()`), moved on by the test: days pass
    in a step, and the workers' rounds come at the times the test says."""

    def __init__(self, monkeypatch) -> None:
        import sys

        from app.domain import timefmt

        real = timefmt.now
        self.at = real()
        self._tick = 0
        for name, module in list(sys.modules.items()):
            if name.startswith("app") and getattr(module, "now", None) is real:
                monkeypatch.setattr(module, "now", self.now)

    def now(self) -> datetime:
        self._tick += 1  # distinct per call, as the real clock is
        return self.at + timedelta(microseconds=self._tick)

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.now()


@pytest.fixture
def clock(client, monkeypatch) -> VirtualClock:
    return VirtualClock(monkeypatch)


def _policy(client, tenant, **body) -> dict:
    body = {"name": "Standard", **body}
    r = client.post(URL, headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _room(client, tenant, room_id: str) -> dict:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def _clocks(client, tenant, room_id: str) -> dict[tuple[str, int], dict]:
    r = client.get(f"/v1.0/conversations/{room_id}/sla", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return {(c["kind"], c["cycle"]): c for c in r.json()["result"]}


def _reply(client, headers, room_id: str, text: str = "on it") -> dict:
    r = client.post(f"/v1.0/conversations/{room_id}/messages", headers=headers, json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()


def _put(client, tenant, room_id: str, **body) -> dict:
    r = client.put(f"/v1.0/conversations/{room_id}", headers=tenant.admin, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _agree(tenant, room_id: str) -> list[str]:
    """The room's stored clocks against its history folded from scratch (empty: equal)."""
    from app.conversations import store as rooms
    from app.domain.timefmt import now
    from app.sla import tracking

    async def check():
        room = await rooms.room_of_customer(tenant.customer_id, room_id)
        return await tracking.recheck(room, now())

    return run_async(check())


def _fire(at: datetime, workers: int = 1) -> list[tuple[int, int]]:
    """`workers` rounds of the SLA worker at the time `at`, at once, on the real database."""
    from app.sla import worker

    async def race():
        return await asyncio.gather(*(worker.fire_due(at=at) for _ in range(workers)))

    return run_async(race())


def _minutes(a: str, b: str) -> float:
    return (parse(b) - parse(a)).total_seconds() / 60


def _events(db_url: str, customer_id: str, prefix: str) -> list[dict]:
    """The customer's events whose type starts with `prefix` (`conversation_sla_`: the
    warnings and breaches, not the summary's moves), oldest first."""
    rows = sql(
        db_url,
        "SELECT type, topics, audience::text[] AS audience, payload::text FROM events"
        " WHERE customer_id = $1 AND type LIKE $2 AND type <> 'conversation_sla_updated'"
        " ORDER BY id",
        customer_id,
        prefix + "%",
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


# --- policies -----------------------------------------------------------------------------------


def test_admins_manage_policies_with_an_event_and_an_audit_entry_for_each_change(
    client, tenant, db_url
):
    made = _policy(client, tenant, name="Urgent", priority="urgent", first_response_minutes=15)
    assert set(made) == {
        "id", "customer_id", "name", "priority", "team_id", "business_hours_id",
        "first_response_minutes", "next_response_minutes", "resolution_minutes",
        "tm_create", "tm_update", "tm_delete",
    }  # fmt: skip
    assert (made["priority"], made["first_response_minutes"], made["team_id"]) == (
        "urgent",
        15,
        None,
    )
    # any agent reads them; only admins change them
    assert client.get(f"{URL}/{made['id']}", headers=tenant.agent).json() == made
    assert client.get(URL, headers=tenant.agent).json()["result"] == [made]
    body = {"name": "x", "first_response_minutes": 5}
    assert_error(client.post(URL, headers=tenant.manager, json=body), 403, "admin_required")
    assert_error(client.put(f"{URL}/{made['id']}", headers=tenant.agent, json={"name": "y"}), 403)
    assert_error(client.delete(f"{URL}/{made['id']}", headers=tenant.agent), 403)

    r = client.put(
        f"{URL}/{made['id']}",
        headers=tenant.admin,
        json={"priority": None, "resolution_minutes": 240},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["priority"], updated["resolution_minutes"]) == (None, 240)
    same = client.put(f"{URL}/{made['id']}", headers=tenant.admin, json={"priority": None})
    assert same.json() == updated  # nothing changed: no event, no entry
    # a change that would leave no target is refused
    r = client.put(
        f"{URL}/{made['id']}",
        headers=tenant.admin,
        json={"first_response_minutes": None, "resolution_minutes": None},
    )
    assert_error(r, 422, "sla_target_required")

    gone = client.delete(f"{URL}/{made['id']}", headers=tenant.admin).json()
    assert gone["tm_delete"] != LIVE
    assert_error(client.get(f"{URL}/{made['id']}", headers=tenant.admin), 404)
    assert client.get(URL, headers=tenant.admin).json()["result"] == []

    events = _events(db_url, tenant.customer_id, "sla_policy_")
    assert [e["type"] for e in events] == [
        "sla_policy_created",
        "sla_policy_updated",
        "sla_policy_deleted",
    ]
    assert events[0]["data"] == made and events[1]["data"] == updated
    topic = f"customer_id:{tenant.customer_id}:sla_policy:{made['id']}"
    assert all(e["topics"] == [topic] and e["audience"] == [] for e in events)
    created = audit_entries(db_url, tenant.customer_id, "sla_policy.created")
    assert [(e["actor_id"], e["target_id"], e["after"]) for e in created] == [
        (tenant.admin_id, made["id"], made)
    ]
    assert len(audit_entries(db_url, tenant.customer_id, "sla_policy.updated")) == 1
    assert len(audit_entries(db_url, tenant.customer_id, "sla_policy.deleted")) == 1


def test_a_policy_needs_a_target_sane_minutes_and_the_customers_own_team_and_hours(
    client, tenant, other_tenant, db_url
):
    def post(**body):
        return client.post(URL, headers=tenant.admin, json={"name": "P", **body})

    assert_error(post(), 422, "sla_target_required")
    assert_error(post(first_response_minutes=0), 422)
    assert_error(post(first_response_minutes=600000), 422)
    assert_error(post(first_response_minutes=1.5), 422)
    assert_error(post(first_response_minutes=5, priority="asap"), 422)
    assert_error(post(first_response_minutes=5, color="red"), 422)
    assert_error(post(first_response_minutes=5, team_id="not-an-id"), 422)
    assert_error(
        client.post(URL, headers=tenant.admin, json={"name": "  ", "first_response_minutes": 5}),
        422,
        "invalid_name",
    )
    theirs = client.post(
        "/v1.0/teams", headers=other_tenant.admin, json={"name": "Their team"}
    ).json()
    assert_error(post(first_response_minutes=5, team_id=theirs["id"]), 404, "team_not_found")
    their_hours = str(uuid.uuid4())
    sql(
        db_url,
        "INSERT INTO business_hours (id, customer_id, name) VALUES ($1, $2, 'theirs')",
        their_hours,
        other_tenant.customer_id,
    )
    assert_error(
        post(first_response_minutes=5, business_hours_id=their_hours),
        404,
        "business_hours_not_found",
    )
    assert_error(
        post(first_response_minutes=5, business_hours_id=str(uuid.uuid4())),
        404,
        "business_hours_not_found",
    )
    mine = client.post("/v1.0/teams", headers=tenant.admin, json={"name": "Mine"}).json()
    assert post(first_response_minutes=5, team_id=mine["id"]).status_code == 201


def test_every_new_endpoint_answers_404_for_another_customers_ids(client, tenant, other_tenant):
    theirs = _policy(client, other_tenant, first_response_minutes=5)
    sms = other_tenant.channel()
    their_room = inbound(sms, "+15550009999", "hello").conversation_id
    for url in (f"{URL}/{theirs['id']}", f"{URL}/not-a-uuid", f"{URL}/{uuid.uuid4()}"):
        assert_error(client.get(url, headers=tenant.admin), 404, "sla_policy_not_found")
        assert_error(
            client.put(url, headers=tenant.admin, json={"name": "mine now"}),
            404,
            "sla_policy_not_found",
        )
        assert_error(client.delete(url, headers=tenant.admin), 404, "sla_policy_not_found")
    for room in (their_room, "not-a-uuid", str(uuid.uuid4())):
        assert_error(
            client.get(f"/v1.0/conversations/{room}/sla", headers=tenant.admin),
            404,
            "conversation_not_found",
        )
    assert client.get(f"{URL}/{theirs['id']}", headers=other_tenant.admin).status_code == 200
    # an agent may not read the clocks of a room it may not see
    mine = inbound(tenant.channel(), "+15550008888", "hi").conversation_id
    _put(client, tenant, mine, owner_id=tenant.manager_id)
    assert_error(client.get(f"/v1.0/conversations/{mine}/sla", headers=tenant.agent), 404)


# --- clocks through the API -----------------------------------------------------------------


def test_clocks_follow_messages_replies_snoozes_closes_and_reopens(client, tenant, db_url):
    _policy(
        client, tenant, first_response_minutes=15, next_response_minutes=30, resolution_minutes=120
    )
    sms = tenant.channel()
    room_id = inbound(sms, "+15550001234", "my parcel is late").conversation_id
    room = _room(client, tenant, room_id)
    first = _clocks(client, tenant, room_id)[("first_response", 1)]
    assert room["sla"] == {"kind": "first_response", "status": "running", "due": first["due"]}
    assert _minutes(first["started"], first["due"]) == 15
    assert _minutes(first["started"], first["warn_at"]) == 12
    inbound(sms, "+15550001234", "hello?")  # the customer again: nothing moves
    assert _clocks(client, tenant, room_id)[("first_response", 1)]["due"] == first["due"]
    assert _agree(tenant, room_id) == []

    _reply(client, tenant.agent, room_id)
    clocks = _clocks(client, tenant, room_id)
    assert clocks[("first_response", 1)]["status"] == "met"
    assert clocks[("resolution", 1)]["status"] == "paused"
    assert _room(client, tenant, room_id)["sla"] == {
        "kind": "resolution",
        "status": "paused",
        "due": None,
    }
    # the reply moved the room's `sla`: its event says so, with the summary alone
    moved = sql(
        db_url,
        "SELECT payload::text FROM events WHERE type = 'conversation_sla_updated'"
        " ORDER BY id DESC LIMIT 1",
    )
    assert json.loads(moved[0]["payload"]) == {
        "conversation_id": room_id,
        "sla": {"kind": "resolution", "status": "paused", "due": None},
    }
    assert _agree(tenant, room_id) == []

    inbound(sms, "+15550001234", "still late")
    clocks = _clocks(client, tenant, room_id)
    nxt = clocks[("next_response", 1)]
    assert nxt["status"] == "running" and _minutes(nxt["started"], nxt["due"]) == 30
    assert _room(client, tenant, room_id)["sla"]["kind"] == "next_response"

    r = client.post(
        f"/v1.0/conversations/{room_id}/snooze", headers=tenant.admin, json={"until_reply": True}
    )
    assert r.status_code == 200, r.text
    assert r.json()["sla"]["status"] == "paused"  # the room's own event carries it
    assert {c["status"] for c in _clocks(client, tenant, room_id).values()} == {"met", "paused"}
    assert (
        client.delete(f"/v1.0/conversations/{room_id}/snooze", headers=tenant.admin).json()["sla"][
            "status"
        ]
        == "running"
    )
    assert _agree(tenant, room_id) == []

    closed = _put(client, tenant, room_id, status="closed")
    assert closed["sla"] is None
    clocks = _clocks(client, tenant, room_id)
    assert clocks[("resolution", 1)]["status"] == "met"
    assert clocks[("next_response", 1)]["status"] == "paused"  # no running on after a close
    assert _agree(tenant, room_id) == []

    reopened = _put(client, tenant, room_id, status="active")
    clocks = _clocks(client, tenant, room_id)
    assert clocks[("resolution", 1)]["status"] == "running"
    assert reopened["sla"]["kind"] == "next_response"
    _reply(client, tenant.agent, room_id)
    clocks = _clocks(client, tenant, room_id)
    assert clocks[("next_response", 1)]["status"] == "met"
    assert _agree(tenant, room_id) == []

    reasons = [i["reason"] for i in clocks[("resolution", 1)]["intervals"]]
    assert reasons == [
        None,
        "waiting_on_customer",
        None,
        "snoozed",
        None,
        "closed",
        None,
        "waiting_on_customer",
    ]
    resolution = clocks[("resolution", 1)]
    counted = sum(
        _minutes(i["start"], i["end"]) * 60 for i in resolution["intervals"] if i["counted"]
    )
    assert abs(counted - resolution["elapsed_seconds"]) < 0.001
    # the intervals cover the clock from its start, without a gap
    spans = resolution["intervals"]
    assert spans[0]["start"] == resolution["started"]
    assert all(a["end"] == b["start"] for a, b in zip(spans, spans[1:], strict=False))


def test_integrations_and_automatic_messages_do_not_answer_for_an_agent(client, tenant):
    _policy(client, tenant, first_response_minutes=15)
    room_id = inbound(tenant.channel(), "+15550004321", "hi").conversation_id
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "bot"}).json()
    _reply(client, {"Authorization": f"AccessKey {key['token']}"}, room_id, "We got it!")
    first = _clocks(client, tenant, room_id)[("first_response", 1)]
    assert first["status"] == "running"
    _reply(client, tenant.admin, room_id)
    assert _clocks(client, tenant, room_id)[("first_response", 1)]["status"] == "met"
    assert _agree(tenant, room_id) == []


def test_the_most_specific_policy_applies_and_running_clocks_follow_a_priority_change(
    client, tenant
):
    team = client.post("/v1.0/teams", headers=tenant.admin, json={"name": "Billing"}).json()
    _policy(client, tenant, name="Any", first_response_minutes=60)
    _policy(client, tenant, name="Urgent", priority="urgent", first_response_minutes=15)
    _policy(client, tenant, name="Billing", team_id=team["id"], first_response_minutes=30)
    _policy(
        client,
        tenant,
        name="Urgent billing",
        priority="urgent",
        team_id=team["id"],
        first_response_minutes=5,
    )
    _policy(client, tenant, name="Any, newer", first_response_minutes=90)  # ties: oldest
    room_id = inbound(tenant.channel(), "+15550002468", "hi").conversation_id

    def target() -> tuple[int, str]:
        clock = _clocks(client, tenant, room_id)[("first_response", 1)]
        return clock["target"], clock["due"]

    started = _clocks(client, tenant, room_id)[("first_response", 1)]["started"]
    for change, minutes in (
        ({}, 60),
        ({"priority": "urgent"}, 15),
        ({"team_id": team["id"]}, 5),
        ({"priority": "low"}, 30),
        ({"team_id": None}, 60),
    ):
        if change:
            _put(client, tenant, room_id, **change)
        got, due = target()
        assert got == minutes, change
        assert _minutes(started, due) == minutes  # from the same start: what counted stays
        assert _agree(tenant, room_id) == []
    # deleting the policy a room follows: its pending clock goes at the room's next change
    any_policy = next(
        p for p in client.get(URL, headers=tenant.admin).json()["result"] if p["name"] == "Any"
    )
    client.delete(f"{URL}/{any_policy['id']}", headers=tenant.admin)
    _put(client, tenant, room_id, priority="high")
    assert target()[0] == 90
    assert _agree(tenant, room_id) == []


def test_business_hours_stop_the_clocks_outside_them(client, tenant, db_url):
    """A calendar open around the clock except today (a holiday): a message today is due
    15 minutes into tomorrow."""
    today = datetime.now(UTC).date()
    hours = str(uuid.uuid4())
    sql(
        db_url,
        "INSERT INTO business_hours (id, customer_id, name, time_zone, periods, holidays)"
        " VALUES ($1, $2, 'Office', 'UTC', $3::jsonb, $4::jsonb)",
        hours,
        tenant.customer_id,
        json.dumps([{"day": d, "start": "00:00", "end": "24:00"} for d in range(7)]),
        json.dumps([{"date": today.isoformat(), "yearly": False, "name": "Today"}]),
    )
    _policy(client, tenant, business_hours_id=hours, first_response_minutes=15)
    room_id = inbound(tenant.channel(), "+15550001357", "hi").conversation_id
    first = _clocks(client, tenant, room_id)[("first_response", 1)]
    tomorrow = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    assert parse(first["due"]) == tomorrow + timedelta(minutes=15)
    assert [i["reason"] for i in first["intervals"]] == ["outside_business_hours"]
    assert first["elapsed_seconds"] == 0
    assert _agree(tenant, room_id) == []


# --- the worker ----------------------------------------------------------------------------------


def test_the_worker_warns_then_breaches_once_with_two_workers_racing(client, tenant, db_url, clock):
    _policy(client, tenant, first_response_minutes=15)
    sms = tenant.channel()
    mine = inbound(sms, "+15550001111", "help").conversation_id
    _put(client, tenant, mine, owner_id=tenant.agent_id)
    team = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Front", "agent_ids": [tenant.agent_id, tenant.manager_id]},
    ).json()
    theirs = inbound(sms, "+15550002222", "help too").conversation_id
    _put(client, tenant, theirs, team_id=team["id"])
    started = parse(_clocks(client, tenant, mine)[("first_response", 1)]["started"])

    def minute(m: float) -> datetime:
        clock.at = started + timedelta(minutes=m)
        return clock.now()

    assert _fire(minute(11), workers=2) == [(0, 0), (0, 0)]
    warned_at = minute(13)
    rounds = _fire(warned_at, workers=2)
    assert (sum(r[0] for r in rounds), sum(r[1] for r in rounds)) == (2, 0)  # one per room
    assert _room(client, tenant, mine)["sla"]["status"] == "warning"
    assert _fire(minute(14), workers=2) == [(0, 0), (0, 0)]

    rounds = _fire(minute(16), workers=2)
    assert (sum(r[0] for r in rounds), sum(r[1] for r in rounds)) == (0, 2)
    assert _fire(minute(30), workers=2) == [(0, 0), (0, 0)]
    room = _room(client, tenant, mine)
    clock_out = _clocks(client, tenant, mine)[("first_response", 1)]
    assert room["sla"] == {"kind": "first_response", "status": "breached", "due": clock_out["due"]}
    assert clock_out["status"] == "breached" and clock_out["stopped"] == clock_out["due"]
    assert clock_out["warned"] == fmt(warned_at)

    events = _events(db_url, tenant.customer_id, "conversation_sla_")
    # once each, whichever worker took it: the warnings, then the breaches
    got = [(e["type"], e["data"]["conversation_id"]) for e in events]
    assert sorted(got[:2]) == sorted(
        [("conversation_sla_warning", mine), ("conversation_sla_warning", theirs)]
    )
    assert sorted(got[2:]) == sorted(
        [("conversation_sla_breached", mine), ("conversation_sla_breached", theirs)]
    )
    breach = next(
        e for e in events if e["data"]["conversation_id"] == mine and "breach" in e["type"]
    )
    assert breach["audience"] == [tenant.agent_id]
    assert breach["topics"] == [f"customer_id:{tenant.customer_id}:conversation:{mine}"]
    assert (breach["data"]["kind"], breach["data"]["target"]) == ("first_response", 15)
    assert round(breach["data"]["elapsed_seconds"]) == 16 * 60  # counted up to the round

    # the assignee is told; an unassigned room's team members are
    told = sql(
        db_url,
        "SELECT agent_id::text, type, conversation_id::text FROM notifications"
        " WHERE customer_id = $1 AND type LIKE 'sla_%'",
        tenant.customer_id,
    )
    assert sorted((r["agent_id"], r["type"], r["conversation_id"]) for r in told) == sorted(
        [
            (tenant.agent_id, "sla_breached", mine),
            (tenant.agent_id, "sla_warning", mine),
            (tenant.agent_id, "sla_breached", theirs),
            (tenant.agent_id, "sla_warning", theirs),
            (tenant.manager_id, "sla_breached", theirs),
            (tenant.manager_id, "sla_warning", theirs),
        ]
    )
    lines = sql_value(
        db_url,
        "SELECT array_agg(text ORDER BY tm_create) FROM conversation_activities"
        " WHERE conversation_id = $1 AND text LIKE 'SLA %'",
        mine,
    )
    assert [line.split(":")[0] for line in lines] == ["SLA warning", "SLA breached"]
    assert "no first response within 15 business minutes" in lines[1]
    # a late reply ends the wait; the breach, at the due time, stays
    minute(40)
    _reply(client, tenant.agent, mine)
    clock_out = _clocks(client, tenant, mine)[("first_response", 1)]
    assert clock_out["status"] == "breached" and clock_out["stopped"] == clock_out["due"]
    late = parse(clock_out["done"]) - parse(clock_out["started"])
    assert abs(late - timedelta(minutes=40)) < timedelta(seconds=1)
    assert _agree(tenant, mine) == [] and _agree(tenant, theirs) == []


def test_a_reply_after_the_due_time_breaches_at_once_if_the_worker_has_not(
    client, tenant, db_url, clock
):
    _policy(client, tenant, first_response_minutes=15)
    room_id = inbound(tenant.channel(), "+15550003333", "hi").conversation_id
    clock.advance(minutes=20)  # and no worker round comes
    _reply(client, tenant.agent, room_id)
    clock_out = _clocks(client, tenant, room_id)[("first_response", 1)]
    assert clock_out["status"] == "breached" and clock_out["stopped"] == clock_out["due"]
    assert parse(clock_out["done"]) > parse(clock_out["due"])
    assert [e["type"] for e in _events(db_url, tenant.customer_id, "conversation_sla_")] == [
        "conversation_sla_breached"
    ]
    assert _room(client, tenant, room_id)["sla"] is None  # nothing is waiting any more
    assert _agree(tenant, room_id) == []


# --- lists ---------------------------------------------------------------------------------


def test_rooms_sort_by_breaching_soonest_and_filter_by_breached_or_warning(client, tenant, clock):
    _policy(client, tenant, name="Any", first_response_minutes=60)
    _policy(client, tenant, name="Urgent", priority="urgent", first_response_minutes=15)
    sms = tenant.channel()
    a = inbound(sms, "+15550000001", "one").conversation_id
    b = inbound(sms, "+15550000002", "two").conversation_id
    c = inbound(sms, "+15550000003", "three").conversation_id
    _reply(client, tenant.admin, c)  # paused: no due time
    d = inbound(sms, "+15550000004", "four").conversation_id
    _put(client, tenant, d, priority="urgent")  # due soonest now
    started = parse(_clocks(client, tenant, a)[("first_response", 1)]["started"])

    def listed(**params) -> list[str]:
        found, token = [], None
        while True:
            query = {**params, "page_size": 1, **({"page_token": token} if token else {})}
            r = client.get("/v1.0/conversations", headers=tenant.admin, params=query)
            assert r.status_code == 200, r.text
            found += [room["id"] for room in r.json()["result"]]
            token = r.json()["next_page_token"]
            if not token:
                return found

    def desk_listed() -> list[str]:
        from routing_kit import principal

        from app.desk import inbox
        from app.domain.enums import Permission

        admin = principal(tenant.customer_id, tenant.admin_id, "acme-admin", Permission.ADMIN)
        found, after = [], None
        while True:
            rows, after = run_async(
                inbox.inbox(admin, inbox.InboxFilter(sort="sla"), after=after, limit=1)
            )
            found += [row.room.id for row in rows]
            if not after:
                return found

    assert listed(sort="sla") == [d, a, b, c]
    clock.at = started + timedelta(minutes=16)
    _fire(clock.now())
    assert listed(sla="breached") == [d]
    assert listed(sla="warning") == []
    clock.at = started + timedelta(minutes=49)
    _fire(clock.now())
    assert listed(sla="warning", sort="sla") == [a, b]
    assert listed(sort="sla") == [d, a, b, c]
    assert desk_listed() == [d, a, b, c]  # the inbox's "Breaching soon", a row a page
    assert_error(
        client.get("/v1.0/conversations", headers=tenant.admin, params={"sla": "late"}), 400
    )
    assert_error(
        client.get(
            "/v1.0/conversations", headers=tenant.admin, params={"sort": "sla", "page_token": "x"}
        ),
        400,
        "invalid_page_token",
    )


# --- stored equals recomputed ----------------------------------------------------------------


def test_recomputing_from_scratch_equals_what_is_stored_through_many_changes(
    client, tenant, db_url, clock
):
    """Rooms driven through many transitions — messages, replies, snoozes and wakes,
    closes and reopens, priority changes, an edited policy, worker rounds, a merge — over
    a calendar with a lunch break: after every step, each room's stored clocks equal its
    history folded from scratch."""
    from routing_kit import principal

    from app.conversations import merge, messages, snooze
    from app.conversations import service as conversations
    from app.domain.enums import ConversationStatus, Permission, Priority
    from app.domain.resources import ConversationUpdate, MessageCreate, SlaPolicyUpdate
    from app.sla import service as policies

    hours = str(uuid.uuid4())
    sql(
        db_url,
        "INSERT INTO business_hours (id, customer_id, name, time_zone, periods)"
        " VALUES ($1, $2, 'Office', 'Europe/Paris', $3::jsonb)",
        hours,
        tenant.customer_id,
        json.dumps(
            [{"day": d, "start": "00:00", "end": "12:00"} for d in range(7)]
            + [{"day": d, "start": "13:00", "end": "24:00"} for d in range(7)]
        ),
    )
    std = _policy(
        client,
        tenant,
        business_hours_id=hours,
        first_response_minutes=15,
        next_response_minutes=30,
        resolution_minutes=240,
    )
    _policy(client, tenant, name="Urgent", priority="urgent", first_response_minutes=5)
    admin = principal(tenant.customer_id, tenant.admin_id, "acme-admin", Permission.ADMIN)
    sms = tenant.channel()
    peers = ["+15550007001", "+15550007002", "+15550007003"]
    rooms = [inbound(sms, p, "hello").conversation_id for p in peers]
    rng = random.Random(7)

    async def step(room_id: str, peer: str) -> str:
        room = await conversations.get_room(admin, room_id)
        closed = room.status == ConversationStatus.CLOSED.value
        kind = rng.choice(
            ["reopen"]
            if closed
            else ["customer", "customer", "reply", "reply", "snooze", "priority", "close", "tick"]
        )
        if kind == "customer":
            await messages.receive(sms, _message(peer))
        elif kind == "reply":
            await messages.send_message(admin, room_id, MessageCreate(text="ok"))
        elif kind == "snooze":
            if room.tm_snoozed is None:
                await snooze.snooze(admin, room_id, None, True)
            else:
                await snooze.wake(admin, room_id)
        elif kind == "priority":
            priority = rng.choice([Priority.URGENT, Priority.NONE, Priority.HIGH])
            await conversations.update_conversation(
                admin, room_id, ConversationUpdate(priority=priority)
            )
        elif kind == "close":
            await conversations.update_conversation(
                admin, room_id, ConversationUpdate(status=ConversationStatus.CLOSED)
            )
        elif kind == "reopen":
            await conversations.update_conversation(
                admin, room_id, ConversationUpdate(status=ConversationStatus.ACTIVE)
            )
        else:
            from app.sla import worker

            await worker.fire_due()
        return kind

    def _message(peer: str):
        from app.domain.inbound import InboundMessage

        return InboundMessage(peer=peer, text="more")

    done = []
    for n in range(32):
        clock.advance(minutes=rng.choice([1, 4, 13, 40, 120, 600]))
        i = rng.randrange(len(rooms))
        done.append(run_async(step(rooms[i], peers[i])))
        if n == 16:  # the policy itself changes: rooms follow at their next change
            run_async(
                policies.update(
                    admin,
                    std["id"],
                    SlaPolicyUpdate(next_response_minutes=10, business_hours_id=None),
                )
            )
        for room_id in rooms:
            assert _agree(tenant, room_id) == [], (n, done[-1])
    assert {"customer", "reply", "snooze", "priority", "close", "tick"} <= set(done)
    # merging moves one room's messages into another: both are folded again
    a, b = rooms[0], rooms[1]
    for room_id in (a, b):
        room = run_async(conversations.get_room(admin, room_id))
        if room.status == ConversationStatus.CLOSED.value:
            run_async(
                conversations.update_conversation(
                    admin, room_id, ConversationUpdate(status=ConversationStatus.ACTIVE)
                )
            )
    run_async(merge.merge(admin, a, b))
    assert _agree(tenant, a) == [] and _agree(tenant, b) == []
    # what migration 0034 writes for rooms that already had clocks is the same copy, and
    # the same time for the worker
    from app.db.piccolo_migrations.convodesk_0034_sla_path import FILL_NEXT, FILL_STATE
    from app.sla import store

    def copies() -> dict[str, tuple]:
        rows = sql(
            db_url,
            "SELECT id, sla_state, sla_next_at FROM conversations WHERE customer_id = $1",
            tenant.customer_id,
        )
        return {str(r["id"]): (store.state_of(r["sla_state"]), r["sla_next_at"]) for r in rows}

    inbound(sms, "+15550007004", "hello")  # a new room: its clocks run, the worker's time is set
    written = copies()
    assert sum(len(c[0]) for c in written.values()) >= 3
    assert any(c[1] is not None for c in written.values())
    sql(
        db_url,
        "UPDATE conversations SET sla_state = NULL, sla_next_at = NULL WHERE customer_id = $1",
        tenant.customer_id,
    )
    sql(db_url, FILL_STATE)
    sql(db_url, FILL_NEXT)
    assert copies() == written
