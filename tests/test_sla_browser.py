"""SLA in a real browser: an admin sets a policy on `/admin/sla` (15 business minutes for
a first response on urgent rooms), and the inbox row of an urgent room shows its
countdown, turns amber at the warning and red at the breach, live, as the worker's rounds
come (driven here at the times the test chooses); the SLA filter then lists it alone, and
the room's side panel explains the breach interval by interval."""

from __future__ import annotations

from datetime import timedelta

import browser_kit
from conftest import LIVE_MS, inbound, run_async
from playwright.sync_api import expect


def _rounds_at(db_url: str, minutes: float, since) -> None:
    """The SLA worker's round at `since` + `minutes`, then a notice on the bus so the
    server's desk sockets read the events at once (they would within a second anyway)."""
    from app.core import bus
    from app.sla import worker

    async def go():
        await worker.fire_due(at=since + timedelta(minutes=minutes))
        publisher = bus.PostgresPublisher(db_url)
        await publisher({"id": 0, "customer_id": "", "type": "sla"})
        await publisher.close()

    run_async(go())


def test_an_admin_sets_a_policy_and_the_inbox_badge_goes_amber_then_red_live(
    server, tenant, new_page, client, db_url
):
    page = new_page()
    browser_kit.sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/sla")
    expect(page.locator("#no-policies")).to_be_visible()
    page.click("#add-policy")
    page.fill("#name", "Urgent")
    page.select_option("#priority", "urgent")
    page.click("#save")  # no target yet: refused in words, nothing typed is lost
    expect(page.locator("#form-error")).to_contain_text("at least one target")
    expect(page.locator("#name")).to_have_value("Urgent")
    page.fill("#first_response_minutes", "15")
    page.click("#save")
    row = page.locator("#sla-policies tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("Urgent")
    expect(row.first.locator("[data-field=first_response_minutes]")).to_have_text("15 min")
    [policy] = client.get("/v1.0/sla_policies", headers=tenant.admin).json()["result"]
    assert (policy["priority"], policy["first_response_minutes"]) == ("urgent", 15)

    sms = tenant.channel()
    urgent = inbound(sms, "+15559870101", "The site is down!").conversation_id
    calm = inbound(sms, "+15559870102", "A question, no hurry").conversation_id
    r = client.put(
        f"/v1.0/conversations/{urgent}", headers=tenant.admin, json={"priority": "urgent"}
    )
    assert r.status_code == 200, r.text
    due = r.json()["sla"]["due"]
    from app.domain.timefmt import parse

    started = parse(due) - timedelta(minutes=15)

    page.goto(server.url + "/")
    browser_kit.live(page)
    badge = page.locator(f"#row-{urgent} .sla-badge")
    expect(badge).to_have_class("sla-badge sla-running")
    expect(badge.locator(".sla-left")).to_have_text("14m")
    expect(page.locator(f"#row-{calm} .sla-badge")).to_have_count(0)  # no policy for it

    _rounds_at(db_url, 13, started)
    expect(badge).to_have_class("sla-badge sla-warning", timeout=LIVE_MS)
    _rounds_at(db_url, 16, started)
    expect(badge).to_have_class("sla-badge sla-breached", timeout=LIVE_MS)

    # the filter: breached rooms only
    page.select_option("#filter-sla", "breached")
    expect(page.locator("#inbox-list .row")).to_have_count(1)
    expect(page.locator(f"#row-{urgent}")).to_be_visible()
    # the room's side panel explains it, interval by interval
    page.goto(f"{server.url}/conversations/{urgent}")
    panel = page.locator("#room-sla")
    expect(panel.locator(".sla-badge")).to_have_text("breached")
    panel.locator("summary").click()
    clock = panel.locator(".sla-clock[data-kind=first_response]")
    expect(clock).to_contain_text("target 15 min")
    expect(clock.locator(".sla-intervals li")).to_have_count(1)
    expect(clock.locator(".sla-intervals li").first).to_contain_text("counted")
    r = client.get(f"/v1.0/conversations/{urgent}/sla", headers=tenant.admin)
    assert [c["status"] for c in r.json()["result"]] == ["breached"]
