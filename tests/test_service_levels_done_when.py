"""Service levels, the whole story, in Chromium (Playwright) against a real server: an
admin sets business hours with a lunch break and a holiday and an SLA of 15 business
minutes for a first response on urgent rooms; a manager watches an urgent room's badge in
the inbox go amber, then red, live, and reads the breach interval by interval in the
room's side panel; customers answer the satisfaction surveys over web chat (the widget,
on the customer's site) and SMS; the manager reads the week's report: its charts, the CSAT
figure, the SLA outcome and the rooms behind it.

Time, in two places, is the test's. The SLA worker's rounds come at the times the test
chooses (`_rounds_at`), as they would come by themselves minutes later. And the urgent
room's history is moved back in the database, then its clocks folded again by the code
every change of a room calls (`_happened_earlier`): a clock's explanation runs from its
start to the present, so for it to show a lunch break the customer must have written
before lunch, and a browser test cannot wait half an hour. Everything else — the forms,
the inbound SMS, the widget, the pages — goes the product's own way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import browser_kit
from conftest import LIVE_MS, free_port, inbound, run_async, tell_servers
from db_kit import sql
from playwright.sync_api import Page, expect
from test_csat import sent
from test_widget_browser import SNIPPET, HostSite, open_widget

from app.domain.timefmt import parse

LUNCH_MINUTES = 30
BEFORE_LUNCH = timedelta(minutes=5)
"""The urgent room's clock counts this much before lunch, the rest of its 15 after."""


def _calendar(at: datetime) -> tuple[str, datetime, datetime]:
    """A time zone where `at` is 13:xx, and the lunch break of a calendar that reopened at
    the start of that minute: (zone, lunch start, reopening), both minute-aligned. Every
    instant of the story (from 5 minutes before lunch to 10 minutes after it) falls on
    that one local day, far from its midnight, whatever the time of day the test runs."""
    offset = 13 - at.hour  # -10 … +13: every one a whole-hour zone of the tz database
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    reopen = at.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0)
    return zone, reopen - timedelta(minutes=LUNCH_MINUTES), reopen


def _rounds_at(db_url: str, at: datetime) -> None:
    """The SLA worker's round at `at`, then a notice on the bus so the server's desk
    sockets read the events at once (they would within a second anyway)."""
    from app.sla import worker

    run_async(worker.fire_due(at=at))
    tell_servers("", "sla", db_url)


def _clocks(client, headers: dict, room_id: str) -> list[dict]:
    """`GET /v1.0/conversations/{id}/sla`: the room's clocks with their intervals."""
    r = client.get(f"/v1.0/conversations/{room_id}/sla", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def _happened_earlier(db_url: str, tenant, room_id: str, by: timedelta) -> None:
    """Move the room's history — its messages and recorded SLA changes, what its clocks
    are folded from — back by `by`, then fold it again and store the clocks, as any change
    of the room does; the stored clocks then agree with a fold from scratch."""
    from app.conversations import store as rooms
    from app.core.events import transaction
    from app.domain.timefmt import now
    from app.sla import tracking

    for table, column in (("messages", "tm_create"), ("sla_facts", "at")):
        sql(
            db_url,
            f"UPDATE {table} SET {column} = {column} - $2::interval WHERE conversation_id = $1",
            room_id,
            by,
        )

    async def fold() -> list[str]:
        async with transaction():
            room = await rooms.visible_room(tenant.customer_id, room_id, lock=True)
            assert room is not None
            room = await tracking.recompute(room, now())
            return await tracking.recheck(room, now())

    assert run_async(fold()) == []


def _set_business_hours(page: Page, zone: str, lunch: datetime, reopen: datetime) -> None:
    """Admin → Business hours: every day 08:00–lunch and reopening–18:00, tomorrow (local)
    a holiday; the customer's default, so reports count days in its time zone too."""
    page.click("#add-hours")
    page.fill("#name", "Office hours")
    page.select_option("#time_zone", zone)
    day = f"08:00-{lunch:%H:%M}, {reopen:%H:%M}-18:00"
    for weekday in range(7):
        page.fill(f"#day_{weekday}", day)
    holiday = reopen.date() + timedelta(days=1)
    page.fill("#holidays", f"{holiday} Founders' Day")
    page.click("#save")
    row = page.locator("#hours-list tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".hours-summary")).to_have_text(
        f"Mon–Sun 08:00–{lunch:%H:%M}, {reopen:%H:%M}–18:00"
    )
    expect(row).to_contain_text(f"1: {holiday}")
    page.select_option("#default-hours", label="Office hours")
    page.click("#save-default")
    expect(page.locator("#saved")).to_have_text("Saved the default business hours.")


def _set_policy(page: Page, base: str) -> None:
    """Admin → SLA: "Urgent", first response in 15 business minutes of the office hours;
    refused, in words and with nothing typed lost, while it has no target."""
    page.goto(base + "/admin/sla")
    expect(page.locator("#no-policies")).to_be_visible()
    page.click("#add-policy")
    page.fill("#name", "Urgent")
    page.select_option("#priority", "urgent")
    page.select_option("#business_hours_id", label="Office hours")
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("at least one target")
    expect(page.locator("#name")).to_have_value("Urgent")
    expect(page.locator("#business_hours_id option:checked")).to_have_text("Office hours")
    page.fill("#first_response_minutes", "15")
    page.click("#save")
    row = page.locator("#sla-policies tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-field=first_response_minutes]")).to_have_text("15 min")
    expect(row).to_contain_text("Office hours")


def test_a_manager_audits_service_levels_from_business_hours_to_the_report(
    server, tenant, new_page, client, db_url
):
    zone, lunch, reopen = _calendar(datetime.now(UTC))
    start = lunch - BEFORE_LUNCH  # when the urgent room's clock will have started
    admin = new_page()
    browser_kit.sign_in(admin, server.url, "acme-admin", tenant.password, "/admin/business-hours")
    _set_business_hours(admin, zone, lunch, reopen)
    _set_policy(admin, server.url)
    (policy,) = client.get("/v1.0/sla_policies", headers=tenant.admin).json()["result"]
    (hours,) = client.get("/v1.0/business_hours", headers=tenant.admin).json()["result"]
    assert (policy["priority"], policy["first_response_minutes"]) == ("urgent", 15)
    assert (policy["business_hours_id"], hours["time_zone"]) == (hours["id"], zone)

    # customers write by SMS; an agent marks one room urgent: its clock starts
    sms = tenant.channel("message", csat="on")
    calm = inbound(sms, "+15559870102", "A question, no hurry", peer_name="Cal").conversation_id
    urgent = inbound(sms, "+15559870101", "The site is down!", peer_name="Uma").conversation_id
    r = client.put(
        f"/v1.0/conversations/{urgent}", headers=tenant.agent, json={"priority": "urgent"}
    )
    assert r.status_code == 200, r.text
    (clock,) = _clocks(client, tenant.agent, urgent)
    # ... before lunch: 5 business minutes then, 10 after it
    _happened_earlier(db_url, tenant, urgent, parse(clock["started"]) - start)
    (clock,) = _clocks(client, tenant.agent, urgent)
    due = reopen + timedelta(minutes=15) - BEFORE_LUNCH
    assert (parse(clock["started"]), parse(clock["due"])) == (start, due)
    assert parse(clock["warn_at"]) == due - timedelta(minutes=3)  # at 80%: 12 minutes

    # the manager's inbox: the urgent room counts down; the calm one follows no policy
    left = int((due - datetime.now(UTC)).total_seconds() // 60)  # a minute at most before
    page = new_page()
    browser_kit.sign_in(
        page, server.url, "acme-manager", tenant.password, shows="#inbox-list", wait_live=True
    )
    badge = page.locator(f"#row-{urgent} .sla-badge")
    expect(badge).to_have_class("sla-badge sla-running")
    expect(badge.locator(".sla-left")).to_have_text(re.compile(rf"^({left}|{left - 1})m$"))
    expect(page.locator(f"#row-{calm}")).to_be_visible()
    expect(page.locator(f"#row-{calm} .sla-badge")).to_have_count(0)

    # the worker's rounds come: amber at the warning, red at the breach, live
    _rounds_at(db_url, parse(clock["warn_at"]) + timedelta(seconds=1))
    expect(badge).to_have_class("sla-badge sla-warning", timeout=LIVE_MS)
    _rounds_at(db_url, due + timedelta(seconds=1))
    expect(badge).to_have_class("sla-badge sla-breached", timeout=LIVE_MS)
    page.select_option("#filter-sla", "breached")
    expect(page.locator(f"#row-{calm}")).to_have_count(0)
    expect(page.locator("#inbox-list .row")).to_have_count(1)

    # the room's side panel explains the breach: counted until lunch, not over lunch
    # (outside business hours), counted since
    page.locator(f"#row-{urgent} a.row-link").click()
    expect(page).to_have_url(re.compile(f"/conversations/{urgent}"))
    panel = page.locator("#room-sla")
    expect(panel.locator(".sla-now .sla-badge")).to_have_text("breached")
    panel.locator("summary").click()
    shown = panel.locator(".sla-clock[data-kind=first_response]")
    expect(shown).to_contain_text("target 15 min")
    expect(shown.locator(".sla-badge")).to_have_text("breached")
    items = shown.locator(".sla-intervals li")
    expect(items).to_have_text(
        [
            re.compile(": counted$"),
            re.compile(": outside business hours$"),
            re.compile(": counted$"),
        ]
    )
    (audited,) = _clocks(client, tenant.manager, urgent)
    assert audited["status"] == "breached" and parse(audited["stopped"]) == due
    intervals = audited["intervals"]
    assert [(i["counted"], i["reason"]) for i in intervals] == [
        (True, None),
        (False, "outside_business_hours"),
        (True, None),
    ]
    assert [parse(i["start"]) for i in intervals] == [start, lunch, reopen]
    assert [parse(i["end"]) for i in intervals[:2]] == [lunch, reopen]
    # the page shows the same intervals (its last one ran to a moment earlier)
    starts = items.locator("time:first-child").evaluate_all(
        "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert [parse(s) for s in starts] == [start, lunch, reopen]

    # surveys: a visitor chats on the customer's site, the room is closed, the widget
    # asks, the visitor answers 5
    port = free_port()
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "webchat",
            "name": "Website",
            "settings": {
                "title": "Acme help",
                "allowed_origins": f"http://127.0.0.1:{port}",
                "csat": "on",
                "csat_question": "How was our chat?",
            },
        },
    )
    assert r.status_code == 201, r.text
    site = HostSite(SNIPPET.format(base=server.url, account_id=r.json()["id"]), port)
    try:
        visitor = new_page()
        visitor.goto(site.origin + "/")
        open_widget(visitor)
        box = visitor.get_by_role("textbox", name="Message")
        box.fill("Do you gift-wrap?")
        box.press("Enter")
        expect(visitor.locator("li.msg.visitor .meta")).to_have_text("", timeout=LIVE_MS)
        rooms = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
        (chat,) = [x["id"] for x in rooms if x["id"] not in (urgent, calm)]
        r = client.put(
            f"/v1.0/conversations/{chat}", headers=tenant.agent, json={"status": "closed"}
        )
        assert r.status_code == 200, r.text
        card = visitor.locator("li.survey")
        expect(card).to_contain_text("How was our chat?", timeout=LIVE_MS * 2)
        card.get_by_role("button", name="5 of 5").click()
        card.get_by_role("button", name="Send rating").click()
        expect(card).to_contain_text("Thank you for your rating (5/5)!", timeout=LIVE_MS)
    finally:
        site.close()

    # ... and the calm room's customer, asked by SMS, answers 4: a rating, not a room
    r = client.put(f"/v1.0/conversations/{calm}", headers=tenant.agent, json={"status": "closed"})
    assert r.status_code == 200, r.text
    sent(db_url, calm)
    answer = inbound(sms, "+15559870102", "4")
    assert (answer.conversation_id, answer.new_room) == (calm, False)
    assert len(client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]) == 3
    ratings = client.get("/v1.0/csat_responses", headers=tenant.manager).json()["result"]
    assert sorted((x["reference_type"], x["rating"]) for x in ratings) == [
        ("message", 4),
        ("webchat", 5),
    ]

    # the manager's week: charts drawn, CSAT from both answers, the breach counted
    page.click("#nav-reports")  # the last 7 days, today included, unless asked otherwise
    expect(page.locator("#report-ranges a.current")).to_have_text("7 days")
    expect(page.locator("#chart-days svg rect.bar")).to_have_count(2 * 7)
    today = page.locator("#chart-days svg rect.bar.opened").last
    expect(today).not_to_have_attribute("height", "0.0")
    expect(today).to_be_visible()
    expect(page.locator("#chart-hours svg rect.cell")).to_have_count(168)
    expect(page.locator("#chart-csat .csat-bars li")).to_have_count(5)
    expect(page.locator("#card-opened .report-card-value")).to_have_text("3")
    expect(page.locator("#card-csat .report-card-value")).to_have_text("4.50/5")
    expect(page.locator("#card-csat .report-card-note")).to_have_text("2 answers")
    expect(page.locator("#card-sla .report-card-value")).to_have_text("0.0%")
    expect(page.locator("#card-sla .report-card-note")).to_have_text("0 of 1 clocks")
    policy_row = page.locator("#sla-table tbody tr", has_text="Urgent")
    breached = policy_row.locator("td").nth(1).locator("a")
    expect(breached).to_have_text("1")

    # the number opens the room behind it
    breached.click()
    expect(page.locator("#rooms-total")).to_have_text("1")
    expect(page.locator("#report-rooms tbody tr")).to_have_count(1)
    expect(page.locator(f"#room-{urgent}")).to_contain_text("first: breached")
