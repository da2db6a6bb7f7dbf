"""Customer webhooks against a real server and a real local receiver: Standard Webhooks
signatures checked here from the specification, the retry schedule, 410, redirects,
Retry-After, isolation between endpoints, a killed dispatcher, and the delivery log.

The retry schedule runs in hours; the tests read each planned `next_try_at` from the
delivery, then move it to now in the database (the clock jumping forward) to see the next
attempt come.
"""

# ruff: noqa: F811 - fixtures imported from webhook_kit are taken as test arguments

from __future__ import annotations

import base64
import json
import signal
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from conftest import (
    ServerProcess,
    Tenant,
    assert_error,
    cli_env,
    own_database,
    wait_for,
)
from db_kit import sql
from providers import ProviderServer, Recorded, Reply
from webhook_kit import allowing, configure, endpoint, verifies

from app.domain.enums import PUBLIC_EVENTS

# isort: split
# the module's server, database, client, tenant and receiver
from webhook_kit import client, db_url, hook_server, receiver, tenant  # noqa: F401

SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


@pytest.fixture(scope="module")
def hook_db() -> str:
    """The module's own database: only its server's dispatcher may make its deliveries."""
    return own_database("webhooks")


@pytest.fixture(scope="module")
def alone_db() -> str:
    """For the tests that start servers of their own (one dispatcher at a time)."""
    return own_database("webhooks_alone")


@pytest.fixture
def other_tenant(client, hook_db) -> Tenant:
    return Tenant(client, "globex", db_url=hook_db)


def secret_of(client, tenant: Tenant) -> str:
    r = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["webhook_secret"]


ROOM_EVENTS = sorted(e.value for e in PUBLIC_EVENTS if e.startswith("conversation_"))
"""A room's own events: what tests that count or order deliveries subscribe to (a room
opened through the API also makes its contact, a `contact_created` delivery of its own)."""


def make_room(client, tenant: Tenant, name: str = "Printer on fire") -> dict:
    r = client.post(
        "/v1.0/conversations",
        headers=tenant.admin,
        json={"name": name, "participants": [{"type": "tel", "target": "+15551230000"}]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def hooks(receiver: ProviderServer, event_type: str | None = None) -> list[Recorded]:
    got = receiver.received("POST", "/hook.*") + receiver.received("PUT", "/hook.*")
    return [r for r in got if event_type is None or json.loads(r.body)["type"] == event_type]


def deliveries(client, tenant: Tenant, **params) -> list[dict]:
    r = client.get("/v1.0/webhook_deliveries", headers=tenant.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def one_delivery(client, tenant: Tenant, event_type: str, **match) -> dict:
    def find():
        found = [
            d
            for d in deliveries(client, tenant, event_type=event_type)
            if all(d[k] == v for k, v in match.items())
        ]
        return found[0] if found else None

    return wait_for(find, timeout=20)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def jump_to_next_try(db_url: str, delivery_id: str) -> None:
    """The clock jumps forward to the delivery's next try."""
    sql(db_url, "UPDATE webhook_deliveries SET next_try_at = now() WHERE id = $1", delivery_id)


# --- signing and the body -----------------------------------------------------------------


def test_delivery_is_signed_per_the_specification(client, tenant, receiver):
    configure(client, tenant, receiver.url + "/hook")
    secret = secret_of(client, tenant)
    room = make_room(client, tenant)
    [request] = wait_for(lambda: hooks(receiver, "conversation_created"), timeout=20)

    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert verifies(request, secret)
    # a receiver holding another secret rejects it
    assert not verifies(request, "whsec_" + base64.b64encode(b"x" * 32).decode())
    # the timestamp is now (receivers reject more than 5 minutes off)
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60

    body = json.loads(request.body)
    assert list(body) == ["id", "type", "tm_create", "data"]
    assert body["id"] == request.headers["webhook-id"]
    assert body["type"] == "conversation_created"
    # data is the resource exactly as the API returns it
    assert body["data"] == room

    delivery = one_delivery(client, tenant, "conversation_created", status="delivered")
    assert delivery["event_id"] == body["id"]
    assert delivery["attempt_count"] == 1
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] == 200 and attempt["uri"] == receiver.url + "/hook"
    assert attempt["response"] == "ok" and attempt["latency_ms"] >= 0
    assert delivery["tm_delivered"] and delivery["next_try_at"] == ""


def test_put_method_and_event_filter(client, tenant, receiver):
    configure(
        client,
        tenant,
        receiver.url + "/hook-put",
        webhook_method="PUT",
        webhook_events=["conversation_updated"],
    )
    room = make_room(client, tenant)
    r = client.put(
        f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json={"name": "Renamed"}
    )
    assert r.status_code == 200, r.text
    [request] = wait_for(lambda: hooks(receiver), timeout=20)
    assert request.method == "PUT"
    assert json.loads(request.body)["type"] == "conversation_updated"
    assert json.loads(request.body)["data"]["name"] == "Renamed"
    # a later rename's delivery comes next (events fan out in id order): by then the room's
    # creation was looked at, and conversation_created was not subscribed: no delivery
    # was even made for it
    r = client.put(f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json={"name": "2"})
    assert r.status_code == 200, r.text
    wait_for(lambda: len(hooks(receiver)) >= 2, timeout=20)
    sent = [json.loads(r.body) for r in hooks(receiver)]
    assert [(b["type"], b["data"]["name"]) for b in sent] == [
        ("conversation_updated", "Renamed"),
        ("conversation_updated", "2"),
    ]
    assert deliveries(client, tenant, event_type="conversation_created") == []


def test_all_events_means_the_documented_ones_not_the_desks_own_lines(client, tenant, receiver):
    configure(client, tenant, receiver.url + "/hook")  # webhook_events [] = all
    room = make_room(client, tenant)
    url = f"/v1.0/conversations/{room['id']}"
    # assigning writes a system line (an activity event) besides conversation_updated
    r = client.put(url, headers=tenant.admin, json={"owner_id": tenant.agent_id})
    assert r.status_code == 200, r.text
    r = client.put(url, headers=tenant.admin, json={"name": "Later"})
    assert r.status_code == 200, r.text
    # events fan out in id order: once the later rename has its delivery, the system line
    # written before it has been looked at too
    wait_for(lambda: len(deliveries(client, tenant, event_type="conversation_updated")) == 2)
    kinds = {d["event_type"] for d in deliveries(client, tenant)}
    # the room's new contact, and the assignee's notification, are documented (public): they go too
    assert kinds == {
        "contact_created",
        "conversation_created",
        "conversation_updated",
        "notification_created",
    }


def test_only_events_after_the_endpoint_was_set_are_sent(client, tenant, receiver):
    make_room(client, tenant, "Before")
    configure(client, tenant, receiver.url + "/hook")
    make_room(client, tenant, "After")
    wait_for(lambda: hooks(receiver, "conversation_created"), timeout=20)
    # a later room's delivery comes next: nothing of the room made before came first
    make_room(client, tenant, "Later")

    def names():
        return [json.loads(r.body)["data"]["name"] for r in hooks(receiver, "conversation_created")]

    wait_for(lambda: "Later" in names(), timeout=20)
    assert names() == ["After", "Later"]


def test_rotation_signs_with_both_secrets_for_the_grace_period(client, tenant, receiver, db_url):
    configure(client, tenant, receiver.url + "/hook")
    old = secret_of(client, tenant)
    r = client.post("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.status_code == 200, r.text
    new = r.json()["webhook_secret"]
    assert new != old and new.startswith("whsec_")
    assert len(base64.b64decode(new[len("whsec_") :])) == 32
    expires = parse_time(r.json()["previous_secret_expires"])
    assert abs((expires - datetime.now(UTC)).total_seconds() - 86400) < 120
    assert secret_of(client, tenant) == new

    make_room(client, tenant, "During the grace period")
    [request] = wait_for(lambda: hooks(receiver, "conversation_created"), timeout=20)
    signatures = request.headers["webhook-signature"].split()
    assert len(signatures) == 2
    assert verifies(request, new) and verifies(request, old)

    # a day later the old secret no longer signs
    sql(
        db_url,
        "UPDATE customers SET webhook_secret_rotated_at = now() - interval '25 hours'"
        " WHERE id = $1",
        tenant.customer_id,
    )
    receiver.clear()
    make_room(client, tenant, "After the grace period")
    [request] = wait_for(lambda: hooks(receiver, "conversation_created"), timeout=20)
    assert len(request.headers["webhook-signature"].split()) == 1
    assert verifies(request, new) and not verifies(request, old)
    r = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.json()["previous_secret_expires"] == ""


# --- retries ------------------------------------------------------------------------------


def test_failures_are_retried_on_the_schedule_with_the_same_id(client, tenant, receiver, db_url):
    receiver.route("POST", "/hook", lambda r, m: Reply(status=500, body=b"boom"))
    configure(client, tenant, receiver.url + "/hook")
    make_room(client, tenant)
    delivery = one_delivery(client, tenant, "conversation_created", attempt_count=1)

    for attempt, delay in enumerate(SCHEDULE, start=1):
        delivery = one_delivery(
            client, tenant, "conversation_created", attempt_count=attempt, status="pending"
        )
        last = delivery["attempts"][-1]
        assert last["status_code"] == 500 and last["response"] == "boom"
        assert delivery["last_error"] == "HTTP 500 Internal Server Error"
        waited = parse_time(delivery["next_try_at"]) - parse_time(last["tm_create"])
        # the schedule, with up to 10% jitter either way
        assert delay * 0.89 <= waited.total_seconds() <= delay * 1.11, (attempt, waited)
        if attempt == 1:
            # the first retry comes by itself, about 5 s later
            delivery = one_delivery(client, tenant, "conversation_created", attempt_count=2)
            continue
        jump_to_next_try(db_url, delivery["id"])

    failed = one_delivery(client, tenant, "conversation_created", status="failed")
    assert failed["attempt_count"] == 8 and len(failed["attempts"]) == 8
    assert failed["next_try_at"] == ""
    sent = hooks(receiver, "conversation_created")
    assert len(sent) == 8
    assert len({r.headers["webhook-id"] for r in sent}) == 1
    assert len({r.body for r in sent}) == 1
    # every attempt is signed afresh with its own timestamp
    secret = secret_of(client, tenant)
    assert all(verifies(r, secret) for r in sent)
    assert deliveries(client, tenant, status="failed")[0]["id"] == failed["id"]

    # and the log keeps it replayable: a manual retry against a fixed endpoint delivers it
    receiver.route("POST", "/hook", lambda r, m: Reply(status=200))
    r = client.post(f"/v1.0/webhook_deliveries/{failed['id']}/retry", headers=tenant.admin)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    done = one_delivery(client, tenant, "conversation_created", status="delivered")
    assert done["attempt_count"] == 9
    assert hooks(receiver)[-1].headers["webhook-id"] == sent[0].headers["webhook-id"]


def test_a_slow_endpoint_times_out_and_is_retried(client, tenant, receiver):
    calls = []

    def slow_then_quick(request, match):
        calls.append(time.monotonic())
        return Reply(status=200, delay=7 if len(calls) == 1 else 0)

    receiver.route("POST", "/hook", slow_then_quick)
    configure(client, tenant, receiver.url + "/hook", webhook_events=ROOM_EVENTS)
    make_room(client, tenant)
    delivery = one_delivery(client, tenant, "conversation_created", status="delivered")
    assert delivery["attempt_count"] == 2
    first, second = delivery["attempts"]
    assert first["status_code"] is None and first["error"] == "No answer within 5 s."
    assert 4500 <= first["latency_ms"] < 7000
    assert second["status_code"] == 200
    sent = hooks(receiver)
    assert len(sent) == 2 and sent[0].headers["webhook-id"] == sent[1].headers["webhook-id"]


def test_retry_after_is_honoured(client, tenant, receiver):
    receiver.route("POST", "/hook", lambda r, m: Reply(status=429, headers={"Retry-After": "120"}))
    configure(client, tenant, receiver.url + "/hook")
    make_room(client, tenant)
    # pending again after its first attempt (a new delivery is pending before it, too)
    delivery = one_delivery(
        client, tenant, "conversation_created", status="pending", attempt_count=1
    )
    assert delivery["last_status_code"] == 429
    waited = parse_time(delivery["next_try_at"]) - parse_time(delivery["attempts"][0]["tm_create"])
    assert 119 <= waited.total_seconds() <= 121


def test_redirects_are_not_followed(client, tenant, receiver):
    receiver.route(
        "POST", "/hook", lambda r, m: Reply(status=302, headers={"Location": "/elsewhere"})
    )
    configure(client, tenant, receiver.url + "/hook")
    make_room(client, tenant)
    # pending again after its first attempt (a new delivery is pending before it, too)
    delivery = one_delivery(
        client, tenant, "conversation_created", status="pending", attempt_count=1
    )
    assert delivery["last_status_code"] == 302
    assert "not followed" in delivery["last_error"] and "/elsewhere" in delivery["last_error"]
    # the attempt is recorded once it ended: a redirect followed would have come before
    assert receiver.received("POST", "/elsewhere") == []


def test_receiver_down_then_up_gets_every_event(client, tenant, db_url):
    # an endpoint on a port nobody listens on yet
    down = ProviderServer()
    url = down.url
    down.stop()
    configure(client, tenant, url + "/hook", webhook_events=ROOM_EVENTS)
    rooms = [make_room(client, tenant, f"Room {i}") for i in range(5)]
    wait_for(
        lambda: (
            len(deliveries(client, tenant, event_type="conversation_created", status="pending"))
            == 5
            and all(d["attempt_count"] >= 1 for d in deliveries(client, tenant))
        ),
        timeout=20,
    )
    refused = deliveries(client, tenant, event_type="conversation_created")[0]
    assert refused["attempts"][0]["status_code"] is None
    assert "ConnectError" in refused["attempts"][0]["error"]

    # the endpoint comes back on the same port; its retries (5 s later) reach it
    port = int(url.rsplit(":", 1)[1])
    back = ProviderServer(port=port)
    back.route("POST", "/hook", lambda r, m: Reply(status=200))
    try:
        wait_for(lambda: len(deliveries(client, tenant, status="delivered")) == 5, timeout=30)
        got = {json.loads(r.body)["data"]["id"] for r in hooks(back, "conversation_created")}
        assert got == {room["id"] for room in rooms}
    finally:
        back.stop()


def test_410_disables_the_endpoint_until_saved_again(client, tenant, other_tenant, receiver):
    receiver.route("POST", "/hook", lambda r, m: Reply(status=410))
    configure(client, tenant, receiver.url + "/hook", webhook_events=ROOM_EVENTS)
    make_room(client, tenant, "First")
    gone = one_delivery(client, tenant, "conversation_created", status="failed")
    assert gone["last_status_code"] == 410 and "disabled" in gone["last_error"]
    me = client.get("/v1.0/customer", headers=tenant.admin).json()
    assert me["webhook_status"] == "disabled" and "410" in me["webhook_disabled_reason"]

    # meanwhile events wait: nothing is sent, nothing is lost
    make_room(client, tenant, "While disabled")
    waiting = one_delivery(client, tenant, "conversation_created", status="pending")
    # another customer's later delivery arrives: the dispatcher has looked at the due
    # deliveries (oldest first) since, and left the disabled endpoint's alone
    elsewhere = endpoint()
    try:
        configure(client, other_tenant, elsewhere.url + "/hook")
        make_room(client, other_tenant, "Elsewhere")
        wait_for(lambda: hooks(elsewhere, "conversation_created"), timeout=20)
    finally:
        elsewhere.stop()
    assert len(hooks(receiver)) == 1
    waiting = one_delivery(client, tenant, "conversation_created", status="pending")
    assert waiting["attempt_count"] == 0

    # the customer fixes the endpoint and saves the settings: it is enabled, the wait ends
    receiver.route("POST", "/hook", lambda r, m: Reply(status=200))
    me = configure(client, tenant, receiver.url + "/hook")
    assert me["webhook_status"] == "enabled" and me["webhook_disabled_reason"] == ""
    wait_for(lambda: deliveries(client, tenant, status="delivered"), timeout=20)
    assert json.loads(hooks(receiver)[-1].body)["data"]["name"] == "While disabled"


def test_a_dead_endpoint_does_not_slow_a_healthy_one(client, receiver, hook_db):
    """A customer whose endpoint never answers has many deliveries in flight; another
    customer's events still arrive at once."""
    hold = threading.Event()

    def black_hole(request, match):
        hold.wait(30)
        return Reply(status=200)

    dead = ProviderServer()
    dead.route("POST", "/hook", black_hole)
    try:
        stuck = Tenant(client, "stuck", db_url=hook_db)
        configure(client, stuck, dead.url + "/hook")
        for i in range(60):
            make_room(client, stuck, f"Stuck {i}")
        wait_for(lambda: len(dead.received("POST", "/hook")) >= 20, timeout=20)

        healthy = Tenant(client, "healthy", db_url=hook_db)
        configure(client, healthy, receiver.url + "/hook")
        times, held = [], []
        for i in range(5):
            started = time.monotonic()
            make_room(client, healthy, f"Healthy {i}")
            wait_for(lambda n=i + 1: len(hooks(receiver, "conversation_created")) == n, timeout=10)
            times.append(time.monotonic() - started)
            held.append(len(deliveries(client, stuck, status="sending")))
        assert max(times) < 1.5, times
        # the dead endpoint never holds more than its share of the dispatcher
        assert max(held) <= 32 and len(deliveries(client, stuck, status="pending")) > 0, held
    finally:
        hold.set()
        dead.stop()


def test_a_killed_dispatcher_loses_nothing(receiver, alone_db):
    """The process holding a delivery dies before the endpoint answers; a new process
    delivers it once the lease runs out, with the same webhook-id."""
    entered = threading.Event()
    release = threading.Event()

    def hang_first(request, match):
        if not entered.is_set():
            entered.set()
            release.wait(20)
        return Reply(status=200)

    receiver.route("POST", "/hook", hang_first)
    env = allowing(alone_db)
    first = ServerProcess(env).wait_ready()
    with httpx.Client(base_url=first.url, timeout=30) as c:
        tenant = Tenant(c, "acme", db_url=alone_db)
        configure(c, tenant, receiver.url + "/hook")
        make_room(c, tenant)
        assert entered.wait(20)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        first.stop()
    release.set()

    second = ServerProcess(env).wait_ready()
    try:
        with httpx.Client(base_url=second.url, timeout=30) as c:
            delivery = one_delivery(c, tenant, "conversation_created", status="delivered")
        assert delivery["attempt_count"] == 2
        assert delivery["attempts"][0]["error"].startswith("The dispatcher stopped")
        ids = {r.headers["webhook-id"] for r in hooks(receiver, "conversation_created")}
        assert ids == {delivery["event_id"]}
    finally:
        second.stop()


def test_two_dispatchers_share_the_queue(receiver, alone_db):
    """A web server's dispatcher and a `convodesk worker` on one database: every event is
    delivered exactly once."""
    env = allowing(alone_db)
    web = ServerProcess(env).wait_ready()
    worker = ServerProcess(env, command="worker")
    try:
        wait_for(lambda: "workers are running" in worker.output(), timeout=60)
        with httpx.Client(base_url=web.url, timeout=30) as c:
            tenant = Tenant(c, "acme", db_url=alone_db)
            configure(c, tenant, receiver.url + "/hook", webhook_events=["conversation_updated"])
            room = make_room(c, tenant)
            for i in range(150):
                r = c.put(
                    f"/v1.0/conversations/{room['id']}",
                    headers=tenant.admin,
                    json={"detail": f"update {i}"},
                )
                assert r.status_code == 200
            wait_for(lambda: len(hooks(receiver)) >= 150, timeout=60)
            # one more update's delivery comes after: nothing was sent twice before it
            r = c.put(
                f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json={"detail": "last"}
            )
            assert r.status_code == 200
            wait_for(lambda: len(hooks(receiver)) >= 151, timeout=60)
            sent = hooks(receiver)
            assert len(sent) == 151 and json.loads(sent[-1].body)["data"]["detail"] == "last"
            assert len({r.headers["webhook-id"] for r in sent}) == 151
            details = sorted(json.loads(r.body)["data"]["detail"] for r in sent[:150])
            assert details == sorted(f"update {i}" for i in range(150))
    finally:
        worker.stop()
        web.stop()


# --- settings, the SSRF guard and the log's API ---------------------------------------------


def test_webhook_settings_are_checked(client, tenant):
    r = client.put(
        "/v1.0/customer", headers=tenant.admin, json={"webhook_events": ["no_such_event"]}
    )
    assert "no_such_event" in assert_error(r, 422, "invalid_body")["message"]
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"webhook_method": "PATCH"})
    assert_error(r, 422, "invalid_body")
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"webhook_uri": "ftp://x.example"})
    assert_error(r, 422, "invalid_webhook_uri")
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"webhook_uri": 5})
    assert_error(r, 422, "invalid_body")
    # only admins see or change webhook settings
    r = client.put("/v1.0/customer", headers=tenant.manager, json={"webhook_uri": ""})
    assert_error(r, 403)
    for path in ("/v1.0/customer/webhook_secret", "/v1.0/webhook_deliveries"):
        assert_error(client.get(path, headers=tenant.agent), 403)
    assert_error(client.post("/v1.0/customer/webhook_secret", headers=tenant.manager), 403)

    me = configure(
        client,
        tenant,
        "https://hooks.example.com/in",
        webhook_events=["conversation_message_created", "conversation_created"],
    )
    assert me["webhook_events"] == ["conversation_created", "conversation_message_created"]
    assert me["webhook_uri"] == "https://hooks.example.com/in"
    assert "webhook_secret" not in me
    me = configure(client, tenant, "https://hooks.example.com/in", webhook_events=[])
    assert me["webhook_events"] == []


def test_delivery_log_filters_pages_and_foreign_ids(client, tenant, other_tenant, receiver):
    receiver.route("POST", "/hook", lambda r, m: Reply(status=200))
    configure(client, tenant, receiver.url + "/hook", webhook_events=ROOM_EVENTS)
    room = make_room(client, tenant)
    for i in range(3):
        r = client.put(
            f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json={"detail": str(i)}
        )
        assert r.status_code == 200
    wait_for(lambda: len(deliveries(client, tenant, status="delivered")) == 4, timeout=20)
    updated = deliveries(client, tenant, event_type="conversation_updated")
    assert len(updated) == 3
    # newest first, pages by next_page_token
    r = client.get("/v1.0/webhook_deliveries", headers=tenant.admin, params={"page_size": 3})
    page = r.json()
    assert [d["event_type"] for d in page["result"]] == ["conversation_updated"] * 3
    r = client.get(
        "/v1.0/webhook_deliveries",
        headers=tenant.admin,
        params={"page_size": 3, "page_token": page["next_page_token"]},
    )
    assert [d["event_type"] for d in r.json()["result"]] == ["conversation_created"]
    assert r.json()["next_page_token"] == ""
    assert deliveries(client, tenant, status="failed") == []

    assert_error(
        client.get("/v1.0/webhook_deliveries", headers=tenant.admin, params={"status": "x"}), 400
    )
    assert_error(
        client.get("/v1.0/webhook_deliveries", headers=tenant.admin, params={"event_type": "x"}),
        400,
    )
    one = updated[0]
    r = client.get(f"/v1.0/webhook_deliveries/{one['id']}", headers=tenant.admin)
    assert r.status_code == 200 and r.json()["id"] == one["id"]
    # another customer's delivery does not exist for this one
    for path in (f"/v1.0/webhook_deliveries/{one['id']}", "/v1.0/webhook_deliveries/nope"):
        assert_error(client.get(path, headers=other_tenant.admin), 404)
    r = client.post(f"/v1.0/webhook_deliveries/{one['id']}/retry", headers=other_tenant.admin)
    assert_error(r, 404, "webhook_delivery_not_found")
    assert deliveries(client, other_tenant) == []


def test_private_targets_are_refused(alone_db):
    """Without CONVODESK_ALLOW_PRIVATE_WEBHOOKS: 422 for any URL whose host is or resolves
    to a private, loopback or link-local address; and an endpoint saved while they were
    allowed is refused at delivery time too."""
    strict = ServerProcess(cli_env(DATABASE_URL=alone_db)).wait_ready()
    try:
        with httpx.Client(base_url=strict.url, timeout=30) as c:
            tenant = Tenant(c, "acme", db_url=alone_db)
            for uri in (
                "http://127.0.0.1:8080/hook",
                "http://localhost/hook",
                "http://10.1.2.3/hook",
                "http://192.168.0.10/hook",
                "http://172.16.5.5/hook",
                "http://169.254.169.254/latest/meta-data",
                "http://[::1]:8000/hook",
                "http://[fe80::1]/hook",
                "http://[::ffff:127.0.0.1]/hook",
                "http://0.0.0.0/hook",
                "http://100.64.0.1/hook",
            ):
                r = c.put("/v1.0/customer", headers=tenant.admin, json={"webhook_uri": uri})
                error = assert_error(r, 422, "webhook_uri_not_allowed")
                assert "private" in error["message"], uri
            r = c.put(
                "/v1.0/customer",
                headers=tenant.admin,
                json={"webhook_uri": "http://no-such-host.invalid/hook"},
            )
            assert_error(r, 422, "webhook_uri_not_allowed")
            # a public address literal is fine (nothing is sent until an event happens)
            me = configure(c, tenant, "http://93.184.215.14/hook")
            assert me["webhook_uri"] == "http://93.184.215.14/hook"

            # saved while private targets were allowed, then refused when delivering
            sql(
                alone_db,
                "UPDATE customers SET webhook_uri = 'http://127.0.0.1:9/hook' WHERE id = $1",
                tenant.customer_id,
            )
            make_room(c, tenant)
            # (counted when claimed, logged when recorded: wait for the log)
            delivery = wait_for(
                lambda: next((d for d in deliveries(c, tenant) if d["attempts"]), None),
                timeout=20,
            )
            assert delivery["attempts"][0]["status_code"] is None
            assert delivery["attempts"][0]["error"].startswith("Refused: 127.0.0.1")
    finally:
        strict.stop()
