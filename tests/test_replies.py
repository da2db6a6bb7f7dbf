"""Replies through the services: who sent a reply
(`agent_id`), the reassign-after timer counting only the assignee's own reply, the
stale-reply check, and scheduled replies: started once however many senders claim them,
edited, cancelled, refused in the past."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from routing_kit import Shop, events_of

from app.conversations import message_store, messages, notes, outbound
from app.conversations.message_store import Claimed
from app.db import sql
from app.domain.enums import Permission
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.principal import Principal
from app.domain.resources import MessageCreate, MessageUpdate
from app.domain.timefmt import fmt, now
from app.routing import reassign


async def shop_with(*names: str, **team) -> tuple[Shop, str]:
    shop = await Shop.open()
    for name in names:
        await shop.agent(name)
    team_id = await shop.team("Support", list(names), account=shop.account, **team)
    return shop, team_id


def as_manager(shop: Shop, name: str) -> Principal:
    """An agent of the shop acting as a manager (who sees every room)."""
    p = shop.as_agent(name)
    return Principal(
        customer_id=p.customer_id,
        agent_id=p.agent_id,
        username=p.username,
        permission=Permission.MANAGER,
        via="token",
    )


def via_key(p: Principal) -> Principal:
    return Principal(
        customer_id=p.customer_id,
        agent_id=p.agent_id,
        username=p.username,
        permission=p.permission,
        via="accesskey",
    )


# --- attributed replies, and the assignee's own reply ---------------------------------------


async def test_a_reply_carries_its_agent_and_an_access_key_reply_none():
    shop, _ = await shop_with("Ann")
    room_id = await shop.arrive()
    sent = await messages.send_message(shop.as_agent("Ann"), room_id, MessageCreate(text="hi"))
    assert sent.agent_id == shop.agents["Ann"]
    keyed = await messages.send_message(via_key(shop.admin), room_id, MessageCreate(text="bot"))
    assert keyed.agent_id is None
    page, _ = await messages.list_messages(shop.admin, room_id)
    assert {m.text: m.agent_id for m in page} == {
        "hi": shop.agents["Ann"],
        "bot": None,
        "hello": None,  # inbound
    }


async def test_reassign_after_counts_only_the_assignees_own_reply():
    shop, _ = await shop_with("Ann", "Bob", reassign_after=600, max_open=5)
    room_id = await shop.arrive()
    owner = await shop.owner(room_id)
    other = "Bob" if owner == "Ann" else "Ann"
    # a manager's reply, and an integration's, do not answer for the assignee
    await shop.agent("Max", permission=Permission.MANAGER)
    await messages.send_message(as_manager(shop, "Max"), room_id, MessageCreate(text="hold on"))
    await messages.send_message(via_key(shop.admin), room_id, MessageCreate(text="auto"))
    waiting = await sql.fetchval(
        "SELECT tm_awaiting_reply FROM conversations WHERE id = $1", room_id
    )
    assert waiting is not None
    assert await reassign.sweep(at=now() + timedelta(seconds=601)) == 1
    assert await shop.owner(room_id) == other
    # the new assignee's own reply ends its wait: nothing is due any more
    await messages.send_message(shop.as_agent(other), room_id, MessageCreate(text="mine"))
    assert (
        await sql.fetchval("SELECT tm_awaiting_reply FROM conversations WHERE id = $1", room_id)
        is None
    )
    assert await reassign.sweep(at=now() + timedelta(seconds=1300)) == 0
    assert await shop.owner(room_id) == other


# --- the stale-reply check -----------------------------------------------------------------


async def test_a_reply_is_refused_when_someone_else_wrote_after_the_sender_looked():
    shop, _ = await shop_with("Ann", max_open=5)
    await shop.agent("Sam", permission=Permission.MANAGER)
    room_id = await shop.arrive()
    seen = (await messages.list_messages(shop.admin, room_id))[0][0].tm_create
    ann = shop.as_agent("Ann")
    # nothing new: it goes
    first = await messages.send_message(
        ann, room_id, MessageCreate(text="one", if_no_activity_since=seen)
    )
    # Ann's own reply does not make Ann's next one stale
    await messages.send_message(ann, room_id, MessageCreate(text="two", if_no_activity_since=seen))
    await messages.send_message(as_manager(shop, "Sam"), room_id, MessageCreate(text="Sam here"))
    with pytest.raises(Conflict) as refused:
        await messages.send_message(
            ann, room_id, MessageCreate(text="three", if_no_activity_since=first.tm_create)
        )
    assert refused.value.reason == "stale_reply"
    assert refused.value.message.startswith("Sam replied ")
    assert refused.value.message.endswith(" s ago — send anyway?")
    # the customer writing is stale too, named as the channel knows them
    latest = (await messages.list_messages(shop.admin, room_id))[0][0].tm_create
    await shop.arrive("again", peer=(await shop.room(room_id)).reference_id)
    with pytest.raises(Conflict, match="wrote"):
        await messages.send_message(
            ann, room_id, MessageCreate(text="four", if_no_activity_since=latest)
        )
    # nothing was sent by the refused attempts; without the check (send anyway) it goes
    texts = [m.text for m in (await messages.list_messages(shop.admin, room_id))[0]]
    assert "three" not in texts and "four" not in texts
    await messages.send_message(ann, room_id, MessageCreate(text="four"))
    with pytest.raises(InvalidInput):
        await messages.send_message(
            ann, room_id, MessageCreate(text="x", if_no_activity_since="yesterday-ish")
        )


# --- send later ----------------------------------------------------------------------------


async def _claim(message_id: str) -> Claimed:
    """The message's queue row as a sender would hold it (claimed, leased)."""
    queue_id = await sql.fetchval(
        "UPDATE outbound_messages SET status = 'sending', attempts = attempts + 1,"
        " lease_until = now() + interval '1 minute' WHERE message_id = $1 RETURNING id",
        message_id,
    )
    return Claimed(queue_id=queue_id, message_id=message_id, account_id="", attempts=1)


async def test_a_scheduled_reply_waits_and_goes_out_once_however_many_senders_claim_it():
    shop, _ = await shop_with("Ann", max_open=5)
    room_id = await shop.arrive()
    ann = shop.as_agent("Ann")
    due = now() + timedelta(seconds=30)
    out = await messages.send_message(
        ann, room_id, MessageCreate(text="later", scheduled_at=fmt(due))
    )
    assert (out.status, out.scheduled_at, out.agent_id) == (
        "scheduled",
        fmt(due),
        shop.agents["Ann"],
    )
    assert [
        e["id"] for e in await events_of(shop.customer_id, "conversation_message_scheduled")
    ] == [out.id]
    # not due: the queue does not hand it out
    assert [c.message_id for c in await outbound.claim_due()] == []
    # the room's history does not hold it yet: its preview is still the customer's
    assert (await shop.room(room_id)).last_message == "hello"
    # due: two senders holding the same claim (a lease that ran out) start it once
    await sql.execute(
        "UPDATE messages SET scheduled_at = now() - interval '1 second',"
        " tm_create = now() - interval '1 second' WHERE id = $1",
        out.id,
    )
    claim = await _claim(out.id)
    started = await asyncio.gather(
        messages.start_scheduled(out.id, claim.queue_id),
        messages.start_scheduled(out.id, claim.queue_id),
    )
    assert sorted(s is not None for s in started) == [False, True]
    row = await message_store.by_id(out.id)
    assert row is not None and row.status == "progressing"
    # it enters the room's history now, once: one `conversation_message_created`
    created = [
        e
        for e in await events_of(shop.customer_id, "conversation_message_created")
        if e["id"] == out.id
    ]
    assert [c["status"] for c in created] == ["progressing"]
    assert (await shop.room(room_id)).last_message == "later"


async def test_a_scheduled_reply_can_be_edited_and_cancelled_and_then_never_goes():
    shop, _ = await shop_with("Ann", max_open=5)
    room_id = await shop.arrive()
    ann = shop.as_agent("Ann")
    out = await messages.send_message(
        ann, room_id, MessageCreate(text="draft", scheduled_at=fmt(now() + timedelta(hours=1)))
    )
    new_time = now() + timedelta(hours=2)
    edited = await messages.update_scheduled(
        ann, room_id, out.id, MessageUpdate(text="final", scheduled_at=fmt(new_time))
    )
    assert (edited.text, edited.scheduled_at, edited.status) == (
        "final",
        fmt(new_time),
        "scheduled",
    )
    due = await sql.fetchval(
        "SELECT next_try_at FROM outbound_messages WHERE message_id = $1", out.id
    )
    assert fmt(due) == fmt(new_time)
    # a sender that claimed it before the edit finds it not due and puts it back
    claim = await _claim(out.id)
    assert await outbound.start_scheduled(claim) is None
    assert (
        await sql.fetchval("SELECT status FROM outbound_messages WHERE message_id = $1", out.id)
        == "queued"
    )
    canceled = await messages.cancel_scheduled(ann, room_id, out.id)
    assert canceled.status == "canceled"
    assert [
        e["id"] for e in await events_of(shop.customer_id, "conversation_message_canceled")
    ] == [out.id]
    assert (
        await sql.fetchval("SELECT count(*) FROM outbound_messages WHERE message_id = $1", out.id)
        == 0
    )
    # a sender that still held a claim sends nothing
    assert await messages.start_scheduled(out.id, claim.queue_id) is None
    with pytest.raises(Conflict):
        await messages.cancel_scheduled(ann, room_id, out.id)
    with pytest.raises(Conflict):
        await messages.update_scheduled(ann, room_id, out.id, MessageUpdate(text="again"))
    # an ordinary reply cannot be cancelled
    sent = await messages.send_message(ann, room_id, MessageCreate(text="now"))
    with pytest.raises(Conflict):
        await messages.cancel_scheduled(ann, room_id, sent.id)


async def test_scheduled_times_in_the_past_or_too_far_ahead_are_refused():
    shop, _ = await shop_with("Ann", max_open=5)
    room_id = await shop.arrive()
    ann = shop.as_agent("Ann")
    for when, reason in [
        (now() - timedelta(minutes=1), "scheduled_in_past"),
        (now() + timedelta(days=400), "scheduled_too_far"),
        ("next tuesday", "invalid_time"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await messages.send_message(
                ann,
                room_id,
                MessageCreate(text="x", scheduled_at=when if isinstance(when, str) else fmt(when)),
            )
        assert refused.value.reason == reason
    assert await sql.fetchval("SELECT count(*) FROM outbound_messages") == 0


async def test_notes_are_listed_and_mixed_into_the_messages_in_time_order():
    shop, _ = await shop_with("Ann", max_open=5)
    room_id = await shop.arrive("first")
    ann = shop.as_agent("Ann")
    await notes.add_note(ann, room_id, "a note")
    await messages.send_message(ann, room_id, MessageCreate(text="reply"))
    await notes.add_note(ann, room_id, "another note")
    listed, _ = await notes.list_notes(ann, room_id, 10, None)
    assert [n.text for n in listed] == ["another note", "a note"]
    assert [e["text"] for e in await events_of(shop.customer_id, "conversation_note_created")] == [
        "a note",
        "another note",
    ]
    mixed, _ = await messages.list_with_lines(ann, room_id, ["note", "system"], 100, None)
    kinds = [(type(i).__struct_config__.tag, i.text) for i in mixed]
    assert [k for k in kinds if k[0] != "system"] == [
        ("note", "another note"),
        ("message", "reply"),
        ("note", "a note"),
        ("message", "first"),
    ]
    assert any(k[0] == "system" for k in kinds)  # routing's "Assigned to Ann" line
    # pages of two cover everything once
    seen, token = [], None
    while True:
        page, token = await messages.list_with_lines(ann, room_id, ["note", "system"], 2, token)
        seen += [i.id for i in page]
        if not token:
            break
    assert seen == [i.id for i in mixed]
    with pytest.raises(NotFound):
        await notes.list_notes(ann, "00000000-0000-0000-0000-000000000000", 10, None)
