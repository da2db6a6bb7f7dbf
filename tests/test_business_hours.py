"""Business hours (`/v1.0/business_hours`) over HTTP: CRUD and who may do what, every
refusal of a bad calendar, foreign ids, what each change leaves behind (event, audit
entry), teams and the customer using a calendar (and deleting one in use refused), the
room's calendar as other features read it, the out-of-hours automatic reply (sent once
per closed period, never while open, never when the account has it off), and the admin
page's forms (a lunch break and holidays typed as text, refusals in words that keep what
was typed, the customer's default, a team's choice). All on the in-process app."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import assert_error, inbound, run_async
from db_kit import audit_entries, sql
from desk_kit import post_form, sign_in

from app.business_hours.service import calendar_by_id, calendar_for_room

URL = "/v1.0/business_hours"
LIVE = "9999-01-01 00:00:00.000000"
LUNCH = [
    {"day": d, "start": s, "end": e}
    for d in range(5)
    for s, e in (("09:00", "12:00"), ("13:00", "17:00"))
]


def _events(db_url: str, customer_id: str) -> list[dict]:
    rows = sql(
        db_url,
        "SELECT type, topics, audience::text[] AS audience, payload::text FROM events"
        " WHERE customer_id = $1 AND type LIKE 'business_hours_%' ORDER BY id",
        customer_id,
    )
    return [
        {
            "type": r["type"],
            "topics": list(r["topics"]),
            "audience": list(r["audience"]),
            "data": json.loads(r["payload"]),
        }
        for r in rows
    ]


def _create(client, tenant, **body) -> dict:
    given = {"name": "Office", "time_zone": "Europe/Berlin", "periods": LUNCH, **body}
    r = client.post(URL, headers=tenant.admin, json=given)
    assert r.status_code == 201, r.text
    return r.json()


def test_admins_keep_calendars_everyone_reads_them_each_change_an_event(client, tenant, db_url):
    made = _create(
        client,
        tenant,
        # given out of order: stored by day and time, holidays by date
        periods=[
            {"day": 1, "start": "13:00", "end": "17:00"},
            {"day": 0, "start": "09:00", "end": "12:00"},
            {"day": 1, "start": "09:00", "end": "12:00"},
            {"day": 5, "start": "22:00", "end": "24:00"},
        ],
        holidays=[
            {"date": "2026-12-25", "yearly": True, "name": " Christmas "},
            {"date": "2026-05-01"},
        ],
    )
    assert set(made) == {
        "id", "customer_id", "name", "time_zone", "periods", "holidays",
        "tm_create", "tm_update", "tm_delete",
    }  # fmt: skip
    assert made["customer_id"] == tenant.customer_id and made["tm_delete"] == LIVE
    assert made["periods"] == [
        {"day": 0, "start": "09:00", "end": "12:00"},
        {"day": 1, "start": "09:00", "end": "12:00"},
        {"day": 1, "start": "13:00", "end": "17:00"},
        {"day": 5, "start": "22:00", "end": "24:00"},
    ]
    assert made["holidays"] == [
        {"date": "2026-05-01", "yearly": False, "name": ""},
        {"date": "2026-12-25", "yearly": True, "name": "Christmas"},
    ]
    for who in (tenant.admin, tenant.manager, tenant.agent):
        assert client.get(f"{URL}/{made['id']}", headers=who).json() == made
        assert client.get(URL, headers=who).json() == {"result": [made], "next_page_token": ""}
    # agents and managers read, never write
    for who in (tenant.manager, tenant.agent):
        assert_error(client.post(URL, headers=who, json={"name": "x", "time_zone": "UTC"}), 403)
        assert_error(client.put(f"{URL}/{made['id']}", headers=who, json={"name": "y"}), 403)
        assert_error(client.delete(f"{URL}/{made['id']}", headers=who), 403)

    r = client.put(
        f"{URL}/{made['id']}",
        headers=tenant.admin,
        json={"name": "Berlin office", "holidays": [], "time_zone": "America/New_York"},
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert (updated["name"], updated["time_zone"], updated["holidays"]) == (
        "Berlin office",
        "America/New_York",
        [],
    )
    assert updated["periods"] == made["periods"]
    # the same values again (periods in another order are the same periods): no change
    same = client.put(
        f"{URL}/{made['id']}",
        headers=tenant.admin,
        json={"name": "Berlin office", "periods": list(reversed(made["periods"]))},
    )
    assert same.json() == updated

    r = client.delete(f"{URL}/{made['id']}", headers=tenant.admin)
    assert r.status_code == 200 and r.json()["tm_delete"] != LIVE
    assert_error(client.get(f"{URL}/{made['id']}", headers=tenant.admin), 404)
    assert client.get(URL, headers=tenant.admin).json()["result"] == []

    events = _events(db_url, tenant.customer_id)
    assert [e["type"] for e in events] == [
        "business_hours_created",
        "business_hours_updated",
        "business_hours_deleted",
    ]
    topic = f"customer_id:{tenant.customer_id}:business_hours:{made['id']}"
    assert all(e["topics"] == [topic] and e["audience"] == [] for e in events)
    assert [e["data"] for e in events[:2]] == [made, updated]
    assert events[2]["data"]["tm_delete"] != LIVE
    for verb, before, after in (
        ("created", {}, made),
        ("updated", made, updated),
        ("deleted", updated, {}),
    ):
        (entry,) = audit_entries(db_url, tenant.customer_id, f"business_hours.{verb}")
        assert (entry["actor_id"], entry["target_type"], entry["target_id"]) == (
            tenant.admin_id,
            "business_hours",
            made["id"],
        )
        assert (entry["before"], entry["after"]) == (before, after)


def test_pages_are_keyset_pages_newest_first(client, tenant):
    ids = [_create(client, tenant, name=f"Cal {i}")["id"] for i in range(3)]
    first = client.get(URL, headers=tenant.agent, params={"page_size": 2}).json()
    assert [c["id"] for c in first["result"]] == ids[:0:-1]
    rest = client.get(
        URL, headers=tenant.agent, params={"page_size": 2, "page_token": first["next_page_token"]}
    ).json()
    assert [c["id"] for c in rest["result"]] == [ids[0]] and rest["next_page_token"] == ""


def _period(day=0, start="09:00", end="17:00") -> dict:
    return {"day": day, "start": start, "end": end}


BAD = [
    # (body, status, reason, field)
    ({"time_zone": "Mars/Olympus"}, 422, "invalid_time_zone", "time_zone"),
    ({"time_zone": "/etc/localtime"}, 422, "invalid_time_zone", "time_zone"),
    ({"time_zone": "Europe/../Berlin"}, 422, "invalid_time_zone", "time_zone"),
    ({"time_zone": ""}, 422, "invalid_body", None),
    ({"name": "   "}, 422, "invalid_name", "name"),
    ({"name": ""}, 422, "invalid_body", None),
    ({"periods": [_period(day=7)]}, 422, "invalid_body", None),
    ({"periods": [_period(day=-1)]}, 422, "invalid_body", None),
    ({"periods": [_period(start="9:00")]}, 422, "invalid_body", None),
    ({"periods": [_period(start="24:00", end="24:00")]}, 422, "invalid_body", None),
    ({"periods": [_period(end="25:00")]}, 422, "invalid_body", None),
    ({"periods": [_period(start="10:00", end="10:00")]}, 422, "invalid_period", "periods[0]"),
    ({"periods": [_period(), _period(start="12:00", end="09:30")]}, 422, "invalid_period",
     "periods[1]"),
    ({"periods": [_period(), _period(day=1), _period(start="16:00", end="18:00")]}, 422,
     "overlapping_periods", "periods[2]"),
    ({"periods": [_period(), _period()]}, 422, "overlapping_periods", "periods[1]"),
    ({"periods": [_period(day=d % 7, start=f"{d // 7:02d}:00", end=f"{d // 7:02d}:30")
                  for d in range(51)]}, 422, "invalid_body", None),
    ({"periods": [{"day": 0, "start": "09:00"}]}, 422, "invalid_body", None),
    ({"holidays": [{"date": "2026-02-30"}]}, 422, "invalid_holiday", "holidays[0]"),
    ({"holidays": [{"date": "0000-01-01"}]}, 422, "invalid_holiday", "holidays[0]"),
    ({"holidays": [{"date": "26-12-25"}]}, 422, "invalid_body", None),
    ({"holidays": [{"date": "2026-12-25"}, {"date": "2026-12-25", "yearly": True}]}, 422,
     "duplicate_holiday", "holidays[1]"),
    ({"holidays": [{"date": "2026-12-25", "yearly": "yes"}]}, 422, "invalid_body", None),
    ({"holidays": [{"date": (datetime(2026, 1, 1) + timedelta(days=i)).date().isoformat()}
                   for i in range(367)]}, 422, "invalid_body", None),
    ({"nope": 1}, 422, "invalid_body", None),
]  # fmt: skip


def test_a_bad_calendar_is_refused_naming_what_is_wrong(client, tenant):
    made = _create(client, tenant)
    for body, status, reason, field in BAD:
        given = {"name": "Office", "time_zone": "UTC", **body}
        error = assert_error(client.post(URL, headers=tenant.admin, json=given), status, reason)
        if field is not None:
            assert error["fields"][0]["field"] == field, body
        r = client.put(f"{URL}/{made['id']}", headers=tenant.admin, json=body)
        assert_error(r, status, reason)
    assert client.get(URL, headers=tenant.admin).json()["result"] == [made]


def test_limits_are_met_exactly(client, tenant):
    periods = [
        _period(day=d % 7, start=f"{d // 7:02d}:00", end=f"{d // 7:02d}:30") for d in range(50)
    ]
    holidays = [
        {"date": (datetime(2026, 1, 1) + timedelta(days=i)).date().isoformat()} for i in range(366)
    ]
    made = _create(client, tenant, periods=periods, holidays=holidays)
    assert len(made["periods"]) == 50 and len(made["holidays"]) == 366


def test_foreign_and_malformed_ids_are_not_found(client, tenant, other_tenant):
    theirs = _create(client, other_tenant)
    mine = _create(client, tenant)
    for hours_id in (theirs["id"], str(uuid.uuid4()), "nope", "1 OR 1=1"):
        assert_error(client.get(f"{URL}/{hours_id}", headers=tenant.admin), 404,
                     "business_hours_not_found")  # fmt: skip
        assert_error(client.put(f"{URL}/{hours_id}", headers=tenant.admin, json={"name": "x"}),
                     404, "business_hours_not_found")  # fmt: skip
        assert_error(client.delete(f"{URL}/{hours_id}", headers=tenant.admin), 404,
                     "business_hours_not_found")  # fmt: skip
    assert [c["id"] for c in client.get(URL, headers=tenant.admin).json()["result"]] == [mine["id"]]
    # another customer's calendar is nobody's to use here
    for who, path in (("teams", "/v1.0/teams"),):
        r = client.post(
            path, headers=tenant.admin, json={"name": "T", "business_hours_id": theirs["id"]}
        )
        error = assert_error(r, 422, "unknown_business_hours")
        assert error["fields"] == [
            {"field": "business_hours_id", "message": "no such business hours"}
        ]
        assert client.get(path, headers=tenant.admin).json()["result"] == [], who
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"business_hours_id": theirs["id"]})
    assert_error(r, 422, "unknown_business_hours")
    assert client.get("/v1.0/customer", headers=tenant.admin).json()["business_hours_id"] is None
    # and theirs is untouched
    assert client.get(f"{URL}/{theirs['id']}", headers=other_tenant.admin).json() == theirs


def test_teams_and_the_customer_use_calendars_and_one_in_use_stays(client, tenant, db_url):
    office = _create(client, tenant, name="Office")
    late = _create(
        client,
        tenant,
        name="Late shift",
        time_zone="America/New_York",
        periods=[_period(day=d, start="18:00", end="24:00") for d in range(7)],
    )
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={"name": "Support", "business_hours_id": office["id"]},
    )
    assert r.status_code == 201, r.text
    team = r.json()
    assert team["business_hours_id"] == office["id"]
    plain = client.post("/v1.0/teams", headers=tenant.admin, json={"name": "Sales"}).json()
    assert plain["business_hours_id"] is None
    r = client.put("/v1.0/customer", headers=tenant.admin, json={"business_hours_id": late["id"]})
    assert r.status_code == 200 and r.json()["business_hours_id"] == late["id"]
    assert (
        client.get("/v1.0/customer", headers=tenant.agent).json()["business_hours_id"] == late["id"]
    )
    # non-admins cannot choose the customer's calendar
    assert_error(
        client.put("/v1.0/customer", headers=tenant.manager, json={"business_hours_id": None}), 403
    )
    (entry,) = audit_entries(db_url, tenant.customer_id, "customer.updated")
    assert (entry["before"]["business_hours_id"], entry["after"]["business_hours_id"]) == (
        None,
        late["id"],
    )

    # a room's calendar: its team's, else the customer's
    calendars = run_async(_room_calendars(tenant.customer_id, team["id"], plain["id"]))
    assert calendars == ("Europe/Berlin", "America/New_York", "America/New_York")

    # in use: deleting is refused, naming every user
    error = assert_error(client.delete(f"{URL}/{office['id']}", headers=tenant.admin), 409,
                         "business_hours_in_use")  # fmt: skip
    assert "'Support'" in error["message"]
    error = assert_error(client.delete(f"{URL}/{late['id']}", headers=tenant.admin), 409,
                         "business_hours_in_use")  # fmt: skip
    assert "the customer's default" in error["message"]
    # the team moves to the customer's calendar, the customer to none: both can go
    r = client.put(
        f"/v1.0/teams/{team['id']}", headers=tenant.admin, json={"business_hours_id": None}
    )
    assert r.status_code == 200 and r.json()["business_hours_id"] is None
    assert (
        client.put("/v1.0/customer", headers=tenant.admin, json={"business_hours_id": None}).json()[
            "business_hours_id"
        ]
        is None
    )
    assert run_async(_room_calendars(tenant.customer_id, team["id"], plain["id"])) == (
        None,
        None,
        None,
    )
    for hours in (office, late):
        assert client.delete(f"{URL}/{hours['id']}", headers=tenant.admin).status_code == 200
    # a deleted calendar cannot be chosen again
    r = client.put(
        f"/v1.0/teams/{team['id']}", headers=tenant.admin, json={"business_hours_id": office["id"]}
    )
    assert_error(r, 422, "unknown_business_hours")
    # a deleted team does not hold a calendar
    other = _create(client, tenant, name="Other")
    client.put(
        f"/v1.0/teams/{plain['id']}", headers=tenant.admin, json={"business_hours_id": other["id"]}
    )
    client.delete(f"/v1.0/teams/{plain['id']}", headers=tenant.admin)
    assert client.delete(f"{URL}/{other['id']}", headers=tenant.admin).status_code == 200
    # by id (an SLA policy's own calendar): the customer's, deleted or not; an unknown id, none
    found = run_async(_by_ids(tenant.customer_id, [office["id"], late["id"], str(uuid.uuid4())]))
    assert found == ["Europe/Berlin", "America/New_York", None]


async def _by_ids(customer_id: str, ids: list[str]) -> list[str | None]:
    found = []
    for hours_id in ids:
        cal = await calendar_by_id(None, customer_id, hours_id)
        found.append(cal.time_zone if cal else None)
    return found


async def _room_calendars(customer_id: str, team_id: str, plain_id: str):
    found = []
    for team in (team_id, plain_id, None):
        cal = await calendar_for_room(None, customer_id, team)
        found.append(cal.time_zone if cal else None)
    return tuple(found)


# --- the out-of-hours reply --------------------------------------------------------------

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _closed_now(client, tenant) -> tuple[dict, int]:
    """A calendar closed today and the next two days, open all day the third day after
    (whatever the time now): the calendar and that day's weekday."""
    day = (datetime.now(UTC).weekday() + 3) % 7
    periods = [_period(day, "00:00", "24:00")]
    return _create(client, tenant, name="Closed now", time_zone="UTC", periods=periods), day


def _open_now(client, tenant) -> dict:
    week = [_period(d, "00:00", "24:00") for d in range(7)]
    return _create(client, tenant, name="Always", time_zone="UTC", periods=week)


def _use(client, tenant, hours: dict | None) -> None:
    body = {"business_hours_id": hours["id"] if hours else None}
    assert client.put("/v1.0/customer", headers=tenant.admin, json=body).status_code == 200


def _outbound(client, tenant, room_id: str) -> list[dict]:
    r = client.get(f"/v1.0/conversations/{room_id}/messages", headers=tenant.admin)
    return [m for m in r.json()["result"] if m["direction"] == "outbound"]


def test_out_of_hours_the_customer_is_told_when_you_open_once_per_closed_period(
    client, tenant, db_url
):
    hours, opens_day = _closed_now(client, tenant)
    _use(client, tenant, hours)
    sms = tenant.channel(
        "message", closed_reply="on", closed_reply_text="Closed. Back {{ next_open }}!"
    )
    first = inbound(sms, "+15550100001", "hello?")
    (reply,) = _outbound(client, tenant, first.conversation_id)
    assert reply["text"] == f"Closed. Back {DAY_NAMES[opens_day]} 00:00 UTC!"
    assert reply["agent_id"] is None and reply["reference_id"] == "+15550100001"
    assert reply["account_id"] == str(sms.id)
    (kept,) = sql(db_url, "SELECT message_id::text FROM closed_replies WHERE conversation_id = $1",
                  uuid.UUID(first.conversation_id))  # fmt: skip
    assert kept["message_id"] == reply["id"]
    # the reply went out like any reply: its event, and the room shows it last
    types = sql(
        db_url,
        "SELECT type FROM events WHERE customer_id = $1 AND payload->>'id' = $2",
        tenant.customer_id,
        reply["id"],
    )
    assert "conversation_message_created" in [t["type"] for t in types]
    room = client.get(f"/v1.0/conversations/{first.conversation_id}", headers=tenant.admin).json()
    assert room["last_message"] == reply["text"]

    # still the same closed period: no second reply
    again = inbound(sms, "+15550100001", "anyone?")
    assert again.conversation_id == first.conversation_id
    assert [m["id"] for m in _outbound(client, tenant, first.conversation_id)] == [reply["id"]]
    # another room gets its own
    other = inbound(sms, "+15550100002", "hi")
    assert len(_outbound(client, tenant, other.conversation_id)) == 1

    # the last reply as if sent a week ago: the calendar has opened since, so this is a
    # new closed period, and the customer is told again
    sql(db_url, "UPDATE closed_replies SET tm_create = tm_create - interval '8 days'"
        " WHERE conversation_id = $1", uuid.UUID(first.conversation_id))  # fmt: skip
    inbound(sms, "+15550100001", "hello again")
    replies = _outbound(client, tenant, first.conversation_id)
    assert len(replies) == 2 and replies[0]["text"] == reply["text"]


def test_no_reply_while_open_when_off_or_with_no_calendar(client, tenant):
    closed, _ = _closed_now(client, tenant)
    always = _open_now(client, tenant)
    on = tenant.channel("message", closed_reply="on")
    off = tenant.channel("email", closed_reply="off")
    # the customer's calendar is closed; the account that has it off stays silent
    _use(client, tenant, closed)
    quiet = inbound(off, "ann@example.com", "hello")
    assert _outbound(client, tenant, quiet.conversation_id) == []
    # a team's own calendar wins over the customer's: open, so no reply
    team_line = tenant.channel("whatsapp", closed_reply="on")
    r = client.post(
        "/v1.0/teams",
        headers=tenant.admin,
        json={
            "name": "Night",
            "account_ids": [str(team_line.id)],
            "business_hours_id": always["id"],
        },
    )
    assert r.status_code == 201, r.text
    teamed = inbound(team_line, "15550100009", "hi team")
    assert _outbound(client, tenant, teamed.conversation_id) == []
    # open now: no reply
    _use(client, tenant, always)
    opened = inbound(on, "+15550100003", "hello")
    assert _outbound(client, tenant, opened.conversation_id) == []
    # no calendar at all: open around the clock
    _use(client, tenant, None)
    inbound(on, "+15550100003", "and now?")
    assert _outbound(client, tenant, opened.conversation_id) == []
    # the same account, closed now: it answers, with the default text
    _use(client, tenant, closed)
    inbound(on, "+15550100003", "and now?")
    (reply,) = _outbound(client, tenant, opened.conversation_id)
    assert reply["text"].startswith("We are closed right now. We will answer from ")


def test_the_closed_reply_is_an_account_setting(client, tenant):
    r = client.post(
        "/v1.0/conversation_accounts",
        headers=tenant.admin,
        json={
            "type": "sms",
            "settings": {"phone_number": "+15550001111", "account_sid": "AC" + "0" * 32},
            "secrets": {"auth_token": "secret"},
        },
    )
    assert r.status_code == 201, r.text
    assert "closed_reply" not in r.json()["settings"]  # absent: off
    url = f"/v1.0/conversation_accounts/{r.json()['id']}"
    r = client.put(url, headers=tenant.admin, json={"settings": {"closed_reply": "sometimes"}})
    assert_error(r, 422, "invalid_setting")
    r = client.put(
        url,
        headers=tenant.admin,
        json={"settings": {"closed_reply": "on", "closed_reply_text": "Back at {{next_open}}"}},
    )
    assert r.status_code == 200, r.text
    settings = r.json()["settings"]
    assert (settings["closed_reply"], settings["closed_reply_text"]) == (
        "on",
        "Back at {{next_open}}",
    )


# --- the desk: Admin → Business hours, over plain HTTP as a browser without JavaScript --

FORM = {
    "name": "Office",
    "time_zone": "Europe/Berlin",
    **{f"day_{d}": "9:00-12:00, 13:00–17:00" for d in range(5)},
    "day_5": "",
    "day_6": "",
    "holidays": "2026-05-01 Labour Day\n2026-12-25 yearly Christmas\n",
}


@pytest.fixture
def desk(client, tenant):
    sign_in(client, "acme-admin", tenant.password)
    yield client
    client.headers.pop("x-csrftoken", None)


TEAM = {"name": "Support", "assignment_policy": "manual", "max_open": "5"}


def _form_error(page: str) -> str:
    found = re.search(r'id="form-error">([^<]*)<', page)
    return html.unescape(found.group(1)) if found else ""


def test_an_admin_keeps_business_hours_on_the_desk(desk, tenant):
    r = post_form(desk, "/admin/business-hours", data=FORM)
    assert r.status_code == 303, r.text
    hours_id = r.headers["location"].split("saved=")[1].split("#")[0]
    made = desk.get(f"/v1.0/business_hours/{hours_id}", headers=tenant.admin).json()
    assert made["periods"][:2] == [
        {"day": 0, "start": "09:00", "end": "12:00"},
        {"day": 0, "start": "13:00", "end": "17:00"},
    ]
    assert len(made["periods"]) == 10
    assert made["holidays"] == [
        {"date": "2026-05-01", "yearly": False, "name": "Labour Day"},
        {"date": "2026-12-25", "yearly": True, "name": "Christmas"},
    ]
    page = desk.get("/admin/business-hours").text
    assert "Mon–Fri 09:00–12:00, 13:00–17:00" in page
    assert 'id="admin-menu-business-hours"' in page
    # the edit form shows it as typed back
    page = desk.get(f"/admin/business-hours/{hours_id}").text
    assert 'value="09:00-12:00, 13:00-17:00"' in page
    assert "2026-12-25 yearly Christmas" in page

    # refusals keep what was typed and point at the day
    bad = {**FORM, "day_2": "9 to 5"}
    r = post_form(desk, f"/admin/business-hours/{hours_id}", data=bad)
    assert r.status_code == 422
    assert _form_error(r.text) == "Wednesday: “9 to 5” is not a period like 09:00-17:00."
    assert 'id="day_2" name="day_2" value="9 to 5"' in r.text
    overlapping = {**FORM, "day_3": "09:00-12:00, 11:00-13:00", "name": "<b>Office</b>"}
    r = post_form(desk, f"/admin/business-hours/{hours_id}", data=overlapping)
    assert r.status_code == 422 and "two periods of Thursday overlap" in _form_error(r.text)
    assert '<div class="field invalid">\n      <label for="day_3">' in r.text
    assert "&lt;b&gt;Office&lt;/b&gt;" in r.text and "<b>Office</b>" not in r.text
    r = post_form(
        desk, f"/admin/business-hours/{hours_id}", data={**FORM, "holidays": "2026-02-30"}
    )
    assert r.status_code == 422 and "2026-02-30" in _form_error(r.text)

    # the customer's default, and a team's own
    r = post_form(desk, "/admin/business-hours/default", data={"business_hours_id": hours_id})
    assert r.status_code == 303
    assert desk.get("/v1.0/customer", headers=tenant.admin).json()["business_hours_id"] == hours_id
    r = post_form(desk, "/admin/teams", data={**TEAM, "business_hours_id": hours_id})
    assert r.status_code == 303, r.text
    team = desk.get("/v1.0/teams", headers=tenant.admin).json()["result"][0]
    assert team["business_hours_id"] == hours_id
    page = desk.get(f"/admin/teams/{team['id']}").text
    assert f'<option value="{hours_id}" selected>Office</option>' in page

    # in use: the page says by whom and offers no delete; a forced one is refused in words
    page = desk.get(f"/admin/business-hours/{hours_id}").text
    assert "the team “Support”" in page and 'id="delete-confirm"' not in page
    r = post_form(desk, f"/admin/business-hours/{hours_id}/delete")
    assert r.status_code == 409 and "'Support'" in _form_error(r.text)
    # freed, it goes
    post_form(desk, f"/admin/teams/{team['id']}", data={**TEAM, "business_hours_id": ""})
    post_form(desk, "/admin/business-hours/default", data={"business_hours_id": ""})
    r = post_form(desk, f"/admin/business-hours/{hours_id}/delete")
    assert r.status_code == 303 and "deleted=Office" in r.headers["location"]
    assert desk.get("/v1.0/business_hours", headers=tenant.admin).json()["result"] == []


def test_only_admins_see_business_hours_on_the_desk(client, tenant):
    sign_in(client, "acme-manager", tenant.password)
    for path in ("/admin/business-hours", "/admin/business-hours/new"):
        r = client.get(path)
        assert r.status_code == 403 and "Only an admin" in r.text
    assert post_form(client, "/admin/business-hours", FORM).status_code == 403
    assert client.get("/v1.0/business_hours", headers=tenant.admin).json()["result"] == []
    client.headers.pop("x-csrftoken", None)
