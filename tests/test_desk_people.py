"""The people pages in a real browser (Debian's Chromium driven by Playwright) against a
real server: access keys (made, shown once, revoked — and then refused by the API), my
profile (name, default availability, password), agents (an admin adds one, who then
signs in with the password shown once), teams, and the audit log showing each step.
One flow per page: browser tests are slow."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
from browser_kit import add_team, sign_in
from conftest import inbound, wait_for
from db_kit import sql
from playwright.sync_api import Page, expect

SHOTS = Path(os.environ.get("CONVODESK_SHOTS", "/tmp/shots"))


def shot(page: Page, name: str) -> None:
    """A screenshot for people to look at (the page as an admin sees it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_admin_makes_a_key_that_works_then_revokes_it(server, tenant, new_page):
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, shows="#inbox-list")
    page.click("#nav-admin")
    page.click("#admin-menu-accesskeys")
    expect(page).to_have_url(re.compile(r"/admin/accesskeys$"))
    expect(page.locator("h1")).to_have_text("Access keys")
    expect(page.locator("#admin-menu-accesskeys")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator("#no-keys")).to_contain_text("No access keys yet")

    page.fill("#name", "CRM <sync>")
    page.select_option("#expire", "90d")
    page.click("#create-key")
    expect(page.locator("#created")).to_contain_text("only time")
    key = page.locator("#new-key").input_value()
    assert key.startswith("cdk_") and len(key) > 40
    row = page.locator("#key-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".key-name")).to_have_text("CRM <sync>")  # text, not markup
    expect(row.locator(".key-prefix")).to_have_text(key[:12] + "…")
    shot(page, "accesskeys-created")

    api = httpx.Client(base_url=server.url, headers={"Authorization": f"AccessKey {key}"})
    assert api.get("/v1.0/conversations").status_code == 200

    # the key is never shown again
    page.goto(server.url + "/admin/accesskeys")
    assert key not in page.content()
    row.locator(".revoke summary").click()
    row.locator(".revoke-confirm").click()
    expect(page.locator("#revoked")).to_contain_text(key[:12])
    expect(page.locator("#no-keys")).to_be_visible()
    r = api.get("/v1.0/conversations")
    assert r.status_code == 401 and r.json()["error"]["reason"] == "invalid_accesskey"
    api.close()


def test_an_agent_edits_its_profile_and_changes_its_password(server, tenant, new_page, client):
    page = new_page()
    sign_in(page, server.url, "acme-agent", tenant.password, shows="#inbox-list")
    page.goto(server.url + "/profile")
    expect(page.locator("h1")).to_have_text("My profile")
    page.fill("#name", "Sam Agent")
    page.check("#da-away")
    page.click("#save-profile")
    expect(page.locator("#saved")).to_contain_text("Saved your profile")
    expect(page.locator("#name")).to_have_value("Sam Agent")
    expect(page.locator("#da-away")).to_be_checked()

    # a wrong current password is refused, in words, and nothing changes
    page.fill("#current_password", "not-my-password")
    page.fill("#new_password", "brand-new-pass-1")
    page.fill("#password_again", "brand-new-pass-1")
    page.click("#change-password")
    expect(page.locator("#password-error")).to_have_text("The current password is not right.")
    page.fill("#current_password", tenant.password)
    page.fill("#new_password", "brand-new-pass-1")
    page.fill("#password_again", "brand-new-pass-2")
    page.click("#change-password")
    expect(page.locator("#password-error")).to_contain_text("do not match")
    page.fill("#current_password", tenant.password)
    page.fill("#new_password", "brand-new-pass-1")
    page.fill("#password_again", "brand-new-pass-1")
    page.click("#change-password")
    expect(page.locator("#saved")).to_contain_text("Changed your password")
    shot(page, "profile")

    # the new password signs in, in a new browser; the old one does not
    other = new_page()
    sign_in(other, server.url, "acme-agent", "brand-new-pass-1", shows="#inbox-list")
    r = client.post("/auth/login", json={"username": "acme-agent", "password": tenant.password})
    assert r.status_code == 401


def test_the_audit_log_shows_admin_actions_readably_and_filters(server, tenant, new_page):
    admin = httpx.Client(base_url=server.url, headers=tenant.admin)
    r = admin.post("/v1.0/accesskeys", json={"name": "Nightly export"})
    assert r.status_code == 201, r.text
    r = admin.put("/v1.0/me", json={"name": "Alex Admin"})
    assert r.status_code == 200, r.text
    admin.close()

    page = new_page()
    sign_in(
        page, server.url, "acme-admin", tenant.password, start="/admin/audit", shows="#audit-table"
    )
    entries = page.locator("#audit-table .audit-entry")
    wait_for(lambda: entries.count() >= 1)
    profile = page.locator(".audit-entry[data-action='agent.profile_updated']")
    expect(profile.locator(".audit-actor")).to_contain_text("Alex Admin")
    expect(profile.locator(".audit-diff")).to_contain_text("name")
    expect(profile.locator(".audit-diff .now").first).to_have_text("Alex Admin")
    shot(page, "audit-log")

    page.fill("#filter-action", "agent.profile_updated")
    page.click("#filter")
    expect(page).to_have_url(re.compile(r"action=agent.profile_updated"))
    expect(entries).to_have_count(1)
    page.select_option("#filter-actor", "system")
    page.click("#filter")
    expect(page.locator("#no-entries")).to_contain_text("No entries match")


def test_admin_adds_an_agent_who_signs_in_with_the_shown_password(server, tenant, new_page, db_url):
    page = new_page()
    sign_in(
        page, server.url, "acme-admin", tenant.password, start="/admin/agents", shows="#agent-table"
    )
    expect(page.locator("h1")).to_contain_text("Agents")
    expect(page.locator("#agent-table tbody tr")).to_have_count(3)
    page.click("#add-agent")
    page.fill("#username", "acme-admin")  # taken: refused in words, what was typed kept
    page.fill("#name", "Mina Kim")
    page.check("#role-manager")
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("already in use")
    expect(page.locator("#name")).to_have_value("Mina Kim")
    expect(page.locator("#role-manager")).to_be_checked()
    page.fill("#username", "mina")
    page.fill("#max_open", "3")
    page.click("#save")

    expect(page.locator("#created")).to_contain_text("Mina Kim can sign in now")
    password = page.locator("#new-password").input_value()
    assert len(password) >= 20
    row = page.locator("#agent-table tr[data-username=mina]")
    expect(row.locator(".chip.role-manager")).to_be_visible()
    expect(row).to_contain_text("0 / 3")
    shot(page, "agents-created")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column
    shot(page, "agents-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # the new agent signs in, in a browser of their own, with the password shown once
    theirs = new_page()
    sign_in(theirs, server.url, "mina", password, shows="#inbox-list")
    expect(theirs.locator("#me-switch")).to_be_visible()

    # edit: a role change, then deactivate: their session ends at once
    row.locator("a.edit").click()
    page.check("#role-agent")
    page.click("#save")
    expect(page.locator("#agent-table tr[data-username=mina] .chip.role-agent")).to_be_visible()
    page.locator("#agent-table tr[data-username=mina] a.edit").click()
    page.click("#deactivate summary")
    page.click("#deactivate-confirm")
    expect(page.locator("#saved")).to_contain_text("Deactivated")
    theirs.goto(server.url + "/")
    expect(theirs).to_have_url(re.compile(r"/login"))
    actions = [
        r["action"]
        for r in sql(
            db_url,
            "SELECT action FROM audit_log WHERE target_type = 'agent' AND actor_id = $1"
            " ORDER BY id",
            tenant.admin_id,
        )
    ]
    assert actions[-3:] == ["agent.created", "agent.updated", "agent.deactivated"]


def test_admin_builds_a_team_with_members_and_a_channel(server, tenant, new_page, db_url):
    sms = tenant.channel("message")
    page = new_page()
    sign_in(
        page, server.url, "acme-admin", tenant.password, start="/admin/teams", shows="#no-teams"
    )
    members = [tenant.agent_id, tenant.manager_id]
    add_team(page, "Support <1st line>", members, [str(sms.id)], "round_robin", 1, "600")
    card = page.locator(".team-card")
    expect(card).to_have_count(1)
    expect(card.locator(".team-name")).to_have_text("Support <1st line>")
    expect(card.locator(".chip.policy")).to_have_text("Round robin")
    expect(card.locator(".member-count")).to_have_text("2")
    expect(card).to_contain_text("10 minutes")
    expect(card.locator(".team-channels")).to_contain_text("(loopback)")
    shot(page, "teams")

    # a second team cannot take the same channel: refused in words, the form kept
    page.click("#add-team")
    page.fill("#name", "Night shift")
    page.check(f"#account-{sms.id}")
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("already routes to the team")
    expect(page.locator("#name")).to_have_value("Night shift")

    # edit, then delete
    page.goto(server.url + "/admin/teams")
    page.click("#edit-team-1")
    page.uncheck(f"#member-{tenant.manager_id}")
    page.click("#save")
    expect(page.locator(".team-card .member-count")).to_have_text("1")
    page.click("#edit-team-1")
    page.click("#delete summary")
    page.click("#delete-confirm")
    expect(page.locator("#deleted")).to_contain_text("Support <1st line>")
    expect(page.locator("#no-teams")).to_be_visible()
    actions = [
        r["action"]
        for r in sql(db_url, "SELECT action FROM audit_log WHERE target_type = 'team' ORDER BY id")
    ]
    assert actions == ["team.created", "team.updated", "team.deleted"]


def test_the_inbox_shows_a_teams_queue_live_and_its_head_is_assigned_when_a_slot_frees(
    server, tenant, new_page, client
):
    """The issue's "done when": a team of two with capacity 1 and round robin; three
    customers write; two rooms are assigned (one each, explained), the third waits, shown
    live with its position and the queue count; a room closes and the waiting one goes
    to that agent at once."""
    sms = tenant.channel("message")
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={
            "name": "Support",
            "agent_ids": [tenant.agent_id, tenant.manager_id],
            "account_ids": [str(sms.id)],
            "assignment_policy": "round_robin",
            "max_open": 1,
        },
    )
    assert r.status_code == 201, r.text
    team = r.json()["id"]
    for who in (tenant.agent, tenant.manager):
        r = client.put("/v1.0/me/availability", headers=who, json={"availability": "online"})
        assert r.status_code == 200, r.text

    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, shows="#inbox-list")
    page.goto(f"{server.url}/?view=all&team={team}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=9000)
    expect(page.locator("#filter-team")).to_have_value(team)
    expect(page.locator("#queue-count .queue-n")).to_have_text("0")

    rooms = [inbound(sms, f"+1555000000{i}", f"help {i}").conversation_id for i in range(3)]
    for room in rooms[:2]:
        expect(page.locator(f"#row-{room} .row-owner")).to_contain_text("→", timeout=9000)
    waiting = page.locator(f"#row-{rooms[2]} .row-owner")
    expect(waiting).to_contain_text("Waiting · position 1", timeout=9000)
    expect(page.locator(f"#row-{rooms[2]} .team-chip")).to_have_text("Support")
    expect(page.locator("#queue-count .queue-n")).to_have_text("1")
    shot(page, "inbox-queue")

    # the waiting room's panel explains why; the first room's assignee closes it
    first = client.get(f"/v1.0/conversations/{rooms[0]}", headers=tenant.admin).json()
    assert "round robin" in first["assignment_reason"]
    owner = tenant.agent if first["owner_id"] == tenant.agent_id else tenant.manager
    r = client.put(f"/v1.0/conversations/{rooms[0]}", headers=owner, json={"status": "closed"})
    assert r.status_code == 200, r.text
    expect(waiting).to_contain_text("→", timeout=9000)
    expect(page.locator("#queue-count .queue-n")).to_have_text("0")
    third = client.get(f"/v1.0/conversations/{rooms[2]}", headers=tenant.admin).json()
    assert third["owner_id"] == first["owner_id"] and third["queue_position"] is None

    # priority from the room's side panel, then the priority sort puts it first
    page.goto(f"{server.url}/conversations/{rooms[1]}?view=all")
    expect(page.locator("#assignment-reason")).to_contain_text("round robin")
    page.select_option("#room-priority", "urgent")
    expect(page.locator(f"#row-{rooms[1]} .prio-urgent")).to_be_visible(timeout=9000)
    page.click("#me-switch summary")
    expect(page.locator("#set-online")).to_be_visible()
    shot(page, "room-panel-and-switch")
    page.click("#set-away")
    expect(page.locator("#me-switch")).to_have_attribute("data-availability", "away")
    me = client.get("/v1.0/me", headers=tenant.admin).json()
    assert me["availability"] == "away"
    page.goto(f"{server.url}/?view=all&sort=priority")
    expect(page.locator("#inbox-list .row").first).to_have_id(f"row-{rooms[1]}")
    page.goto(f"{server.url}/?view=all&priority=urgent")
    expect(page.locator("#inbox-list .row")).to_have_count(1)
