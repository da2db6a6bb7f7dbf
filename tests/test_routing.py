"""The routing engine through the services: who gets a room, the team queue, the slots
freed by closing, unassigning, going online and raising capacity, reassign-after, and
the reason, system line, event and audit entry every decision writes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from routing_kit import Shop, audit_of, events_of, lines_of

from app.conversations import messages
from app.conversations import service as conversations
from app.core.events import transaction
from app.db import sql
from app.domain.enums import ConversationStatus, Priority
from app.domain.errors import InvalidInput
from app.domain.resources import ConversationUpdate, MessageCreate
from app.domain.timefmt import now
from app.routing import engine, reassign


async def shop_with(*names: str, **team) -> tuple[Shop, str]:
    """A shop whose SMS account routes to team "Support" with these online members."""
    shop = await Shop.open()
    for name in names:
        await shop.agent(name)
    team_id = await shop.team("Support", list(names), account=shop.account, **team)
    return shop, team_id


async def close(shop: Shop, room_id: str, by=None) -> None:
    await conversations.update_conversation(
        by or shop.admin, room_id, ConversationUpdate(status=ConversationStatus.CLOSED)
    )


# --- who gets the room ---------------------------------------------------------------------


async def test_round_robin_is_fair_over_100_arrivals_and_its_turn_is_stored():
    shop, team_id = await shop_with("Ann", "Bob", "Cyd", "Dee", max_open=1000)
    order = sorted(shop.agents.values())
    owners = []
    for _ in range(100):
        room = await shop.room(await shop.arrive())
        owners.append(room.owner_id)
    counts = Counter(owners)
    assert set(counts) == set(order)
    assert max(counts.values()) - min(counts.values()) <= 1
    # the turn goes round in agent id order, starting after nobody
    assert owners[:8] == order + order
    stored = await sql.fetchval("SELECT rr_last_agent_id FROM teams WHERE id = $1", team_id)
    assert str(stored) == owners[-1]


async def test_the_turn_survives_a_restart_of_the_decision_state():
    """The position is in the database: a decision made with nothing in memory (another
    process, a restart) continues where the last one stopped."""
    shop, team_id = await shop_with("Ann", "Bob", "Cyd")
    order = sorted(shop.agents.values())
    await sql.execute("UPDATE teams SET rr_last_agent_id = $2 WHERE id = $1", team_id, order[1])
    room = await shop.room(await shop.arrive())
    assert room.owner_id == order[2]
    room = await shop.room(await shop.arrive())
    assert room.owner_id == order[0]


async def test_least_busy_takes_the_member_with_fewest_open_rooms():
    shop, _ = await shop_with("Ann", "Bob", policy="least_busy", max_open=10)
    # Ann already holds two rooms (assigned by hand), Bob none
    for _ in range(2):
        room_id = await shop.arrive()
        await conversations.update_conversation(
            shop.admin, room_id, ConversationUpdate(owner_id=shop.agents["Bob"])
        )
    await sql.execute("UPDATE conversations SET owner_id = $1", shop.agents["Ann"])
    owners = [await shop.owner(await shop.arrive()) for _ in range(4)]
    assert owners[:2] == ["Bob", "Bob"]
    assert sorted(owners[2:]) == ["Ann", "Bob"]
    room = await shop.room(await shop.arrive())
    assert "by least busy" in room.assignment_reason


async def test_away_and_offline_members_never_get_a_room():
    shop = await Shop.open()
    await shop.agent("Ann", availability="away")
    await shop.agent("Bob", availability="offline")
    await shop.agent("Cyd", availability="online")
    await sql.execute("UPDATE agents SET status = 'deactivated' WHERE id = $1", shop.agents["Cyd"])
    await shop.team("Support", ["Ann", "Bob", "Cyd"], account=shop.account)
    rooms = [await shop.room(await shop.arrive()) for _ in range(3)]
    assert [r.owner_id for r in rooms] == [None, None, None]
    assert [r.queue_position for r in rooms] == [1, 2, 3]
    assert rooms[0].assignment_reason == (
        "Waiting: no member of Support is online (1 away, 1 offline), position 1"
    )


async def test_rooms_without_a_team_are_left_alone():
    shop = await Shop.open()
    await shop.agent("Ann")
    room = await shop.room(await shop.arrive())
    assert (room.owner_id, room.team_id, room.assignment_reason, room.queue_position) == (
        None,
        None,
        "",
        None,
    )
    assert room.priority == "none"
    assert await events_of(shop.customer_id, "conversation_assigned") == []


async def test_a_manual_team_queues_for_a_person_to_assign():
    shop, team_id = await shop_with("Ann", policy="manual")
    room_id = await shop.arrive()
    room = await shop.room(room_id)
    assert (room.owner_id, room.team_id) == (None, team_id)
    assert room.assignment_reason == "Team Support assigns by hand"
    assert room.queue_position == 1
    # a person assigns it: the reason says who, and it leaves the queue
    room = await conversations.update_conversation(
        shop.admin, room_id, ConversationUpdate(owner_id=shop.agents["Ann"])
    )
    assert room.assignment_reason == "Assigned by Administrator"
    assert room.queue_position is None
    entries = await audit_of(room_id)
    assert entries[-1]["action"] == "conversation.assigned"
    assert entries[-1]["actor_type"] == "agent"
    # the policy switches to round robin: draining hands out the waiting rooms
    waiting = await shop.arrive()
    await sql.execute("UPDATE teams SET assignment_policy = 'round_robin' WHERE id = $1", team_id)
    async with transaction():
        await engine.drain(shop.customer_id, [team_id], trigger="policy")
    assert await shop.owner(waiting) == "Ann"


# --- the queue -------------------------------------------------------------------------------


async def test_the_queue_serves_priority_first_then_the_longest_waiting():
    shop, _ = await shop_with("Ann", max_open=1)
    busy = await shop.arrive()
    assert await shop.owner(busy) == "Ann"
    a = await shop.arrive("first, no priority")
    b = await shop.arrive("second, low")
    c = await shop.arrive("third, urgent")
    d = await shop.arrive("fourth, urgent")
    for room_id, priority in ((b, Priority.LOW), (c, Priority.URGENT), (d, Priority.URGENT)):
        await conversations.update_conversation(
            shop.admin, room_id, ConversationUpdate(priority=priority)
        )
    positions = {r: (await shop.room(r)).queue_position for r in (a, b, c, d)}
    assert positions == {c: 1, d: 2, b: 3, a: 4}
    served = []
    current = busy
    for _ in range(4):
        await close(shop, current)
        (current,) = [r for r in (a, b, c, d) if r not in served and await shop.owner(r)]
        served.append(current)
    assert served == [c, d, b, a]
    room = await shop.room(a)
    assert room.queue_position is None
    assert room.assignment_reason == "Assigned to Ann by round robin: online, 1 of 1 open"


async def test_the_waiting_reason_counts_members_at_capacity_and_the_position():
    shop, _ = await shop_with("Ann", "Bob", "Cyd", "Dee", max_open=1)
    for _ in range(4):
        await shop.arrive()
    rooms = [await shop.room(await shop.arrive()) for _ in range(3)]
    assert rooms[2].assignment_reason == "Waiting: all 4 members at capacity, position 3"
    assert [r.queue_position for r in rooms] == [1, 2, 3]


# --- freed slots -----------------------------------------------------------------------------


async def test_closing_a_room_gives_its_slot_to_the_queue_head_at_once():
    shop, _ = await shop_with("Ann", max_open=1)
    held = await shop.arrive()
    waiting = await shop.arrive()
    assert await shop.owner(waiting) is None
    await close(shop, held, by=shop.as_agent("Ann"))
    assert await shop.owner(waiting) == "Ann"


async def test_the_lifecycle_closing_a_room_frees_its_slot():
    shop, _ = await shop_with("Ann", max_open=1)
    held = await shop.arrive()
    waiting = await shop.arrive()
    # only the held room is quiet enough to close
    await sql.execute(
        "UPDATE conversations SET tm_activity = now() - interval '2 days' WHERE id = $1", held
    )
    await conversations.sweep_lifecycle(idle_after=timedelta(days=9), close_after=timedelta(days=1))
    assert (await shop.room(held)).status == "closed"
    assert await shop.owner(waiting) == "Ann"


async def test_unassigning_routes_the_room_to_someone_else_and_frees_the_slot():
    shop, _ = await shop_with("Ann", "Bob", max_open=1)
    first = await shop.arrive()
    second = await shop.arrive()
    third = await shop.arrive()  # waits
    x, y = await shop.owner(first), await shop.owner(second)
    assert sorted([x, y]) == ["Ann", "Bob"]
    assert await shop.owner(third) is None
    # x lets hers go: it is not given straight back to her; her free slot takes the queue head
    room = await conversations.update_conversation(
        shop.as_agent(x), first, ConversationUpdate(owner_id=None)
    )
    assert room.owner_id is None
    # the reason tells the position when the decision was made; the room then moved up
    assert room.assignment_reason.startswith("Waiting: the other online member is at capacity")
    assert await shop.owner(third) == x
    assert (await shop.room(first)).queue_position == 1
    # the room she let go waits for y, and gets her when she closes hers
    await close(shop, second)
    assert await shop.owner(first) == y


async def test_handing_a_room_to_another_agent_frees_the_first_ones_slot():
    shop, _ = await shop_with("Ann", "Bob", max_open=1)
    await shop.agent("Cyd")  # not in the team
    first = await shop.arrive()
    await shop.arrive()
    waiting = await shop.arrive()
    had_it = await shop.owner(first)
    await conversations.update_conversation(
        shop.admin, first, ConversationUpdate(owner_id=shop.agents["Cyd"])
    )
    assert await shop.owner(waiting) == had_it


async def test_deleting_a_room_frees_its_slot():
    shop, _ = await shop_with("Ann", max_open=1)
    held = await shop.arrive()
    waiting = await shop.arrive()
    await conversations.delete_conversation(shop.admin, held)
    assert await shop.owner(waiting) == "Ann"


async def test_going_online_serves_the_queue():
    shop = await Shop.open()
    await shop.agent("Ann", availability="away")
    await shop.team("Support", ["Ann"], account=shop.account, max_open=2)
    rooms = [await shop.arrive() for _ in range(3)]
    assert [await shop.owner(r) for r in rooms] == [None, None, None]
    await shop.set_availability("Ann", "online")
    assert [await shop.owner(r) for r in rooms] == ["Ann", "Ann", None]
    assert (await shop.room(rooms[2])).queue_position == 1


async def test_raising_capacity_serves_the_queue():
    shop, team_id = await shop_with("Ann", max_open=1)
    rooms = [await shop.arrive() for _ in range(3)]
    assert [await shop.owner(r) for r in rooms] == ["Ann", None, None]
    await sql.execute("UPDATE teams SET max_open = 2 WHERE id = $1", team_id)
    async with transaction():
        await engine.drain(shop.customer_id, [team_id], trigger="capacity")
    assert [await shop.owner(r) for r in rooms] == ["Ann", "Ann", None]
    # the agent's own max_open wins over the team's
    await sql.execute("UPDATE agents SET max_open = 3 WHERE id = $1", shop.agents["Ann"])
    async with transaction():
        await engine.drain(shop.customer_id, [team_id], trigger="capacity")
    assert [await shop.owner(r) for r in rooms] == ["Ann", "Ann", "Ann"]


async def test_an_agent_in_two_teams_is_counted_once_for_its_capacity():
    shop, _ = await shop_with("Ann", max_open=2)
    sales_account = await _second_account(shop)
    await shop.team("Sales", ["Ann"], account=sales_account, max_open=2)
    first = await shop.arrive()
    second = (await messages.receive(sales_account, _inbound("+15557770001"))).conversation_id
    third = await shop.arrive()
    assert [await shop.owner(r) for r in (first, second, third)] == ["Ann", "Ann", None]


async def test_a_released_agent_s_rooms_go_to_the_others():
    shop, _ = await shop_with("Ann", "Bob", max_open=5)
    rooms = [await shop.arrive() for _ in range(4)]
    anns = [r for r in rooms if await shop.owner(r) == "Ann"]
    assert len(anns) == 2
    await sql.execute("UPDATE agents SET status = 'deactivated' WHERE id = $1", shop.agents["Ann"])
    async with transaction():
        await engine.release_agent(shop.customer_id, shop.agents["Ann"], reason="Ann left")
    assert [await shop.owner(r) for r in rooms] == ["Bob"] * 4
    lines = await lines_of(anns[0])
    assert lines[-2] == "Unassigned: Ann left"
    assert lines[-1].startswith("Assigned to Bob by round robin: online, ")


# --- moving rooms, bad input -------------------------------------------------------------------


async def test_moving_a_room_to_another_team_routes_it_there_if_unassigned():
    shop, support = await shop_with("Ann", max_open=1)
    await shop.agent("Bob")
    sales = await shop.team("Sales", ["Bob"])
    await shop.arrive()
    waiting = await shop.arrive()
    room = await conversations.update_conversation(
        shop.admin, waiting, ConversationUpdate(team_id=sales)
    )
    assert (room.team_id, await shop.owner(waiting)) == (sales, "Bob")
    # an assigned room keeps its owner when it moves
    room = await conversations.update_conversation(
        shop.admin, waiting, ConversationUpdate(team_id=support)
    )
    assert (room.team_id, room.owner_id) == (support, shop.agents["Bob"])
    # out of every team
    room = await conversations.update_conversation(
        shop.admin, waiting, ConversationUpdate(team_id=None)
    )
    assert (room.team_id, room.owner_id) == (None, shop.agents["Bob"])


async def test_a_team_of_another_customer_or_none_at_all_is_refused():
    shop, _ = await shop_with("Ann")
    other = await Shop.open("other", address="+15550002000")
    theirs = await other.team("Theirs", [])
    room_id = await shop.arrive()
    for bad in (theirs, "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(InvalidInput) as caught:
            await conversations.update_conversation(
                shop.admin, room_id, ConversationUpdate(team_id=bad)
            )
        assert caught.value.reason == "invalid_team"
    await sql.execute("UPDATE teams SET tm_delete = now() WHERE customer_id = $1", shop.customer_id)
    with pytest.raises(InvalidInput):
        await conversations.update_conversation(
            shop.admin, room_id, ConversationUpdate(team_id=(await shop.room(room_id)).team_id)
        )


# --- reassign when nobody answers ------------------------------------------------------------


async def test_reassign_after_gives_an_unanswered_room_to_someone_else():
    shop, _ = await shop_with("Ann", "Bob", reassign_after=600, max_open=5)
    answered = await shop.arrive()
    unanswered = await shop.arrive()
    x, y = await shop.owner(answered), await shop.owner(unanswered)
    assert sorted([x, y]) == ["Ann", "Bob"]
    await messages.send_message(shop.as_agent(x), answered, MessageCreate(text="on it"))
    # nothing is due before ten minutes
    assert await reassign.sweep(at=now() + timedelta(seconds=590)) == 0
    assert await reassign.sweep(at=now() + timedelta(seconds=601)) == 1
    assert await shop.owner(answered) == x
    assert await shop.owner(unanswered) == x
    lines = await lines_of(unanswered)
    assert lines[-2:] == [
        f"Reassigned: {y} did not reply within 10 minutes",
        f"Assigned to {x} by round robin: online, 2 of 5 open",
    ]
    actions = [e["action"] for e in await audit_of(unanswered)]
    assert actions == ["conversation.assigned", "conversation.reassigned", "conversation.assigned"]
    # the room changes hands: the event reaches the new and the previous assignee
    last = (await events_of(shop.customer_id, "conversation_assigned"))[-1]
    assert last["id"] == unanswered
    assert sorted(last["_audience"]) == sorted(shop.agents.values())


async def test_reassign_after_queues_when_nobody_else_has_room_and_is_off_by_default():
    shop, team_id = await shop_with("Ann", reassign_after=60, max_open=5)
    room_id = await shop.arrive()
    assert await reassign.sweep(at=now() + timedelta(seconds=61)) == 1
    room = await shop.room(room_id)
    assert room.owner_id is None
    assert room.assignment_reason == "Waiting: no other member is online, position 1"
    # it is not given back to Ann, even by a drain with her slot free...
    async with transaction():
        await engine.drain(shop.customer_id, [team_id], trigger="test")
    assert await shop.owner(room_id) is None
    # ...but to a member who comes online
    await shop.agent("Bob", availability="offline")
    await sql.execute(
        "INSERT INTO team_members (customer_id, team_id, agent_id) VALUES ($1, $2, $3)",
        shop.customer_id,
        team_id,
        shop.agents["Bob"],
    )
    await shop.set_availability("Bob", "online")
    assert await shop.owner(room_id) == "Bob"
    # off (0): nothing is ever due
    await sql.execute("UPDATE teams SET reassign_after = 0 WHERE id = $1", team_id)
    assert await reassign.sweep(at=now() + timedelta(days=30)) == 0
    assert await shop.owner(room_id) == "Bob"


# --- every decision explained --------------------------------------------------------------


async def test_every_decision_writes_its_reason_line_event_and_audit_entry():
    shop, team_id = await shop_with("Ann", max_open=1)
    assigned = await shop.arrive()
    waiting = await shop.arrive()
    room = await shop.room(assigned)
    reason = "Assigned to Ann by round robin: online, 1 of 1 open"
    assert room.assignment_reason == reason
    assert await lines_of(assigned) == [reason]
    waiting_reason = "Waiting: all 1 member at capacity, position 1"
    assert (await shop.room(waiting)).assignment_reason == waiting_reason
    assert await lines_of(waiting) == [waiting_reason]
    events = await events_of(shop.customer_id, "conversation_assigned")
    assert [(e["id"], e["assignment_reason"], e["queue_position"]) for e in events] == [
        (assigned, reason, None),
        (waiting, waiting_reason, 1),
    ]
    # from unassigned (every agent's view) to Ann, and waiting: every agent hears of it
    assert events[0]["_audience"] == events[1]["_audience"] == []
    (entry,) = await audit_of(assigned)
    assert entry["actor_type"] == "system"
    assert entry["action"] == "conversation.assigned"
    assert entry["before"]["owner_id"] is None
    assert entry["after"] == {
        "owner_id": shop.agents["Ann"],
        "team_id": team_id,
        "priority": "none",
        "assignment_reason": reason,
        "queue_position": None,
    }
    (entry,) = await audit_of(waiting)
    assert (entry["action"], entry["after"]["queue_position"]) == ("conversation.queued", 1)
    # the queue head gets the slot: a third decision, explained the same way
    await close(shop, assigned)
    assert (await lines_of(waiting))[-1] == reason
    assert [e["action"] for e in await audit_of(waiting)] == [
        "conversation.queued",
        "conversation.assigned",
    ]
    events = await events_of(shop.customer_id, "conversation_assigned")
    assert (events[-1]["id"], events[-1]["owner_id"]) == (waiting, shop.agents["Ann"])


# --- helpers -----------------------------------------------------------------------------------


async def _second_account(shop: Shop):
    from app.channels import accounts

    return await accounts.create_account(
        shop.customer_id,
        type="loopback",
        address="+15550003000",
        settings={"reference_type": "message"},
    )


def _inbound(peer: str):
    from app.domain.inbound import InboundMessage

    return InboundMessage(peer=peer, text="hi")


async def test_the_timer_serves_a_queue_a_member_has_room_for():
    """A capacity raised outside the services (no drain): the timer's safety drain."""
    shop, team_id = await shop_with("Ann", max_open=1)
    rooms = [await shop.arrive() for _ in range(2)]
    assert await shop.owner(rooms[1]) is None
    assert await reassign.sweep() == 0
    assert await shop.owner(rooms[1]) is None  # nobody has room: still waiting
    await sql.execute("UPDATE teams SET max_open = 2 WHERE id = $1", team_id)
    await reassign.sweep()
    assert await shop.owner(rooms[1]) == "Ann"


async def test_a_persons_assignments_and_deletions_are_audited():
    shop, _ = await shop_with("Ann", "Bob", policy="manual")
    room_id = await shop.arrive()
    await conversations.update_conversation(
        shop.admin, room_id, ConversationUpdate(owner_id=shop.agents["Bob"])
    )
    await conversations.update_conversation(shop.admin, room_id, ConversationUpdate(owner_id=None))
    await conversations.delete_conversation(shop.admin, room_id)
    entries = [(e["actor_type"], e["action"]) for e in await audit_of(room_id)]
    assert entries == [
        ("system", "conversation.queued"),  # a manual team: waits for a person
        ("agent", "conversation.assigned"),
        ("agent", "conversation.unassigned"),
        ("system", "conversation.queued"),  # back in the queue, saying so
        ("agent", "conversation.deleted"),
    ]
