"""Replies over HTTP: `agent_id` with a token and with an access key, scheduling, editing
and cancelling through the API, notes and the timeline, and what each refuses (foreign
ids 404, bad bodies 422, stale replies 409)."""

from __future__ import annotations

from datetime import timedelta

from conftest import assert_error, inbound

from app.domain.timefmt import fmt, now

NOBODY = "00000000-0000-0000-0000-000000000000"


def room_of(tenant) -> str:
    return inbound(tenant.channel("message"), "+15559871000", "hello").conversation_id


def test_api_replies_carry_the_agent_and_an_access_key_none(client, tenant):
    room = room_of(tenant)
    r = client.post(
        f"/v1.0/conversations/{room}/messages", headers=tenant.agent, json={"text": "hi"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] == tenant.agent_id and r.json()["scheduled_at"] is None
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "bot"})
    assert key.status_code == 201, key.text
    r = client.post(
        f"/v1.0/conversations/{room}/messages",
        params={"accesskey": key.json()["token"]},
        json={"text": "from a bot"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["agent_id"] is None


def test_schedule_edit_cancel_and_refusals(client, tenant, other_tenant):
    room = room_of(tenant)
    url = f"/v1.0/conversations/{room}/messages"
    due = fmt(now() + timedelta(hours=3))
    r = client.post(url, headers=tenant.admin, json={"text": "later", "scheduled_at": due})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["status"], made["scheduled_at"], made["tm_create"]) == ("scheduled", due, due)
    mid = made["id"]
    r = client.put(f"{url}/{mid}", headers=tenant.admin, json={"text": "later, edited"})
    assert r.status_code == 200 and r.json()["text"] == "later, edited", r.text
    assert_error(
        client.put(f"{url}/{mid}", headers=tenant.admin, json={"scheduled_at": "2001-01-01"}),
        422,
        "scheduled_in_past",
    )
    assert_error(
        client.put(f"{url}/{mid}", headers=tenant.admin, json={"text": 5}), 422, "invalid_body"
    )
    # another customer's key finds nothing; an unknown message is a 404
    assert_error(client.get(f"{url}/{mid}", headers=other_tenant.admin), 404)
    assert_error(client.post(f"{url}/{mid}/cancel", headers=other_tenant.admin), 404)
    assert_error(client.post(f"{url}/{NOBODY}/cancel", headers=tenant.admin), 404)
    r = client.post(f"{url}/{mid}/cancel", headers=tenant.admin)
    assert r.status_code == 200 and r.json()["status"] == "canceled", r.text
    assert_error(client.post(f"{url}/{mid}/cancel", headers=tenant.admin), 409, "not_scheduled")
    for body, reason in [
        ({"text": "x", "scheduled_at": fmt(now() - timedelta(minutes=5))}, "scheduled_in_past"),
        ({"text": "x", "scheduled_at": fmt(now() + timedelta(days=366))}, "scheduled_too_far"),
        ({"text": "x", "scheduled_at": "soon"}, "invalid_time"),
        ({"text": "x", "scheduled_at": "a" * 41}, "invalid_body"),
        ({"text": "x", "if_no_activity_since": "then"}, "invalid_time"),
    ]:
        assert_error(client.post(url, headers=tenant.admin, json=body), 422, reason)


def test_a_stale_reply_is_a_409_and_sends_nothing(client, tenant):
    room = room_of(tenant)
    url = f"/v1.0/conversations/{room}/messages"
    seen = client.get(url, headers=tenant.admin).json()["result"][0]["tm_create"]
    r = client.post(url, headers=tenant.manager, json={"text": "manager here"})
    assert r.status_code == 201, r.text
    error = assert_error(
        client.post(url, headers=tenant.admin, json={"text": "x", "if_no_activity_since": seen}),
        409,
        "stale_reply",
    )
    assert error["message"].endswith("send anyway?")
    texts = [m["text"] for m in client.get(url, headers=tenant.admin).json()["result"]]
    assert texts == ["manager here", "hello"]


def test_notes_and_the_timeline(client, tenant, other_tenant):
    room = room_of(tenant)
    notes = f"/v1.0/conversations/{room}/notes"
    r = client.post(notes, headers=tenant.agent, json={"text": "<b>VIP</b> customer"})
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["kind"], note["agent_id"], note["text"]) == (
        "note",
        tenant.agent_id,
        "<b>VIP</b> customer",
    )
    assert client.get(notes, headers=tenant.agent).json()["result"] == [note]
    assert_error(client.post(notes, headers=tenant.agent, json={"text": "   "}), 422, "empty_note")
    assert_error(client.post(notes, headers=tenant.agent, json={}), 422)
    assert_error(client.post(notes, headers=tenant.agent, json={"text": "a\u0000b"}), 422)
    assert_error(client.get(notes, headers=other_tenant.admin), 404)
    assert_error(client.post(notes, headers=other_tenant.admin, json={"text": "x"}), 404)
    timeline = client.get(f"/v1.0/conversations/{room}/timeline", headers=tenant.agent)
    assert timeline.status_code == 200, timeline.text
    items = timeline.json()["result"]
    assert [(i["kind"], i["text"]) for i in items] == [
        ("note", "<b>VIP</b> customer"),
        ("message", "hello"),
    ]
    only_system = client.get(
        f"/v1.0/conversations/{room}/timeline", headers=tenant.agent, params={"include": "system"}
    )
    assert [i["kind"] for i in only_system.json()["result"]] == ["message"]
    assert_error(
        client.get(
            f"/v1.0/conversations/{room}/timeline", headers=tenant.agent, params={"include": "x"}
        ),
        400,
    )
    # the messages list keeps its shape: no `kind`
    listed = client.get(f"/v1.0/conversations/{room}/messages", headers=tenant.agent).json()
    assert all("kind" not in m for m in listed["result"])
