"""An agent's lifecycle as admins run it: capacity, availability set by an admin,
deactivation (every credential and live connection stops at once, sign-in is refused) and
reactivation — and the audit entries and events each change leaves."""

from __future__ import annotations

import json

import pytest
from conftest import assert_error
from db_kit import sql
from desk_kit import desk_client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from ws_kit import sockets

LIVE = "9999-01-01 00:00:00.000000"


def _entries(db_url: str, customer_id: str, prefix: str) -> list[dict]:
    rows = sql(
        db_url,
        "SELECT actor_id::text, action, target_id, before::text, after::text FROM audit_log"
        " WHERE customer_id = $1 AND action LIKE $2 ORDER BY id",
        customer_id,
        prefix + "%",
    )
    return [
        {**dict(r), "before": json.loads(r["before"]), "after": json.loads(r["after"])}
        for r in rows
    ]


def _closed_with(ws) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def test_a_deactivated_agent_loses_every_credential_at_once(server, client, tenant, db_url):
    h = tenant.admin
    r = client.post(
        "/v1.0/agents",
        headers=h,
        json={"username": "dee", "password": "dee-password-1", "permission": "admin"},
    )
    assert r.status_code == 201, r.text
    dee_id = r.json()["id"]
    token = tenant.login("dee", "dee-password-1")
    key = client.post("/v1.0/accesskeys", headers=token, json={"name": "dee's key"}).json()
    by_key = {"Authorization": f"AccessKey {key['token']}"}
    desk = desk_client(server, "dee", "dee-password-1")
    cookie = desk.cookies["token"]
    assert client.get("/v1.0/me", headers=token).json()["id"] == dee_id
    assert client.get("/v1.0/me", headers=by_key).json()["id"] == dee_id
    assert desk.get("/").status_code == 200
    client.put("/v1.0/me/availability", headers=token, json={"availability": "online"})

    ws_url = server.url.replace("http://", "ws://")
    with (
        sockets(server.url) as make,
        connect(
            ws_url + "/desk/ws",
            additional_headers={"Cookie": f"token={cookie}", "Origin": server.url},
        ) as desk_ws,
    ):
        api_ws = make(token)
        api_ws.subscribe(f"customer_id:{tenant.customer_id}:agent")
        while 'data-state="live"' not in desk_ws.recv(timeout=10):
            pass  # a cursor frame for an event the desk does not show may come first

        r = client.put(f"/v1.0/agents/{dee_id}", headers=h, json={"status": "deactivated"})
        assert r.status_code == 200, r.text
        dee = r.json()
        assert (dee["status"], dee["availability"]) == ("deactivated", "offline")

        # at once: token, access key, the desk's session (API by cookie, and the pages)
        assert_error(client.get("/v1.0/me", headers=token), 401, "invalid_token")
        assert_error(client.get("/v1.0/me", headers=by_key), 401, "invalid_accesskey")
        assert_error(desk.get("/v1.0/me"), 401, "invalid_token")
        page = desk.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        # the open sockets close, and cannot open again
        assert _closed_with(desk_ws) == 4401
        assert _closed_with(api_ws.conn) == 4401
    with connect(
        ws_url + "/desk/ws",
        additional_headers={"Cookie": f"token={cookie}", "Origin": server.url},
    ) as again:
        assert _closed_with(again) == 4401

    # sign-in is refused with a reason the person understands; a wrong password stays 401
    r = client.post("/auth/login", json={"username": "dee", "password": "dee-password-1"})
    assert_error(r, 403, "agent_deactivated")
    r = client.post("/auth/login", json={"username": "dee", "password": "wrong-password"})
    assert_error(r, 401, "invalid_credentials")
    with pytest.raises(AssertionError):
        desk_client(server, "dee", "dee-password-1")
    # a deactivated agent cannot be made available
    r = client.put(f"/v1.0/agents/{dee_id}", headers=h, json={"availability": "online"})
    assert_error(r, 409, "agent_deactivated")
    # the admins' list still shows it, deactivated; its username stays taken
    listed = {a["id"]: a for a in client.get("/v1.0/agents", headers=h).json()["result"]}
    assert listed[dee_id]["status"] == "deactivated"
    r = client.post("/v1.0/agents", headers=h, json={"username": "dee", "password": "x" * 10})
    assert_error(r, 409, "username_taken")

    # reactivated: sign-in works again; offline until the agent chooses
    r = client.put(f"/v1.0/agents/{dee_id}", headers=h, json={"status": "active"})
    assert (r.json()["status"], r.json()["availability"]) == ("active", "offline")
    again_token = tenant.login("dee", "dee-password-1")
    assert client.get("/v1.0/me", headers=again_token).json()["status"] == "active"
    assert client.get("/v1.0/me", headers=by_key).status_code == 200

    # the audit log: deactivated, reactivated, with the state before and after
    entries = _entries(db_url, tenant.customer_id, "agent.")
    actions = [(e["action"], e["target_id"]) for e in entries if e["target_id"] == dee_id]
    assert actions == [
        ("agent.created", dee_id),
        ("agent.deactivated", dee_id),
        ("agent.reactivated", dee_id),
    ]
    deactivated = next(e for e in entries if e["action"] == "agent.deactivated")
    assert deactivated["actor_id"] == tenant.admin_id
    assert (deactivated["before"]["status"], deactivated["after"]["status"]) == (
        "active",
        "deactivated",
    )
    assert deactivated["before"]["availability"] == "online"
    keys = _entries(db_url, tenant.customer_id, "accesskey.")
    assert [e["action"] for e in keys] == ["accesskey.created"]
    assert keys[0]["actor_id"] == dee_id and keys[0]["after"]["token"] is None
    assert key["token"] not in json.dumps(keys)
    every = sql(db_url, "SELECT before::text || after::text AS t FROM audit_log")
    assert not any("argon2" in r["t"] or "password_hash" in r["t"] for r in every)


def test_the_last_active_admin_cannot_be_deactivated(client, tenant):
    r = client.put(
        f"/v1.0/agents/{tenant.admin_id}", headers=tenant.admin, json={"status": "deactivated"}
    )
    assert_error(r, 409, "last_admin")
    # with a second admin deactivated, the first is still the last active one
    second = tenant.add_agent("second-admin", "admin")
    r = client.put(f"/v1.0/agents/{second}", headers=tenant.admin, json={"status": "deactivated"})
    assert r.status_code == 200, r.text
    r = client.put(
        f"/v1.0/agents/{tenant.admin_id}", headers=tenant.admin, json={"permission": "agent"}
    )
    assert_error(r, 409, "last_admin")


def test_admin_changes_are_audited_and_announced(client, tenant, db_url):
    h = tenant.admin
    agent = tenant.agent_id
    r = client.put(
        f"/v1.0/agents/{agent}",
        headers=h,
        json={"name": "Sam", "permission": "manager", "max_open": 3},
    )
    assert r.status_code == 200, r.text
    sam = r.json()
    assert (sam["name"], sam["permission"], sam["max_open"]) == ("Sam", "manager", 3)
    r = client.put(f"/v1.0/agents/{agent}", headers=h, json={"max_open": None})
    assert r.json()["max_open"] is None
    r = client.put(f"/v1.0/agents/{agent}", headers=h, json={"password": "a-new-password"})
    assert r.status_code == 200
    r = client.put(f"/v1.0/agents/{agent}", headers=h, json={"availability": "away"})
    assert r.json()["availability"] == "away"
    for bad in ({"max_open": 0}, {"max_open": -1}, {"availability": "busy"}, {"status": "gone"}):
        assert client.put(f"/v1.0/agents/{agent}", headers=h, json=bad).status_code == 422, bad
    r = client.delete(f"/v1.0/agents/{agent}", headers=h)
    assert r.status_code == 200

    entries = [e for e in _entries(db_url, tenant.customer_id, "agent.") if e["target_id"] == agent]
    assert [e["action"] for e in entries] == [
        "agent.created",  # the tenant fixture made it through the service
        "agent.updated",
        "agent.updated",
        "agent.password_reset",
        "agent.updated",
        "agent.deleted",
    ]
    role = entries[1]
    assert (role["before"]["permission"], role["after"]["permission"]) == ("agent", "manager")
    assert entries[3]["before"] == entries[3]["after"] == {}
    assert (entries[4]["before"]["availability"], entries[4]["after"]["availability"]) == (
        "offline",
        "away",
    )
    assert entries[5]["before"]["name"] == "Sam" and entries[5]["after"] == {}

    events = sql(
        db_url,
        "SELECT type, audience::text[] AS audience, payload::text FROM events"
        " WHERE customer_id = $1 AND type LIKE 'agent_%' ORDER BY id",
        tenant.customer_id,
    )
    mine = [(e["type"], json.loads(e["payload"])) for e in events]
    mine = [(t, p) for t, p in mine if p["id"] == agent]
    assert [t for t, _ in mine] == [
        "agent_updated",  # created
        "agent_updated",  # name, role, capacity
        "agent_updated",  # capacity back to the team's
        "agent_availability_updated",  # away
        "agent_updated",  # deleted
    ]
    assert mine[-1][1]["tm_delete"] != LIVE
    updated = [e for e in events if e["type"] == "agent_updated"]
    assert all(e["audience"] == [agent] for e in updated[-1:])


def test_foreign_agent_ids_are_404_on_every_agent_door(client, tenant, other_tenant):
    for agent_id in (other_tenant.agent_id, "nope", "00000000-0000-0000-0000-000000000000"):
        assert_error(
            client.get(f"/v1.0/agents/{agent_id}", headers=tenant.admin), 404, "agent_not_found"
        )
        r = client.put(
            f"/v1.0/agents/{agent_id}", headers=tenant.admin, json={"status": "deactivated"}
        )
        assert_error(r, 404, "agent_not_found")
        assert_error(
            client.delete(f"/v1.0/agents/{agent_id}", headers=tenant.admin), 404, "agent_not_found"
        )
    assert client.get("/v1.0/me", headers=other_tenant.agent).json()["status"] == "active"


def test_the_other_agents_sockets_stay_open(server, client, tenant):
    """Only the changed agent's own sockets are checked and closed."""
    with sockets(server.url) as make:
        watcher = make(tenant.agent)
        watcher.subscribe(f"customer_id:{tenant.customer_id}:agent")
        r = client.put(
            f"/v1.0/agents/{tenant.manager_id}",
            headers=tenant.admin,
            json={"status": "deactivated"},
        )
        assert r.status_code == 200
        client.put("/v1.0/me/availability", headers=tenant.admin, json={"availability": "online"})
        (event,) = watcher.events(1)
        assert event["type"] == "agent_availability_updated"
        assert event["data"]["id"] == tenant.admin_id
