"""The admins' webhook page in a real browser (Debian's Chromium driven by Playwright)
against its own server and a local receiver: setting the endpoint up from the nav rail,
a test event whose signature verifies with the secret the page reveals, a failing
endpoint's attempts in the log and a retry, a refused URL that keeps what was typed, the
page without JavaScript, and the door closed to managers and agents."""

# ruff: noqa: F811 - fixtures imported from webhook_kit are taken as test arguments

from __future__ import annotations

import re

import pytest
from browser_kit import csrf_token, refused, sign_in
from conftest import Tenant, own_database, wait_for
from db_kit import sql
from playwright.sync_api import expect
from providers import ProviderServer, Recorded, Reply
from webhook_kit import configure, verifies

from app.domain.enums import PUBLIC_EVENTS

# isort: split
# the module's server, database, client, tenant and receiver
from webhook_kit import client, db_url, hook_server, receiver, tenant  # noqa: F401

TWO_TYPES = ["conversation_created", "talk_created"]
REFRESH_MS = 15000  # the log polls every 5 s; a slow machine gets slack


@pytest.fixture(scope="module")
def hook_db() -> str:
    """The module's own database: only its server's dispatcher may make its deliveries."""
    return own_database("webhooks_admin")


# --- helpers -------------------------------------------------------------------------------


def sent_tests(receiver: ProviderServer, method: str = "POST") -> list[Recorded]:
    return [r for r in receiver.received(method, "/hook.*") if r.json()["type"] == "webhook_test"]


def api_customer(client, tenant: Tenant) -> dict:
    r = client.get("/v1.0/customer", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def api_secret(client, tenant: Tenant) -> dict:
    r = client.get("/v1.0/customer/webhook_secret", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def api_deliveries(client, tenant: Tenant, **params) -> list[dict]:
    r = client.get("/v1.0/webhook_deliveries", headers=tenant.admin, params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def shown_time(api_time: str) -> str:
    """How the page writes an API time: to the second, in UTC."""
    return api_time.split(".")[0] + " UTC"


# --- the tests -----------------------------------------------------------------------------


def test_admin_sets_up_the_endpoint_from_the_nav(
    hook_server, hook_db, tenant, new_page, client, receiver
):
    page = new_page()
    sign_in(page, hook_server.url, "acme-admin", tenant.password, shows="#inbox-list")

    page.click("#nav-webhooks")
    expect(page).to_have_url(re.compile(r"/admin/webhooks$"))
    expect(page.locator("h1")).to_have_text("Webhooks")
    expect(page.locator("#nav-webhooks")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.locator(".admin-menu-item.active")).to_have_text("Webhooks")
    expect(page.locator("#endpoint-status")).to_contain_text("Webhooks are off")
    expect(page.locator("#no-deliveries")).to_contain_text("No deliveries yet")
    expect(page.locator("input[name=webhook_events]:checked")).to_have_count(0)
    expect(page.locator("#events-saved")).to_contain_text("every event type")

    uri = receiver.url + "/hook/acme"
    page.select_option("#webhook_method", "PUT")
    page.fill("#webhook_uri", uri)
    for event_type in TWO_TYPES:
        page.check(f"#ev-{event_type}")
    page.click("#save")

    expect(page).to_have_url(re.compile(r"/admin/webhooks\?saved=1$"))
    expect(page.locator("#saved")).to_contain_text("Saved")
    expect(page.locator("#webhook_uri")).to_have_value(uri)
    expect(page.locator("#webhook_method")).to_have_value("PUT")
    checked = page.locator("input[name=webhook_events]:checked")
    assert sorted(checked.evaluate_all("els => els.map(e => e.value)")) == TWO_TYPES
    expect(page.locator("#events-saved")).to_contain_text(f"2 of {len(PUBLIC_EVENTS)} event types")
    expect(page.locator("#endpoint-status")).to_contain_text(f"Enabled — sending with PUT to {uri}")
    saved = api_customer(client, tenant)
    assert saved["webhook_uri"] == uri
    assert saved["webhook_method"] == "PUT"
    assert saved["webhook_events"] == TWO_TYPES
    assert saved["webhook_status"] == "enabled"

    # ticking every box is "every type": saved as [], shown as no box ticked
    for box in page.locator("input[name=webhook_events]").all():
        box.check()
    page.click("#save")
    expect(page.locator("#saved")).to_be_visible()
    assert api_customer(client, tenant)["webhook_events"] == []
    expect(page.locator("input[name=webhook_events]:checked")).to_have_count(0)
    expect(page.locator("#events-saved")).to_contain_text("every event type")

    # an endpoint disabled by a 410 says so and why; saving enables it again
    sql(
        hook_db,
        "UPDATE customers SET webhook_disabled_at = now(), webhook_disabled_reason = $2"
        " WHERE id = $1",
        tenant.customer_id,
        "HTTP 410 Gone: the endpoint is disabled.",
    )
    page.reload()
    status = page.locator("#endpoint-status")
    expect(status).to_contain_text("Webhooks are disabled")
    expect(status).to_contain_text("HTTP 410 Gone: the endpoint is disabled.")
    expect(status).to_contain_text("save the settings below")
    page.click("#save")
    expect(page.locator("#endpoint-status")).to_contain_text("Enabled")
    assert api_customer(client, tenant)["webhook_status"] == "enabled"


def test_test_event_is_signed_with_the_secret_the_page_reveals(
    hook_server, tenant, new_page, client, receiver
):
    configure(client, tenant, receiver.url + "/hook", webhook_events=TWO_TYPES)
    secret = api_secret(client, tenant)["webhook_secret"]
    page = new_page()
    sign_in(page, hook_server.url, "acme-admin", tenant.password, start="/admin/webhooks")

    # hidden until asked for; then fetched into place
    expect(page.locator("#webhook-secret")).to_have_count(0)
    assert secret not in page.content()
    expect(page.locator("#verify-help")).to_contain_text("webhook-signature")
    page.click("#reveal")
    expect(page.locator("#webhook-secret")).to_have_value(secret)
    expect(page).to_have_url(re.compile(r"/admin/webhooks$"))  # in place
    revealed = page.locator("#webhook-secret").input_value()

    # a test event goes out whatever types the endpoint takes, signed with that secret
    page.click("#send-test")
    expect(page.locator("#test-result")).to_contain_text("Test event sent")
    [request] = wait_for(lambda: sent_tests(receiver), timeout=20)
    assert verifies(request, revealed)
    body = request.json()
    assert body["type"] == "webhook_test" and body["id"] == request.headers["webhook-id"]
    # and it shows in the log (the list refreshes itself), delivered
    (delivery,) = wait_for(lambda: api_deliveries(client, tenant, status="delivered"), timeout=20)
    row = page.locator(f"#row-{delivery['id']}")
    expect(row.locator(".wh-type")).to_have_text("webhook_test", timeout=REFRESH_MS)
    expect(row.locator(".wh-badge")).to_contain_text("delivered", timeout=REFRESH_MS)
    expect(row.locator(".wh-code")).to_have_text("HTTP 200")
    expect(row.locator(".wh-attempt-count")).to_have_text("1 attempt")
    expect(row.locator(".wh-event-id")).to_contain_text(delivery["event_id"])

    # rotating asks first, on the page; then the new secret shows, and until when the old
    # one signs beside it
    confirm = page.locator("#rotate-confirm")
    expect(confirm).to_be_hidden()
    page.click("#rotate summary")
    confirm.click()
    expect(page.locator("#rotated")).to_contain_text("The old secret keeps signing until")
    rotated = api_secret(client, tenant)
    assert rotated["webhook_secret"] != revealed
    expect(page.locator("#webhook-secret")).to_have_value(rotated["webhook_secret"])
    expect(page.locator("#rotated .expires")).to_have_text(
        shown_time(rotated["previous_secret_expires"])
    )
    receiver.clear()
    page.click("#send-test")
    [request] = wait_for(lambda: sent_tests(receiver), timeout=20)
    assert verifies(request, rotated["webhook_secret"])
    assert verifies(request, revealed)  # receivers still holding the old one verify too


def test_a_failing_endpoint_shows_in_the_log_and_retry_tries_again(
    hook_server, hook_db, tenant, new_page, client, receiver
):
    receiver.route(
        "POST", "/hook.*", lambda r, m: Reply(status=500, body="<b>down</b> for maintenance")
    )
    # only room events: signing in to the desk makes the admin online, which is an event too
    configure(client, tenant, receiver.url + "/hook", webhook_events=["conversation_created"])
    page = new_page()
    sign_in(page, hook_server.url, "acme-admin", tenant.password, start="/admin/webhooks")
    page.click("#send-test")
    expect(page.locator("#test-result")).to_contain_text("Test event sent")

    # the first attempt fails (recorded: pending again, with its attempt logged); the clock
    # is held so that only Retry can bring the second
    (delivery,) = wait_for(
        lambda: [
            d
            for d in api_deliveries(client, tenant)
            if d["status"] == "pending" and len(d["attempts"]) == 1
        ],
        timeout=20,
    )
    sql(
        hook_db,
        "UPDATE webhook_deliveries SET next_try_at = now() + interval '1 hour' WHERE id = $1",
        delivery["id"],
    )
    (delivery,) = api_deliveries(client, tenant)
    assert delivery["status"] == "pending" and delivery["attempt_count"] == 1
    assert len(sent_tests(receiver)) == 1

    page.reload()
    row = page.locator(f"#row-{delivery['id']}")
    expect(row.locator(".wh-badge")).to_contain_text("pending")
    expect(row.locator(".wh-code")).to_have_text("HTTP 500")
    expect(row.locator(".wh-attempt-count")).to_have_text("1 attempt")
    expect(row.locator(".wh-next")).to_contain_text("next try in 60 min")
    expect(row.locator(".wh-next")).to_contain_text(shown_time(delivery["next_try_at"]))
    expect(row.locator(".wh-last-error")).to_contain_text("HTTP 500")

    # expanded: the attempt, its latency, error and the response's start, as text
    attempts = row.locator(".wh-attempt")
    expect(attempts.first).to_be_hidden()
    row.locator("summary").click()
    expect(attempts).to_have_count(1)
    expect(attempts.first).to_be_visible()
    expect(attempts.first.locator(".at-code")).to_have_text("500")
    expect(attempts.first.locator(".at-latency")).to_have_text(re.compile(r"^\d+ ms$"))
    expect(attempts.first.locator(".at-error")).to_contain_text("HTTP 500")
    expect(attempts.first.locator(".at-response")).to_have_text("<b>down</b> for maintenance")
    expect(attempts.first.locator(".at-response b")).to_have_count(0)

    # Retry: the second attempt comes now, and shows in the row left open
    row.locator(".wh-retry button").click()
    wait_for(lambda: len(sent_tests(receiver)) == 2, timeout=20)
    expect(page).to_have_url(re.compile(r"/admin/webhooks$"))  # answered in place
    expect(attempts).to_have_count(2, timeout=REFRESH_MS)
    expect(row.locator(".wh-attempt-count")).to_have_text("2 attempts")
    expect(page.locator(f"#delivery-{delivery['id']}")).to_have_attribute("open", "")
    expect(attempts.nth(1).locator(".at-code")).to_have_text("500")
    after = api_deliveries(client, tenant)[0]
    assert after["attempt_count"] == 2 and len(after["attempts"]) == 2

    # the filters are GET parameters, and the refreshing list keeps them
    page.select_option("#filter-status", "delivered")
    page.click("#filter")
    expect(page).to_have_url(re.compile(r"status=delivered"))
    expect(page.locator("#no-deliveries")).to_contain_text("No deliveries match")
    expect(page.locator("#deliveries")).to_have_attribute(
        "hx-get", "/admin/webhooks/deliveries?status=delivered"
    )
    page.select_option("#filter-status", "")
    page.select_option("#filter-type", "webhook_test")
    page.click("#filter")
    expect(page).to_have_url(re.compile(r"event_type=webhook_test"))
    expect(page.locator(f"#row-{delivery['id']}")).to_be_visible()
    expect(page.locator("#deliveries")).to_have_attribute(
        "hx-get", "/admin/webhooks/deliveries?event_type=webhook_test"
    )
    expect(page.locator("#deliveries")).to_have_attribute("hx-trigger", "every 5s")


def test_the_log_pages_back_with_older(hook_server, tenant, new_page, client, receiver):
    """More deliveries than a page: "Older" shows the next ones, newest first."""
    configure(client, tenant, receiver.url + "/hook", webhook_events=["conversation_created"])
    for n in range(25):
        r = client.post(
            "/v1.0/conversations",
            headers=tenant.admin,
            json={"name": f"Room {n}", "participants": [{"type": "tel", "target": "+15551230000"}]},
        )
        assert r.status_code == 201, r.text
    wait_for(lambda: len(api_deliveries(client, tenant, status="delivered")) == 25, timeout=30)
    everything = api_deliveries(client, tenant)
    page = new_page()
    sign_in(page, hook_server.url, "acme-admin", tenant.password, start="/admin/webhooks")
    rows = page.locator(".wh-row")
    expect(rows).to_have_count(20)
    first = rows.evaluate_all("els => els.map(e => e.id.slice(4))")
    assert first == [d["id"] for d in everything[:20]]
    page.click("#older")
    expect(page).to_have_url(re.compile(r"page_token="))
    expect(rows).to_have_count(5)
    rest = rows.evaluate_all("els => els.map(e => e.id.slice(4))")
    assert rest == [d["id"] for d in everything[20:]]
    expect(page.locator("#older")).to_have_count(0)
    page.click("#newest")
    expect(rows).to_have_count(20)


def test_an_invalid_url_is_refused_and_kept(hook_server, tenant, new_page, client):
    page = new_page()
    sign_in(page, hook_server.url, "acme-admin", tenant.password, start="/admin/webhooks")
    page.select_option("#webhook_method", "PUT")
    page.fill("#webhook_uri", "ftp://x")
    page.check("#ev-talk_created")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#save")
    assert answer.value.status == 422
    expect(page.locator("#form-error")).to_contain_text("http:// or https://")
    expect(page.locator("#webhook_uri")).to_have_value("ftp://x")
    expect(page.locator("#webhook_uri")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#webhook_method")).to_have_value("PUT")
    expect(page.locator("#ev-talk_created")).to_be_checked()
    expect(page.locator("input[name=webhook_events]:checked")).to_have_count(1)
    unchanged = api_customer(client, tenant)
    assert unchanged["webhook_uri"] == "" and unchanged["webhook_events"] == []
    assert unchanged["webhook_method"] == "POST"

    # a test event with no endpoint says what is missing
    page.goto(hook_server.url + "/admin/webhooks")
    page.click("#send-test")
    expect(page.locator("#test-result")).to_contain_text("Set a webhook_uri")
    assert api_deliveries(client, tenant) == []


def test_the_page_works_without_javascript(hook_server, tenant, browser, client, receiver):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, hook_server.url, "acme-admin", tenant.password, start="/admin/webhooks")
        page.fill("#webhook_uri", receiver.url + "/hook")
        page.check("#ev-conversation_closed")
        page.click("#save")
        expect(page).to_have_url(re.compile(r"/admin/webhooks\?saved=1$"))
        assert api_customer(client, tenant)["webhook_events"] == ["conversation_closed"]

        page.click("#reveal")
        expect(page).to_have_url(re.compile(r"reveal=1"))
        old = api_secret(client, tenant)["webhook_secret"]
        expect(page.locator("#webhook-secret")).to_have_value(old)

        page.click("#send-test")
        expect(page).to_have_url(re.compile(r"tested=1"))
        expect(page.locator("#test-result")).to_contain_text("Test event sent")
        [request] = wait_for(lambda: sent_tests(receiver), timeout=20)
        assert verifies(request, old)

        page.click("#rotate summary")
        page.click("#rotate-confirm")
        expect(page).to_have_url(re.compile(r"rotated=1"))
        new = api_secret(client, tenant)
        assert new["webhook_secret"] != old
        expect(page.locator("#webhook-secret")).to_have_value(new["webhook_secret"])
        expect(page.locator("#rotated")).to_contain_text(
            "The old secret keeps signing until " + shown_time(new["previous_secret_expires"])
        )

        (delivery,) = wait_for(lambda: api_deliveries(client, tenant, status="delivered"))
        page.goto(hook_server.url + "/admin/webhooks?event_type=webhook_test")
        page.locator(f"#row-{delivery['id']} .wh-retry button").click()
        expect(page).to_have_url(re.compile(r"event_type=webhook_test#delivery-"))
        wait_for(lambda: len(sent_tests(receiver)) == 2, timeout=20)
        replay = sent_tests(receiver)[1]
        assert replay.headers["webhook-id"] == request.headers["webhook-id"]
    finally:
        context.close()


def test_managers_and_agents_get_no_webhooks(hook_server, tenant, new_page, client, receiver):
    # only room events: signing in to the desk makes the agent online, which is an event too
    configure(client, tenant, receiver.url + "/hook", webhook_events=["conversation_created"])
    for username in ("acme-manager", "acme-agent"):
        page = new_page()
        sign_in(page, hook_server.url, username, tenant.password, shows="#inbox-list")
        expect(page.locator("nav.rail a[title=Inbox]")).to_be_visible()
        expect(page.locator("#nav-webhooks")).to_have_count(0)
        expect(page.locator("a[href='/admin/webhooks']")).to_have_count(0)
        csrf = csrf_token(page)
        refused(page, hook_server.url + "/admin/webhooks")
        assert page.goto(hook_server.url + "/admin/webhooks/deliveries").status == 403
        assert page.goto(hook_server.url + "/admin/webhooks?reveal=1").status == 403
        for path in ("/admin/webhooks/test", "/admin/webhooks/secret", "/admin/webhooks"):
            denied = page.request.post(hook_server.url + path, form={"_csrf_token": csrf})
            assert denied.status == 403, path
            assert "whsec_" not in denied.text()
    secret = api_secret(client, tenant)
    assert secret["previous_secret_expires"] == ""  # nobody rotated it
    assert api_deliveries(client, tenant) == []
    assert sent_tests(receiver) == []
    # signed out: to the sign-in page, and back after
    page = new_page()
    page.goto(hook_server.url + "/admin/webhooks")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/webhooks"))
    page.fill("input[name=username]", "acme-admin")
    page.fill("input[name=password]", tenant.password)
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/webhooks$"))
    expect(page.locator("#endpoint-status")).to_contain_text("Enabled")
