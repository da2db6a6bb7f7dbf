"""The admins' channel pages in a real browser (Debian's Chromium driven by Playwright)
against a real server: from the nav rail to adding, editing, testing and deleting a
channel, errors that keep what was typed, secrets that never reach the page, and the
door closed to agents and managers."""

from __future__ import annotations

import re
import secrets as random

from conftest import wait_for
from playwright.sync_api import Page, expect

URL = "/v1.0/conversation_accounts"
SMS_NUMBER = "+15551230001"


def sign_in(page: Page, base: str, username: str, password: str, start: str = "/") -> None:
    page.goto(base + start)
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.card button[type=submit]")
    expect(page.locator("input[name=password]")).to_have_count(0)


def card(page: Page, account_id: str):
    return page.locator(f"#account-{account_id}")


def api_accounts(client, tenant) -> list[dict]:
    r = client.get(URL, headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_admin_adds_edits_tests_and_deletes_a_channel(server, tenant, new_page, client):
    loopback = tenant.channel("message")
    refusing = tenant.channel("message", address="+15550009999", simulate="fail")
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password)
    expect(page.locator("#inbox-list")).to_be_visible()

    # Admin → Channels from the nav rail; the demo's loopback accounts are listed, marked
    page.click("#nav-admin")
    expect(page).to_have_url(re.compile(r"/admin/channels$"))
    expect(page.locator("h1")).to_have_text("Channels")
    expect(card(page, loopback.id).locator(".acct-type")).to_contain_text("Loopback (demo)")
    expect(page.locator(".admin-menu-item.active")).to_have_text("Channels")

    # add an SMS account through the form generated from the driver's fields
    page.click("#add-channel")
    expect(page.locator(".type-card")).to_have_count(5)  # no loopback on offer
    expect(page.locator("#type-loopback")).to_have_count(0)
    page.click("#type-sms")
    expect(page.locator("label[for=f_account_sid]")).to_contain_text("Account SID")
    expect(page.locator("label[for=f_account_sid] .req")).to_be_visible()
    expect(page.locator("#f_auth_token")).to_have_attribute("type", "password")
    expect(page.locator("#help-phone_number")).to_contain_text("E.164")
    sid = "AC" + random.token_hex(16)
    token = "auth-" + random.token_hex(16)
    page.fill("#name", "Support line (US)")
    page.fill("#f_phone_number", SMS_NUMBER)
    page.fill("#f_account_sid", sid)
    page.fill("#f_auth_token", token)
    page.click("#save")

    # the webhook URLs, prominently, exactly as the API gives them
    expect(page).to_have_url(re.compile(r"/admin/channels\?created="))
    created = page.locator("#created")
    expect(created).to_contain_text("Now paste this into the Twilio console")
    (sms,) = [a for a in api_accounts(client, tenant) if a["type"] == "sms"]
    assert sms["settings"]["account_sid"] == sid and sms["secrets_set"] == ["auth_token"]
    shown = created.locator(".copy-value").evaluate_all("els => els.map(e => e.value)")
    assert shown == list(sms["webhook_urls"].values())
    assert shown[0] == f"{server.url}/hooks/sms/{sms['id']}"
    in_card = card(page, sms["id"]).locator(".hook .copy-value")
    assert in_card.evaluate_all("els => els.map(e => e.value)") == shown
    expect(card(page, sms["id"]).locator(".acct-secrets")).to_have_text("auth_token")
    expect(card(page, sms["id"]).locator(".acct-address")).to_have_text(SMS_NUMBER)
    assert token not in page.content()

    # edit: prefilled settings, the secret shown only as "set"; rename and keep the token
    card(page, sms["id"]).locator("a.edit").click()
    expect(page.locator("#name")).to_have_value("Support line (US)")
    expect(page.locator("#f_account_sid")).to_have_value(sid)
    expect(page.locator("#f_auth_token")).to_have_value("")
    expect(page.locator("#set-auth_token")).to_contain_text("set — leave blank to keep")
    assert token not in page.content()
    page.fill("#name", "Support line (EU)")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/admin/channels\?saved="))
    expect(page.locator(".notice.ok")).to_contain_text("Support line (EU)")
    expect(card(page, sms["id"]).locator(".acct-name")).to_have_text("Support line (EU)")
    after = client.get(f"{URL}/{sms['id']}", headers=tenant.admin).json()
    assert after["name"] == "Support line (EU)"
    assert after["secrets_set"] == ["auth_token"] and after["settings"] == sms["settings"]

    # a test message through a loopback account: ✓ with the provider's id, or ⚠ the reason
    ok = card(page, loopback.id)
    ok.locator("input[name=to]").fill("+15557654321")
    ok.locator("button", has_text="Send test message").click()
    result = page.locator(f"#test-result-{loopback.id}")
    expect(result).to_contain_text("✓ Sent", timeout=10000)
    expect(result.locator(".provider-id")).to_have_text(re.compile(r"^loopback-"))
    bad = card(page, refusing.id)
    bad.locator("input[name=to]").fill("+15557654321")
    bad.locator("button", has_text="Send test message").click()
    expect(page.locator(f"#test-result-{refusing.id}")).to_contain_text(
        "⚠ Not sent: loopback: the account is set to refuse messages", timeout=10000
    )
    expect(page).to_have_url(re.compile(r"/admin/channels\?saved="))  # answered in place

    # delete, after a confirm step on the page itself
    sms_card = card(page, sms["id"])
    confirm = sms_card.locator("button.danger")
    expect(confirm).to_be_hidden()
    sms_card.locator("summary", has_text="Delete").click()
    expect(sms_card.locator(".delete")).to_contain_text("Delete “Support line (EU)”?")
    confirm.click()
    expect(page).to_have_url(re.compile(r"/admin/channels\?deleted=true"))
    expect(page.locator(".notice")).to_contain_text("Channel deleted")
    expect(card(page, sms["id"])).to_have_count(0)
    assert client.get(f"{URL}/{sms['id']}", headers=tenant.admin).status_code == 404
    expect(card(page, loopback.id)).to_be_visible()

    # back to the inbox from the same nav rail
    page.locator("nav.rail a[title=Inbox]").click()
    expect(page.locator("#inbox-list")).to_be_visible()


def test_the_test_form_works_without_javascript(server, tenant, browser):
    loopback = tenant.channel("message")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/channels")
        expect(page).to_have_url(re.compile(r"/admin/channels$"))
        page.locator(f"#account-{loopback.id} input[name=to]").fill("+15557654321")
        page.locator(f"#account-{loopback.id} button", has_text="Send test message").click()
        expect(page.locator(f"#test-result-{loopback.id}")).to_contain_text("✓ Sent")
    finally:
        context.close()


def test_a_refused_form_keeps_what_was_typed_but_not_secrets(server, tenant, new_page, client):
    taken = client.post(
        URL,
        headers=tenant.admin,
        json={
            "type": "sms",
            "settings": {"phone_number": SMS_NUMBER, "account_sid": "AC" + "1" * 32},
            "secret": "first-token",
        },
    )
    assert taken.status_code == 201, taken.text
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/channels/new?type=sms")
    sid = "AC" + random.token_hex(16)
    token = "typed-token-" + random.token_hex(8)
    page.fill("#name", "Second line")
    page.fill("#f_phone_number", SMS_NUMBER)
    page.fill("#f_account_sid", sid)
    page.fill("#f_auth_token", token)
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("already has this address")
    expect(page.locator("#name")).to_have_value("Second line")
    expect(page.locator("#f_phone_number")).to_have_value(SMS_NUMBER)
    expect(page.locator("#f_account_sid")).to_have_value(sid)
    expect(page.locator("#f_auth_token")).to_have_value("")
    assert token not in page.content()
    assert len(api_accounts(client, tenant)) == 1

    # the service's own checks, as a browser without form validation meets them
    page.goto(server.url + "/admin/channels/new?type=email")
    page.fill("#name", "Mailbox")
    page.fill("#f_address", "help@acme.example")
    page.fill("#f_smtp_password", "pw-" + random.token_hex(8))
    page.eval_on_selector("#account-form", "f => { f.noValidate = true; }")
    page.click("#save")
    expect(page.locator("#form-error")).to_contain_text("smtp_host")
    expect(page.locator("#f_smtp_host")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f_address")).to_have_value("help@acme.example")
    expect(page.locator("#f_smtp_port")).to_have_value("587")
    expect(page.locator("#name")).to_have_value("Mailbox")
    assert len(api_accounts(client, tenant)) == 1


def test_agents_and_managers_see_no_admin(server, tenant, new_page, client):
    loopback = tenant.channel("message")
    for username in ("acme-agent", "acme-manager"):
        page = new_page()
        sign_in(page, server.url, username, tenant.password)
        expect(page.locator("#inbox-list")).to_be_visible()
        expect(page.locator("nav.rail a[title=Inbox]")).to_be_visible()
        expect(page.locator("#nav-admin")).to_have_count(0)
        csrf = page.locator("form[action='/logout'] input[name=_csrf_token]").get_attribute("value")
        response = page.goto(server.url + "/admin/channels")
        assert response.status == 403
        expect(page.locator(".alert")).to_contain_text("Only an admin")
        assert page.goto(server.url + "/admin/channels/new?type=sms").status == 403
        # a well-formed post (with the CSRF token) is refused for who is asking
        denied = page.request.post(
            f"{server.url}/admin/channels/{loopback.id}/delete", form={"_csrf_token": csrf}
        )
        assert denied.status == 403
        assert "Only an admin" in denied.text()
    assert client.get(f"{URL}/{loopback.id}", headers=tenant.admin).status_code == 200
    # signed out: to the sign-in page, and back after
    page = new_page()
    page.goto(server.url + "/admin/channels")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/channels"))
    page.fill("input[name=username]", "acme-admin")
    page.fill("input[name=password]", tenant.password)
    page.click("form.card button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/channels$"))


def test_secrets_never_reach_the_page(server, tenant, new_page, client):
    secret_values = {
        "auth_token": "twilio-" + random.token_hex(12),
        "smtp_password": "smtp-" + random.token_hex(12),
        "channel_secret": "lsec-" + random.token_hex(12),
        "channel_access_token": "ltok-" + random.token_hex(12),
        "access_token": "EAAG" + random.token_hex(12),
        "app_secret": "wsec-" + random.token_hex(12),
    }
    bodies = [
        {
            "type": "sms",
            "name": "<b>SMS</b>",
            "settings": {"phone_number": SMS_NUMBER, "account_sid": "AC" + "2" * 32},
            "secrets": {"auth_token": secret_values["auth_token"]},
        },
        {
            "type": "email",
            "settings": {"address": "help@acme.example", "smtp_host": "smtp.acme.example"},
            "secrets": {"smtp_password": secret_values["smtp_password"]},
        },
        {
            "type": "line",
            "settings": {"channel_id": "2001234567"},
            "secret": secret_values["channel_secret"],
            "token": secret_values["channel_access_token"],
        },
        {
            "type": "whatsapp",
            "settings": {"phone_number_id": "106540352242922"},
            "secrets": {k: secret_values[k] for k in ("access_token", "app_secret")},
        },
        {"type": "webchat", "settings": {"title": "Talk to us"}},
    ]
    ids = []
    for body in bodies:
        r = client.post(URL, headers=tenant.admin, json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    page = new_page()
    sign_in(page, server.url, "acme-admin", tenant.password, start="/admin/channels")
    wait_for(lambda: page.locator(".acct").count() == 5, timeout=20)
    htmls = [page.content(), page.request.get(server.url + "/admin/channels").text()]
    for account_id in ids:
        page.goto(f"{server.url}/admin/channels/{account_id}/edit")
        expect(page.locator("#account-form")).to_be_visible()
        htmls.append(page.content())
    for html in htmls:
        for value in secret_values.values():
            assert value not in html
    # the names of the set secrets are shown, and an account name is text, not markup
    page.goto(server.url + "/admin/channels")
    expect(card(page, ids[2]).locator(".acct-secrets")).to_have_text(
        "channel_access_token, channel_secret"
    )
    expect(card(page, ids[0]).locator(".acct-name")).to_have_text("<b>SMS</b>")
    # an email account says where to point its mail: this server's SMTP port
    expect(card(page, ids[1]).locator(".smtp-port")).to_have_text(str(server.smtp_port))
    # the web chat account shows its embed code, ready to copy
    snippet = card(page, ids[4]).locator("textarea.snippet").input_value()
    assert "<script" in snippet and f"/widget/{ids[4]}/" in snippet
    # an optional secret that is set can be removed from the edit form
    page.goto(f"{server.url}/admin/channels/{ids[1]}/edit")
    page.check("input[name=clear_smtp_password]")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/admin/channels\?saved="))
    assert client.get(f"{URL}/{ids[1]}", headers=tenant.admin).json()["secrets_set"] == []
    # a form posted without the CSRF token is refused
    refused = page.request.post(f"{server.url}/admin/channels/{ids[0]}/delete", form={})
    assert refused.status == 403
    assert client.get(f"{URL}/{ids[0]}", headers=tenant.admin).status_code == 200
