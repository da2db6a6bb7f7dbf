"""The JSON API as tests use it: reading rooms back (what a channel delivered), and named
agents of a tenant."""

from __future__ import annotations

import httpx

from app.domain.participants import peers


def rooms(client: httpx.Client, tenant) -> list[dict]:
    """The rooms the tenant's admin sees, newest first."""
    r = client.get("/v1.0/conversations", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def room_of(client: httpx.Client, tenant, reference_id: str) -> dict:
    """The one room whose peer (its reference id) is `reference_id`."""
    found = [r for r in rooms(client, tenant) if r["reference_id"] == reference_id]
    assert len(found) == 1, found
    return found[0]


def history(client: httpx.Client, tenant, room_id: str) -> list[dict]:
    """The room's messages, newest first (the API's order)."""
    r = client.get(f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def peer_of(room: dict) -> dict:
    """The room's one participant other than the customer's own address."""
    (peer,) = peers(room["participants"])
    return peer


def named_agent(tenant, name: str) -> tuple[str, dict[str, str]]:
    """A new agent of the tenant called `name` (username: the customer's id prefix and
    the name), with a token: (its id, its auth headers)."""
    username = f"{tenant.customer_id[:8]}-{name.lower()}"
    r = tenant.client.post(
        "/v1.0/agents",
        headers=tenant.admin,
        json={"username": username, "password": tenant.password, "name": name},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], tenant.token_for(r.json()["id"], username)
