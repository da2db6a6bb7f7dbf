"""`/macros`, an agent's own macros on the desk, over plain HTTP as a browser without
JavaScript uses it (the in-process app): made, edited and deleted from the action rows,
each change seen through the API; the shared macros shown read-only; another agent's
macro and a shared one are 404s here; a refusal shown on the form naming the row; HTML in
a name escaped; the room's Macros menu links to the page."""

from __future__ import annotations

import html
import re

import pytest
from conftest import inbound
from desk_kit import post_form, sign_in

MACROS = "/v1.0/macros"
CANNED = "/v1.0/canned_responses"


@pytest.fixture
def desk(client, tenant):
    sign_in(client, "acme-agent", tenant.password)
    yield client
    client.headers.pop("x-csrftoken", None)


def _form_error(page: str) -> str:
    found = re.search(r'id="form-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def _made(client, path: str, headers: dict, body: dict) -> dict:
    r = client.post(path, headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_an_agent_keeps_its_own_macros_and_sees_the_shared_ones(desk, tenant):
    shared = _made(desk, MACROS, tenant.admin, {
        "name": "Shared <b>escalation</b>", "owner_id": None,
        "actions": [{"type": "set_priority", "value": "urgent"}],
    })  # fmt: skip
    theirs = _made(desk, MACROS, tenant.manager, {
        "name": "Manager's own", "actions": [{"type": "close"}],
    })  # fmt: skip
    mine_reply = _made(desk, CANNED, tenant.agent, {"shortcut": "late", "text": "On its way."})
    shared_reply = _made(desk, CANNED, tenant.admin,
                         {"shortcut": "thx", "text": "Thanks!", "owner_id": None})  # fmt: skip
    their_reply = _made(desk, CANNED, tenant.manager, {"shortcut": "boss", "text": "Mine."})

    page = desk.get("/macros")
    assert page.status_code == 200 and 'id="no-own-macros"' in page.text
    shared_part = page.text.split('id="shared-macros"')[1]
    assert "Shared &lt;b&gt;escalation&lt;/b&gt;" in shared_part and "<b>" not in shared_part
    assert "Set priority urgent" in shared_part
    assert f'href="/macros/{shared["id"]}"' not in page.text  # read-only here
    assert "Manager&#39;s own" not in page.text and "Manager's own" not in page.text
    assert 'href="/macros"' in desk.get("/profile").text

    # the canned replies offered: the agent's own and the shared ones, not a colleague's
    new = desk.get("/macros/new").text
    assert f'value="{mine_reply["id"]}"' in new and f'value="{shared_reply["id"]}"' in new
    assert f'value="{their_reply["id"]}"' not in new
    assert ">/late (mine)</option>" in new

    macro = {
        "name": "Chase <script>alert(1)</script>",
        "act-0-type": "add_tags", "act-0-tags": "courier, late", "act-0-priority": "low",
        "act-4-type": "snooze", "act-4-minutes": "abc",
    }  # fmt: skip
    r = post_form(desk, "/macros", macro)
    assert r.status_code == 422
    assert _form_error(r.text).startswith("Action 2, value: Snooze")
    assert 'value="Chase &lt;script&gt;alert(1)&lt;/script&gt;"' in r.text
    assert "<script>alert(1)" not in r.text
    r = post_form(desk, "/macros", {**macro, "act-4-type": "send_canned",
                                "act-4-canned": their_reply["id"]})  # fmt: skip
    assert r.status_code == 422 and _form_error(r.text).startswith("Action 2, value:")
    assert desk.get(MACROS, headers=tenant.agent).json()["result"] == [shared]

    r = post_form(desk, "/macros", {**macro, "act-4-type": "send_canned",
                                "act-4-canned": mine_reply["id"]})  # fmt: skip
    assert r.status_code == 303, r.text
    made = next(m for m in desk.get(MACROS, headers=tenant.agent).json()["result"]
                if m["id"] != shared["id"])  # fmt: skip
    assert made["owner_id"] == tenant.agent_id
    assert made["actions"] == [
        {"type": "add_tags", "value": ["courier", "late"]},
        {"type": "send_canned", "value": mine_reply["id"]},
    ]
    assert r.headers["location"] == f"/macros?saved={made['id']}#macro-{made['id']}"
    page = desk.get(r.headers["location"]).text
    own_part = page.split('id="own-macros"')[1].split('id="shared"')[0]
    assert "Chase &lt;script&gt;alert(1)&lt;/script&gt;" in own_part
    assert "Added tags courier, late · Sent the canned reply /late" in own_part
    assert "<script>alert(1)" not in page

    # edited: the form shows it as saved, and the change reaches the API
    edit = desk.get(f"/macros/{made['id']}").text
    assert f'<option value="{mine_reply["id"]}" selected>' in edit
    r = post_form(desk, f"/macros/{made['id']}", {"name": "Chase the courier",
              "act-0-type": "set_priority", "act-0-priority": "high"})  # fmt: skip
    assert r.status_code == 303
    now = desk.get(f"{MACROS}/{made['id']}", headers=tenant.agent).json()
    assert now["name"] == "Chase the courier"
    assert now["actions"] == [{"type": "set_priority", "value": "high"}]
    r = post_form(desk, f"/macros/{made['id']}", {"name": "", "act-0-type": "close"})
    assert r.status_code == 422 and _form_error(r.text)

    # the room's Macros menu offers it, and links here
    room = inbound(tenant.channel("message"), "+15550106001", "Where is it?").conversation_id
    menu = desk.get(f"/conversations/{room}/macros").text
    assert f'data-id="{made["id"]}"' in menu and 'href="/macros" id="manage-macros"' in menu
    r = desk.post(f"/conversations/{room}/macros/{made['id']}",
                  headers={"HX-Request": "true"}, data={})  # fmt: skip
    assert r.status_code == 200
    assert desk.get(f"/v1.0/conversations/{room}", headers=tenant.agent).json()["priority"] == (
        "high"
    )

    # another agent's macro, and a shared one, are not this page's to open or change
    for other in (theirs["id"], shared["id"], "not-an-id"):
        r = desk.get(f"/macros/{other}")
        assert r.status_code == 404 and "Manager" not in r.text, other
        assert post_form(desk, f"/macros/{other}", {"name": "Taken", "act-0-type": "close"}
                     ).status_code == 404  # fmt: skip
        assert post_form(desk, f"/macros/{other}/delete").status_code == 404
    assert desk.get(f"{MACROS}/{theirs['id']}", headers=tenant.manager).json()["name"] == (
        "Manager's own"
    )
    assert desk.get(f"{MACROS}/{shared['id']}", headers=tenant.admin).json() == shared

    r = post_form(desk, f"/macros/{made['id']}/delete")
    assert r.status_code == 303 and r.headers["location"] == "/macros?saved=deleted"
    assert desk.get(MACROS, headers=tenant.agent).json()["result"] == [shared]
    assert 'id="no-own-macros"' in desk.get("/macros").text
