"""Talk over real HTTP (docs/API.md): talks, participants, messages, threads,
reactions, unread counts and talk files; permissions, foreign ids and bad input.

The module runs its own server (on the session database) with a data directory of its own,
so that a test can put a file where the desk's upload puts it and fetch it back."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest
from api_kit import named_agent
from conftest import ServerProcess, assert_error, cli_env
from db_kit import sql

LIVE = "9999-01-01 00:00:00.000000"
ADMIN = "Administrator"  # the name `customer create` gives the tenant's admin


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("talk-data")


@pytest.fixture(scope="module")
def server(data_dir):
    """Overrides the session server for this module: the same database, a known data dir."""
    srv = ServerProcess(cli_env(CONVODESK_DATA_DIR=str(data_dir))).wait_ready()
    yield srv
    srv.stop()


class People:
    """Named agents of one tenant, signed in: alice (agent), bob, carol, dave (agents)."""

    def __init__(self, tenant, names=("Alice", "Bob", "Carol", "Dave")):
        self.tenant = tenant
        made = {name: named_agent(tenant, name) for name in names}
        self.ids = {name: made[name][0] for name in names}
        self.auth = {name: made[name][1] for name in names}


@pytest.fixture
def people(tenant) -> People:
    return People(tenant)


def create(client, headers, expect=201, **body) -> dict:
    r = client.post("/v1.0/talks", headers=headers, json=body)
    assert r.status_code == expect, r.text
    return r.json()


def group(client, p: People, creator="Alice", members=("Bob",), name="Ops") -> dict:
    return create(client, p.auth[creator], name=name, participant_ids=[p.ids[m] for m in members])


def post(client, headers, talk_id, expect=201, **body) -> dict:
    r = client.post(f"/v1.0/talks/{talk_id}/messages", headers=headers, json=body)
    assert r.status_code == expect, r.text
    return r.json()


def stream(client, headers, talk_id, **params) -> list[dict]:
    r = client.get(f"/v1.0/talks/{talk_id}/messages", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def system_lines(client, headers, talk_id) -> list[str]:
    """The talk's system messages, oldest first."""
    return [m["text"] for m in stream(client, headers, talk_id)[::-1] if m["type"] == "system"]


def participant_of(talk: dict, agent_id: str) -> dict:
    return next(p for p in talk["participants"] if p["agent_id"] == agent_id)


# --- creating -------------------------------------------------------------------------


def test_create_group_with_the_creator_always_in_it(client, people):
    p = people
    talk = create(
        client,
        p.auth["Alice"],
        name="  Night shift ",
        detail="who covers what",
        participant_ids=[p.ids["Bob"], p.ids["Alice"], p.ids["Bob"]],  # repeats collapse
    )
    assert talk["type"] == "group" and talk["status"] == "active"
    assert talk["name"] == "Night shift" and talk["detail"] == "who covers what"
    assert talk["customer_id"] == p.tenant.customer_id
    assert talk["creator_id"] == p.ids["Alice"]
    assert sorted(q["agent_id"] for q in talk["participants"]) == sorted(
        [p.ids["Alice"], p.ids["Bob"]]
    )
    assert talk["member_count"] == 2
    assert all(q["status"] == "active" and q["tm_left"] is None for q in talk["participants"])
    assert talk["tm_delete"] == LIVE
    # the creator alone, and without participant_ids, is a talk too
    alone = create(client, p.auth["Carol"], name="Notes")
    assert [q["agent_id"] for q in alone["participants"]] == [p.ids["Carol"]]
    assert client.get(f"/v1.0/talks/{talk['id']}", headers=p.auth["Bob"]).json() == talk
    assert_error(
        client.post("/v1.0/talks", headers=p.auth["Alice"], json={"name": "   "}),
        422,
        "name_required",
    )
    assert_error(client.post("/v1.0/talks", headers=p.auth["Alice"], json={}), 422, "name_required")


def test_direct_talk_is_one_per_pair(client, people):
    p = people
    first = create(client, p.auth["Alice"], type="direct", participant_ids=[p.ids["Bob"]])
    assert first["type"] == "direct" and first["member_count"] == 2
    again = create(
        client, p.auth["Alice"], expect=200, type="direct", participant_ids=[p.ids["Bob"]]
    )
    by_other = create(
        client, p.auth["Bob"], expect=200, type="direct", participant_ids=[p.ids["Alice"]]
    )
    assert again["id"] == by_other["id"] == first["id"]
    # naming oneself as well is the same pair
    same = create(
        client,
        p.auth["Bob"],
        expect=200,
        type="direct",
        participant_ids=[p.ids["Alice"], p.ids["Bob"]],
    )
    assert same["id"] == first["id"]
    for others in ([], [p.ids["Alice"]], [p.ids["Bob"], p.ids["Carol"]]):
        r = client.post(
            "/v1.0/talks",
            headers=p.auth["Alice"],
            json={"type": "direct", "participant_ids": others},
        )
        assert_error(r, 422, "direct_needs_two")
    # another pair is another talk
    other = create(client, p.auth["Alice"], type="direct", participant_ids=[p.ids["Carol"]])
    assert other["id"] != first["id"]


def test_racing_creators_of_one_direct_talk_get_one_talk(client, people):
    p = people
    asks = [("Alice", "Bob"), ("Bob", "Alice")] * 3

    def ask(pair):
        me, other = pair
        body = {"type": "direct", "participant_ids": [p.ids[other]]}
        return client.post("/v1.0/talks", headers=p.auth[me], json=body)

    with ThreadPoolExecutor(len(asks)) as pool:
        answers = list(pool.map(ask, asks))
    assert sorted(r.status_code for r in answers) == [200] * 5 + [201]
    assert len({r.json()["id"] for r in answers}) == 1
    listed = client.get("/v1.0/talks", headers=p.tenant.admin, params={"scope": "all"})
    assert len(listed.json()["result"]) == 1


def test_a_left_direct_talk_comes_back_when_created_again(client, people):
    p = people
    talk = create(client, p.auth["Alice"], type="direct", participant_ids=[p.ids["Bob"]])
    mine = participant_of(talk, p.ids["Alice"])
    r = client.delete(
        f"/v1.0/talks/{talk['id']}/participants/{mine['id']}", headers=p.auth["Alice"]
    )
    assert r.status_code == 200 and r.json()["status"] == "left"
    back = create(
        client, p.auth["Alice"], expect=200, type="direct", participant_ids=[p.ids["Bob"]]
    )
    assert back["id"] == talk["id"]
    assert participant_of(back, p.ids["Alice"])["status"] == "active"
    assert back["member_count"] == 2


def test_create_rejects_unknown_agents_and_bad_bodies(client, people, other_tenant):
    h = people.auth["Alice"]
    for bad in (str(uuid.uuid4()), other_tenant.agent_id):
        r = client.post("/v1.0/talks", headers=h, json={"name": "x", "participant_ids": [bad]})
        assert_error(r, 404, "agent_not_found")
    r = client.post("/v1.0/talks", headers=h, json={"name": "x", "participant_ids": ["not-an-id"]})
    error = assert_error(r, 422, "invalid_body")
    assert error["fields"] == [{"field": "participant_ids[0]", "message": "Expected a UUID"}]
    for body in (
        {"name": 5},
        {"name": "x", "type": "circle"},
        {"name": "x", "participant_ids": "abc"},
        {"name": "x", "participant_ids": [1]},
        {"name": "x", "colour": "red"},
        {"name": "x" * 300},
        [],
    ):
        assert_error(client.post("/v1.0/talks", headers=h, json=body), 422, "invalid_body")
    r = client.post("/v1.0/talks", headers={**h, "Content-Type": "application/json"}, content="{")
    assert_error(r, 400, "malformed_json")
    huge = {"name": "x", "detail": "y" * (2 << 20)}
    assert_error(client.post("/v1.0/talks", headers=h, json=huge), 413)
    talk = group(client, people)
    for path, body in (
        (f"/v1.0/talks/{talk['id']}/participants", {}),
        (f"/v1.0/talks/{talk['id']}/participants", {"agent_id": 7}),
        (f"/v1.0/talks/{talk['id']}/messages", {"text": ["x"]}),
        (f"/v1.0/talks/{talk['id']}/messages", {"text": "x", "extra": 1}),
    ):
        assert_error(client.post(path, headers=h, json=body), 422, "invalid_body")
    r = client.put(f"/v1.0/talks/{talk['id']}", headers=h, json={"status": "closed"})
    assert_error(r, 422, "invalid_body")
    # nothing above made a talk
    assert len(client.get("/v1.0/talks", headers=h).json()["result"]) == 1
    assert client.get("/v1.0/talks", headers={}).status_code == 401


def test_idempotency_key_replays_the_first_result(client, people):
    p = people
    h = {**p.auth["Alice"], "Idempotency-Key": "talk-1"}
    body = {"name": "Once", "participant_ids": [p.ids["Bob"]]}
    first = client.post("/v1.0/talks", headers=h, json=body)
    second = client.post("/v1.0/talks", headers=h, json=body)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert [
        t["id"] for t in client.get("/v1.0/talks", headers=p.auth["Alice"]).json()["result"]
    ] == [first.json()["id"]]
    talk_id = first.json()["id"]
    mh = {**p.auth["Alice"], "Idempotency-Key": "msg-1"}
    one = client.post(f"/v1.0/talks/{talk_id}/messages", headers=mh, json={"text": "hi"})
    two = client.post(f"/v1.0/talks/{talk_id}/messages", headers=mh, json={"text": "hi"})
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert [m["text"] for m in stream(client, p.auth["Bob"], talk_id)] == ["hi"]
    # the same key with another body is a conflict, not a silent replay
    r = client.post(f"/v1.0/talks/{talk_id}/messages", headers=mh, json={"text": "other"})
    assert_error(r, 422, "idempotency_key_reused")


# --- listing and one talk -------------------------------------------------------------


def test_list_mine_all_filters_pages_and_isolation(client, people, other_tenant):
    p = people
    admin = p.tenant.admin
    made = [group(client, p, name=f"g{i}") for i in range(3)]
    direct = create(client, p.auth["Alice"], type="direct", participant_ids=[p.ids["Carol"]])
    carols = group(client, p, creator="Carol", members=("Dave",), name="not alice's")
    client.post(f"/v1.0/talks/{made[0]['id']}/close", headers=p.auth["Alice"])
    # another customer's talk never shows
    theirs = create(client, other_tenant.admin, name="Globex only")

    def ids(headers, **params):
        r = client.get("/v1.0/talks", headers=headers, params=params)
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["result"]]

    alice_all = [direct["id"], made[2]["id"], made[1]["id"], made[0]["id"]]
    assert ids(p.auth["Alice"]) == alice_all  # newest first
    assert ids(p.auth["Bob"]) == [t["id"] for t in made[::-1]]
    assert ids(p.auth["Alice"], type="direct") == [direct["id"]]
    assert ids(p.auth["Alice"], status="closed") == [made[0]["id"]]
    assert ids(p.auth["Alice"], status="active", type="group") == [made[2]["id"], made[1]["id"]]
    # the admin is in none of them: "mine" is empty, "all" is every talk of the customer
    assert ids(admin) == []
    everything = ids(admin, scope="all")
    assert everything == [carols["id"], *alice_all]
    assert theirs["id"] not in everything and theirs["id"] not in ids(p.auth["Alice"])
    assert ids(other_tenant.admin, scope="all") == [theirs["id"]]
    assert_error(
        client.get("/v1.0/talks", headers=p.auth["Alice"], params={"scope": "all"}),
        403,
        "admin_required",
    )
    assert_error(client.get("/v1.0/talks", headers=p.tenant.manager, params={"scope": "all"}), 403)
    # like every query parameter outside its documented values (`mine`, `all`)
    assert_error(
        client.get("/v1.0/talks", headers=admin, params={"scope": "sideways"}),
        400,
        "invalid_parameter",
    )
    assert client.get("/v1.0/talks", headers=admin, params={"type": "circle"}).status_code == 400
    # keyset pages of two
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"scope": "all", "page_size": 2}
        if token:
            params["page_token"] = token
        body = client.get("/v1.0/talks", headers=admin, params=params).json()
        assert len(body["result"]) <= 2
        seen += [t["id"] for t in body["result"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert seen == everything and pages == 3
    for size in (0, 101):
        r = client.get("/v1.0/talks", headers=admin, params={"page_size": size})
        assert r.status_code == 400, r.text


def test_get_update_delete_one_talk(client, people, other_tenant):
    p = people
    talk = group(client, p, members=("Bob", "Carol"))
    url = f"/v1.0/talks/{talk['id']}"
    # a non-participant does not see it; the admin (not a participant) does
    assert_error(client.get(url, headers=p.auth["Dave"]), 404, "talk_not_found")
    assert client.get(url, headers=p.tenant.admin).json()["id"] == talk["id"]
    assert_error(client.get(url, headers=other_tenant.admin), 404, "talk_not_found")
    assert_error(client.get("/v1.0/talks/nope", headers=p.tenant.admin), 404, "talk_not_found")
    # rename by any participant
    r = client.put(url, headers=p.auth["Bob"], json={"name": "Renamed", "detail": "d"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["detail"]) == ("Renamed", "d")
    assert r.json()["tm_update"] > talk["tm_update"]
    assert client.get(url, headers=p.auth["Alice"]).json()["name"] == "Renamed"
    assert_error(client.put(url, headers=p.auth["Bob"], json={"name": " "}), 422, "name_required")
    assert_error(client.put(url, headers=p.auth["Dave"], json={"name": "x"}), 404, "talk_not_found")
    # delete: the creator or an admin, nobody else
    assert_error(client.delete(url, headers=p.auth["Bob"]), 403, "not_talk_creator")
    assert_error(client.delete(url, headers=p.auth["Dave"]), 404, "talk_not_found")
    assert_error(client.delete(url, headers=other_tenant.admin), 404, "talk_not_found")
    gone = client.delete(url, headers=p.auth["Alice"])
    assert gone.status_code == 200 and gone.json()["tm_delete"] != LIVE
    for who in (p.auth["Alice"], p.tenant.admin):
        assert_error(client.get(url, headers=who), 404, "talk_not_found")
    assert_error(client.get(url + "/messages", headers=p.auth["Bob"]), 404, "talk_not_found")
    assert talk["id"] not in [
        t["id"]
        for t in client.get("/v1.0/talks", headers=p.tenant.admin, params={"scope": "all"}).json()[
            "result"
        ]
    ]
    # an admin deletes a talk they are not in
    other = group(client, p, name="second")
    r = client.delete(f"/v1.0/talks/{other['id']}", headers=p.tenant.admin)
    assert r.status_code == 200, r.text
    assert_error(client.get(f"/v1.0/talks/{other['id']}", headers=p.auth["Alice"]), 404)


# --- who reads and writes -------------------------------------------------------------


def test_only_active_participants_read_and_write(client, people, other_tenant):
    p = people
    talk = group(client, p)
    msg = post(client, p.auth["Alice"], talk["id"], text="inside")
    url = f"/v1.0/talks/{talk['id']}/messages"
    for outsider in (p.auth["Dave"], p.tenant.admin, p.tenant.manager, other_tenant.admin):
        assert_error(client.get(url, headers=outsider), 404, "talk_not_found")
        assert_error(client.post(url, headers=outsider, json={"text": "x"}), 404, "talk_not_found")
        assert_error(client.get(f"{url}/{msg['id']}", headers=outsider), 404, "talk_not_found")
        assert_error(
            client.put(f"{url}/{msg['id']}", headers=outsider, json={"text": "x"}),
            404,
            "talk_not_found",
        )
        assert_error(
            client.post(f"/v1.0/talks/{talk['id']}/read", headers=outsider), 404, "talk_not_found"
        )
    # the admin may add people (themself, too) without being in the talk
    r = client.post(
        f"/v1.0/talks/{talk['id']}/participants",
        headers=p.tenant.admin,
        json={"agent_id": p.ids["Carol"]},
    )
    assert r.status_code == 201, r.text
    assert [m["text"] for m in stream(client, p.auth["Carol"], talk["id"])][-1] == "inside"
    assert_error(
        client.post(
            f"/v1.0/talks/{talk['id']}/participants",
            headers=other_tenant.admin,
            json={"agent_id": other_tenant.agent_id},
        ),
        404,
        "talk_not_found",
    )
    # foreign and malformed ids of every kind
    theirs = create(client, other_tenant.admin, name="theirs")
    their_msg = post(client, other_tenant.admin, theirs["id"], text="theirs")
    other = group(client, p, name="other")
    other_msg = post(client, p.auth["Alice"], other["id"], text="elsewhere")
    h = p.auth["Alice"]
    assert_error(
        client.get(f"/v1.0/talks/{theirs['id']}/messages", headers=h), 404, "talk_not_found"
    )
    assert_error(client.get("/v1.0/talks/123/messages", headers=h), 404, "talk_not_found")
    for mid in (their_msg["id"], other_msg["id"], "zzz", str(uuid.uuid4())):
        assert_error(client.get(f"{url}/{mid}", headers=h), 404, "message_not_found")
        assert_error(
            client.put(f"{url}/{mid}", headers=h, json={"text": "x"}), 404, "message_not_found"
        )
        assert_error(client.delete(f"{url}/{mid}", headers=h), 404, "message_not_found")
        assert_error(
            client.get(url, headers=h, params={"parent_id": mid}), 404, "message_not_found"
        )
        # a malformed id in a body is a 422 naming it; a well-formed foreign one a 404
        assert_error(
            client.post(url, headers=h, json={"text": "x", "parent_id": mid}),
            422 if mid == "zzz" else 404,
            "invalid_body" if mid == "zzz" else "message_not_found",
        )
    for mid in (their_msg["id"], "zzz"):
        assert_error(
            client.post(f"/v1.0/messages/{mid}/reactions", headers=h, json={"emoji": "👍"}),
            404,
            "message_not_found",
        )
    their_participant = theirs["participants"][0]["id"]
    for pid in (their_participant, other["participants"][1]["id"], "zzz"):
        assert_error(
            client.delete(f"/v1.0/talks/{talk['id']}/participants/{pid}", headers=h),
            404,
            "participant_not_found",
        )


# --- participants ---------------------------------------------------------------------


def test_join_leave_rejoin_remove_with_system_lines(client, people, other_tenant):
    p = people
    talk = group(client, p)
    base = f"/v1.0/talks/{talk['id']}/participants"
    added = client.post(base, headers=p.auth["Bob"], json={"agent_id": p.ids["Carol"]})
    assert added.status_code == 201, added.text
    carol = added.json()
    assert carol["agent_id"] == p.ids["Carol"] and carol["status"] == "active"
    assert carol["talk_id"] == talk["id"] and carol["tm_left"] is None
    again = client.post(base, headers=p.auth["Alice"], json={"agent_id": p.ids["Carol"]})
    assert again.status_code == 200 and again.json() == carol
    for stranger in (str(uuid.uuid4()), other_tenant.agent_id):
        assert_error(
            client.post(base, headers=p.auth["Bob"], json={"agent_id": stranger}),
            404,
            "agent_not_found",
        )
    r = client.post(base, headers=p.auth["Bob"], json={"agent_id": "bob"})
    assert assert_error(r, 422, "invalid_body")["fields"][0]["field"] == "agent_id"
    # leave one's own
    left = client.delete(f"{base}/{carol['id']}", headers=p.auth["Carol"])
    assert left.status_code == 200
    assert left.json()["status"] == "left" and left.json()["tm_left"]
    assert_error(client.get(f"/v1.0/talks/{talk['id']}", headers=p.auth["Carol"]), 404)
    shown = client.get(f"/v1.0/talks/{talk['id']}", headers=p.auth["Alice"]).json()
    assert shown["member_count"] == 2
    assert participant_of(shown, p.ids["Carol"])["status"] == "left"
    # rejoin: the same row, active again
    back = client.post(base, headers=p.auth["Alice"], json={"agent_id": p.ids["Carol"]})
    assert back.status_code == 201
    assert back.json()["id"] == carol["id"]
    assert back.json()["status"] == "active" and back.json()["tm_left"] is None
    # removing another: the creator (or an admin), not any participant
    bob = participant_of(shown, p.ids["Bob"])
    assert_error(
        client.delete(f"{base}/{bob['id']}", headers=p.auth["Carol"]), 403, "not_talk_creator"
    )
    r = client.delete(f"{base}/{bob['id']}", headers=p.auth["Alice"])
    assert r.status_code == 200 and r.json()["status"] == "left"
    r = client.delete(f"{base}/{carol['id']}", headers=p.tenant.admin)
    assert r.status_code == 200 and r.json()["status"] == "left"
    assert system_lines(client, p.auth["Alice"], talk["id"]) == [
        "Carol joined the talk.",
        "Carol left the talk.",
        "Carol joined the talk.",
        "Alice removed Bob from the talk.",
        f"{ADMIN} removed Carol from the talk.",
    ]
    # when the last one leaves, the talk closes (its closing line for whoever comes back)
    alice = participant_of(talk, p.ids["Alice"])
    client.delete(f"{base}/{alice['id']}", headers=p.auth["Alice"])
    after = client.get(f"/v1.0/talks/{talk['id']}", headers=p.tenant.admin).json()
    assert after["status"] == "closed" and after["member_count"] == 0
    # nobody is added to a closed talk, not even by an admin
    assert_error(
        client.post(base, headers=p.tenant.admin, json={"agent_id": p.ids["Dave"]}),
        409,
        "talk_closed",
    )
    client.post(f"/v1.0/talks/{talk['id']}/reopen", headers=p.tenant.admin)
    client.post(base, headers=p.tenant.admin, json={"agent_id": p.ids["Dave"]})
    assert system_lines(client, p.auth["Dave"], talk["id"])[-4:] == [
        "Alice left the talk.",
        "Everyone left; the talk closed.",
        f"{ADMIN} reopened the talk.",
        "Dave joined the talk.",
    ]


def test_direct_talk_keeps_its_two_agents(client, people):
    p = people
    talk = create(client, p.auth["Alice"], type="direct", participant_ids=[p.ids["Bob"]])
    base = f"/v1.0/talks/{talk['id']}/participants"
    for who in (p.auth["Alice"], p.tenant.admin):
        assert_error(
            client.post(base, headers=who, json={"agent_id": p.ids["Carol"]}),
            409,
            "direct_talk_fixed",
        )
    bob = participant_of(talk, p.ids["Bob"])
    assert_error(
        client.delete(f"{base}/{bob['id']}", headers=p.auth["Alice"]), 409, "direct_talk_fixed"
    )
    # leaving is allowed, and either one may bring the other back
    assert client.delete(f"{base}/{bob['id']}", headers=p.auth["Bob"]).json()["status"] == "left"
    r = client.post(base, headers=p.auth["Alice"], json={"agent_id": p.ids["Bob"]})
    assert r.status_code == 201 and r.json()["id"] == bob["id"]


def test_close_and_reopen(client, people):
    p = people
    talk = group(client, p)
    tid = talk["id"]
    post(client, p.auth["Bob"], tid, text="before")
    closed = client.post(f"/v1.0/talks/{tid}/close", headers=p.auth["Bob"])
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    # closing twice changes nothing
    assert (
        client.post(f"/v1.0/talks/{tid}/close", headers=p.auth["Bob"]).json()["status"] == "closed"
    )
    assert_error(
        client.post(f"/v1.0/talks/{tid}/messages", headers=p.auth["Alice"], json={"text": "x"}),
        409,
        "talk_closed",
    )
    assert_error(
        client.post(
            f"/v1.0/talks/{tid}/participants",
            headers=p.auth["Alice"],
            json={"agent_id": p.ids["Carol"]},
        ),
        409,
        "talk_closed",
    )
    # still readable
    assert [m["text"] for m in stream(client, p.auth["Alice"], tid)][:2] == [
        "Bob closed the talk.",
        "before",
    ]
    assert_error(
        client.post(f"/v1.0/talks/{tid}/close", headers=p.auth["Dave"]), 404, "talk_not_found"
    )
    opened = client.post(f"/v1.0/talks/{tid}/reopen", headers=p.auth["Alice"])
    assert opened.status_code == 200 and opened.json()["status"] == "active"
    post(client, p.auth["Alice"], tid, text="after")
    assert system_lines(client, p.auth["Bob"], tid) == [
        "Bob closed the talk.",
        "Alice reopened the talk.",
    ]
    # an admin outside the talk may close it too
    r = client.post(f"/v1.0/talks/{tid}/close", headers=p.tenant.admin)
    assert r.status_code == 200 and r.json()["status"] == "closed"


# --- messages -------------------------------------------------------------------------


def test_post_text_media_and_verbatim_html(client, people):
    p = people
    tid = group(client, p)["id"]
    html = '<script>alert("x")</script><b>bold</b> & "quotes"'
    m = post(client, p.auth["Alice"], tid, text=html)
    assert m["text"] == html and m["type"] == "normal" and m["agent_id"] == p.ids["Alice"]
    assert m["talk_id"] == tid and m["customer_id"] == p.tenant.customer_id
    assert m["parent_id"] is None and m["reply_count"] == 0 and m["reactions"] == []
    assert m["tm_update"] == m["tm_create"] and m["tm_delete"] == LIVE
    media = {"type": "image/png", "url": "https://cdn.example/cat.png", "name": "cat.png"}
    only_media = post(client, p.auth["Bob"], tid, medias=[media])
    assert only_media["medias"] == [media] and only_media["text"] == ""
    for bad in (
        {"type": "image/png", "url": "ftp://cdn.example/cat.png"},
        {"type": "image/png", "url": "javascript:alert(1)"},
        {"type": "image", "url": "https://cdn.example/cat.png"},
        {"type": "", "url": "https://cdn.example/cat.png"},
        {"url": "https://cdn.example/cat.png"},
        {"type": "image/png", "url": "https://x", "size": 3},
    ):
        r = client.post(
            f"/v1.0/talks/{tid}/messages", headers=p.auth["Alice"], json={"medias": [bad]}
        )
        assert_error(r, 422, "invalid_body")
    for body in ({}, {"text": ""}, {"text": "  \n "}, {"text": "", "medias": []}):
        r = client.post(f"/v1.0/talks/{tid}/messages", headers=p.auth["Alice"], json=body)
        assert_error(r, 422, "empty_message")
    got = client.get(f"/v1.0/talks/{tid}/messages/{m['id']}", headers=p.auth["Bob"]).json()
    assert got == m
    assert [x["id"] for x in stream(client, p.auth["Bob"], tid)] == [only_media["id"], m["id"]]


def all_pages(client, headers, path, **params) -> list[str]:
    """Every id over keyset pages of two."""
    seen: list[str] = []
    token = None
    while True:
        page = {"page_size": 2, **params, **({"page_token": token} if token else {})}
        r = client.get(path, headers=headers, params=page)
        assert r.status_code == 200, r.text
        seen += [x["id"] for x in r.json()["result"]]
        token = r.json()["next_page_token"]
        if not token:
            return seen


def same_time(db_url: str, table: str, ids: list[str]) -> None:
    """Rows created in one microsecond (two requests at once can do that)."""
    sql(
        db_url,
        f"UPDATE {table} SET tm_create = (SELECT min(tm_create)"
        f" FROM {table} WHERE id = ANY($1::uuid[])) WHERE id = ANY($1::uuid[])",
        ids,
    )


def test_message_and_talk_pages_lose_nothing_at_ties(client, people, db_url):
    p = people
    tid = group(client, p)["id"]
    sent = [post(client, p.auth["Alice"], tid, text=f"m{i}")["id"] for i in range(5)]
    path = f"/v1.0/talks/{tid}/messages"
    assert all_pages(client, p.auth["Bob"], path) == sent[::-1]
    # m1, m2, m3 in one microsecond: a page boundary falls inside the tie
    same_time(db_url, "talk_messages", sent[1:4])
    seen = all_pages(client, p.auth["Bob"], path)
    assert sorted(seen) == sorted(sent) and len(seen) == 5
    assert seen[0] == sent[4] and seen[-1] == sent[0]
    talks = [tid] + [group(client, p, name=f"t{i}")["id"] for i in range(4)]
    same_time(db_url, "talks", talks[1:4])
    seen = all_pages(client, p.auth["Bob"], "/v1.0/talks")
    assert sorted(seen) == sorted(talks) and len(seen) == 5
    assert_error(
        client.get(path, headers=p.auth["Bob"], params={"page_token": "yesterday"}),
        400,
        "invalid_page_token",
    )


def test_threads(client, people):
    p = people
    tid = group(client, p)["id"]
    root = post(client, p.auth["Alice"], tid, text="root")
    r1 = post(client, p.auth["Bob"], tid, text="r1", parent_id=root["id"])
    r2 = post(client, p.auth["Alice"], tid, text="r2", parent_id=r1["id"])  # reply to a reply
    assert r1["parent_id"] == root["id"] and r2["parent_id"] == root["id"]
    other_root = post(client, p.auth["Bob"], tid, text="other root")
    got_root = client.get(f"/v1.0/talks/{tid}/messages/{root['id']}", headers=p.auth["Bob"]).json()
    assert got_root["reply_count"] == 2
    main = stream(client, p.auth["Bob"], tid)
    assert [m["id"] for m in main] == [other_root["id"], root["id"]]
    assert main[1]["reply_count"] == 2
    for via in (root["id"], r1["id"], r2["id"]):
        thread = stream(client, p.auth["Bob"], tid, parent_id=via)
        assert [m["id"] for m in thread] == [r2["id"], r1["id"]]
    # a deleted reply leaves the thread and the count
    r = client.delete(f"/v1.0/talks/{tid}/messages/{r1['id']}", headers=p.auth["Bob"])
    assert r.status_code == 200
    assert [m["id"] for m in stream(client, p.auth["Alice"], tid, parent_id=root["id"])] == [
        r2["id"]
    ]
    assert (
        client.get(f"/v1.0/talks/{tid}/messages/{root['id']}", headers=p.auth["Bob"]).json()[
            "reply_count"
        ]
        == 1
    )
    # replying to the deleted reply is refused
    assert_error(
        client.post(
            f"/v1.0/talks/{tid}/messages",
            headers=p.auth["Alice"],
            json={"text": "x", "parent_id": r1["id"]},
        ),
        409,
        "message_deleted",
    )
    # a deleted root with replies stays in the stream, emptied; its thread is kept
    r = client.delete(f"/v1.0/talks/{tid}/messages/{root['id']}", headers=p.auth["Alice"])
    assert r.status_code == 200 and r.json()["tm_delete"] != LIVE
    main = stream(client, p.auth["Bob"], tid)
    assert [m["id"] for m in main] == [other_root["id"], root["id"]]
    assert main[1]["text"] == "" and main[1]["reply_count"] == 1
    assert [m["id"] for m in stream(client, p.auth["Bob"], tid, parent_id=root["id"])] == [r2["id"]]
    # a deleted root without replies goes
    client.delete(f"/v1.0/talks/{tid}/messages/{other_root['id']}", headers=p.auth["Bob"])
    assert [m["id"] for m in stream(client, p.auth["Bob"], tid)] == [root["id"]]


def test_edit_by_the_author_only(client, people):
    p = people
    tid = group(client, p, members=("Bob",))["id"]
    client.post(
        f"/v1.0/talks/{tid}/participants",
        headers=p.tenant.admin,
        json={"agent_id": p.tenant.admin_id},
    )
    m = post(
        client,
        p.auth["Alice"],
        tid,
        text="draft",
        medias=[{"type": "text/plain", "url": "https://x.example/a.txt"}],
    )
    url = f"/v1.0/talks/{tid}/messages/{m['id']}"
    for who in (p.auth["Bob"], p.tenant.admin):
        assert_error(
            client.put(url, headers=who, json={"text": "hijack"}), 403, "not_message_author"
        )
    r = client.put(url, headers=p.auth["Alice"], json={"text": "final"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["text"] == "final" and edited["tm_update"] > edited["tm_create"]
    assert edited["medias"] == m["medias"]
    assert client.get(url, headers=p.auth["Bob"]).json() == edited
    # with its medias, an empty text is fine; a text-only message cannot become empty
    assert client.put(url, headers=p.auth["Alice"], json={"text": ""}).status_code == 200
    plain = post(client, p.auth["Alice"], tid, text="plain")
    assert_error(
        client.put(
            f"/v1.0/talks/{tid}/messages/{plain['id']}", headers=p.auth["Alice"], json={"text": " "}
        ),
        422,
        "empty_message",
    )
    assert_error(client.put(url, headers=p.auth["Alice"], json={}), 422, "invalid_body")
    # system lines belong to nobody
    system = next(x for x in stream(client, p.auth["Alice"], tid) if x["type"] == "system")
    assert system["agent_id"] is None
    assert_error(
        client.put(
            f"/v1.0/talks/{tid}/messages/{system['id']}",
            headers=p.auth["Alice"],
            json={"text": "x"},
        ),
        403,
        "not_message_author",
    )
    # a deleted message is not edited
    client.delete(url, headers=p.auth["Alice"])
    assert_error(
        client.put(url, headers=p.auth["Alice"], json={"text": "back"}), 409, "message_deleted"
    )


def test_delete_by_author_or_admin_is_soft(client, people):
    p = people
    tid = group(client, p)["id"]
    media = {"type": "image/png", "url": "https://cdn.example/x.png", "name": "x.png"}
    m = post(client, p.auth["Alice"], tid, text="secret", medias=[media])
    client.post(f"/v1.0/messages/{m['id']}/reactions", headers=p.auth["Bob"], json={"emoji": "👍"})
    url = f"/v1.0/talks/{tid}/messages/{m['id']}"
    assert_error(client.delete(url, headers=p.auth["Bob"]), 403, "not_message_author")
    assert_error(client.delete(url, headers=p.auth["Dave"]), 404, "talk_not_found")
    r = client.delete(url, headers=p.auth["Alice"])
    assert r.status_code == 200
    gone = r.json()
    assert gone["id"] == m["id"] and gone["tm_delete"] != LIVE
    assert gone["text"] == "" and gone["medias"] == [] and gone["reactions"] == []
    assert client.get(url, headers=p.auth["Bob"]).json() == gone
    assert client.delete(url, headers=p.auth["Alice"]).json() == gone  # again: same answer
    # an admin, even outside the talk, deletes anyone's message
    b = post(client, p.auth["Bob"], tid, text="rude")
    r = client.delete(f"/v1.0/talks/{tid}/messages/{b['id']}", headers=p.tenant.admin)
    assert r.status_code == 200 and r.json()["tm_delete"] != LIVE
    assert stream(client, p.auth["Alice"], tid) == []


# --- reactions ------------------------------------------------------------------------


def test_reactions(client, people):
    p = people
    tid = group(client, p)["id"]
    m = post(client, p.auth["Alice"], tid, text="ship it?")
    url = f"/v1.0/messages/{m['id']}/reactions"
    first = client.post(url, headers=p.auth["Alice"], json={"emoji": "👍"})
    assert first.status_code == 201, first.text
    assert first.json()["reactions"] == [{"emoji": "👍", "count": 1, "agent_ids": [p.ids["Alice"]]}]
    for spelling in ("thumbsup", ":thumbsup:", "👍", "+1", "👍\ufe0f", " 👍 "):
        again = client.post(url, headers=p.auth["Alice"], json={"emoji": spelling})
        assert again.status_code == 200, spelling
        assert again.json()["reactions"][0]["count"] == 1
    r = client.post(url, headers=p.auth["Bob"], json={"emoji": "thumbsup"})
    assert r.status_code == 201
    r = client.post(url, headers=p.auth["Bob"], json={"emoji": "❤"})
    assert r.status_code == 201
    assert client.post(url, headers=p.auth["Bob"], json={"emoji": "heart"}).status_code == 200
    assert r.json()["reactions"] == [
        {"emoji": "👍", "count": 2, "agent_ids": [p.ids["Alice"], p.ids["Bob"]]},
        {"emoji": "❤️", "count": 1, "agent_ids": [p.ids["Bob"]]},
    ]
    got = client.get(f"/v1.0/talks/{tid}/messages/{m['id']}", headers=p.auth["Alice"]).json()
    assert got["reactions"] == r.json()["reactions"]
    for bad in ("hello", "a", "👍x", ":nope:", "<b>", "°", "─"):
        assert_error(
            client.post(url, headers=p.auth["Alice"], json={"emoji": bad}), 422, "invalid_emoji"
        )
    assert_error(client.post(url, headers=p.auth["Alice"], json={"emoji": ""}), 422, "invalid_body")
    assert_error(client.post(url, headers=p.auth["Alice"], json={}), 422, "invalid_body")
    # outsiders cannot see the message at all
    for outsider in (p.auth["Dave"], p.tenant.admin):
        assert_error(
            client.post(url, headers=outsider, json={"emoji": "👍"}), 404, "message_not_found"
        )
        assert_error(client.delete(url + "/thumbsup", headers=outsider), 404, "message_not_found")
    # removing: by short name, and by the URL-encoded emoji
    r = client.delete(url + "/thumbsup", headers=p.auth["Alice"])
    assert r.status_code == 200
    assert r.json()["reactions"][0] == {"emoji": "👍", "count": 1, "agent_ids": [p.ids["Bob"]]}
    r = client.delete(url + "/" + quote("👍"), headers=p.auth["Bob"])
    assert r.status_code == 200
    assert [x["emoji"] for x in r.json()["reactions"]] == ["❤️"]
    # removing what one does not have changes nothing
    assert client.delete(url + "/tada", headers=p.auth["Alice"]).json() == r.json()
    assert_error(client.delete(url + "/hello", headers=p.auth["Alice"]), 422, "invalid_emoji")
    # a deleted message takes no reactions
    client.delete(f"/v1.0/talks/{tid}/messages/{m['id']}", headers=p.auth["Alice"])
    assert_error(
        client.post(url, headers=p.auth["Bob"], json={"emoji": "👍"}), 409, "message_deleted"
    )
    assert_error(client.delete(url + "/heart", headers=p.auth["Bob"]), 409, "message_deleted")


# --- unread ---------------------------------------------------------------------------


def unread(client, headers) -> dict[str, int]:
    r = client.get("/v1.0/talks/unread", headers=headers)
    assert r.status_code == 200, r.text
    return {u["talk_id"]: u["unread_count"] for u in r.json()["result"]}


def test_unread_counts_and_read(client, people):
    p = people
    tid = group(client, p)["id"]
    other = group(client, p, creator="Bob", members=("Carol",), name="other")["id"]
    assert unread(client, p.auth["Bob"]) == {tid: 0, other: 0}
    post(client, p.auth["Alice"], tid, text="one")
    m2 = post(client, p.auth["Alice"], tid, text="two")
    post(client, p.auth["Bob"], tid, text="mine")  # own messages do not count
    client.post(
        f"/v1.0/talks/{tid}/participants",
        headers=p.auth["Alice"],
        json={"agent_id": p.ids["Carol"]},
    )
    assert unread(client, p.auth["Bob"]) == {tid: 0, other: 0}  # writing marks read
    post(client, p.auth["Alice"], tid, text="three")
    post(client, p.auth["Alice"], tid, text="reply", parent_id=m2["id"])
    client.post(f"/v1.0/talks/{tid}/close", headers=p.auth["Alice"])  # a system line
    client.post(f"/v1.0/talks/{tid}/reopen", headers=p.auth["Alice"])
    assert unread(client, p.auth["Bob"]) == {tid: 2, other: 0}
    assert unread(client, p.auth["Alice"]) == {tid: 0}
    # Carol joined after "one" and "two": she counts what came since
    assert unread(client, p.auth["Carol"]) == {tid: 2, other: 0}
    r = client.post(f"/v1.0/talks/{tid}/read", headers=p.auth["Bob"])
    assert r.status_code == 200
    assert r.json()["talk_id"] == tid and r.json()["unread_count"] == 0
    assert unread(client, p.auth["Bob"]) == {tid: 0, other: 0}
    post(client, p.auth["Carol"], tid, text="four")
    assert unread(client, p.auth["Bob"])[tid] == 1
    assert unread(client, p.tenant.admin) == {}


# --- files ----------------------------------------------------------------------------


def test_a_talk_file_is_served_to_participants_only(client, people, server, data_dir, other_tenant):
    from app.conversations import media
    from app.talk import messages as talk_messages

    p = people
    tid = group(client, p)["id"]
    stored = media.store(
        data_dir,
        server.url,
        "notes.txt",
        "text/plain",
        b"for the team only",
        area=talk_messages.files_area(tid),
    )
    path = stored["url"].removeprefix(server.url)
    assert path.startswith(f"/talks/{tid}/files/")
    m = post(client, p.auth["Alice"], tid, text="see file", medias=[stored])
    assert m["medias"][0]["url"] == stored["url"]
    r = client.get(path, headers=p.auth["Bob"])
    assert r.status_code == 200 and r.content == b"for the team only"
    assert "private" in r.headers["cache-control"]
    token = p.auth["Bob"]["Authorization"].removeprefix("Bearer ")
    assert httpx.get(server.url + path, params={"token": token}).status_code == 200
    for outsider in (p.auth["Dave"], p.tenant.admin, other_tenant.admin):
        assert client.get(path, headers=outsider).status_code == 404
    assert client.get(path).status_code == 401
    # the same key under another talk the outsider is in does not reach it
    dave_talk = group(client, p, creator="Dave", members=(), name="dave")["id"]
    assert client.get(path.replace(tid, dave_talk), headers=p.auth["Dave"]).status_code == 404
    key = path.split("/")[4]
    assert (
        client.get(f"/talks/{tid}/files/{key}/other.txt", headers=p.auth["Bob"]).status_code == 404
    )
    # Bob links Alice's file in a message of his own, then deletes that: hers stays
    copy = post(client, p.auth["Bob"], tid, text="same file", medias=[stored])
    client.delete(f"/v1.0/talks/{tid}/messages/{copy['id']}", headers=p.auth["Bob"])
    assert client.get(path, headers=p.auth["Alice"]).status_code == 200
    # deleting the message that holds it deletes the file
    client.delete(f"/v1.0/talks/{tid}/messages/{m['id']}", headers=p.auth["Alice"])
    assert client.get(path, headers=p.auth["Bob"]).status_code == 404
