"""The desk's Talk area in a real browser (Chromium via Playwright) against a real server:
three agents in three browser contexts — A and B talk in a group (live list, badges, nav
dot, messages, threads, reactions, edits, deletes), C is not in it and sees none of it;
files uploaded into a talk reach its participants only; a direct talk started twice is
one talk; HTML in a message shows as text."""

from __future__ import annotations

import re

import browser_kit
from browser_kit import live
from conftest import LIVE_MS
from playwright.sync_api import Page, expect

LIVE = LIVE_MS * 2  # a push goes through the database, the hub and a re-render


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """Signed in on the Talk page, its live connection up."""
    page.set_default_timeout(15000)
    browser_kit.sign_in(
        page, base, username, password, "/talks", shows="#talk-list", wait_live=True
    )


def start_talk(page: Page, kind: str, colleagues: list[str], name: str = "") -> str:
    """Start a talk from the list column; returns its id (from the page it lands on)."""
    page.click("#talk-new summary")
    page.click(f"#talk-new label.tab:has(input[value={kind}])")  # as an agent would
    if name:
        page.fill("#talk-new-name", name)
    for agent_id in colleagues:
        page.check(f"#talk-new input[name=participant_ids][value='{agent_id}']")
    before = page.url
    page.click("#talk-new-start")
    page.wait_for_url(lambda url: url != before and re.search(r"/talks/[0-9a-f-]{36}$", url))
    live(page)
    return page.url.rsplit("/", 1)[1]


def write(page: Page, text: str, composer: str = "#talk-composer") -> None:
    page.fill(f"{composer} textarea", text)
    page.locator(f"{composer} textarea").press("Control+Enter")
    expect(page.locator(f"{composer} textarea")).to_have_value("", timeout=LIVE)


def message(page: Page, text: str, where: str = "#talk-stream"):
    return page.locator(f"{where} > li.tmsg", has_text=text)


def test_two_agents_talk_live_and_an_outsider_sees_nothing(server, tenant, new_page):
    a, b, c = new_page(), new_page(), new_page()
    sign_in(a, server.url, "acme-admin", tenant.password)
    sign_in(b, server.url, "acme-manager", tenant.password)
    sign_in(c, server.url, "acme-agent", tenant.password)
    # the nav rail has the Talk item on the inbox and the admin pages too
    expect(a.locator("#nav-talk")).to_have_class(re.compile("active"))

    # A starts a group talk with B; it appears on B's list live, not on C's
    talk = start_talk(a, "group", [tenant.manager_id], name="Launch plan")
    expect(a.locator("#talk-header h2")).to_have_text("Launch plan")
    b_row = b.locator(f"#talkrow-{talk}")
    expect(b_row).to_contain_text("Launch plan", timeout=LIVE)
    expect(b.locator(f"#tunread-{talk}")).to_have_text("")
    expect(b.locator("#nav-talk-unread")).to_be_hidden()

    # A writes; B (list only) gets a badge and the nav dot
    write(a, "hello B")
    expect(message(a, "hello B")).to_have_count(1)
    expect(b.locator(f"#tunread-{talk}")).to_have_text("1", timeout=LIVE)
    expect(b.locator("#nav-talk-unread")).to_be_visible()

    # B opens it: the badge and the dot clear, and the API agrees
    b_row.locator("a").click()
    expect(b).to_have_url(re.compile(f"/talks/{talk}$"))
    live(b)
    expect(message(b, "hello B")).to_contain_text("Administrator")
    expect(b.locator(f"#tunread-{talk}")).to_have_text("")
    expect(b.locator("#nav-talk-unread")).to_be_hidden()
    unread = b.request.get(f"{server.url}/v1.0/talks/unread").json()["result"]
    assert [u["unread_count"] for u in unread if u["talk_id"] == talk] == [0]

    # a message arriving in the open talk shows live and keeps it read
    write(a, "second thought")
    expect(message(b, "second thought")).to_have_count(1, timeout=LIVE)
    expect(b.locator(f"#tunread-{talk}")).to_have_text("")
    expect(b.locator("#nav-talk-unread")).to_be_hidden()
    unread = b.request.get(f"{server.url}/v1.0/talks/unread").json()["result"]
    assert [u["unread_count"] for u in unread if u["talk_id"] == talk] == [0]

    # B replies in a thread; A sees the count, then the next reply in the open thread
    message(b, "hello B").locator("a.tmsg-replies").click()
    expect(b.locator("#thread-panel")).to_contain_text("hello B")
    write(b, "reply from B", "#thread-composer")
    expect(b.locator("#thread-panel .thread-replies")).to_contain_text("reply from B")
    replies = message(a, "hello B").locator("a.tmsg-replies")
    expect(replies).to_have_text("1 reply", timeout=LIVE)
    replies.click()
    expect(a.locator("#thread-panel .thread-replies")).to_contain_text("reply from B")
    write(b, "another reply", "#thread-composer")
    expect(a.locator("#thread-panel .thread-replies")).to_contain_text(
        "another reply", timeout=LIVE
    )
    expect(replies).to_have_text("2 replies")
    # replies stay in the thread, not in the stream
    expect(message(a, "another reply")).to_have_count(0)

    # A reacts 👍 with the picker; B sees it; B's click on the chip makes two
    hello_a = message(a, "hello B")
    hello_a.locator(".rx-picker summary").click()
    hello_a.locator(".rx-choice[value='👍']").click()
    expect(hello_a.locator("button.rx")).to_have_text("👍 1", timeout=LIVE)
    chip_b = message(b, "hello B").locator("button.rx")
    expect(chip_b).to_have_text("👍 1", timeout=LIVE)
    expect(chip_b).to_have_attribute("title", "Administrator")
    chip_b.click()
    expect(hello_a.locator("button.rx")).to_have_text("👍 2", timeout=LIVE)
    expect(hello_a.locator("button.rx")).to_have_attribute("title", "Administrator, acme-manager")
    # the thread's copy of the root follows too
    expect(a.locator("#thread-panel .thread-root .rx")).to_have_text("👍 2")

    # A edits its message: B sees the new text, marked edited
    hello_a.locator(".tmsg-edit summary").click()
    hello_a.locator(".tmsg-edit textarea").fill("hello B, edited")
    hello_a.locator(".tmsg-edit button[type=submit]").click()
    edited_b = message(b, "hello B, edited")
    expect(edited_b).to_have_count(1, timeout=LIVE)
    expect(edited_b.locator(".tmsg-edited")).to_have_text("edited")

    # A deletes its other message: it goes at B
    message(a, "second thought").locator(".tmsg-delete button").click()
    expect(message(a, "second thought")).to_have_count(0)
    expect(message(b, "second thought")).to_have_count(0, timeout=LIVE)
    expect(message(b, "hello B, edited")).to_have_count(1)

    # C never saw any of it, live or on a fresh load
    for page in (c,):
        assert page.locator(f"#talkrow-{talk}").count() == 0
        html = page.content()
        assert "hello B" not in html and "Launch plan" not in html and "reply from B" not in html
    c.reload()
    expect(c.locator("#talk-list")).to_be_visible()
    assert c.locator(f"#talkrow-{talk}").count() == 0
    assert c.request.get(f"{server.url}/talks/{talk}").status == 404


def test_files_reach_participants_only_and_direct_talks_are_one(server, tenant, new_page, tmp_path):
    a, b, c = new_page(), new_page(), new_page()
    sign_in(a, server.url, "acme-admin", tenant.password)
    sign_in(b, server.url, "acme-manager", tenant.password)
    sign_in(c, server.url, "acme-agent", tenant.password)
    b.goto(server.url + "/")  # B waits on the Inbox: its socket lights the nav dot too
    live(b)

    # a direct talk started twice is one talk, titled by the other agent
    talk = start_talk(a, "direct", [tenant.manager_id])
    expect(a.locator("#talk-header h2")).to_have_text("acme-manager")
    a.goto(server.url + "/talks")
    live(a)
    assert start_talk(a, "direct", [tenant.manager_id]) == talk
    expect(a.locator("#talk-list .trow")).to_have_count(1)

    # an attachment (and HTML, which shows as text)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"the plan, in plain text\n")
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    a.set_input_files("#talk-composer input[name=files]", str(notes))
    write(a, payload)
    expect(b.locator("#nav-talk-unread")).to_be_visible(timeout=LIVE)
    b.click("#nav-talk")
    expect(b).to_have_url(re.compile(r"/talks$"))
    b_row = b.locator(f"#talkrow-{talk}")
    expect(b_row).to_contain_text("Administrator", timeout=LIVE)
    expect(b.locator(f"#tunread-{talk}")).to_have_text("1")
    b_row.locator("a").click()
    live(b)
    shown = b.locator("#talk-stream > li.tmsg").last
    expect(shown.locator(".tmsg-text")).to_have_text(payload)
    assert b.locator("#talk-stream img[src=x]").count() == 0
    assert b.locator("#talk-stream script").count() == 0
    link = shown.locator("a.file")
    expect(link).to_have_text("notes.txt")
    href = link.get_attribute("href")
    assert f"/talks/{talk}/files/" in href
    got = b.request.get(href)
    assert got.status == 200 and got.body() == notes.read_bytes()
    # someone outside the talk: not found, and not on their list
    assert c.request.get(href).status == 404
    assert c.locator(f"#talkrow-{talk}").count() == 0
    assert payload not in c.content()

    # live too: what B writes shows as text at A
    write(b, "<b>bold?</b>")
    expect(message(a, "<b>bold?</b>").locator(".tmsg-text")).to_have_text(
        "<b>bold?</b>", timeout=LIVE
    )
    assert a.locator("#talk-stream b").count() == 0

    # an admin page has the Talk item, and its dot shows what is unread on loading
    a.goto(server.url + "/admin/channels")
    expect(a.locator("#nav-talk")).to_be_visible()
    expect(a.locator("#nav-talk-unread")).to_be_hidden()
    write(b, "ping from B")
    a.reload()
    expect(a.locator("#nav-talk-unread")).to_be_visible()


def test_members_come_and_go_and_a_talk_closes_and_reopens(server, tenant, new_page, client):
    a, b, c = new_page(), new_page(), new_page()
    sign_in(a, server.url, "acme-admin", tenant.password)
    sign_in(b, server.url, "acme-manager", tenant.password)
    sign_in(c, server.url, "acme-agent", tenant.password)
    talk = start_talk(a, "group", [tenant.manager_id], name="Ops")
    # a long history: the newest 50 first, older ones on demand
    posted = [
        client.post(
            f"/v1.0/talks/{talk}/messages", headers=tenant.manager, json={"text": f"old {i}"}
        ).json()
        for i in range(55)
    ]
    # a thread has its own address, and a page load opens it
    b.goto(f"{server.url}/talks/{talk}/thread/{posted[1]['id']}")
    expect(b.locator("#thread-panel .thread-root")).to_contain_text("old 1")
    b.goto(f"{server.url}/talks/{talk}")
    live(b)
    expect(b.locator("#talk-stream > li.tmsg:not(.system)")).to_have_count(50)
    b.click("#talk-older a")
    expect(b.locator("#talk-stream > li.tmsg:not(.system)")).to_have_count(55)
    texts = b.locator("#talk-stream > li.tmsg .tmsg-text").all_inner_texts()
    assert texts[0] == "old 0" and texts[-1] == "old 54"

    # A adds C: the talk appears on C's list live, with the system line
    a.reload()
    live(a)
    a.click(".talk-add summary")
    a.select_option(".talk-add select[name=agent_id]", tenant.agent_id)
    a.click(".talk-add button[type=submit]")
    expect(c.locator(f"#talkrow-{talk}")).to_contain_text("Ops", timeout=LIVE)
    expect(b.locator("#talk-stream li.system").last).to_contain_text(
        "acme-agent joined the talk", timeout=LIVE
    )
    expect(b.locator("#talk-header .talk-members")).to_contain_text("acme-agent")

    # A closes: B's header says so live; writing is refused with a message; A reopens
    a.click("#talk-close")
    expect(b.locator("#talk-header .pill")).to_contain_text("closed", timeout=LIVE)
    b.fill("#talk-composer textarea", "anyone?")
    b.click("#talk-send")
    expect(b.locator("#alerts .alert")).to_contain_text("closed", timeout=LIVE)
    expect(b.locator("#talk-composer textarea")).to_have_value("anyone?")  # kept
    a.click("#talk-reopen")
    expect(b.locator("#talk-header .pill")).to_contain_text("active", timeout=LIVE)

    # C leaves: gone from C's list; A sees the system line
    c.goto(f"{server.url}/talks/{talk}")
    live(c)
    c.click("#talk-leave")
    expect(c).to_have_url(re.compile(r"/talks$"))
    expect(c.locator(f"#talkrow-{talk}")).to_have_count(0)
    expect(a.locator("#talk-stream li.system").last).to_contain_text(
        "acme-agent left the talk", timeout=LIVE
    )

    # deleting the talk (API) takes it off B's list and tells B's open page
    client.delete(f"/v1.0/talks/{talk}", headers=tenant.admin)
    expect(b.locator(f"#talkrow-{talk}")).to_have_count(0, timeout=LIVE)
    expect(b.locator("#talk-header")).to_contain_text("deleted")
