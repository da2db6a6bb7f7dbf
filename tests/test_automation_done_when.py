"""Automation, the whole story, in Chromium (Playwright) against a real server: an admin
creates "email to billing → Billing team, high priority" and "no agent reply in 30
business minutes → notify the team lead and tag escalated" on Admin → Automation,
previews both against last week's rooms, enables them, and watches them act — each action
explained in the room and in the audit log.

The time rule's 30 minutes are the test's: the automation worker's round comes at the
time the test chooses (`_round_at`), as it would come by itself half an hour later. The
Billing team's calendar is open around the clock, so its business minutes are the
clock's; tests/test_automation_timers.py counts closed hours out. Everything else — the
forms, the emails, the pages — goes the product's own way."""

from __future__ import annotations

from datetime import timedelta

import browser_kit
from conftest import LIVE_MS, inbound, run_async, tell_servers
from db_kit import sql
from playwright.sync_api import Page, expect

from app.automation import engine as automation
from app.domain.timefmt import now

EVERY_DAY = [{"day": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def _round_at(db_url: str, minutes_later: int) -> int:
    """The automation worker's round `minutes_later` from now, then a notice on the bus
    so the server's desk sockets read its events at once."""
    from app.automation import timers

    acted = run_async(timers.fire_due(at=now() + timedelta(minutes=minutes_later)))
    tell_servers("", "automation", db_url)
    return acted


def _new_rule(page: Page, name: str) -> None:
    page.click("#add-rule")
    page.fill("#name", name)


def _save(page: Page, client, tenant, name: str) -> str:
    page.click("#save")
    rules = client.get("/v1.0/automation_rules", headers=tenant.admin).json()["result"]
    [rule] = [r for r in rules if r["name"] == name]
    expect(page.locator(f"#rule-{rule['id']}")).to_be_visible()
    return rule["id"]


def test_billing_mail_routed_and_a_silent_room_escalated(server, tenant, new_page, client, db_url):
    # the desk as it was last week: a Billing team led by the manager, two mailboxes
    billing = tenant.channel("email", address="billing@acme.example")
    support = tenant.channel("email", address="support@acme.example")
    hours = client.post(
        "/v1.0/business_hours",
        headers=tenant.admin,
        json={"name": "Billing desk", "time_zone": "UTC", "periods": EVERY_DAY},
    ).json()
    team = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={
            "name": "Billing",
            "agent_ids": [tenant.manager_id],
            "business_hours_id": hours["id"],
        },
    ).json()
    invoice = inbound(billing, "ann@customer.example", "Invoice #77 is wrong").conversation_id
    hello = inbound(support, "bob@customer.example", "Do you ship to Oslo?").conversation_id
    sql(
        db_url,
        "UPDATE conversations SET tm_create = tm_create - interval '3 days' WHERE id = ANY($1)",
        [invoice, hello],
    )

    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-admin", tenant.password, "/admin/automation", shows="#no-rules"
    )
    # 1. email to billing → the Billing team, high priority
    _new_rule(page, "Email to billing")
    page.select_option("#trigger", "conversation_created")
    condition = page.locator(".cond-row").first
    condition.locator(".cond-field").select_option("account_id")
    condition.locator("[data-input=account]").select_option(str(billing.id))
    first = page.locator(".act-row").first
    first.locator(".act-type").select_option("move_team")
    first.locator("[data-input=team]").select_option(team["id"])
    page.click("#add-action")
    second = page.locator(".act-row").nth(1)
    second.locator(".act-type").select_option("set_priority")
    second.locator("[data-input=priority]").select_option("high")
    to_billing = _save(page, client, tenant, "Email to billing")

    # 2. no agent reply in 30 business minutes → notify the lead, tag escalated
    _new_rule(page, "Silent for 30 minutes")
    page.select_option("#trigger", "no_agent_reply")
    page.fill("#trigger_minutes", "30")
    page.locator(".cond-row").first.locator(".remove-row").click()
    expect(page.locator(".cond-row")).to_have_count(0)
    first = page.locator(".act-row").first
    first.locator(".act-type").select_option("notify")
    first.locator("[data-input=notify]").select_option([tenant.manager_id])
    page.click("#add-action")
    page.locator(".act-row").nth(1).locator("[data-input=tags]").fill("escalated")
    silent = _save(page, client, tenant, "Silent for 30 minutes")
    expect(page.locator(f"#rule-{silent}")).to_contain_text("No agent reply for 30 min")

    # both previewed against last week's rooms: nothing changes
    for rule_id, matching in ((to_billing, [invoice]), (silent, [invoice, hello])):
        page.locator(f"#rule-{rule_id} select[name=sample]").select_option("week")
        page.click(f"#preview-{rule_id}")
        for room_id in (invoice, hello):
            found = page.locator(f".preview-match[data-id='{room_id}']")
            expect(found).to_have_count(1 if room_id in matching else 0)
    expect(page.locator(f".preview-match[data-id='{invoice}']")).to_contain_text(
        "Added tag escalated"
    )
    assert client.get(f"/v1.0/conversations/{invoice}", headers=tenant.admin).json()["tags"] == []

    # enabled; this process takes mail in as a worker process does, rules and all
    browser_kit.live(page)
    for rule_id in (to_billing, silent):
        page.click(f"#active-{rule_id}")
        expect(page.locator(f"#active-{rule_id}")).to_have_attribute("aria-checked", "true")
    automation.install()
    mail = inbound(billing, "carol@customer.example", "Please refund order 12").conversation_id
    routed = client.get(f"/v1.0/conversations/{mail}", headers=tenant.admin).json()
    assert routed["team_id"] == team["id"] and routed["priority"] == "high"
    other = inbound(support, "dan@customer.example", "Hi there").conversation_id
    assert (
        client.get(f"/v1.0/conversations/{other}", headers=tenant.admin).json()["team_id"] is None
    )

    page.goto(f"{server.url}/conversations/{mail}")
    browser_kit.live(page)
    lines = page.locator("#timeline .item.system")
    expect(lines.last).to_contain_text(
        "Rule 'Email to billing' moved the conversation to Billing, set priority high"
    )
    expect(page.locator("#room-priority")).to_have_value("high")

    # half an hour without an agent's reply: the worker's round escalates the room, live
    assert _round_at(db_url, 29) == 0
    assert _round_at(db_url, 31) == 4  # every room still waiting for an agent
    expect(page.locator("#room-header")).to_contain_text("#escalated", timeout=LIVE_MS)
    expect(lines.last).to_contain_text(
        "Rule 'Silent for 30 minutes' notified acme-manager, added tag escalated"
    )
    assert _round_at(db_url, 60) == 0  # once per turn
    told = client.get("/v1.0/notifications", headers=tenant.manager).json()["result"]
    assert {n["conversation_id"] for n in told if n["type"] == "automation"} == {
        invoice,
        hello,
        mail,
        other,
    }

    # the runs, and the audit log, say what each rule did
    page.goto(f"{server.url}/admin/automation/{silent}/runs")
    expect(page.locator("#rule-runs tbody tr")).to_have_count(4)
    page.goto(f"{server.url}/admin/audit?action=automation_rule.executed")
    entries = page.locator("#audit-table .audit-entry")
    expect(entries).to_have_count(5)  # the billing mail's move, and four escalations
    expect(entries.first).to_contain_text("automation_rule.executed")
