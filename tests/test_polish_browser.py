"""The desk's finish in a real browser against a real server: a web address in a customer's
message is a safe link and a `javascript:` one is text; avatars in the inbox and the
timeline; the attach button shows the chosen files and is reached by keyboard; the talk
list's preview follows new messages live; a web chat visitor typing shows as "Visitor is
typing…" in the open room, which goes when they stop or their message arrives."""

from __future__ import annotations

import re

import browser_kit
from browser_kit import live
from conftest import LIVE_MS, inbound
from playwright.sync_api import expect
from test_accessibility import HostSite

LIVE = LIVE_MS * 2


def test_links_avatars_and_the_attach_button_in_a_room(server, client, tenant, new_page):
    sms = tenant.channel("message")
    text = (
        "Tracking: https://track.example/p?id=7&x=1. "
        "Also javascript:alert(document.title) and <b>bold</b>"
    )
    room = inbound(sms, "+15559876543", text, peer_name="Mina Kim").conversation_id
    page = new_page()
    browser_kit.sign_in(page, server.url, "acme-admin", tenant.password, shows="#inbox-list")
    page.goto(f"{server.url}/conversations/{room}")
    live(page)
    bubble = page.locator("#timeline .item.inbound").first
    link = bubble.locator(".text a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://track.example/p?id=7&x=1")
    expect(link).to_have_attribute("rel", "noopener nofollow noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_text("https://track.example/p?id=7&x=1")
    # the rest is text: no javascript: link, no <b> element, the words all there
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert bubble.locator(".text b").count() == 0
    expect(bubble.locator(".text")).to_have_text(text)

    # the customer's avatar: their initials, the same colour in the row and on the bubble
    row_avatar = page.locator(f"#row-{room} .avatar")
    expect(row_avatar).to_have_text("MK")
    expect(bubble.locator(".avatar")).to_have_text("MK")
    colour = row_avatar.evaluate("e => getComputedStyle(e).backgroundColor")
    assert bubble.locator(".avatar").evaluate("e => getComputedStyle(e).backgroundColor") == colour
    expect(page.locator("#me-switch .avatar")).to_have_text("A")  # the rail: me

    # the attach button: Tab from the text reaches the file input; chosen files are named
    page.focus("#reply-text")
    page.keyboard.press("Tab")
    expect(page.locator("#reply-files")).to_be_focused()
    files = [{"name": n, "mimeType": "text/plain", "buffer": b"hello"} for n in ("a.txt", "b.txt")]
    page.set_input_files("#reply-files", files)
    expect(page.locator("#reply-files-names")).to_have_text("a.txt, b.txt")
    page.set_input_files("#reply-files", [*files, {**files[0], "name": "c.txt"}])
    expect(page.locator("#reply-files-names")).to_have_text("3 files")
    # sent: the composer empties, the names go
    page.fill("#reply-text", "Here you go: www.help.example/returns")
    page.click("#send")
    expect(page.locator("#reply-text")).to_have_value("", timeout=LIVE)
    expect(page.locator("#reply-files-names")).to_have_text("")
    sent = page.locator("#timeline .item.outbound", has_text="Here you go")
    expect(sent.locator(".text a")).to_have_attribute("href", "https://www.help.example/returns")
    expect(sent.locator(".medias a")).to_have_count(3, timeout=LIVE)


def test_the_talk_list_previews_the_last_message_live(server, client, tenant, new_page):
    r = client.post(
        "/v1.0/talks",
        headers=tenant.admin,
        json={"type": "direct", "participant_ids": [tenant.manager_id]},
    )
    assert r.status_code == 201, r.text
    talk = r.json()["id"]
    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-manager", tenant.password, "/talks", shows="#talk-list"
    )
    live(page)
    preview = page.locator(f"#tpreview-{talk}")
    expect(preview).to_have_text("No messages yet")
    expect(page.locator(f"#talkrow-{talk} .avatar")).to_have_text("A")  # the other agent

    long = "<i>Hi</i> there,\n\n" + "the launch moves to Friday " * 10
    r = client.post(f"/v1.0/talks/{talk}/messages", headers=tenant.admin, json={"text": long})
    assert r.status_code == 201, r.text
    message = r.json()["id"]
    expect(preview).to_contain_text("Administrator: <i>Hi</i> there, the launch", timeout=LIVE)
    assert page.locator(f"#tpreview-{talk} i").count() == 0
    assert preview.inner_text().endswith("…")
    # an edit of the last message shows; its deletion falls back to the one before
    client.post(f"/v1.0/talks/{talk}/messages", headers=tenant.manager, json={"text": "ok"})
    expect(preview).to_have_text("You: ok", timeout=LIVE)
    last = client.get(f"/v1.0/talks/{talk}/messages", headers=tenant.manager).json()["result"][0]
    r = client.delete(f"/v1.0/talks/{talk}/messages/{last['id']}", headers=tenant.manager)
    assert r.status_code in (200, 204), r.text
    expect(preview).to_contain_text("Administrator: <i>Hi</i>", timeout=LIVE)
    r = client.put(
        f"/v1.0/talks/{talk}/messages/{message}", headers=tenant.admin, json={"text": "Friday!"}
    )
    assert r.status_code == 200, r.text
    expect(preview).to_have_text("Administrator: Friday!", timeout=LIVE)


def test_a_visitor_typing_shows_in_the_open_room(server, client, tenant, new_page):
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "webchat", "name": "Website", "settings": {"title": "Acme help"}},
    )
    assert r.status_code == 201, r.text
    widget_js = f"{server.url}/widget/{r.json()['id']}/widget.js"
    site = HostSite(f'<!doctype html><title>Shop</title><script src="{widget_js}"></script>')
    try:
        visitor = new_page()
        visitor.goto(site.origin + "/")
        visitor.get_by_role("button", name="Open chat").click()
        box = visitor.get_by_role("textbox", name="Message")
        box.fill("Hello")
        box.press("Enter")
        expect(visitor.locator("li.msg.visitor .meta")).to_have_text("", timeout=LIVE)
        expect(visitor.locator("[data-convodesk-widget]")).to_have_attribute(
            "data-state", "live", timeout=LIVE
        )
        (room,) = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]

        agent = new_page()
        browser_kit.sign_in(agent, server.url, "acme-admin", tenant.password, shows="#inbox-list")
        agent.goto(f"{server.url}/conversations/{room['id']}")
        live(agent)
        typing = agent.locator("#typing")
        expect(typing).to_have_text("")

        # the visitor types: the room says so, live; it is not an event or a message
        box.press_sequentially("Is my order", delay=20)
        expect(typing).to_have_text(re.compile("Visitor is typing…"), timeout=LIVE)
        # they stop: it goes by itself a few seconds after the last signal
        expect(typing).to_have_text("", timeout=LIVE_MS + 8000)
        # they type again and send: the message arriving ends it
        box.press_sequentially(" shipped?", delay=20)
        expect(typing).to_have_text(re.compile("Visitor is typing…"), timeout=LIVE)
        box.press("Enter")
        expect(agent.locator("#timeline .item.inbound").last).to_contain_text(
            "Is my order shipped?", timeout=LIVE
        )
        expect(typing).to_have_text("")
        # typing is no message: the room holds the visitor's two and nothing more
        r = client.get(f"/v1.0/conversations/{room['id']}/messages", headers=tenant.admin)
        assert [m["text"] for m in r.json()["result"]] == ["Is my order shipped?", "Hello"]
    finally:
        site.close()
