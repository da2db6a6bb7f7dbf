"""Routing's whole story, played from browsers only (Debian's Chromium driven by
Playwright, against a real server): an admin creates a team with two agents and a
channel, capacity 1 and round robin; three customers write; two rooms are assigned (one
each, explained) and the third waits in the queue, visible live; one agent closes a room
from its own browser and the waiting room is assigned to them at once; the audit log
shows every step. The customers write on the provider's side (`inbound`), not in a
browser: that side has no desk."""

from __future__ import annotations

import re

from browser_kit import add_team, live, sign_in
from conftest import inbound
from playwright.sync_api import expect

AT_ONCE_MS = 5000  # "within a second" on a quiet machine; the shared 2-core box gets slack


def test_a_team_routes_three_customers_and_a_freed_slot_takes_the_queue_head(
    server, tenant, new_page
):
    sms = tenant.channel("message")

    # the admin makes the team on the Teams page
    admin = new_page()
    sign_in(
        admin, server.url, "acme-admin", tenant.password, start="/admin/teams", shows="#no-teams"
    )
    add_team(
        admin, "Support", [tenant.agent_id, tenant.manager_id], [str(sms.id)], "round_robin", 1
    )
    card = admin.locator(".team-card")
    expect(card).to_have_count(1)
    expect(card.locator(".chip.policy")).to_have_text("Round robin")
    expect(card.locator(".member-count")).to_have_text("2")
    expect(card).to_contain_text("capacity 1 each")
    expect(card.locator(".team-channels")).to_contain_text("(loopback)")

    # each agent signs in to the desk in a browser of its own: that makes them online
    desks = {}
    for username in ("acme-agent", "acme-manager"):
        desk = new_page()
        sign_in(desk, server.url, username, tenant.password, shows="#inbox-list")
        desk.goto(server.url + "/?view=mine")  # the manager's desk opens on all rooms
        desks[username] = desk
    admin.reload()
    expect(card.locator(".online-count")).to_have_text("2")

    # the admin watches the team's inbox, chosen with the inbox's team filter
    admin.goto(server.url + "/?view=all")
    admin.select_option("#filter-team", label="Support")
    expect(admin).to_have_url(re.compile(r"[?&]team="))
    live(admin)
    for desk in desks.values():
        live(desk)
    expect(admin.locator("#queue-count .queue-n")).to_have_text("0")

    # three customers write
    rooms = [inbound(sms, f"+1555000000{i}", f"help {i}").conversation_id for i in range(3)]

    # two rooms are assigned, one to each agent; the third waits, shown live
    owners = []
    for room in rooms[:2]:
        owner = admin.locator(f"#row-{room} .row-owner")
        expect(owner).to_contain_text("→")
        owners.append(owner.inner_text().split("→", 1)[1].strip())
    assert sorted(owners) == ["acme-agent", "acme-manager"], owners
    waiting = admin.locator(f"#row-{rooms[2]} .row-owner")
    expect(waiting).to_contain_text("Waiting · position 1")
    expect(admin.locator("#queue-count .queue-n")).to_have_text("1")

    # each agent's inbox shows its one room live, and the room explains the assignment
    for room, username in zip(rooms[:2], owners, strict=True):
        desk = desks[username]
        expect(desk.locator("#inbox-list .row")).to_have_count(1)
        desk.click(f"#row-{room} .row-link")
        expect(desk.locator("#assignment-reason")).to_contain_text(
            f"Assigned to {username} by round robin: online, 1 of 1 open"
        )

    # the first room's agent closes it from its room page; the queue head is theirs at once
    closer = owners[0]
    desk = desks[closer]
    desk.click("#close-room")
    expect(desk.locator("#room-header .pill")).to_have_text("closed")
    expect(waiting).to_contain_text(f"→ {closer}", timeout=AT_ONCE_MS)
    expect(admin.locator("#queue-count .queue-n")).to_have_text("0")
    expect(desk.locator(f"#row-{rooms[2]}")).to_be_visible(timeout=AT_ONCE_MS)
    desk.click(f"#row-{rooms[2]} .row-link")
    expect(desk.locator("#assignment-reason")).to_contain_text(
        f"Assigned to {closer} by round robin"
    )

    # the audit log shows every step, newest first
    admin.goto(server.url + "/admin/audit")
    entries = admin.locator("#audit-table .audit-entry")
    steps = ("team.created", "conversation.assigned", "conversation.queued")
    expect(entries.first).to_be_visible()
    shown = entries.evaluate_all("rows => rows.map(r => r.dataset.action)")
    routing = [a for a in reversed(shown) if a in steps]
    assert routing == [
        "team.created",
        "conversation.assigned",
        "conversation.assigned",
        "conversation.queued",
        "conversation.assigned",
    ], shown
    expect(admin.locator(".audit-entry[data-action='team.created'] .audit-target")).to_contain_text(
        "Support"
    )
    queued = admin.locator(".audit-entry[data-action='conversation.queued']")
    expect(queued.locator(".audit-actor")).to_contain_text("System")
    expect(queued).to_contain_text("Waiting")
    expect(
        admin.locator(".audit-entry[data-action='conversation.assigned']").first
    ).to_contain_text(f"Assigned to {closer} by round robin")
