"""The Contacts page in a real browser (Chromium via Playwright) against a real server:
search, open a profile with every conversation across channels, edit it, add an address,
and see another agent's change live; the room's context panel links to its contact."""

from __future__ import annotations

import re

import browser_kit
from browser_kit import live
from conftest import LIVE_MS, inbound
from playwright.sync_api import Page, expect

LIVE = LIVE_MS * 2


def sign_in(page: Page, base: str, username: str, password: str, start: str = "/contacts") -> None:
    page.set_default_timeout(15000)
    browser_kit.sign_in(
        page, base, username, password, start, shows="#contact-list", wait_live=True
    )


def test_find_a_contact_see_their_conversations_and_edit_them(server, tenant, client, new_page):
    sms, email = tenant.channel("message"), tenant.channel("email")
    by_sms = inbound(sms, "+15556060606", "my order is late")
    contact_id = client.get(
        f"/v1.0/conversations/{by_sms.conversation_id}", headers=tenant.admin
    ).json()["contact_ids"][0]
    client.put(
        f"/v1.0/contacts/{contact_id}",
        headers=tenant.admin,
        json={"first_name": "Nora", "last_name": "Quist", "notes": "<script>alert(1)</script>"},
    )
    client.post(
        f"/v1.0/contacts/{contact_id}/addresses",
        headers=tenant.admin,
        json={"type": "email", "target": "nora@q.example"},
    )
    inbound(email, "nora@q.example", "same person, by mail", topic="Order 42")
    client.post("/v1.0/contacts", headers=tenant.admin, json={"first_name": "Otto"})

    page = new_page()
    sign_in(page, server.url, "acme-agent", tenant.password)
    expect(page.locator("#nav-contacts")).to_have_class(re.compile("active"))
    expect(page.locator("#contact-list > li")).to_have_count(2)
    # search: a word of the name (any case)
    page.fill("#contact-q", "QUI")
    page.press("#contact-q", "Enter")
    expect(page.locator("#contact-list > li")).to_have_count(1)
    page.locator(f"#contact-row-{contact_id} a").click()
    expect(page).to_have_url(re.compile(f"/contacts/{contact_id}$"))
    live(page)
    card = page.locator("#contact-card")
    expect(card.locator("h2")).to_have_text("Nora Quist")
    expect(card.locator("#contact-addresses")).to_contain_text("+15556060606")
    expect(card.locator("#contact-addresses")).to_contain_text("nora@q.example")
    rooms = card.locator("#contact-rooms > li")
    expect(rooms).to_have_count(2)
    expect(card.locator("#contact-rooms")).to_contain_text("Order 42")
    expect(card.locator("#contact-rooms .chip.status-active")).to_have_count(2)
    expect(card.locator("textarea[name=notes]")).to_have_value("<script>alert(1)</script>")

    # edit: the form saves, the page shows it
    page.fill("#contact-edit input[name=company]", "Quist & Co")
    page.click("#contact-edit button[type=submit]")
    expect(card.locator("header")).to_contain_text("Quist & Co")
    # add an address
    page.select_option("#add-address select[name=type]", "tel")
    page.fill("#add-address input[name=target]", "+15556060607")
    page.click("#add-address button[type=submit]")
    expect(card.locator("#contact-addresses")).to_contain_text("+15556060607")

    # another agent renames the contact: the profile and the list follow live
    live(page)
    client.put(f"/v1.0/contacts/{contact_id}", headers=tenant.admin, json={"display_name": "N. Q."})
    expect(card.locator("h2")).to_have_text("N. Q.", timeout=LIVE)

    # the room's panel links to the contact
    page.goto(f"{server.url}/conversations/{by_sms.conversation_id}")
    page.locator("#context a.contact-link").first.click()
    expect(page).to_have_url(re.compile(f"/contacts/{contact_id}$"))
    expect(page.locator("#contact-card h2")).to_have_text("N. Q.")
