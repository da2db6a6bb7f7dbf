"""Hostile provider input over real HTTP and SMTP, signed correctly so that it gets past
verification: characters PostgreSQL cannot store (U+0000, lone surrogates), values larger
than any column (a 300-character MessageSid, a 3,000-character media URL, huge names and
subjects), and batches with one bad event. Every hook answers 2xx, every message is
stored (without the unstorable characters) exactly once — also when the provider delivers
it again — and what cannot be stored is in the rejected-inbound log, for admins only.

One server for the module; a local stand-in answers for LINE's and Meta Graph's APIs."""

from __future__ import annotations

import base64
import json
import smtplib
import tempfile
import uuid
from email.message import EmailMessage
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from api_kit import history, peer_of, rooms
from conftest import ServerProcess, Tenant, assert_error, cli_env, own_database
from providers import (
    ProviderServer,
    Reply,
    line_signature,
    meta_signature,
    twilio_signature,
)

DB: dict[str, str] = {}
PUBLIC = "https://desk.example.com"  # the URL Twilio signs (CONVODESK_PUBLIC_URL)

TWILIO_TOKEN = "12345678901234567890123456789012"
ACCOUNT_SID = "AC" + "a" * 32
OUR_NUMBER = "+14155550100"
LINE_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"
TARO = "U4af4980629000000000000000000000a"
HUGE_NAME = "Taro\x00 " + "Y" * 5000
WA_SECRET = "whatsapp-app-secret"
WA_NUMBER_ID = "106540352242922"
HOOK_SECRET = "relay-hook-secret"
SUPPORT = "support@acme.example"

LONG_SID = "SM" + "f" * 298  # 300 characters
LONG_URL = "https://media.example/" + "a" * 2978  # 3,000 characters
assert len(LONG_SID) == 300 and len(LONG_URL) == 3000


# --- the server and the stand-in for LINE and Graph -----------------------------------------


@pytest.fixture(scope="module")
def provider_api():
    srv = ProviderServer()
    srv.route(
        "GET",
        rf"/v2/bot/profile/({TARO})",
        lambda r, m: Reply(body={"displayName": HUGE_NAME, "userId": m.group(1)}),
    )
    srv.route(
        "GET",
        r"/v2/bot/message/(\d+)/content",
        lambda r, m: Reply(body=b"%PDF-1.4 report", headers={"Content-Type": "application/pdf"}),
    )
    # Graph: the media's URL (on this same stand-in), then the file
    srv.route(
        "GET",
        r"/v21.0/(\d+)",
        lambda r, m: Reply(
            body={
                "url": f"{srv.url}/files/{m.group(1)}",
                "mime_type": "application/pdf",
                "file_size": 15,
                "id": m.group(1),
                "messaging_product": "whatsapp",
            }
        ),
    )
    srv.route("GET", r"/files/(\d+)", lambda r, m: Reply(body=b"%PDF-1.4 report"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def app_server(provider_api):
    env = cli_env(
        DATABASE_URL=DB.setdefault("url", own_database("hostile")),
        CONVODESK_LINE_API_BASE=provider_api.url,
        CONVODESK_LINE_DATA_API_BASE=provider_api.url,
        CONVODESK_WHATSAPP_API_BASE=provider_api.url,
        CONVODESK_DATA_DIR=tempfile.mkdtemp(prefix="convodesk-hostile-"),
    )
    srv = ServerProcess({**env, "CONVODESK_PUBLIC_URL": PUBLIC}).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def client(app_server):
    with httpx.Client(base_url=app_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(client) -> Tenant:
    return Tenant(client, "acme", DB["url"])


def create(client, tenant, body: dict) -> dict:
    r = client.post("/v1.0/conversation_accounts", headers=tenant.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def sms(client, tenant) -> dict:
    return create(
        client,
        tenant,
        {
            "type": "sms",
            "settings": {"phone_number": OUR_NUMBER, "account_sid": ACCOUNT_SID},
            "secrets": {"auth_token": TWILIO_TOKEN},
        },
    )


@pytest.fixture
def line(client, tenant) -> dict:
    return create(
        client, tenant, {"type": "line", "secret": LINE_SECRET, "token": "line-access-token"}
    )


@pytest.fixture
def whatsapp(client, tenant) -> dict:
    return create(
        client,
        tenant,
        {
            "type": "whatsapp",
            "settings": {"phone_number_id": WA_NUMBER_ID},
            "secrets": {"access_token": "graph-token", "app_secret": WA_SECRET},
        },
    )


@pytest.fixture
def email(client, tenant) -> dict:
    return create(
        client,
        tenant,
        {
            "type": "email",
            "settings": {"address": SUPPORT, "smtp_host": "127.0.0.1", "smtp_port": "2525"},
            "secrets": {"hook_secret": HOOK_SECRET},
        },
    )


# --- reading back through the API -----------------------------------------------------------


def only_room(client, tenant) -> dict:
    (room,) = rooms(client, tenant)
    return room


def only_message(client, tenant) -> dict:
    (message,) = history(client, tenant, only_room(client, tenant)["id"])
    return message


def rejected(client, tenant, account: dict, **params) -> list[dict]:
    r = client.get(
        f"/v1.0/conversation_accounts/{account['id']}/rejected",
        headers=tenant.admin,
        params=params,
    )
    assert r.status_code == 200, r.text
    return r.json()["result"]


def no_unstorable(value) -> bool:
    text = json.dumps(value, ensure_ascii=False)
    return "\x00" not in text and "\\u0000" not in text and "\\ud8" not in text


# --- Twilio -------------------------------------------------------------------------------


def twilio_post(client, account: dict, body: str) -> httpx.Response:
    """POST a form body as Twilio does, signed over what its parameters decode to."""
    path = f"/hooks/sms/{account['id']}"
    params = parse_qsl(body, keep_blank_values=True)
    return client.post(
        path,
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC + path, params),
        },
    )


def form(**fields: str) -> str:
    # quote() with surrogatepass: a lone surrogate goes out as its (invalid) UTF-8 bytes
    return "&".join(
        f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in fields.items()
    )


def test_twilio_stores_nul_long_sids_and_long_media_urls(client, tenant, sms):
    body = form(
        MessageSid=LONG_SID,
        AccountSid=ACCOUNT_SID,
        From="+1415555\x000199",
        To=OUR_NUMBER,
        Body="hello\x00 world \ud800!",
        ProfileName="Jane\x00",
        NumMedia="1",
        MediaUrl0=LONG_URL,
        MediaContentType0="image/jpeg",
    )
    for _ in range(2):  # Twilio retries the same MessageSid: stored once
        r = twilio_post(client, sms, body)
        assert r.status_code == 200, r.text
        assert b"<Response>" in r.content
    room = only_room(client, tenant)
    assert room["reference_id"] == "+14155550199"
    message = only_message(client, tenant)
    # the lone surrogate arrived as invalid UTF-8 bytes: each became U+FFFD
    assert message["text"] == "hello world \ufffd\ufffd\ufffd!"
    assert message["provider_message_id"] == LONG_SID
    assert [(m["url"], m["type"]) for m in message["medias"]] == [(LONG_URL, "image/jpeg")]
    assert rejected(client, tenant, sms) == []


def test_twilio_status_callbacks_with_long_sids_are_kept(client, tenant, sms):
    path = f"/hooks/sms/{sms['id']}/status"
    body = form(MessageSid=LONG_SID + "\x00", MessageStatus="delivered", To="+1415555\x000199")
    params = parse_qsl(body, keep_blank_values=True)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC + path, params),
    }
    assert client.post(path, content=body, headers=headers).status_code == 204
    assert rejected(client, tenant, sms) == []


# --- LINE ---------------------------------------------------------------------------------


def line_post(client, account: dict, *events: dict) -> httpx.Response:
    # json.dumps escapes U+0000 and lone surrogates as \u0000 and \ud800, as LINE would
    body = json.dumps({"destination": "Ubot", "events": list(events)}).encode()
    return client.post(
        f"/hooks/line/{account['id']}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "x-line-signature": line_signature(LINE_SECRET, body),
        },
    )


def line_event(message: dict, *, user: str = TARO, event_id: str | None = None) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": 1700000000000,
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or f"01H{uuid.uuid4().hex[:23].upper()}",
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": message,
    }


def external_image(url: str, preview: str | None = None) -> dict:
    provider = {"type": "external", "originalContentUrl": url}
    provider["previewImageUrl"] = preview or url
    return {"id": "468789577898262530", "type": "image", "contentProvider": provider}


def test_line_stores_nul_surrogates_huge_names_and_ids(client, tenant, line):
    long_id = "01H" + "X" * 297
    text = line_event(
        {"id": "1", "type": "text", "text": "a\x00b \ud800c \udfffd"},
        user=TARO + "\x00",  # the NUL goes; what is left is Taro's id
        event_id=long_id,
    )
    file = line_event({"id": "900000000000000001", "type": "file", "fileName": "rep\x00ort.pdf"})
    image = line_event(external_image(LONG_URL))
    for _ in range(2):  # LINE redelivers the same webhookEventIds: stored once
        r = line_post(client, line, text, file, image)
        assert r.status_code == 200, r.text
    room = only_room(client, tenant)
    assert room["reference_id"] == TARO
    name = peer_of(room)["target_name"]
    assert name.startswith("Taro YYY") and len(name) == 255 and "\x00" not in name
    newest, middle, first = history(client, tenant, room["id"])
    assert (first["text"], first["provider_message_id"]) == ("ab c d", long_id)
    [pdf] = middle["medias"]
    assert pdf["name"] == "report.pdf" and pdf["type"] == "application/pdf"
    assert [m["url"] for m in newest["medias"]] == [LONG_URL]
    assert no_unstorable([newest, middle, first, room])
    assert rejected(client, tenant, line) == []


def test_a_mixed_line_batch_stores_the_good_events_once_and_logs_the_bad_one(
    client, tenant, line, app_server
):
    good_text = line_event({"id": "11", "type": "text", "text": "before the picture"})
    bad_id = "01HBADJAVASCRIPTIMAGE000001"
    bad = line_event(external_image("javascript:alert(document.cookie)"), event_id=bad_id)
    good_image = line_event(external_image("https://cdn.example/cat.jpg"))
    for _ in range(2):  # a redelivery of the same batch stores and logs nothing more
        r = line_post(client, line, good_text, bad, good_image)
        assert r.status_code == 200, r.text
    image, text = history(client, tenant, only_room(client, tenant)["id"])
    assert text["text"] == "before the picture"
    assert image["medias"] == [
        {"type": "image/jpeg", "url": "https://cdn.example/cat.jpg", "name": ""}
    ]

    [logged] = rejected(client, tenant, line)
    assert logged["provider_event_id"] == bad_id
    assert logged["reason"] == "the external image's originalContentUrl is not an https URL"
    assert json.loads(logged["excerpt"])["message"]["contentProvider"]["originalContentUrl"] == (
        "javascript:alert(document.cookie)"
    )
    assert logged["account_id"] == line["id"] and logged["customer_id"] == tenant.customer_id

    # admins only, and only their own accounts
    url = f"/v1.0/conversation_accounts/{line['id']}/rejected"
    assert_error(client.get(url, headers=tenant.agent), 403)
    assert_error(client.get(url, headers=tenant.manager), 403)
    other = Tenant(client, "globex", DB["url"])
    assert_error(client.get(url, headers=other.admin), 404, "account_not_found")
    bad_url = "/v1.0/conversation_accounts/not-an-id/rejected"
    assert_error(client.get(bad_url, headers=tenant.admin), 404)

    # and on the channel's admin page, as text
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    with httpx.Client(base_url=app_server.url, cookies={"token": token}) as browser:
        page = browser.get(f"/admin/channels/{line['id']}/edit")
    assert page.status_code == 200, page.text
    assert "Rejected messages" in page.text
    assert bad_id in page.text
    assert "originalContentUrl is not an https URL" in page.text
    assert "&#34;originalContentUrl&#34;: &#34;javascript:alert(document.cookie)" in page.text


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            line_event(external_image("https://cdn.example/" + "a" * 9000)),
            "the external image's originalContentUrl is 9,020 characters (at most 8,192 are kept)",
        ),
        (
            line_event(external_image("http://cdn.example/cat.jpg")),
            "the external image's originalContentUrl is not an https URL",
        ),
        (
            line_event(external_image("https://cdn.example/a.jpg", "data:image/png;base64,AAAA")),
            "the external image's previewImageUrl is not an https URL",
        ),
        (
            {**line_event({"id": "1", "type": "text"}), "message": "not an object"},
            "the message event has no message object",
        ),
        (line_event({"id": "1", "type": {"garbage": [1, 2]}}), "the message has no type"),
        (line_event({"id": "1", "type": "text", "text": "x"}, user="U-../../x"), None),
    ],
)
def test_each_kind_of_bad_line_event_is_logged_with_its_reason(client, tenant, line, event, reason):
    good = line_event({"id": "2", "type": "text", "text": "still here"})
    assert line_post(client, line, event, good).status_code == 200
    assert only_message(client, tenant)["text"] == "still here"
    [logged] = rejected(client, tenant, line)
    assert logged["reason"] == (reason or "the event's source.userId is not a LINE user id")


# --- WhatsApp -----------------------------------------------------------------------------


def whatsapp_post(client, account: dict, messages: list, contacts: list | None = None):
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": WA_NUMBER_ID,
                            },
                            "contacts": contacts or [],
                            "messages": messages,
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    signature = meta_signature(WA_SECRET, body)
    return client.post(
        f"/hooks/whatsapp/{account['id']}",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


def wa_text(wamid: str, body: str, sender: str = "16315551181") -> dict:
    return {
        "from": sender,
        "id": wamid,
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": body},
    }


def test_whatsapp_stores_nul_surrogates_long_ids_and_names(client, tenant, whatsapp):
    long_wamid = "wamid." + "H" * 294
    contacts = [{"profile": {"name": "Ana\x00 " + "B" * 400}, "wa_id": "16315551181"}]
    document = {
        "from": "16315551181",
        "id": "wamid.document\x00",
        "timestamp": "1700000001",
        "type": "document",
        "document": {
            "id": "1234567890",
            "mime_type": "application/pdf",
            "caption": "the\x00 contract \ud800",
            "filename": "con\x00tract.pdf",
        },
    }
    batch = [wa_text(long_wamid, "hi\x00 there \udfff"), document]
    for _ in range(2):  # Meta redelivers the batch: stored once
        r = whatsapp_post(client, whatsapp, batch, contacts)
        assert r.status_code == 200, r.text
    room = only_room(client, tenant)
    name = peer_of(room)["target_name"]
    assert name.startswith("Ana BBB") and len(name) == 255
    doc, text = history(client, tenant, room["id"])
    assert (text["text"], text["provider_message_id"]) == ("hi there ", long_wamid)
    assert (doc["text"], doc["provider_message_id"]) == ("the contract ", "wamid.document")
    [pdf] = doc["medias"]
    assert pdf["name"] == "contract.pdf"
    assert no_unstorable([doc, text, room])
    assert rejected(client, tenant, whatsapp) == []


def test_a_whatsapp_batch_with_one_malformed_message_stores_the_rest(client, tenant, whatsapp):
    malformed = {"from": "16315551181", "id": "wamid.malformed", "type": 42, "text": "nope"}
    no_sender = {"id": "wamid.nosender", "type": "text", "text": {"body": "from nobody"}}
    batch = [wa_text("wamid.one", "one"), malformed, no_sender, wa_text("wamid.two", "two")]
    for _ in range(2):
        r = whatsapp_post(client, whatsapp, batch)
        assert r.status_code == 200, r.text
    texts = [m["text"] for m in history(client, tenant, only_room(client, tenant)["id"])]
    assert texts == ["two", "one"]
    logged = rejected(client, tenant, whatsapp)
    assert [(e["provider_event_id"], e["reason"]) for e in logged] == [
        ("wamid.nosender", "'' is not a phone number."),
        ("wamid.malformed", "unreadable message: Expected `str`, got `int` - at `$.type`"),
    ]
    assert json.loads(logged[1]["excerpt"]) == malformed
    # one at a time, newest first
    first = client.get(
        f"/v1.0/conversation_accounts/{whatsapp['id']}/rejected",
        headers=tenant.admin,
        params={"page_size": 1},
    ).json()
    assert [e["provider_event_id"] for e in first["result"]] == ["wamid.nosender"]
    rest = rejected(client, tenant, whatsapp, page_size=1, page_token=first["next_page_token"])
    assert [e["provider_event_id"] for e in rest] == ["wamid.malformed"]


# --- email: the relay hook and the SMTP listener ------------------------------------------


def hostile_mail(message_id: str, subject_length: int = 3000) -> bytes:
    """A mail with U+0000 and raw non-UTF-8 bytes (which Python's mail parser turns into
    lone surrogates) in the subject, the sender's name, the text, the HTML and a file name;
    a subject longer than a room's name."""
    msg = EmailMessage()
    msg["From"] = "Jane Customer <jane@customer.example>"
    msg["To"] = SUPPORT
    msg["Subject"] = "placeholder-subject"
    msg["Message-ID"] = message_id
    msg.set_content("plain\x00 text")
    msg.add_alternative("<p>html\x00 text</p>", subtype="html")
    msg.add_attachment(b"file body", maintype="application", subtype="pdf", filename="fi.pdf")
    raw = msg.as_bytes()
    raw = raw.replace(b"placeholder-subject", b"Sub\x00ject \xff\xfe" + b"S" * subject_length, 1)
    raw = raw.replace(b"Jane Customer", b"Ja\x00ne \xff", 1)
    return raw.replace(b'filename="fi.pdf"', b'filename="fi\x00le\xff.pdf"', 1)


def test_the_email_hook_stores_nul_surrogates_and_a_long_message_id(client, tenant, email):
    message_id = "<" + "m" * 3000 + "@customer.example>"
    raw = hostile_mail(message_id)
    auth = base64.b64encode(f"relay:{HOOK_SECRET}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "message/rfc822"}
    for _ in range(2):  # the relay retries: stored once
        r = client.post(f"/hooks/email/{email['id']}", content=raw, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": True, "stored": True}
    room = only_room(client, tenant)
    assert room["name"].startswith("Subject") and len(room["name"]) <= 255
    assert peer_of(room)["target"] == "jane@customer.example"
    [message] = history(client, tenant, room["id"])
    assert message["text"] == "plain text"
    assert message["provider_message_id"] == message_id
    [file] = message["medias"]
    assert file["name"].startswith("file") and file["name"].endswith(".pdf")
    assert no_unstorable([room, message])
    assert rejected(client, tenant, email) == []


def test_the_smtp_listener_stores_a_mail_with_nul_in_subject_and_body(
    client, tenant, email, app_server
):
    # SMTP lines stop at 1,000 octets (RFC 5321 4.5.3.1.6): a shorter subject here
    raw = hostile_mail("<nul-by-smtp@customer.example>", subject_length=100)
    raw = raw.replace(b"\n", b"\r\n")  # SMTP's line ends
    with smtplib.SMTP("127.0.0.1", app_server.smtp_port, timeout=20) as smtp:
        refused = smtp.sendmail("jane@customer.example", [SUPPORT], raw)
    assert refused == {}
    [message] = history(client, tenant, only_room(client, tenant)["id"])
    assert message["text"] == "plain text"
    assert message["provider_message_id"] == "<nul-by-smtp@customer.example>"
    assert no_unstorable(message)


# --- the web chat widget ------------------------------------------------------------------


def test_the_widget_stores_a_visitor_message_and_name_without_nul(client, tenant):
    account = create(client, tenant, {"type": "webchat", "name": "Site chat"})
    base = f"/widget/{account['id']}"
    session = client.post(f"{base}/session").json()
    headers = {"X-Widget-Token": session["token"], "Content-Type": "application/json"}
    body = b'{"text": "hi\\u0000 there \\ud800", "client_id": "c1"}'
    for _ in range(2):  # a resend with the same client_id is stored once
        r = client.post(f"{base}/messages", content=body, headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["text"] == "hi there "
    body = b'{"name": "Vi\\u0000sitor", "email": "visitor@example.com"}'
    assert client.post(f"{base}/identify", content=body, headers=headers).status_code == 200
    room = only_room(client, tenant)
    names = {p["target_name"] for p in room["participants"]}
    assert "Visitor" in names
    assert only_message(client, tenant)["text"] == "hi there "


# --- bodies that are not the provider's format at all ---------------------------------------


def test_a_signed_body_nested_too_deeply_is_a_400_for_line_and_whatsapp(
    client, tenant, line, whatsapp
):
    deep = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post(
        f"/hooks/line/{line['id']}",
        content=deep,
        headers={
            "Content-Type": "application/json",
            "x-line-signature": line_signature(LINE_SECRET, deep),
        },
    )
    assert_error(r, 400, "malformed_body")
    wa_signature = meta_signature(WA_SECRET, deep)
    r = client.post(
        f"/hooks/whatsapp/{whatsapp['id']}",
        content=deep,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": wa_signature},
    )
    assert_error(r, 400, "invalid_body")
    assert rooms(client, tenant) == []


def test_a_mail_nested_too_deeply_is_logged_as_rejected(client, tenant, email):
    parts = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
        for i in range(3000)
    )
    raw = (
        b"From: jane@customer.example\r\nMessage-ID: <deep@customer.example>\r\n"
        b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + parts
    )
    auth = base64.b64encode(f"relay:{HOOK_SECRET}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}", "Content-Type": "message/rfc822"}
    r = client.post(f"/hooks/email/{email['id']}", content=raw, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] is False
    [logged] = rejected(client, tenant, email)
    assert logged["reason"] == "The mail nests its parts too deeply to read."
    assert logged["excerpt"].startswith("From: jane@customer.example")
    assert rooms(client, tenant) == []


def test_a_hook_path_with_nul_is_not_found(client, sms):
    for path in (f"/hooks/sm%00s/{sms['id']}", f"/hooks/sms/{sms['id']}%00", "/hooks/%00/x"):
        assert_error(client.post(path, content=b"MessageSid=SM1"), 404)
