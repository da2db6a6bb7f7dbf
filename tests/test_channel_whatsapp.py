"""The WhatsApp Cloud API channel over real HTTP: Meta's webhook handshake and signed event
batches in, Graph's messages and media endpoints out (a local ProviderServer speaking
Graph's documented JSON), a real `convodesk serve` and a real PostgreSQL.

Signatures are computed here from Meta's documentation (X-Hub-Signature-256: "sha256=" +
hex HMAC-SHA256 of the raw body with the app secret), not with the driver's code."""

from __future__ import annotations

import collections
import hashlib
import json
import threading

import httpx
import pytest
from api_kit import history as messages_of
from api_kit import rooms
from conftest import ServerProcess, Tenant, assert_error, cli_env, own_database, wait_for
from db_kit import sql_value
from providers import ProviderServer, Recorded, Reply, meta_signature

WA_DB: dict[str, str] = {}
"""The module's own database (its server's sender is the only one sending here)."""

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
APP_SECRET = "0f2d9c8e7b6a5f4e3d2c1b0a99887766"
ACCESS_TOKEN = "EAAGm0PX4ZCpsBAtest-system-user-token"
VERIFY_TOKEN = "convodesk-verify-7f3a"
CUSTOMER_WA_ID = "16505551234"
CUSTOMER_NAME = "Sheena Nelson"
IMAGE_ID = "1003383421387256"
IMAGE_BYTES = b"\xff\xd8\xff\xe0" + b"jpeg-bytes-of-a-red-sofa" * 40


# --- the stand-in for Meta Graph ---------------------------------------------------------


class Graph:
    """Graph's messages endpoint (answers from `send_replies` first, then a success with a
    fresh wamid), the media URL lookup and the media download."""

    def __init__(self) -> None:
        self.fake = ProviderServer()
        self.url = self.fake.url
        self.send_replies: collections.deque[Reply] = collections.deque()
        self.media_replies: collections.deque[Reply] = collections.deque()
        self.wamids: list[str] = []
        self.lock = threading.Lock()
        self.fake.route("POST", rf"/{VERSION}/(\d+)/messages", self._send)
        self.fake.route("GET", rf"/{VERSION}/(\d+)", self._media_url)
        self.fake.route("GET", r"/whatsapp_business/attachments/(\d+)", self._download)

    def _send(self, request: Recorded, match) -> Reply:
        with self.lock:
            if self.send_replies:
                return self.send_replies.popleft()
            wamid = f"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI{len(self.wamids):04d}QTRBNjU5OUFF"
            self.wamids.append(wamid)
        to = request.json()["to"]
        return Reply(
            body={
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    def _media_url(self, request: Recorded, match) -> Reply:
        with self.lock:
            if self.media_replies:
                return self.media_replies.popleft()
        if match.group(1) != IMAGE_ID:
            return Reply(status=400, body=graph_error(100, "Invalid parameter"))
        return Reply(
            body={
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp_business/attachments/{IMAGE_ID}",
                "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(IMAGE_BYTES).hexdigest(),
                "file_size": str(len(IMAGE_BYTES)),
                "id": IMAGE_ID,
            }
        )

    def _download(self, request: Recorded, match) -> Reply:
        # "performing a generic GET will not return the media; you must include an
        # access token" (Meta's media reference)
        if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return Reply(status=401, body=graph_error(190, "Invalid OAuth access token"))
        return Reply(body=IMAGE_BYTES, headers={"Content-Type": "image/jpeg"})

    def sent(self) -> list[Recorded]:
        return self.fake.received("POST", rf"/{VERSION}/{PHONE_NUMBER_ID}/messages")


def graph_error(code: int, message: str, subcode: int | None = None) -> dict:
    error = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AazjqU5TAa9lDEj8sHwYgWJ"
    return {"error": error}


@pytest.fixture(scope="module")
def graph():
    g = Graph()
    yield g
    g.fake.stop()


@pytest.fixture(scope="module")
def wa_server(graph, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("whatsapp-data")
    srv = ServerProcess(
        cli_env(
            DATABASE_URL=WA_DB.setdefault("url", own_database("whatsapp")),
            CONVODESK_WHATSAPP_API_BASE=graph.url,
            CONVODESK_DATA_DIR=str(data_dir),
        )
    ).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def http(wa_server, graph):
    graph.fake.clear()
    graph.send_replies.clear()
    graph.media_replies.clear()
    with httpx.Client(base_url=wa_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(http) -> Tenant:
    return Tenant(http, "acme", WA_DB["url"])


@pytest.fixture
def account(http, tenant) -> dict:
    r = http.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "whatsapp",
            "name": "Support WhatsApp",
            "settings": {
                "phone_number_id": PHONE_NUMBER_ID,
                "display_phone_number": "+1 555-078-3881",
                "verify_token": VERIFY_TOKEN,
            },
            "secrets": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


# --- building Meta's webhooks --------------------------------------------------------


def webhook(*, messages=(), statuses=(), phone_number_id=PHONE_NUMBER_ID, contacts=None) -> dict:
    value: dict = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = contacts or [
            {"profile": {"name": CUSTOMER_NAME}, "wa_id": CUSTOMER_WA_ID}
        ]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}],
    }


def text_message(wamid: str, body: str) -> dict:
    return {
        "from": CUSTOMER_WA_ID,
        "id": wamid,
        "timestamp": "1749416383",
        "type": "text",
        "text": {"body": body},
    }


def status(wamid: str, state: str, errors: list | None = None) -> dict:
    item = {
        "id": wamid,
        "status": state,
        "timestamp": "1750857384",
        "recipient_id": CUSTOMER_WA_ID,
    }
    if state != "failed":
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if errors:
        item["errors"] = errors
    return item


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return meta_signature(secret, body)


def post_hook(http, account, payload, *, sign: str | None = "right") -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if sign == "right":
        headers["X-Hub-Signature-256"] = signature(body)
    elif sign is not None:
        headers["X-Hub-Signature-256"] = sign
    return http.post(f"/hooks/whatsapp/{account['id']}", content=body, headers=headers)


def stored_count() -> int:
    """Every message row, in any room of any customer: what a refused webhook must not add."""

    return sql_value(WA_DB["url"], "SELECT count(*) FROM messages")


def open_room(http, tenant, account) -> dict:
    """A room with the customer, opened by their first message."""
    r = post_hook(http, account, webhook(messages=[text_message("wamid.first", "hello")]))
    assert r.status_code == 200, r.text
    (room,) = rooms(http, tenant)
    return room


def send(http, tenant, room_id, text: str, **extra) -> dict:
    r = http.post(
        f"/v1.0/conversations/{room_id}/messages",
        headers=tenant.admin,
        json={"text": text, **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()


def message_now(http, tenant, room_id, message_id) -> dict:
    return next(m for m in messages_of(http, tenant, room_id) if m["id"] == message_id)


def settled(http, tenant, room_id, message_id, status_wanted: str) -> dict:
    def check():
        m = message_now(http, tenant, room_id, message_id)
        return m if m["status"] == status_wanted else None

    return wait_for(check, timeout=20)


# --- the handshake --------------------------------------------------------------------


def test_account_shows_its_callback_url_and_settings(account):
    assert account["type"] == "whatsapp"
    assert account["address"] == PHONE_NUMBER_ID
    assert account["settings"]["verify_token"] == VERIFY_TOKEN
    assert account["settings"]["display_phone_number"] == DISPLAY_NUMBER
    assert "access_token" not in account["settings"] and "app_secret" not in account["settings"]
    assert account["secrets_set"] == ["access_token", "app_secret"]
    assert account["webhook_urls"]["callback URL"].endswith(f"/hooks/whatsapp/{account['id']}")


def test_handshake_with_the_right_token_echoes_the_challenge(http, account):
    r = http.get(
        f"/hooks/whatsapp/{account['id']}",
        params={
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": VERIFY_TOKEN,
        },
    )
    assert r.status_code == 200, r.text
    assert r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")


def test_handshake_with_a_wrong_token_is_forbidden(http, account):
    r = http.get(
        f"/hooks/whatsapp/{account['id']}",
        params={"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": "guess"},
    )
    assert_error(r, 403, "invalid_verify_token")
    r = http.get(f"/hooks/whatsapp/{account['id']}", params={"hub.challenge": "42"})
    assert_error(r, 403)


def test_a_verify_token_is_made_up_when_none_is_given(http, tenant):
    r = http.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "whatsapp",
            "settings": {"phone_number_id": PHONE_NUMBER_ID},
            "secret": APP_SECRET,
            "token": ACCESS_TOKEN,
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    token = made["settings"]["verify_token"]
    assert len(token) >= 20
    assert made["secrets_set"] == ["access_token", "app_secret"]  # the aliases
    r = http.get(
        f"/hooks/whatsapp/{made['id']}",
        params={"hub.mode": "subscribe", "hub.challenge": "77", "hub.verify_token": token},
    )
    assert r.status_code == 200 and r.text == "77"


def test_a_phone_number_id_that_is_not_one_is_refused(http, tenant):
    r = http.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "whatsapp",
            "settings": {"phone_number_id": "+1 555 078 3881"},
            "secrets": {"access_token": ACCESS_TOKEN, "app_secret": APP_SECRET},
        },
    )
    assert_error(r, 422, "invalid_setting")


# --- inbound ----------------------------------------------------------------------------


def test_a_signed_text_message_opens_a_room_named_for_the_sender(http, tenant, account):
    body = "Does it come in <b>another</b> color? <script>alert(1)</script>"
    r = post_hook(http, account, webhook(messages=[text_message("wamid.HBgLtext1", body)]))
    assert r.status_code == 200, r.text

    (room,) = rooms(http, tenant)
    assert room["name"] == CUSTOMER_NAME
    assert room["reference_type"] == "whatsapp"
    assert room["reference_id"] == CUSTOMER_WA_ID
    peer = next(p for p in room["participants"] if p["target_name"] != "me")
    assert (peer["type"], peer["target"], peer["target_name"]) == (
        "whatsapp",
        CUSTOMER_WA_ID,
        CUSTOMER_NAME,
    )
    (message,) = messages_of(http, tenant, room["id"])
    assert message["direction"] == "inbound"
    assert message["status"] == "done"
    assert message["text"] == body  # stays text, byte for byte
    assert message["provider_message_id"] == "wamid.HBgLtext1"
    assert message["reference_id"] == CUSTOMER_WA_ID
    assert message["account_id"] == account["id"]


def test_an_image_with_a_caption_is_fetched_with_the_token_and_stored(
    http, tenant, account, graph, wa_server
):
    image = {
        "from": CUSTOMER_WA_ID,
        "id": "wamid.HBgLimage1",
        "timestamp": "1749416383",
        "type": "image",
        "image": {
            "caption": "This one, in blue",
            "mime_type": "image/jpeg",
            "sha256": hashlib.sha256(IMAGE_BYTES).hexdigest(),
            "id": IMAGE_ID,
        },
    }
    r = post_hook(http, account, webhook(messages=[image]))
    assert r.status_code == 200, r.text

    lookups = graph.fake.received("GET", rf"/{VERSION}/{IMAGE_ID}")
    downloads = graph.fake.received("GET", rf"/whatsapp_business/attachments/{IMAGE_ID}")
    assert len(lookups) == 1 and len(downloads) == 1
    for request in lookups + downloads:
        assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"

    (room,) = rooms(http, tenant)
    (message,) = messages_of(http, tenant, room["id"])
    assert message["text"] == "This one, in blue"
    (media,) = message["medias"]
    assert media["type"] == "image/jpeg"
    assert media["url"].startswith(f"{wa_server.url}/media/")
    assert media["name"].endswith(".jpg")
    file = httpx.get(media["url"], timeout=10)  # public: providers and browsers fetch it
    assert file.status_code == 200
    assert file.content == IMAGE_BYTES


def image_message(wamid: str, media_id: str = IMAGE_ID, caption: str = "") -> dict:
    image = {"mime_type": "image/jpeg", "sha256": "0" * 64, "id": media_id}
    if caption:
        image["caption"] = caption
    return {
        "from": CUSTOMER_WA_ID,
        "id": wamid,
        "timestamp": "1749416383",
        "type": "image",
        "image": image,
    }


def test_an_image_graph_will_not_hand_over_is_kept_as_a_note(http, tenant, account):
    r = post_hook(http, account, webhook(messages=[image_message("wamid.HBgLgone", "555")]))
    assert r.status_code == 200, r.text  # never retried: Meta would resend it for days
    (room,) = rooms(http, tenant)
    (message,) = messages_of(http, tenant, room["id"])
    assert message["medias"] == []
    assert "could not be fetched" in message["text"]
    assert "WhatsApp 100: Invalid parameter" in message["text"]


def test_graph_briefly_down_for_media_makes_meta_redeliver(http, tenant, account, graph):
    payload = webhook(messages=[image_message("wamid.HBgLlater", caption="the receipt")])
    graph.media_replies.append(
        Reply(status=500, body=graph_error(2, "Service temporarily unavailable"))
    )
    r = post_hook(http, account, payload)
    assert_error(r, 503)
    assert stored_count() == 0
    r = post_hook(http, account, payload)  # Meta's redelivery
    assert r.status_code == 200, r.text
    (room,) = rooms(http, tenant)
    (message,) = messages_of(http, tenant, room["id"])
    assert message["text"] == "the receipt"
    assert len(message["medias"]) == 1
    assert httpx.get(message["medias"][0]["url"], timeout=10).content == IMAGE_BYTES


def test_location_and_button_replies_become_readable_text(http, tenant, account):
    location = {
        "from": CUSTOMER_WA_ID,
        "id": "wamid.HBgLloc1",
        "timestamp": "1749416383",
        "type": "location",
        "location": {
            "latitude": 37.483307,
            "longitude": 122.148981,
            "name": "Philz Coffee",
            "address": "101 Forest Ave, Palo Alto, CA 94301",
        },
    }
    reply = {
        "from": CUSTOMER_WA_ID,
        "id": "wamid.HBgLbtn1",
        "timestamp": "1749416384",
        "type": "interactive",
        "interactive": {
            "type": "button_reply",
            "button_reply": {"id": "yes-deliver", "title": "Yes, deliver"},
        },
    }
    r = post_hook(http, account, webhook(messages=[location, reply]))
    assert r.status_code == 200, r.text
    (room,) = rooms(http, tenant)
    texts = {m["provider_message_id"]: m["text"] for m in messages_of(http, tenant, room["id"])}
    assert "Philz Coffee" in texts["wamid.HBgLloc1"]
    assert "101 Forest Ave" in texts["wamid.HBgLloc1"]
    assert "37.483307,122.148981" in texts["wamid.HBgLloc1"]
    assert texts["wamid.HBgLbtn1"] == "Yes, deliver"


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(http, tenant, account):
    payload = webhook(messages=[text_message("wamid.HBgLforged", "forged")])
    body = json.dumps(payload).encode()
    for sign in (None, signature(body, "not-the-app-secret"), "sha1=abc", "sha256=zz"):
        r = post_hook(http, account, body, sign=sign)
        assert_error(r, 401, "invalid_signature")
    # a body changed after signing
    r = post_hook(http, account, body.replace(b"forged", b"FORGED"), sign=signature(body))
    assert_error(r, 401, "invalid_signature")
    assert rooms(http, tenant) == []
    assert stored_count() == 0


def test_metas_redelivery_is_stored_once(http, tenant, account):
    payload = webhook(messages=[text_message("wamid.HBgLagain", "only once please")])
    for _ in range(3):
        r = post_hook(http, account, payload)
        assert r.status_code == 200, r.text
    (room,) = rooms(http, tenant)
    (message,) = messages_of(http, tenant, room["id"])
    assert message["text"] == "only once please"
    assert stored_count() == 1


def test_a_webhook_for_another_phone_number_is_ignored(http, tenant, account):
    payload = webhook(
        messages=[text_message("wamid.HBgLother", "not for you")],
        phone_number_id="999888777666555",
    )
    r = post_hook(http, account, payload)
    assert r.status_code == 200, r.text
    assert rooms(http, tenant) == []
    assert stored_count() == 0


def test_malformed_bodies_get_a_400_envelope(http, tenant, account):
    r = post_hook(http, account, b'{"object": "whatsapp_business_account", "entry": [')
    assert_error(r, 400, "invalid_body")
    r = post_hook(http, account, {"object": "page", "entry": []})
    assert_error(r, 400, "invalid_body")
    r = post_hook(http, account, {"object": "whatsapp_business_account", "entry": "x"})
    assert_error(r, 400, "invalid_body")
    assert stored_count() == 0


# --- outbound and statuses -----------------------------------------------------------


def test_a_reply_is_sent_as_documented_and_done_with_the_wamid(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    message = send(http, tenant, room["id"], "Yes! It comes in blue and green.")
    done = settled(http, tenant, room["id"], message["id"], "done")

    (request,) = graph.sent()
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER_WA_ID,
        "type": "text",
        "text": {"body": "Yes! It comes in blue and green.", "preview_url": False},
    }
    assert done["provider_message_id"] == graph.wamids[-1]
    assert done["error"] is None


def test_files_go_by_link_with_the_text_as_the_first_caption(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    medias = [
        {"type": "image/png", "url": "https://files.example.com/sofa.png", "name": "sofa.png"},
        {"type": "application/pdf", "url": "https://files.example.com/q.pdf", "name": "q.pdf"},
    ]
    message = send(http, tenant, room["id"], "Here you go", medias=medias)
    done = settled(http, tenant, room["id"], message["id"], "done")
    bodies = [r.json() for r in graph.sent()]
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER_WA_ID}
    assert bodies == [
        {
            **base,
            "type": "image",
            "image": {"link": "https://files.example.com/sofa.png", "caption": "Here you go"},
        },
        {
            **base,
            "type": "document",
            "document": {"link": "https://files.example.com/q.pdf", "filename": "q.pdf"},
        },
    ]
    assert done["provider_message_id"] == graph.wamids[-2]


def test_a_failed_status_fails_the_message_and_a_late_delivered_does_not_undo_it(
    http, tenant, account, graph
):
    room = open_room(http, tenant, account)
    message = send(http, tenant, room["id"], "Your order shipped")
    wamid = settled(http, tenant, room["id"], message["id"], "done")["provider_message_id"]

    r = post_hook(http, account, webhook(statuses=[status(wamid, "sent")]))
    assert r.status_code == 200, r.text
    assert message_now(http, tenant, room["id"], message["id"])["status"] == "done"

    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes",
        }
    ]
    r = post_hook(http, account, webhook(statuses=[status(wamid, "failed", errors)]))
    assert r.status_code == 200, r.text
    failed = message_now(http, tenant, room["id"], message["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "WhatsApp 131026: Message undeliverable"

    r = post_hook(http, account, webhook(statuses=[status(wamid, "delivered")]))
    assert r.status_code == 200, r.text
    still = message_now(http, tenant, room["id"], message["id"])
    assert still["status"] == "failed"
    assert still["error"] == "WhatsApp 131026: Message undeliverable"


def test_a_status_webhook_needs_the_signature_too(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    message = send(http, tenant, room["id"], "Your order shipped")
    wamid = settled(http, tenant, room["id"], message["id"], "done")["provider_message_id"]
    payload = webhook(statuses=[status(wamid, "failed", [{"code": 131026, "title": "x"}])])
    r = post_hook(http, account, payload, sign="sha256=" + "0" * 64)
    assert_error(r, 401, "invalid_signature")
    assert message_now(http, tenant, room["id"], message["id"])["status"] == "done"


def test_a_graph_refusal_fails_the_message_with_the_reason(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    graph.send_replies.append(
        Reply(status=400, body=graph_error(131026, "(#131026) Message undeliverable", 2494010))
    )
    message = send(http, tenant, room["id"], "hello?")
    failed = settled(http, tenant, room["id"], message["id"], "failed")
    assert failed["error"] == "WhatsApp 131026: (#131026) Message undeliverable"
    assert len(graph.sent()) == 1  # not retried


def test_an_expired_token_is_a_permanent_failure(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    graph.send_replies.append(
        Reply(status=401, body=graph_error(190, "Error validating access token", 463))
    )
    message = send(http, tenant, room["id"], "hello?")
    failed = settled(http, tenant, room["id"], message["id"], "failed")
    assert failed["error"] == "WhatsApp 190: Error validating access token"


def test_a_graph_500_is_retried_until_it_goes_through(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    graph.send_replies.append(
        Reply(status=500, body=graph_error(1, "An unknown error has occurred."))
    )
    message = send(http, tenant, room["id"], "second time lucky")
    done = settled(http, tenant, room["id"], message["id"], "done")
    assert len(graph.sent()) == 2
    assert graph.sent()[0].json() == graph.sent()[1].json()
    assert done["provider_message_id"] == graph.wamids[-1]


def test_throttling_is_retried_not_failed(http, tenant, account, graph):
    room = open_room(http, tenant, account)
    graph.send_replies.append(
        Reply(
            status=400,
            body=graph_error(131056, "(Business Account, Consumer Account) pair rate limit hit"),
        )
    )
    message = send(http, tenant, room["id"], "not too fast")
    settled(http, tenant, room["id"], message["id"], "done")
    assert len(graph.sent()) == 2
