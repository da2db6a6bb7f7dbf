"""Signing in and every way of presenting a credential, and the sign-in limits
(docs/API.md, Authentication)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import jwt
from conftest import SECRET_KEY, assert_error


def test_login_returns_a_jwt_for_the_agent(client, tenant):
    r = client.post("/auth/login", json={"username": "acme-admin", "password": tenant.password})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"username", "token"}
    assert body["username"] == "acme-admin"
    claims = jwt.decode(body["token"], SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == tenant.admin_id
    assert claims["customer_id"] == tenant.customer_id
    assert claims["exp"] > time.time() + 3600


def test_login_username_is_case_insensitive(client, tenant):
    r = client.post("/auth/login", json={"username": "ACME-Admin", "password": tenant.password})
    assert r.status_code == 200
    assert r.json()["username"] == "acme-admin"


def test_login_failures(client, tenant):
    wrong = client.post("/auth/login", json={"username": "acme-admin", "password": "nope-nope"})
    assert_error(wrong, 401, "invalid_credentials")
    unknown = client.post("/auth/login", json={"username": "nobody", "password": "whatever1"})
    assert_error(unknown, 401, "invalid_credentials")
    # the same answer for both, so usernames cannot be discovered
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert_error(client.post("/auth/login", json={"username": "acme-admin"}), 422, "invalid_body")
    assert_error(
        client.post("/auth/login", json={"username": "", "password": "x"}), 422, "invalid_body"
    )
    assert_error(
        client.post("/auth/login", json={"username": ["a"], "password": "x"}), 422, "invalid_body"
    )
    assert_error(
        client.post(
            "/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
        "malformed_json",
    )


def test_five_failures_lock_that_username_for_five_minutes(client, tenant, db_url):
    for _ in range(5):
        r = client.post("/auth/login", json={"username": "acme-admin", "password": "wrong-pass"})
        assert r.status_code == 401
    # Now even the right password is refused, with a Retry-After hint ...
    locked = client.post(
        "/auth/login", json={"username": "acme-admin", "password": tenant.password}
    )
    assert_error(locked, 429, "too_many_login_attempts")
    assert 1 <= int(locked.headers["retry-after"]) <= 300
    # ... but only for that username.
    assert (
        client.post(
            "/auth/login", json={"username": "acme-agent", "password": tenant.password}
        ).status_code
        == 200
    )

    # Once the failures are older than five minutes, the username may sign in again.
    async def age_failures():
        conn = await asyncpg.connect(db_url)
        await conn.execute("UPDATE login_failures SET tm_create = tm_create - interval '301 s'")
        await conn.close()

    asyncio.run(age_failures())
    r = client.post("/auth/login", json={"username": "acme-admin", "password": tenant.password})
    assert r.status_code == 200


def test_a_success_clears_earlier_failures(client, tenant):
    # 4 failures, a success, 4 more failures: never locked, because the success reset it
    for _round in range(2):
        for _ in range(4):
            client.post("/auth/login", json={"username": "acme-admin", "password": "wrong-pass"})
        right = {"username": "acme-admin", "password": tenant.password}
        assert client.post("/auth/login", json=right).status_code == 200


def test_parallel_guesses_cannot_slip_past_the_limit(client, tenant, server):
    import httpx

    async def burst():
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
            return await asyncio.gather(
                *[
                    c.post("/auth/login", json={"username": "acme-admin", "password": f"bad{i}xx"})
                    for i in range(12)
                ]
            )

    codes = sorted(r.status_code for r in asyncio.run(burst()))
    assert codes.count(401) == 5
    assert codes.count(429) == 7


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def test_token_by_query_header_and_cookie(client, tenant):
    token = _token(tenant.admin)
    by_query = client.get("/v1.0/customer", params={"token": token})
    by_header = client.get("/v1.0/customer", headers={"Authorization": f"Bearer {token}"})
    client.cookies.set("token", token)
    by_cookie = client.get("/v1.0/customer")
    client.cookies.clear()
    for r in (by_query, by_header, by_cookie):
        assert r.status_code == 200, r.text
        assert r.json()["id"] == tenant.customer_id


def test_accesskey_by_query_and_header(client, tenant):
    created = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "ci"})
    key = created.json()["token"]
    by_query = client.get("/v1.0/agents", params={"accesskey": key})
    by_header = client.get("/v1.0/agents", headers={"Authorization": f"AccessKey {key}"})
    for r in (by_query, by_header):
        assert r.status_code == 200, r.text
        assert {a["username"] for a in r.json()["result"]} == {
            "acme-admin",
            "acme-manager",
            "acme-agent",
        }


def test_no_or_bad_credentials_are_401(client, tenant):
    assert_error(client.get("/v1.0/customer"), 401, "unauthenticated")
    assert_error(client.get("/v1.0/customer", params={"token": "garbage"}), 401, "invalid_token")
    assert_error(
        client.get("/v1.0/customer", headers={"Authorization": "Basic abc"}),
        401,
        "invalid_authorization_header",
    )
    assert_error(
        client.get("/v1.0/customer", params={"accesskey": "cdk_nope"}), 401, "invalid_accesskey"
    )
    # a token signed with another key
    forged = jwt.encode(
        {"sub": tenant.admin_id, "customer_id": tenant.customer_id, "exp": time.time() + 60},
        "another-secret-key-" + "z" * 30,
        algorithm="HS256",
    )
    assert_error(client.get("/v1.0/customer", params={"token": forged}), 401, "invalid_token")
    # "none" algorithm tokens are refused
    unsigned = jwt.encode(
        {"sub": tenant.admin_id, "customer_id": tenant.customer_id, "exp": time.time() + 60},
        None,
        algorithm="none",
    )
    assert_error(client.get("/v1.0/customer", params={"token": unsigned}), 401, "invalid_token")


def test_expired_token_is_401_token_expired(client, tenant):
    expired = jwt.encode(
        {
            "sub": tenant.admin_id,
            "customer_id": tenant.customer_id,
            "username": "acme-admin",
            "iat": int(time.time()) - 7200,
            "exp": int(time.time()) - 60,
        },
        SECRET_KEY,
        algorithm="HS256",
    )
    assert_error(client.get("/v1.0/customer", params={"token": expired}), 401, "token_expired")


def test_token_of_a_deleted_agent_stops_working(client, tenant):
    assert client.get("/v1.0/customer", headers=tenant.agent).status_code == 200
    assert client.delete(f"/v1.0/agents/{tenant.agent_id}", headers=tenant.admin).status_code == 200
    assert_error(client.get("/v1.0/customer", headers=tenant.agent), 401, "invalid_token")
    r = client.post("/auth/login", json={"username": "acme-agent", "password": tenant.password})
    assert_error(r, 401, "invalid_credentials")


def test_expired_and_revoked_accesskeys(client, tenant, db_url):
    key = client.post(
        "/v1.0/accesskeys", headers=tenant.admin, json={"name": "short", "expire": 60}
    ).json()
    assert client.get("/v1.0/agents", params={"accesskey": key["token"]}).status_code == 200

    async def expire_it():
        conn = await asyncpg.connect(db_url)
        await conn.execute(
            "UPDATE access_keys SET tm_expire = now() - interval '1 s' WHERE id = $1::uuid",
            key["id"],
        )
        await conn.close()

    asyncio.run(expire_it())
    assert_error(
        client.get("/v1.0/agents", params={"accesskey": key["token"]}), 401, "accesskey_expired"
    )

    other = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "revoke me"}).json()
    assert client.delete(f"/v1.0/accesskeys/{other['id']}", headers=tenant.admin).status_code == 200
    assert_error(
        client.get("/v1.0/agents", params={"accesskey": other["token"]}), 401, "invalid_accesskey"
    )


def test_a_demoted_admin_loses_admin_rights_at_once(client, tenant):
    # a second admin demotes the first; the first one's existing token now has agent rights
    second = tenant.add_agent("acme-admin2", "admin")
    second_headers = tenant.login("acme-admin2")
    r = client.put(
        f"/v1.0/agents/{tenant.admin_id}", headers=second_headers, json={"permission": "agent"}
    )
    assert r.status_code == 200
    assert_error(client.get("/v1.0/agents", headers=tenant.admin), 403, "admin_required")
    assert second
