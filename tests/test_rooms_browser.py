"""Snooze, bulk actions and merge in a real browser (Chromium, Playwright) against the
session's server: three rooms ticked with a shift-click and closed in one action (their
rows leave live), a room snoozed until the customer replies (it leaves, and comes back
when they write), and a duplicate room merged into the first."""

from __future__ import annotations

import re

import browser_kit
from conftest import LIVE_MS, inbound
from playwright.sync_api import Page, expect


def sign_in(page: Page, base: str, password: str, start: str = "/") -> None:
    browser_kit.sign_in(
        page, base, "acme-admin", password, start, shows="#inbox-list", wait_live=True
    )


def test_shift_click_three_rooms_and_close_them_at_once(server, tenant, new_page, client):
    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555888100{i}", f"order {i}").conversation_id for i in range(4)]
    page = new_page()
    sign_in(page, server.url, tenant.password)
    page.goto(f"{server.url}/?status=active")  # closed rooms leave this view
    browser_kit.live(page)
    # newest first: rooms[3], rooms[2], rooms[1], rooms[0]
    page.locator(f"#row-{rooms[3]} .row-check").click()
    page.locator(f"#row-{rooms[1]} .row-check").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.click("#bulk-close")
    expect(page.locator("#bulk-result")).to_contain_text("3 conversations closed")
    for room_id in rooms[1:]:
        expect(page.locator(f"#row-{room_id}")).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator(f"#row-{rooms[0]}")).to_be_visible()
    statuses = [
        client.get(f"/v1.0/conversations/{r}", headers=tenant.admin).json()["status"] for r in rooms
    ]
    assert statuses == ["active", "closed", "closed", "closed"]


def test_snooze_until_the_customer_replies(server, tenant, new_page):
    sms = tenant.channel("message")
    room_id = inbound(sms, "+15558882001", "I will check and get back").conversation_id
    page = new_page()
    sign_in(page, server.url, tenant.password)
    page.click(f"#row-{room_id} a.row-link")
    expect(page).to_have_url(re.compile(room_id))
    browser_kit.live(page)
    page.click("#snooze-menu summary")
    page.click("#snooze-reply")
    expect(page.locator("#snoozed-note")).to_contain_text("until the customer replies")
    expect(page.locator(f"#row-{room_id}")).to_have_count(0, timeout=LIVE_MS)
    page.click("a.view:has-text('Snoozed')")
    expect(page.locator(f"#row-{room_id}")).to_be_visible()
    browser_kit.live(page)
    inbound(sms, "+15558882001", "Found it, here is the number")
    expect(page.locator(f"#row-{room_id}")).to_have_count(0, timeout=LIVE_MS)
    page.click("a.view:has-text('All')")
    expect(page.locator(f"#row-{room_id}")).to_contain_text("Found it", timeout=LIVE_MS)


def test_merge_a_duplicate_room_into_the_first(server, tenant, new_page, client):
    sms, email = tenant.channel("message"), tenant.channel("email")
    first = inbound(sms, "+15558883001", "My parcel is late", peer_name="Dana").conversation_id
    other = inbound(sms, "+15558883002", "Someone else").conversation_id
    duplicate = inbound(email, "dana@example.com", "Parcel, again").conversation_id
    client.post(
        f"/v1.0/conversations/{duplicate}/participants",
        headers=tenant.admin,
        json={"type": "tel", "target": "+15558883001"},
    )
    page = new_page()
    sign_in(page, server.url, tenant.password)
    page.goto(f"{server.url}/conversations/{duplicate}")
    page.click("#merge-menu summary")
    picks = page.locator(".merge-pick")
    expect(picks.first).to_have_attribute("data-id", first)  # the same person's room first
    expect(page.locator(f".merge-pick[data-id='{other}']")).to_be_visible()
    picks.first.click()
    expect(page).to_have_url(re.compile(f"/conversations/{first}"))
    expect(page.locator("#timeline")).to_contain_text("Parcel, again")
    expect(page.locator("#timeline")).to_contain_text("into this conversation")
    # the duplicate's link leads to the first room
    page.goto(f"{server.url}/conversations/{duplicate}")
    expect(page).to_have_url(re.compile(f"/conversations/{first}"))
    gone = client.get(f"/v1.0/conversations/{duplicate}", headers=tenant.admin).json()
    assert gone["merged_into"] == first
