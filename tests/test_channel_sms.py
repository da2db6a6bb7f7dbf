"""SMS/MMS over Twilio's wire format, end to end: a real `convodesk serve` receives signed
Twilio webhooks over HTTP, and sends through a local server that answers as Twilio's
Messages API documents (201 with the Message resource; errors as
{"code", "message", "more_info", "status"}).

The server has a database of its own: the session server's sender (which points at the
real api.twilio.com) must not pick up these messages. Signatures are computed here from
Twilio's documentation: base64(HMAC-SHA1(auth token, URL + each POST parameter sorted by
name, name + value)).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest
from conftest import (
    ServerProcess,
    assert_error,
    cli_env,
    migrated_database,
    run_cli,
    wait_for,
)
from db_kit import sql_value
from providers import ProviderServer, Recorded, Reply, twilio_signature

PUBLIC = "https://desk.example.test"
"""The server's CONVODESK_PUBLIC_URL: what Twilio is told to call, and signs."""
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-" + "t" * 14
OUR_NUMBER = "+14155550100"
FORM = "application/x-www-form-urlencoded"
MESSAGES_PATH = r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json"


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


# --- Twilio's Messages API, played locally --------------------------------------------


class FakeTwilio:
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json: 201 with a Message resource
    (a fresh SM sid, status queued), unless a test queued other answers first."""

    def __init__(self) -> None:
        self.server = ProviderServer()
        self.url = self.server.url
        self.planned: deque[Callable[[Recorded, str], Reply]] = deque()
        self.sent: list[tuple[float, Recorded, str]] = []
        """(arrival time, request, the sid answered or "") of every send."""
        self.lock = threading.Lock()
        self.server.route("POST", MESSAGES_PATH, self._messages)

    def _messages(self, recorded: Recorded, match) -> Reply:
        sid = new_sid("SM")
        with self.lock:
            plan = self.planned.popleft() if self.planned else None
        reply = plan(recorded, sid) if plan else self.created(recorded, match.group(1), sid)
        with self.lock:
            self.sent.append((time.monotonic(), recorded, sid if reply.status == 201 else ""))
        return reply

    @staticmethod
    def created(recorded: Recorded, account_sid: str, sid: str) -> Reply:
        form = dict(recorded.form())
        media = [v for k, v in recorded.form() if k == "MediaUrl"]
        base = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
        return Reply(
            status=201,
            body={
                "account_sid": account_sid,
                "api_version": "2010-04-01",
                "body": form.get("Body", ""),
                "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
                "date_sent": None,
                "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": str(len(media)),
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": f"{base}/Media.json"},
                "to": form.get("To"),
                "uri": f"{base}.json",
            },
        )

    def plan(self, *answers: Callable[[Recorded, str], Reply]) -> None:
        with self.lock:
            self.planned.extend(answers)

    def sends_of(self, body: str) -> list[tuple[float, Recorded, str]]:
        with self.lock:
            return [s for s in self.sent if dict(s[1].form()).get("Body") == body]

    def stop(self) -> None:
        self.server.stop()


def twilio_error(status: int, code: int, message: str, headers: dict | None = None):
    """An error answer as Twilio's REST API gives it."""

    def answer(recorded: Recorded, sid: str) -> Reply:
        return Reply(
            status=status,
            body={
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            headers=headers or {},
        )

    return answer


# --- the server, its customer and its SMS account --------------------------------------


class Desk:
    def __init__(self, server: ServerProcess, db_url: str, token: str) -> None:
        self.server = server
        self.db_url = db_url
        self.client = httpx.Client(
            base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        self.hooks = httpx.Client(base_url=server.url, timeout=30)  # Twilio has no token
        self.account: dict = {}

    def hook_path(self, sub: str = "", account_id: str | None = None) -> str:
        path = f"/hooks/sms/{account_id or self.account['id']}"
        return f"{path}/{sub}" if sub else path

    def twilio_post(
        self,
        params: list[tuple[str, str]],
        sub: str = "",
        *,
        token: str = AUTH_TOKEN,
        signed_url: str | None = None,
        account_id: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        """POST a form to a hook the way Twilio does, signed over the public URL."""
        path = self.hook_path(sub, account_id)
        sig = signature or twilio_signature(token, signed_url or PUBLIC + path, params)
        return self.hooks.post(
            path,
            content=urlencode(params),
            headers={"Content-Type": FORM, "X-Twilio-Signature": sig},
        )

    def room_of(self, peer: str) -> dict | None:
        rooms = self.client.get("/v1.0/conversations", params={"page_size": 100}).json()
        return next((r for r in rooms["result"] if r["reference_id"] == peer), None)

    def messages(self, room_id: str) -> list[dict]:
        r = self.client.get(f"/v1.0/conversations/{room_id}/messages")
        assert r.status_code == 200, r.text
        return r.json()["result"]

    def message(self, room_id: str, message_id: str) -> dict:
        return next(m for m in self.messages(room_id) if m["id"] == message_id)

    def db(self, query: str, *args):
        return sql_value(self.db_url, query, *args)

    def stored(self, message_sid: str) -> int:
        return self.db("SELECT count(*) FROM messages WHERE provider_message_id = $1", message_sid)


@pytest.fixture(scope="module")
def twilio():
    fake = FakeTwilio()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def desk(twilio):
    db_url = migrated_database("convodesk_sms")
    env = cli_env(
        DATABASE_URL=db_url, CONVODESK_TWILIO_API_BASE=twilio.url, CONVODESK_PUBLIC_URL=PUBLIC
    )
    made = run_cli(
        "customer",
        "create",
        "--name",
        "Sms",
        "--username",
        "sms-admin",
        "--password",
        "sms-pw-1",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    server = ServerProcess(env).wait_ready()
    try:
        login = httpx.post(
            f"{server.url}/auth/login", json={"username": "sms-admin", "password": "sms-pw-1"}
        )
        desk = Desk(server, db_url, login.json()["token"])
        r = desk.client.post(
            "/v1.0/conversation_accounts",
            json={
                "type": "sms",
                "name": "Support line",
                "settings": {"phone_number": "(415) 555-0100", "account_sid": ACCOUNT_SID},
                "secrets": {"auth_token": AUTH_TOKEN},
            },
        )
        assert r.status_code == 201, r.text
        desk.account = r.json()
        yield desk
        desk.client.close()
        desk.hooks.close()
    finally:
        server.stop()


def incoming(message_sid: str, peer: str, body: str = "", **extra: str) -> list[tuple[str, str]]:
    """An incoming-message webhook's form, with the fields Twilio sends."""
    fields = {
        "ToCountry": "US",
        "ToState": "CA",
        "SmsMessageSid": message_sid,
        "NumMedia": "0",
        "ToCity": "SAN FRANCISCO",
        "FromZip": "94105",
        "SmsSid": message_sid,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": body,
        "FromCountry": "US",
        "To": OUR_NUMBER,
        "ToZip": "94105",
        "NumSegments": "1",
        "MessageSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": peer,
        "ApiVersion": "2010-04-01",
        **extra,
    }
    return list(fields.items())


def status_callback(
    message_sid: str, status: str, to: str, error_code: str = ""
) -> list[tuple[str, str]]:
    """A status callback's form, as Twilio posts it to StatusCallback."""
    fields = [
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", to),
        ("MessageSid", message_sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", OUR_NUMBER),
        ("ApiVersion", "2010-04-01"),
    ]
    if error_code:
        fields.append(("ErrorCode", error_code))
    return fields


def open_room(desk: Desk, peer: str) -> str:
    """The room a peer's first SMS opens."""
    r = desk.twilio_post(incoming(new_sid("SM"), peer, "hi, I need help"))
    assert r.status_code == 200, r.text
    return desk.room_of(peer)["id"]


def reply(desk: Desk, room_id: str, text: str, medias: list | None = None) -> dict:
    r = desk.client.post(
        f"/v1.0/conversations/{room_id}/messages", json={"text": text, "medias": medias or []}
    )
    assert r.status_code == 201, r.text
    return r.json()


def settled(desk: Desk, room_id: str, message_id: str, timeout: float = 20) -> dict:
    """The message once the sender is done with it (done or failed)."""

    def check():
        m = desk.message(room_id, message_id)
        return m if m["status"] != "progressing" else None

    return wait_for(check, timeout=timeout, interval=0.2)


# --- the account ----------------------------------------------------------------------


def test_the_account_keeps_its_number_in_e164_and_shows_both_hook_urls(desk):
    account = desk.account
    assert account["type"] == "sms"
    assert account["settings"]["phone_number"] == OUR_NUMBER
    assert account["address"] == OUR_NUMBER
    assert account["secrets_set"] == ["auth_token"]
    assert "auth_token" not in json.dumps(account["settings"])
    assert account["webhook_urls"] == {
        "incoming": f"{PUBLIC}/hooks/sms/{account['id']}",
        "status callback": f"{PUBLIC}/hooks/sms/{account['id']}/status",
    }


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"phone_number": "+14155550199", "account_sid": "AC123"}, "account_sid"),
        ({"phone_number": "+14155550199", "account_sid": "SK" + "0" * 32}, "account_sid"),
        ({"phone_number": "not a number", "account_sid": ACCOUNT_SID}, "phone_number"),
        (
            {
                "phone_number": "+14155550199",
                "account_sid": ACCOUNT_SID,
                "messaging_service_sid": "XX1",
            },
            "messaging_service_sid",
        ),
    ],
)
def test_malformed_twilio_settings_are_refused_with_the_field_named(desk, settings, named):
    r = desk.client.post(
        "/v1.0/conversation_accounts",
        json={"type": "sms", "settings": settings, "secrets": {"auth_token": AUTH_TOKEN}},
    )
    error = assert_error(r, 422, "invalid_setting")
    assert named in error["message"]


# --- inbound --------------------------------------------------------------------------


def test_a_signed_sms_lands_in_a_room_with_the_sender_in_e164(desk):
    sid = new_sid("SM")
    text = "<script>alert('x')</script> my order #12 is late"
    r = desk.twilio_post(incoming(sid, "+14155550123", text))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

    room = desk.room_of("+14155550123")
    assert room is not None
    assert room["reference_type"] == "message"
    assert room["account_id"] == desk.account["id"]
    assert room["last_message"] == text
    [message] = desk.messages(room["id"])
    assert message["direction"] == "inbound"
    assert message["status"] == "done"
    assert message["text"] == text  # stays text
    assert message["provider_message_id"] == sid
    assert message["source"]["target"] == "+14155550123"
    assert message["destination"]["target"] == OUR_NUMBER
    assert message["medias"] == []


def test_an_mms_keeps_twilio_media_urls_with_named_files(desk):
    sid = new_sid("MM")
    media = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media/"
    r = desk.twilio_post(
        incoming(
            sid,
            "+14155550124",
            "",
            NumMedia="2",
            MediaContentType0="image/jpeg",
            MediaUrl0=media + "ME" + "1" * 32,
            MediaContentType1="video/mp4",
            MediaUrl1=media + "ME" + "2" * 32,
        )
    )
    assert r.status_code == 200, r.text
    room = desk.room_of("+14155550124")
    [message] = desk.messages(room["id"])
    assert message["text"] == ""
    assert message["medias"] == [
        {"type": "image/jpeg", "url": media + "ME" + "1" * 32, "name": "media-0.jpg"},
        {"type": "video/mp4", "url": media + "ME" + "2" * 32, "name": "media-1.mp4"},
    ]
    assert room["last_message"] == "[attachment: media-0.jpg, media-1.mp4]"


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(desk):
    sid = new_sid("SM")
    params = incoming(sid, "+14155550125", "forged")
    r = desk.twilio_post(params, token="not-the-auth-token")
    assert_error(r, 401, "invalid_signature")
    r = desk.hooks.post(desk.hook_path(), content=urlencode(params), headers={"Content-Type": FORM})
    assert_error(r, 401, "invalid_signature")
    # a genuine signature over other parameters (the body was altered on the way)
    genuine = twilio_signature(AUTH_TOKEN, PUBLIC + desk.hook_path(), params)
    tampered = [(k, "+14155550999" if k == "From" else v) for k, v in params]
    r = desk.twilio_post(tampered, signature=genuine)
    assert_error(r, 401, "invalid_signature")
    assert desk.stored(sid) == 0
    assert desk.room_of("+14155550125") is None
    assert desk.room_of("+14155550999") is None


def test_the_signature_must_be_over_the_public_url_twilio_was_given(desk):
    sid = new_sid("SM")
    params = incoming(sid, "+14155550126", "which url?")
    path = desk.hook_path()
    for wrong in (
        "http://desk.example.test" + path,  # http, where Twilio was given https
        desk.server.url + path,  # the address the server listens on, not the public one
        PUBLIC + desk.hook_path(account_id=str(uuid.uuid4())),  # another account's URL
        PUBLIC + path + "?x=1",
    ):
        assert_error(desk.twilio_post(params, signed_url=wrong), 401, "invalid_signature")
    assert desk.stored(sid) == 0
    # Twilio signs https URLs with or without the explicit default port
    r = desk.twilio_post(params, signed_url="https://desk.example.test:443" + path)
    assert r.status_code == 200, r.text
    assert desk.stored(sid) == 1


def test_the_query_string_is_part_of_what_twilio_signs(desk):
    sid = new_sid("SM")
    params = incoming(sid, "+14155550127", "with a query")
    path = desk.hook_path() + "?tag=vip"
    signed = twilio_signature(AUTH_TOKEN, PUBLIC + desk.hook_path(), params)  # without it
    headers = {"Content-Type": FORM, "X-Twilio-Signature": signed}
    r = desk.hooks.post(path, content=urlencode(params), headers=headers)
    assert_error(r, 401, "invalid_signature")
    headers["X-Twilio-Signature"] = twilio_signature(AUTH_TOKEN, PUBLIC + path, params)
    r = desk.hooks.post(path, content=urlencode(params), headers=headers)
    assert r.status_code == 200, r.text
    assert desk.stored(sid) == 1


def test_twilio_retrying_the_same_message_sid_stores_it_once(desk):
    sid = new_sid("SM")
    params = incoming(sid, "+14155550128", "only once please")
    for _ in range(3):
        r = desk.twilio_post(params)
        assert r.status_code == 200, r.text
    room = desk.room_of("+14155550128")
    assert [m["text"] for m in desk.messages(room["id"])] == ["only once please"]
    assert desk.stored(sid) == 1


def test_what_is_not_twilios_form_is_refused_with_an_envelope_and_stores_nothing(desk):
    path = desk.hook_path()
    sid = new_sid("SM")
    as_json = json.dumps(dict(incoming(sid, "+14155550129", "json")))
    headers = {
        "Content-Type": "application/json",
        # signed: nothing but the body is wrong (JSON carries no POST parameters)
        "X-Twilio-Signature": twilio_signature(AUTH_TOKEN, PUBLIC + path, []),
    }
    assert_error(desk.hooks.post(path, content=as_json, headers=headers), 400, "invalid_body")
    assert desk.stored(sid) == 0


def test_a_signed_form_without_a_sid_or_sender_is_logged_as_rejected_and_answered(desk):
    """Twilio would retry anything but a 2xx; a signed form we cannot use is answered like
    a good one, stores no message, and is kept in the rejected-inbound log."""
    path = desk.hook_path()
    sid = new_sid("SM")
    garbage = "%%%\x00&&=garbage"
    from urllib.parse import parse_qsl

    headers = {
        "Content-Type": FORM,
        "X-Twilio-Signature": twilio_signature(
            AUTH_TOKEN, PUBLIC + path, parse_qsl(garbage, keep_blank_values=True)
        ),
    }
    assert desk.hooks.post(path, content=garbage, headers=headers).status_code == 200

    no_sid = [(k, v) for k, v in incoming(sid, "+14155550129", "no sid") if "Sid" not in k]
    assert desk.twilio_post(no_sid).status_code == 200
    no_from = [(k, v) for k, v in incoming(sid, "+14155550129", "no from") if k != "From"]
    for _ in range(2):  # Twilio's retry of the same MessageSid is logged once
        r = desk.twilio_post(no_from)
        assert r.status_code == 200 and b"<Response>" in r.content, r.text

    assert desk.stored(sid) == 0
    assert desk.room_of("+14155550129") is None
    r = desk.client.get(f"/v1.0/conversation_accounts/{desk.account['id']}/rejected")
    assert r.status_code == 200, r.text
    logged = r.json()["result"]
    assert [(e["provider_event_id"], e["reason"]) for e in logged] == [
        (sid, "the message has no From"),
        ("", "the request has no MessageSid"),
        ("", "the request has no MessageSid"),
    ]
    assert "no from" in logged[0]["excerpt"] and "\x00" not in logged[2]["excerpt"]


def test_unknown_accounts_and_hooks_are_not_found(desk):
    params = incoming(new_sid("SM"), "+14155550130", "anyone there?")
    r = desk.twilio_post(params, account_id=str(uuid.uuid4()))
    assert_error(r, 404, "account_not_found")
    r = desk.twilio_post(params, account_id="not-an-id")
    assert_error(r, 404)
    r = desk.twilio_post(params, sub="elsewhere")
    assert_error(r, 404)
    assert desk.room_of("+14155550130") is None


# --- outbound -------------------------------------------------------------------------


def test_a_reply_goes_out_as_twilios_documented_form_and_becomes_done(desk, twilio):
    peer = "+14155550140"
    room = open_room(desk, peer)
    sent = reply(desk, room, "Your order ships today.")
    assert sent["status"] == "progressing"
    [(_, request, sid)] = wait_for(lambda: twilio.sends_of("Your order ships today."), 20)

    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["content-type"].startswith(FORM)
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {basic}"
    assert sorted(request.form()) == sorted(
        [
            ("To", peer),
            ("From", OUR_NUMBER),
            ("Body", "Your order ships today."),
            ("StatusCallback", f"{PUBLIC}/hooks/sms/{desk.account['id']}/status"),
        ]
    )
    message = settled(desk, room, sent["id"])
    assert message["status"] == "done"
    assert message["provider_message_id"] == sid
    assert message["error"] is None


def test_media_goes_out_as_repeated_media_urls(desk, twilio):
    room = open_room(desk, "+14155550141")
    medias = [
        {"type": "image/png", "url": "https://files.example.test/a/cat.png", "name": "cat.png"},
        {"type": "application/pdf", "url": "https://files.example.test/b/bill.pdf", "name": "b"},
    ]
    sent = reply(desk, room, "Here are the files", medias)
    [(_, request, _sid)] = wait_for(lambda: twilio.sends_of("Here are the files"), 20)
    assert [v for k, v in request.form() if k == "MediaUrl"] == [m["url"] for m in medias]
    assert settled(desk, room, sent["id"])["status"] == "done"


def test_a_number_twilio_refuses_fails_the_message_with_twilios_reason(desk, twilio):
    room = open_room(desk, "+14155550142")
    twilio.plan(
        twilio_error(400, 21211, "The 'To' number +14155550142 is not a valid phone number.")
    )
    sent = reply(desk, room, "this one is refused")
    message = settled(desk, room, sent["id"])
    assert message["status"] == "failed"
    assert message["error"] == (
        "Twilio 21211: The 'To' number +14155550142 is not a valid phone number."
    )
    # and it is not tried again (a transient error would be, after ~2 s): its queue entry
    # is finished, which no sender ever claims again
    queued = desk.db("SELECT status FROM outbound_messages WHERE message_id = $1", sent["id"])
    assert queued == "failed"
    assert len(twilio.sends_of("this one is refused")) == 1


def test_a_twilio_server_error_is_retried_with_backoff_then_done(desk, twilio):
    room = open_room(desk, "+14155550143")
    twilio.plan(twilio_error(500, 20500, "An internal server error has occurred"))
    sent = reply(desk, room, "second time lucky")
    message = settled(desk, room, sent["id"], timeout=30)
    assert message["status"] == "done"
    [(first, _, no_sid), (second, _, sid)] = twilio.sends_of("second time lucky")
    assert no_sid == ""
    assert message["provider_message_id"] == sid
    assert second - first >= 1.5  # the sender's first backoff is 2 s (± 20 %)


def test_too_many_requests_waits_as_long_as_retry_after_says(desk, twilio):
    room = open_room(desk, "+14155550144")
    twilio.plan(twilio_error(429, 20429, "Too Many Requests", headers={"Retry-After": "5"}))
    sent = reply(desk, room, "slow down")
    message = settled(desk, room, sent["id"], timeout=30)
    assert message["status"] == "done"
    [(first, _, _), (second, _, sid)] = twilio.sends_of("slow down")
    assert message["provider_message_id"] == sid
    assert second - first >= 4.8  # Retry-After (5 s), not the usual 2 s backoff


def test_a_failed_status_sticks_even_when_a_late_sent_arrives(desk, twilio):
    peer = "+14155550145"
    room = open_room(desk, peer)
    sent = reply(desk, room, "will it arrive?")
    message = settled(desk, room, sent["id"])
    assert message["status"] == "done"
    sid = message["provider_message_id"]

    r = desk.twilio_post(status_callback(sid, "queued", peer), sub="status")
    assert r.status_code == 204, r.text
    assert desk.message(room, sent["id"])["status"] == "done"  # queued changes nothing

    r = desk.twilio_post(status_callback(sid, "failed", peer, "30003"), sub="status")
    assert r.status_code == 204, r.text
    message = desk.message(room, sent["id"])
    assert message["status"] == "failed"
    assert message["error"].startswith("Twilio error 30003")

    r = desk.twilio_post(status_callback(sid, "sent", peer), sub="status")  # out of order
    assert r.status_code == 204, r.text
    r = desk.twilio_post(status_callback(sid, "delivered", peer), sub="status")
    assert r.status_code == 204, r.text
    message = desk.message(room, sent["id"])
    assert message["status"] == "failed"
    assert "30003" in message["error"]


def test_a_status_callback_must_be_signed_over_the_status_url(desk, twilio):
    peer = "+14155550146"
    room = open_room(desk, peer)
    sent = reply(desk, room, "status forgery target")
    sid = settled(desk, room, sent["id"])["provider_message_id"]
    params = status_callback(sid, "failed", peer, "30007")
    # signed over the incoming URL instead of the status URL
    r = desk.twilio_post(params, sub="status", signed_url=PUBLIC + desk.hook_path())
    assert_error(r, 401, "invalid_signature")
    r = desk.twilio_post(params, sub="status", token="wrong")
    assert_error(r, 401, "invalid_signature")
    assert desk.message(room, sent["id"])["status"] == "done"


def test_a_status_that_overtakes_the_send_response_is_applied_when_it_lands(desk, twilio):
    """Twilio posts the status callback before our POST has its 201: the status for an
    sid nobody knows yet is kept, and applied once the send is recorded."""
    peer = "+14155550147"
    room = open_room(desk, peer)
    callbacks: list[httpx.Response] = []

    def status_first(recorded: Recorded, sid: str) -> Reply:
        form = dict(recorded.form())
        params = status_callback(sid, "undelivered", form["To"], "30005")
        signature = twilio_signature(AUTH_TOKEN, form["StatusCallback"], params)
        path = form["StatusCallback"].removeprefix(PUBLIC)
        callbacks.append(
            httpx.post(
                desk.server.url + path,
                content=urlencode(params),
                headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
                timeout=20,
            )
        )
        return FakeTwilio.created(recorded, ACCOUNT_SID, sid)

    twilio.plan(status_first)
    sent = reply(desk, room, "overtaken")
    message = wait_for(
        lambda: (m := desk.message(room, sent["id"]))["status"] == "failed" and m, timeout=20
    )
    [callback] = callbacks
    assert callback.status_code == 204, callback.text
    [(_, _, sid)] = twilio.sends_of("overtaken")
    assert message["provider_message_id"] == sid
    assert message["error"].startswith("Twilio error 30005")
    assert desk.db("SELECT count(*) FROM early_statuses") == 0  # applied, not left behind


def test_a_messaging_service_account_sends_with_messaging_service_sid(desk, twilio):
    service = "MG" + "fedcba9876543210" * 2
    r = desk.client.post(
        "/v1.0/conversation_accounts",
        json={
            "type": "sms",
            "settings": {
                "phone_number": "+14155550101",
                "account_sid": ACCOUNT_SID,
                "messaging_service_sid": service,
            },
            "secret": AUTH_TOKEN,  # VoIPBIN's name for the main secret
        },
    )
    assert r.status_code == 201, r.text
    other = r.json()
    peer = "+14155550148"
    r = desk.twilio_post(incoming(new_sid("SM"), peer, "hello"), account_id=other["id"])
    assert r.status_code == 200, r.text
    room = desk.room_of(peer)["id"]
    sent = reply(desk, room, "via the service")
    [(_, request, _)] = wait_for(lambda: twilio.sends_of("via the service"), 20)
    form = dict(request.form())
    assert form["MessagingServiceSid"] == service
    assert "From" not in form
    assert form["StatusCallback"] == f"{PUBLIC}/hooks/sms/{other['id']}/status"
    assert settled(desk, room, sent["id"])["status"] == "done"
