"""The LINE channel over real HTTP: a real `convodesk serve` process talks to a local
stand-in for LINE's API (api.line.me and api-data.line.me paths on one server), and LINE's
webhook calls are made the way LINE makes them, signed here from LINE's documentation:
x-line-signature = base64(HMAC-SHA256(channel secret, raw body))."""

from __future__ import annotations

import itertools
import json
import tempfile
import threading
import uuid

import httpx
import pytest
from api_kit import history, peer_of, room_of, rooms
from conftest import ServerProcess, Tenant, assert_error, cli_env, own_database, wait_for
from providers import ProviderServer, Recorded, Reply, line_signature

from app.domain import csat

LINE_DB: dict[str, str] = {}
"""The module's own database (its server's sender is the only one sending here)."""

SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
TOKEN = "line-long-lived-channel-access-token-for-tests"
BOT = "U0bot000000000000000000000000000a"
TARO = "U4af4980629000000000000000000000a"
HANAKO = "U4af4980629000000000000000000000b"
NOBODY = "U4af4980629000000000000000000000c"  # the profile API does not know this one
PROFILES = {TARO: "Taro Yamada", HANAKO: "Hanako <b>Sato</b>"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256))
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET) -> str:
    return line_signature(secret, body)


def event_id() -> str:
    return f"01H{uuid.uuid4().hex[:23].upper()}"


def message_event(user: str, message: dict, *, webhook_event_id: str | None = None, **extra):
    """A `message` event as LINE documents it."""
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1700000000000 + next(_ids),
        "source": {"type": "user", "userId": user},
        "webhookEventId": webhook_event_id or event_id(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": message,
        **extra,
    }


def text_event(user: str, text: str, **kwargs):
    message = {"id": str(460000000000000000 + next(_ids)), "type": "text", "text": text}
    message["quoteToken"] = "q3Plxr4AgKd" + uuid.uuid4().hex[:8]
    return message_event(user, message, **kwargs)


def body_of(*events) -> bytes:
    return json.dumps({"destination": BOT, "events": list(events)}).encode()


# --- the stand-in for LINE ----------------------------------------------------------------


def _profile(request: Recorded, match) -> Reply:
    user = match.group(1)
    if user not in PROFILES:
        return Reply(status=404, body={"message": "Not found"})
    return Reply(
        body={
            "displayName": PROFILES[user],
            "userId": user,
            "pictureUrl": "https://profile.line-scdn.net/abc",
            "language": "en",
        }
    )


def _pushed(request: Recorded, match) -> Reply:
    return Reply(
        body={"sentMessages": [{"id": f"4612309668{next(_ids):08d}", "quoteToken": "IStG5h1"}]},
        headers={"x-line-request-id": str(uuid.uuid4())},
    )


def _test_webhook(request: Recorded, match) -> Reply:
    """What LINE does for "Verify": post a signed body with no events to the endpoint and
    report what it answered."""
    endpoint = request.json().get("endpoint")
    body = json.dumps({"destination": BOT, "events": []}).encode()
    try:
        answer = httpx.post(
            endpoint,
            content=body,
            headers={"Content-Type": "application/json", "x-line-signature": sign(body)},
            timeout=10,
        )
        status, reason = answer.status_code, answer.reason_phrase
    except httpx.HTTPError:
        status, reason = 0, "Could not connect"
    return Reply(
        body={
            "success": status == 200,
            "timestamp": "2024-01-10T05:38:20.031Z",
            "statusCode": status,
            "reason": reason,
            "detail": str(status),
        }
    )


def reset_line(srv: ProviderServer) -> None:
    with srv.lock:
        srv.routes.clear()
        srv.requests.clear()
    srv.route("GET", r"/v2/bot/profile/(U[0-9a-f]{32})", _profile)
    srv.route("POST", r"/v2/bot/message/push", _pushed)
    srv.route("PUT", r"/v2/bot/channel/webhook/endpoint", lambda r, m: Reply(body={}))
    srv.route("POST", r"/v2/bot/channel/webhook/test", _test_webhook)


@pytest.fixture(scope="module")
def line_api():
    srv = ProviderServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def app_server(line_api):
    data_dir = tempfile.mkdtemp(prefix="convodesk-line-test-")
    env = cli_env(
        DATABASE_URL=LINE_DB.setdefault("url", own_database("line")),
        CONVODESK_LINE_API_BASE=line_api.url,
        CONVODESK_LINE_DATA_API_BASE=line_api.url,
        CONVODESK_DATA_DIR=data_dir,
    )
    srv = ServerProcess(env).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def line(line_api):
    reset_line(line_api)
    return line_api


@pytest.fixture
def client(app_server):
    with httpx.Client(base_url=app_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(client) -> Tenant:
    return Tenant(client, "acme", LINE_DB["url"])


@pytest.fixture
def account(client, tenant, line) -> dict:
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "line",
            "name": "Acme on LINE",
            "secret": SECRET,
            "token": TOKEN,
            "settings": {"channel_id": " 1657000000 "},
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["settings"] == {
        "channel_id": "1657000000",
        "signature": "off",
        "csat": "off",  # the satisfaction survey's defaults
        "csat_question": csat.DEFAULT_QUESTION,
        "csat_delay": 0,
    }
    assert created["secrets_set"] == ["channel_access_token", "channel_secret"]
    return created


def hook(client, account: dict, body: bytes, signature: str | None = "valid") -> httpx.Response:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature == "valid":
        headers["x-line-signature"] = sign(body)
    elif signature is not None:
        headers["x-line-signature"] = signature
    return client.post(f"/hooks/line/{account['id']}", content=body, headers=headers)


# --- inbound ------------------------------------------------------------------------------


def test_a_text_message_opens_a_room_named_from_the_profile(client, tenant, account, line):
    body = body_of(text_event(TARO, "Hello <script>alert(1)</script>"))
    r = hook(client, account, body)
    assert r.status_code == 200, r.text

    room = room_of(client, tenant, TARO)
    assert room["reference_type"] == "line"
    assert {k: peer_of(room)[k] for k in ("type", "target", "target_name")} == {
        "type": "line",
        "target": TARO,
        "target_name": "Taro Yamada",
    }
    (message,) = history(client, tenant, room["id"])
    assert message["text"] == "Hello <script>alert(1)</script>"  # text, kept as written
    assert message["direction"] == "inbound" and message["status"] == "done"
    assert message["account_id"] == account["id"]
    assert message["provider_message_id"] == json.loads(body)["events"][0]["webhookEventId"]
    (profile,) = line.received("GET", rf"/v2/bot/profile/{TARO}")
    assert profile.headers["authorization"] == f"Bearer {TOKEN}"

    # a second message from the same person: the cached name, no second profile call
    assert hook(client, account, body_of(text_event(TARO, "again"))).status_code == 200
    assert [m["text"] for m in history(client, tenant, room["id"])] == [
        "again",
        "Hello <script>alert(1)</script>",
    ]
    assert len(line.received("GET", rf"/v2/bot/profile/{TARO}")) == 1


def test_a_failing_profile_lookup_keeps_the_message(client, tenant, account, line):
    assert hook(client, account, body_of(text_event(NOBODY, "who am I"))).status_code == 200
    room = room_of(client, tenant, NOBODY)
    assert peer_of(room)["target_name"] == "Unknown"
    assert [m["text"] for m in history(client, tenant, room["id"])] == ["who am I"]
    assert line.received("GET", rf"/v2/bot/profile/{NOBODY}")


def test_an_image_is_fetched_with_the_token_and_kept(client, tenant, account, line, app_server):
    line.route(
        "GET",
        r"/v2/bot/message/(\d+)/content",
        lambda r, m: Reply(body=PNG, headers={"Content-Type": "image/png"}),
    )
    image = {
        "id": "468789577898262530",
        "type": "image",
        "quoteToken": "yHAz4Ua2wx7s6",
        "contentProvider": {"type": "line"},
    }
    assert hook(client, account, body_of(message_event(TARO, image))).status_code == 200

    (fetched,) = line.received("GET", r"/v2/bot/message/468789577898262530/content")
    assert fetched.headers["authorization"] == f"Bearer {TOKEN}"
    room = room_of(client, tenant, TARO)
    (message,) = history(client, tenant, room["id"])
    (media,) = message["medias"]
    assert media["type"] == "image/png"
    assert media["url"].startswith(f"{app_server.url}/media/")
    downloaded = httpx.get(media["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.content == PNG


def test_a_file_keeps_its_name_and_missing_content_keeps_the_message(client, tenant, account, line):
    pdf = b"%PDF-1.4 quarterly report"
    line.route(
        "GET",
        r"/v2/bot/message/900000000000000001/content",
        lambda r, m: Reply(body=pdf, headers={"Content-Type": "application/pdf"}),
    )
    file = {
        "id": "900000000000000001",
        "type": "file",
        "fileName": "report.pdf",
        "fileSize": len(pdf),
    }
    video = {  # LINE no longer has it (the default route answers 404)
        "id": "900000000000000002",
        "type": "video",
        "duration": 60000,
        "contentProvider": {"type": "line"},
    }
    body = body_of(message_event(TARO, file), message_event(TARO, video))
    assert hook(client, account, body).status_code == 200
    latest, first = history(client, tenant, room_of(client, tenant, TARO)["id"])
    (media,) = first["medias"]
    assert (media["name"], media["type"]) == ("report.pdf", "application/pdf")
    assert media["url"].endswith("/report.pdf")
    assert httpx.get(media["url"], timeout=10).content == pdf
    assert (latest["text"], latest["medias"]) == ("[video: not available]", [])
    assert line.received("GET", r"/v2/bot/message/900000000000000002/content")


def test_stickers_and_locations_become_short_texts(client, tenant, account, line):
    sticker = {"id": "1", "type": "sticker", "packageId": "446", "stickerId": "1988"}
    location = {
        "id": "2",
        "type": "location",
        "title": "my location",
        "address": "1-3 Kioicho, Chiyoda-ku, Tokyo",
        "latitude": 35.67966,
        "longitude": 139.73669,
    }
    body = body_of(message_event(TARO, sticker), message_event(TARO, location))
    assert hook(client, account, body).status_code == 200
    texts = [m["text"] for m in history(client, tenant, room_of(client, tenant, TARO)["id"])]
    assert texts == ["[location: 1-3 Kioicho, Chiyoda-ku, Tokyo]", "[sticker]"]


@pytest.mark.parametrize("kind", ["missing", "empty", "of another body", "with another secret"])
def test_a_bad_or_missing_signature_is_refused(client, tenant, account, line, kind):
    body = body_of(text_event(TARO, "forged"))
    signature = {
        "missing": None,
        "empty": "",
        "of another body": sign(body + b" "),
        "with another secret": sign(body, secret="not-the-channel-secret"),
    }[kind]
    assert_error(hook(client, account, body, signature=signature), 401, "invalid_signature")
    assert rooms(client, tenant) == []
    assert line.received("GET", r"/v2/bot/profile/.*") == []


def test_a_redelivered_event_is_stored_once(client, tenant, account, line):
    first = text_event(TARO, "only once")
    assert hook(client, account, body_of(first)).status_code == 200
    again = {**first, "deliveryContext": {"isRedelivery": True}}
    assert hook(client, account, body_of(again)).status_code == 200
    assert hook(client, account, body_of(again)).status_code == 200
    (message,) = history(client, tenant, room_of(client, tenant, TARO)["id"])
    assert message["text"] == "only once"


def test_the_verification_ping_is_answered_and_stores_nothing(client, tenant, account, line):
    r = hook(client, account, body_of())
    assert r.status_code == 200
    assert rooms(client, tenant) == []


def test_a_follow_opens_a_room_without_a_message(client, tenant, account, line):
    follow = {
        "type": "follow",
        "mode": "active",
        "timestamp": 1700000000000,
        "source": {"type": "user", "userId": HANAKO},
        "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "follow": {"isUnblocked": False},
    }
    assert hook(client, account, body_of(follow)).status_code == 200
    room = room_of(client, tenant, HANAKO)
    assert peer_of(room)["target_name"] == "Hanako <b>Sato</b>"
    assert history(client, tenant, room["id"]) == []


def test_a_batch_is_stored_whole_and_in_order(client, tenant, account, line):
    unfollow = {
        "type": "unfollow",
        "mode": "active",
        "timestamp": 1700000000001,
        "source": {"type": "user", "userId": NOBODY},
        "webhookEventId": event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    group_without_user = text_event(TARO, "from a group")
    group_without_user["source"] = {"type": "group", "groupId": "Ca56f94637c000000000000000000000"}
    body = body_of(
        text_event(TARO, "one"),
        text_event(HANAKO, "two"),
        unfollow,
        group_without_user,
        text_event(TARO, "three"),
        text_event(TARO, "four"),
    )
    assert hook(client, account, body).status_code == 200
    assert len(rooms(client, tenant)) == 2  # the unfollow and the anonymous group: nothing
    taro = history(client, tenant, room_of(client, tenant, TARO)["id"])
    assert [m["text"] for m in taro] == ["four", "three", "one"]
    assert taro[0]["tm_create"] > taro[1]["tm_create"] > taro[2]["tm_create"]
    assert [m["text"] for m in history(client, tenant, room_of(client, tenant, HANAKO)["id"])] == [
        "two"
    ]


def test_a_group_member_is_named_from_the_group_member_profile(client, tenant, account, line):
    group = "Ca56f94637c000000000000000000000"
    line.route(
        "GET",
        rf"/v2/bot/group/{group}/member/(U[0-9a-f]{{32}})",
        lambda r, m: Reply(body={"displayName": "Jiro in the group", "userId": m.group(1)}),
    )
    event = text_event(HANAKO, "hi all")
    event["source"] = {"type": "group", "groupId": group, "userId": HANAKO}
    assert hook(client, account, body_of(event)).status_code == 200
    assert peer_of(room_of(client, tenant, HANAKO))["target_name"] == "Jiro in the group"


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'{"destination": "U1"}', b'{"events": {"a": 1}}']
)
def test_a_malformed_body_is_a_400(client, tenant, account, line, body):
    assert_error(hook(client, account, body), 400, "malformed_body")
    assert rooms(client, tenant) == []


def test_an_unknown_account_is_a_404(client, tenant, account, line):
    body = body_of(text_event(TARO, "hi"))
    r = client.post(
        f"/hooks/line/{uuid.uuid4()}", content=body, headers={"x-line-signature": sign(body)}
    )
    assert_error(r, 404, "account_not_found")


# --- outbound -----------------------------------------------------------------------------


def _room_with_taro(client, tenant, account) -> str:
    assert hook(client, account, body_of(text_event(TARO, "hi"))).status_code == 200
    return room_of(client, tenant, TARO)["id"]


def _wait_status(client, tenant, room_id: str, message_id: str, status: str) -> dict:
    def done():
        found = [m for m in history(client, tenant, room_id) if m["id"] == message_id]
        return found[0] if found and found[0]["status"] == status else None

    return wait_for(done, timeout=30)


def test_a_reply_is_pushed_and_a_retry_reuses_the_retry_key(client, tenant, account, line):
    room_id = _room_with_taro(client, tenant, account)
    calls = []
    lock = threading.Lock()

    def flaky(request: Recorded, match) -> Reply:
        with lock:
            calls.append(request)
            first = len(calls) == 1
        if first:
            return Reply(status=500, body={"message": "An internal error occurred"})
        return Reply(
            body={"sentMessages": [{"id": "461230966842064897", "quoteToken": "IStG5h1"}]},
            headers={"x-line-request-id": "c5ab1a0d-5e57-4e3b-9a3e-4c0f4b0a1b2c"},
        )

    line.route("POST", r"/v2/bot/message/push", flaky)
    image = {"type": "image/png", "url": "https://files.example/cat.png", "name": "cat.png"}
    pdf = {"type": "application/pdf", "url": "https://files.example/r.pdf", "name": "r.pdf"}
    r = client.post(
        f"/v1.0/conversations/{room_id}/messages",
        headers=tenant.admin,
        json={"text": "Here you go", "medias": [image, pdf]},
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    final = _wait_status(client, tenant, room_id, sent["id"], "done")
    assert final["provider_message_id"] == "461230966842064897"

    assert len(calls) == 2
    for call in calls:
        assert call.headers["authorization"] == f"Bearer {TOKEN}"
        assert call.headers["x-line-retry-key"] == sent["id"]
        assert call.json() == {
            "to": TARO,
            "messages": [
                {"type": "text", "text": "Here you go\nr.pdf: https://files.example/r.pdf"},
                {
                    "type": "image",
                    "originalContentUrl": "https://files.example/cat.png",
                    "previewImageUrl": "https://files.example/cat.png",
                },
            ],
        }
    uuid.UUID(calls[0].headers["x-line-retry-key"])


def test_a_retry_line_already_accepted_counts_as_sent(client, tenant, account, line):
    room_id = _room_with_taro(client, tenant, account)
    calls = []

    def lost_answer(request: Recorded, match) -> Reply:
        calls.append(request)
        if len(calls) == 1:
            return Reply(status=503, body={"message": "Service unavailable"})
        return Reply(
            status=409,
            body={"message": "The retry key is already accepted"},
            headers={"x-line-accepted-request-id": "accepted-request-0001"},
        )

    line.route("POST", r"/v2/bot/message/push", lost_answer)
    sent = client.post(
        f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin, json={"text": "once"}
    ).json()
    final = _wait_status(client, tenant, room_id, sent["id"], "done")
    assert final["provider_message_id"] == "accepted-request-0001"
    assert {c.headers["x-line-retry-key"] for c in calls} == {sent["id"]}


def test_a_message_line_refuses_fails_with_lines_reason(client, tenant, account, line):
    room_id = _room_with_taro(client, tenant, account)
    line.route(
        "POST",
        r"/v2/bot/message/push",
        lambda r, m: Reply(
            status=400,
            body={
                "message": "The request body has 1 error(s)",
                "details": [{"message": "Invalid user ID", "property": "to"}],
            },
        ),
    )
    sent = client.post(
        f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin, json={"text": "x"}
    ).json()
    failed = _wait_status(client, tenant, room_id, sent["id"], "failed")
    assert "LINE 400: The request body has 1 error(s)" in failed["error"]
    assert "to: Invalid user ID" in failed["error"]
    assert len(line.received("POST", r"/v2/bot/message/push")) == 1  # not retried


# --- setup --------------------------------------------------------------------------------


def test_setup_registers_the_hook_and_lines_test_reaches_it(
    client, tenant, account, line, app_server
):
    r = client.post(
        "/v1.0/conversations/setup", headers=tenant.admin, json={"reference_type": "line"}
    )
    assert r.status_code == 200, r.text
    result = r.json()
    hook_url = f"{app_server.url}/hooks/line/{account['id']}"
    assert result["endpoint"] == hook_url
    assert result["account"]["id"] == account["id"]
    assert result["test"]["success"] is True
    assert result["test"]["statusCode"] == 200
    assert set(result["test"]) == {"success", "timestamp", "statusCode", "reason", "detail"}

    (put,) = line.received("PUT", r"/v2/bot/channel/webhook/endpoint")
    assert put.json() == {"endpoint": hook_url}
    assert put.headers["authorization"] == f"Bearer {TOKEN}"
    (tested,) = line.received("POST", r"/v2/bot/channel/webhook/test")
    assert tested.json() == {"endpoint": hook_url}
    assert rooms(client, tenant) == []  # the test ping stores nothing


def test_setup_reports_a_failing_hook(client, tenant, account, line):
    """A wrong secret on our side: LINE's test reaches us, we answer 401, and setup says so."""
    r = client.put(
        f"/v1.0/conversation_accounts/{account['id']}",
        headers=tenant.admin,
        json={"secret": "a-different-secret"},
    )
    assert r.status_code == 200, r.text
    result = client.post(
        "/v1.0/conversations/setup", headers=tenant.admin, json={"reference_type": "line"}
    ).json()
    assert result["test"]["success"] is False
    assert result["test"]["statusCode"] == 401


def test_setup_with_a_token_line_refuses_is_a_clear_error(client, tenant, account, line):
    line.route(
        "PUT",
        r"/v2/bot/channel/webhook/endpoint",
        lambda r, m: Reply(status=401, body={"message": "Authentication failed"}),
    )
    r = client.post(
        "/v1.0/conversations/setup", headers=tenant.admin, json={"reference_type": "line"}
    )
    error = assert_error(r, 422, "line_refused")
    assert "Authentication failed" in error["message"]
    assert line.received("POST", r"/v2/bot/channel/webhook/test") == []


def test_setup_without_a_line_account_is_a_404(client, tenant, line):
    r = client.post(
        "/v1.0/conversations/setup", headers=tenant.admin, json={"reference_type": "line"}
    )
    assert_error(r, 404, "account_not_found")
    assert line.requests == []


def test_setup_is_for_admins(client, tenant, account, line):
    for headers in (tenant.manager, tenant.agent):
        r = client.post(
            "/v1.0/conversations/setup", headers=headers, json={"reference_type": "line"}
        )
        assert_error(r, 403, "admin_required")
    assert line.requests == []


def test_a_channel_id_must_be_digits(client, tenant, line):
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "line", "secret": SECRET, "token": TOKEN, "settings": {"channel_id": "x1"}},
    )
    assert_error(r, 422, "invalid_setting")
