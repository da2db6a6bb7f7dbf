"""Automation in a real browser (Chromium, Playwright) against the session's server: an
admin builds a rule from rows on Admin → Automation, previews it on rooms made before,
switches it on, and a customer's message then makes it act while the desk watches; a
macro applied from a room's Macros menu (by click and by the `m` key) and from the inbox's
bulk bar to several rooms."""

from __future__ import annotations

import browser_kit
from conftest import LIVE_MS, inbound
from playwright.sync_api import expect

from app.automation import engine as automation


def test_an_admin_builds_previews_and_enables_a_rule_that_then_acts_live(
    server, tenant, new_page, client
):
    sms = tenant.channel("message")
    asked = inbound(sms, "+15550106001", "I want a refund for order 7").conversation_id
    quiet = inbound(sms, "+15550106002", "hello").conversation_id
    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-admin", tenant.password, "/admin/automation", shows="#no-rules"
    )
    expect(page.locator("#admin-menu-automation")).to_have_attribute("aria-current", "page")
    page.click("#add-rule")
    page.fill("#name", "Refunds first")
    expect(page.locator("#minutes-field")).to_be_hidden()
    page.select_option("#trigger", "no_agent_reply")  # a time trigger asks for its minutes
    expect(page.locator("#minutes-field")).to_be_visible()
    page.select_option("#trigger", "message_received")
    expect(page.locator("#minutes-field")).to_be_hidden()

    condition = page.locator(".cond-row").first
    condition.locator("[data-input=text]").fill("refund")
    # the operator list follows the field: priority takes no "contains"
    condition.locator(".cond-field").select_option("priority")
    expect(condition.locator("[data-input=priority]")).to_be_visible()
    expect(condition.locator("[data-input=text]")).to_be_hidden()
    expect(condition.locator(".cond-operator")).to_have_value("equals")
    condition.locator(".cond-field").select_option("text")
    condition.locator(".cond-operator").select_option("contains")
    expect(condition.locator("[data-input=text]")).to_have_value("refund")

    first = page.locator(".act-row").first
    first.locator(".act-type").select_option("set_priority")
    expect(first.locator("[data-input=tags]")).to_be_hidden()
    first.locator("[data-input=priority]").select_option("high")
    page.click("#add-action")
    expect(page.locator(".act-row")).to_have_count(2)
    page.locator(".act-row").nth(1).locator("[data-input=tags]").fill("refund")
    page.click("#add-action")  # one too many: removed again
    page.locator(".act-row").nth(2).locator(".remove-row").click()
    expect(page.locator(".act-row")).to_have_count(2)
    page.click("#save")

    rule_id = client.get("/v1.0/automation_rules", headers=tenant.admin).json()["result"][0]["id"]
    row = page.locator(f"#rule-{rule_id}")
    expect(row).to_contain_text("A customer message arrives")
    expect(row).to_contain_text("Message text contains “refund”")
    expect(row).to_contain_text("Set priority high")
    expect(row).to_contain_text("Added tag refund")
    expect(page.locator(f"#active-{rule_id}")).to_have_attribute("aria-checked", "false")

    page.click(f"#preview-{rule_id}")
    summary = page.locator("#preview-summary")
    expect(summary).to_contain_text("1 of the 2 latest conversations match")
    expect(page.locator(f".preview-match[data-id='{asked}']")).to_contain_text("Set priority high")
    expect(page.locator(f".preview-match[data-id='{quiet}']")).to_have_count(0)
    # the switch posts with htmx: the list comes back by the socket, as does a rule (and a
    # shared macro) another admin makes meanwhile
    browser_kit.live(page)
    page.click(f"#active-{rule_id}")
    expect(page.locator(f"#active-{rule_id}")).to_have_attribute("aria-checked", "true")
    other = {"name": "Closed means done", "trigger": "conversation_updated",
             "actions": [{"type": "add_tags", "value": ["done"]}]}  # fmt: skip
    assert client.post("/v1.0/automation_rules", headers=tenant.admin, json=other).is_success
    expect(page.locator("#automation-rules tbody tr")).to_have_count(2, timeout=LIVE_MS)
    expect(page.locator("#rule-count")).to_have_text("2")
    macro = {"name": "Hand to billing", "owner_id": None,
             "actions": [{"type": "add_tags", "value": ["billing"]}]}  # fmt: skip
    assert client.post("/v1.0/macros", headers=tenant.admin, json=macro).is_success
    expect(page.locator("#shared-macros")).to_contain_text("Hand to billing", timeout=LIVE_MS)

    # the quiet room is open on the desk when its customer asks for a refund; this process
    # takes the message in as a worker process does, running the rules in its transaction
    automation.install()
    page.goto(f"{server.url}/conversations/{quiet}")
    browser_kit.live(page)
    inbound(sms, "+15550106002", "actually, can I get a refund?")
    header = page.locator("#room-header")
    expect(header).to_contain_text("#refund", timeout=LIVE_MS)
    expect(page.locator("#room-priority")).to_have_value("high")
    expect(page.locator("#timeline .item.system").last).to_contain_text(
        "Rule 'Refunds first' set priority high, added tag refund"
    )
    expect(page.locator(f"#row-{quiet} .prio-high")).to_be_visible()

    page.goto(f"{server.url}/admin/automation/{rule_id}/runs")
    runs = page.locator("#rule-runs tbody tr")
    expect(runs).to_have_count(1)
    expect(runs).to_contain_text("✓ Set priority high")
    expect(runs.locator(f"a[href='/conversations/{quiet}']")).to_be_visible()


def test_a_macro_from_the_room_menu_the_m_key_and_the_bulk_bar(server, tenant, new_page, client):
    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555010700{i}", f"parcel {i}").conversation_id for i in range(4)]
    r = client.post(
        "/v1.0/macros",
        headers=tenant.admin,
        json={"name": "Escalate", "owner_id": None, "actions": [
            {"type": "set_priority", "value": "urgent"},
            {"type": "add_tags", "value": ["escalated"]},
        ]},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    macro = r.json()
    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-agent", tenant.password, f"/conversations/{rooms[0]}",
        shows="#room-header", wait_live=True,
    )  # fmt: skip

    menu = page.locator("#macro-menu")
    expect(menu.locator("summary")).to_have_attribute("title", "Apply a macro (m)")
    menu.locator("summary").click()
    menu.locator(f".macro-pick[data-id='{macro['id']}']").click()
    expect(page.locator("#macro-result")).to_contain_text(
        "Macro applied: set priority urgent, added tag escalated"
    )
    expect(page.locator("#room-header")).to_contain_text("#escalated", timeout=LIVE_MS)
    expect(page.locator("#room-priority")).to_have_value("urgent")
    expect(menu).not_to_have_attribute("open", "")

    # the keyboard: m opens the menu with its first macro focused, Enter applies it
    page.goto(f"{server.url}/conversations/{rooms[1]}")
    browser_kit.live(page)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("m")
    expect(page.locator(f"#macro-menu .macro-pick[data-id='{macro['id']}']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#room-header")).to_contain_text("#escalated", timeout=LIVE_MS)

    # the bulk bar: the two rooms left, ticked and given the macro at once
    page.goto(f"{server.url}/?view=unassigned")
    browser_kit.live(page)
    for room_id in rooms[2:]:
        page.locator(f"#row-{room_id} .row-check").click()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.select_option("#bulk-macro", label="Escalate")
    page.click("#bulk-apply-macro")
    expect(page.locator("#bulk-result")).to_contain_text("2 conversations changed by the macro.")
    for room_id in rooms[2:]:
        expect(page.locator(f"#row-{room_id} .prio-urgent")).to_be_visible(timeout=LIVE_MS)
    for room_id in rooms:
        room = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin).json()
        assert room["priority"] == "urgent" and room["tags"] == ["escalated"], room_id
