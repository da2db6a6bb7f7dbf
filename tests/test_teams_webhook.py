"""Team and agent events reach the customer's webhook like every documented event: signed,
carrying the resource exactly as the API returns it, filtered by `webhook_events`."""

# ruff: noqa: F811 - fixtures imported from webhook_kit are taken as test arguments

from __future__ import annotations

import json

import pytest
from conftest import own_database, wait_for
from webhook_kit import configure, verifies

# isort: split
# the module's server, database, client, tenant and receiver
from webhook_kit import client, db_url, hook_server, receiver, tenant  # noqa: F401


@pytest.fixture(scope="module")
def hook_db() -> str:
    """The module's own database: only its server's dispatcher makes its deliveries."""
    return own_database("teams_webhook")


def _bodies(receiver, event_type: str) -> list[dict]:
    got = [json.loads(r.body) for r in receiver.received("POST", "/hook.*")]
    return [b for b in got if b["type"] == event_type]


def test_team_and_availability_events_are_delivered(client, tenant, receiver):
    configure(
        client,
        tenant,
        receiver.url + "/hook",
        webhook_events=["team_created", "team_deleted", "agent_availability_updated"],
    )
    secret = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin).json()[
        "webhook_secret"
    ]
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Support", "agent_ids": [tenant.agent_id]},
    )
    assert r.status_code == 201, r.text
    team = r.json()
    client.put("/v1.0/teams/" + team["id"], headers=tenant.admin, json={"name": "Not sent"})
    r = client.put("/v1.0/me/availability", headers=tenant.agent, json={"availability": "online"})
    me = r.json()
    client.delete("/v1.0/teams/" + team["id"], headers=tenant.admin)

    # delivered in id order: once the deletion's has come, the others have been sent
    [deleted] = wait_for(lambda: _bodies(receiver, "team_deleted"), timeout=20)
    [created] = _bodies(receiver, "team_created")
    [online] = _bodies(receiver, "agent_availability_updated")
    assert created["data"] == team
    assert online["data"] == me and online["data"]["availability"] == "online"
    assert deleted["data"]["id"] == team["id"] and deleted["data"]["tm_delete"] != team["tm_delete"]
    assert _bodies(receiver, "team_updated") == []  # not subscribed
    assert all(verifies(r, secret) for r in receiver.received("POST", "/hook.*"))
