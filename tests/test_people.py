"""Agents, access keys and the customer: CRUD, roles, and tenant isolation."""

from __future__ import annotations

import asyncio

import asyncpg
from conftest import assert_error


def test_admin_manages_agents(client, tenant):
    h = tenant.admin
    created = client.post(
        "/v1.0/agents",
        headers=h,
        json={"username": "Mina.K", "password": "long-enough", "name": "Mina", "detail": "Tier 2"},
    )
    assert created.status_code == 201
    agent = created.json()
    assert agent["username"] == "mina.k"
    assert agent["permission"] == "agent"
    assert agent["customer_id"] == tenant.customer_id
    assert agent["tm_delete"] == "9999-01-01 00:00:00.000000"
    assert "password" not in agent and "password_hash" not in agent

    got = client.get(f"/v1.0/agents/{agent['id']}", headers=h).json()
    assert got == agent

    updated = client.put(
        f"/v1.0/agents/{agent['id']}",
        headers=h,
        json={"name": "Mina K.", "permission": "manager", "availability": "online"},
    ).json()
    assert (updated["name"], updated["permission"], updated["availability"]) == (
        "Mina K.",
        "manager",
        "online",
    )
    assert updated["status"] == "active"
    assert updated["tm_update"] > agent["tm_update"]

    # a new password works for sign-in, the old one does not
    client.put(f"/v1.0/agents/{agent['id']}", headers=h, json={"password": "brand-new-pass"})
    assert (
        client.post(
            "/auth/login", json={"username": "mina.k", "password": "brand-new-pass"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/auth/login", json={"username": "mina.k", "password": "long-enough"}
        ).status_code
        == 401
    )

    deleted = client.delete(f"/v1.0/agents/{agent['id']}", headers=h).json()
    assert deleted["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert_error(client.get(f"/v1.0/agents/{agent['id']}", headers=h), 404, "agent_not_found")
    names = [a["username"] for a in client.get("/v1.0/agents", headers=h).json()["result"]]
    assert "mina.k" not in names
    # a deleted agent's username may be used again
    again = client.post(
        "/v1.0/agents", headers=h, json={"username": "mina.k", "password": "long-enough"}
    )
    assert again.status_code == 201


def test_usernames_are_unique_across_customers_and_case(client, tenant, other_tenant):
    r = client.post(
        "/v1.0/agents",
        headers=other_tenant.admin,
        json={"username": "ACME-agent", "password": "long-enough"},
    )
    assert_error(r, 409, "username_taken")


def test_agent_input_rules(client, tenant):
    h = tenant.admin
    bad = [
        {"username": "ok-name", "password": "short"},
        {"username": "has space", "password": "long-enough"},
        {"username": "<script>", "password": "long-enough"},
        {"username": "x" * 300, "password": "long-enough"},
        {"username": "ok-name", "password": "long-enough", "permission": "owner"},
        {"username": "ok-name", "password": "long-enough", "customer_id": tenant.customer_id},
    ]
    for body in bad:
        assert_error(client.post("/v1.0/agents", headers=h, json=body), 422, "invalid_body")
    assert_error(
        client.put(f"/v1.0/agents/{tenant.agent_id}", headers=h, json={"status": "asleep"}),
        422,
        "invalid_body",
    )


def test_only_admins_manage_agents_and_keys(client, tenant):
    for who in (tenant.manager, tenant.agent):
        assert_error(client.get("/v1.0/agents", headers=who), 403, "admin_required")
        assert_error(
            client.post(
                "/v1.0/agents", headers=who, json={"username": "sneaky", "password": "long-enough"}
            ),
            403,
            "admin_required",
        )
        assert_error(
            client.get(f"/v1.0/agents/{tenant.admin_id}", headers=who), 403, "admin_required"
        )
        assert_error(
            client.put(
                f"/v1.0/agents/{tenant.agent_id}", headers=who, json={"permission": "admin"}
            ),
            403,
            "admin_required",
        )
        assert_error(
            client.delete(f"/v1.0/agents/{tenant.admin_id}", headers=who), 403, "admin_required"
        )
        assert_error(client.get("/v1.0/accesskeys", headers=who), 403, "admin_required")
        assert_error(client.post("/v1.0/accesskeys", headers=who, json={}), 403, "admin_required")
        assert_error(
            client.put("/v1.0/customer", headers=who, json={"name": "pwned"}), 403, "admin_required"
        )
        # but everyone may read their own customer
        assert client.get("/v1.0/customer", headers=who).status_code == 200


def test_a_customer_never_sees_another_customers_people(client, tenant, other_tenant):
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "k"}).json()
    theirs = other_tenant.admin
    for path in (f"/v1.0/agents/{tenant.agent_id}", f"/v1.0/accesskeys/{key['id']}"):
        reason = "agent_not_found" if "agents" in path else "accesskey_not_found"
        assert_error(client.get(path, headers=theirs), 404, reason)
        assert_error(client.put(path, headers=theirs, json={"name": "x"}), 404, reason)
        assert_error(client.delete(path, headers=theirs), 404, reason)
    listed = client.get("/v1.0/agents", headers=theirs).json()["result"]
    assert {a["customer_id"] for a in listed} == {other_tenant.customer_id}
    assert client.get("/v1.0/accesskeys", headers=theirs).json()["result"] == []
    # and the keys and agents are untouched
    assert client.get(f"/v1.0/agents/{tenant.agent_id}", headers=tenant.admin).status_code == 200
    assert client.get(f"/v1.0/accesskeys/{key['id']}", headers=tenant.admin).status_code == 200
    # a malformed id is simply not found
    assert_error(client.get("/v1.0/agents/not-a-uuid", headers=theirs), 404, "agent_not_found")


def test_a_customer_keeps_at_least_one_admin(client, tenant):
    h = tenant.admin
    assert_error(
        client.put(f"/v1.0/agents/{tenant.admin_id}", headers=h, json={"permission": "agent"}),
        409,
        "last_admin",
    )
    assert_error(client.delete(f"/v1.0/agents/{tenant.admin_id}", headers=h), 409, "last_admin")
    client.put(f"/v1.0/agents/{tenant.manager_id}", headers=h, json={"permission": "admin"})
    r = client.put(f"/v1.0/agents/{tenant.admin_id}", headers=h, json={"permission": "agent"})
    assert r.status_code == 200


def test_accesskeys_are_shown_once_and_stored_hashed(client, tenant, db_url):
    h = tenant.admin
    created = client.post(
        "/v1.0/accesskeys", headers=h, json={"name": "zapier", "detail": "sync", "expire": 3600}
    )
    assert created.status_code == 201
    key = created.json()
    assert key["token"].startswith("cdk_") and len(key["token"]) > 40
    assert key["token"].startswith(key["token_prefix"])
    assert key["agent_id"] == tenant.admin_id
    assert key["tm_expire"] > key["tm_create"]

    listed = client.get("/v1.0/accesskeys", headers=h).json()["result"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert listed[0]["token"] is None
    assert client.get(f"/v1.0/accesskeys/{key['id']}", headers=h).json()["token"] is None
    renamed = client.put(f"/v1.0/accesskeys/{key['id']}", headers=h, json={"name": "zap"}).json()
    assert renamed["name"] == "zap" and renamed["token"] is None

    async def stored():
        conn = await asyncpg.connect(db_url)
        row = await conn.fetchrow("SELECT * FROM access_keys")
        await conn.close()
        return dict(row)

    row = asyncio.run(stored())
    assert key["token"] not in str(row)
    assert len(row["token_hash"]) == 64

    never = client.post("/v1.0/accesskeys", headers=h, json={}).json()
    assert never["tm_expire"] == "9999-01-01 00:00:00.000000"
    assert_error(
        client.post("/v1.0/accesskeys", headers=h, json={"expire": 5}), 422, "invalid_body"
    )


def test_customer_get_and_put(client, tenant):
    h = tenant.admin
    got = client.get("/v1.0/customer", headers=h).json()
    assert got["id"] == tenant.customer_id
    assert got["name"] == "Customer acme"
    assert got["webhook_method"] == "POST"
    assert "webhook_secret" not in got
    put = client.put(
        "/v1.0/customer",
        headers=h,
        json={
            "name": "Acme Inc.",
            "detail": "support",
            "webhook_method": "PUT",
            # a public address literal: a host name would be resolved (the SSRF guard), and
            # this machine may have no DNS
            "webhook_uri": "https://93.184.215.14/convodesk",
        },
    ).json()
    assert (put["name"], put["webhook_method"], put["webhook_uri"]) == (
        "Acme Inc.",
        "PUT",
        "https://93.184.215.14/convodesk",
    )
    assert client.get("/v1.0/customer", headers=tenant.agent).json()["name"] == "Acme Inc."
    for body, reason in (
        ({"webhook_uri": "ftp://example.com/x"}, "invalid_webhook_uri"),
        ({"webhook_uri": "not a url"}, "invalid_webhook_uri"),
        ({"name": "   "}, "invalid_name"),
        ({"webhook_method": "DELETE"}, "invalid_body"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "invalid_body"),
    ):
        assert_error(client.put("/v1.0/customer", headers=h, json=body), 422, reason)


def test_keyset_pages_never_skip_or_repeat_rows_with_equal_times(client, tenant, db_url):
    h = tenant.admin
    for i in range(7):
        tenant.add_agent(f"page-{i}", "agent")

    async def same_time():
        # five agents created "at the same microsecond", straddling page boundaries
        conn = await asyncpg.connect(db_url)
        await conn.execute(
            "UPDATE agents SET tm_create = '2026-01-01 00:00:00.123456+00'"
            " WHERE username IN ('page-1', 'page-2', 'page-3', 'page-4', 'page-5')"
        )
        await conn.close()

    asyncio.run(same_time())
    seen, token, pages = [], "", 0
    while True:
        params = {"page_size": 2} | ({"page_token": token} if token else {})
        body = client.get("/v1.0/agents", headers=h, params=params).json()
        seen += [a["username"] for a in body["result"]]
        token, pages = body["next_page_token"], pages + 1
        if not token:
            break
        assert pages < 20
    assert sorted(seen) == sorted(
        ["acme-admin", "acme-manager", "acme-agent"] + [f"page-{i}" for i in range(7)]
    )
    assert len(seen) == len(set(seen))
    # newest first
    times = [a["tm_create"] for a in client.get("/v1.0/agents", headers=h).json()["result"]]
    assert times == sorted(times, reverse=True)
    # the token is the last item's tm_create (docs/API.md, Pagination)
    first = client.get("/v1.0/agents", headers=h, params={"page_size": 1}).json()
    assert first["next_page_token"] == first["result"][0]["tm_create"]
