"""Automation rules over HTTP: CRUD and who may, what a rule does when its trigger comes
(each action through its service, in the triggering transaction), order and
`stop_processing`, the depth limit, failing actions, runs, events, audit entries,
preview, and a pattern that would stall a backtracking engine."""

from __future__ import annotations

from conftest import inbound
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
