"""`GET /v1.0/audit_log` (admins, filters, keyset pages) and the agent's own settings,
`PUT /v1.0/me` and `PUT /v1.0/me/password`: what they answer, what they refuse, and the
audit entries a profile or password change leaves (never a hash)."""

from __future__ import annotations

import json

from conftest import assert_error
from db_kit import sql

LOG = "/v1.0/audit_log"


def _add_entries(db_url: str, customer_id: str, actor_id: str, n: int, action: str) -> None:
    """Entries as services write them, `n` of them, one microsecond apart at most."""
    sql(
        db_url,
        "INSERT INTO audit_log (customer_id, actor_type, actor_id, action, target_type,"
        " target_id, before, after, tm_create)"
        " SELECT $1, 'agent', $2, $3, 'team', 'team-' || i, '{}'::jsonb,"
        " jsonb_build_object('name', 'T' || i), now() - i * interval '1 second'"
        " FROM generate_series(1, $4) AS i",
        customer_id,
        actor_id,
        action,
        n,
    )


def test_admins_read_the_log_newest_first_in_pages(client, tenant, db_url):
    _add_entries(db_url, tenant.customer_id, tenant.admin_id, 5, "team.created")
    seen, token = [], ""
    while True:
        params = {"page_size": 2, "target_type": "team", **({"page_token": token} if token else {})}
        r = client.get(LOG, headers=tenant.admin, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["result"]
        token = body["next_page_token"]
        if not token:
            break
    assert [e["target_id"] for e in seen] == [f"team-{i}" for i in range(1, 6)]
    first = seen[0]
    assert first["actor_type"] == "agent" and first["actor_id"] == tenant.admin_id
    assert first["before"] == {} and first["after"] == {"name": "T1"}
    assert set(first) == {
        "id",
        "customer_id",
        "actor_type",
        "actor_id",
        "action",
        "target_type",
        "target_id",
        "before",
        "after",
        "tm_create",
    }


def test_filters_narrow_the_log(client, tenant, db_url):
    _add_entries(db_url, tenant.customer_id, tenant.admin_id, 2, "team.created")
    _add_entries(db_url, tenant.customer_id, tenant.manager_id, 1, "team.deleted")
    get = lambda **p: client.get(LOG, headers=tenant.admin, params=p).json()["result"]  # noqa: E731
    assert len(get(action="team.created")) == 2
    assert [e["action"] for e in get(actor_id=tenant.manager_id)] == ["team.deleted"]
    assert get(actor_type="system") == []
    assert len(get(target_type="team", target_id="team-1")) == 2
    assert get(target_type="conversation") == []
    assert get(**{"from": "2999-01-01 00:00:00.000000"}) == []
    assert len(get(target_type="team", to="2999-01-01T00:00:00")) == 3
    assert get(target_type="team", to="2000-01-01T00:00:00") == []


def test_the_log_is_for_admins_of_its_own_customer(client, tenant, other_tenant, db_url):
    _add_entries(db_url, tenant.customer_id, tenant.admin_id, 1, "team.created")
    for headers in (tenant.manager, tenant.agent):
        assert_error(client.get(LOG, headers=headers), 403, "admin_required")
    theirs = client.get(LOG, headers=other_tenant.admin).json()["result"]
    assert {e["customer_id"] for e in theirs} == {other_tenant.customer_id}
    assert client.get(LOG).status_code == 401


def test_bad_filters_are_400(client, tenant):
    for params in (
        {"actor_id": "not-a-uuid"},
        {"from": "yesterday"},
        {"to": "2026-13-45"},
        {"action": "x" * 65},
        {"actor_type": "robot"},
        {"page_token": "nonsense"},
        {"page_size": 0},
    ):
        r = client.get(LOG, headers=tenant.admin, params=params)
        assert r.status_code == 400, (params, r.text)
    r = client.get(LOG, headers=tenant.admin, params={"action": "a\x00b"})
    assert_error(r, 422, "invalid_character")


def test_an_agent_renames_itself_and_sets_its_default_availability(client, tenant, db_url):
    r = client.put(
        "/v1.0/me",
        headers=tenant.agent,
        json={"name": "Sam Agent", "default_availability": "away"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Sam Agent" and r.json()["id"] == tenant.agent_id
    stored = sql(
        db_url, "SELECT name, default_availability FROM agents WHERE id = $1", tenant.agent_id
    )[0]
    assert (stored["name"], stored["default_availability"]) == ("Sam Agent", "away")
    (entry,) = sql(
        db_url,
        "SELECT actor_id::text, before::text, after::text FROM audit_log"
        " WHERE action = 'agent.profile_updated'",
    )
    assert entry["actor_id"] == tenant.agent_id
    before, after = json.loads(entry["before"]), json.loads(entry["after"])
    assert before == {"name": "", "default_availability": "online", "signature": ""}
    assert after == {"name": "Sam Agent", "default_availability": "away", "signature": ""}
    # only the fields given change
    r = client.put("/v1.0/me", headers=tenant.agent, json={"name": "Sam A."})
    assert r.status_code == 200
    stored = sql(db_url, "SELECT default_availability FROM agents WHERE id = $1", tenant.agent_id)
    assert stored[0]["default_availability"] == "away"


def test_me_refuses_bad_input(client, tenant):
    for body in (
        {"default_availability": "busy"},
        {"name": "x" * 256},
        {"name": 5},
        {"username": "someone-else"},
        {"permission": "admin"},
    ):
        r = client.put("/v1.0/me", headers=tenant.agent, json=body)
        assert r.status_code in (400, 422), (body, r.text)
    assert client.put("/v1.0/me", json={"name": "x"}).status_code == 401


def test_changing_the_password_needs_the_current_one(client, tenant, db_url):
    url = "/v1.0/me/password"
    r = client.put(
        url,
        headers=tenant.agent,
        json={"current_password": "wrong-one", "password": "new-password-1"},
    )
    assert_error(r, 422, "wrong_password")
    r = client.put(
        url, headers=tenant.agent, json={"current_password": tenant.password, "password": "short"}
    )
    assert r.status_code == 422, r.text
    r = client.put(
        url,
        headers=tenant.agent,
        json={"current_password": tenant.password, "password": "new-password-1"},
    )
    assert r.status_code == 204, r.text
    tenant.login("acme-agent", "new-password-1")
    assert (
        client.post(
            "/auth/login", json={"username": "acme-agent", "password": tenant.password}
        ).status_code
        == 401
    )
    entries = sql(
        db_url,
        "SELECT actor_id::text, target_id, before::text, after::text FROM audit_log"
        " WHERE action = 'agent.password_changed'",
    )
    assert [(e["actor_id"], e["target_id"]) for e in entries] == [(tenant.agent_id,) * 2]
    assert "argon2" not in entries[0]["before"] + entries[0]["after"]


def test_wrong_current_passwords_are_throttled_like_sign_ins(client, tenant):
    body = {"current_password": "guess", "password": "new-password-1"}
    answers = [
        client.put("/v1.0/me/password", headers=tenant.agent, json=body).status_code
        for _ in range(6)
    ]
    assert answers[:5] == [422] * 5 and answers[5] == 429
