"""Takes the README's screenshots of the desk: a demo server on a fresh embedded
database, signed in as the demo admin, in Debian's Chromium.

    .venv/bin/python scripts/screenshots.py        # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py automation   # only Admin → Automation's two

The desk's channel icons are emoji: install a colour emoji font first (Debian:
`apt-get install fonts-noto-color-emoji`), or Chromium draws them as empty boxes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def main(only: str = "") -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="convodesk-shots-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVODESK_", "DATABASE_URL"))}
    env["CONVODESK_DATA_DIR"] = data
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 760})
            page.goto(base + "/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "convodesk")
            page.click("form.card button[type=submit]")
            page.wait_for_selector("#inbox-list .row")
            page.wait_for_timeout(1500)  # the demo's replies tick to sent
            if only == "automation":
                automation(page, base)
                browser.close()
                return
            # the hero: the inbox with a room open
            page.click("text=Order Support #5678")
            page.wait_for_selector("#timeline .item")
            page.wait_for_timeout(1500)  # the "Live" flash of a new connection fades
            page.screenshot(path=str(OUT / "inbox.png"))
            # a room with a scheduled reply, and the canned replies opened by "/"
            page.click("text=Refund status")
            page.wait_for_selector("#timeline .item.st-scheduled")
            page.locator("#reply-text").click()
            page.locator("#reply-text").press_sequentially("/")
            page.wait_for_selector("#canned-list .canned-option")
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "room.png"))
            page.locator("#reply-text").press("Escape")
            page.locator("#reply-text").fill("")
            # the room's SLA panel, with how its clocks counted opened
            lee = page.locator("#inbox-list .row", has_text="Lee Chen").locator("a.row-link")
            page.goto(base + str(lee.get_attribute("href")))
            page.wait_for_selector("#timeline .item")
            page.click("#room-sla summary")
            page.wait_for_selector(".sla-audit-body .sla-clock")
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "sla.png"))
            page.click("text=Order Support #5678")
            page.wait_for_selector("#timeline .item")
            phone = browser.new_page(viewport={"width": 390, "height": 760})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(page.url)
            phone.wait_for_selector("#timeline .item")
            phone.wait_for_timeout(1500)
            phone.screenshot(path=str(OUT / "phone.png"))
            # Contacts (Dana's profile), Talk, Admin → Agents, Teams and the audit log
            page.goto(base + "/contacts")
            page.fill("#contact-q", "dana")
            page.press("#contact-q", "Enter")
            page.locator("#contact-list > li a").first.click()
            page.wait_for_selector("#contact-card")
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "contacts.png"))
            page.goto(base + "/talks")
            page.locator("#talk-list a").first.click()
            page.wait_for_selector("#talk-stream .tmsg")
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "talk.png"))
            for name, path, ready in (
                ("agents", "/admin/agents", "table"),
                ("teams", "/admin/teams", ".team-card"),
                ("audit", "/admin/audit", "#audit-table"),
            ):
                page.goto(base + path)
                page.wait_for_selector(ready)
                page.wait_for_timeout(500)
                page.screenshot(path=str(OUT / f"{name}.png"))
            # Reports (the whole page), the SLA policies, and the office hours' form
            page.goto(base + "/reports")
            page.wait_for_selector(".report-agents")
            whole(page, OUT / "reports.png")
            page.goto(base + "/admin/sla")
            page.wait_for_selector("text=Around the clock")
            # the policies' table alone: the page below it is empty
            main = page.locator("main").bounding_box()
            table = page.locator("main table").bounding_box()
            assert main is not None and table is not None
            bottom = table["y"] + table["height"] + 24
            clip = {"x": main["x"], "y": 0, "width": main["width"], "height": bottom}
            page.screenshot(path=str(OUT / "service-levels-admin.png"), clip=clip)
            page.goto(base + "/admin/business-hours")
            page.click("text=Edit")
            page.wait_for_selector("text=Holidays")
            whole(page, OUT / "business-hours.png")
            automation(page, base)
            browser.close()
        print("wrote", ", ".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    finally:
        server.terminate()
        server.wait(30)


RULES = [
    {
        "name": "Refunds go to Billing",
        "trigger": "message_received",
        "active": True,
        "match": "any",
        "conditions": [
            {"field": "text", "operator": "contains", "value": "refund"},
            {"field": "text", "operator": "matches", "value": "money ?back"},
        ],
        "actions": [
            {"type": "set_priority", "value": "high"},
            {"type": "add_tags", "value": ["refund"]},
            {"type": "move_team", "value": "{billing}"},
        ],
    },
    {
        "name": "Urgent outside office hours",
        "trigger": "conversation_updated",
        "active": True,
        "conditions": [
            {"field": "priority", "operator": "equals", "value": "urgent"},
            {"field": "business_hours", "operator": "outside"},
        ],
        "actions": [{"type": "notify", "value": ["team"]}],
    },
    {
        "name": "Close after 3 quiet days",
        "trigger": "waiting_on_customer",
        "trigger_minutes": 4320,
        "actions": [{"type": "add_tags", "value": ["no-reply"]}, {"type": "close"}],
    },
]
MACROS = [
    {
        "name": "Escalate to Billing",
        "owner_id": None,
        "actions": [
            {"type": "set_priority", "value": "urgent"},
            {"type": "add_tags", "value": ["escalated"]},
            {"type": "move_team", "value": "{billing}"},
        ],
    },
    {
        "name": "Waiting on the courier",
        "owner_id": None,
        "actions": [
            {"type": "add_note", "value": "Asked the courier; back to the customer tomorrow."},
            {"type": "snooze", "value": 1440},
        ],
    },
    {
        "name": "Resolved",
        "owner_id": None,
        "actions": [{"type": "add_tags", "value": ["resolved"]}, {"type": "close"}],
    },
]


def automation(page, base: str) -> None:
    """Admin → Automation with three rules and the first one's preview, and a room with
    its Macros menu open (the rules and macros made through the API)."""
    api = httpx.Client(base_url=base, timeout=30)
    token = api.post("/auth/login", json={"username": "admin", "password": "convodesk"})
    api.headers["Authorization"] = "Bearer " + token.json()["token"]
    teams = api.get("/v1.0/teams").json()["result"]
    billing = next(t["id"] for t in teams if t["name"] == "Billing")

    def filled(body: dict) -> dict:
        for action in body["actions"]:
            if action.get("value") == "{billing}":
                action["value"] = billing
        return body

    made = [api.post("/v1.0/automation_rules", json=filled(r)).json()["id"] for r in RULES]
    for macro in MACROS:
        api.post("/v1.0/macros", json=filled(macro)).raise_for_status()
    page.goto(f"{base}/admin/automation?preview={made[0]}&sample=latest")
    page.wait_for_selector("#preview-matches")
    page.wait_for_timeout(500)
    whole(page, OUT / "automation.png")
    page.goto(base + "/")
    page.click("text=Order Support #5678")
    page.wait_for_selector("#timeline .item")
    page.click("#macro-menu summary")
    page.wait_for_selector("#macro-menu .macro-pick")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUT / "macros.png"))


def whole(page, path: Path) -> None:
    """The whole page at once: a viewport as tall as the page, rather than Playwright's
    full-page capture, which leaves the rail as short as the first screen."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1280, "height": 760})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
