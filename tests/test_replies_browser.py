"""Replies in the desk, in Chromium: the stale-reply warning (agent A starts typing, agent
B replies, A presses Send and is warned, naming B; A sends anyway), the agent's name on
the bubble, and a reply scheduled from the Send later menu, shown as scheduled and
cancelled from its item."""

from __future__ import annotations

import browser_kit
from browser_kit import live
from conftest import LIVE_MS, inbound
from playwright.sync_api import Page, expect


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    browser_kit.sign_in(page, base, username, password, shows="#inbox-list", wait_live=True)


def test_a_stale_reply_is_held_back_until_the_agent_confirms(server, tenant, new_page):
    room = inbound(tenant.channel("message"), "+15559870001", "where is my order?").conversation_id
    a, b = new_page(), new_page()
    sign_in(a, server.url, "acme-admin", tenant.password)
    sign_in(b, server.url, "acme-manager", tenant.password)
    for page in (a, b):
        page.goto(f"{server.url}/conversations/{room}")
        live(page)
    a.fill("#reply-text", "Let me check that for you.")  # A starts typing
    b.fill("#reply-text", "It ships today!")
    b.click("#send")
    # B's reply reaches A's page, with B's name on the bubble
    mine = a.locator("#timeline .item.outbound", has_text="It ships today!")
    expect(mine.locator(".agent-name")).to_have_text("acme-manager", timeout=LIVE_MS)
    a.click("#send")
    warning = a.locator("#stale-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("acme-manager replied")
    expect(warning).to_contain_text("s ago — send anyway?")
    # nothing went out; the text is still there
    expect(a.locator("#timeline .item", has_text="Let me check that")).to_have_count(0)
    expect(a.locator("#reply-text")).to_have_value("Let me check that for you.")
    a.click("#stale-send")
    sent = a.locator("#timeline .item.outbound", has_text="Let me check that for you.")
    expect(sent).to_have_count(1)
    expect(sent.locator(".agent-name")).to_have_text("Administrator")
    expect(warning).to_be_hidden()
    expect(a.locator("#reply-text")).to_have_value("")
    # the next reply, with nothing new since, goes at once
    a.fill("#reply-text", "Anything else?")
    a.click("#send")
    expect(a.locator("#timeline .item.outbound", has_text="Anything else?")).to_have_count(1)
    expect(warning).to_be_hidden()


def test_send_later_shows_a_scheduled_item_that_can_be_cancelled(server, tenant, new_page):
    room = inbound(tenant.channel("message"), "+15559870002", "call me tomorrow").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    live(page)
    page.fill("#reply-text", "Good morning! Following up.")
    page.click("#send-later summary")
    page.click("button[name=later][value=tomorrow]")
    item = page.locator("#timeline .item.st-scheduled", has_text="Good morning!")
    expect(item).to_have_count(1)
    expect(item.locator(".scheduled")).to_contain_text("Scheduled for")
    expect(page.locator("#reply-text")).to_have_value("")
    api = page.request.get(f"{server.url}/v1.0/conversations/{room}/messages").json()
    (scheduled,) = [m for m in api["result"] if m["status"] == "scheduled"]
    # 9:00 tomorrow in the browser's time zone (Chromium here runs in UTC)
    assert scheduled["scheduled_at"].endswith(" 09:00:00.000000"), scheduled
    item.locator("button.cancel-scheduled").click()
    expect(page.locator("#timeline .item.st-canceled", has_text="Good morning!")).to_have_count(1)
    api = page.request.get(f"{server.url}/v1.0/conversations/{room}/messages").json()
    assert [m["status"] for m in api["result"] if m["id"] == scheduled["id"]] == ["canceled"]
