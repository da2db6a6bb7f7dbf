"""Hostile input against a running server: characters PostgreSQL cannot store, documents
nested 100,000 deep, values of the wrong JSON type, malformed ids, cookie-only writes without
the CSRF token, one address trying many usernames, and sockets opened from another origin.
Each gets its clear 4xx, and nothing is stored."""

from __future__ import annotations

import json
import re

import asyncpg
import httpx
import pytest
from conftest import assert_error, run_async
from websockets.exceptions import ConnectionClosed
from ws_kit import Ws

from app.domain.origins import origin_of, same_origin
from app.domain.text import MAX_DEPTH, TooDeep, find_unstorable, strip_unstorable

JSON = {"content-type": "application/json"}
NUL, SURROGATE = "\x00", "\ud800"
UNSTORABLE = {NUL: "U+0000", SURROGATE: "U+D800"}
NO_ID = "00000000-0000-0000-0000-000000000000"


# --- the pure rules ---------------------------------------------------------------------


def test_find_unstorable_names_the_first_bad_key_or_value_in_document_order():
    assert find_unstorable({"a": "fine", "b": ["ok", {"c": "x\x00"}]}) == ("b[1].c", "U+0000")
    assert find_unstorable({"s": {"k\ud800": 1}}) == ("s.k\\ud800", "U+D800")
    assert find_unstorable([1, "a", "\udfff", "\x00"]) == ("[2]", "U+DFFF")
    assert find_unstorable({"emoji": "👍 \u202e \uffff"}) is None  # everything else is stored
    deep: list = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    assert find_unstorable(deep) is None
    with pytest.raises(TooDeep):
        find_unstorable([deep])
    assert strip_unstorable("a\x00b\ud800c") == "abc"


def test_origins_compare_scheme_host_and_port():
    assert origin_of("https://Desk.Example.com") == ("https", "desk.example.com", 443)
    assert origin_of("wss://desk.example.com/desk/ws") == ("https", "desk.example.com", 443)
    assert same_origin("https://desk.example.com", "https://desk.example.com:443/")
    assert same_origin("http://127.0.0.1:8000", "ws://127.0.0.1:8000")
    assert not same_origin("http://desk.example.com", "https://desk.example.com")
    assert not same_origin("https://desk.example.com:8443", "https://desk.example.com")
    assert not same_origin("https://desk.example.com.evil.example", "https://desk.example.com")
    for junk in (None, "", "null", "file:///etc/passwd", "http://[::1", "http://x:99999", "x"):
        assert not same_origin(junk, junk)


# --- a tenant with one of everything ----------------------------------------------------


class World:
    """One of each resource the write endpoints act on, made through the API."""

    def __init__(self, client: httpx.Client, tenant):
        self.client, self.tenant, self.h = client, tenant, tenant.admin

        def made(r: httpx.Response) -> dict:
            assert r.status_code in (200, 201), r.text
            return r.json()

        post = lambda path, body: made(client.post(path, headers=self.h, json=body))  # noqa: E731
        self.account = post(
            "/v1.0/conversation_accounts",
            {
                "type": "sms",
                "settings": {"phone_number": "+15550100100", "account_sid": "AC" + "1" * 32},
                "secrets": {"auth_token": "secret-token"},
            },
        )["id"]
        self.room = post(
            "/v1.0/conversations", {"participants": [{"type": "tel", "target": "+15550100200"}]}
        )
        self.participant = self.room["participants"][0]["id"]
        self.key = post("/v1.0/accesskeys", {"name": "k"})["id"]
        self.talk = post("/v1.0/talks", {"name": "ops", "participant_ids": [tenant.agent_id]})["id"]
        self.note = post(f"/v1.0/talks/{self.talk}/messages", {"text": "hi"})["id"]

    def write_cases(self) -> list[tuple[str, str, object, str]]:
        """(method, path, body with `V` where the hostile value goes, the field's name) for
        every write endpoint, a top-level and a nested field each where there is one."""
        V = _V
        room, talk, note = self.room["id"], self.talk, self.note
        media = {"type": "image/png", "url": "https://cdn.example/a.png"}
        sms = {"phone_number": "+15550100300", "account_sid": "AC" + "2" * 32}
        return [
            ("POST", "/auth/login", {"username": V, "password": "whatever1"}, "username"),
            ("POST", "/auth/login", {"username": "acme-admin", "password": V}, "password"),
            ("POST", "/v1.0/agents", {"username": "a1", "password": V}, "password"),
            ("POST", "/v1.0/agents", {"username": "a1", "password": "long-pw-1", "name": V},
             "name"),
            ("PUT", f"/v1.0/agents/{self.tenant.agent_id}", {"detail": V}, "detail"),
            ("POST", "/v1.0/accesskeys", {"name": V}, "name"),
            ("PUT", f"/v1.0/accesskeys/{self.key}", {"detail": V}, "detail"),
            ("PUT", "/v1.0/customer", {"name": V}, "name"),
            ("PUT", "/v1.0/customer", {"webhook_uri": V}, "webhook_uri"),
            ("POST", "/v1.0/customer/webhook_secret", {"x": V}, "x"),
            ("POST", "/v1.0/conversations", {"participants": [{"type": "tel", "target": V}]},
             "participants[0].target"),
            ("POST", "/v1.0/conversations",
             {"name": "n", "participants": [{"type": "tel", "target": "+15550100201", "name": V}]},
             "participants[0].name"),
            ("PUT", f"/v1.0/conversations/{room}", {"tags": ["ok", V]}, "tags[1]"),
            ("PUT", f"/v1.0/conversations/{room}", {"owner_id": V}, "owner_id"),
            ("POST", f"/v1.0/conversations/{room}/participants", {"type": "tel", "target": V},
             "target"),
            ("POST", f"/v1.0/conversations/{room}/messages", {"text": V}, "text"),
            ("POST", f"/v1.0/conversations/{room}/messages",
             {"text": "t", "medias": [{**media, "name": V}]}, "medias[0].name"),
            ("POST", "/v1.0/conversation_accounts",
             {"type": "sms", "settings": {**sms, "phone_number": V}}, "settings.phone_number"),
            ("POST", "/v1.0/conversation_accounts",
             {"type": "sms", "settings": sms, "secrets": {"auth_token": V}}, "secrets.auth_token"),
            ("PUT", f"/v1.0/conversation_accounts/{self.account}", {"name": V}, "name"),
            ("POST", f"/v1.0/conversation_accounts/{self.account}/test",
             {"to": "+15550100400", "text": V}, "text"),
            ("POST", "/v1.0/conversations/setup", {"reference_type": V}, "reference_type"),
            ("POST", "/v1.0/talks", {"name": V}, "name"),
            ("POST", "/v1.0/talks", {"name": "n", "participant_ids": [V]}, "participant_ids[0]"),
            ("PUT", f"/v1.0/talks/{talk}", {"detail": V}, "detail"),
            ("POST", f"/v1.0/talks/{talk}/participants", {"agent_id": V}, "agent_id"),
            ("POST", f"/v1.0/talks/{talk}/messages", {"text": V}, "text"),
            ("POST", f"/v1.0/talks/{talk}/messages", {"text": "t", "medias": [{**media, "url": V}]},
             "medias[0].url"),
            ("PUT", f"/v1.0/talks/{talk}/messages/{note}", {"text": V}, "text"),
            ("POST", f"/v1.0/messages/{note}/reactions", {"emoji": V}, "emoji"),
        ]  # fmt: skip


class _Placeholder:
    """Marks where each corpus entry's hostile value goes."""


_V = _Placeholder()


def fill(body: object, value: object) -> object:
    if body is _V:
        return value
    if isinstance(body, dict):
        return {k: fill(v, value) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, value) for v in body]
    return body


@pytest.fixture
def world(client, tenant) -> World:
    return World(client, tenant)


async def _row_counts(url: str) -> dict[str, int]:
    from app.db.tables import ALL_TABLES
    from app.reports import volume

    # the reports' counts are folded from the events by a worker, at its own pace: fold
    # what there is first (after any fold running now), so counts compare like for like
    for customer_id in await volume.behind():
        await volume.catch_up(customer_id)
    conn = await asyncpg.connect(url)
    try:
        return {
            t._meta.tablename: await conn.fetchval(f"SELECT count(*) FROM {t._meta.tablename}")
            for t in ALL_TABLES
        }
    finally:
        await conn.close()


def row_counts(db_url: str) -> dict[str, int]:
    return run_async(_row_counts(db_url))


# --- characters PostgreSQL cannot store -----------------------------------------------------


def test_unstorable_characters_in_any_body_field_are_a_422_naming_it_and_nothing_is_stored(
    client, world, db_url
):
    before = row_counts(db_url)
    for method, path, body, field in world.write_cases():
        for char, code in UNSTORABLE.items():
            # json.dumps writes both as \u escapes, as a JSON client would
            content = json.dumps(fill(body, f"a{char}b"))
            r = client.request(method, path, headers=world.h | JSON, content=content)
            error = assert_error(r, 422, "invalid_body")
            problem = f"contains a character that cannot be stored ({code})"
            assert error["fields"] == [{"field": field, "message": problem}], (path, error)
            assert error["message"] == f"{field}: {problem}."
    # as an object key, too (named with the character written out)
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=world.h,
        json={"type": "sms", "settings": {"phone\x00number": "+15550100301"}},
    )
    assert (
        assert_error(r, 422, "invalid_body")["fields"][0]["field"] == "settings.phone\\u0000number"
    )
    # a UTF-8 encoded surrogate is not even UTF-8: malformed, not a field
    r = client.post("/v1.0/talks", headers=world.h | JSON, content=b'{"name": "\xed\xa0\x80"}')
    assert_error(r, 400, "malformed_json")
    assert row_counts(db_url) == before


def test_unstorable_characters_in_parameters_are_a_422_naming_the_parameter(client, world, db_url):
    before = row_counts(db_url)
    cases = [
        ("GET", "/v1.0/conversations?q=a%00b", "q"),
        ("GET", "/v1.0/conversations?tag=%00", "tag"),
        ("GET", "/v1.0/agents?page_token=%00", "page_token"),
        ("GET", f"/v1.0/talks/{world.talk}/messages?parent_id=%00", "parent_id"),
        ("GET", "/v1.0/conversations?a%00b=1", "a\\u0000b"),
        ("DELETE", f"/v1.0/messages/{world.note}/reactions/a%00b", "emoji"),
        ("GET", "/v1.0/agents/%00", "agent_id"),
        ("POST", "/auth/login?x=%00", "x"),
    ]
    for method, url, field in cases:
        r = client.request(method, url, headers=world.h)
        error = assert_error(r, 422, "invalid_character")
        assert error["fields"] == [
            {"field": field, "message": "contains a character that cannot be stored (U+0000)"}
        ], url
    # a percent-encoded surrogate is invalid UTF-8, read as U+FFFD, which is stored fine
    r = client.get("/v1.0/conversations?q=%ED%A0%80", headers=world.h)
    assert r.status_code == 200
    assert row_counts(db_url) == before


def test_an_idempotency_key_of_any_bytes_is_stored_and_replayed(client, world):
    key = b"k\xff\xfe\x80-1"  # not UTF-8: headers are read as Latin-1, every byte a character
    h = world.h | {"Idempotency-Key": key}
    first = client.post("/v1.0/talks", headers=h, json={"name": "once"})
    assert first.status_code == 201, first.text
    again = client.post("/v1.0/talks", headers=h, json={"name": "once"})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


# --- structure ------------------------------------------------------------------------------


def test_documents_nested_100000_deep_are_a_400_and_the_server_stays_up(client, world, db_url):
    before = row_counts(db_url)
    deep = [
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"name": "x", "settings": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        # just past the limit, inside a field the schema would otherwise parse
        b'{"settings": {"x": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}}",
    ]
    targets = [
        ("POST", "/auth/login"),
        ("POST", "/v1.0/agents"),
        ("PUT", f"/v1.0/conversation_accounts/{world.account}"),
        ("POST", f"/v1.0/conversations/{world.room['id']}/messages"),
        ("POST", "/v1.0/talks"),
    ]
    for method, path in targets:
        for body in deep:
            r = client.request(method, path, headers=world.h | JSON, content=body)
            error = assert_error(r, 400, "too_deeply_nested")
            assert str(MAX_DEPTH) in error["message"]
    # at the limit it is parsed, and the schema names what is wrong
    ok_depth = b'{"settings": {"x": ' + b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2) + b"}}"
    r = client.put(
        f"/v1.0/conversation_accounts/{world.account}", headers=world.h | JSON, content=ok_depth
    )
    # (msgspec names a mapping's values `[...]`)
    assert assert_error(r, 422, "invalid_body")["fields"][0]["field"] == "settings[...]"
    assert row_counts(db_url) == before
    assert client.get("/healthz").status_code == 200


def test_hostile_websocket_messages_are_answered_and_the_socket_lives(server, world):
    ws = Ws(server.url, headers=world.h)
    try:
        ws.conn.send('{"type": "subscribe", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
        assert ws.recv()["reason"] == "invalid_message"
        topic = f"customer_id:{world.tenant.customer_id}:conversation"
        for since in ("99999999999999999999999", "-5", "soon"):  # past bigint, negative, text
            ws.send({"type": "subscribe", "topics": [topic], "since": since})
            assert ws.recv()["reason"] == "invalid_since"
        ws.subscribe(topic, since="0")
    finally:
        ws.close()


def test_values_of_the_wrong_type_are_a_422_naming_the_field(client, world, db_url):
    before = row_counts(db_url)
    room, talk, account = world.room["id"], world.talk, world.account
    sms = {"phone_number": "+15550100500", "account_sid": "AC" + "3" * 32}
    cases = [
        ("POST", "/v1.0/conversation_accounts", {"type": "sms", "settings": ["x"]}, "settings"),
        ("POST", "/v1.0/conversation_accounts", {"type": "sms", "settings": sms, "secrets": 5},
         "secrets"),
        ("POST", "/v1.0/conversation_accounts", {"type": "sms", "settings": None}, "settings"),
        ("POST", "/v1.0/conversation_accounts", {"type": "sms", "settings": {"x": [1]}},
         "settings[...]"),
        ("POST", "/v1.0/conversation_accounts", {"type": 7}, "type"),
        ("PUT", f"/v1.0/conversation_accounts/{account}", {"settings": "x"}, "settings"),
        ("PUT", f"/v1.0/conversation_accounts/{account}", {"secrets": {"auth_token": 1}},
         "secrets[...]"),
        ("POST", "/v1.0/conversations", {"participants": "+15550100600"}, "participants"),
        ("POST", "/v1.0/conversations", {"participants": [{"type": "tel", "target": 5}]},
         "participants[0].target"),
        ("POST", "/v1.0/conversations",
         {"participants": [{"type": "tel", "target": "+15550100601"}], "account_id": "nope"},
         "account_id"),
        ("POST", f"/v1.0/conversations/{room}/messages", {"text": "x", "medias": [1, 2]},
         "medias[0]"),
        ("POST", f"/v1.0/conversations/{room}/messages", {"text": "x", "participant_id": "nope"},
         "participant_id"),
        ("POST", f"/v1.0/conversations/{room}/messages", {"text": ["x"]}, "text"),
        ("PUT", f"/v1.0/conversations/{room}", {"tags": [{"a": 1}]}, "tags[0]"),
        ("PUT", f"/v1.0/conversations/{room}", {"tags": "a,b"}, "tags"),
        ("PUT", f"/v1.0/conversations/{room}", {"owner_id": 12}, "owner_id"),
        ("PUT", f"/v1.0/conversations/{room}", {"owner_id": "bob"}, "owner_id"),
        ("POST", "/v1.0/agents", {"username": "u2", "password": "long-enough", "permission": 1},
         "permission"),
        ("PUT", f"/v1.0/agents/{world.tenant.agent_id}", {"status": True}, "status"),
        ("POST", "/v1.0/accesskeys", {"expire": 2**70}, "expire"),
        ("POST", "/v1.0/accesskeys", {"expire": "soon"}, "expire"),
        ("PUT", "/v1.0/customer", {"webhook_events": "conversation_created"}, "webhook_events"),
        ("PUT", "/v1.0/customer", {"webhook_events": ["nope"]}, "webhook_events[0]"),
        ("POST", "/v1.0/talks", {"name": "n", "participant_ids": ["not-a-uuid"]},
         "participant_ids[0]"),
        ("POST", "/v1.0/talks", {"name": "n", "participant_ids": [NO_ID] * 501}, "participant_ids"),
        ("POST", f"/v1.0/talks/{talk}/participants", {"agent_id": 5}, "agent_id"),
        ("POST", f"/v1.0/talks/{talk}/messages", {"text": "x", "parent_id": "x"}, "parent_id"),
        ("POST", f"/v1.0/talks/{talk}/messages", {"text": "x" * 20_001}, "text"),
        ("POST", f"/v1.0/messages/{world.note}/reactions", {"emoji": None}, "emoji"),
        ("POST", "/v1.0/conversations/setup", {"reference_type": "line", "account_id": 1},
         "account_id"),
        ("POST", "/auth/login", {"username": "u", "password": {"x": 1}}, "password"),
    ]  # fmt: skip
    for method, path, body, field in cases:
        r = client.request(method, path, headers=world.h, json=body)
        error = assert_error(r, 422, "invalid_body")
        assert field in [f["field"] for f in error["fields"]], (path, body, error)
    assert row_counts(db_url) == before


def test_malformed_ids_tokens_and_sizes_in_paths_and_queries_are_4xx(client, world, db_url):
    before = row_counts(db_url)
    h = world.h
    for path in (
        "/v1.0/agents/x",
        "/v1.0/accesskeys/" + "9" * 300,
        "/v1.0/conversations/-1",
        "/v1.0/conversation_accounts/%F0%9F%91%8D",
        f"/v1.0/talks/{NO_ID}",
        "/v1.0/webhook_deliveries/99999999999999999999999",
    ):
        for method in ("GET", "PUT", "DELETE"):
            r = client.request(method, path, headers=h, json={} if method == "PUT" else None)
            assert r.status_code in (404, 405, 422), (method, path, r.text)
    for params in (
        {"page_size": "-1"},
        {"page_size": "99999999999999999999"},
        {"page_size": "1.5"},
        {"page_token": "9999-99-99"},
        {"page_token": "x" * 5000},
        {"owner_id": "bob"},
    ):
        r = client.get("/v1.0/conversations", headers=h, params=params)
        assert r.status_code == 400, (params, r.text)
    assert_error(
        client.get("/v1.0/conversations", headers=h, params={"q": "x" * 201}),
        400,
        "invalid_parameter",
    )
    assert row_counts(db_url) == before


# --- CSRF for cookie callers ------------------------------------------------------------------


def _cookie_session(server, tenant) -> tuple[httpx.Client, str]:
    """A browser-like client: the session cookie from signing in, and the CSRF cookie the
    desk's pages set. Nothing else."""
    browser = httpx.Client(base_url=server.url, timeout=30)
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    browser.cookies.set("token", token)
    csrf = httpx.get(server.url + "/login").cookies["csrftoken"]
    browser.cookies.set("csrftoken", csrf)
    return browser, csrf


def test_cookie_only_writes_need_the_csrf_token(server, client, tenant):
    browser, csrf = _cookie_session(server, tenant)
    with browser:
        rotate = "/v1.0/customer/webhook_secret"
        before = client.get(rotate, headers=tenant.admin).json()["webhook_secret"]
        # a body-less POST, a PUT and a DELETE, by cookie alone: refused
        assert_error(browser.post(rotate), 403, "csrf_token_missing")
        assert_error(browser.put("/v1.0/customer", json={"name": "x"}), 403, "csrf_token_missing")
        assert_error(browser.delete(f"/v1.0/agents/{tenant.agent_id}"), 403, "csrf_token_missing")
        forged = csrf[:-1] + ("0" if csrf[-1] != "0" else "1")
        r = browser.post(rotate, headers={"x-csrftoken": forged})
        assert_error(r, 403, "csrf_token_invalid")
        # nothing changed
        assert client.get(rotate, headers=tenant.admin).json()["webhook_secret"] == before
        assert (
            client.get(f"/v1.0/agents/{tenant.agent_id}", headers=tenant.admin)
            .json()["tm_delete"]
            .startswith("9999")
        )
        # with the token (what our own pages can read): accepted
        rotated = browser.post(rotate, headers={"x-csrftoken": csrf})
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["webhook_secret"] != before
        r = browser.put("/v1.0/customer", headers={"x-csrftoken": csrf}, json={"name": "Renamed"})
        assert r.status_code == 200 and r.json()["name"] == "Renamed"
        # reads need no token
        assert browser.get("/v1.0/customer").status_code == 200
        # without the CSRF cookie the header alone proves nothing
        browser.cookies.delete("csrftoken")
        assert_error(browser.post(rotate, headers={"x-csrftoken": csrf}), 403, "csrf_token_missing")


def test_token_and_access_key_callers_need_no_csrf_token(client, tenant):
    r = client.post("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.status_code == 200
    key = client.post("/v1.0/accesskeys", headers=tenant.admin, json={"name": "ci"}).json()["token"]
    r = client.post("/v1.0/customer/webhook_secret", params={"accesskey": key})
    assert r.status_code == 200
    # a token beside the cookie: the token is the credential, so no CSRF token is needed
    r = client.post(
        "/v1.0/customer/webhook_secret",
        headers={"Authorization": f"AccessKey {key}", "Cookie": "token=whatever"},
    )
    assert r.status_code == 200


# --- sign-in throttling per client address ------------------------------------------------


def _from(server, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.x.y.z is this machine)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, timeout=30, transport=transport)


def test_one_address_trying_many_usernames_is_throttled(server, tenant):
    with _from(server, "127.0.0.7") as sprayer, _from(server, "127.0.0.8") as neighbour:
        for i in range(20):  # 20 usernames, one failure each: no username is near its limit
            r = sprayer.post("/auth/login", json={"username": f"user{i}", "password": "Summer2026"})
            assert_error(r, 401, "invalid_credentials")
        # now even a right password from that address waits ...
        r = sprayer.post(
            "/auth/login", json={"username": "acme-admin", "password": tenant.password}
        )
        error = assert_error(r, 429, "too_many_login_attempts")
        assert "address" in error["message"]
        assert 1 <= int(r.headers["retry-after"]) <= 300
        # ... and so does the desk's sign-in form, which uses the same service
        page = sprayer.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        r = sprayer.post(
            "/login",
            data={"username": "acme-agent", "password": tenant.password, "_csrf_token": csrf},
        )
        assert r.status_code == 429
        assert "Too many failed sign-ins" in r.text
        assert 1 <= int(r.headers["retry-after"]) <= 300
        # another address is not affected, nor are the usernames tried
        r = neighbour.post("/auth/login", json={"username": "user3", "password": "x-wrong-1"})
        assert_error(r, 401, "invalid_credentials")
        r = neighbour.post(
            "/auth/login", json={"username": "acme-admin", "password": tenant.password}
        )
        assert r.status_code == 200, r.text


def test_a_username_that_cannot_exist_is_refused_by_the_desk_form_too(server, db_url):
    before = row_counts(db_url)["login_failures"]
    with _from(server, "127.0.0.9") as browser:
        page = browser.get("/login")
        csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        for username in ("a\x00b", "x" * 300):
            r = browser.post(
                "/login", data={"username": username, "password": "pw", "_csrf_token": csrf}
            )
            assert r.status_code == 422, r.text
    assert row_counts(db_url)["login_failures"] == before


# --- websocket origins ------------------------------------------------------------------------


def test_a_cookie_socket_from_another_port_or_scheme_is_refused(server, tenant):
    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    port = int(server.url.rsplit(":", 1)[1])
    for origin in (f"http://127.0.0.1:{port + 1}", f"https://127.0.0.1:{port}"):
        ws = Ws(server.url, headers={"Cookie": f"token={token}", "Origin": origin})
        try:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == 4403
            assert closed.value.rcvd.reason == "origin_not_allowed"
        finally:
            ws.close()
    ok = Ws(server.url, headers={"Cookie": f"token={token}", "Origin": server.url})
    try:
        ok.subscribe(f"customer_id:{tenant.customer_id}:conversation")
    finally:
        ok.close()
