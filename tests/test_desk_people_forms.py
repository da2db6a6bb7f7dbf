"""The people pages' forms over plain HTTP, as a browser without JavaScript uses them:
admins only (403 for managers and agents, the sign-in page when signed out), foreign and
malformed ids 404, refusals in words that keep what was typed, HTML escaped, secrets
never cached, and an audit entry for each admin action done from the desk."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from db_kit import sql
from desk_kit import desk_client

ADMIN_PAGES = [
    "/admin/accesskeys",
    "/admin/audit",
    "/admin/agents",
    "/admin/agents/new",
    "/admin/agents/table",
    "/admin/teams",
    "/admin/teams/new",
]
NUL = "a\x00b"


@pytest.fixture
def admin(server, tenant):
    client = desk_client(server, "acme-admin", tenant.password)
    yield client
    client.close()


def _form_error(page: str) -> str:
    """The refusal a form page shows (its #form-error)."""
    found = re.search(r'id="form-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def _entries(db_url: str, customer_id: str, action: str) -> list:
    return sql(
        db_url,
        "SELECT actor_type, actor_id::text, target_id, before::text, after::text FROM audit_log"
        " WHERE customer_id = $1 AND action = $2 ORDER BY id",
        customer_id,
        action,
    )


@pytest.mark.parametrize("who", ["acme-manager", "acme-agent"])
def test_admin_pages_are_closed_to_others(server, tenant, who, db_url):
    client = desk_client(server, who, tenant.password)
    for path in ADMIN_PAGES:
        r = client.get(path)
        assert r.status_code == 403, path
        assert "Only an admin" in r.text
    r = client.post("/admin/accesskeys", data={"name": "sneaky", "expire": "never"})
    assert r.status_code == 403
    r = client.post("/admin/agents", data={"username": "sneaky", "permission": "admin"})
    assert r.status_code == 403
    r = client.post(
        "/admin/teams", data={"name": "sneaky", "assignment_policy": "manual", "max_open": "1"}
    )
    assert r.status_code == 403
    r = client.post(f"/admin/agents/{tenant.admin_id}/deactivate")
    assert r.status_code == 403
    client.close()
    assert sql(db_url, "SELECT 1 FROM access_keys") == []
    assert sql(db_url, "SELECT 1 FROM agents WHERE username = 'sneaky'") == []
    assert sql(db_url, "SELECT 1 FROM teams") == []


def test_signed_out_visitors_go_to_sign_in(server):
    import httpx

    for path in [*ADMIN_PAGES, "/profile"]:
        r = httpx.get(server.url + path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_a_new_key_is_shown_once_and_never_cached(admin, tenant, db_url):
    r = admin.post("/admin/accesskeys", data={"name": "<b>bold</b>", "expire": "30d"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;bold&lt;/b&gt;" in r.text and "<b>bold</b>" not in r.text
    (key,) = sql(db_url, "SELECT id::text, token_prefix, tm_expire FROM access_keys")
    assert key["tm_expire"] is not None
    page = admin.get("/admin/accesskeys")
    assert key["token_prefix"] in page.text and "cdk_" in page.text
    assert "only time" not in page.text


def test_key_form_refusals_keep_what_was_typed(admin, db_url):
    r = admin.post("/admin/accesskeys", data={"name": "CI", "expire": "forever"})
    assert r.status_code == 422 and "Choose when the key expires." in r.text
    assert 'value="CI"' in r.text
    r = admin.post("/admin/accesskeys", data={"name": "x" * 300, "expire": "never"})
    assert r.status_code == 422 and "at most 255 characters" in r.text
    r = admin.post("/admin/accesskeys", data={"name": NUL, "expire": "never"})
    assert r.status_code in (400, 422) and "U+0000" in r.text
    assert sql(db_url, "SELECT 1 FROM access_keys") == []


def test_revoking_a_foreign_or_malformed_key_is_404(admin, other_tenant, client):
    r = client.post("/v1.0/accesskeys", headers=other_tenant.admin, json={"name": "theirs"})
    theirs = r.json()
    for key_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        r = admin.post(f"/admin/accesskeys/{key_id}/revoke")
        assert r.status_code == 404, key_id
        assert "There is no such access key." in r.text
    mine = client.get(f"/v1.0/accesskeys/{theirs['id']}", headers=other_tenant.admin)
    assert mine.json()["tm_delete"].startswith("9999")


def test_revoking_from_the_desk_is_audited(admin, tenant, db_url, client):
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "k"}).json()
    r = admin.post(f"/admin/accesskeys/{key['id']}/revoke")
    assert r.status_code == 303
    (entry,) = _entries(db_url, tenant.customer_id, "accesskey.revoked")
    assert (entry["actor_type"], entry["actor_id"]) == ("agent", tenant.admin_id)
    assert entry["target_id"] == key["id"]


def test_profile_forms_refuse_in_words(server, tenant, db_url):
    me = desk_client(server, "acme-agent", tenant.password)
    r = me.post("/profile", data={"name": "x" * 300, "default_availability": "online"})
    assert r.status_code == 422 and "at most 255 characters" in r.text
    r = me.post("/profile", data={"name": "Sam", "default_availability": "busy"})
    assert r.status_code == 422
    r = me.post("/profile", data={"name": "<script>alert(1)</script>"})
    assert r.status_code == 303
    page = me.get("/profile")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    r = me.post(
        "/profile/password",
        data={"current_password": "", "password": "abcdefgh1", "password_again": "abcdefgh1"},
    )
    assert r.status_code == 422 and "Enter your current password." in r.text
    r = me.post(
        "/profile/password",
        data={"current_password": tenant.password, "password": "short", "password_again": "short"},
    )
    assert r.status_code == 422 and "at least 8 characters" in r.text
    assert _entries(db_url, tenant.customer_id, "agent.password_changed") == []
    r = me.post(
        "/profile/password",
        data={
            "current_password": tenant.password,
            "password": "long-enough-1",
            "password_again": "long-enough-1",
        },
    )
    assert r.status_code == 303
    (entry,) = _entries(db_url, tenant.customer_id, "agent.password_changed")
    assert entry["actor_id"] == tenant.agent_id == entry["target_id"]
    me.close()


def test_audit_page_filters_are_checked(admin):
    assert admin.get("/admin/audit", params={"actor": "nobody"}).status_code == 400
    assert admin.get("/admin/audit", params={"page_token": "junk"}).status_code == 400
    r = admin.get("/admin/audit", params={"action": NUL})
    assert r.status_code in (400, 422) and "U+0000" in r.text
    r = admin.get("/admin/audit", params={"target_type": "team", "actor": "system"})
    assert r.status_code == 200 and "No entries match" in r.text


def test_agent_forms_refuse_in_words_and_audit_what_they_do(admin, tenant, db_url):
    base = {"username": "sam", "name": "Sam", "permission": "agent", "max_open": ""}
    for changes, words in (
        ({"username": "bad name!"}, "username"),
        ({"permission": "owner"}, "Choose a role."),
        ({"max_open": "lots"}, "whole number"),
        ({"max_open": "0"}, "1 to 10,000"),
        ({"username": "acme-agent"}, "already in use"),
        ({"name": "x" * 300}, "at most 255 characters"),
        ({"team_ids": str(uuid.uuid4())}, "no longer exists"),
    ):
        r = admin.post("/admin/agents", data={**base, **changes})
        assert r.status_code in (409, 422), (changes, r.status_code)
        assert words in _form_error(r.text), (changes, _form_error(r.text))
    assert sql(db_url, "SELECT 1 FROM agents WHERE username = 'sam'") == []
    r = admin.post("/admin/agents", data={**base, "name": "<i>Sam</i>"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "&lt;i&gt;Sam&lt;/i&gt;" in r.text and "<i>Sam</i>" not in r.text
    sam = sql(db_url, "SELECT id::text FROM agents WHERE username = 'sam'")[0]["id"]
    r = admin.post(f"/admin/agents/{sam}/password")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "New password for" in r.text
    r = admin.post(f"/admin/agents/{sam}", data={**base, "permission": "manager", "max_open": "4"})
    assert r.status_code == 303
    assert admin.post(f"/admin/agents/{sam}/deactivate").status_code == 303
    assert admin.post(f"/admin/agents/{sam}/reactivate").status_code == 303
    entries = sql(
        db_url,
        "SELECT action, actor_id::text, before::text || after::text AS body FROM audit_log"
        " WHERE target_id = $1 ORDER BY id",
        sam,
    )
    assert [e["action"] for e in entries] == [
        "agent.created",
        "agent.password_reset",
        "agent.updated",
        "agent.deactivated",
        "agent.reactivated",
    ]
    assert {e["actor_id"] for e in entries} == {tenant.admin_id}
    table = admin.get("/admin/agents/table")  # the table alone
    assert 'id="agent-table"' in table.text and "<html" not in table.text
    assert "sam" in table.text
    assert not any("argon2" in e["body"] or "password_hash" in e["body"] for e in entries)


def test_the_last_admin_cannot_be_deactivated_from_the_desk(admin, tenant, db_url):
    r = admin.post(f"/admin/agents/{tenant.admin_id}/deactivate")
    assert r.status_code == 409 and "at least one admin" in r.text
    assert sql(db_url, "SELECT status FROM agents WHERE id = $1", tenant.admin_id)[0][0] == "active"


def test_foreign_and_malformed_ids_are_404(admin, other_tenant, client):
    r = client.post("/v1.0/teams", headers=other_tenant.admin, json={"name": "Theirs"})
    theirs = r.json()["id"]
    for path in (
        f"/admin/agents/{other_tenant.agent_id}",
        "/admin/agents/not-an-id",
        f"/admin/teams/{theirs}",
        "/admin/teams/not-an-id",
    ):
        assert admin.get(path).status_code == 404, path
    for path in (
        f"/admin/agents/{other_tenant.agent_id}",
        f"/admin/agents/{other_tenant.agent_id}/password",
        f"/admin/agents/{other_tenant.agent_id}/deactivate",
        f"/admin/teams/{theirs}",
        f"/admin/teams/{theirs}/delete",
    ):
        r = admin.post(
            path,
            data={
                "name": "mine now",
                "permission": "agent",
                "assignment_policy": "manual",
                "max_open": "1",
            },
        )
        assert r.status_code == 404, path
    assert (
        client.get(f"/v1.0/teams/{theirs}", headers=other_tenant.admin).json()["name"] == "Theirs"
    )


def test_team_forms_refuse_in_words(admin, tenant, other_tenant, db_url):
    base = {
        "name": "Support",
        "assignment_policy": "round_robin",
        "max_open": "2",
        "reassign_after": "0",
    }
    for changes, words in (
        ({"name": ""}, "The name cannot be empty."),
        ({"assignment_policy": "random"}, "Choose how conversations are assigned."),
        ({"max_open": "many"}, "whole number"),
        ({"max_open": "0"}, "capacity"),
        ({"reassign_after": "-5"}, "reassign"),
        ({"agent_ids": other_tenant.agent_id}, "agents of this customer"),
    ):
        r = admin.post("/admin/teams", data={**base, **changes})
        assert r.status_code == 422, (changes, r.status_code)
        assert words in _form_error(r.text), (changes, _form_error(r.text))
    assert sql(db_url, "SELECT 1 FROM teams") == []
    r = admin.post("/admin/teams", data={**base, "name": "<b>S</b>", "agent_ids": tenant.agent_id})
    assert r.status_code == 303
    page = admin.get("/admin/teams")
    assert "&lt;b&gt;S&lt;/b&gt;" in page.text and "<b>S</b>" not in page.text
