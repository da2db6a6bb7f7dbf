"""Satisfaction surveys, over HTTP on the in-process app: a closed room's survey goes out on
the channel the customer last used, and the answer comes back by that channel — a signed
Twilio webhook with "4 great service" (recorded, no room opened or reopened), the email
link's page, the widget's card; LINE and WhatsApp like SMS. At most one survey per room,
its delay on an injected clock, two workers sending it once, and
`GET /v1.0/csat_responses` with its filters, who sees what, and foreign ids."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from urllib.parse import urlencode

from api_kit import history, rooms
from conftest import IN_PROCESS_URL, assert_error, inbound, run_async, wait_for
from db_kit import sql, sql_value
from providers import twilio_signature
from test_channel_sms import ACCOUNT_SID, AUTH_TOKEN, incoming, new_sid
from test_widget import Visitor

from app.csat import sender
from app.domain import csat
from app.domain.timefmt import now

URL = "/v1.0/csat_responses"
QUESTION = csat.DEFAULT_QUESTION


def close(client, tenant, room_id: str, headers: dict | None = None) -> dict:
    r = client.put(
        f"/v1.0/conversations/{room_id}", headers=headers or tenant.admin, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text
    return r.json()


def reopen(client, tenant, room_id: str) -> None:
    r = client.put(
        f"/v1.0/conversations/{room_id}", headers=tenant.admin, json={"status": "active"}
    )
    assert r.status_code == 200, r.text


def surveys(db_url: str, room_id: str) -> list[dict]:
    return [
        dict(r)
        for r in sql(
            db_url,
            "SELECT status, reference_type, due_at, sent_at, message_id::text, agent_id::text"
            " FROM csat_surveys WHERE conversation_id = $1",
            room_id,
        )
    ]


def sent(db_url: str, room_id: str) -> dict:
    """The room's survey once it went out: this test's round, or the app's own worker
    (woken by the close) — either way exactly once."""
    run_async(sender.send_due())
    return wait_for(lambda: [s for s in surveys(db_url, room_id) if s["status"] == "sent"])[0]


def room(client, tenant, room_id: str) -> dict:
    r = client.get(f"/v1.0/conversations/{room_id}", headers=tenant.admin)
    assert r.status_code == 200, r.text
    return r.json()


def events(db_url: str, customer_id: str, prefix: str) -> list[str]:
    rows = sql(
        db_url,
        "SELECT type FROM events WHERE customer_id = $1 AND type LIKE $2 ORDER BY id",
        customer_id,
        prefix + "%",
    )
    return [r["type"] for r in rows]


# --- SMS over Twilio's wire format ---------------------------------------------------------


def sms_from(client, account_id: str, peer: str, body: str, sid: str | None = None):
    """A customer's SMS, as Twilio posts it to our hook: signed over the public URL."""
    path = f"/hooks/sms/{account_id}"
    params = incoming(sid or new_sid("SM"), peer, body)
    signature = twilio_signature(AUTH_TOKEN, IN_PROCESS_URL + path, params)
    r = client.post(
        path,
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert r.status_code == 200, r.text


def test_an_sms_survey_is_answered_by_a_reply_that_opens_no_room(client, tenant, db_url):
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "sms",
            "settings": {
                "phone_number": "+14155550100",
                "account_sid": ACCOUNT_SID,
                "csat": "on",
            },
            "secrets": {"auth_token": AUTH_TOKEN},
        },
    )
    assert r.status_code == 201, r.text
    account = r.json()
    assert account["settings"]["csat_question"] == QUESTION  # the defaults, filled in
    assert account["settings"]["csat_delay"] == 0
    ann, bob = "+14155550111", "+14155550122"
    sms_from(client, account["id"], ann, "my parcel is late")
    sms_from(client, account["id"], bob, "where is my refund?")
    ann_room = next(x for x in rooms(client, tenant) if x["reference_id"] == ann)
    bob_room = next(x for x in rooms(client, tenant) if x["reference_id"] == bob)
    r = client.put(
        f"/v1.0/conversations/{ann_room['id']}",
        headers=tenant.admin,
        json={"owner_id": tenant.agent_id},
    )
    assert r.status_code == 200, r.text
    close(client, tenant, ann_room["id"])
    close(client, tenant, bob_room["id"])

    # the question goes to each customer by SMS, from our number, into the send queue
    for peer, room_id in ((ann, ann_room["id"]), (bob, bob_room["id"])):
        survey = sent(db_url, room_id)
        assert survey["reference_type"] == "message"
        (question,) = [m for m in history(client, tenant, room_id) if m["text"] == QUESTION]
        assert question["id"] == survey["message_id"] and question["agent_id"] is None
        assert (question["direction"], question["account_id"]) == ("outbound", account["id"])
        assert question["destination"]["target"] == peer
        assert question["source"]["target"] == "+14155550100"
    assert events(db_url, tenant.customer_id, "csat_") == ["csat_survey_sent"] * 2

    # Ann answers: her rating, kept in her closed room, and no room opened or reopened
    sid = new_sid("SM")
    sms_from(client, account["id"], ann, "4 great service", sid)
    sms_from(client, account["id"], ann, "4 great service", sid)  # Twilio's retry: once
    assert len(rooms(client, tenant)) == 2
    after = room(client, tenant, ann_room["id"])
    assert after["status"] == "closed" and after["csat"] == 4
    assert after["last_message"] == "4 great service"
    texts = [(m["direction"], m["text"]) for m in history(client, tenant, ann_room["id"])]
    assert texts[:2] == [("inbound", "4 great service"), ("outbound", QUESTION)]
    (rated,) = client.get(URL, headers=tenant.admin).json()["result"]
    assert rated == {
        "id": rated["id"],
        "customer_id": tenant.customer_id,
        "conversation_id": ann_room["id"],
        "contact_id": after["contact_ids"][0],
        "agent_id": tenant.agent_id,  # who had the room when it closed
        "reference_type": "message",
        "rating": 4,
        "comment": "great service",
        "tm_create": rated["tm_create"],
    }
    assert events(db_url, tenant.customer_id, "csat_")[-1] == "csat_response_created"
    lines = sql(
        db_url,
        "SELECT text FROM conversation_activities WHERE conversation_id = $1 ORDER BY tm_create",
        ann_room["id"],
    )
    assert [x["text"] for x in lines][-2:] == [
        "Satisfaction survey sent by SMS",
        "The customer rated the conversation 4/5: “great service”",
    ]
    # a second digit is an ordinary message again: the survey is answered
    sms_from(client, account["id"], ann, "5")
    assert len(rooms(client, tenant)) == 3

    # Bob writes something else: a new room, as always; his digit then belongs there
    sms_from(client, account["id"], bob, "hello? anyone?")
    sms_from(client, account["id"], bob, "5")
    bobs = [x for x in rooms(client, tenant) if x["reference_id"] == bob]
    assert len(bobs) == 2
    new = next(x for x in bobs if x["id"] != bob_room["id"])
    assert new["status"] == "active" and new["csat"] is None
    assert [m["text"] for m in history(client, tenant, new["id"])] == ["5", "hello? anyone?"]
    assert room(client, tenant, bob_room["id"])["csat"] is None
    assert len(client.get(URL, headers=tenant.admin).json()["result"]) == 1


# --- email: a signed link to a small public page -------------------------------------------


def test_an_email_survey_links_to_a_page_that_records_one_rating(client, tenant, db_url):
    email = tenant.channel("email", csat="on", csat_question="How did we do?")
    room_id = inbound(email, "dana@example.com", "Invoice is wrong").conversation_id
    close(client, tenant, room_id)
    survey = sent(db_url, room_id)
    assert survey["reference_type"] == "email"
    (question,) = [m for m in history(client, tenant, room_id) if m["direction"] == "outbound"]
    assert question["id"] == survey["message_id"]
    assert question["text"].startswith("How did we do?\n")
    link = re.search(r"(http\S+/csat/(\S+))", question["text"])
    assert link  # on the public URL of the process whose worker sent it
    path, token = "/csat/" + link.group(2), link.group(2)

    page = client.get(path)
    assert page.status_code == 200 and "How did we do?" in page.text
    assert 'name="rating"' in page.text and page.headers["cache-control"] == "no-store"
    # a changed token or one we never made: a page that says so, not a 500
    head, mac = token.split(".")
    for bad in (head + "." + mac[::-1], "nonsense", head):
        refused = client.get("/csat/" + bad)
        assert refused.status_code == 404 and "does not work" in refused.text
        assert client.post("/csat/" + bad, data={"rating": "5"}).status_code == 404
    # a link older than 30 days: the page says the survey has closed, and takes nothing
    age = "UPDATE csat_surveys SET sent_at = sent_at - $2::interval WHERE conversation_id = $1"
    sql(db_url, age, room_id, timedelta(days=31))
    assert "This survey has closed" in client.get(path).text
    late = client.post(path, data={"rating": "5"})
    assert late.status_code == 409 and "This survey has closed" in late.text
    sql(db_url, age, room_id, timedelta(days=-31))
    # no rating chosen: the form again, with the comment kept
    again = client.post(path, data={"comment": "<b>kept</b>"})
    assert again.status_code == 422 and "Choose a rating" in again.text
    assert "&lt;b&gt;kept&lt;/b&gt;" in again.text and "<b>kept" not in again.text

    done = client.post(path, data={"rating": "5", "comment": "Quick and kind <3"})
    assert done.status_code == 200 and "Your rating (5/5) was recorded" in done.text
    twice = client.post(path, data={"rating": "1", "comment": "changed my mind"})
    assert twice.status_code == 200 and "already recorded" in twice.text
    assert "already recorded" in client.get(path).text
    (rated,) = client.get(URL, headers=tenant.admin).json()["result"]
    assert (rated["rating"], rated["comment"], rated["reference_type"]) == (
        5,
        "Quick and kind <3",
        "email",
    )
    assert room(client, tenant, room_id)["csat"] == 5


# --- web chat: the widget's card -----------------------------------------------------------


def test_the_widget_shows_a_card_whose_rating_only_its_visitor_may_give(client, tenant, db_url):
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={"type": "webchat", "settings": {"csat": "on", "csat_question": "Rate our chat"}},
    )
    assert r.status_code == 201, r.text
    account_id = r.json()["id"]
    visitor = Visitor(client, account_id).start()
    other = Visitor(client, account_id).start()
    mine = visitor.say("Do you ship to Norway?", "c1")
    assert visitor.history()["survey"] is None
    (room_id,) = [x["id"] for x in rooms(client, tenant)]
    close(client, tenant, room_id)
    survey = sent(db_url, room_id)
    assert survey["reference_type"] == "webchat" and survey["message_id"] is None

    card = visitor.history()["survey"]
    assert card["question"] == "Rate our chat"
    assert [m["id"] for m in visitor.history()["messages"]] == [mine["id"]]  # no message
    assert other.history()["survey"] is None
    body = {"survey_id": card["id"], "rating": 3, "comment": "ok"}
    base = f"/widget/{account_id}/csat"
    assert_error(client.post(base, headers=other.headers(), json=body), 404, "survey_not_found")
    assert_error(client.post(base, headers=visitor.headers(), json={**body, "rating": 6}), 422)
    r = client.post(base, headers=visitor.headers(), json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"rating": 3, "comment": "ok"}
    assert_error(
        client.post(base, headers=visitor.headers(), json={**body, "rating": 5}),
        409,
        "survey_answered",
    )
    assert visitor.history()["survey"] is None
    assert room(client, tenant, room_id)["csat"] == 3
    (rated,) = client.get(URL, headers=tenant.admin).json()["result"]
    assert (rated["rating"], rated["reference_type"]) == (3, "webchat")


# --- one survey per room, its delay, two workers ---------------------------------------------


def test_one_survey_per_room_after_its_delay_sent_once_by_two_workers(client, tenant, db_url):
    sms = tenant.channel("message", csat="on", csat_delay=3600)
    first = inbound(sms, "+15557770001", "help").conversation_id
    second = inbound(sms, "+15557770002", "help too").conversation_id
    closed_at = now()
    close(client, tenant, first)
    close(client, tenant, second)
    (scheduled,) = surveys(db_url, first)
    assert scheduled["status"] == "scheduled" and scheduled["sent_at"] is None
    assert abs((scheduled["due_at"] - closed_at).total_seconds() - 3600) < 5

    # not a second early; then two workers at once send each survey once
    assert run_async(sender.send_due(at=closed_at + timedelta(seconds=3590))) == 0

    async def two_workers() -> list[int]:
        later = closed_at + timedelta(seconds=3610)
        return list(await asyncio.gather(sender.send_due(at=later), sender.send_due(at=later)))

    assert sum(run_async(two_workers())) == 2
    for room_id in (first, second):
        questions = [m for m in history(client, tenant, room_id) if m["text"] == QUESTION]
        assert len(questions) == 1 and surveys(db_url, room_id)[0]["status"] == "sent"

    # reopened and closed again: still the one survey
    reopen(client, tenant, first)
    close(client, tenant, first)
    assert run_async(sender.send_due(at=now() + timedelta(hours=2))) == 0
    assert len(surveys(db_url, first)) == 1
    assert len([m for m in history(client, tenant, first) if m["text"] == QUESTION]) == 1

    # reopened before it was due: cancelled, and the next close schedules it again
    third = inbound(sms, "+15557770003", "one more").conversation_id
    close(client, tenant, third)
    reopen(client, tenant, third)
    assert run_async(sender.send_due(at=now() + timedelta(hours=2))) == 0
    assert surveys(db_url, third)[0]["status"] == "canceled"
    close(client, tenant, third)
    assert surveys(db_url, third)[0]["status"] == "scheduled"
    assert run_async(sender.send_due(at=now() + timedelta(hours=2))) == 1
    # a digit more than three days later is an ordinary message: a new room
    sql(
        db_url,
        "UPDATE csat_surveys SET sent_at = sent_at - interval '4 days' WHERE conversation_id = $1",
        third,
    )
    late = inbound(sms, "+15557770003", "5")
    assert late.new_room and late.conversation_id != third
    # an account with surveys off (the default) asks nobody
    quiet = inbound(tenant.channel("line"), "U" + "9" * 32, "hi").conversation_id
    close(client, tenant, quiet)
    assert surveys(db_url, quiet) == []


# --- the list: filters, who sees what, foreign ids -------------------------------------------


def rated_room(client, tenant, db_url, account, peer: str, answer: str, owner: str | None):
    room_id = inbound(account, peer, "a question").conversation_id
    if owner:
        r = client.put(
            f"/v1.0/conversations/{room_id}", headers=tenant.admin, json={"owner_id": owner}
        )
        assert r.status_code == 200, r.text
    close(client, tenant, room_id)
    sent(db_url, room_id)
    inbound(account, peer, answer)
    return room_id


def test_ratings_list_filters_by_each_field_and_foreign_ids_are_404(
    client, tenant, other_tenant, db_url
):
    line = tenant.channel("line", csat="on")
    whatsapp = tenant.channel("whatsapp", csat="on")
    sms = tenant.channel("message", csat="on")
    a = rated_room(client, tenant, db_url, line, "U" + "1" * 32, "5", tenant.agent_id)
    b = rated_room(client, tenant, db_url, whatsapp, "15557654321", "2 slow", tenant.manager_id)
    c = rated_room(client, tenant, db_url, sms, "+15557770009", "4", None)
    assert len(rooms(client, tenant)) == 3  # no answer opened a room
    every = client.get(URL, headers=tenant.admin).json()
    assert [x["conversation_id"] for x in every["result"]] == [c, b, a]  # newest first
    assert [x["reference_type"] for x in every["result"]] == ["message", "whatsapp", "line"]
    by_id = {x["conversation_id"]: x for x in every["result"]}

    def ids(**params) -> list[str]:
        r = client.get(URL, headers=tenant.admin, params=params)
        assert r.status_code == 200, r.text
        return [x["conversation_id"] for x in r.json()["result"]]

    assert ids(rating=2) == [b]
    assert ids(agent_id=tenant.agent_id) == [a]
    assert ids(conversation_id=c) == [c]
    assert ids(**{"from": by_id[b]["tm_create"]}) == [c, b]
    assert ids(to=by_id[b]["tm_create"]) == [a]
    assert ids(page_size=2) == [c, b]
    token = client.get(URL, headers=tenant.admin, params={"page_size": 2}).json()
    assert ids(page_size=2, page_token=token["next_page_token"]) == [a]
    # an agent sees the ratings of its own rooms and of unassigned ones, like rooms
    mine = client.get(URL, headers=tenant.agent).json()["result"]
    assert sorted(x["conversation_id"] for x in mine) == sorted([a, c])
    assert_error(client.get(f"{URL}/{by_id[b]['id']}", headers=tenant.agent), 404)
    assert client.get(f"{URL}/{by_id[b]['id']}", headers=tenant.manager).json() == by_id[b]

    # another customer's rating is not found; its list is empty
    for missing in (by_id[a]["id"], "00000000-0000-0000-0000-000000000000", "not-an-id"):
        assert_error(
            client.get(f"{URL}/{missing}", headers=other_tenant.admin),
            404,
            "csat_response_not_found",
        )
    assert client.get(URL, headers=other_tenant.admin).json()["result"] == []
    assert (
        client.get(URL, headers=other_tenant.admin, params={"conversation_id": a}).json()["result"]
        == []
    )
    for bad in ({"from": "yesterday"}, {"agent_id": "bob"}, {"rating": 9}, {"page_size": 0}):
        assert_error(client.get(URL, headers=tenant.admin, params=bad), 400)
    assert_error(client.get(URL), 401)
    assert sql_value(db_url, "SELECT count(*) FROM csat_responses") == 3
