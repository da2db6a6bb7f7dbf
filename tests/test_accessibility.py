"""The accessibility audit: axe-core (vendored, test-only: tests/vendor/VERSIONS.md) run in
Chromium on every desk and admin page, with the rules of WCAG 2 A and AA, finds nothing.

Every page is loaded with real content — a room with inbound and outbound messages, a note
and system lines open in the inbox; a group talk with a thread open; teams, an access key,
audit entries; the sign-in page; the web chat widget open on a host site — in the light
and the dark colour scheme, because the stylesheet has both and contrast differs. One test
walks them all (signing in and building the data once) and reports every violation of
every page together, so a failure names all that is wrong at once.

New pages are added to PAGES."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import browser_kit
from browser_kit import live
from conftest import LIVE_MS, free_port, inbound, run_async, wait_for
from playwright.sync_api import Page, expect

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa"]
ALSO = ["page-has-heading-one"]
"""axe's best-practice rules held too: a page says what it is in a top-level heading."""

PAGES = [
    # (path with {room}/{talk}/{thread}/{team} filled in, what shows once it is ready)
    ("/", "#inbox-list"),
    ("/conversations/{room}", "#timeline .item"),
    ("/talks", "#talk-list"),
    ("/talks/{talk}", "#talk-stream .tmsg"),
    ("/talks/{talk}/thread/{thread}", "#thread-panel"),
    ("/profile", "main"),
    ("/admin/channels", "main"),
    ("/admin/channels/new", "main"),
    ("/admin/webhooks", "main"),
    ("/admin/agents", "main"),
    ("/admin/agents/new", "main"),
    ("/admin/teams", "main"),
    ("/admin/teams/{team}", "main"),
    ("/admin/business-hours", "#hours-list"),
    ("/admin/business-hours/{hours}", "#hours-form"),
    ("/admin/accesskeys", "main"),
    ("/admin/audit", "main"),
    ("/canned", "main"),
    ("/admin/canned", "main"),
    ("/contacts", "#contact-list"),
    ("/contacts/{contact}", "#contact-card"),
    ("/csat/{survey}", "#csat-form"),  # public: an email survey's page
    ("/admin/sla", "#sla-policies"),
    ("/admin/sla/{policy}", "#sla-form"),
    ("/admin/automation?preview={rule}", "#preview"),
    ("/admin/automation/{rule}", "#rule-form"),
    ("/admin/automation/{rule}/runs", "main"),
    ("/admin/automation/macros/new", "#macro-form"),
    ("/macros", "#own-macros"),
    ("/macros/{macro}", "#macro-form"),
    ("/reports", "#chart-hours"),
    ("/reports/rooms?figure=opened", "#report-rooms"),
]


def axe_violations(page: Page) -> list[str]:
    """axe's WCAG 2 A/AA violations on the page as it is now, one line per element."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async ([tags, also]) => {
             const rules = Object.fromEntries(also.map(id => [id, {enabled: true}]));
             const r = await axe.run(document, {runOnly: {type: "tag", values: tags}, rules,
                                                resultTypes: ["violations"]});
             return r.violations.map(v => v.nodes.map(n =>
               v.id + " " + n.target.join(" ") + " — " + (n.failureSummary || "")
                 .replace(/\\s+/g, " ").slice(0, 240)
             )).flat();
           }""",
        [RULES, ALSO],
    )
    return list(result)


class HostSite:
    """A customer's website (another origin) holding only the widget's snippet."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                """No request log."""

        port = free_port()
        self.origin = f"http://127.0.0.1:{port}"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def note(tenant, room: str, text: str) -> None:
    """An internal note by the admin, through the service the desk's form uses."""
    from app.conversations import notes
    from app.domain.enums import Permission
    from app.domain.principal import Principal

    admin = Principal(
        customer_id=tenant.customer_id,
        agent_id=tenant.admin_id,
        username="acme-admin",
        permission=Permission.ADMIN,
        via="token",
    )
    await notes.add_note(admin, room, text)


def content(client, tenant) -> dict[str, str]:
    """A room, a talk with a thread, a team with its business hours, an access key: every
    page shows something."""
    admin = tenant.admin
    # SLA policies first, so the inbox's rows show their badges: running, paused, warning
    # and breached (the worker's rounds below, at times ahead)
    sla = {"name": "Standard", "first_response_minutes": 30, "resolution_minutes": 600}
    r = client.post("/v1.0/sla_policies", headers=admin, json=sla)
    assert r.status_code == 201, r.text
    policy = r.json()["id"]
    urgent = {"name": "Urgent", "priority": "urgent", "first_response_minutes": 15}
    assert client.post("/v1.0/sla_policies", headers=admin, json=urgent).status_code == 201
    sms = tenant.channel("message")
    room = inbound(
        sms, "+15559876543", "Hi, my parcel https://track.example/123 is late"
    ).conversation_id
    inbound(sms, "+15559876543", "Can you check?")
    r = client.post(
        f"/v1.0/conversations/{room}/messages",
        headers=admin,
        json={"text": "On it! Tracking: www.track.example/123"},
    )
    assert r.status_code == 201, r.text
    run_async(note(tenant, room, "Customer asked before: see https://wiki.example/parcels"))
    r = client.put(
        f"/v1.0/conversations/{room}",
        headers=admin,
        json={"owner_id": tenant.agent_id, "priority": "high", "tags": ["vip"]},
    )
    assert r.status_code == 200, r.text
    # a room on every other channel, each with another priority and status: every chip
    others = [
        ("email", "dana@example.com", "urgent", "active"),
        ("line", "U" + "1" * 32, "medium", "closed"),
        ("whatsapp", "15557654321", "low", "active"),
        ("webchat", "wv-" + "a" * 32, "none", "active"),
    ]
    for kind, peer, priority, status in others:
        other = inbound(tenant.channel(kind), peer, f"Hello by {kind}").conversation_id
        r = client.put(
            f"/v1.0/conversations/{other}",
            headers=admin,
            json={"priority": priority, "status": status},
        )
        assert r.status_code == 200, r.text
    week = [{"day": d, "start": "09:00", "end": "12:00"} for d in range(5)]
    r = client.post(
        "/v1.0/business_hours",
        headers=admin,
        json={
            "name": "Office",
            "time_zone": "Europe/Berlin",
            "periods": week + [{"day": d, "start": "13:00", "end": "17:00"} for d in range(5)],
            "holidays": [{"date": "2026-12-25", "yearly": True, "name": "Christmas"}],
        },
    )
    assert r.status_code == 201, r.text
    hours = r.json()["id"]
    r = client.post(
        "/v1.0/teams",
        headers=admin,
        json={
            "name": "Support",
            "agent_ids": [tenant.admin_id, tenant.agent_id],
            "business_hours_id": hours,
        },
    )
    assert r.status_code == 201, r.text
    team = r.json()["id"]
    r = client.post("/v1.0/accesskeys", headers=admin, json={"name": "CRM sync"})
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1.0/talks",
        headers=admin,
        json={"type": "group", "name": "Launch", "participant_ids": [tenant.manager_id]},
    )
    assert r.status_code == 201, r.text
    talk = r.json()["id"]
    r = client.post(f"/v1.0/talks/{talk}/messages", headers=admin, json={"text": "Ready?"})
    assert r.status_code == 201, r.text
    thread = r.json()["id"]
    r = client.post(
        f"/v1.0/talks/{talk}/messages",
        headers=tenant.manager,
        json={"text": "Yes", "parent_id": thread},
    )
    assert r.status_code == 201, r.text
    client.post(
        f"/v1.0/talks/{talk}/messages/{thread}/reactions", headers=admin, json={"emoji": "👍"}
    )
    contact = client.get(f"/v1.0/conversations/{room}", headers=tenant.admin).json()["contact_ids"][
        0
    ]
    run_async(_sla_rounds())
    return {
        "room": room,
        "talk": talk,
        "thread": thread,
        "team": team,
        "contact": contact,
        "hours": hours,
        "survey": survey_token(client, tenant),
        "policy": policy,
        "rule": automation_rule(client, tenant),
        "macro": own_macro(client, tenant),
    }


def automation_rule(client, tenant) -> str:
    """A rule (Admin → Automation: its list with a preview, its form, its runs)."""
    rule = {
        "name": "Refunds first",
        "trigger": "message_received",
        "conditions": [{"field": "text", "operator": "contains", "value": "refund"}],
        "actions": [
            {"type": "set_priority", "value": "high"},
            {"type": "add_tags", "value": "refund"},
        ],
    }
    r = client.post("/v1.0/automation_rules", headers=tenant.admin, json=rule)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def own_macro(client, tenant) -> str:
    """The admin's own macro (My macros: its list, beside a shared one, and its form)."""
    shared = {"name": "Escalate", "owner_id": None, "actions": [{"type": "route"}]}
    assert client.post("/v1.0/macros", headers=tenant.admin, json=shared).status_code == 201
    mine = {"name": "Chase the courier", "actions": [{"type": "add_tags", "value": "late"}]}
    r = client.post("/v1.0/macros", headers=tenant.admin, json=mine)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def survey_token(client, tenant) -> str:
    """The token of an email survey's link: a closed room of an account that asks."""
    from app.csat import sender

    asks = tenant.channel("email", address="help@acme.example", csat="on")
    room = inbound(asks, "erin@example.com", "Thanks for sorting it out").conversation_id
    r = client.put(f"/v1.0/conversations/{room}", headers=tenant.admin, json={"status": "closed"})
    assert r.status_code == 200, r.text
    run_async(sender.send_due())

    def link() -> str:
        found = client.get(f"/v1.0/conversations/{room}/messages", headers=tenant.admin)
        texts = [m["text"] for m in found.json()["result"] if m["direction"] == "outbound"]
        return next((t.split("/csat/")[1].split()[0] for t in texts if "/csat/" in t), "")

    return wait_for(link)


async def _sla_rounds() -> None:
    """The SLA worker, 20 and then 25 minutes ahead: the urgent room breached, the others
    warned."""
    from datetime import timedelta

    from app.domain.timefmt import now
    from app.sla import worker

    start = now()
    await worker.fire_due(at=start + timedelta(minutes=20))
    await worker.fire_due(at=start + timedelta(minutes=25))


def test_no_wcag2_violations_on_any_desk_or_admin_page(server, client, tenant, new_page):
    ids = content(client, tenant)
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "webchat", "name": "Website", "settings": {"title": "Acme help"}},
    )
    assert r.status_code == 201, r.text
    widget_js = f"{server.url}/widget/{r.json()['id']}/widget.js"
    site = HostSite(
        '<!doctype html><html lang="en"><head><title>Shop</title></head>'
        f'<body><main><h1>Shop</h1></main><script src="{widget_js}" async></script></body></html>'
    )
    found: dict[str, list[str]] = {}

    def audit(page: Page, where: str) -> None:
        # both colour schemes on the page as loaded: the stylesheet follows the system's
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            found[f"{scheme} {where}"] = axe_violations(page)

    try:
        page = new_page()  # signed out: the sign-in page
        page.goto(server.url + "/login")
        audit(page, "/login")
        browser_kit.sign_in(page, server.url, "acme-admin", tenant.password, shows="#inbox-list")
        for path, ready in PAGES:
            page.goto(server.url + path.format(**ids))
            expect(page.locator(ready).first).to_be_visible()
            if page.locator("#conn").count():  # a live page: audited once its socket is up
                live(page)
            audit(page, path)
        # the web chat widget, open on the customer's site
        visitor = new_page()
        visitor.goto(site.origin + "/")
        visitor.get_by_role("button", name="Open chat").click()
        expect(visitor.get_by_role("dialog", name="Acme help")).to_be_visible()
        expect(visitor.locator("[data-convodesk-widget]")).to_have_attribute(
            "data-state", "live", timeout=LIVE_MS * 2
        )
        audit(visitor, "widget")
    finally:
        site.close()
    bad = {where: lines for where, lines in found.items() if lines}
    assert not bad, "\n".join(f"{where}:\n  " + "\n  ".join(lines) for where, lines in bad.items())
    assert len(found) == 2 * (len(PAGES) + 2)
