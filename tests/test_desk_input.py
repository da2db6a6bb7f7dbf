"""The desk's forms under hostile input, over real HTTP against a real server: characters
PostgreSQL cannot store, over-long values, wrong choices, malformed bodies and foreign ids
get a plain-words refusal naming the field — as a toast for htmx, as a page without
JavaScript — never a 500, never validator text, and nothing is stored."""

# ruff: noqa: E501 - the corpus reads best one case a line
from __future__ import annotations

import uuid

import httpx
import pytest
from conftest import inbound

NUL = "before\x00after"
HTMX = {"hx-request": "true"}
RAW_TEXT = ("Expected `", "- at `$", "Traceback", "msgspec", "\x00")


def desk_client(server, username: str, password: str) -> httpx.Client:
    """Signed in through the sign-in form, carrying the CSRF token as the pages do."""
    client = httpx.Client(base_url=server.url, timeout=30)
    client.get("/login")
    token = client.cookies["csrftoken"]
    signed_in = client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": token}
    )
    assert signed_in.status_code == 303, signed_in.text
    client.headers["x-csrftoken"] = token
    return client


def multipart(*parts: tuple[bytes, bytes]) -> dict:
    """A hand-made multipart body: (part headers, part body) each."""
    body = b"".join(b"--XX\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts)
    return {
        "content": body + b"--XX--\r\n",
        "headers": {"content-type": "multipart/form-data; boundary=XX"},
    }


def text_part(name: str, value: bytes, extra: bytes = b"") -> tuple[bytes, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"'.encode() + extra, value)


@pytest.fixture
def desk(server, tenant):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    admin = desk_client(server, "acme-admin", tenant.password)
    started = admin.post(
        "/talks/new",
        data={"type": "group", "name": "ops", "participant_ids": tenant.agent_id},
        headers=HTMX,
    )
    talk = started.headers["hx-redirect"].rsplit("/", 1)[1]
    yield {"room": room, "talk": talk, "account": str(sms.id), "client": admin}
    admin.close()


def cases(room: str, talk: str, account: str) -> list[tuple[str, str, dict, str]]:
    """(method, path, request arguments, words the refusal must contain)."""
    r, t = f"/conversations/{room}", f"/talks/{talk}"
    png = b'Content-Disposition: form-data; name="files"; filename="a\x00b.png"\r\n'
    png += b"Content-Type: image/png"
    return [
        # the room's composer: long, NUL, a lone surrogate, a NUL file name, broken bodies
        ("post", f"{r}/reply", {"files": {"text": (None, "x" * 25_000)}}, "at most 20,000"),
        ("post", f"{r}/reply", {"files": {"text": (None, NUL)}}, "The message cannot contain"),
        ("post", f"{r}/reply", {"files": {"text": (None, NUL), "mode": (None, "note")}}, "U+0000"),
        ("post", f"{r}/reply", multipart(text_part("text", b"x"), (png, b"png")), "file name"),
        ("post", f"{r}/reply", multipart(text_part("text", b"+2AA-", b"\r\nContent-Type: text/plain; charset=utf-7")), "U+D800"),
        ("post", f"{r}/reply", multipart(text_part("text", b"\xed\xa0\x80")), "could not be read"),
        ("post", f"{r}/reply", multipart(text_part("text", b"hi", b"\r\nContent-Type: text/plain; charset=nope")), "could not be read"),
        ("post", f"{r}/reply", {"content": b"junk", "headers": {"content-type": "multipart/form-data"}}, "could not be read"),
        ("post", f"{r}/reply", {"files": {"text": (None, "x"), "participant_id": (None, "nope")}}, "must be picked from the list"),
        ("post", f"{r}/reply", {"files": {"text": (None, "x"), "participant_id": (None, str(uuid.uuid4()))}}, "no such participant"),
        # the side panel and header
        ("post", f"{r}/tags", {"data": {"tags": "vip, " + "c" * 70}}, "Tags can be at most 64 characters."),
        ("post", f"{r}/tags", {"data": {"tags": ",".join(str(i) for i in range(60))}}, "at most 50"),
        ("post", f"{r}/tags", {"data": {"tags": NUL}}, "Tags cannot contain"),
        ("post", f"{r}/assign", {"data": {"owner_id": str(uuid.uuid4())}}, "agent"),
        ("post", f"{r}/assign", {"data": {"owner_id": NUL}}, "The assignee cannot contain"),
        ("post", f"{r}/assign", {"content": b"owner_id=a&owner_id=b", "headers": {"content-type": "application/x-www-form-urlencoded"}}, "The assignee must be text."),
        ("post", f"{r}/status", {"data": {"status": "deleted"}}, "Close or reopen"),
        ("post", f"{r}/participants", {"data": {"type": "email", "target": "a@b.example", "target_name": NUL}}, "The name cannot contain"),
        ("post", f"{r}/participants", {"data": {"type": "fax", "target": "1"}}, "Choose a channel"),
        ("post", f"{r}/participants/{uuid.uuid4()}/remove", {}, "no such participant"),
        ("post", "/messages/nope/retry", {}, "no such message"),
        # the inbox's filters and links
        ("get", "/?q=a%00b", {}, "The search cannot contain"),
        ("get", "/?tag=a%00b", {}, "The tag filter cannot contain"),
        ("get", "/inbox/more", {}, "The 'load more' link must be given."),
        ("get", "/inbox/more?after=nope", {}, "not valid"),
        ("get", f"{r}/older?before=nope", {}, "not valid"),
        # Talk
        ("post", "/talks/new", {"data": {"type": "group", "name": NUL}}, "The name cannot contain"),
        ("post", "/talks/new", {"data": {"type": "group", "name": "x", "participant_ids": "nope"}}, "must be picked from the list"),
        ("post", f"{t}/messages", {"files": {"text": (None, "x" * 25_000)}}, "at most 20,000"),
        ("post", f"{t}/messages", {"files": {"text": (None, NUL)}}, "The message cannot contain"),
        ("post", f"{t}/messages", multipart(text_part("text", b"x"), (png, b"png")), "file name"),
        ("post", f"{t}/messages/nope/edit", {"data": {"text": "x"}}, "no such message"),
        ("post", f"{t}/status", {"data": {"status": "gone"}}, "Close or reopen"),
        # admin pages
        ("post", "/admin/channels", {"data": {"type": "sms", "name": "x", "f_account_sid": NUL}}, "Account SID cannot contain"),
        ("post", f"/admin/channels/{account}/edit", {"data": {"name": "x" * 300}}, "Name can be at most 255 characters."),
        ("post", f"/admin/channels/{account}/test", {"data": {"to": NUL}}, "To cannot contain"),
        ("post", "/admin/webhooks", {"data": {"webhook_uri": "https://a.example/", "webhook_method": "GET"}}, "The method must be one of the choices."),
        ("post", "/admin/webhooks", {"data": {"webhook_uri": "https://a.example/", "webhook_events": "nope"}}, "The event types must be one of the choices."),
        ("get", "/admin/webhooks?status=a%00b", {}, "The status cannot contain"),
    ]  # fmt: skip


def test_desk_forms_refuse_hostile_input_plainly(server, tenant, desk, client):
    admin = desk["client"]
    log_before = len(server.output())
    for method, path, kwargs, words in cases(desk["room"], desk["talk"], desk["account"]):
        for htmx in (True, False):
            headers = {**kwargs.get("headers", {}), **(HTMX if htmx else {})}
            answer = getattr(admin, method)(path, **{**kwargs, "headers": headers})
            what = f"{method} {path} {'htmx' if htmx else 'plain'}: {answer.status_code}"
            body = answer.text
            assert not any(raw in body for raw in RAW_TEXT), (what, body[:500])
            # the channel form is a plain form: it comes back with the error beside the inputs
            page_form = path in ("/admin/channels", "/admin/webhooks") or (
                path.startswith("/admin/channels/") and path.endswith("/edit")
            )
            if body.startswith('<div id="alerts"'):  # a toast; htmx swaps nothing else
                assert htmx and answer.status_code == 200, (what, body[:300])
                assert answer.headers["x-desk-refused"], what
                assert 'class="alert toast"' in body, (what, body[:300])
            else:  # a page with the same words
                assert not htmx or page_form, (what, body[:300])
                assert 400 <= answer.status_code < 500, (what, body[:300])
                assert "That did not work" in body or page_form, (what, body[:300])
            assert words.replace("'", "&#39;") in body, (what, words, body[:600])
    # nothing was stored: the room has its one message and no tags, the talk no message
    room = client.get(f"/v1.0/conversations/{desk['room']}", headers=tenant.admin).json()
    assert room["tags"] == [] and room["owner_id"] is None
    said = client.get(f"/v1.0/conversations/{desk['room']}/messages", headers=tenant.admin)
    assert [m["text"] for m in said.json()["result"]] == ["hi"]
    talked = client.get(f"/v1.0/talks/{desk['talk']}/messages", headers=tenant.admin).json()
    assert all(m["type"] == "system" for m in talked["result"])
    assert "Traceback" not in server.output()[log_before:]


def test_the_sign_in_form_refuses_what_it_cannot_use(server, tenant):
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        browser.get("/login")
        token = browser.cookies["csrftoken"]
        for form, words in (
            ({"username": NUL, "password": "x"}, "The username cannot contain"),
            ({"username": "acme-admin", "password": NUL}, "The password cannot contain"),
            ({"username": "x" * 10_000, "password": "long enough"}, "at most 255 characters"),
            ({"username": "", "password": "x"}, "The username cannot be empty."),
        ):
            answer = browser.post("/login", data={**form, "_csrf_token": token})
            assert answer.status_code == 422, answer.text[:300]
            assert words in answer.text and "\x00" not in answer.text
        # a `next` that is no path on this site (or could split a header) goes home
        for bad_next in ("/a\x00b", "/a\r\nSet-Cookie: x=1", "https://evil.example/"):
            answer = browser.post(
                "/login",
                data={
                    "username": "acme-admin",
                    "password": tenant.password,
                    "next": bad_next,
                    "_csrf_token": token,
                },
            )
            if "\x00" in bad_next:
                assert answer.status_code == 422  # refused as a whole, signed in by nothing
            else:
                assert answer.status_code == 303 and answer.headers["location"] == "/"
