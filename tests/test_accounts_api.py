"""`/v1.0/conversation_accounts` over real HTTP (docs/API.md): each channel type created
with its provider's field names, secrets write-only everywhere, webhook URLs to paste,
listing, updating, soft deletion, validation, conflicts, idempotency, permissions,
tenant isolation and the "send test message" door."""

from __future__ import annotations

import secrets as random

import pytest
from conftest import assert_error

URL = "/v1.0/conversation_accounts"


def _sid() -> str:
    return "AC" + random.token_hex(16)


def sms_body(phone: str = "+15551230001", **extra) -> dict:
    return {
        "type": "sms",
        "name": "Support line (US)",
        "settings": {"phone_number": phone, "account_sid": _sid()},
        "secrets": {"auth_token": "twilio-auth-" + random.token_hex(12)},
        **extra,
    }


def email_body(address: str = "support@acme.example") -> dict:
    return {
        "type": "email",
        "name": "Support mailbox",
        "settings": {
            "address": address,
            "smtp_host": "smtp.acme.example",
            "smtp_port": 587,
            "smtp_username": "relay-user",
        },
        "secrets": {"smtp_password": "smtp-pass-" + random.token_hex(12)},
    }


def line_body() -> dict:
    return {
        "type": "line",
        "name": "LINE official account",
        "settings": {"channel_id": "2001234567"},
        # VoIPBIN's names: `secret` is the channel secret, `token` the access token
        "secret": "line-secret-" + random.token_hex(16),
        "token": "line-token-" + random.token_hex(24),
    }


def whatsapp_body() -> dict:
    return {
        "type": "whatsapp",
        "name": "WhatsApp",
        "settings": {"phone_number_id": "106540352242922", "verify_token": "verify-me-42"},
        "secrets": {
            "access_token": "EAAG" + random.token_hex(24),
            "app_secret": random.token_hex(16),
        },
    }


def webchat_body() -> dict:
    return {"type": "webchat", "name": "Website chat", "settings": {"title": "Talk to Acme"}}


def secret_values(body: dict) -> list[str]:
    values = list(body.get("secrets", {}).values())
    values += [body[k] for k in ("secret", "token") if body.get(k)]
    return values


def assert_no_secrets(text: str, body: dict) -> None:
    for value in secret_values(body):
        assert value not in text


# (body, the secret names it sets, the hook paths after PUBLIC_URL/hooks/{type}/{id})
CASES = {
    "sms": (sms_body, ["auth_token"], ["", "/status"]),
    "email": (email_body, ["smtp_password"], [""]),
    "line": (line_body, ["channel_access_token", "channel_secret"], [""]),
    "whatsapp": (whatsapp_body, ["access_token", "app_secret"], [""]),
    "webchat": (webchat_body, [], None),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_create_each_type_with_its_provider_fields(client, server, tenant, kind):
    make, secret_names, hook_paths = CASES[kind]
    body = make()
    r = client.post(URL, headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["type"] == kind and out["name"] == body["name"]
    assert out["customer_id"] == tenant.customer_id
    for key, value in body["settings"].items():
        assert str(out["settings"][key]) == str(value), key
    assert out["secrets_set"] == secret_names
    assert not set(secret_names) & set(out["settings"])
    assert_no_secrets(r.text, body)
    if hook_paths is not None:
        base = f"{server.url}/hooks/{kind}/{out['id']}"
        assert sorted(out["webhook_urls"].values()) == sorted(base + p for p in hook_paths)
    else:
        assert all(u.startswith(server.url + "/") for u in out["webhook_urls"].values())
    # the account's own address is its provider address (phone, mailbox, channel...)
    expected_address = {
        "sms": body["settings"].get("phone_number"),
        "email": body["settings"].get("address"),
        "line": body["settings"].get("channel_id"),
        "whatsapp": body["settings"].get("phone_number_id"),
        "webchat": "",
    }[kind]
    assert out["address"] == expected_address

    got = client.get(f"{URL}/{out['id']}", headers=tenant.admin)
    assert got.status_code == 200
    assert got.json() == out
    assert_no_secrets(got.text, body)
    listed = client.get(URL, headers=tenant.admin)
    assert [a["id"] for a in listed.json()["result"]] == [out["id"]]
    assert_no_secrets(listed.text, body)


def test_defaults_fill_settings_left_out(client, tenant):
    out = client.post(URL, headers=tenant.admin, json=email_body()).json()
    assert out["settings"]["smtp_security"] == "starttls"  # the driver's default
    chat = client.post(URL, headers=tenant.admin, json={"type": "webchat"}).json()
    assert chat["name"] == "Web chat widget"  # no name given: the driver's label
    assert chat["settings"]["greeting"]


def test_list_is_newest_first_in_keyset_pages(client, tenant):
    ids = []
    for i in range(3):
        r = client.post(URL, headers=tenant.admin, json=sms_body(f"+1555123000{i}"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    first = client.get(URL, headers=tenant.admin, params={"page_size": 2}).json()
    assert [a["id"] for a in first["result"]] == [ids[2], ids[1]]
    assert first["next_page_token"]
    second = client.get(
        URL, headers=tenant.admin, params={"page_size": 2, "page_token": first["next_page_token"]}
    ).json()
    assert [a["id"] for a in second["result"]] == [ids[0]]
    assert second["next_page_token"] == ""
    assert_error(client.get(URL, headers=tenant.admin, params={"page_size": 0}), 400)


def test_update_merges_settings_replaces_secrets_and_renames(client, tenant):
    body = sms_body()
    created = client.post(URL, headers=tenant.admin, json=body).json()
    new_token = "new-auth-" + random.token_hex(12)
    r = client.put(
        f"{URL}/{created['id']}",
        headers=tenant.admin,
        json={
            "name": "Support line (EU)",
            "settings": {"messaging_service_sid": "MG" + random.token_hex(16)},
            "secrets": {"auth_token": new_token},
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["name"] == "Support line (EU)"
    # merged: what was not given is kept
    assert out["settings"]["phone_number"] == body["settings"]["phone_number"]
    assert out["settings"]["account_sid"] == body["settings"]["account_sid"]
    assert out["settings"]["messaging_service_sid"].startswith("MG")
    assert out["secrets_set"] == ["auth_token"]
    assert new_token not in r.text and body["secrets"]["auth_token"] not in r.text
    assert out["tm_update"] > created["tm_update"]
    # a null setting removes it; the VoIPBIN `secret` alias replaces the auth token
    aliased = "aliased-" + random.token_hex(12)
    r = client.put(
        f"{URL}/{created['id']}",
        headers=tenant.admin,
        json={"settings": {"messaging_service_sid": None}, "secret": aliased},
    )
    assert r.status_code == 200, r.text
    assert "messaging_service_sid" not in r.json()["settings"]
    assert aliased not in r.text
    again = client.get(f"{URL}/{created['id']}", headers=tenant.admin)
    assert again.json()["name"] == "Support line (EU)"
    assert aliased not in again.text and new_token not in again.text
    # a required secret cannot be removed
    assert_error(
        client.put(
            f"{URL}/{created['id']}", headers=tenant.admin, json={"secrets": {"auth_token": ""}}
        ),
        422,
        "missing_setting",
    )
    # the same checks as create: no unknown settings on update either
    error = assert_error(
        client.put(f"{URL}/{created['id']}", headers=tenant.admin, json={"settings": {"x": 1}}),
        422,
        "unknown_setting",
    )
    assert "`x`" in error["message"]


def test_delete_is_soft_and_stops_the_hooks(client, server, tenant):
    created = client.post(URL, headers=tenant.admin, json=sms_body()).json()
    hook = created["webhook_urls"]["incoming"]
    deleted = client.delete(f"{URL}/{created['id']}", headers=tenant.admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert_error(client.get(f"{URL}/{created['id']}", headers=tenant.admin), 404)
    assert_error(client.delete(f"{URL}/{created['id']}", headers=tenant.admin), 404)
    assert client.get(URL, headers=tenant.admin).json()["result"] == []
    path = hook.removeprefix(server.url)
    r = client.post(
        path, data={"MessageSid": "SM" + random.token_hex(16), "From": "+15557654321", "Body": "x"}
    )
    assert r.status_code == 404
    status = client.post(path + "/status", data={"MessageSid": "SMx", "MessageStatus": "sent"})
    assert status.status_code == 404
    # the address is free again
    again = client.post(URL, headers=tenant.admin, json=sms_body())
    assert again.status_code == 201, again.text


@pytest.mark.parametrize(
    ("body", "reason", "named"),
    [
        ({"type": "fax"}, "invalid_account_type", "fax"),
        (
            {**sms_body(), "settings": {**sms_body()["settings"], "colour": "red"}},
            "unknown_setting",
            "colour",
        ),
        (
            {
                "type": "sms",
                "settings": {**sms_body()["settings"], "auth_token": "in-the-open"},
            },
            "unknown_setting",
            "auth_token",
        ),
        ({**sms_body(), "secrets": {"password": "x"}}, "unknown_secret", "password"),
        (
            {"type": "sms", "settings": {"phone_number": "+15551230001"}, "secret": "t"},
            "missing_setting",
            "account_sid",
        ),
        (
            {**email_body(), "settings": {**email_body()["settings"], "smtp_security": "ssl"}},
            "invalid_setting",
            "smtp_security",
        ),
        ({"type": "webchat", "token": "t"}, "unknown_token", "token"),
    ],
)
def test_validation_errors_name_the_field(client, tenant, body, reason, named):
    r = client.post(URL, headers=tenant.admin, json=body)
    error = assert_error(r, 422, reason)
    assert named in error["message"]
    assert "in-the-open" not in r.text
    assert client.get(URL, headers=tenant.admin).json()["result"] == []


def test_bodies_that_break_the_schema(client, tenant):
    error = assert_error(
        client.post(URL, headers=tenant.admin, json={"type": "sms", "bogus": 1}), 422
    )
    assert "bogus" in error["message"]
    assert_error(client.post(URL, headers=tenant.admin, json={"name": "no type"}), 422)
    assert_error(
        client.post(
            URL, headers=tenant.admin | {"content-type": "application/json"}, content=b"{nope"
        ),
        400,
        "malformed_json",
    )


def test_duplicate_address_of_the_same_type_conflicts(client, tenant):
    assert client.post(URL, headers=tenant.admin, json=sms_body()).status_code == 201
    assert_error(
        client.post(URL, headers=tenant.admin, json=sms_body()), 409, "account_address_taken"
    )
    # address matching ignores case for mailboxes
    assert client.post(URL, headers=tenant.admin, json=email_body("help@acme.example")).is_success
    assert_error(
        client.post(URL, headers=tenant.admin, json=email_body("HELP@acme.example")),
        409,
        "account_address_taken",
    )
    # an update onto another account's address conflicts too
    other = client.post(URL, headers=tenant.admin, json=sms_body("+15551230002")).json()
    assert_error(
        client.put(
            f"{URL}/{other['id']}",
            headers=tenant.admin,
            json={"settings": {"phone_number": "+15551230001"}},
        ),
        409,
        "account_address_taken",
    )
    assert len(client.get(URL, headers=tenant.admin).json()["result"]) == 3


def test_idempotency_key_creates_one_account(client, tenant):
    body = sms_body()
    h = tenant.admin | {"Idempotency-Key": "acct-1"}
    first = client.post(URL, headers=h, json=body)
    second = client.post(URL, headers=h, json=body)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    assert_no_secrets(second.text, body)
    assert len(client.get(URL, headers=tenant.admin).json()["result"]) == 1


def test_managers_and_agents_are_refused_everywhere(client, tenant):
    account = client.post(URL, headers=tenant.admin, json=sms_body()).json()
    one = f"{URL}/{account['id']}"
    for who in (tenant.manager, tenant.agent):
        assert_error(client.get(URL, headers=who), 403)
        assert_error(client.post(URL, headers=who, json=webchat_body()), 403)
        assert_error(client.get(one, headers=who), 403)
        assert_error(client.put(one, headers=who, json={"name": "mine now"}), 403)
        assert_error(client.delete(one, headers=who), 403)
        assert_error(client.post(one + "/test", headers=who, json={"to": "+15557654321"}), 403)
    assert_error(client.get(URL), 401)
    still = client.get(one, headers=tenant.admin).json()
    assert still["name"] == account["name"] and still["tm_delete"] == account["tm_delete"]
    assert len(client.get(URL, headers=tenant.admin).json()["result"]) == 1


def test_another_customers_account_is_not_found(client, tenant, other_tenant):
    theirs = client.post(URL, headers=other_tenant.admin, json=sms_body()).json()
    one = f"{URL}/{theirs['id']}"
    assert_error(client.get(one, headers=tenant.admin), 404, "account_not_found")
    assert_error(client.put(one, headers=tenant.admin, json={"name": "x"}), 404)
    assert_error(client.delete(one, headers=tenant.admin), 404)
    assert_error(client.post(one + "/test", headers=tenant.admin, json={"to": "+15557654321"}), 404)
    assert client.get(URL, headers=tenant.admin).json()["result"] == []
    assert client.get(one, headers=other_tenant.admin).json()["name"] == theirs["name"]
    for bad in ("not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"):
        assert_error(client.get(f"{URL}/{bad}", headers=tenant.admin), 404, "account_not_found")
        assert_error(client.delete(f"{URL}/{bad}", headers=tenant.admin), 404)


def test_send_test_through_a_loopback_account(client, tenant):
    ok = tenant.channel("message")
    r = client.post(
        f"{URL}/{ok.id}/test",
        headers=tenant.admin,
        json={"to": "+1 555 765 4321", "text": "Is this thing on?"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is True
    assert result["provider_message_id"].startswith("loopback-")
    assert result["reason"] == ""

    refusing = tenant.channel("message", address="+15550009999", simulate="fail")
    r = client.post(f"{URL}/{refusing.id}/test", headers=tenant.admin, json={"to": "+15557654321"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "success": False,
        "provider_message_id": "",
        "reason": "loopback: the account is set to refuse messages",
    }
    # a recipient that cannot be an address on the channel is refused before any send
    assert_error(
        client.post(f"{URL}/{ok.id}/test", headers=tenant.admin, json={"to": "not a phone"}),
        422,
        "invalid_address",
    )
    assert_error(client.post(f"{URL}/{ok.id}/test", headers=tenant.admin, json={}), 422)
    # the test sends outside any conversation: nothing appears in the inbox
    assert client.get("/v1.0/conversations", headers=tenant.admin).json()["result"] == []
    # loopback accounts are listed with the others
    listed = client.get(URL, headers=tenant.admin).json()["result"]
    assert {a["id"] for a in listed} == {str(ok.id), str(refusing.id)}
    assert all(a["type"] == "loopback" for a in listed)
