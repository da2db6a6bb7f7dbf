"""Mentions in a real browser (Chromium) against a real server: agent A, in a room's
Note mode, types `@`, picks agent B from the list with the keyboard and sends; the note
shows the mention highlighted, and B's open desk (another browser context) sees the
bell's count go up live; B's panel links to the room, and opening it reads it."""

from __future__ import annotations

import re

import browser_kit
from conftest import LIVE_MS, inbound
from playwright.sync_api import expect

LIVE = LIVE_MS * 2


def test_a_mention_picked_with_the_keyboard_rings_the_mentioned_agents_bell(
    server, tenant, new_page
):
    sms = tenant.channel("message")
    room = inbound(sms, "+15554440001", "where is my refund?").conversation_id

    b = new_page()
    b.set_default_timeout(15000)
    browser_kit.sign_in(b, server.url, "acme-manager", tenant.password, wait_live=True)
    expect(b.locator("#notif-count")).to_be_hidden()

    a = new_page()
    a.set_default_timeout(15000)
    browser_kit.sign_in(
        a, server.url, "acme-admin", tenant.password, f"/conversations/{room}", wait_live=True
    )
    a.click("label.note-tab")
    box = a.locator("#reply-text")
    box.press_sequentially("Could you check this @acme")
    options = a.locator("#mention-list [role=option]")
    # the agents who may see the (unassigned) room, by name: acme-agent, acme-manager,
    # Administrator (the admin's name; it matches by username)
    expect(options).to_have_count(3)
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(2)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(1)).to_contain_text("acme-manager")
    box.press("Enter")
    expect(a.locator("#mention-list")).to_have_count(0)
    expect(box).to_have_value("Could you check this @acme-manager ")
    box.press_sequentially("please")
    box.press("Control+Enter")
    expect(box).to_have_value("", timeout=LIVE)
    note = a.locator("#timeline li.item.note").last
    expect(note.locator(".mention")).to_have_text("@acme-manager")

    # B's desk: the count goes up live, the panel says who and links to the room
    expect(b.locator("#notif-count")).to_have_text(re.compile(r"^\s*1\b"), timeout=LIVE)
    b.click("#notif-toggle")
    item = b.locator("#notif-panel li.notif.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Administrator mentioned you")
    expect(item).to_contain_text("@acme-manager please")
    item.locator("a").click()
    expect(b).to_have_url(re.compile(rf"/conversations/{room}(#item-[0-9a-f-]+)?$"))
    expect(b.locator("#notif-count")).to_be_hidden()  # read by opening it
