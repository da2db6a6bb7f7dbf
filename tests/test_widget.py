"""The web chat widget's doors against a real server: visitor sessions and their signed
tokens, messages into rooms (once per client id), history after a reload, live replies
over the visitor's websocket (and nothing of anyone else's), name and email joining the
room, CORS for the websites an account allows, and HTML kept as text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

import httpx
import pytest
from api_kit import rooms
from conftest import SECRET_KEY, assert_error, inbound, run_async
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

SHOP = "https://shop.example.com"


def webchat_account(client: httpx.Client, tenant, **settings) -> str:
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "webchat", "name": "Website chat", "settings": settings},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


class Visitor:
    """What the widget script does, over plain HTTP."""

    def __init__(self, client: httpx.Client, account_id: str, origin: str | None = None):
        self.client = client
        self.account_id = account_id
        self.origin = origin
        self.token = ""
        self.visitor_id = ""
        self.base = f"/widget/{account_id}"

    def headers(self) -> dict[str, str]:
        headers = {"X-Widget-Token": self.token} if self.token else {}
        if self.origin:
            headers["Origin"] = self.origin
        return headers

    def start(self) -> Visitor:
        r = self.client.post(self.base + "/session", headers=self.headers())
        assert r.status_code == 200, r.text
        self.token, self.visitor_id = r.json()["token"], r.json()["visitor_id"]
        return self

    def write(self, text: str, client_id: str) -> httpx.Response:
        return self.client.post(
            self.base + "/messages",
            headers=self.headers(),
            json={"text": text, "client_id": client_id},
        )

    def say(self, text: str, client_id: str) -> dict:
        r = self.write(text, client_id)
        assert r.status_code == 201, r.text
        return r.json()

    def history(self) -> dict:
        r = self.client.get(self.base + "/messages", headers=self.headers())
        assert r.status_code == 200, r.text
        return r.json()

    def identify(self, name: str, email: str) -> httpx.Response:
        return self.client.post(
            self.base + "/identify", headers=self.headers(), json={"name": name, "email": email}
        )


class Live:
    """The visitor's websocket."""

    def __init__(self, server_url: str, visitor: Visitor, since: str | None = None, **headers):
        url = server_url.replace("http://", "ws://") + visitor.base + "/ws?token=" + visitor.token
        if since is not None:
            url += f"&since={since}"
        self._opened = connect(url, additional_headers=headers, open_timeout=10)
        self.conn = self._opened.__enter__()
        self.seen: list[dict] = []

    def recv(self, timeout: float = 10.0) -> dict:
        return json.loads(self.conn.recv(timeout=timeout))

    def until(self, check, timeout: float = 20.0) -> dict:
        """The first frame `check` accepts; frames before it are kept in `seen`."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(timeout=max(0.05, deadline - time.monotonic()))
            self.seen.append(frame)
            if check(frame):
                return frame

    def ready(self) -> dict:
        return self.until(lambda f: f["type"] == "ready")

    def texts(self) -> list[str]:
        return [f["data"]["text"] for f in self.seen if f["type"] == "message"]

    def close(self) -> None:
        self._opened.__exit__(None, None, None)


@pytest.fixture
def live(server):
    opened: list[Live] = []

    def make(visitor: Visitor, since: str | None = None, **headers) -> Live:
        socket = Live(server.url, visitor, since, **headers)
        opened.append(socket)
        return socket

    yield make
    for socket in opened:
        socket.close()


def room_messages(client: httpx.Client, tenant, room_id: str) -> list[dict]:
    r = client.get(f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def forged(token: str) -> str:
    visitor_id, signature = token.split(".")
    return f"{visitor_id}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


# --- sessions and tokens ---------------------------------------------------------------


def test_a_session_gives_a_signed_visitor_token_and_a_reload_keeps_it(client, tenant):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    assert re.fullmatch(r"[A-Za-z0-9._:@+-]{1,128}", visitor.visitor_id)
    # the token is an HMAC of account id + visitor id under the secret key
    visitor_id, signature = visitor.token.split(".")
    assert visitor_id == visitor.visitor_id
    mac = hmac.new(
        SECRET_KEY.encode(),
        f"convodesk-webchat|{account_id}|{visitor_id}".encode(),
        hashlib.sha256,
    ).digest()
    assert signature == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    # a reload presents the token and is the same visitor
    again = Visitor(client, account_id)
    again.token = visitor.token
    again.start()
    assert (again.visitor_id, again.token) == (visitor.visitor_id, visitor.token)
    # a new session without a token is someone else
    assert Visitor(client, account_id).start().visitor_id != visitor.visitor_id


def test_forged_foreign_and_missing_tokens_are_refused(client, tenant, other_tenant, server):
    account_id = webchat_account(client, tenant)
    second_account = webchat_account(client, tenant)
    foreign_account = webchat_account(client, other_tenant)
    visitor = Visitor(client, account_id).start()
    visitor.say("hello", "c1")

    for bad in (
        forged(visitor.token),
        Visitor(client, second_account).start().token,  # same customer, other widget
        Visitor(client, foreign_account).start().token,  # another customer's widget
        "wv-" + "0" * 32 + ".x",
        "nonsense",
    ):
        intruder = Visitor(client, account_id)
        intruder.token = bad
        assert_error(intruder.write("sneaky", "c2"), 401, "invalid_visitor_token")
        assert_error(
            client.get(intruder.base + "/messages", headers=intruder.headers()),
            401,
            "invalid_visitor_token",
        )
        assert_error(client.post(intruder.base + "/session", headers=intruder.headers()), 401)
        with (
            connect(
                server.url.replace("http", "ws") + f"{intruder.base}/ws?token={bad}",
                open_timeout=10,
            ) as ws,
            pytest.raises(ConnectionClosed) as closed,
        ):
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 4401
    assert_error(client.get(visitor.base + "/messages"), 401, "invalid_visitor_token")
    # nothing the intruders wrote was stored
    (room,) = rooms(client, tenant)
    assert [m["text"] for m in room_messages(client, tenant, room["id"])] == ["hello"]
    # an account that is not a web chat widget, or does not exist, is not found
    sms = tenant.channel("message")
    assert_error(client.post(f"/widget/{sms.id}/session"), 404, "account_not_found")
    assert_error(client.post("/widget/not-a-uuid/session"), 404, "account_not_found")


# --- messages ------------------------------------------------------------------------


def test_a_message_opens_a_webchat_room_once_per_client_id(client, tenant):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    first = visitor.say("Do you ship to Norway?", "m-1")
    assert first["author"] == "visitor" and first["client_id"] == "m-1"
    assert first["text"] == "Do you ship to Norway?" and first["status"] == "done"
    # the network retried: the same client id is the same message
    again = visitor.say("Do you ship to Norway?", "m-1")
    assert again["id"] == first["id"]

    (room,) = rooms(client, tenant)
    assert room["reference_type"] == "webchat"
    peers = [p for p in room["participants"] if p["target_name"] != "me"]
    assert [(p["type"], p["target"]) for p in peers] == [("webchat", visitor.visitor_id)]
    stored = room_messages(client, tenant, room["id"])
    assert [(m["text"], m["direction"], m["reference_type"]) for m in stored] == [
        ("Do you ship to Norway?", "inbound", "webchat")
    ]
    assert stored[0]["id"] == first["id"]


def test_bad_messages_get_a_clear_error_and_nothing_is_stored(client, tenant):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    assert_error(visitor.write("   ", "m-1"), 422, "empty_message")
    assert_error(visitor.write("x" * 5001, "m-2"), 422)
    assert_error(visitor.write("hi", ""), 422)
    assert_error(visitor.write("hi", "no spaces allowed"), 422, "invalid_client_id")
    r = client.post(
        visitor.base + "/messages", headers=visitor.headers(), json={"text": "no client id"}
    )
    assert_error(r, 422)
    r = client.post(
        visitor.base + "/messages",
        headers={**visitor.headers(), "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert_error(r, 400, "malformed_json")
    assert rooms(client, tenant) == []


def test_html_in_a_message_stays_text(client, tenant):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    payload = '<b>bold</b><script>alert("x")</script><img src=x onerror=alert(1)>'
    assert visitor.say(payload, "h-1")["text"] == payload
    (room,) = rooms(client, tenant)
    assert room_messages(client, tenant, room["id"])[0]["text"] == payload
    assert visitor.history()["messages"][0]["text"] == payload


# --- live replies and history ---------------------------------------------------------------


def test_an_agent_reply_reaches_the_visitor_live_and_is_done(client, tenant, live):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    visitor.say("Where is my order?", "q-1")
    other = Visitor(client, account_id).start()
    other.say("I am someone else", "o-1")
    room_id = next(
        r["id"]
        for r in rooms(client, tenant)
        if any(p["target"] == visitor.visitor_id for p in r["participants"])
    )

    mine = live(visitor, since=visitor.history()["cursor"])
    mine.ready()
    theirs = live(other, since=other.history()["cursor"])
    theirs.ready()

    r = client.post(
        f"/v1.0/conversations/{room_id}/messages",
        headers=tenant.agent,
        json={"text": "It ships <i>today</i>."},
    )
    assert r.status_code == 201, r.text
    reply_id = r.json()["id"]
    frame = mine.until(lambda f: f["type"] == "message" and f["data"]["id"] == reply_id)
    assert frame["data"]["author"] == "agent"
    assert frame["data"]["text"] == "It ships <i>today</i>."
    assert frame["data"]["sender_name"] == "Support"
    assert int(frame["id"]) > 0
    # the webchat "send" is the stored message itself: it is done at once
    mine.until(
        lambda f: (
            f["type"] == "message" and f["data"]["id"] == reply_id and f["data"]["status"] == "done"
        )
    )
    assert set(frame["data"]) == {
        "id",
        "client_id",
        "author",
        "sender_name",
        "text",
        "medias",
        "status",
        "tm_create",
    }

    # the visitor writes from another tab: their open socket gets it too
    written = visitor.say("Great, thanks!", "q-2")
    mine.until(lambda f: f["type"] == "message" and f["data"]["id"] == written["id"])

    # the other visitor's socket gets their own messages only: up to a later one of theirs,
    # nothing else came (a socket's frames follow the messages' order)
    own = other.say("still here", "o-2")
    theirs.until(lambda f: f["type"] == "message" and f["data"]["id"] == own["id"])
    later = other.say("and later", "o-3")
    theirs.until(lambda f: f["type"] == "message" and f["data"]["id"] == later["id"])
    assert theirs.texts() == ["still here", "and later"]
    mine_later = visitor.say("me again", "q-3")
    mine.until(lambda f: f["type"] == "message" and f["data"]["id"] == mine_later["id"])
    assert "still here" not in mine.texts() and "I am someone else" not in mine.texts()


def test_history_after_a_reload_and_resuming_after_a_drop(client, tenant, live, server):
    from app.conversations import notes
    from app.domain.enums import Permission
    from app.domain.principal import Principal

    account_id = webchat_account(client, tenant)
    email = tenant.channel("email")
    visitor = Visitor(client, account_id).start()
    visitor.say("first question", "a-1")
    (room,) = rooms(client, tenant)
    cursor = visitor.history()["cursor"]
    r = client.post(
        f"/v1.0/conversations/{room['id']}/messages",
        headers=tenant.admin,
        json={"text": "first answer"},
    )
    assert r.status_code == 201, r.text
    # an internal note, and a message to someone else in the room, are not the visitor's
    admin = Principal(
        customer_id=tenant.customer_id,
        agent_id=tenant.admin_id,
        username="acme-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    run_async(notes.add_note(admin, room["id"], "customer seems upset"))
    r = client.post(
        f"/v1.0/conversations/{room['id']}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": "boss@other.example"},
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/v1.0/conversations/{room['id']}/messages",
        headers=tenant.admin,
        json={"text": "for the boss only", "participant_id": r.json()["id"]},
    )
    assert r.status_code == 201, r.text
    inbound(email, "boss@other.example", "boss writes back")

    # the page reloads: same token, new session call, history from the server
    reloaded = Visitor(client, account_id)
    reloaded.token = visitor.token
    reloaded.start()
    history = reloaded.history()
    assert [(m["author"], m["text"]) for m in history["messages"]] == [
        ("visitor", "first question"),
        ("agent", "first answer"),
    ]
    assert history["messages"][0]["client_id"] == "a-1"
    assert int(history["cursor"]) > int(cursor)

    # a socket that dropped right after `cursor` catches up on exactly what it missed
    resumed = live(visitor, since=cursor)
    ready = resumed.ready()
    # the reply (created, and updated to done if the sender got to it): nothing else
    assert resumed.texts() in (["first answer"], ["first answer", "first answer"])
    assert all(int(f["id"]) <= int(ready["id"]) for f in resumed.seen)
    # a `since` the stream has not reached (another database) means: reload the history
    ahead = live(visitor, since=str(int(history["cursor"]) + 1000))
    assert ahead.recv()["type"] == "resync"


def test_a_websocket_without_since_is_live_from_now(client, tenant, live):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    visitor.say("before", "b-1")
    socket = live(visitor)
    socket.ready()
    after = visitor.say("after", "b-2")
    socket.until(lambda f: f["type"] == "message" and f["data"]["id"] == after["id"])
    assert "before" not in socket.texts()


# --- name and email --------------------------------------------------------------------


def test_identify_adds_the_email_to_the_room_and_an_agent_can_email(client, tenant):
    account_id = webchat_account(client, tenant)
    tenant.channel("email")
    visitor = Visitor(client, account_id).start()
    visitor.say("please email me the quote", "e-1")
    assert_error(visitor.identify("Dana", "not-an-email"), 422, "invalid_email")
    assert_error(visitor.identify("Dana", ""), 422)
    r = visitor.identify("Dana  Scully", "Dana@Example.com")
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "Dana Scully", "email": "dana@example.com"}

    (room,) = rooms(client, tenant)
    people = {p["type"]: p for p in room["participants"] if p["target_name"] != "me"}
    assert people["email"]["target"] == "dana@example.com"
    assert people["webchat"]["target_name"] == "Dana Scully"
    r = client.post(
        f"/v1.0/conversations/{room['id']}/messages",
        headers=tenant.agent,
        json={"text": "Your quote is attached.", "participant_id": people["email"]["id"]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["reference_type"] == "email"
    assert r.json()["destination"]["target"] == "dana@example.com"
    # the email went to the person, not into the widget
    assert [m["text"] for m in visitor.history()["messages"]] == ["please email me the quote"]
    # leaving it twice changes nothing
    assert visitor.identify("Dana Scully", "dana@example.com").status_code == 200
    (room,) = rooms(client, tenant)
    assert [p["type"] for p in room["participants"]].count("email") == 1


def test_identify_first_joins_the_open_room_that_has_that_email(client, tenant):
    account_id = webchat_account(client, tenant)
    email = tenant.channel("email")
    earlier = inbound(email, "dana@example.com", "my invoice is wrong", peer_name="Dana")
    visitor = Visitor(client, account_id).start()
    assert visitor.identify("Dana", "dana@example.com").status_code == 200
    written = visitor.say("following up on my invoice from the website", "i-1")

    (room,) = rooms(client, tenant)
    assert room["id"] == earlier.conversation_id
    types = sorted(p["type"] for p in room["participants"] if p["target_name"] != "me")
    assert types == ["email", "webchat"]
    texts = [m["text"] for m in room_messages(client, tenant, room["id"])]
    assert sorted(texts) == ["following up on my invoice from the website", "my invoice is wrong"]
    # the visitor sees their own web chat, not the room's emails
    history = visitor.history()["messages"]
    assert [m["id"] for m in history] == [written["id"]]


def test_identify_before_writing_opens_a_room(client, tenant):
    account_id = webchat_account(client, tenant)
    visitor = Visitor(client, account_id).start()
    assert visitor.identify("", "solo@example.com").status_code == 200
    (room,) = rooms(client, tenant)
    targets = {(p["type"], p["target"]) for p in room["participants"]}
    assert {("webchat", visitor.visitor_id), ("email", "solo@example.com")} <= targets
    visitor.say("now I write", "s-1")
    assert len(rooms(client, tenant)) == 1


# --- which websites may use the widget -----------------------------------------------------


def test_cors_for_allowed_and_refused_websites(client, tenant, server, live):
    account_id = webchat_account(client, tenant, allowed_origins=f"{SHOP}/\nhttps://b.example")
    preflight = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-widget-token",
    }
    r = client.options(f"/widget/{account_id}/messages", headers=preflight)
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == SHOP
    allowed_headers = r.headers["access-control-allow-headers"].lower()
    assert "x-widget-token" in allowed_headers and "content-type" in allowed_headers
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "origin" in r.headers["vary"].lower()

    evil = {**preflight, "Origin": "https://evil.example"}
    r = client.options(f"/widget/{account_id}/messages", headers=evil)
    assert_error(r, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers
    r = client.post(f"/widget/{account_id}/session", headers={"Origin": "https://evil.example"})
    assert_error(r, 403, "origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers

    # an allowed page gets the header on every answer, errors included (so the widget can
    # read a 401 and start over)
    visitor = Visitor(client, account_id, origin=SHOP).start()
    r = client.post(f"/widget/{account_id}/session", headers={"Origin": SHOP})
    assert r.headers["access-control-allow-origin"] == SHOP
    visitor.say("hello from the shop", "c-1")
    r = client.get(
        f"/widget/{account_id}/messages", headers={"Origin": SHOP, "X-Widget-Token": "forged"}
    )
    assert_error(r, 401)
    assert r.headers["access-control-allow-origin"] == SHOP

    # the websocket checks the page's origin the same way
    ok = live(visitor, Origin=SHOP)
    assert ok.ready()["type"] == "ready"
    url = server.url.replace("http", "ws") + f"/widget/{account_id}/ws?token={visitor.token}"
    with (
        connect(url, additional_headers={"Origin": "https://evil.example"}, open_timeout=10) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4403

    # with no list, any website may embed it
    open_account = webchat_account(client, tenant)
    r = client.options(f"/widget/{open_account}/session", headers=evil)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://evil.example"


def test_bad_allowed_origins_and_colours_are_refused(client, tenant):
    for settings, wrong in (
        ({"allowed_origins": "https://shop.example.com/path"}, "allowed_origins"),
        ({"allowed_origins": "shop.example.com"}, "allowed_origins"),
        ({"color": "red;} body{display:none"}, "color"),
    ):
        r = client.post(
            "/v1.0/conversation_accounts",
            headers=tenant.admin,
            json={"type": "webchat", "settings": settings},
        )
        assert wrong in assert_error(r, 422, "invalid_setting")["message"]


# --- the script -----------------------------------------------------------------------------


def test_the_script_carries_the_account_look_and_the_snippet_points_at_it(client, tenant):
    from app.channels import accounts, get_driver, runtime

    account_id = webchat_account(
        client,
        tenant,
        title="Talk to </script><b>Acme</b>",
        greeting="Hello there",
        color="#ff6600",
    )
    account = run_async(accounts.get_account(tenant.customer_id, account_id))
    snippet = get_driver("webchat").snippet(account)
    base = runtime.settings().public_url
    assert snippet == f'<script src="{base}/widget/{account_id}/widget.js" async></script>'

    r = client.get(f"/widget/{account_id}/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "__CONVODESK_WIDGET_CONFIG__" not in r.text
    assert "Acme</b>" not in r.text  # the title's markup is escaped inside the JS
    config = client.get(f"/widget/{account_id}/config").json()
    assert config == {
        "base": str(client.base_url).rstrip("/"),
        "account_id": account_id,
        "title": "Talk to </script><b>Acme</b>",
        "greeting": "Hello there",
        "color": "#ff6600",
    }
    literal = json.dumps(config, separators=(",", ":")).replace("<", "\\u003c")
    assert literal in r.text
    # defaults fill what an admin left unset
    plain = client.get(f"/widget/{webchat_account(client, tenant)}/config").json()
    assert (plain["title"], plain["color"]) == ("Chat with us", "#2563eb")
