"""One customer's story across real channels: a customer texts, the agent answers by SMS and
then by email, the customer replies by email, and later follows up from the web chat
widget — and everything lands in one room, each reply on the channel it should take.

Twilio is a local stand-in speaking its Messages API; email goes over real SMTP both ways
(the server's own listener in, a local relay out); the widget is driven through its HTTP
doors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid

import httpx
import pytest
from aiosmtpd.controller import Controller
from conftest import ServerProcess, Tenant, cli_env, free_port, own_database, wait_for
from providers import ProviderServer, Recorded, Reply

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "seed-scenario-auth-token"
SHOP_NUMBER = "+14155550100"
DANA_PHONE = "+15559876543"
DANA_EMAIL = "dana.park@example.com"
SUPPORT = "support@acme.example"


class Relay:
    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def stack():
    twilio = ProviderServer()

    def messages_api(request: Recorded, match) -> Reply:
        form = dict(request.form())
        sid = "SM" + uuid.uuid4().hex
        return Reply(status=201, body={"sid": sid, "status": "queued", "to": form.get("To")})

    twilio.route("POST", r"/2010-04-01/Accounts/(AC\w+)/Messages\.json", messages_api)
    relay = Relay()
    relay_server = Controller(relay, hostname="127.0.0.1", port=free_port())
    relay_server.start()
    db_url = own_database("seed")
    env = cli_env(DATABASE_URL=db_url, CONVODESK_TWILIO_API_BASE=twilio.url)
    server = ServerProcess(env).wait_ready()
    try:
        yield {
            "server": server,
            "db": db_url,
            "twilio": twilio,
            "relay": relay,
            "relay_port": relay_server.port,
        }
    finally:
        server.stop()
        relay_server.stop()
        twilio.stop()


def twilio_signature(url: str, params: list[tuple[str, str]]) -> str:
    data = url + "".join(k + v for k, v in sorted(params, key=lambda p: p[0]))
    digest = hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_sms_email_and_widget_land_in_one_room(stack):
    server = stack["server"]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        tenant = Tenant(client, "seed", stack["db"])

        def account(body: dict) -> dict:
            r = client.post("/v1.0/conversation_accounts", headers=tenant.admin, json=body)
            assert r.status_code == 201, r.text
            return r.json()

        sms = account(
            {
                "type": "sms",
                "settings": {"phone_number": SHOP_NUMBER, "account_sid": ACCOUNT_SID},
                "secret": AUTH_TOKEN,
            }
        )
        account(
            {
                "type": "email",
                "settings": {
                    "address": SUPPORT,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": stack["relay_port"],
                    "smtp_security": "none",
                },
            }
        )
        widget = account({"type": "webchat", "settings": {"title": "Acme chat"}})

        # 1. Dana texts the shop's number (Twilio's signed webhook).
        url = sms["webhook_urls"]["incoming"]
        params = [
            ("MessageSid", "SM" + uuid.uuid4().hex),
            ("AccountSid", ACCOUNT_SID),
            ("From", DANA_PHONE),
            ("To", SHOP_NUMBER),
            ("Body", "When will my order arrive?"),
            ("NumMedia", "0"),
        ]
        r = client.post(
            url.removeprefix(server.url),
            data=dict(params),
            headers={"X-Twilio-Signature": twilio_signature(url, params)},
        )
        assert r.status_code == 200, r.text
        [room] = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
        room_id = room["id"]

        def say(text: str, participant_id: str | None = None) -> dict:
            body = {"text": text} | ({"participant_id": participant_id} if participant_id else {})
            r = client.post(
                f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin, json=body
            )
            assert r.status_code == 201, r.text
            return r.json()

        # 2. The agent answers: by SMS, since Dana wrote last by SMS.
        by_sms = say("Your order is scheduled for Friday.")
        assert by_sms["reference_type"] == "message"
        wait_for(lambda: stack["twilio"].received("POST", r".*/Messages\.json"), timeout=20)
        sent = dict(stack["twilio"].received("POST", r".*/Messages\.json")[0].form())
        assert (sent["To"], sent["From"]) == (DANA_PHONE, SHOP_NUMBER)

        # 3. The agent adds Dana's email address and continues by email.
        r = client.post(
            f"/v1.0/conversations/{room_id}/participants",
            headers=tenant.admin,
            json={"type": "email", "target": DANA_EMAIL, "target_name": "Dana Park"},
        )
        assert r.status_code == 201, r.text
        by_email = say("Tracking details are on their way by email.", r.json()["id"])
        assert by_email["reference_type"] == "email"
        wait_for(lambda: stack["relay"].mails, timeout=20)
        ours = stack["relay"].mails[0]
        assert ours["To"] == DANA_EMAIL

        # 4. Dana replies to that email; her client cites our Message-ID.
        reply = EmailMessage()
        reply["From"] = f"Dana Park <{DANA_EMAIL}>"
        reply["To"] = ours["Reply-To"] or SUPPORT
        reply["Subject"] = "Re: " + str(ours["Subject"]).removeprefix("Re: ")
        reply["Message-ID"] = make_msgid(domain="example.com")
        reply["In-Reply-To"] = ours["Message-ID"]
        reply["References"] = ours["Message-ID"]
        reply.set_content("Can I change the delivery address?")
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as smtp:
            smtp.send_message(reply)

        # 5. Later she opens the chat on the website and leaves the same email address.
        headers = {}
        r = client.post(f"/widget/{widget['id']}/session")
        assert r.status_code == 200, r.text
        headers["X-Widget-Token"] = r.json()["token"]
        r = client.post(
            f"/widget/{widget['id']}/identify",
            headers=headers,
            json={"name": "Dana Park", "email": DANA_EMAIL},
        )
        assert r.status_code in (200, 201), r.text
        r = client.post(
            f"/widget/{widget['id']}/messages",
            headers=headers,
            json={"text": "Just checking in from your website.", "client_id": "c1"},
        )
        assert r.status_code == 201, r.text

        # Everything is in the one room.
        rooms = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
        assert [r["id"] for r in rooms] == [room_id]

        def history():
            page = client.get(f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin)
            return list(reversed(page.json()["result"]))

        messages = wait_for(lambda: len(history()) == 5 and history(), timeout=20)
        assert [(m["direction"], m["reference_type"]) for m in messages] == [
            ("inbound", "message"),
            ("outbound", "message"),
            ("outbound", "email"),
            ("inbound", "email"),
            ("inbound", "webchat"),
        ]
        participants = {(p["type"], p["target"]) for p in rooms[0]["participants"]}
        assert {("tel", DANA_PHONE), ("email", DANA_EMAIL)} <= participants
        assert any(t == "webchat" for t, _ in participants)

        # 6. The next reply goes where she wrote last: the widget, which shows it.
        live = say("Hi Dana, yes — what is the new address?")
        assert live["reference_type"] == "webchat"
        wait_for(
            lambda: any(
                m["text"] == live["text"]
                for m in client.get(f"/widget/{widget['id']}/messages", headers=headers).json()[
                    "messages"
                ]
            ),
            timeout=20,
        )
