"""Canned replies (`/v1.0/canned_responses`) and signatures, over HTTP: CRUD and who may
do what (personal vs shared), foreign ids, bad bodies, the `q` filter, filling variables
for a room, what each change leaves behind (event, audit entry), and the agent's
signature appended to replies per channel account and stored with the message."""

from __future__ import annotations

import json
import uuid

from conftest import assert_error, inbound
from db_kit import audit_entries, sql

URL = "/v1.0/canned_responses"
LIVE = "9999-01-01 00:00:00.000000"


def _events(db_url: str, customer_id: str) -> list[dict]:
    rows = sql(
        db_url,
        "SELECT type, topics, audience::text[] AS audience, payload::text FROM events"
        " WHERE customer_id = $1 AND type LIKE 'canned_response_%' ORDER BY id",
        customer_id,
    )
    return [
        {"type": r["type"], "audience": list(r["audience"]), "data": json.loads(r["payload"])}
        for r in rows
    ]


def _create(client, headers, **body) -> dict:
    r = client.post(URL, headers=headers, json={"shortcut": "thx", "text": "Thanks!", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_an_agent_manages_its_own_replies_with_an_event_for_each_change(client, tenant, db_url):
    made = _create(
        client, tenant.agent, shortcut="Thx", name="Thanks", text="Thanks, {{contact.name}}!"
    )
    assert made["owner_id"] == tenant.agent_id and made["shortcut"] == "thx"
    assert made["customer_id"] == tenant.customer_id and made["tm_delete"] == LIVE
    assert set(made) == {
        "id", "customer_id", "owner_id", "name", "shortcut", "text",
        "tm_create", "tm_update", "tm_delete",
    }  # fmt: skip
    assert client.get(f"{URL}/{made['id']}", headers=tenant.agent).json() == made

    r = client.put(f"{URL}/{made['id']}", headers=tenant.agent, json={"text": "Cheers!"})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["text"] == "Cheers!" and updated["shortcut"] == "thx"
    # the same values again: nothing changes, no event
    same = client.put(f"{URL}/{made['id']}", headers=tenant.agent, json={"text": "Cheers!"})
    assert same.json() == updated

    r = client.delete(f"{URL}/{made['id']}", headers=tenant.agent)
    assert r.status_code == 200 and r.json()["tm_delete"] != LIVE
    assert_error(client.get(f"{URL}/{made['id']}", headers=tenant.agent), 404)
    assert client.get(URL, headers=tenant.agent).json()["result"] == []

    events = _events(db_url, tenant.customer_id)
    assert [e["type"] for e in events] == [
        "canned_response_created",
        "canned_response_updated",
        "canned_response_deleted",
    ]
    assert events[0]["data"] == made and events[1]["data"] == updated
    assert all(e["audience"] == [tenant.agent_id] for e in events)
    # an agent's own replies are not tenant configuration: no audit entries
    assert audit_entries(db_url, tenant.customer_id, "canned_response.created") == []


def test_shared_replies_are_for_every_agent_and_changed_by_admins_only(client, tenant, db_url):
    assert_error(
        client.post(
            URL, headers=tenant.agent, json={"shortcut": "hi", "text": "Hi", "owner_id": None}
        ),
        403,
        "admin_required",
    )
    shared = _create(client, tenant.admin, shortcut="hi", text="Hello!", owner_id=None)
    assert shared["owner_id"] is None
    # every agent sees and uses it...
    assert client.get(f"{URL}/{shared['id']}", headers=tenant.agent).status_code == 200
    listed = client.get(URL, headers=tenant.agent).json()["result"]
    assert [c["id"] for c in listed] == [shared["id"]]
    # ...but only admins change it (a manager neither)
    for who in (tenant.agent, tenant.manager):
        assert_error(client.put(f"{URL}/{shared['id']}", headers=who, json={"text": "x"}), 403)
        assert_error(client.delete(f"{URL}/{shared['id']}", headers=who), 403)
    r = client.put(f"{URL}/{shared['id']}", headers=tenant.admin, json={"name": "Greeting"})
    assert r.status_code == 200 and r.json()["name"] == "Greeting"
    assert client.delete(f"{URL}/{shared['id']}", headers=tenant.admin).status_code == 200

    events = _events(db_url, tenant.customer_id)
    assert [e["type"] for e in events] == [
        "canned_response_created",
        "canned_response_updated",
        "canned_response_deleted",
    ]
    assert all(e["audience"] == [] for e in events)  # every agent's
    created = audit_entries(db_url, tenant.customer_id, "canned_response.created")
    assert [(e["actor_id"], e["after"]["shortcut"]) for e in created] == [(tenant.admin_id, "hi")]
    assert len(audit_entries(db_url, tenant.customer_id, "canned_response.updated")) == 1
    assert len(audit_entries(db_url, tenant.customer_id, "canned_response.deleted")) == 1


def test_personal_replies_of_others_and_foreign_ids_are_not_found(client, tenant, other_tenant):
    mine = _create(client, tenant.agent)
    theirs = _create(client, other_tenant.admin, owner_id=None)
    # another agent's personal reply does not exist for anyone else, admins included
    for who in (tenant.manager, tenant.admin):
        assert_error(
            client.get(f"{URL}/{mine['id']}", headers=who), 404, "canned_response_not_found"
        )
        assert_error(client.put(f"{URL}/{mine['id']}", headers=who, json={"text": "x"}), 404)
        assert_error(client.delete(f"{URL}/{mine['id']}", headers=who), 404)
        assert mine["id"] not in [c["id"] for c in client.get(URL, headers=who).json()["result"]]
    # another customer's, an unknown id, a malformed id
    for bad in (theirs["id"], str(uuid.uuid4()), "nope"):
        assert_error(client.get(f"{URL}/{bad}", headers=tenant.admin), 404)
        assert_error(client.put(f"{URL}/{bad}", headers=tenant.admin, json={"text": "x"}), 404)
        assert_error(client.delete(f"{URL}/{bad}", headers=tenant.admin), 404)
        assert_error(
            client.post(
                f"{URL}/{bad}/render",
                headers=tenant.admin,
                json={"conversation_id": str(uuid.uuid4())},
            ),
            404,
        )
    # owner_id: one's own or null, never someone else's
    r = client.post(
        URL, headers=tenant.admin, json={"shortcut": "x", "text": "x", "owner_id": tenant.agent_id}
    )
    assert_error(r, 422, "invalid_owner")


def test_a_shortcut_is_unique_within_its_scope(client, tenant):
    _create(client, tenant.agent, shortcut="thx")
    assert_error(
        client.post(URL, headers=tenant.agent, json={"shortcut": "THX", "text": "again"}),
        409,
        "shortcut_taken",
    )
    # the same shortcut in another scope: another agent's own, and the shared ones
    _create(client, tenant.manager, shortcut="thx")
    _create(client, tenant.admin, shortcut="thx", owner_id=None)
    assert_error(
        client.post(
            URL, headers=tenant.admin, json={"shortcut": "thx", "text": "x", "owner_id": None}
        ),
        409,
        "shortcut_taken",
    )
    other = _create(client, tenant.agent, shortcut="bye")
    assert_error(
        client.put(f"{URL}/{other['id']}", headers=tenant.agent, json={"shortcut": "thx"}), 409
    )
    # a deleted reply frees its shortcut
    client.delete(f"{URL}/{other['id']}", headers=tenant.agent)
    _create(client, tenant.agent, shortcut="bye")


def test_bad_bodies_are_422(client, tenant):
    mine = _create(client, tenant.agent)
    bad_creates = [
        {"text": "no shortcut"},
        {"shortcut": "x"},
        {"shortcut": 5, "text": "x"},
        {"shortcut": "has space", "text": "x"},
        {"shortcut": "/thx", "text": "x"},
        {"shortcut": "x" * 65, "text": "x"},
        {"shortcut": "ok", "text": "x" * 20001},
        {"shortcut": "ok", "text": ""},
        {"shortcut": "ok", "text": "   "},
        {"shortcut": "ok", "text": "nul \x00 here"},
        {"shortcut": "ok", "text": "x", "name": "n\x00"},
        {"shortcut": "ok", "text": "x", "owner_id": "not-a-uuid"},
        {"shortcut": "ok", "text": "x", "colour": "red"},
        ["not", "an", "object"],
    ]
    for body in bad_creates:
        assert_error(client.post(URL, headers=tenant.agent, json=body), 422)
    for body in ({"text": ""}, {"shortcut": "a b"}, {"owner_id": None}, {"text": 3}):
        assert_error(client.put(f"{URL}/{mine['id']}", headers=tenant.agent, json=body), 422)
    assert_error(client.post(f"{URL}/{mine['id']}/render", headers=tenant.agent, json={}), 422)
    assert_error(
        client.post(
            f"{URL}/{mine['id']}/render", headers=tenant.agent, json={"conversation_id": "x"}
        ),
        422,
    )
    assert_error(client.get(URL, headers=tenant.agent, params={"scope": "everything"}), 400)


def test_the_list_filters_by_shortcut_or_name_prefix(client, tenant):
    a = _create(client, tenant.agent, shortcut="thanks", name="Thank you")
    b = _create(client, tenant.agent, shortcut="ty_short", name="Quick thanks")
    c = _create(client, tenant.admin, shortcut="refund", name="Thanks for waiting", owner_id=None)
    _create(client, tenant.agent, shortcut="tyxshort", name="Other")

    def ids(**params):
        r = client.get(URL, headers=tenant.agent, params=params)
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["result"]}

    assert ids(q="THANK") == {a["id"], c["id"]}  # shortcut or name, any case
    assert ids(q="/ty_") == {b["id"]}  # `_` is literal, a leading / ignored
    assert ids(q="quick") == {b["id"]}
    assert ids(q="thanks", scope="shared") == {c["id"]}
    assert ids(q="thanks", scope="personal") == {a["id"]}
    assert ids(q="%") == set()
    page = client.get(URL, headers=tenant.agent, params={"page_size": 2}).json()
    assert len(page["result"]) == 2 and page["next_page_token"]


def test_render_fills_the_variables_for_a_room_as_plain_text(client, tenant, other_tenant):
    email = tenant.channel("email")
    room = inbound(email, "ana@example.com", "help", peer_name="Ana <b>López</b>").conversation_id
    client.put("/v1.0/me", headers=tenant.agent, json={"name": "Sam Carter"})
    reply = _create(
        client,
        tenant.agent,
        text="Hi {{contact.first_name}} ({{contact.name}}, {{contact.email}}{{contact.phone}}),"
        " {{agent.first_name}} here on {{conversation.id}}. {{order.id}}",
    )
    r = client.post(
        f"{URL}/{reply['id']}/render", headers=tenant.agent, json={"conversation_id": room}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == (
        f"Hi Ana (Ana <b>López</b>, ana@example.com), Sam here on {room}. {{{{order.id}}}}"
    )
    assert body["variables"]["contact.name"] == "Ana <b>López</b>"
    assert body["variables"]["agent.name"] == "Sam Carter"
    # a room of another customer is not found
    their_room = inbound(other_tenant.channel("message"), "+15550009999", "hi").conversation_id
    r = client.post(
        f"{URL}/{reply['id']}/render", headers=tenant.agent, json={"conversation_id": their_room}
    )
    assert_error(r, 404, "conversation_not_found")


def test_an_idempotent_create_is_made_once(client, tenant, db_url):
    headers = {**tenant.agent, "Idempotency-Key": "canned-1"}
    first = client.post(URL, headers=headers, json={"shortcut": "once", "text": "x"})
    again = client.post(URL, headers=headers, json={"shortcut": "once", "text": "x"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers.get("idempotent-replayed") == "true"
    assert len(_events(db_url, tenant.customer_id)) == 1


# --- signatures ---------------------------------------------------------------------------


def _send(client, headers, room: str, text: str) -> dict:
    r = client.post(f"/v1.0/conversations/{room}/messages", headers=headers, json={"text": text})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_agent_signature_is_appended_where_the_account_says_and_stored(client, tenant):
    r = client.put(
        "/v1.0/me", headers=tenant.agent, json={"signature": "\r\nSam\r\nAcme support\n"}
    )
    assert r.status_code == 200 and r.json()["signature"] == "Sam\nAcme support"
    assert client.get("/v1.0/me", headers=tenant.agent).json()["signature"] == "Sam\nAcme support"

    email = tenant.channel("email")  # a loopback account left at "—": email's default, below
    sms = tenant.channel("message")
    email_off = tenant.channel("email", address="quiet@acme.example", signature="off")
    mail_room = inbound(email, "ana@example.com", "hi").conversation_id
    sms_room = inbound(sms, "+15550002222", "hi").conversation_id
    quiet_room = inbound(email_off, "bo@example.com", "hi").conversation_id

    sent = _send(client, tenant.agent, mail_room, "Happy to help.\n")
    assert sent["text"] == "Happy to help.\n\nSam\nAcme support"
    assert _send(client, tenant.agent, sms_room, "Done!")["text"] == "Done!"
    assert _send(client, tenant.agent, quiet_room, "Done!")["text"] == "Done!"
    # stored as sent: the history shows the signed text
    history = client.get(f"/v1.0/conversations/{mail_room}/messages", headers=tenant.agent).json()
    assert [m["text"] for m in history["result"] if m["id"] == sent["id"]] == [sent["text"]]

    # a real SMS account is off by default, a real email account below
    accounts = client.get("/v1.0/conversation_accounts", headers=tenant.admin)
    assert accounts.status_code == 200, accounts.text


def test_no_signature_for_access_keys_or_for_an_agent_without_one(client, tenant):
    email = tenant.channel("email")
    room = inbound(email, "ana@example.com", "hi").conversation_id
    assert _send(client, tenant.admin, room, "Hello")["text"] == "Hello"  # no signature set
    client.put("/v1.0/me", headers=tenant.admin, json={"signature": "The admin"})
    assert _send(client, tenant.admin, room, "Hello")["text"] == "Hello\n\nThe admin"
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "bot"}).json()[
        "token"
    ]
    by_key = {"Authorization": f"AccessKey {key}"}
    assert _send(client, by_key, room, "From a program")["text"] == "From a program"


def test_account_signature_setting_defaults_and_choices(client, tenant):
    def create(type_: str, settings: dict, secrets: dict) -> dict:
        r = client.post(
            "/v1.0/conversation_accounts",
            headers=tenant.admin,
            json={"type": type_, "settings": settings, "secrets": secrets},
        )
        assert r.status_code == 201, r.text
        return r.json()

    mail = create("email", {"address": "help@acme.example", "smtp_host": "smtp.acme.example"}, {})
    assert mail["settings"]["signature"] == "below"
    sms = create(
        "sms", {"phone_number": "+15550003333", "account_sid": "AC" + "0" * 32}, {"auth_token": "t"}
    )
    assert sms["settings"]["signature"] == "off"
    r = client.put(
        f"/v1.0/conversation_accounts/{sms['id']}",
        headers=tenant.admin,
        json={"settings": {"signature": "sometimes"}},
    )
    assert_error(r, 422, "invalid_setting")
