"""Signing in to the desk in a real browser, and knowing when its live connection is up."""

from __future__ import annotations

import re

from conftest import LIVE_MS
from playwright.sync_api import Page, expect


def live(page: Page, timeout: float = LIVE_MS * 3) -> None:
    """Until the page's desk websocket says it is connected and caught up."""
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=timeout)


def sign_in(
    page: Page,
    base: str,
    username: str,
    password: str,
    start: str = "/",
    *,
    shows: str = "",
    wait_live: bool = False,
) -> None:
    """Open `start`, get sent to the sign-in form, sign in; then until the page shows
    `shows` (a selector) and, with `wait_live`, its live connection is up."""
    page.goto(base + start)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.card button[type=submit]")
    expect(page.locator("input[name=password]")).to_have_count(0)
    if shows:
        expect(page.locator(shows)).to_be_visible()
    if wait_live:
        live(page)


def both_viewing(
    admin: Page, manager: Page, admin_base: str, manager_base: str, room: str, password: str
) -> None:
    """The tenant's admin (on `admin_base`) and manager (on `manager_base`, the same
    server or another process) open one room; each sees the other viewing it."""
    sign_in(admin, admin_base, "acme-admin", password)
    sign_in(manager, manager_base, "acme-manager", password)
    admin.goto(f"{admin_base}/conversations/{room}")
    manager.goto(f"{manager_base}/conversations/{room}")
    for page in (admin, manager):
        live(page)
    expect(admin.locator("#viewers")).to_contain_text("Also viewing: acme-manager", timeout=LIVE_MS)
    expect(manager.locator("#viewers")).to_contain_text("Also viewing: Administrator")


def csrf_token(page: Page) -> str:
    """The CSRF token the signed-in page carries (its sign-out form's)."""
    token = page.locator("form[action='/logout'] input[name=_csrf_token]").get_attribute("value")
    assert token, "the page has no sign-out form"
    return token


def refused(page: Page, url: str) -> None:
    """Going to `url` is refused: 403, with the admins-only notice."""
    response = page.goto(url)
    assert response is not None and response.status == 403, url
    expect(page.locator(".alert")).to_contain_text("Only an admin")


def add_team(
    page: Page,
    name: str,
    member_ids: list[str],
    account_ids: list[str],
    policy: str,
    max_open: int,
    reassign_after: str | None = None,
) -> None:
    """Fill in and save Admin → Teams' new-team form (the page is open)."""
    page.click("#add-team")
    page.fill("#name", name)
    for agent_id in member_ids:
        page.check(f"#member-{agent_id}")
    for account_id in account_ids:
        page.check(f"#account-{account_id}")
    page.check(f"#policy-{policy}")
    page.fill("#max_open", str(max_open))
    if reassign_after is not None:
        page.select_option("#reassign_after", reassign_after)
    page.click("#save")
