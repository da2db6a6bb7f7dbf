"""Availability: an agent's own switch (`PUT /v1.0/me/availability`), its event for every
agent, and auto-offline — a server whose agents go offline two seconds after their last
desk closes, and come back online when a desk opens again.

The module has its own database and server (CONVODESK_AUTO_OFFLINE_AFTER=2): no other
server's timer flips its agents."""

from __future__ import annotations

import httpx
import pytest
from conftest import ServerProcess, Tenant, assert_error, cli_env, own_database
from db_kit import sql_value
from websockets.sync.client import connect
from ws_kit import sockets

AFTER = 2  # seconds: a desk beats every half second, so load never flips one that is open


@pytest.fixture(scope="module")
def life_db() -> str:
    return own_database("availability")


@pytest.fixture(scope="module")
def life_server(life_db):
    env = cli_env(DATABASE_URL=life_db, CONVODESK_AUTO_OFFLINE_AFTER=str(AFTER))
    srv = ServerProcess(env).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def db_url(life_db) -> str:
    return life_db


@pytest.fixture
def client(life_server):
    with httpx.Client(base_url=life_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(client, life_db) -> Tenant:
    return Tenant(client, "acme", db_url=life_db)


@pytest.fixture
def other_tenant(client, life_db) -> Tenant:
    return Tenant(client, "globex", db_url=life_db)


def _me(client, who) -> dict:
    r = client.get("/v1.0/me", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _desk(server, headers: dict[str, str]):
    """A desk socket of the agent behind `headers` (its token as the session cookie)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    ws = connect(
        server.url.replace("http://", "ws://") + "/desk/ws",
        additional_headers={"Cookie": f"token={token}", "Origin": server.url},
    ).__enter__()  # closed by the test, or with `with`
    # caught up: frames for events the desk does not show, and the desk's own availability
    # change (its rail switch), may come first
    frame = ws.recv(timeout=10)
    while 'data-state="live"' not in frame:
        frame = ws.recv(timeout=10)
    return ws


def test_an_agent_sets_its_own_availability_and_everyone_hears(client, life_server, tenant):
    me = _me(client, tenant.agent)
    assert me["id"] == tenant.agent_id
    assert (me["availability"], me["status"], me["auto_offline"]) == ("offline", "active", False)
    assert me["max_open"] is None and me["team_ids"] == []
    # patience: the first test of the module meets its server just started, on a machine
    # the suite's other processes may be keeping busy
    with sockets(life_server.url, patience=10.0) as make:
        # any agent of the customer sees who is online: here the manager
        watcher = make(tenant.manager)
        watcher.subscribe(f"customer_id:{tenant.customer_id}:agent")
        r = client.put(
            "/v1.0/me/availability", headers=tenant.agent, json={"availability": "online"}
        )
        assert r.status_code == 200, r.text
        assert (r.json()["availability"], r.json()["id"]) == ("online", tenant.agent_id)
        # the same again changes nothing and says nothing: the next frame is the next change
        for availability in ("online", "away"):
            r = client.put(
                "/v1.0/me/availability", headers=tenant.agent, json={"availability": availability}
            )
            assert r.status_code == 200, r.text
        online, away = watcher.events(2)
    assert [e["type"] for e in (online, away)] == ["agent_availability_updated"] * 2
    assert (online["data"]["id"], online["data"]["availability"]) == (tenant.agent_id, "online")
    assert away["data"]["availability"] == "away"
    assert away["data"] == _me(client, tenant.agent)


def test_availability_input_rules(client, tenant):
    for body in (
        {},
        {"availability": "busy"},
        {"availability": "available"},
        {"availability": None},
        {"availability": 1},
        {"availability": "online", "extra": True},
        {"availability": "online\x00"},
    ):
        r = client.put("/v1.0/me/availability", headers=tenant.agent, json=body)
        assert r.status_code in (400, 422), (body, r.text)
    assert_error(client.get("/v1.0/me"), 401)
    assert_error(client.put("/v1.0/me/availability", json={"availability": "online"}), 401)
    assert _me(client, tenant.agent)["availability"] == "offline"


def test_another_customer_never_hears_of_our_agents(client, life_server, tenant, other_tenant):
    with sockets(life_server.url) as make:
        theirs = make(other_tenant.agent)
        refused = {"type": "subscribe", "topics": [f"customer_id:{tenant.customer_id}:agent"]}
        theirs.send(refused)
        assert theirs.recv()["type"] == "subscribed"  # an empty acknowledgement…
        assert theirs.recv()["reason"] == "topic_forbidden"  # …and the refusal
        theirs.subscribe(f"customer_id:{other_tenant.customer_id}:agent")
        client.put("/v1.0/me/availability", headers=tenant.agent, json={"availability": "online"})
        client.put(
            "/v1.0/me/availability", headers=other_tenant.agent, json={"availability": "online"}
        )
        (event,) = theirs.events(1)
    assert event["data"]["id"] == other_tenant.agent_id


def test_no_desk_for_a_while_means_offline_and_a_desk_brings_it_back(
    client, life_server, tenant, db_url
):
    """Both the agent and the manager open a desk and go online. The manager closes its
    desk and goes offline by itself after the timeout; the agent, whose desk stayed open
    all along (opened before the manager's closed, so it would have gone stale first),
    is still online when that happens. The manager opens a desk again: online again."""
    with sockets(life_server.url) as make:
        watcher = make(tenant.admin)
        watcher.subscribe(f"customer_id:{tenant.customer_id}:agent")
        agent_desk = _desk(life_server, tenant.agent)
        manager_desk = _desk(life_server, tenant.manager)
        for who in (tenant.agent, tenant.manager):
            client.put("/v1.0/me/availability", headers=who, json={"availability": "online"})
        assert [e["data"]["availability"] for e in watcher.events(2)] == ["online", "online"]
        seen = "SELECT tm_seen IS NOT NULL FROM agents WHERE id = $1"
        assert sql_value(db_url, seen, tenant.agent_id)
        assert sql_value(db_url, seen, tenant.manager_id)
        manager_desk.close()

        (gone,) = watcher.events(1, timeout=15)
        assert gone["type"] == "agent_availability_updated"
        assert gone["data"]["id"] == tenant.manager_id
        assert (gone["data"]["availability"], gone["data"]["auto_offline"]) == ("offline", True)
        assert _me(client, tenant.agent)["availability"] == "online"

        manager_desk = _desk(life_server, tenant.manager)
        (back,) = watcher.events(1)
        assert back["data"]["id"] == tenant.manager_id
        assert (back["data"]["availability"], back["data"]["auto_offline"]) == ("online", False)
        manager_desk.close()
        agent_desk.close()
        # both go offline by themselves now, and the manager's choice ends the next return
        flipped = {e["data"]["id"]: e["data"] for e in watcher.events(2, timeout=15)}
        assert set(flipped) == {tenant.agent_id, tenant.manager_id}
        client.put("/v1.0/me/availability", headers=tenant.manager, json={"availability": "away"})
        (chose,) = watcher.events(1)
        assert (chose["data"]["availability"], chose["data"]["auto_offline"]) == ("away", False)
        with _desk(life_server, tenant.manager):
            # the agent's return is the next event: the manager's desk changed nothing
            with _desk(life_server, tenant.agent):
                (returned,) = watcher.events(1)
        assert returned["data"]["id"] == tenant.agent_id
        assert returned["data"]["availability"] == "online"
    assert _me(client, tenant.manager)["availability"] == "away"


def test_an_agent_who_never_opened_a_desk_is_left_alone(client, life_server, tenant, db_url):
    """API-only agents (no desk ever: tm_seen null) keep the availability they set: here
    shown by a desk agent going offline by itself after them."""
    with sockets(life_server.url) as make:
        watcher = make(tenant.admin)
        watcher.subscribe(f"customer_id:{tenant.customer_id}:agent")
        client.put("/v1.0/me/availability", headers=tenant.manager, json={"availability": "online"})
        with _desk(life_server, tenant.agent):
            client.put(
                "/v1.0/me/availability", headers=tenant.agent, json={"availability": "online"}
            )
        events = watcher.events(3, timeout=15)
    assert [(e["data"]["id"], e["data"]["availability"]) for e in events] == [
        (tenant.manager_id, "online"),
        (tenant.agent_id, "online"),
        (tenant.agent_id, "offline"),
    ]
    assert _me(client, tenant.manager)["availability"] == "online"
    assert sql_value(db_url, "SELECT tm_seen FROM agents WHERE id = $1", tenant.manager_id) is None
