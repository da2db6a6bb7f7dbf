"""Contacts and tags (`/v1.0/contacts`, `/v1.0/tags`): the resource, search, addresses
(one contact per address), matching inbound messages across channels, merge, tags on
contacts and on rooms, the `accesskey` cookie, and every new endpoint's 404s and 422s."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import assert_error, inbound
from db_kit import audit_entries, sql

C = "/v1.0/contacts"
T = "/v1.0/tags"


def _contact(client, tenant, **body) -> dict:
    r = client.post(C, headers=tenant.agent, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _events(db_url, customer_id, type_) -> list[dict]:
    rows = sql(
        db_url,
        "SELECT payload::text FROM events WHERE customer_id = $1 AND type = $2 ORDER BY id",
        customer_id,
        type_,
    )
    return [json.loads(r[0]) for r in rows]


def _room(client, tenant, room_id) -> dict:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_contact_in_voipbins_shape(client, tenant, db_url):
    made = _contact(
        client,
        tenant,
        first_name="Ann",
        last_name="Lee",
        company="Acme",
        notes="<b>likes tea</b>",
        addresses=[
            {"type": "tel", "target": "(555) 201-0001", "is_primary": True},
            {"type": "email", "target": "Ann@Example.COM", "name": "work"},
        ],
        attributes={"plan": "gold", "seats": 3},
    )
    assert set(made) == {
        "id",
        "customer_id",
        "first_name",
        "last_name",
        "display_name",
        "company",
        "job_title",
        "source",
        "external_id",
        "notes",
        "addresses",
        "tag_ids",
        "attributes",
        "tm_create",
        "tm_update",
        "tm_delete",
    }
    assert made["source"] == "api" and made["customer_id"] == tenant.customer_id
    assert [(a["type"], a["target"], a["is_primary"]) for a in made["addresses"]] == [
        ("tel", "+15552010001", True),
        ("email", "ann@example.com", False),
    ]
    assert made["attributes"] == {"plan": "gold", "seats": 3}
    assert client.get(f"{C}/{made['id']}", headers=tenant.agent).json() == made
    assert _events(db_url, tenant.customer_id, "contact_created") == [made]

    changed = client.put(
        f"{C}/{made['id']}", headers=tenant.agent, json={"job_title": "CTO", "attributes": {}}
    ).json()
    assert changed["job_title"] == "CTO" and changed["attributes"] == {}
    assert changed["first_name"] == "Ann"
    assert _events(db_url, tenant.customer_id, "contact_updated")[-1] == changed

    assert_error(client.delete(f"{C}/{made['id']}", headers=tenant.agent), 403)
    gone = client.delete(f"{C}/{made['id']}", headers=tenant.manager)
    assert gone.status_code == 200 and gone.json()["tm_delete"]
    assert_error(client.get(f"{C}/{made['id']}", headers=tenant.agent), 404, "contact_not_found")
    assert _events(db_url, tenant.customer_id, "contact_deleted")[0]["id"] == made["id"]
    assert audit_entries(db_url, tenant.customer_id, "contact.deleted")
    # its addresses are free again
    _contact(client, tenant, addresses=[{"type": "tel", "target": "+15552010001"}])


def test_search_starts_with_any_name_word_or_address_and_pages(client, tenant):
    ann = _contact(
        client,
        tenant,
        display_name="Mary Ann Smith",
        addresses=[{"type": "email", "target": "mas@shop.example"}],
    )
    bob = _contact(
        client,
        tenant,
        first_name="Bob",
        last_name="Annand",
        addresses=[{"type": "tel", "target": "+15552020002"}],
    )
    _contact(
        client, tenant, first_name="Zed", addresses=[{"type": "tel", "target": "+15559990000"}]
    )

    def found(q, **params):
        r = client.get(C, headers=tenant.agent, params={"q": q, **params})
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["result"]], r.json()["next_page_token"]

    assert found("ann")[0] == [ann["id"], bob["id"]]  # by the matching word: "ann" < "annand"
    assert found("ANN SM")[0] == [ann["id"]]
    assert found("mas@")[0] == [ann["id"]]
    assert found("1555202")[0] == [bob["id"]]  # a phone number without its +
    assert found("+1555202")[0] == [bob["id"]]
    assert found("nobody")[0] == []
    assert found("%")[0] == [] and found("_")[0] == []
    # a contact matching by several words shows once, and pages neither skip nor repeat
    for i in range(5):
        _contact(client, tenant, first_name=f"Anna{i}", last_name=f"Annabel{i}")
    seen, token = [], ""
    while True:
        page, token = found("ann", page_size=2, **({"page_token": token} if token else {}))
        seen += page
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7
    assert_error(client.get(C, headers=tenant.agent, params={"q": "a", "page_token": "x!"}), 400)
    everyone = client.get(C, headers=tenant.agent).json()["result"]
    assert len(everyone) == 8 and everyone[0]["first_name"] == "Anna4"  # newest first


def test_an_address_names_one_contact(client, tenant, other_tenant):
    ann = _contact(
        client, tenant, display_name="Ann", addresses=[{"type": "email", "target": "a@x.example"}]
    )
    error = assert_error(
        client.post(
            C,
            headers=tenant.agent,
            json={"addresses": [{"type": "email", "target": "A@X.example"}]},
        ),
        409,
        "address_taken",
    )
    assert "Ann" in error["message"] and ann["id"] in error["message"]
    bob = _contact(client, tenant, display_name="Bob")
    taken = client.post(
        f"{C}/{bob['id']}/addresses",
        headers=tenant.agent,
        json={"type": "email", "target": "a@x.example"},
    )
    assert ann["id"] in assert_error(taken, 409, "address_taken")["message"]
    twice = client.post(
        C,
        headers=tenant.agent,
        json={
            "addresses": [
                {"type": "tel", "target": "+15550100000"},
                {"type": "tel", "target": "555-010-0000"},
            ]
        },
    )
    assert_error(twice, 422, "duplicate_address")
    bad = client.post(
        f"{C}/{bob['id']}/addresses", headers=tenant.agent, json={"type": "email", "target": "nope"}
    )
    assert assert_error(bad, 422, "invalid_address")["fields"][0]["field"] == "target"
    # another customer may hold the same address
    r = client.post(
        C,
        headers=other_tenant.agent,
        json={"addresses": [{"type": "email", "target": "a@x.example"}]},
    )
    assert r.status_code == 201
    # change and remove addresses; one primary per type
    bob = client.post(
        f"{C}/{bob['id']}/addresses",
        headers=tenant.agent,
        json={"type": "tel", "target": "+15550200001", "is_primary": True},
    ).json()
    bob = client.post(
        f"{C}/{bob['id']}/addresses",
        headers=tenant.agent,
        json={"type": "tel", "target": "+15550200002", "is_primary": True},
    ).json()
    assert [a["is_primary"] for a in bob["addresses"]] == [False, True]
    first = bob["addresses"][0]["id"]
    moved = client.put(
        f"{C}/{bob['id']}/addresses/{first}",
        headers=tenant.agent,
        json={"target": "a@x.example", "type": "email"},
    )
    assert_error(moved, 409, "address_taken")
    bob = client.put(
        f"{C}/{bob['id']}/addresses/{first}",
        headers=tenant.agent,
        json={"name": "home", "is_primary": True},
    ).json()
    assert [(a["name"], a["is_primary"]) for a in bob["addresses"]] == [("home", True), ("", False)]
    bob = client.delete(f"{C}/{bob['id']}/addresses/{first}", headers=tenant.agent).json()
    assert [a["target"] for a in bob["addresses"]] == ["+15550200002"]


def test_one_person_across_sms_email_and_web_chat_is_one_contact_only_through_an_address(
    client, tenant, db_url
):
    sms, email, chat = tenant.channel("message"), tenant.channel("email"), tenant.channel("webchat")
    by_sms = inbound(sms, "+15553030303", "hi by text")
    room_sms = _room(client, tenant, by_sms.conversation_id)
    (contact_id,) = room_sms["contact_ids"]
    contact = client.get(f"{C}/{contact_id}", headers=tenant.agent).json()
    assert contact["source"] == "sync"
    assert [(a["type"], a["target"]) for a in contact["addresses"]] == [("tel", "+15553030303")]
    peer = [p for p in room_sms["participants"] if p["target"] == "+15553030303"][0]
    assert peer["contact_id"] == contact_id

    # the same person by email, before any address links them: another contact
    first_mail = inbound(email, "sam@home.example", "hi by mail")
    other = _room(client, tenant, first_mail.conversation_id)["contact_ids"]
    assert other != [contact_id]
    # an agent adds another email address to the SMS contact: the next mail from it is theirs
    client.post(
        f"{C}/{contact_id}/addresses",
        headers=tenant.agent,
        json={"type": "email", "target": "sam@work.example"},
    )
    by_mail = inbound(email, "Sam@Work.example", "hi again", peer_name="Sam")
    assert _room(client, tenant, by_mail.conversation_id)["contact_ids"] == [contact_id]
    # a web chat visitor leaves that address: the visitor is the same contact (in a room
    # of their own once the mail room is closed)
    client.put(
        f"/v1.0/conversations/{by_mail.conversation_id}",
        headers=tenant.admin,
        json={"status": "closed"},
    )
    visit = inbound(
        chat,
        "wv-" + "a" * 32,
        "hello from the site",
        peer_label="Visitor from shop.example",
        identities=[{"type": "email", "target": "sam@work.example", "name": ""}],
    )
    chat_room = _room(client, tenant, visit.conversation_id)
    assert contact_id in chat_room["contact_ids"]
    contact = client.get(f"{C}/{contact_id}", headers=tenant.agent).json()
    assert {(a["type"], a["target"]) for a in contact["addresses"]} == {
        ("tel", "+15553030303"),
        ("email", "sam@work.example"),
        ("webchat", "wv-" + "a" * 32),
    }
    assert contact["display_name"] == "Sam"  # the name mail gave, once nobody named it
    rooms = client.get(f"{C}/{contact_id}/conversations", headers=tenant.admin).json()["result"]
    assert {r["reference_type"] for r in rooms} == {"message", "email", "webchat"}
    assert len(rooms) == 3
    # an agent sees the rooms it may see only
    client.put(
        f"/v1.0/conversations/{by_sms.conversation_id}",
        headers=tenant.admin,
        json={"owner_id": tenant.manager_id},
    )
    mine = client.get(f"{C}/{contact_id}/conversations", headers=tenant.agent).json()["result"]
    assert by_sms.conversation_id not in {r["id"] for r in mine} and len(mine) == 2
    # one contact made per new address, none for a known one
    assert len(_events(db_url, tenant.customer_id, "contact_created")) == 2


def test_a_web_chat_visitor_is_visitor_from_the_page_host_until_they_leave_a_name(client, tenant):
    chat = tenant.channel("webchat")
    visitor = "wv-" + "b" * 32
    got = inbound(chat, visitor, "anyone there?", peer_label="Visitor from shop.example")
    room = _room(client, tenant, got.conversation_id)
    assert room["name"] == "Visitor from shop.example"
    contact = client.get(f"{C}/{room['contact_ids'][0]}", headers=tenant.agent).json()
    assert contact["display_name"] == "Visitor from shop.example"
    inbound(chat, visitor, "I am Kim", peer_name="Kim", peer_label="Visitor from shop.example")
    assert _room(client, tenant, got.conversation_id)["name"] == "Kim"
    assert client.get(f"{C}/{contact['id']}", headers=tenant.agent).json()["display_name"] == "Kim"


def test_merge_moves_addresses_attributes_tags_notes_and_rooms(client, tenant, db_url):
    sms, email = tenant.channel("message"), tenant.channel("email")
    vip = client.post(T, headers=tenant.admin, json={"name": "vip"}).json()
    late = client.post(T, headers=tenant.admin, json={"name": "late payer"}).json()
    by_sms = inbound(sms, "+15554040404", "text")
    by_mail = inbound(email, "dup@x.example", "mail")
    keep_id = _room(client, tenant, by_sms.conversation_id)["contact_ids"][0]
    other_id = _room(client, tenant, by_mail.conversation_id)["contact_ids"][0]
    client.put(
        f"{C}/{keep_id}",
        headers=tenant.agent,
        json={"attributes": {"plan": "gold"}, "notes": "keep", "first_name": "Dee"},
    )
    client.put(
        f"{C}/{other_id}",
        headers=tenant.agent,
        json={
            "attributes": {"plan": "free", "city": "Oslo"},
            "notes": "other",
            "company": "Dup Inc",
        },
    )
    client.post(f"{C}/{keep_id}/tags", headers=tenant.agent, json={"tag_id": vip["id"]})
    client.post(f"{C}/{other_id}/tags", headers=tenant.agent, json={"tag_id": late["id"]})
    client.post(f"{C}/{other_id}/tags", headers=tenant.agent, json={"tag_id": vip["id"]})

    r = client.post(f"{C}/{keep_id}/merge", headers=tenant.agent, json={"contact_id": other_id})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert {a["target"] for a in merged["addresses"]} == {"+15554040404", "dup@x.example"}
    assert merged["attributes"] == {"plan": "gold", "city": "Oslo"}
    assert merged["tag_ids"] == [vip["id"], late["id"]]
    assert merged["notes"] == "keep\n\nother" and merged["company"] == "Dup Inc"
    assert merged["first_name"] == "Dee"
    assert _room(client, tenant, by_mail.conversation_id)["contact_ids"] == [keep_id]
    assert_error(client.get(f"{C}/{other_id}", headers=tenant.agent), 404)
    rooms = client.get(f"{C}/{keep_id}/conversations", headers=tenant.admin).json()["result"]
    assert {r["id"] for r in rooms} == {by_sms.conversation_id, by_mail.conversation_id}
    (entry,) = audit_entries(db_url, tenant.customer_id, "contact.merged")
    assert entry["actor_id"] == tenant.agent_id and entry["target_id"] == keep_id
    assert entry["before"]["merged"]["id"] == other_id
    assert _events(db_url, tenant.customer_id, "contact_merged") == [merged]
    assert _events(db_url, tenant.customer_id, "contact_deleted")[-1]["id"] == other_id
    updated = _events(db_url, tenant.customer_id, "conversation_updated")
    assert updated[-1]["id"] == by_mail.conversation_id and updated[-1]["contact_ids"] == [keep_id]
    # the next mail from the merged address finds the survivor
    again = inbound(email, "dup@x.example", "mail again")
    assert _room(client, tenant, again.conversation_id)["contact_ids"] == [keep_id]
    assert_error(
        client.post(f"{C}/{keep_id}/merge", headers=tenant.agent, json={"contact_id": keep_id}),
        422,
        "same_contact",
    )


def test_tags_are_resources_and_conversations_keep_their_names(client, tenant, db_url):
    sms = tenant.channel("message")
    room_id = inbound(sms, "+15555050505").conversation_id
    assert_error(client.post(T, headers=tenant.agent, json={"name": "vip"}), 403)
    vip = client.post(T, headers=tenant.manager, json={"name": "vip", "detail": "big"}).json()
    assert set(vip) == {
        "id",
        "customer_id",
        "name",
        "detail",
        "tm_create",
        "tm_update",
        "tm_delete",
    }
    assert_error(client.post(T, headers=tenant.admin, json={"name": "VIP"}), 409, "tag_exists")
    client.put(
        f"/v1.0/conversations/{room_id}", headers=tenant.admin, json={"tags": ["vip", "gold", "x"]}
    )
    renamed = client.put(f"{T}/{vip['id']}", headers=tenant.admin, json={"name": "gold"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "gold"
    assert _room(client, tenant, room_id)["tags"] == ["gold", "x"]  # one gold, where vip was
    assert _events(db_url, tenant.customer_id, "tag_updated")[-1]["name"] == "gold"
    assert _events(db_url, tenant.customer_id, "conversation_updated")[-1]["tags"] == ["gold", "x"]
    contact_id = _room(client, tenant, room_id)["contact_ids"][0]
    client.post(f"{C}/{contact_id}/tags", headers=tenant.agent, json={"tag_id": vip["id"]})
    assert client.get(f"{C}/{contact_id}", headers=tenant.agent).json()["tag_ids"] == [vip["id"]]
    assert client.delete(f"{T}/{vip['id']}", headers=tenant.admin).status_code == 200
    assert _room(client, tenant, room_id)["tags"] == ["x"]
    assert client.get(f"{C}/{contact_id}", headers=tenant.agent).json()["tag_ids"] == []
    assert _events(db_url, tenant.customer_id, "tag_deleted")[0]["id"] == vip["id"]
    assert [t["name"] for t in client.get(T, headers=tenant.agent).json()["result"]] == []
    assert audit_entries(db_url, tenant.customer_id, "tag.deleted")


def test_the_accesskey_cookie_works_on_the_api_only(client, tenant):
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "voipbin"}).json()[
        "token"
    ]
    client.cookies.set("accesskey", key)
    try:
        listed = client.get(C)
        assert listed.status_code == 200, listed.text
        made = client.post(C, json={"first_name": "Cookie"})  # a program sends no CSRF token
        assert made.status_code == 201, made.text
        # a page of another site cannot use it
        refused = client.post(
            C, json={"first_name": "X"}, headers={"Origin": "https://evil.example"}
        )
        assert_error(refused, 403, "cross_site_request")
        # the desk does not take it: it asks to sign in
        desk = client.get("/contacts", follow_redirects=False)
        assert desk.status_code in (302, 303) and "/login" in desk.headers["location"]
        assert client.get("/", follow_redirects=False).status_code in (302, 303)
    finally:
        client.cookies.clear()
    assert_error(client.get(C), 401)


_NO = str(uuid.uuid4())


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("get", "{c}", None),
        ("put", "{c}", {"notes": "x"}),
        ("delete", "{c}", None),
        ("post", "{c}/addresses", {"type": "tel", "target": "+15550000001"}),
        ("put", "{c}/addresses/{a}", {"name": "x"}),
        ("delete", "{c}/addresses/{a}", None),
        ("post", "{c}/tags", {"tag_id": "{t}"}),
        ("delete", "{c}/tags/{t}", None),
        ("get", "{c}/conversations", None),
        ("post", "{c}/merge", {"contact_id": "{c2}"}),
        ("get", "{tag}", None),
        ("put", "{tag}", {"name": "y"}),
        ("delete", "{tag}", None),
    ],
)
def test_foreign_and_unknown_ids_are_404(client, tenant, other_tenant, method, path, body):
    theirs = client.post(
        C,
        headers=other_tenant.admin,
        json={"addresses": [{"type": "tel", "target": "+15557770000"}]},
    ).json()
    their_tag = client.post(T, headers=other_tenant.admin, json={"name": "theirs"}).json()
    mine = _contact(client, tenant, addresses=[{"type": "tel", "target": "+15557770001"}])
    my_tag = client.post(T, headers=tenant.admin, json={"name": "mine"}).json()
    client.post(f"{C}/{mine['id']}/tags", headers=tenant.admin, json={"tag_id": my_tag["id"]})
    cases = [
        # (contact, address, tag (on the contact), other contact, tag resource)
        (theirs["id"], mine["addresses"][0]["id"], my_tag["id"], mine["id"], their_tag["id"]),
        (_NO, mine["addresses"][0]["id"], my_tag["id"], mine["id"], _NO),
        ("not-an-id", mine["addresses"][0]["id"], my_tag["id"], mine["id"], "not-an-id"),
    ]
    if "{a}" in path or "{t}" in path or "{c2}" in json.dumps(body):
        cases.append(
            (mine["id"], theirs["addresses"][0]["id"], their_tag["id"], theirs["id"], my_tag["id"])
        )
        cases.append((mine["id"], _NO, _NO, _NO, my_tag["id"]))
    for c, a, t, c2, tag in cases:
        url = ("{tag}" if path.startswith("{tag}") else "").join([""])  # noqa: F841
        full = (T + "/" + tag) if path.startswith("{tag}") else C + "/" + path.format(c=c, a=a, t=t)
        sent = (
            None
            if body is None
            else json.loads(json.dumps(body).replace("{t}", t).replace("{c2}", c2))
        )
        if "{a}" not in path and "{t}" not in path and c == mine["id"] and sent == body:
            continue
        r = client.request(method, full, headers=tenant.admin, json=sent)
        if sent is not None and ("tag_id" in sent) and c == mine["id"]:
            assert_error(r, 422, "unknown_tag")  # an id in a body: 422 naming it
        else:
            assert_error(r, 404)


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "", {"first_name": 5}),
        ("post", "", {"nope": 1}),
        ("post", "", {"first_name": "a\u0000b"}),
        ("post", "", {"first_name": "x" * 256}),
        ("post", "", {"source": "elsewhere"}),
        ("post", "", {"addresses": [{"type": "fax", "target": "1"}]}),
        ("post", "", {"addresses": [{"type": "tel"}]}),
        ("post", "", {"attributes": {"k": {"nested": 1}}}),
        ("post", "", {"tag_ids": ["not-a-uuid"]}),
        ("put", "/{c}", {"notes": 1}),
        ("put", "/{c}", {"attributes": [1]}),
        ("post", "/{c}/addresses", {"type": "tel"}),
        ("post", "/{c}/addresses", {"type": "tel", "target": ""}),
        ("put", "/{c}/addresses/{a}", {"is_primary": "yes"}),
        ("post", "/{c}/tags", {}),
        ("post", "/{c}/tags", {"tag_id": "x"}),
        ("post", "/{c}/merge", {"contact_id": 7}),
        ("post", "/{c}/merge", {}),
        ("post", "T", {"name": ""}),
        ("post", "T", {"name": " lead, space"}),
        ("post", "T", {"detail": "no name"}),
        ("put", "T/{t}", {"name": 3}),
    ],
)
def test_bad_bodies_are_422(client, tenant, method, path, body):
    mine = _contact(client, tenant, addresses=[{"type": "tel", "target": "+15557770002"}])
    tag = client.post(T, headers=tenant.admin, json={"name": "t"}).json()
    if path.startswith("T"):
        url = T + path[1:].format(t=tag["id"])
    else:
        url = C + path.format(c=mine["id"], a=mine["addresses"][0]["id"])
    assert_error(client.request(method, url, headers=tenant.admin, json=body), 422)


def test_the_widget_names_a_visitor_by_the_page_they_are_on(client, tenant):
    """Through the widget's own doors: the page's Origin gives the host."""
    from conftest import run_async

    from app.channels import accounts

    account = run_async(
        accounts.create_account(
            tenant.customer_id, type="webchat", address="site", name="Site", settings={}
        )
    )
    base, origin = f"/widget/{account.id}", {"Origin": "https://shop.example:8443"}
    session = client.post(base + "/session", headers=origin).json()
    headers = {**origin, "X-Widget-Token": session["token"]}
    sent = client.post(base + "/messages", headers=headers, json={"text": "hi", "client_id": "c1"})
    assert sent.status_code == 201, sent.text
    (room,) = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
    assert room["name"] == "Visitor from shop.example"
    assert session["visitor_id"] not in room["name"]
    contact = client.get(f"{C}/{room['contact_ids'][0]}", headers=tenant.agent).json()
    assert contact["display_name"] == "Visitor from shop.example"
    named = client.post(
        base + "/identify", headers=headers, json={"name": "Lou", "email": "lou@x.example"}
    )
    assert named.status_code == 200, named.text
    assert _room(client, tenant, room["id"])["name"] == "Lou"
    contact = client.get(f"{C}/{contact['id']}", headers=tenant.agent).json()
    assert contact["display_name"] == "Lou"
    assert {a["type"] for a in contact["addresses"]} == {"webchat", "email"}
