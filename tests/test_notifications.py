"""Mentions and notifications through the services: `@name` in a note notifies the agents
it names (not its author, not for a reply to the customer, not an agent who could not
open the room); a room assigned by someone else or by routing notifies its new owner;
reading one, reading all; the events are private to the notified agent. And the mention
rules themselves, pure."""

from __future__ import annotations

import msgspec
import pytest
from routing_kit import Shop, events_of

from app.conversations import messages, notes
from app.conversations import service as conversations
from app.domain.enums import Permission
from app.domain.errors import NotFound
from app.domain.mentions import Mentionable, find, insert_text
from app.domain.principal import may_see_event
from app.domain.resources import ConversationUpdate, MessageCreate
from app.notifications import service as notifications

# --- the rules, pure ----------------------------------------------------------------------

SAM = Mentionable(id="s", username="sam", name="Sam Lee")
SAMANTHA = Mentionable(id="t", username="sammy.t", name="Samantha")
KIM1 = Mentionable(id="k1", username="kim1", name="Kim")
KIM2 = Mentionable(id="k2", username="kim2", name="Kim")
TEAM = [SAM, SAMANTHA, KIM1, KIM2]


def spans(text: str) -> list[tuple[str, str]]:
    return [(m.agent_id, text[m.start : m.end]) for m in find(text, TEAM)]


def test_a_mention_is_a_username_or_a_display_name_the_longest_that_fits():
    assert spans("@sam look") == [("s", "@sam")]
    assert spans("ask @Sam Lee, please") == [("s", "@Sam Lee")]
    assert spans("@SAMMY.T and @samantha!") == [("t", "@SAMMY.T"), ("t", "@samantha")]
    assert spans("@sammy.t.") == [("t", "@sammy.t")]


def test_no_mention_inside_a_word_an_address_or_a_longer_name():
    assert spans("mail sam@example.com") == []
    assert spans("@samuel is new") == []
    assert spans("@ sam") == []
    assert spans("") == []


def test_a_display_name_two_agents_share_names_neither_but_their_usernames_do():
    assert spans("@Kim help") == []
    assert spans("@kim2 help") == [("k2", "@kim2")]
    assert insert_text(KIM1, TEAM) == "kim1"
    assert insert_text(SAM, TEAM) == "Sam Lee"


# --- mentions in notes --------------------------------------------------------------------


async def shop_with_room() -> tuple[Shop, str]:
    shop = await Shop.open()
    for name in ("Ann", "Bob", "Cyd"):
        await shop.agent(name, permission=Permission.MANAGER)
    room = await shop.arrive("my order is late")
    return shop, room


async def test_a_note_notifies_the_agents_it_mentions_and_not_its_author():
    shop, room = await shop_with_room()
    ann = msgspec.structs.replace(shop.as_agent("Ann"), permission=Permission.MANAGER)
    bob = shop.agents["Bob"]
    note = await notes.add_note(ann, room, "@Bob can you check? cc @Ann @shop-bob")
    # stored in a stable form: who, and where in the text
    assert [(m.agent_id, note.text[m.start : m.end]) for m in note.mentions] == [
        (bob, "@Bob"),
        (ann.agent_id, "@Ann"),
        (bob, "@shop-bob"),
    ]
    made = await events_of(shop.customer_id, "notification_created")
    assert len(made) == 1  # Bob once (mentioned twice), Ann not (she wrote it), Cyd not
    n = made[0]
    assert n["agent_id"] == bob and n["type"] == "mention" and n["actor_id"] == ann.agent_id
    assert n["conversation_id"] == room and n["message_id"] == note.id
    assert n["text"].startswith("@Bob can you check?") and n["read"] is False
    assert n["_audience"] == [bob]
    page, _ = await notifications.list_notifications(shop.as_agent("Bob"))
    assert [p.id for p in page] == [n["id"]]
    assert (await notifications.list_notifications(shop.as_agent("Cyd")))[0] == []


async def test_a_reply_to_the_customer_mentions_nobody():
    shop, room = await shop_with_room()
    await messages.send_message(shop.admin, room, MessageCreate(text="@Bob will call you"))
    note = await notes.add_note(shop.admin, room, "no mention here, write to bob@example.com")
    assert note.mentions == []
    assert await events_of(shop.customer_id, "notification_created") == []


async def test_an_agent_who_could_not_open_the_room_is_not_mentioned():
    shop = await Shop.open()
    await shop.agent("Ann")
    await shop.agent("Bob")  # a plain agent: sees its own rooms and unassigned ones
    room = await shop.arrive("hi")
    await conversations.update_conversation(
        shop.admin, room, ConversationUpdate(owner_id=shop.agents["Ann"])
    )
    note = await notes.add_note(shop.admin, room, "@Bob @Ann")
    assert [m.agent_id for m in note.mentions] == [shop.agents["Ann"]]
    mentions = [
        n
        for n in await events_of(shop.customer_id, "notification_created")
        if n["type"] == "mention"
    ]
    assert [n["agent_id"] for n in mentions] == [shop.agents["Ann"]]
    candidates = await notes.mention_candidates(shop.admin, room)
    assert shop.agents["Bob"] not in {a.id for a, _ in candidates}


# --- assignments --------------------------------------------------------------------------


async def test_an_assignment_by_someone_else_notifies_but_taking_a_room_does_not():
    shop = await Shop.open()
    await shop.agent("Ann")
    await shop.agent("Bob")
    room = await shop.arrive("where is my parcel")
    await conversations.update_conversation(
        shop.as_agent("Ann"), room, ConversationUpdate(owner_id=shop.agents["Ann"])
    )
    assert await events_of(shop.customer_id, "notification_created") == []
    await conversations.update_conversation(
        shop.admin, room, ConversationUpdate(owner_id=shop.agents["Bob"])
    )
    made = await events_of(shop.customer_id, "notification_created")
    assert [(n["agent_id"], n["type"], n["actor_id"]) for n in made] == [
        (shop.agents["Bob"], "assigned", str(shop.admin.agent_id))
    ]
    assert (
        made[0]["conversation_id"] == room
        and made[0]["text"] == "+15559000001 — where is my parcel"
    )


async def test_routing_notifies_the_agent_it_gives_a_room():
    shop = await Shop.open()
    await shop.agent("Ann")
    await shop.team("Support", ["Ann"], account=shop.account)
    room = await shop.arrive("routed to someone")
    made = await events_of(shop.customer_id, "notification_created")
    assert [(n["agent_id"], n["type"], n["actor_id"], n["conversation_id"]) for n in made] == [
        (shop.agents["Ann"], "assigned", None, room)
    ]


# --- reading ------------------------------------------------------------------------------


async def test_read_one_and_read_all_each_record_what_changed():
    shop = await Shop.open()
    await shop.agent("Ann")
    rooms = [await shop.arrive(f"room {i}") for i in range(3)]
    for room in rooms:
        await conversations.update_conversation(
            shop.admin, room, ConversationUpdate(owner_id=shop.agents["Ann"])
        )
    ann = shop.as_agent("Ann")
    assert await notifications.unread_count(ann) == 3
    newest = (await notifications.list_notifications(ann))[0]
    assert [n.conversation_id for n in newest] == rooms[::-1]
    first = await notifications.read_one(ann, newest[0].id)
    assert first.read and first.tm_read
    again = await notifications.read_one(ann, newest[0].id)  # no change: no event
    assert again.tm_read == first.tm_read
    assert len(await events_of(shop.customer_id, "notification_updated")) == 1
    unread = (await notifications.list_notifications(ann, read=False))[0]
    assert {n.conversation_id for n in unread} == set(rooms[:2])
    assert await notifications.read_all(ann, rooms[0]) == 1  # one room's only
    assert await notifications.read_all(ann) == 1
    assert await notifications.read_all(ann) == 0
    updated = await events_of(shop.customer_id, "notification_updated")
    assert len(updated) == 3 and all(
        u["read"] and u["_audience"] == [ann.agent_id] for u in updated
    )
    assert await notifications.unread_count(ann) == 0
    # another agent's notification is not found, for admins too
    with pytest.raises(NotFound):
        await notifications.read_one(shop.admin, newest[1].id)
    # an admin may list another agent's
    listed = (await notifications.list_notifications(shop.admin, agent_id=ann.agent_id))[0]
    assert len(listed) == 3


@pytest.mark.parametrize("permission", list(Permission))
def test_notification_events_reach_only_the_notified_agent(permission):
    from app.domain.principal import Principal

    who = Principal(
        customer_id="c", agent_id="me", username="u", permission=permission, via="token"
    )
    assert may_see_event(who, "notification_created", ["me"])
    assert not may_see_event(who, "notification_created", ["other"])
    assert not may_see_event(who, "notification_updated", [])
