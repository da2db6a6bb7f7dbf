"""Admin → Automation, the room's Macros menu and the bulk bar's "Apply macro…" over plain
HTTP, as a browser without JavaScript uses them (the in-process app): admins only, a
rule made from the form's rows and its 422s shown on the form naming the row, HTML in a
name escaped, the on/off switch, preview and runs, shared macros, and a macro applied to
one room and to several."""

from __future__ import annotations

import html
import re

import pytest
from conftest import inbound
from desk_kit import post_form, sign_in

RULES = "/v1.0/automation_rules"


@pytest.fixture
def desk(client, tenant):
    sign_in(client, "acme-admin", tenant.password)
    yield client
    client.headers.pop("x-csrftoken", None)


def _form_error(page: str) -> str:
    found = re.search(r'id="form-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


REFUND_RULE = {
    "name": "Refunds <b>first</b>",
    "trigger": "message_received",
    "trigger_minutes": "30",  # left in the form from a time trigger: not read
    "match": "all",
    "cond-0-field": "text",
    "cond-0-operator": "contains",
    "cond-0-text": "refund",
    "cond-0-priority": "low",  # the inputs the field does not need are sent and not read
    "act-0-type": "set_priority",
    "act-0-priority": "high",
    "act-0-tags": "ignored",
    "act-3-type": "add_tags",
    "act-3-tags": "refund, billing",
    "position": "",
}


def test_only_admins_open_the_automation_pages(client, tenant):
    sign_in(client, "acme-agent", tenant.password)
    for path in ("/admin/automation", "/admin/automation/new", "/admin/automation/macros/new"):
        r = client.get(path)
        assert r.status_code == 403 and "Only an admin" in r.text, path
    assert post_form(client, "/admin/automation", REFUND_RULE).status_code == 403
    assert client.get(RULES, headers=tenant.admin).json()["result"] == []
    client.headers.pop("x-csrftoken", None)


def test_a_rule_made_from_rows_previewed_switched_on_and_its_runs(desk, tenant):
    sms = tenant.channel("message")
    before = inbound(sms, "+15550104001", "Where is my refund?").conversation_id
    inbound(sms, "+15550104002", "Just saying hi")
    page = desk.get("/admin/automation")
    assert page.status_code == 200 and 'id="no-rules"' in page.text
    assert 'id="admin-menu-automation"' in page.text

    # a refusal: the row and the field named, what was typed kept
    wrong = {**REFUND_RULE, "cond-0-field": "priority", "cond-0-operator": "contains"}
    r = post_form(desk, "/admin/automation", wrong)
    assert r.status_code == 422
    assert _form_error(r.text).startswith("Condition 1, operator: priority takes")
    assert 'value="Refunds &lt;b&gt;first&lt;/b&gt;"' in r.text
    snooze = {**REFUND_RULE, "act-3-type": "snooze", "act-3-minutes": "soon"}
    r = post_form(desk, "/admin/automation", snooze)
    assert r.status_code == 422 and _form_error(r.text).startswith("Action 2, value: Snooze")
    r = post_form(desk, "/admin/automation", {**REFUND_RULE, "trigger": "no_agent_reply",
                                          "trigger_minutes": ""})  # fmt: skip
    assert r.status_code == 422 and "no_agent_reply needs trigger_minutes" in _form_error(r.text)

    hostile_forms = [
        {"cond-0-operator": "<script>"},
        {"trigger": "whenever"},
        {"position": "-1"},
        {"cond-0-field": "attribute", "cond-0-key": ""},
    ]
    for hostile in hostile_forms:
        r = post_form(desk, "/admin/automation", {**REFUND_RULE, **hostile})
        if "cond-0-operator" in hostile:
            assert _form_error(r.text) == "Condition 1, operator: pick one of the list."
        assert r.status_code == 422 and _form_error(r.text), hostile
        assert "<script>" not in r.text.split('id="form-error"')[1].split("</p>")[0]

    r = post_form(desk, "/admin/automation", REFUND_RULE)
    assert r.status_code == 303, r.text
    (rule,) = desk.get(RULES, headers=tenant.admin).json()["result"]
    assert rule["active"] is False and rule["trigger_minutes"] is None
    assert rule["conditions"] == [{"field": "text", "operator": "contains", "value": "refund"}]
    assert rule["actions"] == [
        {"type": "set_priority", "value": "high"},
        {"type": "add_tags", "value": ["refund", "billing"]},
    ]
    page = desk.get("/admin/automation").text
    assert "Refunds &lt;b&gt;first&lt;/b&gt;" in page and "<b>first</b>" not in page
    assert "Message text contains “refund”" in page and "Added tags refund, billing" in page

    preview = desk.get(f"/admin/automation?preview={rule['id']}&sample=latest").text
    assert re.search(r'id="preview-summary"><strong>1</strong> of the 2 latest', preview)
    assert f'class="preview-match" data-id="{before}"' in preview
    assert "Set priority high" in preview
    week = desk.get(f"/admin/automation?preview={rule['id']}&sample=week").text
    assert "of 2 conversations created since last week match" in week
    assert desk.get("/admin/automation?preview=not-a-rule").status_code == 404
    assert desk.get("/admin/automation/00000000-0000-0000-0000-000000000000").status_code == 404

    r = post_form(desk, f"/admin/automation/{rule['id']}/active", {"active": "1"})
    assert r.status_code == 303
    assert desk.get(f"{RULES}/{rule['id']}", headers=tenant.admin).json()["active"] is True
    hit = inbound(sms, "+15550104003", "A refund please").conversation_id
    room = desk.get(f"/v1.0/conversations/{hit}", headers=tenant.admin).json()
    assert room["priority"] == "high" and sorted(room["tags"]) == ["billing", "refund"]
    runs = desk.get(f"/admin/automation/{rule['id']}/runs").text
    assert f'href="/conversations/{hit}"' in runs and "✓ Set priority high" in runs

    # edited through the same form: the rows replace the old ones
    edit = desk.get(f"/admin/automation/{rule['id']}").text
    assert 'name="cond-0-text" data-input="text" value="refund"' in edit
    changed = {**REFUND_RULE, "name": "Refunds", "active": "1", "match": "any",
               "act-3-type": "close", "act-4-type": "notify",
               "act-4-notify": ["assignee", tenant.manager_id]}  # fmt: skip
    assert post_form(desk, f"/admin/automation/{rule['id']}", changed).status_code == 303
    now = desk.get(f"{RULES}/{rule['id']}", headers=tenant.admin).json()
    assert now["match"] == "any" and now["actions"][1] == {"type": "close", "value": None}
    assert now["actions"][2] == {"type": "notify", "value": ["assignee", tenant.manager_id]}
    edit = desk.get(f"/admin/automation/{rule['id']}").text
    assert f'<option value="{tenant.manager_id}" selected>' in edit
    r = post_form(desk, f"/admin/automation/{rule['id']}/delete")
    assert r.status_code == 303 and "deleted=Refunds" in r.headers["location"]
    assert desk.get(RULES, headers=tenant.admin).json()["result"] == []


def test_shared_macros_from_the_page_applied_in_a_room_and_in_bulk(desk, tenant):
    sms = tenant.channel("message")
    rooms = [inbound(sms, f"+1555010500{i}", f"order {i}").conversation_id for i in range(3)]
    r = post_form(desk, "/admin/automation/macros", {"name": "", "act-0-type": "close"})
    assert r.status_code == 422 and _form_error(r.text)
    macro = {"name": "Escalate <i>now</i>", "act-0-type": "set_priority", "act-0-priority":
             "urgent", "act-1-type": "add_tags", "act-1-tags": "escalated"}  # fmt: skip
    assert post_form(desk, "/admin/automation/macros", macro).status_code == 303
    (made,) = desk.get("/v1.0/macros", headers=tenant.admin).json()["result"]
    assert made["owner_id"] is None
    assert "Escalate &lt;i&gt;now&lt;/i&gt;" in desk.get("/admin/automation").text

    menu = desk.get(f"/conversations/{rooms[0]}/macros").text
    assert f'data-id="{made["id"]}"' in menu and "<i>now</i>" not in menu
    r = desk.post(
        f"/conversations/{rooms[0]}/macros/{made['id']}", headers={"HX-Request": "true"}, data={}
    )
    assert r.status_code == 200 and 'id="macro-result"' in r.text
    assert "set priority urgent, added tag escalated" in r.text
    room = desk.get(f"/v1.0/conversations/{rooms[0]}", headers=tenant.admin).json()
    assert room["priority"] == "urgent" and room["tags"] == ["escalated"]

    inbox = desk.get("/").text
    assert 'id="bulk-apply-macro"' in inbox and f'<option value="{made["id"]}">' in inbox
    r = desk.post(
        "/inbox/bulk",
        headers={"HX-Request": "true"},
        data={"action": "macro", "macro_id": made["id"], "ids": rooms[1:]},
    )
    assert r.status_code == 200 and "2 conversations changed by the macro." in r.text
    for room_id in rooms[1:]:
        room = desk.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin).json()
        assert room["priority"] == "urgent" and room["tags"] == ["escalated"]
    r = desk.post("/inbox/bulk", headers={"HX-Request": "true"},
                  data={"action": "macro", "macro_id": "", "ids": rooms})  # fmt: skip
    assert "Choose the macro to apply." in r.text

    r = post_form(desk, f"/admin/automation/macros/{made['id']}/delete")
    assert r.status_code == 303
    assert desk.get("/v1.0/macros", headers=tenant.admin).json()["result"] == []
