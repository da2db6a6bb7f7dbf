"""The agent's toolbox, the whole story: an agent finds a contact, opens their
conversation, inserts a canned reply with their name filled in, schedules it for later,
snoozes the room until the customer replies, merges a duplicate room, and @mentions a
teammate who sees the notification live. Once in Chromium (Playwright, against a real
server), once through the v1.0 API. The customer writes on the provider's side
(`inbound`): that side has no desk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import browser_kit
from conftest import LIVE_MS, inbound
from playwright.sync_api import expect

LIVE = LIVE_MS * 2


def _customer_with_a_duplicate_room(client, tenant, phone: str, mail: str, first: str):
    """`first` writes by SMS, then (after an agent linked the address) by email: one
    contact, two rooms. A shared canned reply greets by first name."""
    sms, email = tenant.channel("message"), tenant.channel("email")
    by_sms = inbound(sms, phone, "Where is my order?", peer_name=f"{first} Ross")
    room = by_sms.conversation_id
    (contact_id,) = client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()[
        "contact_ids"
    ]
    r = client.put(
        f"/v1.0/contacts/{contact_id}",
        headers=tenant.admin,
        json={"first_name": first, "last_name": "Ross"},
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/v1.0/contacts/{contact_id}/addresses",
        headers=tenant.admin,
        json={"type": "email", "target": mail},
    )
    assert r.status_code == 200, r.text
    duplicate = inbound(email, mail, "Order, again: any news?").conversation_id
    rooms = client.get(f"/v1.0/contacts/{contact_id}/conversations", headers=tenant.admin)
    assert {c["id"] for c in rooms.json()["result"]} == {room, duplicate}
    return contact_id, room, duplicate


def _canned(client, tenant, shortcut: str) -> str:
    r = client.post(
        "/v1.0/canned_responses",
        headers=tenant.admin,
        json={
            "shortcut": shortcut,
            "name": "On it",
            "text": "Thanks {{contact.first_name}}, we are on it.",
            "owner_id": None,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_in_the_desk(server, tenant, client, new_page):
    contact_id, room, duplicate = _customer_with_a_duplicate_room(
        client, tenant, "+15557770001", "dana@example.com", "Dana"
    )
    _canned(client, tenant, "onit")

    # the teammate's desk is open: the notification must reach it live
    teammate = new_page()
    browser_kit.sign_in(
        teammate, server.url, "acme-manager", tenant.password, shows="#inbox-list", wait_live=True
    )
    expect(teammate.locator("#notif-count")).to_be_hidden()

    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-agent", tenant.password, "/contacts", shows="#contact-list"
    )
    # finds the contact
    page.fill("#contact-q", "dana")
    page.press("#contact-q", "Enter")
    expect(page.locator("#contact-list > li")).to_have_count(1)
    page.locator(f"#contact-row-{contact_id} a").click()
    expect(page.locator("#contact-card h2")).to_have_text("Dana Ross")
    expect(page.locator("#contact-rooms > li")).to_have_count(2)
    # opens their conversation
    page.locator(f"#contact-rooms a[href='/conversations/{room}']").click()
    expect(page).to_have_url(re.compile(f"/conversations/{room}$"))
    browser_kit.live(page)

    # inserts a canned reply: the name filled in
    box = page.locator("#reply-text")
    box.click()
    box.press_sequentially("/onit")
    expect(page.locator("#canned-list .canned-option")).to_have_count(1)
    box.press("Enter")
    expect(box).to_have_value("Thanks Dana, we are on it.")

    # schedules it for later
    page.click("#send-later summary")
    page.click("button[name=later][value='1h']")
    scheduled = page.locator("#timeline .item.st-scheduled", has_text="Thanks Dana, we are on it.")
    expect(scheduled).to_have_count(1)
    expect(scheduled.locator(".scheduled")).to_contain_text("Scheduled for")

    # snoozes the room until the customer replies
    page.click("#snooze-menu summary")
    page.click("#snooze-reply")
    expect(page.locator("#snoozed-note")).to_contain_text("until the customer replies")

    # merges the duplicate room (the email one) into this one
    page.goto(f"{server.url}/conversations/{duplicate}")
    page.click("#merge-menu summary")
    page.locator(f".merge-pick[data-id='{room}']").click()
    expect(page).to_have_url(re.compile(f"/conversations/{room}$"))
    expect(page.locator("#timeline")).to_contain_text("Order, again: any news?")
    browser_kit.live(page)

    # @mentions a teammate in a note
    page.click("label.note-tab")
    box.press_sequentially("Dana wrote twice, @acme-man")
    expect(page.locator("#mention-list [role=option]")).to_have_count(1)
    box.press("Enter")
    box.press_sequentially("please keep an eye on it")
    box.press("Control+Enter")
    expect(page.locator("#timeline li.item.note .mention").last).to_have_text("@acme-manager")

    # ... who sees it live
    expect(teammate.locator("#notif-count")).to_have_text(re.compile(r"^\s*1\b"), timeout=LIVE)
    teammate.click("#notif-toggle")
    told = teammate.locator("#notif-panel li.notif.unread")
    expect(told).to_contain_text("mentioned you")
    told.locator("a").click()
    expect(teammate).to_have_url(re.compile(rf"/conversations/{room}(#item-[0-9a-f-]+)?$"))

    # what the desk did is what the API says
    a = client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()
    assert a["snooze_until_reply"] is True
    b = client.get(f"/v1.0/conversations/{duplicate}", headers=tenant.admin).json()
    assert (b["merged_into"], b["status"]) == (room, "closed")
    messages = client.get(f"/v1.0/conversations/{room}/messages", headers=tenant.admin).json()
    mine = [m for m in messages["result"] if m["text"] == "Thanks Dana, we are on it."]
    assert [(m["status"], m["agent_id"]) for m in mine] == [("scheduled", tenant.agent_id)]


def test_through_the_api(server, tenant, client):
    contact_id, room, duplicate = _customer_with_a_duplicate_room(
        client, tenant, "+15557770002", "ezra@example.com", "Ezra"
    )
    canned = _canned(client, tenant, "onit2")
    agent = tenant.agent

    # finds the contact, and their conversations
    found = client.get("/v1.0/contacts", params={"q": "ezr"}, headers=agent).json()["result"]
    assert [c["id"] for c in found] == [contact_id]
    rooms = client.get(f"/v1.0/contacts/{contact_id}/conversations", headers=agent).json()
    assert room in {r["id"] for r in rooms["result"]}

    # the canned reply, filled for the room
    filled = client.post(
        f"/v1.0/canned_responses/{canned}/render", headers=agent, json={"conversation_id": room}
    )
    assert filled.status_code == 200, filled.text
    text = filled.json()["text"]
    assert text == "Thanks Ezra, we are on it."

    # scheduled for later
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = client.post(
        f"/v1.0/conversations/{room}/messages",
        headers=agent,
        json={"text": text, "scheduled_at": later},
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["status"], sent.json()["agent_id"]) == ("scheduled", tenant.agent_id)

    # snoozed until the customer replies
    snoozed = client.post(
        f"/v1.0/conversations/{room}/snooze", headers=agent, json={"until_reply": True}
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["snooze_until_reply"] is True

    # the duplicate merged into it
    merged = client.post(
        f"/v1.0/conversations/{room}/merge", headers=agent, json={"conversation_id": duplicate}
    )
    assert merged.status_code == 200, merged.text
    gone = client.get(f"/v1.0/conversations/{duplicate}", headers=agent).json()
    assert gone["merged_into"] == room
    texts = [
        m["text"]
        for m in client.get(f"/v1.0/conversations/{room}/messages", headers=agent).json()["result"]
    ]
    assert "Order, again: any news?" in texts and "Where is my order?" in texts

    # a teammate @mentioned in a note is notified
    note = client.post(
        f"/v1.0/conversations/{room}/notes",
        headers=agent,
        json={"text": "Ezra wrote twice, @acme-manager please keep an eye on it"},
    )
    assert note.status_code == 201, note.text
    told = client.get("/v1.0/notifications", headers=tenant.manager).json()["result"]
    assert [(n["type"], n["conversation_id"], n["read"]) for n in told] == [
        ("mention", room, False)
    ]
    # the author is not notified of their own note
    assert client.get("/v1.0/notifications", headers=agent).json()["result"] == []
