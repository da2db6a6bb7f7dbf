"""Macros over HTTP: personal and shared ones and who may change them, applying one to a
room (every action a rule or macro can take, each through its service), as the agent who
applies it (its permission), in bulk, and foreign ids."""

from __future__ import annotations

from conftest import assert_error, inbound
from db_kit import audit_entries, sql

URL = "/v1.0/macros"


def _macro(client, who, actions, **body) -> dict:
    r = client.post(URL, headers=who, json={"name": "m", "actions": actions, **body})
    assert r.status_code == 201, r.text
    return r.json()


def _apply(client, who, room, macro) -> dict:
    r = client.post(f"/v1.0/conversations/{room}/macros/{macro['id']}", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _lines(db_url, room) -> list[str]:
    rows = sql(
        db_url,
        "SELECT text FROM conversation_activities WHERE conversation_id = $1 ORDER BY tm_create",
        room,
    )
    return [r["text"] for r in rows]


def test_personal_and_shared_macros_and_who_may_change_them(client, tenant, other_tenant, db_url):
    mine = _macro(client, tenant.agent, [{"type": "add_tags", "value": "vip"}], name="Mine")
    assert mine["owner_id"] == tenant.agent_id
    assert_error(
        client.post(
            URL,
            headers=tenant.agent,
            json={"name": "s", "actions": [{"type": "close"}], "owner_id": None},
        ),
        403,
        "admin_required",
    )
    shared = _macro(client, tenant.admin, [{"type": "close"}], name="Close it", owner_id=None)
    # the agent sees its own and the shared; the manager only the shared
    names = [m["name"] for m in client.get(URL, headers=tenant.agent).json()["result"]]
    assert names == ["Close it", "Mine"]
    assert [m["name"] for m in client.get(URL, headers=tenant.manager).json()["result"]] == [
        "Close it"
    ]
    assert_error(client.get(f"{URL}/{mine['id']}", headers=tenant.admin), 404, "macro_not_found")
    assert_error(
        client.put(f"{URL}/{shared['id']}", headers=tenant.agent, json={"name": "x"}),
        403,
        "admin_required",
    )
    r = client.put(f"{URL}/{mine['id']}", headers=tenant.agent, json={"name": "Mine, renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Mine, renamed"
    assert client.delete(f"{URL}/{mine['id']}", headers=tenant.agent).status_code == 200
    assert_error(client.get(f"{URL}/{mine['id']}", headers=tenant.agent), 404)
    # another customer's macro is not found; a bad action is refused naming where
    theirs = _macro(client, other_tenant.admin, [{"type": "close"}])
    for method in ("GET", "PUT", "DELETE"):
        r = client.request(method, f"{URL}/{theirs['id']}", headers=tenant.admin, json={})
        assert_error(r, 404, "macro_not_found")
    err = assert_error(
        client.post(
            URL,
            headers=tenant.admin,
            json={"name": "x", "actions": [{"type": "snooze", "value": "tomorrow"}]},
        ),  # fmt: skip
        422,
        "invalid_rule",
    )
    assert err["fields"][0]["field"] == "actions[0].value"
    # only shared macros are tenant configuration: audit entries for them alone
    assert len(audit_entries(db_url, tenant.customer_id, "macro.created")) == 1


def test_a_macro_takes_every_kind_of_action_through_its_service(client, tenant, db_url):
    account = tenant.channel("message")
    room = inbound(account, "+15550009001", "my order is late").conversation_id
    team = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Care", "agent_ids": [tenant.agent_id], "assignment_policy": "round_robin"},
    ).json()
    canned = client.post(
        "/v1.0/canned_responses",
        headers=tenant.admin,
        json={"shortcut": "late", "text": "Sorry, {{conversation.name}}!", "owner_id": None},
    ).json()
    big = _macro(
        client,
        tenant.admin,
        [
            {"type": "move_team", "value": team["id"]},
            {"type": "set_priority", "value": "high"},
            {"type": "add_tags", "value": ["late", "order"]},
            {"type": "remove_tags", "value": "order"},
            {"type": "send_canned", "value": canned["id"]},
            {"type": "add_note", "value": "Checked the courier <b>twice</b>"},
            {"type": "notify", "value": ["team", tenant.manager_id]},
            {"type": "snooze", "value": 120},
        ],
        name="Late order",
    )
    out = _apply(client, tenant.admin, room, big)
    assert out["run"]["status"] == "done", out["run"]
    after = out["conversation"]
    assert after["team_id"] == team["id"] and after["priority"] == "high"
    assert after["tags"] == ["late"] and after["snoozed_until"] is not None
    messages = client.get(f"/v1.0/conversations/{room}/messages", headers=tenant.admin).json()
    replies = [m for m in messages["result"] if m["direction"] == "outbound"]
    assert [m["text"] for m in replies] == ["Sorry, +15550009001!"]
    assert replies[0]["agent_id"] == tenant.admin_id  # a macro acts as its agent
    notified = {
        n["agent_id"]
        for who in (tenant.agent, tenant.manager)
        for n in client.get("/v1.0/notifications", headers=who).json()["result"]
        if n["type"] == "automation"
    }
    assert notified == {tenant.agent_id, tenant.manager_id}
    lines = _lines(db_url, room)
    assert "Checked the courier <b>twice</b>" in lines  # stored as written, escaped when shown
    summary = [x for x in lines if "applied macro 'Late order'" in x]
    assert summary == [
        "Administrator applied macro 'Late order': moved the conversation to Care, set"
        " priority high, added tags late, order, removed tag order, sent the canned reply"
        " /late, notified the team, acme-manager"
    ]
    # close, reopen, assign, route: one after another
    closing = _macro(client, tenant.admin, [{"type": "close"}], name="Close")
    assert _apply(client, tenant.admin, room, closing)["conversation"]["status"] == "closed"
    again = _macro(client, tenant.admin, [{"type": "reopen"}, {"type": "assign",
                   "value": tenant.manager_id}], name="Reopen for manager")  # fmt: skip
    reopened = _apply(client, tenant.admin, room, again)["conversation"]
    assert reopened["status"] == "active" and reopened["owner_id"] == tenant.manager_id
    online = {"availability": "online"}
    assert client.put("/v1.0/me/availability", headers=tenant.agent, json=online).is_success
    route = _macro(client, tenant.admin, [{"type": "route"}], name="Back to routing")
    routed = _apply(client, tenant.admin, room, route)["conversation"]
    assert routed["owner_id"] == tenant.agent_id  # the team's one member takes it
    assert "Administrator closed the conversation" in _lines(db_url, room)


def test_a_macro_acts_with_the_permission_of_who_applies_it(client, tenant, other_tenant):
    account = tenant.channel("message")
    room = inbound(account, "+15550009101", "hi").conversation_id
    hand = _macro(
        client,
        tenant.agent,
        [{"type": "assign", "value": tenant.manager_id}, {"type": "add_tags", "value": "x"}],
    )
    run = _apply(client, tenant.agent, room, hand)["run"]
    assert run["status"] == "partial" and run["agent_id"] == tenant.agent_id
    assert run["actions"][0]["error"].startswith("assignment_not_allowed")
    # foreign rooms and macros, and another agent's personal macro
    theirs = _macro(client, other_tenant.admin, [{"type": "close"}])
    assert_error(
        client.post(f"/v1.0/conversations/{room}/macros/{theirs['id']}", headers=tenant.admin),
        404,
        "macro_not_found",
    )
    assert_error(
        client.post(f"/v1.0/conversations/{room}/macros/{hand['id']}", headers=tenant.admin),
        404,
        "macro_not_found",
    )
    other_room = inbound(other_tenant.channel("message"), "+15550009102", "x").conversation_id
    assert_error(
        client.post(f"/v1.0/conversations/{other_room}/macros/{hand['id']}", headers=tenant.agent),
        404,
        "conversation_not_found",
    )


def test_a_macro_applied_to_many_rooms_in_bulk(client, tenant, db_url):
    account = tenant.channel("message")
    rooms = [inbound(account, f"+1555001000{i}", "x").conversation_id for i in range(3)]
    tidy = _macro(
        client,
        tenant.admin,
        [{"type": "add_tags", "value": "tidy"}, {"type": "set_priority", "value": "low"}],
        name="Tidy",
    )
    r = client.post(
        "/v1.0/conversations/bulk",
        headers=tenant.admin,
        json={"conversation_ids": rooms, "action": "macro", "macro_id": tidy["id"]},
    )
    assert r.status_code == 200, r.text
    assert [x["ok"] for x in r.json()["result"]] == [True, True, True]
    for room in rooms:
        got = client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()
        assert got["tags"] == ["tidy"] and got["priority"] == "low"
    runs = sql(
        db_url,
        "SELECT count(*) AS n FROM automation_runs WHERE macro_id = $1",
        tidy["id"],
    )
    assert runs[0]["n"] == 3
    assert_error(
        client.post(
            "/v1.0/conversations/bulk",
            headers=tenant.admin,
            json={"conversation_ids": rooms, "action": "macro"},
        ),
        422,
        "missing_field",
    )
    assert_error(
        client.post(
            "/v1.0/conversations/bulk",
            headers=tenant.admin,
            json={
                "conversation_ids": rooms,
                "action": "macro",
                "macro_id": "00000000-0000-0000-0000-000000000001",
            },
        ),  # fmt: skip
        404,
        "macro_not_found",
    )
