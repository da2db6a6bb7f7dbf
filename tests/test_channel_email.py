"""Email both ways over real SMTP: customers' mail sent with smtplib to the server's own
SMTP listener, agents' replies sent by the server through a relay (a local aiosmtpd server
in this process that keeps what it receives), and raw MIME posted to the hook."""

from __future__ import annotations

import base64
import smtplib
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid

import api_kit
import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from api_kit import rooms
from conftest import (
    ServerProcess,
    Tenant,
    assert_error,
    cli_env,
    free_port,
    own_database,
    run_async,
    wait_for,
)

SUPPORT = "support@acme.example"
JANE = "jane@customer.example"
HOOK_SECRET = "hook-secret-0123456789"


def plain_text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    return body.get_content() if body else ""


class RelayHandler:
    """Stands in for the account's SMTP relay: keeps every mail; a recipient in `refuse`
    gets the reply given there (e.g. a 550) instead of 250."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def mail_saying(self, text: str) -> EmailMessage:
        """The mail whose text holds `text`, waited for: the relay is shared by a module's
        tests, so the last mail received is not necessarily this test's."""

        def found():
            return [m for _, _, m in self.mails if text in plain_text(m)]

        return wait_for(found, timeout=20)[-1]


@pytest.fixture(scope="module")
def mail_db() -> str:
    """The module's own database: the session server's sender knows another public URL and
    data directory, so were it to take a reply it would link our files instead of attaching
    them."""
    return own_database("email")


@pytest.fixture(scope="module")
def mail_server(mail_db):
    srv = ServerProcess(cli_env(DATABASE_URL=mail_db)).wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def db_url(mail_db) -> str:
    return mail_db


@pytest.fixture
def client(mail_server):
    with httpx.Client(base_url=mail_server.url, timeout=30) as c:
        yield c


@pytest.fixture
def tenant(client, mail_db) -> Tenant:
    return Tenant(client, "acme", db_url=mail_db)


@pytest.fixture
def other_tenant(client, mail_db) -> Tenant:
    return Tenant(client, "globex", db_url=mail_db)


@pytest.fixture(scope="module")
def relay_controller():
    handler = RelayHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def relay(relay_controller) -> RelayHandler:
    handler: RelayHandler = relay_controller.handler
    handler.mails.clear()
    handler.refuse.clear()
    handler.port = relay_controller.port
    return handler


def create_account(client, tenant: Tenant, port: int, address: str = SUPPORT, **secrets) -> dict:
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "email",
            "name": "Support mailbox",
            "settings": {
                "address": address,
                "from_name": "Acme Support",
                "smtp_host": "127.0.0.1",
                "smtp_port": port,
                "smtp_security": "none",
            },
            "secrets": secrets,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def account(client, tenant, relay) -> dict:
    return create_account(client, tenant, relay.port, hook_secret=HOOK_SECRET)


def mail(
    sender: str = f"Jane Customer <{JANE}>",
    subject: str = "My printer is on fire",
    text: str | None = "Hello, my printer is on fire.",
    *,
    to: str = SUPPORT,
    html: str | None = None,
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if text is not None:
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg


def deliver(server: ServerProcess, msg: EmailMessage, to: list[str] | None = None, **kw):
    """Send `msg` to the server's SMTP listener, as the customer's mail server would."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as smtp:
        return smtp.send_message(msg, to_addrs=to, **kw)


def history(client, tenant: Tenant, room_id: str) -> list[dict]:
    """The room's messages, oldest first."""
    return list(reversed(api_kit.history(client, tenant, room_id)))


def only_room(client, tenant: Tenant) -> dict:
    found = wait_for(lambda: rooms(client, tenant), timeout=20)
    assert len(found) == 1, found
    return found[0]


def reply(client, tenant: Tenant, room_id: str, text: str, **extra) -> dict:
    r = client.post(
        f"/v1.0/conversations/{room_id}/messages",
        headers=tenant.admin,
        json={"text": text, **extra},
    )
    assert r.status_code == 201, r.text
    return r.json()


def message_status(client, tenant: Tenant, room_id: str, message_id: str) -> dict:
    return next(m for m in history(client, tenant, room_id) if m["id"] == message_id)


def open_thread(client, tenant, relay, server) -> tuple[dict, str, EmailMessage]:
    """A customer's mail, and the agent's reply as the relay received it."""
    first_id = make_msgid(domain="customer.example")
    deliver(server, mail(message_id=first_id))
    room = only_room(client, tenant)
    reply(client, tenant, room["id"], "We are sending a fire engine.")
    return room, first_id, relay.mail_saying("We are sending a fire engine.")


# --- inbound ----------------------------------------------------------------------


def test_customer_mail_opens_a_room(client, tenant, account, mail_server):
    deliver(mail_server, mail())
    room = only_room(client, tenant)
    assert room["name"] == "My printer is on fire"
    assert room["reference_type"] == "email"
    assert room["account_id"] == account["id"]
    peer = next(p for p in room["participants"] if p["target"] == JANE)
    assert (peer["type"], peer["target_name"]) == ("email", "Jane Customer")
    [message] = history(client, tenant, room["id"])
    assert message["direction"] == "inbound"
    assert message["text"] == "Hello, my printer is on fire."
    assert message["source"]["target"] == JANE
    assert (
        message["provider_message_id"].startswith("<")
        and "@customer.example>" in (message["provider_message_id"])
    )


def test_unknown_recipient_is_refused_and_nothing_stored(client, tenant, account, mail_server):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        deliver(mail_server, mail(to="nobody@acme.example"))
    code, reply_text = refused.value.recipients["nobody@acme.example"]
    assert code == 550 and b"5.1.1" in reply_text
    # a reply+ address with a token we never signed is refused the same way
    forged = "reply+" + uuid.uuid4().hex + "0" * 20 + "@acme.example"
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        deliver(mail_server, mail(to=forged))
    assert rooms(client, tenant) == []


def test_same_mail_delivered_twice_is_stored_once(client, tenant, account, mail_server):
    msg = mail()
    deliver(mail_server, msg)
    deliver(mail_server, msg)
    room = only_room(client, tenant)
    assert len(history(client, tenant, room["id"])) == 1


def test_html_only_mail_becomes_readable_text(client, tenant, account, mail_server):
    html = (
        "<html><head><style>p {color: red}</style><script>steal()</script></head><body>"
        "<p>Hello <b>team</b>,</p><div>first line<br>second line</div>"
        "<ul><li>one</li><li>two</li></ul>"
        '<p>See <a href="https://customer.example/ticket">my ticket</a>.</p></body></html>'
    )
    deliver(mail_server, mail(text=None, html=html))
    room = only_room(client, tenant)
    [message] = history(client, tenant, room["id"])
    text = message["text"]
    assert "<" not in text and "steal" not in text and "color" not in text
    assert text.splitlines() == [
        "Hello team,",
        "",
        "first line",
        "second line",
        "- one",
        "- two",
        "",
        "See my ticket (https://customer.example/ticket).",
    ]


def test_quoted_history_is_trimmed(client, tenant, account, mail_server):
    gmail = (
        "Yes, it is the blue one.\n\n"
        "On Tue, 2 Jan 2024 at 09:00, Acme Support <support@acme.example>\nwrote:\n"
        "> Which printer is it?\n>\n> Acme Support\n"
    )
    deliver(mail_server, mail(text=gmail, subject="Printer"))
    outlook = (
        "It stopped burning.\n\n-----Original Message-----\nFrom: Acme Support\n"
        "Sent: Tuesday\nSubject: Printer\n\nWhich printer is it?\n"
    )
    deliver(mail_server, mail(text=outlook, subject="Printer"))
    # an answer written between the quotes is the writer's own: it stays
    inline = "> Which printer?\nThe blue one.\n> Where is it?\nIn the hall."
    deliver(mail_server, mail(text=inline, subject="Printer"))
    # an HTML-only Gmail reply: the quote is a blockquote under the attribution
    gmail_html = (
        '<div dir="ltr">Fixed now, thanks!</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Tue, 2 Jan 2024 at 09:00, Acme Support &lt;'
        "support@acme.example&gt; wrote:<br></div><blockquote>Did it work?</blockquote></div>"
    )
    deliver(mail_server, mail(text=None, html=gmail_html, subject="Printer"))
    room = only_room(client, tenant)
    texts = [m["text"] for m in history(client, tenant, room["id"])]
    assert texts == [
        "Yes, it is the blue one.",
        "It stopped burning.",
        inline,
        "Fixed now, thanks!",
    ]


def test_attachment_is_kept_and_downloadable(client, tenant, account, mail_server):
    msg = mail(text="Photo attached.")
    picture = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    msg.add_attachment(picture, maintype="image", subtype="png", filename="fire.png")
    msg.add_attachment(
        b"<script>alert(1)</script>", maintype="text", subtype="html", filename="page.html"
    )
    deliver(mail_server, msg)
    room = only_room(client, tenant)
    [message] = history(client, tenant, room["id"])
    assert message["text"] == "Photo attached."
    image, page = message["medias"]
    assert (image["type"], image["name"]) == ("image/png", "fire.png")
    assert image["url"].startswith(mail_server.url + "/media/")
    got = httpx.get(image["url"], timeout=10)
    assert got.status_code == 200 and got.content == picture
    # an HTML file is kept as text, so it can never run as a page of our own site
    served = httpx.get(page["url"], timeout=10)
    assert served.content == b"<script>alert(1)</script>"
    assert served.headers["content-type"].startswith("text/plain")


def test_script_in_a_mail_stays_text(client, tenant, account, mail_server):
    body = "<script>alert('x')</script> & <b>bold</b>"
    deliver(mail_server, mail(text=body, subject="<img src=x onerror=alert(1)>"))
    room = only_room(client, tenant)
    assert room["name"] == "<img src=x onerror=alert(1)>"
    [message] = history(client, tenant, room["id"])
    assert message["text"] == body


def test_automatic_mail_is_accepted_but_not_stored(client, tenant, account, mail_server):
    # out-of-office replies and bounces must not open rooms (nor answer our replies in a loop)
    deliver(mail_server, mail(Auto_Submitted="auto-replied", subject="Out of office"))
    deliver(mail_server, mail(sender="MAILER-DAEMON@mx.customer.example", subject="Undelivered"))
    deliver(mail_server, mail(subject="Bounce"), from_addr="<>")
    # our own reply coming back (a relay that loops it) is not a customer writing
    deliver(mail_server, mail(sender=f"Acme Support <{SUPPORT}>", subject="Loop"))
    deliver(mail_server, mail(subject="A person"))  # and a real mail still gets in
    room = only_room(client, tenant)
    assert room["name"] == "A person"


# --- outbound and threading -----------------------------------------------------------


def test_agent_reply_goes_out_threaded(client, tenant, account, relay, mail_server):
    room, first_id, sent = open_thread(client, tenant, relay, mail_server)
    mail_from, recipients, _ = next(entry for entry in relay.mails if entry[2] is sent)
    assert (mail_from, recipients) == (SUPPORT, [JANE])
    assert sent["From"].addresses[0].display_name == "Acme Support"
    assert sent["From"].addresses[0].addr_spec == SUPPORT
    assert sent["To"] == JANE
    assert sent["Subject"] == "Re: My printer is on fire"
    assert sent["In-Reply-To"] == first_id
    assert sent["References"] == first_id
    assert sent["Date"]
    assert sent["Message-ID"].endswith("@acme.example>")
    reply_to = sent["Reply-To"].addresses[0]
    assert reply_to.username.startswith("reply+") and reply_to.domain == "acme.example"
    assert sent.get_body(("plain",)).get_content().strip() == "We are sending a fire engine."

    outbound = wait_for(
        lambda: [
            m
            for m in history(client, tenant, room["id"])
            if m["direction"] == "outbound" and m["status"] == "done"
        ],
        timeout=20,
    )[0]
    assert outbound["provider_message_id"] == sent["Message-ID"]

    # the next reply cites the whole thread, and its subject stays "Re: ..." (not Re: Re:)
    reply(client, tenant, room["id"], "It is on its way.")
    wait_for(lambda: len(relay.mails) == 2, timeout=20)
    second = relay.mails[-1][2]
    assert second["Subject"] == "Re: My printer is on fire"
    assert second["In-Reply-To"] == sent["Message-ID"]
    assert second["References"].split() == [first_id, sent["Message-ID"]]


def test_agent_reply_attaches_our_files_and_links_others(
    client, tenant, account, relay, mail_server
):
    deliver(mail_server, mail())
    room = only_room(client, tenant)
    # a file we hold (the customer's own attachment of an earlier mail)
    with_file = mail(text="here")
    with_file.add_attachment(b"%PDF-1.4 manual", maintype="application", subtype="pdf",
                             filename="manual.pdf")  # fmt: skip
    deliver(mail_server, with_file)
    stored = wait_for(lambda: [m for m in history(client, tenant, room["id"]) if m["medias"]])
    ours = stored[0]["medias"][0]
    elsewhere = {"type": "image/png", "url": "https://cdn.example.com/x.png", "name": "x.png"}
    reply(client, tenant, room["id"], "Manual attached.", medias=[ours, elsewhere])
    sent = relay.mail_saying("Manual attached.")
    attachments = list(sent.iter_attachments())
    assert len(attachments) == 1, plain_text(sent)
    [attached] = attachments
    assert attached.get_filename() == "manual.pdf"
    assert attached.get_content() == b"%PDF-1.4 manual"
    body = sent.get_body(("plain",)).get_content()
    assert "Manual attached." in body and "x.png: https://cdn.example.com/x.png" in body


def test_customer_reply_threads_by_in_reply_to(client, tenant, account, relay, mail_server):
    room, first_id, sent = open_thread(client, tenant, relay, mail_server)
    ours = sent["Message-ID"]
    answer = mail(subject="Re: My printer is on fire", text="Thanks!", In_Reply_To=ours)
    answer["References"] = f"{first_id} {ours}"
    deliver(mail_server, answer)
    # a colleague who was cc'd answers from another address: the In-Reply-To puts the mail
    # in the same room, and the colleague becomes a participant an agent can write to
    colleague = mail(
        sender="Tom Colleague <tom@customer.example>",
        subject="Re: My printer is on fire",
        text="It is the printer on floor 2.",
        In_Reply_To=ours,
    )
    deliver(mail_server, colleague)
    wait_for(lambda: len(history(client, tenant, room["id"])) == 4, timeout=20)
    assert len(rooms(client, tenant)) == 1
    texts = [m["text"] for m in history(client, tenant, room["id"])]
    assert texts[2:] == ["Thanks!", "It is the printer on floor 2."]
    got = client.get(f"/v1.0/conversations/{room['id']}", headers=tenant.admin).json()
    tom = next(p for p in got["participants"] if p["target"] == "tom@customer.example")
    assert (tom["type"], tom["target_name"]) == ("email", "Tom Colleague")
    # and the next reply goes to whoever wrote last, still threaded
    reply(client, tenant, room["id"], "Thanks Tom.")
    wait_for(lambda: len(relay.mails) == 2, timeout=20)
    _, recipients, to_tom = relay.mails[-1]
    assert recipients == ["tom@customer.example"]
    assert to_tom["In-Reply-To"] == history(client, tenant, room["id"])[3]["provider_message_id"]


def test_reply_address_alone_threads(client, tenant, other_tenant, account, relay, mail_server):
    room, _, sent = open_thread(client, tenant, relay, mail_server)
    reply_to = sent["Reply-To"].addresses[0].addr_spec
    # a client that dropped In-Reply-To and References, writing from another address, to
    # the reply address only (upper-cased on the way, as some servers do)
    rewritten = mail(
        sender="Jane at home <jane@home.example>",
        subject="printer",
        text="Writing from home.",
        to=reply_to.upper(),
    )
    deliver(mail_server, rewritten)
    wait_for(lambda: len(history(client, tenant, room["id"])) == 3, timeout=20)
    assert len(rooms(client, tenant)) == 1
    assert history(client, tenant, room["id"])[2]["text"] == "Writing from home."
    # a token altered by one character, or moved to another customer's domain, is refused
    local, domain = reply_to.split("@")
    altered = local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain
    create_account(client, other_tenant, relay.port, address="help@globex.example")
    for address in (altered, f"{local}@globex.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            deliver(mail_server, mail(to=address))
    assert len(history(client, tenant, room["id"])) == 3
    assert rooms(client, other_tenant) == []


def test_relay_refusal_fails_the_message(client, tenant, account, relay, mail_server):
    deliver(mail_server, mail())
    room = only_room(client, tenant)
    relay.refuse[JANE] = "550 5.1.1 No such user here"
    sent = reply(client, tenant, room["id"], "Hello?")
    failed = wait_for(
        lambda: (
            (m := message_status(client, tenant, room["id"], sent["id"]))["status"] == "failed"
            and m
        ),
        timeout=20,
    )
    assert "550" in failed["error"] and "No such user here" in failed["error"]
    assert relay.mails == []


def test_relay_down_is_retried(client, tenant, relay, mail_server, db_url):
    port = free_port()  # nothing listens there yet
    create_account(client, tenant, port)
    deliver(mail_server, mail())
    room = only_room(client, tenant)
    sent = reply(client, tenant, room["id"], "Are you there?")

    async def queue_row():
        conn = await asyncpg.connect(db_url)
        try:
            return await conn.fetchrow(
                "SELECT status, attempts, last_error FROM outbound_messages WHERE message_id = $1",
                uuid.UUID(sent["id"]),
            )
        finally:
            await conn.close()

    row = wait_for(lambda: (r := run_async(queue_row()))["last_error"] and r, timeout=20)
    assert row["status"] in ("queued", "sending") and row["attempts"] >= 1
    assert "unreachable" in row["last_error"] or "Connect" in row["last_error"]
    assert message_status(client, tenant, room["id"], sent["id"])["status"] == "progressing"

    # the relay comes back: the next attempt (after a short backoff) delivers it
    back = RelayHandler()
    controller = Controller(back, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        wait_for(lambda: back.mails, timeout=30)
        wait_for(
            lambda: message_status(client, tenant, room["id"], sent["id"])["status"] == "done",
            timeout=20,
        )
    finally:
        controller.stop()
    assert back.mails[0][2]["Subject"] == "Re: My printer is on fire"


# --- the raw MIME hook ------------------------------------------------------------------


def basic(password: str, user: str = "relay") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "message/rfc822"}


def test_hook_stores_raw_mime_with_the_right_password(client, tenant, account):
    url = f"/hooks/email/{account['id']}"
    raw = mail(subject="Posted by the relay").as_bytes()
    r = client.post(url, content=raw, headers=basic(HOOK_SECRET))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] is True
    again = client.post(url, content=raw, headers=basic(HOOK_SECRET))  # the relay retries
    assert again.status_code == 200
    room = only_room(client, tenant)
    assert room["name"] == "Posted by the relay"
    [message] = history(client, tenant, room["id"])
    assert message["text"] == "Hello, my printer is on fire."


def test_hook_refuses_a_wrong_or_missing_password(client, tenant, account, relay):
    url = f"/hooks/email/{account['id']}"
    raw = mail().as_bytes()
    for headers in (
        basic("wrong-secret"),
        {"Content-Type": "message/rfc822"},
        {"Authorization": "Bearer " + HOOK_SECRET, "Content-Type": "message/rfc822"},
    ):
        assert_error(client.post(url, content=raw, headers=headers), 401)
    # an account without a hook secret has the hook closed
    closed = create_account(client, tenant, relay.port, address="sales@acme.example")
    assert_error(client.post(f"/hooks/email/{closed['id']}", content=raw, headers=basic("")), 401)
    assert rooms(client, tenant) == []
    # right password, but not a mail
    bad = {**basic(HOOK_SECRET), "Content-Type": "application/json"}
    assert_error(client.post(url, content=b"{}", headers=bad), 400)
    assert rooms(client, tenant) == []


def test_hook_logs_a_mail_without_a_sender_as_rejected(client, tenant, account):
    """Signed (the right password) but unstorable: answered 2xx so the relay does not
    retry it forever, and kept in the rejected-inbound log for the admins."""
    url = f"/hooks/email/{account['id']}"
    no_sender = b"Subject: hi\r\n\r\nno from header\r\n"
    r = client.post(url, content=no_sender, headers=basic(HOOK_SECRET))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "accepted": True,
        "stored": False,
        "reason": "The message has no From address.",
    }
    assert rooms(client, tenant) == []
    r = client.get(f"/v1.0/conversation_accounts/{account['id']}/rejected", headers=tenant.admin)
    assert r.status_code == 200, r.text
    [logged] = r.json()["result"]
    assert logged["reason"] == "The message has no From address."
    assert "no from header" in logged["excerpt"]


# --- account settings -----------------------------------------------------------------


def test_account_settings_are_checked(client, tenant, relay):
    def attempt(**settings):
        base = {
            "address": "Help@Acme.Example",
            "smtp_host": "127.0.0.1",
            "smtp_port": relay.port,
            "smtp_security": "none",
        }
        return client.post(
            "/v1.0/conversation_accounts",
            headers=tenant.admin,
            json={"type": "email", "settings": {**base, **settings}},
        )

    assert_error(attempt(address="not-an-address"), 422, "invalid_setting")
    assert_error(attempt(smtp_port="smtp"), 422, "invalid_setting")
    assert_error(attempt(smtp_port=70000), 422, "invalid_setting")
    assert_error(attempt(smtp_security="ssl3"), 422)
    created = attempt()
    assert created.status_code == 201, created.text
    assert created.json()["address"] == "help@acme.example"
    assert created.json()["settings"]["smtp_port"] == str(relay.port)


def test_send_test_goes_through_the_relay(client, tenant, account, relay):
    url = f"/v1.0/conversation_accounts/{account['id']}/test"
    r = client.post(url, headers=tenant.admin, json={"to": "Ops@Acme.Example", "text": "ping"})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["success"] is True
    [(_, recipients, sent)] = relay.mails
    assert recipients == ["ops@acme.example"]
    assert sent["Message-ID"] == result["provider_message_id"]
    assert sent["Subject"] == "Message from Acme Support"  # no room: no Re:, no Reply-To
    assert sent["Reply-To"] is None and sent["In-Reply-To"] is None
    relay.refuse["ops@acme.example"] = "550 5.7.1 Relaying denied"
    refused = client.post(url, headers=tenant.admin, json={"to": "ops@acme.example"}).json()
    assert refused["success"] is False and "550 5.7.1 Relaying denied" in refused["reason"]
