"""Canned replies and signatures in a real browser: `/` in the reply box opens the list,
the keyboard picks a reply and its variables are filled for the room (a customer's name
holding markup stays text); the signature preview follows the chosen channel; the
agent's own and the admins' shared replies are managed on their pages."""

from __future__ import annotations

import browser_kit
from conftest import inbound
from playwright.sync_api import Page, expect


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    browser_kit.sign_in(page, base, username, password, shows="#inbox-list", wait_live=True)


def test_slash_opens_the_list_and_the_keyboard_inserts_a_filled_reply(
    server, tenant, new_page, client
):
    sms = tenant.channel("message")
    room = inbound(
        sms, "+15559870001", "Where is my parcel?", peer_name="Dana <i>Ross</i>"
    ).conversation_id
    shared = {"shortcut": "thx", "name": "Thanks", "owner_id": None}
    text = "Thanks {{contact.first_name}}, {{agent.name}} here. {{unknown.var}}"
    assert (
        client.post(
            "/v1.0/canned_responses", headers=tenant.admin, json={**shared, "text": text}
        ).status_code
        == 201
    )
    mine = {
        "shortcut": "thxlong",
        "name": "Thanks, long",
        "text": "Dear {{contact.name}}, thank you.",
    }
    assert client.post("/v1.0/canned_responses", headers=tenant.agent, json=mine).status_code == 201
    client.put("/v1.0/me", headers=tenant.agent, json={"name": "Sam"})

    page = new_page()
    _sign_in(page, server.url, "acme-agent", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    box = page.locator("#reply-text")
    box.click()
    box.type("Hello! /thx")
    options = page.locator("#canned-list .canned-option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text(
        "/thx"
    )  # the agent's own first among equals? no: exact prefix order
    # the list shows the name filled and escaped: markup in a name is text
    expect(options.nth(0).locator(".canned-preview")).to_contain_text("Thanks Dana, Sam here.")
    expect(page.locator("#canned-list i")).to_have_count(0)
    # down to the second, up again, Enter inserts the first
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_class("canned-option active")
    box.press("ArrowUp")
    box.press("Enter")
    expect(page.locator("#canned-list")).to_have_count(0)
    expect(box).to_have_value("Hello! Thanks Dana, Sam here. {{unknown.var}}")
    expect(box).to_be_focused()  # Escape/Enter handled by the list, not desk.js

    # the second one, by the mouse: the whole name, markup as typed text
    box.fill("")
    box.type("/thxl")
    expect(options).to_have_count(1)
    options.first.click()
    expect(box).to_have_value("Dear Dana <i>Ross</i>, thank you.")
    # Escape closes the list and keeps the typed text
    box.fill("")
    box.type("/t")
    expect(options).to_have_count(2)
    box.press("Escape")
    expect(page.locator("#canned-list")).to_have_count(0)
    expect(box).to_have_value("/t")


def test_the_signature_preview_follows_the_channel(server, tenant, new_page, client):
    sms = tenant.channel("message")
    tenant.channel("email")  # an email account: the reply can go by email too
    room = inbound(sms, "+15559870002", "hi", peer_name="Eve").conversation_id
    r = client.post(
        f"/v1.0/conversations/{room}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": "eve@example.com"},
    )
    assert r.status_code in (200, 201), r.text
    client.put("/v1.0/me", headers=tenant.agent, json={"signature": "Sam · Acme <support>"})

    page = new_page()
    _sign_in(page, server.url, "acme-agent", tenant.password)
    page.goto(f"{server.url}/conversations/{room}")
    preview = page.locator("#signature-preview")
    picker = page.locator("#channel-picker")
    expect(picker.locator("option")).to_have_count(2)
    expect(preview).to_be_hidden()  # SMS first (the customer wrote by SMS): off
    picker.select_option(label="via Email · eve@example.com")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Will be appended: Sam · Acme <support>")
    page.locator("label.note-tab").click()
    expect(preview).to_be_hidden()  # notes get no signature
    page.locator("label.tab:not(.note-tab)").click()
    expect(preview).to_be_visible()
    # sent by email: stored with the signature, shown in the timeline
    page.locator("#reply-text").fill("On its way.")
    page.locator("#send").click()
    expect(page.locator("#timeline")).to_contain_text("On its way.")
    expect(page.locator("#timeline")).to_contain_text("Sam · Acme <support>")
    picker.select_option(index=0)
    expect(preview).to_be_hidden()


def test_agents_and_admins_manage_their_replies_on_their_pages(server, tenant, new_page):
    page = new_page()
    _sign_in(page, server.url, "acme-admin", tenant.password)
    page.goto(f"{server.url}/admin/canned")
    expect(page.locator("h1")).to_have_text("Shared canned replies")
    page.fill("#shortcut", "Hello")
    page.fill("#canned-name", "Greeting")
    page.fill("#canned-text", "Hello {{contact.name}}")
    page.click("#create-canned")
    expect(page.locator("#saved")).to_contain_text("/hello")
    expect(page.locator("#canned-table")).to_contain_text("Greeting")
    # the same shortcut again: the form says why and keeps what was typed
    page.fill("#shortcut", "hello")
    page.fill("#canned-text", "again")
    page.click("#create-canned")
    expect(page.locator("#form-error")).to_contain_text("already used")
    expect(page.locator("#canned-text")).to_have_value("again")

    agent = new_page()
    _sign_in(agent, server.url, "acme-agent", tenant.password)
    agent.goto(f"{server.url}/canned")
    expect(agent.locator("h1")).to_have_text("My canned replies")
    expect(agent.locator("#no-replies")).to_be_visible()  # shared ones are not listed as mine
    agent.fill("#shortcut", "bye")
    agent.fill("#canned-text", "Bye!")
    agent.click("#create-canned")
    item = agent.locator("#canned-table .canned-item")
    expect(item).to_have_count(1)
    item.locator("summary").click()
    item.locator("textarea[name=text]").fill("Goodbye!")
    item.locator("button.primary").click()
    expect(agent.locator("#canned-table")).to_contain_text("Goodbye!")
    agent.locator("#canned-table summary").click()
    agent.locator(".canned-delete button").click()
    expect(agent.locator("#no-replies")).to_be_visible()
    # an agent cannot open the shared replies' admin page
    response = agent.goto(f"{server.url}/admin/canned")
    assert response is not None and response.status == 403
