"""Prometheus metrics and JSON logs, against a real `convodesk serve` with a metrics token
and `CONVODESK_LOG_FORMAT=json`: the token guards `GET /metrics` (no token configured: no
endpoint), API requests are timed under their route's template, a signed Twilio message
counts as an inbound SMS, an open API websocket shows in the gauge, a delivery to a dead
webhook endpoint shows as a failure and a queued delivery, and the server's log is JSON
lines carrying the request id its responses returned.

The server has a database of its own: its webhook dispatcher must be the only one making
this module's deliveries, so that the failures land in the registry this test reads.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from conftest import (
    ServerProcess,
    Tenant,
    assert_error,
    cli_env,
    on_database,
    own_database,
    run_async,
    wait_for,
)
from net_kit import free_port
from prometheus_client.parser import text_string_to_metric_families
from providers import twilio_signature
from ws_kit import Ws

TOKEN = "metrics-" + "t" * 24
OUR_NUMBER = "+14155550100"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-" + "m" * 14
POOL_SIZE = 7


@pytest.fixture(scope="module")
def db():
    return own_database("metrics")


@pytest.fixture(scope="module")
def metered(db):
    srv = ServerProcess(
        cli_env(
            DATABASE_URL=db,
            CONVODESK_METRICS_TOKEN=TOKEN,
            CONVODESK_LOG_FORMAT="json",
            CONVODESK_DB_POOL_SIZE=str(POOL_SIZE),
            CONVODESK_ALLOW_PRIVATE_WEBHOOKS="1",
            CONVODESK_CLOSE_AFTER=str(3650 * 86400),
            CONVODESK_AUTOMATION_TICK="3600",
        )
    ).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def http(metered):
    with httpx.Client(base_url=metered.url, timeout=30) as c:
        yield c


@pytest.fixture
def acme(http, db) -> Tenant:
    return Tenant(http, "metered", db_url=db)


Samples = dict[tuple[str, frozenset], float]


def scrape(http: httpx.Client) -> Samples:
    r = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    found: Samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            found[(s.name, frozenset(s.labels.items()))] = s.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- the endpoint ---------------------------------------------------------------------


def test_metrics_want_the_token(http):
    assert_error(http.get("/metrics"), 401, "invalid_metrics_token")
    for wrong in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", TOKEN):
        r = http.get("/metrics", headers={"Authorization": wrong})
        assert_error(r, 401, "invalid_metrics_token")
        assert r.headers["www-authenticate"].startswith("Bearer")
    samples = scrape(http)
    names = {name for name, _ in samples}
    assert {
        "convodesk_webhook_queue_depth",
        "convodesk_webhook_queue_oldest_age_seconds",
        "convodesk_send_queue_depth",
        "convodesk_send_queue_oldest_age_seconds",
        "convodesk_db_pool_size",
        "convodesk_db_pool_in_use",
        "convodesk_db_pool_max",
    } <= names


def test_without_a_token_there_is_no_metrics_endpoint(server):
    """The session's server runs without CONVODESK_METRICS_TOKEN."""
    r = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert_error(r, 404, "route_not_found")


def test_the_pool_is_reported(http):
    samples = scrape(http)
    assert value(samples, "convodesk_db_pool_max") == POOL_SIZE
    size = value(samples, "convodesk_db_pool_size")
    assert 1 <= size <= POOL_SIZE
    assert 0 <= value(samples, "convodesk_db_pool_in_use") <= size


# --- request latency ------------------------------------------------------------------

ROOM = "/v1.0/conversations/{conversation_id}"


def test_requests_are_timed_by_route_template(http, acme):
    count = "convodesk_http_request_duration_seconds_count"
    before = scrape(http)
    for _ in range(3):  # three different paths, one route
        r = http.get(f"/v1.0/conversations/{uuid.uuid4()}", headers=acme.agent)
        assert r.status_code == 404, r.text
    assert http.get("/v1.0/agents", headers=acme.admin).status_code == 200
    after = scrape(http)
    missing = dict(method="GET", route=ROOM, status="4xx")
    assert value(after, count, **missing) == value(before, count, **missing) + 3
    listed = dict(method="GET", route="/v1.0/agents", status="2xx")
    assert value(after, count, **listed) >= value(before, count, **listed) + 1
    # never a raw path as a label: one series per route, however many ids are asked for
    routes = {dict(labels).get("route") for name, labels in after if name == count}
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", r or "") for r in routes), routes


# --- inbound messages -----------------------------------------------------------------


def sms_account(acme: Tenant, db: str):
    from app.channels import accounts

    return run_async(
        on_database(
            db,
            accounts.create_account(
                acme.customer_id,
                type="sms",
                address=OUR_NUMBER,
                name="Support line",
                settings={"phone_number": OUR_NUMBER, "account_sid": ACCOUNT_SID},
                secrets={"auth_token": AUTH_TOKEN},
            ),
        )
    )


def twilio_post(
    http: httpx.Client, public: str, account_id: str, params: list[tuple[str, str]]
) -> httpx.Response:
    path = f"/hooks/sms/{account_id}"
    signature = twilio_signature(AUTH_TOKEN, public + path, params)
    return http.post(
        path,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def sms(sid: str, peer: str, body: str) -> list[tuple[str, str]]:
    return [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", peer),
        ("To", OUR_NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
    ]


def test_inbound_messages_are_counted_by_channel_once(http, acme, db, metered):
    account = sms_account(acme, db)
    name = "convodesk_inbound_messages_total"
    before = value(scrape(http), name, channel="sms")
    sid = "SM" + uuid.uuid4().hex
    r = twilio_post(http, metered.url, str(account.id), sms(sid, "+14155550199", "help"))
    assert r.status_code == 200, r.text
    assert value(scrape(http), name, channel="sms") == before + 1
    # Twilio's retry of the same message stores nothing, and counts nothing
    r = twilio_post(http, metered.url, str(account.id), sms(sid, "+14155550199", "help"))
    assert r.status_code == 200, r.text
    assert value(scrape(http), name, channel="sms") == before + 1


# --- websockets -----------------------------------------------------------------------


def test_open_websockets_show_by_kind(http, acme, metered):
    name = "convodesk_websockets_open"
    before = scrape(http)
    assert value(before, name, kind="desk") == 0 and value(before, name, kind="widget") == 0
    ws = Ws(metered.url, headers=acme.admin)
    try:
        ws.subscribe(f"customer_id:{acme.customer_id}:conversation")
        wait_for(lambda: value(scrape(http), name, kind="api") == 1)
    finally:
        ws.conn.close()
    wait_for(lambda: value(scrape(http), name, kind="api") == 0)


# --- webhooks -------------------------------------------------------------------------


def test_a_dead_webhook_endpoint_shows_as_failures_and_a_queue(http, acme):
    failures = "convodesk_webhook_delivery_failures_total"
    before = value(scrape(http), failures)
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    r = http.put("/v1.0/customer", headers=acme.admin, json={"webhook_uri": dead})
    assert r.status_code == 200, r.text
    # an event for the endpoint: an agent made
    acme.add_agent("metered-new", "agent")
    samples = wait_for(
        lambda: (s := scrape(http)) and value(s, failures) > before and s,
        timeout=20,
    )
    # refused, it waits for its retry: still in the queue, and as old as its event
    assert value(samples, "convodesk_webhook_queue_depth") >= 1
    assert value(samples, "convodesk_webhook_queue_oldest_age_seconds") > 0


# --- the bus's lag --------------------------------------------------------------------


def test_the_bus_lag_counts_each_notice_the_server_hears(http, acme):
    """Every event the server commits comes back to it over the bus (its own outbox, then
    Redis): each notice heard is one observation of commit → heard."""
    lag = "convodesk_event_bus_lag_seconds_count"
    before = value(scrape(http), lag)
    r = http.post(
        "/v1.0/conversations",
        headers=acme.admin,
        json={"participants": [{"type": "tel", "target": "+15551234567"}]},
    )
    assert r.status_code == 201, r.text
    # the room's creation is at least one event, heard back a moment after its commit
    wait_for(lambda: value(scrape(http), lag) > before)
    samples = scrape(http)
    assert value(samples, "convodesk_event_bus_lag_seconds_bucket", le="+Inf") == value(
        samples, lag
    )


# --- JSON logs and request ids ----------------------------------------------------------


TEXT_LOG_LINE = re.compile(
    r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):|^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
)


def log_entries(server: ServerProcess) -> list[dict]:
    entries = []
    for line in server.output().splitlines():
        assert not TEXT_LOG_LINE.match(line), f"a log line not in JSON: {line}"
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(entry), entry
            entries.append(entry)
    return entries


def test_log_lines_are_json_with_the_request_id(http, acme, db, metered):
    r = http.get("/healthz", headers={"X-Request-ID": "trace-42.abc"})
    assert r.headers["x-request-id"] == "trace-42.abc"
    wait_for(
        lambda: any(
            e.get("request_id") == "trace-42.abc" and "/healthz" in e["message"]
            for e in log_entries(metered)
        )
    )
    # not an id: one of ours instead, in the header and the envelope alike
    for bad in ("has spaces", "x" * 65, 'quote"d'):
        r = http.get("/v1.0/agents", headers={"X-Request-ID": bad})
        error = assert_error(r, 401)
        assert re.fullmatch(r"[0-9a-f]{32}", error["request_id"]), error
    # a record logged while handling a request carries its id too: a signed Twilio post
    # without a MessageSid is logged as rejected
    account = sms_account(acme, db)
    params = [("AccountSid", ACCOUNT_SID), ("From", "+14155550198"), ("To", OUR_NUMBER)]
    r = twilio_post(http, metered.url, str(account.id), params)
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    entry = wait_for(
        lambda: next(
            (e for e in log_entries(metered) if "rejected inbound event" in e["message"]),
            None,
        )
    )
    assert entry["request_id"] == rid
    assert entry["level"] == "WARNING"
