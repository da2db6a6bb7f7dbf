"""Snooze, bulk actions and merge, over the API of the
in-process app with the services' own clock: a snoozed room leaves the open views and
wakes by time (the worker's round driven with a later clock), by the customer's message
and by hand, once across two workers; bulk actions change each room as the single action
would, one event per changed room, per-row errors; a merge keeps every message, closes B
pointing at A, and the desk's URL of B leads to A."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from conftest import assert_error, inbound, run_async
from db_kit import audit_entries, sql, sql_value

from app.domain.enums import Permission
from app.domain.principal import Principal
from app.domain.timefmt import fmt, now

URL = "/v1.0/conversations"


def _room(tenant, account, peer: str, text: str = "hello") -> str:
    return inbound(account, peer, text).conversation_id


def _events(db_url: str, customer_id: str, *types: str) -> list[tuple[str, dict]]:
    rows = sql(
        db_url,
        "SELECT type, payload::text AS payload FROM events WHERE customer_id = $1"
        " AND type = ANY($2::text[]) ORDER BY id",
        customer_id,
        list(types),
    )
    return [(r["type"], json.loads(r["payload"])) for r in rows]


def _lines(db_url: str, room_id: str) -> list[str]:
    rows = sql(
        db_url,
        "SELECT text FROM conversation_activities WHERE conversation_id = $1"
        " AND kind = 'system' ORDER BY tm_create",
        room_id,
    )
    return [r["text"] for r in rows]


def _admin(tenant) -> Principal:
    return Principal(
        customer_id=tenant.customer_id,
        agent_id=tenant.admin_id,
        username="acme-admin",
        permission=Permission.ADMIN,
        via="token",
    )


def _inbox_ids(tenant, view: str) -> set[str]:
    from app.desk import inbox

    async def go():
        rows, _ = await inbox.inbox(_admin(tenant), inbox.InboxFilter(view=view))
        return {r.room.id for r in rows}

    return run_async(go())


def _later(**delta) -> str:
    return fmt(now() + timedelta(**delta))


# --- snooze -------------------------------------------------------------------------------


def test_a_snoozed_room_leaves_the_open_views_and_wakes_at_its_time(client, tenant, db_url):
    from app.conversations import snooze
    from app.desk import inbox

    sms = tenant.channel("message")
    room_id = _room(tenant, sms, "+15557770001")
    other = _room(tenant, sms, "+15557770002")
    run_async(inbox.mark_read(_admin(tenant), room_id))
    until = _later(hours=1)
    r = client.post(f"{URL}/{room_id}/snooze", headers=tenant.admin, json={"until": until})
    assert r.status_code == 200, r.text
    assert r.json()["snoozed_until"] == until and r.json()["snooze_until_reply"] is False
    assert _inbox_ids(tenant, "all") == {other}
    assert _inbox_ids(tenant, "unassigned") == {other}
    assert _inbox_ids(tenant, "snoozed") == {room_id}
    listed = client.get(URL, headers=tenant.admin, params={"snoozed": "true"}).json()["result"]
    assert [c["id"] for c in listed] == [room_id]

    # the worker's round with a clock before the time: nothing; after it: the room wakes
    assert run_async(snooze.wake_due(at=now() + timedelta(minutes=30))) == 0
    assert run_async(snooze.wake_due(at=now() + timedelta(hours=2))) == 1
    woke = _events(db_url, tenant.customer_id, "conversation_woke")
    assert [d["id"] for _, d in woke] == [room_id]
    assert woke[0][1]["snoozed_until"] is None
    assert _lines(db_url, room_id)[-1].startswith("Snooze ended at ")
    assert _inbox_ids(tenant, "all") == {room_id, other}
    assert _inbox_ids(tenant, "snoozed") == set()
    # back as unread for the admin who had read it, and at the top of the inbox
    unread = run_async(inbox.unread_counts(tenant.admin_id, [room_id]))
    assert unread[room_id] == 1

    async def first():
        rows, _ = await inbox.inbox(_admin(tenant), inbox.InboxFilter(view="all"))
        return rows[0].room.id

    assert run_async(first()) == room_id


def test_two_workers_wake_each_room_once(client, tenant, db_url):
    from app.conversations import snooze

    sms = tenant.channel("message")
    rooms = [_room(tenant, sms, f"+1555777100{i}") for i in range(6)]
    for room_id in rooms:
        r = client.post(
            f"{URL}/{room_id}/snooze", headers=tenant.admin, json={"until": _later(minutes=5)}
        )
        assert r.status_code == 200, r.text

    async def both():
        at = now() + timedelta(minutes=10)
        return await asyncio.gather(
            snooze.wake_due(at=at, batch=2), snooze.wake_due(at=at, batch=2)
        )

    assert sum(run_async(both())) == 6
    woke = [d["id"] for _, d in _events(db_url, tenant.customer_id, "conversation_woke")]
    assert sorted(woke) == sorted(rooms)


def test_the_customers_message_wakes_a_room_snoozed_until_reply(client, tenant, db_url):
    sms = tenant.channel("message")
    room_id = _room(tenant, sms, "+15557770003")
    r = client.post(f"{URL}/{room_id}/snooze", headers=tenant.admin, json={"until_reply": True})
    assert r.status_code == 200, r.text
    assert r.json()["snooze_until_reply"] is True and r.json()["snoozed_until"] is None
    assert "snoozed the conversation until the customer replies" in _lines(db_url, room_id)[-1]
    assert room_id not in _inbox_ids(tenant, "all")

    assert _room(tenant, sms, "+15557770003", "any news?") == room_id
    room = client.get(f"{URL}/{room_id}", headers=tenant.admin).json()
    assert room["snooze_until_reply"] is False
    kinds = [
        t
        for t, d in _events(
            db_url,
            tenant.customer_id,
            "conversation_snoozed",
            "conversation_woke",
            "conversation_message_received",
        )
    ]
    assert kinds[-3:] == [
        "conversation_snoozed",
        "conversation_message_received",
        "conversation_woke",
    ]
    assert _lines(db_url, room_id)[-1] == "Snooze ended: the customer replied"
    assert room_id in _inbox_ids(tenant, "all")


def test_waking_by_hand_and_what_snooze_refuses(client, tenant, other_tenant, db_url):
    sms = tenant.channel("message")
    room_id = _room(tenant, sms, "+15557770004")
    post = lambda body, h=tenant.admin, rid=room_id: client.post(  # noqa: E731
        f"{URL}/{rid}/snooze", headers=h, json=body
    )
    assert_error(client.delete(f"{URL}/{room_id}/snooze", headers=tenant.admin), 409, "not_snoozed")
    assert_error(post({}), 422, "snooze_needs_an_end")
    assert_error(post({"until": fmt(now() - timedelta(minutes=1))}), 422, "until_in_the_past")
    assert_error(post({"until": "tomorrow"}), 422)
    assert_error(post({"until": 5}), 422)
    assert_error(post({"until_reply": "yes"}), 422)
    assert_error(post({"until_reply": True, "extra": 1}), 422)
    assert_error(post({"until": "2030-01-01\x00"}), 422)
    assert_error(post({"until_reply": True}, other_tenant.admin), 404, "conversation_not_found")
    assert_error(post({"until_reply": True}, rid="not-an-id"), 404)

    assert post({"until_reply": True, "until": _later(days=1)}).status_code == 200
    r = client.delete(f"{URL}/{room_id}/snooze", headers=tenant.admin)
    assert r.status_code == 200, r.text
    assert r.json()["snoozed_until"] is None and r.json()["snooze_until_reply"] is False
    assert _lines(db_url, room_id)[-1].startswith("Snooze ended by ")

    # closing ends a snooze without waking; a closed room cannot be snoozed
    assert post({"until_reply": True}).status_code == 200
    r = client.put(f"{URL}/{room_id}", headers=tenant.admin, json={"status": "closed"})
    assert r.json()["snooze_until_reply"] is False
    assert room_id not in _inbox_ids(tenant, "snoozed")
    assert_error(post({"until_reply": True}), 409, "conversation_closed")
    assert len(_events(db_url, tenant.customer_id, "conversation_woke")) == 1


# --- bulk ---------------------------------------------------------------------------------


def _bulk(client, headers, ids, action, **fields):
    return client.post(
        f"{URL}/bulk", headers=headers, json={"conversation_ids": ids, "action": action, **fields}
    )


def test_bulk_close_emits_one_event_per_changed_room(client, tenant, other_tenant, db_url):
    sms = tenant.channel("message")
    rooms = [_room(tenant, sms, f"+1555777200{i}") for i in range(3)]
    theirs = _room(other_tenant, other_tenant.channel("message"), "+15557772009")
    r = _bulk(client, tenant.admin, [*rooms, rooms[0], theirs], "close")
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert [(x["id"], x["ok"]) for x in result] == [*((i, True) for i in rooms), (theirs, False)]
    assert result[-1]["error"]["status"] == 404
    assert result[-1]["error"]["reason"] == "conversation_not_found"
    closed = _events(db_url, tenant.customer_id, "conversation_closed")
    assert sorted(d["id"] for _, d in closed) == sorted(rooms)
    # again: every room is as asked already; nothing changes, nothing is recorded
    assert all(x["ok"] for x in _bulk(client, tenant.admin, rooms, "close").json()["result"])
    assert len(_events(db_url, tenant.customer_id, "conversation_closed")) == 3
    assert (
        sql_value(
            db_url, "SELECT count(*) FROM conversations WHERE id = $1 AND status = 'closed'", theirs
        )
        == 0
    )


def test_bulk_respects_the_single_actions_permissions(client, tenant, db_url):
    sms = tenant.channel("message")
    free = _room(tenant, sms, "+15557773001")
    managers = _room(tenant, sms, "+15557773002")
    assert (
        client.put(
            f"{URL}/{managers}", headers=tenant.admin, json={"owner_id": tenant.manager_id}
        ).status_code
        == 200
    )
    before = len(_events(db_url, tenant.customer_id, "conversation_updated"))
    # an agent hands rooms to someone else: refused room by room, as PUT refuses it
    r = _bulk(client, tenant.agent, [free, managers], "assign", owner_id=tenant.manager_id)
    assert r.status_code == 200, r.text
    rows = r.json()["result"]
    assert rows[0]["ok"] is False and rows[0]["error"]["status"] == 403
    assert rows[0]["error"]["reason"] == "assignment_not_allowed"
    assert rows[1]["error"]["reason"] == "conversation_not_found"  # not the agent's to see
    assert len(_events(db_url, tenant.customer_id, "conversation_updated")) == before
    # taking them for itself is allowed where PUT allows it
    rows = _bulk(client, tenant.agent, [free, managers], "assign", owner_id=tenant.agent_id).json()[
        "result"
    ]
    assert [x["ok"] for x in rows] == [True, False]
    assert client.get(f"{URL}/{free}", headers=tenant.admin).json()["owner_id"] == tenant.agent_id
    assert (
        audit_entries(db_url, tenant.customer_id, "conversation.assigned")[-1]["target_id"] == free
    )


def test_every_bulk_action_does_what_the_single_one_does(client, tenant, db_url):
    sms = tenant.channel("message")
    a, b = _room(tenant, sms, "+15557774001"), _room(tenant, sms, "+15557774002")
    team = client.post("/v1.0/teams", headers=tenant.admin, json={"name": "Billing"}).json()
    ok = lambda r: all(x["ok"] for x in r.json()["result"]) or r.text  # noqa: E731
    assert ok(_bulk(client, tenant.admin, [a, b], "add_tags", tags=["vip", "refund"])) is True
    assert ok(_bulk(client, tenant.admin, [a], "remove_tags", tags=["vip"])) is True
    assert ok(_bulk(client, tenant.admin, [a, b], "set_priority", priority="high")) is True
    assert ok(_bulk(client, tenant.admin, [a, b], "move_team", team_id=team["id"])) is True
    assert ok(_bulk(client, tenant.admin, [b], "snooze", until_reply=True)) is True
    assert ok(_bulk(client, tenant.admin, [a, b], "mark_read")) is True
    get = lambda i: client.get(f"{URL}/{i}", headers=tenant.admin).json()  # noqa: E731
    assert get(a)["tags"] == ["refund"] and get(b)["tags"] == ["vip", "refund"]
    assert get(a)["priority"] == get(b)["priority"] == "high"
    assert get(a)["team_id"] == get(b)["team_id"] == team["id"]
    assert get(b)["snooze_until_reply"] is True
    from app.desk import inbox

    assert run_async(inbox.unread_counts(tenant.admin_id, [a, b])) == {a: 0, b: 0}
    # an unknown team is refused room by room with the single action's error
    bad = _bulk(
        client, tenant.admin, [a], "move_team", team_id="00000000-0000-4000-8000-000000000000"
    ).json()["result"]
    assert bad[0]["error"]["reason"] == "invalid_team"


def test_bulk_bodies_that_are_refused(client, tenant):
    one = ["00000000-0000-4000-8000-000000000001"]
    assert_error(
        _bulk(
            client,
            tenant.admin,
            one * 2 + [f"00000000-0000-4000-8000-{i:012d}" for i in range(1000)],
            "close",
        ),
        422,
    )
    assert_error(_bulk(client, tenant.admin, [], "close"), 422)
    assert_error(_bulk(client, tenant.admin, one, "explode"), 422)
    assert_error(_bulk(client, tenant.admin, ["nope"], "close"), 422)
    assert_error(_bulk(client, tenant.admin, one, "assign"), 422, "missing_field")
    assert_error(
        _bulk(client, tenant.admin, one, "close", priority="high"), 422, "unexpected_field"
    )
    assert_error(_bulk(client, tenant.admin, one, "snooze"), 422, "snooze_needs_an_end")
    assert_error(_bulk(client, tenant.admin, one, "add_tags", tags=["a\x00b"]), 422)
    assert_error(_bulk(client, tenant.admin, one, "add_tags", tags=[]), 422)
    r = client.post(
        f"{URL}/bulk",
        headers=tenant.admin,
        content=b"[1]",
        params={},
    )
    assert r.status_code in (400, 415, 422)


# --- merge --------------------------------------------------------------------------------


def test_merge_keeps_every_message_and_leaves_a_pointer(client, tenant, db_url):
    sms, mail = tenant.channel("message"), tenant.channel("email")
    a = _room(tenant, sms, "+15557775001", "first")
    b = _room(tenant, mail, "dana@example.com", "by mail")
    _room(tenant, mail, "dana@example.com", "again by mail")
    # B also has Dana's phone: one participant per address after the merge
    assert (
        client.post(
            f"{URL}/{b}/participants",
            headers=tenant.admin,
            json={"type": "tel", "target": "+15557775001"},
        ).status_code
        == 201
    )
    client.put(f"{URL}/{a}", headers=tenant.admin, json={"tags": ["vip"]})
    client.put(f"{URL}/{b}", headers=tenant.admin, json={"tags": ["billing", "vip"]})
    count = lambda rid: sql_value(  # noqa: E731
        db_url, "SELECT count(*) FROM messages WHERE conversation_id = $1", rid
    )
    before = count(a) + count(b)
    assert before == 3

    r = client.post(f"{URL}/{a}/merge", headers=tenant.admin, json={"conversation_id": b})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == a and merged["tags"] == ["vip", "billing"]
    people = sorted((p["type"], p["target"]) for p in merged["participants"])
    assert people.count(("tel", "+15557775001")) == 1
    assert ("email", "dana@example.com") in people
    assert count(a) == before and count(b) == 0
    texts = [
        m["text"] for m in client.get(f"{URL}/{a}/messages", headers=tenant.admin).json()["result"]
    ]
    assert texts == ["again by mail", "by mail", "first"]  # newest first, in time order
    gone = client.get(f"{URL}/{b}", headers=tenant.admin).json()
    assert gone["merged_into"] == a and gone["status"] == "closed"
    kinds = [
        (t, d["id"])
        for t, d in _events(
            db_url, tenant.customer_id, "conversation_merged", "conversation_updated"
        )
    ][-3:]
    assert kinds == [
        ("conversation_updated", a),
        ("conversation_updated", b),
        ("conversation_merged", b),
    ]
    entry = audit_entries(db_url, tenant.customer_id, "conversation.merged")[-1]
    assert entry["target_id"] == b and entry["actor_id"] == tenant.admin_id
    assert entry["after"]["merged_into"] == a
    assert "into this conversation" in _lines(db_url, a)[-1]
    assert "merged this conversation into" in _lines(db_url, b)[-1]
    # the customer writes again by mail: A, not B, receives it
    assert _room(tenant, mail, "dana@example.com", "third") == a
    # a merged room stays closed
    assert_error(
        client.put(f"{URL}/{b}", headers=tenant.admin, json={"status": "active"}),
        409,
        "conversation_merged",
    )


def test_what_merge_refuses(client, tenant, other_tenant, db_url):
    sms = tenant.channel("message")
    a, b, c = (_room(tenant, sms, f"+1555777600{i}") for i in range(3))
    theirs = _room(other_tenant, other_tenant.channel("message"), "+15557776009")
    merge = lambda into, body, h=tenant.admin: client.post(  # noqa: E731
        f"{URL}/{into}/merge", headers=h, json=body
    )
    assert_error(merge(a, {"conversation_id": a}), 422, "merge_into_itself")
    assert_error(merge(a, {"conversation_id": theirs}), 404, "conversation_not_found")
    assert_error(merge(theirs, {"conversation_id": a}), 404, "conversation_not_found")
    assert_error(merge(a, {"conversation_id": b}, other_tenant.admin), 404)
    assert_error(merge(a, {}), 422)
    assert_error(merge(a, {"conversation_id": "x"}), 422)
    assert_error(merge(a, {"conversation_id": b, "more": 1}), 422)
    assert client.delete(f"{URL}/{c}", headers=tenant.admin).status_code == 200
    assert_error(merge(a, {"conversation_id": c}), 404)
    # an agent cannot merge a room it may not see
    client.put(f"{URL}/{b}", headers=tenant.admin, json={"owner_id": tenant.manager_id})
    assert_error(merge(a, {"conversation_id": b}, tenant.agent), 404)
    assert merge(a, {"conversation_id": b}).status_code == 200
    assert_error(merge(a, {"conversation_id": b}), 409, "conversation_merged")
    assert_error(merge(b, {"conversation_id": a}), 409, "conversation_merged")
    assert sql_value(db_url, "SELECT count(*) FROM messages WHERE conversation_id = $1", a) == 2


def test_the_desk_url_of_a_merged_room_leads_to_the_room_it_went_into(client, tenant):
    sms = tenant.channel("message")
    a, b = _room(tenant, sms, "+15557777001"), _room(tenant, sms, "+15557777002")
    assert (
        client.post(
            f"{URL}/{a}/merge", headers=tenant.admin, json={"conversation_id": b}
        ).status_code
        == 200
    )
    client.get("/login")
    token = client.cookies["csrftoken"]
    signed_in = client.post(
        "/login",
        data={"username": "acme-admin", "password": tenant.password, "_csrf_token": token},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    r = client.get(f"/conversations/{b}", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"].startswith(f"/conversations/{a}")
    page = client.get(f"/conversations/{a}")
    assert page.status_code == 200 and "merged" in page.text
