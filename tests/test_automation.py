"""Automation rules over HTTP: CRUD and who may, what a rule does when its trigger comes
(each action through its service, in the triggering transaction), order and
`stop_processing`, the depth limit, failing actions, runs, events, audit entries,
preview, and a pattern that would stall a backtracking engine."""

from __future__ import annotations

import time

from conftest import assert_error, inbound
from db_kit import audit_entries, sql

URL = "/v1.0/automation_rules"


def _rule(client, tenant, **body) -> dict:
    payload = {"name": "r", "trigger": "message_received", "active": True,
               "actions": [{"type": "add_tags", "value": ["seen"]}], **body}  # fmt: skip
    r = client.post(URL, headers=tenant.admin, json=payload)
    assert r.status_code == 201, r.text
    return r.json()


def _room(client, tenant, room_id) -> dict:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def _lines(db_url, room_id) -> list[str]:
    rows = sql(
        db_url,
        "SELECT text FROM conversation_activities WHERE conversation_id = $1 AND kind = 'system'"
        " ORDER BY tm_create",
        room_id,
    )
    return [r["text"] for r in rows]


def test_a_rule_acts_on_an_inbound_message_and_explains_itself(client, tenant, db_url):
    account = tenant.channel("message")
    rule = _rule(
        client,
        tenant,
        name="Refunds are urgent",
        conditions=[{"field": "text", "operator": "contains", "value": "REFUND"}],
        actions=[
            {"type": "set_priority", "value": "urgent"},
            {"type": "add_tags", "value": ["refund"]},
        ],
    )
    quiet = inbound(account, "+15550002222", "hello there")
    room = _room(client, tenant, quiet.conversation_id)
    assert room["priority"] == "none" and room["tags"] == []
    hit = inbound(account, "+15550003333", "I want a refund now")
    room = _room(client, tenant, hit.conversation_id)
    assert room["priority"] == "urgent" and room["tags"] == ["refund"]
    assert "Rule 'Refunds are urgent' set priority urgent, added tag refund" in _lines(
        db_url, hit.conversation_id
    )
    runs = client.get(f"{URL}/{rule['id']}/runs", headers=tenant.admin).json()["result"]
    assert len(runs) == 1
    run = runs[0]
    assert run["conversation_id"] == hit.conversation_id and run["status"] == "done"
    assert (
        run["conditions"][0]["ok"] is True
        and run["conditions"][0]["actual"] == "I want a refund now"
    )
    assert [a["said"] for a in run["actions"]] == ["set priority urgent", "added tag refund"]
    types = [
        r["type"]
        for r in sql(
            db_url, "SELECT type FROM events WHERE customer_id = $1 ORDER BY id", tenant.customer_id
        )
    ]
    assert "automation_rule_executed" in types
    entries = audit_entries(db_url, tenant.customer_id, "automation_rule.executed")
    assert len(entries) == 1


def _events_of(db_url, customer_id, prefix) -> list[str]:
    rows = sql(
        db_url,
        "SELECT type FROM events WHERE customer_id = $1 AND type LIKE $2 ORDER BY id",
        customer_id,
        prefix + "%",
    )
    return [r["type"] for r in rows]


def _team(client, tenant, **body) -> dict:
    r = client.post("/v1.0/teams", headers=tenant.admin, json={"name": "Billing", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_admins_manage_rules_with_events_and_audit_entries(client, tenant, db_url):
    body = {"name": "Tag it", "trigger": "conversation_created",
            "actions": [{"type": "add_tags", "value": "new"}]}  # fmt: skip
    for who in (tenant.agent, tenant.manager):
        assert_error(client.post(URL, headers=who, json=body), 403, "admin_required")
        assert_error(client.get(URL, headers=who), 403, "admin_required")
    r = client.post(URL, headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    # a single tag is a list of one; a rule starts inactive, after the last one
    assert made["actions"] == [{"type": "add_tags", "value": ["new"]}]
    assert made["active"] is False and made["position"] == 1 and made["match"] == "all"
    second = _rule(client, tenant, name="Second")
    assert second["position"] == 2
    listed = client.get(URL, headers=tenant.admin).json()
    assert [x["name"] for x in listed["result"]] == ["Tag it", "Second"]
    assert listed["next_page_token"] == ""
    only = client.get(URL, headers=tenant.admin, params={"trigger": "conversation_created"})
    assert [x["name"] for x in only.json()["result"]] == ["Tag it"]
    assert_error(client.get(URL, headers=tenant.admin, params={"trigger": "often"}), 400)
    r = client.put(
        f"{URL}/{made['id']}", headers=tenant.admin, json={"active": True, "position": 5}
    )
    assert r.status_code == 200 and r.json()["active"] is True
    assert [x["name"] for x in client.get(URL, headers=tenant.admin).json()["result"]] == [
        "Second",
        "Tag it",
    ]
    # a time trigger needs its minutes; switching to it without them is refused
    err = assert_error(
        client.put(f"{URL}/{made['id']}", headers=tenant.admin, json={"trigger": "no_agent_reply"}),
        422,
        "invalid_rule",
    )
    assert err["fields"][0]["field"] == "trigger_minutes"
    r = client.put(
        f"{URL}/{made['id']}",
        headers=tenant.admin,
        json={"trigger": "no_agent_reply", "trigger_minutes": 30},
    )
    assert r.json()["trigger_minutes"] == 30
    r = client.put(
        f"{URL}/{made['id']}", headers=tenant.admin, json={"trigger": "message_received"}
    )
    assert r.json()["trigger_minutes"] is None  # not a time trigger: the minutes go
    r = client.delete(f"{URL}/{made['id']}", headers=tenant.admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert_error(client.get(f"{URL}/{made['id']}", headers=tenant.admin), 404)
    assert _events_of(db_url, tenant.customer_id, "automation_rule_") == [
        "automation_rule_created",
        "automation_rule_created",
        "automation_rule_updated",
        "automation_rule_updated",
        "automation_rule_updated",
        "automation_rule_deleted",
    ]
    for action in ("created", "updated", "deleted"):
        assert audit_entries(db_url, tenant.customer_id, f"automation_rule.{action}")


def test_what_a_rule_cannot_do_is_refused_naming_where(client, tenant, other_tenant):
    foreign_team = _team(client, other_tenant)
    base = {"name": "x", "trigger": "message_received", "actions": [{"type": "close"}]}
    refused = [
        ({"conditions": [{"field": "colour", "operator": "equals", "value": "x"}]},
         "conditions[0].field"),
        ({"conditions": [{"field": "status", "operator": "contains", "value": "x"}]},
         "conditions[0].operator"),
        ({"conditions": [{"field": "status", "operator": "equals", "value": "asleep"}]},
         "conditions[0].value"),
        ({"conditions": [{"field": "text", "operator": "matches", "value": "(unclosed"}]},
         "conditions[0].value"),
        ({"conditions": [{"field": "team_id", "operator": "equals", "value": "not-an-id"}]},
         "conditions[0].value"),
        ({"conditions": [{"field": "tags", "operator": "is_set", "value": "x"}]},
         "conditions[0].value"),
        ({"actions": [{"type": "assign", "value": other_tenant.agent_id}]}, "actions[0].value"),
        ({"actions": [{"type": "move_team", "value": foreign_team["id"]}]}, "actions[0].value"),
        ({"actions": [{"type": "set_priority", "value": "asap"}]}, "actions[0].value"),
        ({"actions": [{"type": "snooze", "value": 0}]}, "actions[0].value"),
        ({"actions": [{"type": "close", "value": "now"}]}, "actions[0].value"),
        ({"actions": [{"type": "notify", "value": ["everyone"]}]}, "actions[0].value"),
        ({"trigger_minutes": 5}, "trigger_minutes"),
    ]  # fmt: skip
    for change, where in refused:
        err = assert_error(
            client.post(URL, headers=tenant.admin, json={**base, **change}), 422, "invalid_rule"
        )
        assert err["fields"][0]["field"] == where, (change, err)
    for bad in ({**base, "actions": []}, {**base, "trigger": "sometimes"}, {**base, "x": 1}):
        assert_error(client.post(URL, headers=tenant.admin, json=bad), 422)
    assert_error(
        client.post(URL, headers=tenant.admin, json={**base, "name": "   "}), 422, "invalid_name"
    )
    # another customer's rule is not found, for every door
    theirs = _rule(client, other_tenant)
    for method, path in (
        ("GET", theirs["id"]),
        ("PUT", theirs["id"]),
        ("DELETE", theirs["id"]),
        ("GET", f"{theirs['id']}/runs"),
        ("POST", f"{theirs['id']}/preview"),
        ("GET", "not-a-uuid"),
    ):
        r = client.request(method, f"{URL}/{path}", headers=tenant.admin, json={})
        assert_error(r, 404, "automation_rule_not_found")


def test_rules_run_in_order_see_each_other_and_stop_processing_ends_the_chain(
    client, tenant, db_url
):
    account = tenant.channel("message")
    first = _rule(
        client,
        tenant,
        name="High first",
        position=1,
        actions=[{"type": "set_priority", "value": "high"}],
    )
    _rule(
        client,
        tenant,
        name="Then urgent",
        position=2,
        conditions=[{"field": "priority", "operator": "equals", "value": "high"}],
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    room = inbound(account, "+15550004001", "one").conversation_id
    assert _room(client, tenant, room)["priority"] == "urgent"  # the second saw the first
    client.put(f"{URL}/{first['id']}", headers=tenant.admin, json={"stop_processing": True})
    room = inbound(account, "+15550004002", "two").conversation_id
    assert _room(client, tenant, room)["priority"] == "high"


def test_rules_that_trigger_each_other_stop_at_the_depth_limit(client, tenant, db_url):
    account = tenant.channel("message")
    room = inbound(account, "+15550005001", "hi").conversation_id
    up = _rule(
        client,
        tenant,
        name="Up",
        trigger="conversation_updated",
        conditions=[{"field": "priority", "operator": "equals", "value": "high"}],
        actions=[{"type": "set_priority", "value": "urgent"}],
    )
    down = _rule(
        client,
        tenant,
        name="Down",
        trigger="conversation_updated",
        conditions=[{"field": "priority", "operator": "equals", "value": "urgent"}],
        actions=[{"type": "set_priority", "value": "high"}],
    )
    r = client.put(f"/v1.0/conversations/{room}", headers=tenant.admin, json={"priority": "high"})
    assert r.status_code == 200, r.text
    # each change runs the chain again (Up, then Down on what Up left), one level deeper
    # each time: levels 0, 1 and 2; at level 3 rules stop
    runs_up = client.get(f"{URL}/{up['id']}/runs", headers=tenant.admin).json()["result"]
    runs_down = client.get(f"{URL}/{down['id']}/runs", headers=tenant.admin).json()["result"]
    assert sorted(x["depth"] for x in runs_up) == [0, 1, 2]
    assert sorted(x["depth"] for x in runs_down) == [0, 1, 2]
    assert _room(client, tenant, room)["priority"] == "high"
    lines = _lines(db_url, room)
    assert lines.count("Automation stopped: rules triggered each other 3 times in a row") == 1
    assert lines.count("Rule 'Up' set priority urgent") == 3


def test_a_failing_action_is_recorded_and_loses_neither_the_message_nor_the_others(
    client, tenant, db_url
):
    account = tenant.channel("message")
    gone = tenant.add_agent("leaving", "agent")
    rule = _rule(
        client,
        tenant,
        name="Hand over",
        actions=[
            {"type": "assign", "value": gone},
            {"type": "add_tags", "value": ["handover"]},
            {"type": "snooze", "value": 60},
        ],
    )
    assert client.delete(f"/v1.0/agents/{gone}", headers=tenant.admin).status_code == 200
    sent = inbound(account, "+15550006001", "please help")
    room = _room(client, tenant, sent.conversation_id)
    assert room["owner_id"] is None and room["tags"] == ["handover"]
    assert room["snoozed_until"] is not None
    texts = [m["text"] for m in client.get(
        f"/v1.0/conversations/{sent.conversation_id}/messages", headers=tenant.admin
    ).json()["result"]]  # fmt: skip
    assert texts == ["please help"]
    [run] = client.get(f"{URL}/{rule['id']}/runs", headers=tenant.admin).json()["result"]
    assert run["status"] == "partial"
    assert [a["ok"] for a in run["actions"]] == [False, True, True]
    assert run["actions"][0]["error"].startswith("invalid_owner")
    line = [x for x in _lines(db_url, sent.conversation_id) if x.startswith("Rule 'Hand over'")]
    assert line[-1] == (
        "Rule 'Hand over' added tag handover, could not assign the conversation to leaving"
        " (owner_id must be an agent of this customer.)"
    )


def test_a_pathological_pattern_cannot_stall_the_server(client, tenant):
    account = tenant.channel("message")
    rule = _rule(
        client,
        tenant,
        name="Backtracker",
        conditions=[{"field": "text", "operator": "matches", "value": "(a+)+$"}],
        actions=[{"type": "add_tags", "value": ["matched"]}],
    )
    started = time.monotonic()
    sent = inbound(account, "+15550007001", "a" * 60_000 + "!")
    elapsed = time.monotonic() - started
    # a backtracking engine takes longer than the universe's age on this; RE2 is linear
    assert elapsed < 2.0, elapsed
    assert _room(client, tenant, sent.conversation_id)["tags"] == []
    sent = inbound(account, "+15550007002", "aaaa")
    assert _room(client, tenant, sent.conversation_id)["tags"] == ["matched"]
    assert len(client.get(f"{URL}/{rule['id']}/runs", headers=tenant.admin).json()["result"]) == 1


def test_preview_shows_what_would_match_and_changes_nothing(client, tenant, db_url):
    account = tenant.channel("message")
    refund = inbound(account, "+15550008001", "where is my refund?").conversation_id
    inbound(account, "+15550008002", "just saying hi")
    rule = _rule(
        client,
        tenant,
        active=False,
        conditions=[{"field": "text", "operator": "contains", "value": "refund"}],
        actions=[{"type": "set_priority", "value": "high"}, {"type": "close"}],
    )

    def counts():
        return [
            sql(
                db_url, f"SELECT count(*) AS n FROM {t} WHERE customer_id = $1", tenant.customer_id
            )[0]["n"]
            for t in ("events", "automation_runs", "conversation_activities", "audit_log")
        ]

    before = counts()
    rooms_before = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
    r = client.post(f"{URL}/{rule['id']}/preview", headers=tenant.admin, json={"limit": 10})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["tried"] == 2 and out["matched"] == 1
    [hit] = [x for x in out["result"] if x["matched"]]
    assert hit["conversation_id"] == refund
    assert [a["said"] for a in hit["actions"]] == ["set priority high", "closed the conversation"]
    assert counts() == before
    assert client.get("/v1.0/conversations", headers=tenant.admin).json()["result"] == rooms_before
    future = client.post(
        f"{URL}/{rule['id']}/preview", headers=tenant.admin, json={"since": "2999-01-01"}
    )
    assert future.json()["tried"] == 0
    assert_error(
        client.post(f"{URL}/{rule['id']}/preview", headers=tenant.admin, json={"since": "soon"}),
        422,
        "invalid_time",
    )
    assert_error(
        client.post(f"{URL}/{rule['id']}/preview", headers=tenant.admin, json={"limit": 501}), 422
    )


def test_event_triggers_new_room_reply_and_change(client, tenant, db_url):
    billing_mail = tenant.channel("email", address="billing@acme.example")
    support_mail = tenant.channel("email", address="support@acme.example")
    team = _team(client, tenant)
    _rule(
        client,
        tenant,
        name="Billing mail",
        trigger="conversation_created",
        conditions=[{"field": "account_id", "operator": "equals", "value": str(billing_mail.id)}],
        actions=[
            {"type": "move_team", "value": team["id"]},
            {"type": "set_priority", "value": "high"},
        ],
    )
    _rule(
        client,
        tenant,
        name="Answered",
        trigger="message_sent",
        actions=[{"type": "add_tags", "value": ["answered"]}],
    )
    _rule(
        client,
        tenant,
        name="Urgent tells the team",
        trigger="conversation_updated",
        conditions=[{"field": "priority", "operator": "equals", "value": "urgent"}],
        actions=[{"type": "notify", "value": [tenant.manager_id]}],
    )
    billed = inbound(billing_mail, "ann@customer.example", "invoice?").conversation_id
    other = inbound(support_mail, "bob@customer.example", "hello").conversation_id
    room = _room(client, tenant, billed)
    assert room["team_id"] == team["id"] and room["priority"] == "high"
    assert _room(client, tenant, other)["team_id"] is None
    assert "Rule 'Billing mail' moved the conversation to Billing, set priority high" in _lines(
        db_url, billed
    )
    r = client.post(
        f"/v1.0/conversations/{other}/messages", headers=tenant.admin, json={"text": "Hi Bob"}
    )
    assert r.status_code == 201, r.text
    assert _room(client, tenant, other)["tags"] == ["answered"]
    client.put(f"/v1.0/conversations/{other}", headers=tenant.admin, json={"priority": "urgent"})
    notes = client.get("/v1.0/notifications", headers=tenant.manager).json()["result"]
    assert [(n["type"], n["conversation_id"]) for n in notes] == [("automation", other)]
    assert notes[0]["text"].startswith("Urgent tells the team:")


def test_a_rule_that_cannot_run_at_all_never_costs_the_customers_message(client, tenant, db_url):
    account = tenant.channel("message")
    rule = _rule(client, tenant, name="Broken")
    # a row no version of the service writes (edited by hand, or by a newer release)
    sql(
        db_url,
        "UPDATE automation_rules SET conditions = '[{\"field\": 7}]'::jsonb, tm_update = now()"
        " WHERE id = $1",
        rule["id"],
    )
    sent = inbound(account, "+15550011001", "still here?")
    room = _room(client, tenant, sent.conversation_id)
    assert room["last_message"] == "still here?" and room["tags"] == []
    r = client.get(f"/v1.0/conversations/{sent.conversation_id}/messages", headers=tenant.admin)
    assert [m["text"] for m in r.json()["result"]] == ["still here?"]
