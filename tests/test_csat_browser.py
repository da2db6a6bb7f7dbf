"""A satisfaction survey in real browsers (Debian's Chromium, Playwright), against a real
server: an admin turns surveys on in the web chat account's form; a visitor chats on the
customer's site; the room closes and the widget's rating card appears live; the visitor
rates it, and the agent's open room shows the rating and the comment live — as text."""

from __future__ import annotations

import re

import browser_kit
from conftest import LIVE_MS, free_port
from playwright.sync_api import expect
from test_widget_browser import SNIPPET, HostSite, open_widget


def test_a_visitor_rates_a_closed_chat_and_the_desk_shows_it_live(server, client, tenant, new_page):
    agent = new_page()
    browser_kit.sign_in(agent, server.url, "acme-admin", tenant.password, "/admin/channels/new")
    agent.goto(server.url + "/admin/channels/new?type=webchat")
    agent.fill("#name", "Website")
    agent.fill("#f_title", "Acme help")
    agent.select_option("#f_csat", "on")
    agent.fill("#f_csat_question", "How was our chat?")
    agent.click("#save")
    expect(agent).to_have_url(re.compile(r"/admin/channels\?created="))
    (account,) = client.get("/v1.0/conversation_accounts", headers=tenant.admin).json()["result"]
    assert account["settings"]["csat"] == "on"
    site = HostSite(SNIPPET.format(base=server.url, account_id=account["id"]), free_port())
    try:
        visitor = new_page()
        visitor.goto(site.origin + "/")
        open_widget(visitor)
        box = visitor.get_by_role("textbox", name="Message")
        box.fill("Do you gift-wrap?")
        box.press("Enter")
        expect(visitor.locator("li.msg.visitor .meta")).to_have_text("", timeout=LIVE_MS)
        (room,) = client.get("/v1.0/conversations", headers=tenant.admin).json()["result"]

        agent.goto(f"{server.url}/conversations/{room['id']}")
        browser_kit.live(agent)
        expect(agent.locator("#csat-panel")).to_have_count(0)
        r = client.put(
            f"/v1.0/conversations/{room['id']}", headers=tenant.admin, json={"status": "closed"}
        )
        assert r.status_code == 200, r.text

        # the card arrives over the visitor's socket, with the account's question
        card = visitor.locator("li.survey")
        expect(card).to_contain_text("How was our chat?", timeout=LIVE_MS * 2)
        send = card.get_by_role("button", name="Send rating")
        send.click()
        expect(card.locator(".note")).to_have_text("Choose a number from 1 to 5 first.")
        card.get_by_role("button", name="4 of 5").click()
        expect(card.get_by_role("button", name="4 of 5")).to_have_attribute("aria-pressed", "true")
        card.get_by_role("textbox", name="Comment").fill("Lovely <b>help</b>")
        send.click()
        expect(card).to_contain_text("Thank you for your rating (4/5)!", timeout=LIVE_MS)

        # the agent's open room shows it without a reload; the comment stays text
        panel = agent.locator("#csat-panel")
        expect(panel.locator("#csat-rating")).to_have_text("4/5", timeout=LIVE_MS)
        expect(panel.locator("#csat-comment")).to_have_text("“Lovely <b>help</b>”")
        assert panel.locator("b").count() == 0
        expect(agent.locator("#timeline")).to_contain_text(
            "The customer rated the conversation 4/5"
        )

        # a reload of the site shows no card any more: the chat is rated
        visitor.reload()  # the widget opens by itself: it was open
        expect(visitor.get_by_role("dialog", name="Acme help")).to_be_visible()
        expect(visitor.locator("li.msg.visitor .text")).to_have_text(["Do you gift-wrap?"])
        expect(visitor.locator("li.survey")).to_have_count(0)
    finally:
        site.close()
    (rated,) = client.get("/v1.0/csat_responses", headers=tenant.admin).json()["result"]
    assert (rated["rating"], rated["comment"], rated["reference_type"]) == (
        4,
        "Lovely <b>help</b>",
        "webchat",
    )
