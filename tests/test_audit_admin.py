"""The audit log's entries for the customer's own settings and its channel accounts:
each admin action leaves one entry naming who did it, to what, and the state before
and after — and never a secret."""

from __future__ import annotations

import json

from db_kit import audit_entries as _entries
from db_kit import sql
from test_accounts_api import sms_body

URL = "/v1.0/conversation_accounts"


def test_channel_account_create_update_delete_are_audited_without_secrets(client, tenant, db_url):
    body = sms_body()
    token = body["secrets"]["auth_token"]
    r = client.post(URL, headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    account_id = r.json()["id"]
    r = client.put(f"{URL}/{account_id}", headers=tenant.admin, json={"name": "Renamed line"})
    assert r.status_code == 200, r.text
    r = client.delete(f"{URL}/{account_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text

    (created,) = _entries(db_url, tenant.customer_id, "account.created")
    assert created["actor_type"] == "agent" and created["actor_id"] == tenant.admin_id
    assert created["target_type"] == "account" and created["target_id"] == account_id
    assert created["before"] == {} and created["after"]["name"] == "Support line (US)"
    (updated,) = _entries(db_url, tenant.customer_id, "account.updated")
    assert updated["before"]["name"] == "Support line (US)"
    assert updated["after"]["name"] == "Renamed line"
    (deleted,) = _entries(db_url, tenant.customer_id, "account.deleted")
    assert deleted["before"]["id"] == account_id and deleted["after"] == {}
    everything = json.dumps(
        [list(r) for r in sql(db_url, "SELECT before::text, after::text FROM audit_log")]
    )
    assert token not in everything


def test_a_refused_change_leaves_no_entry(client, tenant, other_tenant, db_url):
    r = client.post(URL, headers=tenant.admin, json=sms_body())
    account_id = r.json()["id"]
    r = client.put(f"{URL}/{account_id}", headers=other_tenant.admin, json={"name": "x"})
    assert r.status_code == 404
    r = client.put(f"{URL}/{account_id}", headers=tenant.agent, json={"name": "x"})
    assert r.status_code == 403
    assert _entries(db_url, tenant.customer_id, "account.updated") == []
    assert _entries(db_url, other_tenant.customer_id, "account.updated") == []


def test_webhook_settings_and_secret_rotation_are_audited(client, tenant, db_url):
    secret = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin).json()
    r = client.put(
        "/v1.0/customer",
        headers=tenant.admin,
        json={"webhook_events": ["conversation_created"], "detail": "Support"},
    )
    assert r.status_code == 200, r.text
    (changed,) = _entries(db_url, tenant.customer_id, "customer.webhook_updated")
    assert changed["actor_id"] == tenant.admin_id
    assert changed["before"]["webhook_events"] != ["conversation_created"]
    assert changed["after"]["webhook_events"] == ["conversation_created"]

    r = client.post("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.status_code == 200, r.text
    (rotated,) = _entries(db_url, tenant.customer_id, "customer.webhook_secret_rotated")
    assert rotated["target_id"] == tenant.customer_id
    assert "webhook_secret_rotated_at" in rotated["after"]
    stored = json.dumps([rotated["before"], rotated["after"], changed["before"], changed["after"]])
    assert secret["webhook_secret"] not in stored and r.json()["webhook_secret"] not in stored
