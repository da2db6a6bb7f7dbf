"""The web chat widget in a real browser (Debian's Chromium driven by Playwright), embedded
by its one <script> tag in a page served from another origin, against a real server: the
visitor writes, an agent at the desk sees it live and replies, the visitor sees the reply
live, the history survives a reload, name and email reach the desk, HTML stays text, and
the panel fits a phone."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from browser_kit import live
from conftest import LIVE_MS, free_port
from playwright.sync_api import Page, expect
from test_desk_browser import row, sign_in

SNIPPET = '<script src="{base}/widget/{account_id}/widget.js" async></script>'


class HostSite:
    """The customer's own website on another origin: one page holding only the snippet."""

    def __init__(self, html: str, port: int):
        body = html.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                """No request log: the test output stays readable."""

        self.origin = f"http://127.0.0.1:{port}"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site(server, client, tenant):
    """A web chat account that allows only the host site, and the site embedding it."""
    port = free_port()
    settings = {
        "title": "Acme help",
        "greeting": "Hi! Ask us anything.",
        "allowed_origins": f"http://127.0.0.1:{port}",
    }
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "webchat", "name": "Website", "settings": settings},
    )
    assert r.status_code == 201, r.text
    host = HostSite(SNIPPET.format(base=server.url, account_id=r.json()["id"]), port)
    yield host
    host.close()


def widget(page: Page):
    return page.locator("[data-convodesk-widget]")


def open_widget(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^Open chat")).click()
    expect(page.get_by_role("dialog", name="Acme help")).to_be_visible()


def bubbles(page: Page, author: str):
    return page.locator(f"li.msg.{author}:not(.greeting) .text")


def test_visitor_and_agent_chat_live_across_origins(server, tenant, site, new_page, client):
    visitor = new_page()
    visitor.goto(site.origin + "/")
    open_widget(visitor)
    expect(visitor.get_by_role("log", name="Messages")).to_contain_text("Hi! Ask us anything.")
    expect(widget(visitor)).to_have_attribute("data-state", "live", timeout=LIVE_MS * 2)

    agent = new_page()
    sign_in(agent, server.url, "acme-admin", tenant.password)

    # the visitor writes (Enter sends); the desk's inbox shows it live
    box = visitor.get_by_role("textbox", name="Message")
    box.fill("Hello from the website")
    box.press("Enter")
    expect(bubbles(visitor, "visitor")).to_have_text(["Hello from the website"])
    expect(visitor.locator("li.msg.visitor .meta")).to_have_text("", timeout=LIVE_MS)
    expect(box).to_have_value("")
    rooms = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]
    (room,) = rooms
    expect(row(agent, room["id"])).to_contain_text("Hello from the website", timeout=LIVE_MS)

    # the agent opens the room and replies; the visitor sees it without reloading
    row(agent, room["id"]).locator("a").click()
    expect(agent.locator("#timeline")).to_contain_text("Hello from the website")
    live(agent)
    agent.fill("#reply-text", "Sure — we <b>ship</b> today.")
    agent.click("#send")
    expect(bubbles(visitor, "agent")).to_have_text(
        ["Sure — we <b>ship</b> today."], timeout=LIVE_MS
    )
    expect(visitor.locator("li.msg.agent:not(.greeting) .who")).to_have_text("Support")

    # the visitor writes more while the agent watches the room
    box.fill("<b>html</b> stays text")
    box.press("Enter")
    expect(agent.locator("#timeline")).to_contain_text("<b>html</b> stays text", timeout=LIVE_MS)
    expect(bubbles(visitor, "visitor").last).to_have_text("<b>html</b> stays text")
    # no markup reached the DOM: no <b> element anywhere in the widget's messages
    assert visitor.locator("li.msg b").count() == 0

    # a reload of the host page keeps the visitor and the history
    visitor.reload()
    expect(bubbles(visitor, "visitor")).to_have_text(
        ["Hello from the website", "<b>html</b> stays text"], timeout=LIVE_MS
    )
    expect(bubbles(visitor, "agent")).to_have_text(["Sure — we <b>ship</b> today."])
    expect(widget(visitor)).to_have_attribute("data-state", "live", timeout=LIVE_MS * 2)
    # ...and it is live again after the reload
    agent.fill("#reply-text", "Anything else?")
    agent.click("#send")
    expect(bubbles(visitor, "agent").last).to_have_text("Anything else?", timeout=LIVE_MS)

    # name and email: the desk's room shows the email participant
    visitor.get_by_text("Leave your name and email so we can reply by email").click()
    visitor.get_by_role("textbox", name="Name").fill("Dana Scully")
    visitor.get_by_role("textbox", name="Email").fill("dana@example.com")
    visitor.get_by_role("button", name="Save").click()
    expect(visitor.locator(".identify .note")).to_contain_text("dana@example.com")
    people = agent.locator("#context .people")
    expect(people).to_contain_text("dana@example.com", timeout=LIVE_MS)
    expect(people).to_contain_text("Dana Scully")
    room = client.get(f"/v1.0/conversations/{room['id']}", headers=tenant.admin).json()
    assert ("email", "dana@example.com") in {(p["type"], p["target"]) for p in room["participants"]}


def test_a_bad_email_is_explained_and_the_panel_fits_a_phone(server, site, new_page, client):
    phone = new_page(375, 667)
    phone.goto(site.origin + "/")
    launcher = phone.get_by_role("button", name=re.compile("^Open chat"))
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.focus()
    phone.keyboard.press("Enter")  # reachable and usable from the keyboard
    expect(launcher).to_have_attribute("aria-expanded", "true")
    panel = phone.get_by_role("dialog", name="Acme help")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None and box["width"] == 375 and box["height"] == 667
    expect(phone.get_by_role("textbox", name="Message")).to_be_focused()

    phone.get_by_text("Leave your name and email so we can reply by email").click()
    phone.get_by_role("textbox", name="Email").fill("not an email")
    phone.get_by_role("button", name="Save").click()
    expect(phone.locator(".identify .note.error")).to_contain_text("email address")

    phone.get_by_role("button", name="Close chat").click()
    expect(panel).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
