"""The desk in a real browser (Debian's Chromium driven by Playwright) against a real
server: sign-in, the live inbox and room, replies that tick to sent, filters and search,
two agents at once, catching up after a server restart, and XSS payloads shown as text."""

from __future__ import annotations

import re
import time

import browser_kit
import pytest
from browser_kit import live
from conftest import LIVE_MS, ServerProcess, cli_env, inbound, run_async, wait_for
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """Signed in on the inbox, its live connection up."""
    browser_kit.sign_in(page, base, username, password, shows="#inbox-list", wait_live=True)


def live_room_then_stop(page: Page, srv: ServerProcess, password: str, room_id: str) -> None:
    """The room's page, live on `srv`; then `srv` stops and the page waits to reconnect."""
    sign_in(page, srv.url, "acme-admin", password)
    page.goto(f"{srv.url}/conversations/{room_id}")
    live(page)
    srv.stop()
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting", timeout=LIVE_MS)


def row(page: Page, room_id: str):
    return page.locator(f"#row-{room_id}")


def test_sign_in_out_and_wrong_passwords(server, tenant, new_page):
    page = new_page()
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", "acme-admin")
    page.fill("input[name=password]", "wrong-password")
    page.click("form.card button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("Wrong username or password")
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.click("button[title='Sign out']")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(server.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_form_without_the_csrf_token_is_refused(server, tenant, new_page):
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    response = page.request.post(
        f"{server.url}/conversations/{room}/status", form={"status": "closed"}
    )
    assert response.status == 403
    assert page.request.get(f"{server.url}/v1.0/conversations/{room}").json()["status"] == "active"


def test_inbox_lists_rooms_and_the_room_shows_every_channel(server, tenant, new_page, client):
    sms, email = tenant.channel("message"), tenant.channel("email")
    room = inbound(
        sms, "+15559876543", "When will my order arrive?", peer_name="Dana"
    ).conversation_id
    client.post(
        f"/v1.0/conversations/{room}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": "dana@example.com"},
    )
    inbound(email, "dana@example.com", "Can I change the address?")
    other = inbound(sms, "+15551112222", "Another person").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    expect(row(page, room)).to_contain_text("Can I change the address?")
    expect(row(page, other)).to_be_visible()
    # most recent activity first
    ids = page.locator("#inbox-list .row").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids == [other, room]
    row(page, room).locator("a").click()
    expect(page).to_have_url(re.compile(room))
    timeline = page.locator("#timeline")
    expect(timeline.locator(".item.msg.via-message")).to_contain_text("When will my order arrive?")
    expect(timeline.locator(".item.msg.via-email")).to_contain_text("Can I change the address?")
    expect(timeline.locator(".item.system")).to_contain_text("added dana@example.com")
    # the reply goes by email: the person wrote last by email
    expect(page.locator("#channel-picker option:checked")).to_contain_text("Email")


def test_live_inbound_in_room_and_inbox_with_unread_badge(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15550000001", "first").conversation_id
    other = inbound(sms, "+15550000002", "second").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    row(page, room).locator("a").click()
    live(page)

    started = time.monotonic()
    inbound(sms, "+15550000001", "are you there?")
    expect(page.locator("#timeline")).to_contain_text("are you there?", timeout=LIVE_MS)
    took = time.monotonic() - started
    # the open room's row shows the new preview, and no unread (the agent is reading it)
    expect(row(page, room)).to_contain_text("are you there?")
    expect(page.locator(f"#unread-{room}")).to_have_text("")

    inbound(sms, "+15550000002", "hello? anyone?")
    expect(row(page, other)).to_contain_text("hello? anyone?", timeout=LIVE_MS)
    expect(page.locator(f"#unread-{other}")).to_have_text("2")
    ids = page.locator("#inbox-list .row").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids[0] == other  # moved to the top
    # a brand-new person appears at the top too
    fresh = inbound(sms, "+15550000003", "new here").conversation_id
    expect(row(page, fresh)).to_be_visible(timeout=LIVE_MS)
    assert took < LIVE_MS / 1000


def test_a_reply_appears_at_once_and_ticks_to_sent(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    failing = tenant.channel("message", address="+15550009999", simulate="fail")
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    page.fill("#reply-text", "Your order ships Friday.")
    page.keyboard.press("Control+Enter")
    item = page.locator("#timeline .item.outbound", has_text="Your order ships Friday.")
    expect(item).to_have_count(1)
    expect(item.locator(".delivery")).to_contain_text("sent", timeout=LIVE_MS)
    expect(page.locator("#reply-text")).to_have_value("")

    # a refused message shows the reason and a retry button
    bad_room = inbound(failing, "+15557770000", "hi").conversation_id
    page.goto(f"{server.url}/conversations/{bad_room}")
    page.fill("#reply-text", "this will fail")
    page.click("#send")
    failed = page.locator("#timeline .item.outbound", has_text="this will fail")
    expect(failed.locator(".failed")).to_contain_text("refuse", timeout=LIVE_MS)
    expect(failed.locator("button.retry")).to_be_visible()

    # an internal note: tinted, marked, never sent to the customer
    page.goto(f"{server.url}/conversations/{room}")
    page.click("label.note-tab")  # as an agent would: the tab, not the hidden radio
    page.fill("#reply-text", "checked with the carrier")
    page.click("#send")
    note = page.locator("#timeline .item.note", has_text="checked with the carrier")
    expect(note).to_be_visible()
    api = page.request.get(f"{server.url}/v1.0/conversations/{room}/messages").json()
    assert all("carrier" not in m["text"] for m in api["result"])


def test_filters_and_search(server, tenant, new_page, client):
    sms, email = tenant.channel("message"), tenant.channel("email")
    parcel = inbound(sms, "+15550000001", "my parcel is late").conversation_id
    invoice = inbound(email, "bob@example.com", "invoice question", peer_name="Bob").conversation_id
    closed = inbound(sms, "+15550000003", "thanks").conversation_id
    client.put(f"/v1.0/conversations/{closed}", headers=tenant.admin, json={"status": "closed"})
    client.put(f"/v1.0/conversations/{invoice}", headers=tenant.admin, json={"tags": ["billing"]})
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)

    def shown():
        try:
            rows = page.locator("#inbox-list .row")
            return set(rows.evaluate_all("e => e.map(x => x.dataset.id)"))
        except PlaywrightError:
            return None  # the list was being replaced (a navigation): look again

    assert shown() == {parcel, invoice, closed}
    page.select_option("select[name=status]", "closed")
    wait_for(lambda: shown() == {closed})
    page.select_option("select[name=status]", "")
    wait_for(lambda: shown() == {parcel, invoice, closed})
    page.select_option("select[name=channel]", "email")
    wait_for(lambda: shown() == {invoice})
    page.select_option("select[name=channel]", "")
    wait_for(lambda: shown() == {parcel, invoice, closed})
    page.keyboard.press("/")
    page.keyboard.type("parcel")
    page.keyboard.press("Enter")
    wait_for(lambda: shown() == {parcel})
    page.goto(server.url + "/?tag=billing")
    wait_for(lambda: shown() == {invoice})
    page.goto(server.url + "/?view=unassigned&q=Bob")
    wait_for(lambda: shown() == {invoice})


def test_keyboard_moves_opens_assigns_and_closes(server, tenant, new_page):
    sms = tenant.channel("message")
    first = inbound(sms, "+15550000001", "one").conversation_id
    second = inbound(sms, "+15550000002", "two").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.keyboard.press("j")
    expect(row(page, second)).to_have_class(re.compile("selected"))
    page.keyboard.press("j")
    expect(row(page, first)).to_have_class(re.compile("selected"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(first))
    page.keyboard.press("a")
    expect(page.locator("#assignee option:checked")).to_contain_text("(you)", timeout=LIVE_MS)
    page.keyboard.press("e")
    expect(page.locator("#room-header .pill")).to_contain_text("closed", timeout=LIVE_MS)
    expect(page.locator("#timeline .item.system").last).to_contain_text("closed the conversation")


def test_two_agents_see_each_other_live(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi both").conversation_id
    admin, manager = new_page(), new_page()
    browser_kit.both_viewing(admin, manager, server.url, server.url, room, tenant.password)

    admin.fill("#reply-text", "I'll take this one")
    admin.click("#send")
    expect(manager.locator("#timeline")).to_contain_text("I'll take this one", timeout=LIVE_MS)
    manager.fill("#reply-text", "Thanks!")
    manager.click("#send")
    expect(admin.locator("#timeline")).to_contain_text("Thanks!", timeout=LIVE_MS)
    admin.click("#assign-me")
    expect(manager.locator("#assignee option:checked")).to_contain_text(
        "Administrator", timeout=LIVE_MS
    )
    expect(manager.locator("#timeline")).to_contain_text("took the conversation")
    manager.close()
    expect(admin.locator("#viewers")).to_have_text("", timeout=LIVE_MS)


def test_agents_do_not_see_rooms_assigned_to_others(server, tenant, new_page, client):
    sms = tenant.channel("message")
    theirs = inbound(sms, "+15550000003", "for agent2").conversation_id
    free = inbound(sms, "+15550000004", "for anyone").conversation_id
    other = tenant.add_agent("acme-agent2", "agent")
    client.put(f"/v1.0/conversations/{theirs}", headers=tenant.admin, json={"owner_id": other})
    page = new_page()
    sign_in(page, server.url, "acme-agent", tenant.password)
    page.goto(server.url + "/?view=all")
    expect(row(page, free)).to_be_visible()
    expect(row(page, theirs)).to_have_count(0)
    inbound(sms, "+15550000003", "secret for agent2")
    inbound(sms, "+15550000004", "visible to all")
    expect(row(page, free)).to_contain_text("visible to all", timeout=LIVE_MS)
    expect(row(page, theirs)).to_have_count(0)
    assert "secret for agent2" not in page.content()
    page.goto(f"{server.url}/conversations/{theirs}")
    assert "secret for agent2" not in page.content()


XSS = [
    "<script>alert('xss')</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click</a>',
    "{{ 7*7 }} ${7*7}",
    '<iframe src="javascript:alert(1)"></iframe>',
    "</textarea><script>alert(1)</script>",
    '<div hx-get="/logout" hx-trigger="load">htmx</div>',
]


def test_xss_payloads_render_as_text(server, tenant, new_page):
    sms = tenant.channel("message")
    room = None
    for payload in XSS:
        room = inbound(sms, "+15559876543", payload, peer_name=payload).conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    texts = page.locator("#timeline .item.msg .text").all_inner_texts()
    assert texts == XSS
    # and live pushes too
    inbound(sms, "+15559876543", XSS[1])
    expect(page.locator("#timeline .item.msg .text").last).to_have_text(XSS[1], timeout=LIVE_MS)
    for selector in (
        "#timeline script",
        "#timeline img[src=x]",
        "#timeline svg",
        "#timeline iframe",
        "#timeline [hx-get='/logout']",
        "#inbox-list script",
    ):
        assert page.locator(selector).count() == 0, selector
    assert page.evaluate("() => document.title").endswith("Convodesk")
    live(page)  # still signed in


def test_reconnect_after_a_restart_catches_up_exactly(tenant, new_page):
    """The page stays open while its server restarts and messages keep arriving; once
    back, it shows what a fresh page load shows."""
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "before").conversation_id
    other = inbound(sms, "+15551112222", "other before").conversation_id
    srv = ServerProcess(cli_env()).wait_ready()
    port = srv.port
    page = new_page()
    try:
        live_room_then_stop(page, srv, tenant.password, room)
        inbound(sms, "+15559876543", "while you were away 1")
        inbound(sms, "+15551112222", "while you were away 2")
        inbound(sms, "+15559876543", "while you were away 3")
        srv = ServerProcess(cli_env(), port=port).wait_ready()
        live(page, timeout=15000)
        expect(page.locator("#timeline")).to_contain_text("while you were away 3")
        live_items = page.locator("#timeline .item").evaluate_all("e => e.map(x => x.id)")
        live_rows = page.locator("#inbox-list .row").evaluate_all("e => e.map(x => x.dataset.id)")
        live_unread = page.locator(f"#unread-{other}").inner_text()
        page.reload()
        expect(page.locator("#timeline")).to_contain_text("while you were away 3")
        assert page.locator("#timeline .item").evaluate_all("e => e.map(x => x.id)") == live_items
        fresh_rows = page.locator("#inbox-list .row").evaluate_all("e => e.map(x => x.dataset.id)")
        assert fresh_rows == live_rows == [room, other]  # "away 3" went to room last
        assert page.locator(f"#unread-{other}").inner_text() == live_unread == "2"
    finally:
        srv.stop()


def test_a_page_from_one_process_and_a_socket_on_another(server, tenant, new_page):
    """Two servers on one database: the page comes from A (the session's server), a reply
    is sent through B's API, and the page (its socket on A) shows it."""
    import httpx

    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    a = server
    b = ServerProcess(cli_env()).wait_ready()
    try:
        page = new_page()
        sign_in(page, a.url, "acme-admin", tenant.password)
        page.goto(f"{a.url}/conversations/{room}")
        live(page)
        httpx.post(
            f"{b.url}/v1.0/conversations/{room}/messages",
            headers=tenant.manager,
            json={"text": "from the other process"},
        )
        item = page.locator("#timeline .item.outbound", has_text="from the other process")
        expect(item.locator(".delivery")).to_contain_text("sent", timeout=LIVE_MS)
    finally:
        b.stop()


def test_usable_on_a_phone(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "on my phone").conversation_id
    page = new_page(390, 844)
    sign_in(page, server.url, "acme-admin", tenant.password)
    expect(page.locator(".room-col")).to_be_hidden()
    row(page, room).locator("a").click()
    expect(page.locator("#timeline")).to_contain_text("on my phone")
    expect(page.locator(".inbox-col")).to_be_hidden()
    page.fill("#reply-text", "replying from a phone")
    page.click("#send")
    expect(page.locator("#timeline")).to_contain_text("replying from a phone")
    page.click("a.back")
    expect(page.locator(".inbox-col")).to_be_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390


def test_works_without_javascript(server, tenant, browser):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "plain html please").conversation_id
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.fill("input[name=username]", "acme-admin")
        page.fill("input[name=password]", tenant.password)
        page.click("form.card button[type=submit]")
        row(page, room).locator("a").click()
        expect(page.locator("#timeline")).to_contain_text("plain html please")
        page.fill("#reply-text", "answered without scripts")
        page.click("#send")
        expect(page).to_have_url(re.compile(f"/conversations/{room}$"))
        expect(page.locator("#timeline")).to_contain_text("answered without scripts")
        page.click("#close-room")
        expect(page.locator("#room-header .pill")).to_contain_text("closed")
        page.click("a.view:has-text('Unassigned')")
        expect(page).to_have_url(re.compile("view=unassigned"))
    finally:
        context.close()


def test_load_more_rooms_and_older_messages(server, tenant, new_page):
    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555000{i:04d}", f"room {i}").conversation_id for i in range(55)]
    for i in range(59):
        inbound(sms, "+15550000000", f"old message {i}")

    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    expect(page.locator("#inbox-list .row")).to_have_count(50)
    page.click("#inbox-more a")
    expect(page.locator("#inbox-list .row")).to_have_count(55)
    expect(page.locator("#inbox-more")).to_have_count(0)
    shown = set(page.locator("#inbox-list .row").evaluate_all("e => e.map(x => x.dataset.id)"))
    assert shown == set(rooms)

    page.goto(f"{server.url}/conversations/{rooms[0]}")
    expect(page.locator("#timeline .item.msg")).to_have_count(50)
    page.click("#older a")
    expect(page.locator("#timeline .item.msg")).to_have_count(60)
    texts = page.locator("#timeline .item.msg .text").all_inner_texts()
    assert texts[0] == "room 0" and texts[-1] == "old message 58"


def test_attachments_are_uploaded_sent_and_shown(server, tenant, new_page, tmp_path):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "send me the label").conversation_id
    png = tmp_path / "label.png"
    png.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4"
            "890000000d4944415478da63f8cfc0f01f0005000201a3b9d4a40000000049454e44ae426082"
        )
    )
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    page.set_input_files("input[name=files]", str(png))
    page.fill("#reply-text", "here it is")
    page.click("#send")
    item = page.locator("#timeline .item.outbound", has_text="here it is")
    expect(item.locator(".thumb img")).to_be_visible()
    src = item.locator(".thumb img").get_attribute("src")
    assert "/media/" in src and src.endswith("/label.png")
    assert page.request.get(src).body() == png.read_bytes()
    api = page.request.get(f"{server.url}/v1.0/conversations/{room}/messages").json()
    assert api["result"][0]["medias"][0]["type"] == "image/png"


def test_a_failed_message_can_be_retried(server, tenant, new_page, db_url):
    import asyncpg

    failing = tenant.channel("message", simulate="fail")
    room = inbound(failing, "+15559876543", "hi").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    page.fill("#reply-text", "try again later")
    page.click("#send")
    item = page.locator("#timeline .item.outbound", has_text="try again later")
    expect(item.locator(".failed")).to_be_visible(timeout=LIVE_MS)

    async def fix_channel():  # the provider works again
        conn = await asyncpg.connect(db_url)
        await conn.execute("UPDATE channel_accounts SET settings = settings - 'simulate'")
        await conn.close()

    run_async(fix_channel())
    item.locator("button.retry").click()
    expect(item.locator(".delivery")).to_contain_text("sent", timeout=LIVE_MS)


def test_the_desk_socket_wants_our_origin_and_a_session(server, tenant):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    token = tenant.admin["Authorization"].removeprefix("Bearer ")
    url = server.url.replace("http://", "ws://") + "/desk/ws"
    for headers, code in (
        ({"Cookie": f"token={token}", "Origin": "https://evil.example"}, 4403),
        ({"Origin": server.url}, 4401),
        ({"Cookie": "token=forged", "Origin": server.url}, 4401),
    ):
        with connect(url, additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.code == code
