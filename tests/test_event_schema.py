"""Events one can reason about: every type is documented (docs/EVENTS.md and the OpenAPI
document), every event an action writes matches its documented schema, topics and
audience, and a client that fetched its lists once and applies the events ends up with
exactly what a fresh fetch returns.

The actions run through the service layer in this process (fast); the schema is the one
the server publishes at `/schema/openapi.json`. State and the last event id are read in
one snapshot (repeatable read), so whatever else writes meanwhile — a server's sender
marking a message `done` — is in both the events and the fresh fetch.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import jsonschema_rs
import msgspec
import pytest
from conftest import ROOT
from routing_kit import principal

from app.business_hours import service as business_hours
from app.canned import service as canned
from app.channels import accounts, runtime
from app.contacts import service as contact_service
from app.contacts import tags as contact_tags
from app.conversations import messages, notes
from app.conversations import service as conversations
from app.core.events import StoredEvent, connection, event_body, events_after, last_event_id
from app.csat import sender as csat_sender
from app.csat import service as csat
from app.db.piccolo_conf import DB
from app.domain.automation import (
    AutomationRuleCreate,
    AutomationRuleOut,
    AutomationRuleUpdate,
    MacroCreate,
    MacroOut,
    MacroUpdate,
)
from app.domain.channels import preview
from app.domain.enums import (
    PUBLIC_EVENTS,
    TALK_EVENTS,
    WEBHOOK_EVENTS,
    AddressType,
    AgentStatus,
    AssignmentPolicy,
    Availability,
    ConversationStatus,
    EventType,
    MessageStatus,
    ParticipantType,
    Permission,
    TalkType,
)
from app.domain.inbound import InboundMessage
from app.domain.principal import Principal
from app.domain.resources import (
    EVENT_DATA,
    AgentCreate,
    AgentOut,
    AgentUpdate,
    BusinessHoursCreate,
    BusinessHoursOut,
    BusinessHoursUpdate,
    CannedResponseCreate,
    CannedResponseOut,
    CannedResponseUpdate,
    ContactAddressIn,
    ContactCreate,
    ContactMergeIn,
    ContactOut,
    ContactUpdate,
    ConversationCreate,
    ConversationOut,
    ConversationSlaOut,
    ConversationUpdate,
    CsatResponseOut,
    CustomerUpdate,
    MessageCreate,
    MessageOut,
    MessageUpdate,
    NotificationOut,
    ParticipantIn,
    SlaPolicyCreate,
    SlaPolicyOut,
    SlaPolicyUpdate,
    TagCreate,
    TagOut,
    TagUpdate,
    TalkCreate,
    TalkMessageCreate,
    TalkMessageOut,
    TalkOut,
    TalkParticipantOut,
    TalkUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from app.domain.timefmt import fmt, now
from app.notifications import service as notifications
from app.people import agents, customers
from app.routing import availability, teams
from app.sla import service as sla_policies
from app.talk import messages as talk_messages
from app.talk import service as talks
from app.webhooks import log as webhook_log

LIVE = "9999-01-01 00:00:00.000000"
NEVER_WRITTEN = {EventType.CONVERSATION_MESSAGE_DELETED}
"""Documented and reserved, but no action writes it (messages are not deleted)."""


# --- the documentation ------------------------------------------------------------------

EVENTS_MD = ROOT / "docs" / "EVENTS.md"
TYPE_ROW = re.compile(r"^\| `([a-z_]+)` \| `([A-Za-z]+)` \|", re.MULTILINE)
TYPE_LIKE = re.compile(r"`((?:conversation|talk|webhook)_[a-z]+(?:_[a-z]+)*)`")


def test_every_event_type_is_documented_and_every_documented_type_exists():
    text = EVENTS_MD.read_text()
    rows = dict(TYPE_ROW.findall(text))
    assert set(rows) == {e.value for e in EventType}
    for event_type, data in rows.items():
        assert data == EVENT_DATA[EventType(event_type)].__name__, event_type
    # anywhere else on the page, a name shaped like an event type is one (or a field)
    fields = {"webhook_events"}
    named = set(TYPE_LIKE.findall(text)) - fields
    assert named <= {e.value for e in EventType}, named - {e.value for e in EventType}


def test_every_type_has_its_resource_and_the_api_document_lists_what_webhooks_get(doc):
    assert set(EVENT_DATA) == set(EventType)
    hooks = doc["webhooks"]
    assert set(hooks) == {e.value for e in WEBHOOK_EVENTS}
    for event_type in WEBHOOK_EVENTS:
        body = hooks[event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
        data = EVENT_DATA[event_type].__name__
        assert body["properties"]["data"] == {"$ref": f"#/components/schemas/{data}"}
        assert body["properties"]["type"]["const"] == event_type.value
        assert data in doc["components"]["schemas"]
    # the subscribable types, as the API states them, are the public ones
    assert set(doc["components"]["schemas"]["EventType"]["enum"]) == {
        e.value for e in PUBLIC_EVENTS
    }


# --- checking one event against the documents ------------------------------------------


@pytest.fixture(scope="module")
def doc(server) -> dict:
    r = httpx.get(server.url + "/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


class Checker:
    """Validates event bodies against the published document, strictly: a field the
    document does not name is an error too."""

    def __init__(self, doc: dict) -> None:
        strict = copy.deepcopy(doc)
        schemas = strict["components"]["schemas"]
        # the desk's own resources are not in the API's document: from their Structs
        _, made = msgspec.json.schema_components(
            [EVENT_DATA[t] for t in EventType if t not in WEBHOOK_EVENTS],
            ref_template="#/components/schemas/{name}",
        )
        for name, schema in made.items():
            schemas.setdefault(name, schema)
        for schema in schemas.values():
            if "properties" in schema:
                schema["additionalProperties"] = False
        self.doc = strict
        self.validators: dict[str, Any] = {}

    def validator(self, event_type: EventType):
        if event_type not in self.validators:
            if event_type in WEBHOOK_EVENTS:
                body = "post/requestBody/content/application~1json/schema"
                where = f"#/webhooks/{event_type.value}/{body}"
                root = {**self.doc, "$ref": where}
            else:
                root = {
                    **self.doc,
                    "type": "object",
                    "required": ["id", "type", "tm_create", "data"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string", "pattern": "^[0-9]+$"},
                        "type": {"const": event_type.value},
                        "tm_create": {"type": "string"},
                        "data": {"$ref": f"#/components/schemas/{EVENT_DATA[event_type].__name__}"},
                    },
                }
            self.validators[event_type] = jsonschema_rs.Draft202012Validator(root)
        return self.validators[event_type]

    def check(self, event: StoredEvent) -> dict:
        event_type = EventType(event.type)
        body = json.loads(event_body(event))
        errors = [e.message for e in self.validator(event_type).iter_errors(body)]
        assert not errors, (event.type, errors, body)
        data = body["data"]
        # topics and audience, as docs/EVENTS.md says
        if event_type is EventType.WEBHOOK_TEST:
            assert (event.topics, event.audience) == ([], [])
        elif EVENT_DATA[event_type] is TeamOut:
            assert event.topics == [f"customer_id:{event.customer_id}:team:{data['id']}"]
            assert event.audience == []
        elif EVENT_DATA[event_type] is CannedResponseOut:
            assert event.topics == [f"customer_id:{event.customer_id}:canned_response:{data['id']}"]
            assert event.audience == ([data["owner_id"]] if data["owner_id"] else [])
        elif EVENT_DATA[event_type] is BusinessHoursOut:
            assert event.topics == [f"customer_id:{event.customer_id}:business_hours:{data['id']}"]
        elif EVENT_DATA[event_type] is SlaPolicyOut:
            assert event.topics == [f"customer_id:{event.customer_id}:sla_policy:{data['id']}"]
            assert event.audience == []
        elif EVENT_DATA[event_type] is AutomationRuleOut:
            assert event.topics == [f"customer_id:{event.customer_id}:automation_rule:{data['id']}"]
            assert event.audience == []
        elif EVENT_DATA[event_type] is MacroOut:
            assert event.topics == [f"customer_id:{event.customer_id}:macro:{data['id']}"]
            assert event.audience == ([data["owner_id"]] if data["owner_id"] else [])
        elif EVENT_DATA[event_type] in (ContactOut, TagOut):
            kind = "contact" if EVENT_DATA[event_type] is ContactOut else "tag"
            assert event.topics == [f"customer_id:{event.customer_id}:{kind}:{data['id']}"]
            assert event.audience == []
        elif EVENT_DATA[event_type] is AgentOut:
            assert event.topics == [f"customer_id:{event.customer_id}:agent:{data['id']}"]
            everyone = event_type is EventType.AGENT_AVAILABILITY_UPDATED
            assert event.audience == ([] if everyone else [data["id"]])
        elif EVENT_DATA[event_type] is NotificationOut:  # the notified agent's alone
            assert event.topics == [f"agent_id:{data['agent_id']}:notification:{data['id']}"]
            assert event.audience == [data["agent_id"]]
        elif event_type in TALK_EVENTS:
            talk_id = data["id"] if EVENT_DATA[event_type] is TalkOut else data["talk_id"]
            assert event.audience
            assert sorted(event.topics) == sorted(
                f"agent_id:{a}:talk:{talk_id}" for a in event.audience
            )
        else:
            room_id = (
                data["id"] if EVENT_DATA[event_type] is ConversationOut else data["conversation_id"]
            )
            assert event.topics == [f"customer_id:{event.customer_id}:conversation:{room_id}"]
        return data


# --- a client's copy of the lists -------------------------------------------------------


def _plain(items: list[Any]) -> dict[str, dict]:
    return {i.id: msgspec.to_builtins(i) for i in items}


async def read_state(admin: Principal) -> dict[str, Any]:
    """What a client shows: the rooms with their messages, the talks with their messages
    (every root and every thread), as the API lists them."""
    rooms = _plain((await conversations.list_conversations(admin))[0])
    room_messages = {r: _plain((await messages.list_messages(admin, r))[0]) for r in rooms}
    talk_list = _plain((await talks.list_talks(admin, scope="all"))[0])
    talk_lines: dict[str, dict[str, dict]] = {}
    for talk_id in talk_list:
        roots = (await talk_messages.list_messages(admin, talk_id))[0]
        lines = _plain(roots)
        for root in roots:
            if root.reply_count:
                lines |= _plain((await talk_messages.list_messages(admin, talk_id, root.id))[0])
        talk_lines[talk_id] = lines
    return {
        "rooms": rooms,
        "messages": room_messages,
        "talks": talk_list,
        "lines": talk_lines,
        "teams": _plain((await teams.list_teams(admin))[0]),
        "agents": _plain((await agents.list_agents(admin))[0]),
        "canned": _plain((await canned.list_page(admin))[0]),
        "me": admin.agent_id,
        "contacts": _plain((await contact_service.list_contacts(admin))[0]),
        "tags": _plain((await contact_tags.list_tags(admin))[0]),
        "ratings": _plain((await csat.list_responses(admin, csat.response_filter(admin)))[0]),
        "business_hours": _plain((await business_hours.list_page(admin))[0]),
        "sla_policies": _plain((await sla_policies.list_page(admin))[0]),
    }


async def snapshot(admin: Principal) -> tuple[int, dict[str, Any]]:
    """The last event id and the state, read in one snapshot: the state is exactly what
    the events up to that id made."""
    async with DB.transaction():
        await connection().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        last = await last_event_id(admin.customer_id)
        return last, await read_state(admin)


def shown(message: dict) -> bool:
    """Whether a talk's lists show this message: live, or a deleted root with replies."""
    return message["tm_delete"] == LIVE or (
        message["parent_id"] is None and message["reply_count"] > 0
    )


def put(state: dict[str, Any], kind: str, inside: str, data: dict, gone: bool) -> None:
    """Replace (or add) a room or a talk; one that is gone leaves, with what it holds."""
    if gone:
        state[kind].pop(data["id"], None)
        state[inside].pop(data["id"], None)
    else:
        state[kind][data["id"]] = data
        state[inside].setdefault(data["id"], {})


def apply(state: dict[str, Any], event_type: EventType, data: dict) -> None:
    """docs/EVENTS.md, "Keeping a copy up to date", as a client would write it."""
    shape = EVENT_DATA[event_type]
    if shape is BusinessHoursOut:
        if event_type is EventType.BUSINESS_HOURS_DELETED:
            state["business_hours"].pop(data["id"], None)
        else:
            state["business_hours"][data["id"]] = data
    if shape is ConversationSlaOut:
        room = state["rooms"].get(data["conversation_id"])
        if room is not None:
            room["sla"] = data["sla"]
    elif shape is SlaPolicyOut:
        if event_type is EventType.SLA_POLICY_DELETED:
            state["sla_policies"].pop(data["id"], None)
        else:
            state["sla_policies"][data["id"]] = data
    elif shape in (ContactOut, TagOut):
        kind = "contacts" if shape is ContactOut else "tags"
        if data["tm_delete"] != LIVE:
            state[kind].pop(data["id"], None)
        else:
            state[kind][data["id"]] = data
    elif shape is CsatResponseOut:
        state["ratings"][data["id"]] = data
    elif shape is TeamOut:
        if event_type is EventType.TEAM_DELETED:
            state["teams"].pop(data["id"], None)
        else:
            state["teams"][data["id"]] = data
    elif shape is CannedResponseOut:
        if data["owner_id"] not in (None, state["me"]):
            return  # another agent's personal reply: never in my list
        if event_type is EventType.CANNED_RESPONSE_DELETED:
            state["canned"].pop(data["id"], None)
        else:
            state["canned"][data["id"]] = data
    elif shape is AgentOut:
        if data["tm_delete"] != LIVE:
            state["agents"].pop(data["id"], None)
        else:
            state["agents"][data["id"]] = data
    elif shape is ConversationOut:
        put(state, "rooms", "messages", data, gone=event_type is EventType.CONVERSATION_DELETED)
        if event_type is EventType.CONVERSATION_MERGED:  # B's messages now are A's
            into = state["messages"].setdefault(data["merged_into"], {})
            for message_id, message in state["messages"].pop(data["id"], {}).items():
                into[message_id] = {**message, "conversation_id": data["merged_into"]}
            state["messages"][data["id"]] = {}
    elif shape is MessageOut:
        state["messages"].setdefault(data["conversation_id"], {})[data["id"]] = data
        room = state["rooms"].get(data["conversation_id"])
        if event_type is EventType.CONVERSATION_MESSAGE_CREATED and room is not None:
            room["last_message"] = preview(data["text"], data["medias"])
            room["tm_last_message"] = room["tm_update"] = data["tm_create"]
    elif shape is TalkOut:
        put(state, "talks", "lines", data, gone=data["tm_delete"] != LIVE)
    elif shape is TalkParticipantOut:
        talk = state["talks"].get(data["talk_id"])
        if talk is not None:
            others = [p for p in talk["participants"] if p["id"] != data["id"]]
            known = len(others) < len(talk["participants"])
            talk["participants"] = (
                [data if p["id"] == data["id"] else p for p in talk["participants"]]
                if known
                else [*talk["participants"], data]
            )
            talk["member_count"] = sum(p["status"] == "active" for p in talk["participants"])
    elif shape is TalkMessageOut:
        lines = state["lines"].get(data["talk_id"])
        if lines is None:
            return
        if shown(data):
            lines[data["id"]] = data
        else:
            lines.pop(data["id"], None)
        talk = state["talks"].get(data["talk_id"])
        if event_type is EventType.TALK_MESSAGE_CREATED and data["type"] == "normal" and talk:
            talk["tm_last_message"] = data["tm_create"]


# --- the actions ------------------------------------------------------------------------


class Scenario:
    def __init__(self, checker: Checker, admin: Principal) -> None:
        self.checker = checker
        self.admin = admin
        self.seen: set[EventType] = set()

    @staticmethod
    def background(event: StoredEvent) -> bool:
        """A status change of an outbound message, which a running server's sender may
        make at any moment: checked and applied like the others, but expected by no step."""
        return event.type in (
            EventType.CONVERSATION_MESSAGE_UPDATED,
            EventType.CONVERSATION_MESSAGE_SENT,
        ) and b'"direction":"outbound"' in bytes(event.payload)

    async def start(self) -> None:
        self.last, self.state = await snapshot(self.admin)

    async def step(self, action, *expected: EventType) -> Any:
        """Run `action`; its events must match their schemas, be `expected` (in that
        order; background events aside), and turn the copy into a fresh fetch."""
        result = await action
        last, fresh = await snapshot(self.admin)
        events = await events_after(self.admin.customer_id, self.last, limit=10_000)
        events = [e for e in events if e.id <= last]
        for event in events:
            data = self.checker.check(event)
            apply(self.state, EventType(event.type), data)
            self.seen.add(EventType(event.type))
        got = [EventType(e.type) for e in events if not self.background(e)]
        assert got == list(expected), got
        assert self.state == fresh, differences(self.state, fresh)
        self.last = last
        return result


def differences(mine: Any, fresh: Any, where: str = "") -> list[str]:
    """Where the copy and the fresh fetch differ, as paths (for a readable failure)."""
    if isinstance(mine, dict) and isinstance(fresh, dict):
        found = []
        for key in sorted(set(mine) | set(fresh)):
            if key not in mine or key not in fresh:
                found.append(f"{where}/{key}: only in {'copy' if key in mine else 'fetch'}")
            else:
                found += differences(mine[key], fresh[key], f"{where}/{key}")
        return found
    return [] if mine == fresh else [f"{where}: copy {mine!r}, fetch {fresh!r}"]


@pytest.fixture
def private_webhooks():
    """A webhook endpoint on a private address, as in development: the test event needs
    an endpoint set, and nothing is ever sent to it here."""
    before = runtime.settings()
    runtime.configure(before.with_overrides(allow_private_webhooks=True))
    yield
    runtime.configure(before)


async def test_every_action_writes_documented_events_that_keep_a_copy_true(doc, private_webhooks):
    Ev = EventType
    customer, admin_id = await customers.create_customer(
        name="Schema Inc", username="schema-admin", password="schema-pass-1"
    )
    cid = customer.id
    admin = principal(cid, admin_id, "schema-admin", Permission.ADMIN)
    people = {}
    for name in ("ann", "bob", "cyd"):
        made = await agents.create_agent(
            admin, AgentCreate(username=f"schema-{name}", password="schema-pass-1", name=name)
        )
        people[name] = principal(cid, made.id, made.username, Permission.AGENT)
    ann, bob, cyd = people["ann"], people["bob"], people["cyd"]
    sms = await accounts.create_account(
        cid, type="loopback", address="+15550001111", settings={"reference_type": "message"}
    )
    run = Scenario(Checker(doc), admin)
    await run.start()

    # --- rooms and messages
    first = await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870001", text="hello  there")),
        Ev.CONTACT_CREATED,  # a new address: its contact
        Ev.CONVERSATION_CREATED,
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    room = first.conversation_id
    await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870001", text="x" * 300)),
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    # A reply goes out. Its status changes come from this test, or first from a running
    # server's sender (loopback takes every message at once): background events, expected
    # by no step, but checked and applied like every other.
    reply = await run.step(
        messages.send_message(admin, room, MessageCreate(text="on it")),
        Ev.CONVERSATION_MESSAGE_CREATED,
    )
    await run.step(messages.record_outcome(reply.id, status=MessageStatus.DONE))
    await run.step(
        messages.record_outcome(reply.id, status=MessageStatus.FAILED, error="undelivered")
    )
    retried = await run.step(messages.retry(admin, reply.id))
    assert retried.status == MessageStatus.PROGRESSING.value
    await run.step(
        conversations.update_conversation(
            admin, room, ConversationUpdate(name="Billing", tags=["vip"], owner_id=ann.agent_id)
        ),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.NOTIFICATION_CREATED,  # ann: assigned by the admin
    )
    await run.step(
        notes.add_note(admin, room, "called them back"),
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_NOTE_CREATED,
    )
    # a reply scheduled for later, edited, cancelled
    later = await run.step(
        messages.send_message(
            admin, room, MessageCreate(text="later", scheduled_at=fmt(now() + timedelta(hours=1)))
        ),
        Ev.CONVERSATION_MESSAGE_SCHEDULED,
    )
    # (an outbound message's `_updated` is a background event here, checked and applied)
    await run.step(
        messages.update_scheduled(admin, room, later.id, MessageUpdate(text="later, edited"))
    )
    await run.step(
        messages.cancel_scheduled(admin, room, later.id), Ev.CONVERSATION_MESSAGE_CANCELED
    )
    mention = await run.step(
        notes.add_note(admin, room, "@schema-ann please follow up"),
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_NOTE_CREATED,
        Ev.NOTIFICATION_CREATED,
    )
    assert [m.agent_id for m in mention.mentions] == [ann.agent_id]
    told = (await notifications.list_notifications(ann))[0]
    await run.step(notifications.read_one(ann, told[0].id), Ev.NOTIFICATION_UPDATED)
    await run.step(notifications.read_all(ann), Ev.NOTIFICATION_UPDATED)
    added = await run.step(
        conversations.add_participant(
            admin,
            room,
            ParticipantIn(type=ParticipantType.EMAIL, target="pat@example.com", name="Pat"),
        ),
        Ev.CONTACT_CREATED,
        Ev.CONVERSATION_PARTICIPANT_ADDED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        conversations.remove_participant(admin, room, added.id),
        Ev.CONVERSATION_PARTICIPANT_REMOVED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        conversations.update_conversation(
            admin, room, ConversationUpdate(status=ConversationStatus.CLOSED)
        ),
        Ev.CONVERSATION_CLOSED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        conversations.update_conversation(
            admin, room, ConversationUpdate(status=ConversationStatus.ACTIVE)
        ),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    # the lifecycle idles the room; the next message makes it active again
    await run.step(
        conversations.sweep_lifecycle(idle_after=timedelta(0), close_after=timedelta(days=9)),
        Ev.CONVERSATION_UPDATED,
    )
    await run.step(
        messages.receive(
            sms,
            InboundMessage(
                peer="+15559870001",
                text="",
                medias=[{"type": "image/png", "url": "https://cdn.example/a.png", "name": "a.png"}],
            ),
        ),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    await run.step(
        conversations.sweep_lifecycle(idle_after=timedelta(days=9), close_after=timedelta(0)),
        Ev.CONVERSATION_CLOSED,
    )
    made = await run.step(
        conversations.create_conversation(
            admin,
            ConversationCreate(
                participants=[ParticipantIn(type=ParticipantType.TEL, target="+15559870002")]
            ),
        ),
        Ev.CONTACT_CREATED,
        Ev.CONVERSATION_CREATED,
    )
    await run.step(conversations.delete_conversation(admin, made.id), Ev.CONVERSATION_DELETED)

    # --- routing: a team's channel, one member with room for one
    team_line = await accounts.create_account(
        cid, type="loopback", address="+15550002222", settings={"reference_type": "message"}
    )
    await run.step(availability.set_own(ann, Availability.ONLINE), Ev.AGENT_AVAILABILITY_UPDATED)
    await run.step(
        teams.create_team(
            admin,
            TeamCreate(
                name="Schema team",
                agent_ids=[ann.agent_id],
                account_ids=[str(team_line.id)],
                assignment_policy=AssignmentPolicy.ROUND_ROBIN,
                max_open=1,
            ),
        ),
        Ev.TEAM_CREATED,
        Ev.AGENT_UPDATED,  # ann's team_ids
    )
    routed = await run.step(
        messages.receive(team_line, InboundMessage(peer="+15559870003", text="route me")),
        Ev.CONTACT_CREATED,
        Ev.CONVERSATION_CREATED,
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CONVERSATION_ASSIGNED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.NOTIFICATION_CREATED,  # ann: routing gave it to her
    )
    waits = await run.step(
        messages.receive(team_line, InboundMessage(peer="+15559870004", text="me too")),
        Ev.CONTACT_CREATED,
        Ev.CONVERSATION_CREATED,
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CONVERSATION_ASSIGNED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    assert run.state["rooms"][waits.conversation_id]["queue_position"] == 1
    # closing the first frees the slot: the waiting room is assigned in the same action
    await run.step(
        conversations.update_conversation(
            admin, routed.conversation_id, ConversationUpdate(status=ConversationStatus.CLOSED)
        ),
        Ev.CONVERSATION_CLOSED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_ASSIGNED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.NOTIFICATION_CREATED,
    )
    assert run.state["rooms"][waits.conversation_id]["owner_id"] == ann.agent_id

    # --- snooze, bulk actions and merge
    from app.conversations import bulk, merge, snooze
    from app.domain.resources import BulkIn

    new_room = (Ev.CONTACT_CREATED, Ev.CONVERSATION_CREATED, Ev.CONVERSATION_MESSAGE_CREATED)
    a = await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870011", text="one")),
        *new_room,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    b = await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870012", text="two")),
        *new_room,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    a_id, b_id = a.conversation_id, b.conversation_id
    await run.step(
        snooze.snooze(admin, a_id, None, True),
        Ev.CONVERSATION_SNOOZED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870011", text="back")),
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CONVERSATION_WOKE,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    body = {"conversation_ids": [a_id, b_id], "action": "set_priority", "priority": "high"}
    await run.step(
        bulk.bulk(admin, msgspec.convert(body, BulkIn)),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_UPDATED,
    )
    await run.step(
        merge.merge(admin, a_id, b_id),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_MERGED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )

    # --- satisfaction surveys: a closed room's survey over SMS, answered by a reply that
    # opens no room (an hour's delay keeps the server's own worker from sending it first)
    asks = await accounts.create_account(
        cid,
        type="loopback",
        address="+15550003333",
        settings={"reference_type": "message", "csat": "on", "csat_delay": 3600},
    )
    surveyed = await run.step(
        messages.receive(asks, InboundMessage(peer="+15559870021", text="help")),
        *new_room,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
    )
    await run.step(
        conversations.update_conversation(
            admin, surveyed.conversation_id, ConversationUpdate(status=ConversationStatus.CLOSED)
        ),
        Ev.CONVERSATION_CLOSED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        csat_sender.send_due(at=now() + timedelta(hours=2)),
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CSAT_SURVEY_SENT,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    await run.step(
        messages.receive(asks, InboundMessage(peer="+15559870021", text="5 thanks")),
        Ev.CONVERSATION_MESSAGE_CREATED,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CSAT_RESPONSE_CREATED,
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
    )
    assert run.state["rooms"][surveyed.conversation_id]["csat"] == 5

    # --- talks
    talk, _ = await run.step(
        talks.create_talk(
            admin,
            TalkCreate(name="Ops", participant_ids=[ann.agent_id, bob.agent_id]),
        ),
        Ev.TALK_CREATED,
    )
    root = await run.step(
        talk_messages.post_message(admin, talk.id, TalkMessageCreate(text="deploy at 5?")),
        Ev.TALK_MESSAGE_CREATED,
    )
    answer = await run.step(
        talk_messages.post_message(ann, talk.id, TalkMessageCreate(text="ok", parent_id=root.id)),
        Ev.TALK_MESSAGE_CREATED,
        Ev.TALK_MESSAGE_UPDATED,
    )
    await run.step(
        talk_messages.edit_message(admin, talk.id, root.id, "deploy at 6?"),
        Ev.TALK_MESSAGE_UPDATED,
    )
    await run.step(talk_messages.add_reaction(bob, root.id, "thumbsup"), Ev.TALK_REACTION_ADDED)
    await run.step(
        talk_messages.remove_reaction(bob, root.id, "thumbsup"), Ev.TALK_REACTION_REMOVED
    )
    await run.step(talk_messages.delete_message(admin, talk.id, root.id), Ev.TALK_MESSAGE_DELETED)
    await run.step(
        talk_messages.delete_message(ann, talk.id, answer.id),
        Ev.TALK_MESSAGE_DELETED,
        Ev.TALK_MESSAGE_UPDATED,
    )
    await run.step(
        talks.update_talk(admin, talk.id, TalkUpdate(name="Operations")), Ev.TALK_UPDATED
    )
    await run.step(
        talks.add_participant(admin, talk.id, cyd.agent_id),
        Ev.TALK_PARTICIPANT_JOINED,
        Ev.TALK_MESSAGE_CREATED,
    )
    bobs = next(
        p for p in (await talks.get_talk(admin, talk.id)).participants if p.agent_id == bob.agent_id
    )
    await run.step(
        talks.remove_participant(bob, talk.id, bobs.id),
        Ev.TALK_PARTICIPANT_LEFT,
        Ev.TALK_MESSAGE_CREATED,
    )
    await run.step(talks.close_talk(admin, talk.id), Ev.TALK_MESSAGE_CREATED, Ev.TALK_CLOSED)
    await run.step(talks.reopen_talk(admin, talk.id), Ev.TALK_MESSAGE_CREATED, Ev.TALK_UPDATED)
    direct, _ = await run.step(
        talks.create_talk(admin, TalkCreate(type=TalkType.DIRECT, participant_ids=[ann.agent_id])),
        Ev.TALK_CREATED,
    )
    await run.step(talks.delete_talk(admin, direct.id), Ev.TALK_UPDATED)

    # --- teams and agents
    team = await run.step(
        teams.create_team(admin, TeamCreate(name="Support", agent_ids=[ann.agent_id])),
        Ev.TEAM_CREATED,
        Ev.AGENT_UPDATED,  # ann's team_ids
    )
    await run.step(
        teams.update_team(
            admin, team.id, TeamUpdate(agent_ids=[ann.agent_id, bob.agent_id], max_open=2)
        ),
        Ev.TEAM_UPDATED,
        Ev.AGENT_UPDATED,  # bob's team_ids
    )
    await run.step(availability.set_own(cyd, Availability.ONLINE), Ev.AGENT_AVAILABILITY_UPDATED)
    await run.step(
        availability.update_agent(admin, cyd.agent_id, AgentUpdate(name="Cyd", max_open=3)),
        Ev.AGENT_UPDATED,
    )
    await run.step(
        availability.update_agent(admin, cyd.agent_id, AgentUpdate(status=AgentStatus.DEACTIVATED)),
        Ev.AGENT_UPDATED,
        Ev.AGENT_AVAILABILITY_UPDATED,
    )
    await run.step(
        availability.delete_agent(admin, bob.agent_id),
        Ev.AGENT_UPDATED,
        Ev.TEAM_UPDATED,  # bob left it
    )
    await run.step(
        teams.delete_team(admin, team.id),
        Ev.TEAM_DELETED,
        Ev.AGENT_UPDATED,  # ann's team_ids
    )

    # --- canned replies: another agent's personal one (not in the admin's list), shared ones
    mine = await run.step(
        canned.create(ann, CannedResponseCreate(shortcut="thx", text="Thanks!")),
        Ev.CANNED_RESPONSE_CREATED,
    )
    await run.step(
        canned.update(ann, mine.id, CannedResponseUpdate(text="Cheers!")),
        Ev.CANNED_RESPONSE_UPDATED,
    )
    shared = await run.step(
        canned.create(admin, CannedResponseCreate(shortcut="hi", text="Hi", owner_id=None)),
        Ev.CANNED_RESPONSE_CREATED,
    )
    await run.step(
        canned.update(admin, shared.id, CannedResponseUpdate(name="Greeting")),
        Ev.CANNED_RESPONSE_UPDATED,
    )
    await run.step(canned.delete(admin, shared.id), Ev.CANNED_RESPONSE_DELETED)
    # --- contacts and tags
    vip = await run.step(contact_tags.create_tag(admin, TagCreate(name="gold")), Ev.TAG_CREATED)
    pat = await run.step(
        contact_service.create_contact(
            admin, ContactCreate(first_name="Pat", tag_ids=[vip.id], attributes={"plan": "a"})
        ),
        Ev.CONTACT_CREATED,
    )
    await run.step(
        contact_service.update_contact(admin, pat.id, ContactUpdate(company="Pat Inc")),
        Ev.CONTACT_UPDATED,
    )
    await run.step(
        contact_service.add_address(
            admin, pat.id, ContactAddressIn(type=AddressType.EMAIL, target="pat@pat.example")
        ),
        Ev.CONTACT_UPDATED,
    )
    sms_contact = run.state["rooms"][room]["contact_ids"][0]
    merged = await run.step(
        contact_service.merge(admin, pat.id, ContactMergeIn(contact_id=sms_contact)),
        Ev.CONTACT_DELETED,
        Ev.CONTACT_MERGED,
        Ev.CONVERSATION_UPDATED,  # the room's contact_ids
    )
    assert run.state["rooms"][room]["contact_ids"] == [merged.id]
    await run.step(
        contact_tags.update_tag(admin, vip.id, TagUpdate(name="platinum")), Ev.TAG_UPDATED
    )
    await run.step(contact_tags.delete_tag(admin, vip.id), Ev.TAG_DELETED, Ev.CONTACT_UPDATED)
    await run.step(
        contact_service.delete_contact(admin, merged.id),
        Ev.CONTACT_DELETED,
        Ev.CONVERSATION_UPDATED,
    )

    # --- business hours, and a team that uses them
    office = await run.step(
        business_hours.create(
            admin,
            msgspec.convert(
                {
                    "name": "Office",
                    "time_zone": "Europe/Berlin",
                    "periods": [{"day": 0, "start": "09:00", "end": "17:00"}],
                    "holidays": [{"date": "2026-12-25", "yearly": True}],
                },
                BusinessHoursCreate,
            ),
        ),
        Ev.BUSINESS_HOURS_CREATED,
    )
    await run.step(
        business_hours.update(admin, office.id, BusinessHoursUpdate(name="Berlin office")),
        Ev.BUSINESS_HOURS_UPDATED,
    )
    night = await run.step(
        teams.create_team(admin, TeamCreate(name="Night", business_hours_id=office.id)),
        Ev.TEAM_CREATED,
    )
    await run.step(
        teams.update_team(admin, night.id, TeamUpdate(business_hours_id=None)), Ev.TEAM_UPDATED
    )
    await run.step(business_hours.delete(admin, office.id), Ev.BUSINESS_HOURS_DELETED)
    # --- service levels: a policy, a room's clocks moving, a warning and a breach
    from app.sla import worker as sla_worker

    policy = await run.step(
        sla_policies.create(admin, SlaPolicyCreate(name="Std", first_response_minutes=15)),
        Ev.SLA_POLICY_CREATED,
    )
    await run.step(
        sla_policies.update(admin, policy.id, SlaPolicyUpdate(name="Standard")),
        Ev.SLA_POLICY_UPDATED,
    )
    await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870777", text="tick tock")),
        *new_room,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CONVERSATION_SLA_UPDATED,  # its `sla`: the first response is due
    )
    await run.step(
        sla_worker.fire_due(at=now() + timedelta(minutes=13)),
        Ev.CONVERSATION_SLA_WARNING,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_SLA_UPDATED,
    )
    await run.step(
        sla_worker.fire_due(at=now() + timedelta(minutes=16)),
        Ev.CONVERSATION_SLA_BREACHED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.CONVERSATION_SLA_UPDATED,
    )
    await run.step(sla_policies.delete(admin, policy.id), Ev.SLA_POLICY_DELETED)

    # --- automation: a rule acting on a message (in its transaction), a macro applied
    from app.automation import engine as automation_engine
    from app.automation import service as automation

    automation_engine.install()
    rule = await run.step(
        automation.create_rule(
            admin,
            msgspec.convert(
                {
                    "name": "Urgent words",
                    "trigger": "message_received",
                    "active": True,
                    "conditions": [{"field": "text", "operator": "contains", "value": "urgent"}],
                    "actions": [{"type": "set_priority", "value": "high"}],
                },
                AutomationRuleCreate,
            ),
        ),
        Ev.AUTOMATION_RULE_CREATED,
    )
    await run.step(
        automation.update_rule(admin, rule.id, AutomationRuleUpdate(stop_processing=True)),
        Ev.AUTOMATION_RULE_UPDATED,
    )
    acted = await run.step(
        messages.receive(sms, InboundMessage(peer="+15559870888", text="urgent, please")),
        *new_room,
        Ev.CONVERSATION_MESSAGE_RECEIVED,
        Ev.CONVERSATION_UPDATED,  # the rule: priority high
        Ev.CONVERSATION_ACTIVITY_CREATED,  # "Rule 'Urgent words' set priority high"
        Ev.AUTOMATION_RULE_EXECUTED,
    )
    assert run.state["rooms"][acted.conversation_id]["priority"] == "high"
    tidy = await run.step(
        automation.create_macro(
            ann,
            msgspec.convert(
                {"name": "Tidy", "actions": [{"type": "add_tags", "value": ["tidy"]}]},
                MacroCreate,
            ),
        ),
        Ev.MACRO_CREATED,
    )
    await run.step(
        automation.update_macro(ann, tidy.id, MacroUpdate(name="Tidy up")), Ev.MACRO_UPDATED
    )
    await run.step(
        conversations.update_conversation(
            admin, acted.conversation_id, ConversationUpdate(owner_id=ann.agent_id)
        ),
        Ev.CONVERSATION_UPDATED,
        Ev.CONVERSATION_ACTIVITY_CREATED,
        Ev.NOTIFICATION_CREATED,
    )
    await run.step(
        automation.run_macro(ann, acted.conversation_id, tidy.id),
        Ev.CONVERSATION_UPDATED,  # its tag
        Ev.CONVERSATION_ACTIVITY_CREATED,  # "ann applied macro 'Tidy up': added tag tidy"
        Ev.MACRO_EXECUTED,
    )
    assert run.state["rooms"][acted.conversation_id]["tags"] == ["tidy"]
    await run.step(automation.delete_macro(ann, tidy.id), Ev.MACRO_DELETED)
    await run.step(automation.delete_rule(admin, rule.id), Ev.AUTOMATION_RULE_DELETED)

    # --- the webhook test event
    await customers.update_customer(admin, CustomerUpdate(webhook_uri="http://127.0.0.1:9/h"))
    await run.step(webhook_log.send_test_event(admin), Ev.WEBHOOK_TEST)

    assert run.seen == set(EventType) - NEVER_WRITTEN
