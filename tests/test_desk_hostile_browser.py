"""The desk under bad input and changing ground, in a real browser (Chromium) against a
real server: refusals come as toasts that keep the composer's text, stay clear of Send and
go away; sending while disconnected says so; long names and addresses stay inside the
layout; live pushes never aim at a missing element; and a room reassigned away from an
agent tells them at once."""

from __future__ import annotations

import re

import browser_kit
from browser_kit import live
from conftest import LIVE_MS, inbound
from playwright.sync_api import Page, expect

LIVE = LIVE_MS * 2


def sign_in(page: Page, base: str, username: str, password: str, start: str = "/") -> None:
    page.set_default_timeout(15000)
    browser_kit.sign_in(page, base, username, password, start, wait_live=True)


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).bounding_box()
    assert found, selector
    return found


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def watch(page: Page) -> dict[str, list]:
    """The console's messages and any 5xx answer, for the whole test."""
    seen: dict[str, list] = {"console": [], "server_errors": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.on(
        "response",
        lambda r: seen["server_errors"].append(f"{r.status} {r.url}") if r.status >= 500 else None,
    )
    return seen


def test_refusals_are_toasts_that_keep_the_text_and_get_out_of_the_way(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    page = new_page()
    seen = watch(page)
    sign_in(page, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    toast = page.locator("#alerts .toast")

    # a 25,000-character reply: the API's rule in plain words, and the text is kept
    long_text = "word " * 5000
    page.fill("#reply-text", long_text)
    page.click("#send")
    expect(toast).to_have_text("The message can be at most 20,000 characters.")
    assert page.input_value("#reply-text") == long_text
    assert not overlaps(box(page, "#alerts .toast"), box(page, "#send"))
    toast.click()  # dismissed on click
    expect(toast).to_have_count(0)

    # NUL in a form field: refused by name, nothing saved; the toast goes by itself
    page.fill("#tags", "vip, a\u0000b")
    page.click("#context button:has-text('Save tags')")
    expect(toast).to_contain_text(
        "Tags cannot contain the character U+0000; remove it and try again."
    )
    expect(toast).to_have_count(0, timeout=9000)
    assert page.request.get(f"{server.url}/v1.0/conversations/{room}").json()["tags"] == []

    # refused, then sent: the toast clears and the composer empties
    page.click("#send")
    expect(toast).to_be_visible()
    page.fill("#reply-text", "Shorter, then.")
    page.click("#send")
    expect(page.locator("#timeline .item.outbound", has_text="Shorter, then.")).to_have_count(1)
    expect(toast).to_have_count(0)
    expect(page.locator("#reply-text")).to_have_value("")
    assert seen["server_errors"] == []
    assert not [m for m in seen["console"] if "oobErrorNoTarget" in m]


def test_sending_while_disconnected_says_so_and_keeps_the_text(server, tenant, new_page):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    page.context.set_offline(True)
    page.fill("#reply-text", "Are you still there?")
    page.click("#send")
    expect(page.locator("#alerts .toast")).to_have_text("Not connected — your message was not sent")
    expect(page.locator("#reply-text")).to_have_value("Are you still there?")
    page.context.set_offline(False)
    live(page)
    page.click("#send")
    expect(page.locator("#timeline .item.outbound", has_text="Are you still there?")).to_have_count(
        1, timeout=LIVE
    )
    api = page.request.get(f"{server.url}/v1.0/conversations/{room}/messages").json()
    assert [m["text"] for m in api["result"]].count("Are you still there?") == 1


def test_long_names_and_addresses_stay_inside_the_layout(server, tenant, new_page, client):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "hi").conversation_id
    long_name = "Maximiliana Bartholomew-Featherstonehaugh " * 6
    made = client.post(
        "/v1.0/agents",
        headers=tenant.admin,
        json={"username": "long-name", "password": tenant.password, "name": long_name.strip()},
    )
    assert made.status_code == 201, made.text
    client.put(
        f"/v1.0/conversations/{room}", headers=tenant.admin, json={"owner_id": made.json()["id"]}
    )
    address = "a.very.long.mailbox.name.for.testing.layouts@" + "sub." * 12 + "example.com"
    added = client.post(
        f"/v1.0/conversations/{room}/participants",
        headers=tenant.admin,
        json={"type": "email", "target": address},
    )
    assert added.status_code in (200, 201), added.text
    inbound(tenant.channel("email", address="help@acme.example"), address, "from email")

    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    select, panel = box(page, "#assignee"), box(page, ".context-col")
    assert select["x"] + select["width"] <= panel["x"] + panel["width"] + 0.5
    expect(page.locator("#assignee option:checked")).to_contain_text("Maximiliana")

    phone = new_page(390, 844)
    sign_in(phone, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    expect(phone.locator("#channel-picker")).to_be_visible()
    expect(phone.locator("#channel-picker option:checked")).to_contain_text(address)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_live_pushes_never_aim_at_a_missing_element(server, tenant, new_page, client):
    sms = tenant.channel("message")
    mine = inbound(sms, "+15550000001", "open one").conversation_id
    other = inbound(sms, "+15550000002", "other").conversation_id
    page = new_page()
    seen = watch(page)
    # the active rooms only, with one of them open
    sign_in(page, server.url, "acme-admin", tenant.password, f"/conversations/{mine}?status=active")
    rows = page.locator("#inbox-list .row")
    expect(rows).to_have_count(2)

    inbound(sms, "+15550000001", "into the open room")  # appended to the timeline
    expect(page.locator("#timeline")).to_contain_text("into the open room", timeout=LIVE)
    fresh = inbound(sms, "+15550000003", "someone new").conversation_id  # a new row on top
    expect(page.locator(f"#row-{fresh}")).to_be_visible(timeout=LIVE)
    client.put(f"/v1.0/conversations/{other}", headers=tenant.admin, json={"status": "closed"})
    expect(page.locator(f"#row-{other}")).to_have_count(0, timeout=LIVE)  # left the view
    client.put(f"/v1.0/conversations/{other}", headers=tenant.admin, json={"tags": ["late"]})
    client.put(f"/v1.0/conversations/{other}", headers=tenant.admin, json={"status": "active"})
    expect(page.locator(f"#row-{other}")).to_be_visible(timeout=LIVE)  # back, from nowhere
    page.fill("#reply-text", "answered here")  # the form's answer is placed the same way
    page.click("#send")
    expect(page.locator("#timeline .item.outbound", has_text="answered here")).to_have_count(1)
    expect(page.locator("#timeline .item.outbound", has_text="answered here")).to_have_count(
        1, timeout=LIVE
    )
    assert page.locator(f"#row-{mine}.current").count() == 1
    assert page.locator("#live-updates > *").count() == 0
    assert not [m for m in seen["console"] if "oobErrorNoTarget" in m or "htmx:" in m], seen
    assert seen["server_errors"] == []


def test_a_room_reassigned_away_from_an_agent_tells_them_at_once(server, tenant, new_page, client):
    sms = tenant.channel("message")
    room = inbound(sms, "+15559876543", "who takes this?").conversation_id
    sam = client.post(
        "/v1.0/agents",
        headers=tenant.admin,
        json={"username": "sam", "password": tenant.password, "name": "Sam"},
    ).json()["id"]
    agent, admin = new_page(), new_page()
    sign_in(agent, server.url, "acme-agent", tenant.password, f"/conversations/{room}")
    sign_in(admin, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    expect(admin.locator("#viewers")).to_contain_text("acme-agent", timeout=LIVE)
    agent.fill("#reply-text", "a draft I was writing")

    moved = client.put(f"/v1.0/conversations/{room}", headers=tenant.admin, json={"owner_id": sam})
    assert moved.status_code == 200, moved.text
    expect(agent.locator("#room-header")).to_have_text(
        re.compile("This conversation was assigned to Sam and is no longer visible to you"),
        timeout=LIVE,
    )
    expect(agent.locator("#send")).to_be_disabled()
    expect(agent.locator("#reply-text")).not_to_be_editable()
    expect(agent.locator("#reply-text")).to_have_value("a draft I was writing")
    expect(agent.locator("#assignee")).to_be_disabled()
    expect(agent.locator(f"#row-{room}")).to_have_count(0)
    expect(admin.locator("#viewers")).not_to_contain_text("acme-agent", timeout=LIVE)

    # the admin may still see it: it stays live there, and nothing more reaches the agent
    inbound(sms, "+15559876543", "Sam, are you there?")
    expect(admin.locator("#timeline")).to_contain_text("Sam, are you there?", timeout=LIVE)
    expect(admin.locator("#assignee option:checked")).to_contain_text("Sam")
    assert "Sam, are you there?" not in agent.content()


def test_a_talk_left_under_an_agent_locks_its_composer(server, tenant, new_page, client):
    made = client.post(
        "/v1.0/talks",
        headers=tenant.admin,
        json={"type": "group", "name": "ops", "participant_ids": [tenant.agent_id]},
    )
    assert made.status_code == 201, made.text
    talk = made.json()
    page = new_page()
    sign_in(page, server.url, "acme-agent", tenant.password, f"/talks/{talk['id']}")
    page.fill("#talk-composer textarea", "half a thought")
    mine = next(p for p in talk["participants"] if p["agent_id"] == tenant.agent_id)
    removed = client.delete(
        f"/v1.0/talks/{talk['id']}/participants/{mine['id']}", headers=tenant.admin
    )
    assert removed.status_code == 200, removed.text
    expect(page.locator("#talk-header")).to_contain_text(
        "You are no longer in this talk", timeout=LIVE
    )
    expect(page.locator("#talk-composer button[type=submit]")).to_be_disabled()
    expect(page.locator("#talk-composer textarea")).to_have_value("half a thought")
    expect(page.locator(f"#talkrow-{talk['id']}")).to_have_count(0)
