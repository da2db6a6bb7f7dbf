"""Other agents' availability is live on the admin pages (Debian's Chromium driven by
Playwright against a real server): the Agents page's row and the Teams page's online
count follow an agent's `PUT /v1.0/me/availability` without a reload — pushed by the
desk socket, not polled; and so does the agent's mark in a room's assign menu."""

from __future__ import annotations

from browser_kit import live, sign_in
from conftest import inbound
from playwright.sync_api import expect


def _set_availability(client, headers: dict, availability: str) -> None:
    r = client.put("/v1.0/me/availability", headers=headers, json={"availability": availability})
    assert r.status_code == 200, r.text
    assert r.json()["availability"] == availability


def test_the_agents_page_shows_another_agents_availability_live(server, tenant, new_page, client):
    _set_availability(client, tenant.agent, "offline")
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/agents")
    live(page)
    # nothing polls any more: the table is the page's, kept by pushes
    assert page.locator("[hx-trigger*='every']").count() == 0
    row = page.locator(f"#agent-{tenant.agent_id}")
    expect(row.locator(".availability")).to_contain_text("offline")
    page.evaluate("document.getElementById('agent-table').dataset.loaded = 'yes'")

    _set_availability(client, tenant.agent, "online")
    expect(row.locator(".availability")).to_contain_text("online", timeout=5000)
    expect(row.locator(".availability .chip")).to_have_class("chip avail-online")
    _set_availability(client, tenant.agent, "away")
    expect(row.locator(".availability")).to_contain_text("away", timeout=5000)
    expect(row.locator(".avatar")).to_have_class("avatar avail-away")

    # an admin's change of the agent (agent_updated) is pushed too; the admin's own row
    # still says "(you)"
    r = client.put(f"/v1.0/agents/{tenant.agent_id}", headers=tenant.admin, json={"name": "Sam"})
    assert r.status_code == 200, r.text
    expect(row.locator(".person-name")).to_have_text("Sam", timeout=5000)
    expect(page.locator(f"#agent-{tenant.admin_id} .person-name")).to_contain_text("(you)")
    # the same page all along (no reload), still live
    assert page.evaluate("document.getElementById('agent-table').dataset.loaded") == "yes"
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def test_the_teams_page_shows_each_teams_online_count_live(server, tenant, new_page, client):
    _set_availability(client, tenant.agent, "offline")
    _set_availability(client, tenant.manager, "offline")
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Support", "agent_ids": [tenant.agent_id, tenant.manager_id]},
    )
    assert r.status_code == 201, r.text
    team_id = r.json()["id"]
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/teams")
    live(page)
    card = page.locator(f"#team-{team_id}")
    expect(card.locator(".online-count")).to_have_text("0")
    page.evaluate("document.body.dataset.loaded = 'yes'")

    _set_availability(client, tenant.agent, "online")
    expect(card.locator(".online-count")).to_have_text("1", timeout=5000)
    expect(card.locator(".avatar-stack .avail-online")).to_have_count(1)
    _set_availability(client, tenant.manager, "online")
    expect(card.locator(".online-count")).to_have_text("2", timeout=5000)
    _set_availability(client, tenant.agent, "away")
    expect(card.locator(".online-count")).to_have_text("1", timeout=5000)

    # a change of members (team_updated) updates the counts as well
    r = client.put(
        f"/v1.0/teams/{team_id}", headers=tenant.admin, json={"agent_ids": [tenant.manager_id]}
    )
    assert r.status_code == 200, r.text
    expect(card.locator(".member-count")).to_have_text("1", timeout=5000)
    expect(card.locator(".online-count")).to_have_text("1")
    assert page.evaluate("document.body.dataset.loaded") == "yes"


def test_the_rooms_assign_menu_shows_each_agents_availability_live(
    server, tenant, new_page, client
):
    _set_availability(client, tenant.agent, "offline")
    room = inbound(tenant.channel("message"), "+15550000001", "hello").conversation_id
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, f"/conversations/{room}")
    live(page)
    option = page.locator(f"#assignee option[value='{tenant.agent_id}']")
    expect(option).to_have_text("acme-agent · offline")
    expect(option).to_have_class("avail-offline")

    _set_availability(client, tenant.agent, "online")
    expect(option).to_have_text("acme-agent · online", timeout=5000)
    expect(option).to_have_class("avail-online")
    expect(page.locator(f"#assignee option[value='{tenant.admin_id}']")).to_contain_text("(you)")
