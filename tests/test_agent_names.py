"""Agents are named only within their own customer: a timeline line, an inbox row or a
live event that holds another customer's agent id shows no name of that customer."""

from __future__ import annotations

import msgspec
from conftest import inbound, run_async
from desk_kit import desk_client

OURS = "Ada Ourside"
THEIRS = "Zed Theirside"


def rename(tenant, agent_id: str, name: str) -> None:
    r = tenant.client.put(f"/v1.0/agents/{agent_id}", headers=tenant.admin, json={"name": name})
    assert r.status_code == 200, r.text


def admin_of(tenant):
    from app.domain.enums import Permission
    from app.domain.principal import Principal

    return Principal(
        customer_id=tenant.customer_id,
        agent_id=tenant.admin_id,
        username="acme-admin",
        permission=Permission.ADMIN,
        via="token",
    )


def test_another_customers_agent_is_never_named(server, tenant, other_tenant):
    from app.conversations import activities
    from app.conversations import service as conversations
    from app.core.events import transaction
    from app.db.tables import Conversation
    from app.desk import timeline

    rename(tenant, tenant.agent_id, OURS)
    rename(other_tenant, other_tenant.agent_id, THEIRS)
    room_id = inbound(tenant.channel("message"), "+15559876543", "hi").conversation_id

    async def lines() -> list:
        """A note by our agent and one whose agent id is the other customer's; then the
        room is owned by that foreign id, as if it had been stored there."""
        async with transaction():
            room = await conversations.room_by_id(tenant.customer_id, room_id)
            made = [
                await activities.record(room, activities.NOTE, "ours", tenant.agent_id),
                await activities.record(room, activities.NOTE, "foreign", other_tenant.agent_id),
            ]
        await Conversation.update({Conversation.owner_id: other_tenant.agent_id}).where(
            Conversation.id == room_id
        )
        return made

    ours, foreign = run_async(lines())

    # the timeline, as the room page loads it
    items, _ = run_async(timeline.timeline(admin_of(tenant), room_id))
    authors = {i.activity.text: i.author for i in items if i.activity}
    assert authors == {"ours": OURS, "foreign": None}

    # the same lines as the desk websocket gets them, from their events' payloads
    for line, author in ((ours, OURS), (foreign, None)):
        data = msgspec.to_builtins(line)
        item = run_async(timeline.item_for("conversation_activity_created", data))
        assert item is not None and item.author == author

    # the pages: the room (timeline, owner) and the inbox row
    desk = desk_client(server, "acme-admin", tenant.password)
    try:
        room_page = desk.get(f"/conversations/{room_id}")
        inbox_page = desk.get("/")
    finally:
        desk.close()
    assert room_page.status_code == 200 and inbox_page.status_code == 200
    assert OURS in room_page.text  # the lookup works: our own agent is named
    for page in (room_page, inbox_page):
        assert THEIRS not in page.text
        assert "globex" not in page.text  # nor the username it would fall back to
